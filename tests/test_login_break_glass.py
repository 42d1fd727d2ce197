"""The login page with single sign-on and break-glass local passwords: the password form
is there while LOCAL_PASSWORD_LOGIN is on, and gone (a posted password refused, the
admin's login leading to the portal's) when it is off; single sign-on answers only once
configured; a provider login never takes over a local account.

The round trip through a real provider is tests/browser/test_sso_login.py.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.deploy_support import production_env, run_python
from vpn.services.accounts import StaffLoginRefused, staff_user_sync

PROVIDER = "https://sso.example.com"
SSO_SETTINGS = {
    "OIDC_RP_CLIENT_ID": "vpn-portal",
    "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{PROVIDER}/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": f"{PROVIDER}/token",
    "OIDC_OP_USER_ENDPOINT": f"{PROVIDER}/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": f"{PROVIDER}/jwks",
    "OIDC_PROVIDER_NAME": "Example Corp SSO",
    "OIDC_SE_GROUPS": ["vpn-engineers"],
    "OIDC_OPS_GROUPS": ["platform-ops"],
}


@pytest.fixture
def sso_configured(settings):
    for name, value in SSO_SETTINGS.items():
        setattr(settings, name, value)
    return settings


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_with_local_passwords_on_the_page_offers_both(client, se, sso_configured):
    html = client.get("/login/").content.decode()
    assert 'id="sso-login"' in html and "Sign in with Example Corp SSO" in html
    assert 'id="password-login"' in html and "Break-glass" in html
    response = client.post("/login/", {"username": se.username, "password": "pass"})
    assert response.status_code == 302 and _logged_in(client)


@pytest.mark.django_db
def test_with_local_passwords_off_no_password_is_taken(client, se, sso_configured):
    sso_configured.LOCAL_PASSWORD_LOGIN = False

    html = client.get("/login/").content.decode()
    assert 'id="sso-login"' in html
    assert 'id="password-login"' not in html and 'type="password"' not in html
    refused = client.post("/login/", {"username": se.username, "password": "pass"})
    assert refused.status_code == 403
    assert "Local passwords are off" in refused.content.decode()
    assert not _logged_in(client)
    # The admin's login page is no way round: it leads to the portal's.
    admin = client.post("/admin/login/?next=/admin/", {"username": se.username, "password": "pass"})
    assert admin.status_code == 302 and admin["Location"] == "/login/?next=%2Fadmin%2F"
    assert not _logged_in(client)


@pytest.mark.django_db
def test_the_sso_button_starts_at_the_provider_with_state_and_pkce(client, sso_configured):
    response = client.get("/oidc/authenticate/?next=/requests/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{PROVIDER}/authorize?")
    for parameter in ("client_id=vpn-portal", "state=", "nonce=", "code_challenge_method=S256"):
        assert parameter in location
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Foidc%2Fcallback%2F" in location


@pytest.mark.django_db
def test_without_sso_configured_there_is_no_button_and_no_round_trip(client):
    assert 'id="sso-login"' not in client.get("/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


@pytest.mark.django_db
def test_a_provider_login_never_takes_over_a_local_account(se, sso_configured):
    with pytest.raises(StaffLoginRefused, match="is a local account of the portal"):
        staff_user_sync(
            username=se.username,
            email="attacker@example.com",
            first_name="",
            last_name="",
            provider_groups=["platform-ops"],
        )
    se.refresh_from_db()
    assert se.email != "attacker@example.com"
    assert set(se.groups.values_list("name", flat=True)) == {"Solutions engineers"}


@pytest.mark.django_db
def test_a_disabled_account_is_refused(sso_configured):
    user = staff_user_sync(
        username="kim.sso", email="", first_name="", last_name="", provider_groups=["platform-ops"]
    )
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(StaffLoginRefused, match="is disabled"):
        staff_user_sync(
            username="kim.sso",
            email="",
            first_name="",
            last_name="",
            provider_groups=["platform-ops"],
        )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"LOCAL_PASSWORD_LOGIN": "false"}, "nobody could log in"),
        (
            {"OIDC_RP_CLIENT_ID": "vpn-portal", "OIDC_RP_CLIENT_SECRET": "s"},
            "needs OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, "
            "OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT too",
        ),
    ],
)
def test_a_login_setup_that_cannot_work_stops_the_portal(variables, message):
    result = run_python("manage.py", "check", env=production_env(**variables))
    assert result.returncode != 0
    assert message in result.stderr
