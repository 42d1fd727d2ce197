"""Single sign-on in a real browser, through a real OpenID provider in a second process:
the first login creates the staff user with the groups the provider's groups map to, a
later login with changed groups updates them, and a user whose groups map to none is
refused with a message (and loses staff access)."""

import pytest
from django.contrib.auth import get_user_model

from tests.oidc_support import OPS_GROUP, PROVIDER_PASSWORD, SE_GROUP
from vpn.permissions import OPS, SOLUTIONS_ENGINEERS

USERNAME = "sam.sso"


def _groups(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def _sso_login(page, live_server) -> None:
    page.goto(f"{live_server.url}/login/")
    page.click("#sso-login")


@pytest.mark.django_db(transaction=True)
def test_first_login_creates_the_user_and_each_login_updates_the_groups(
    page, live_server, sso, screenshot
):
    sso.groups_set(USERNAME, [SE_GROUP, "everyone"])
    _sso_login(page, live_server)
    # The provider asks for its own password, then sends the browser back.
    page.wait_for_url(f"{sso.url}/accounts/login/**")
    page.fill("#username", USERNAME)
    page.fill("#password", PROVIDER_PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator(".user").inner_text().startswith("Sam Rivera")
    screenshot("sso-first-login")

    user = get_user_model().objects.get(username=USERNAME)
    assert _groups(user) == {SOLUTIONS_ENGINEERS}
    assert user.is_staff and not user.is_superuser
    assert not user.has_usable_password()
    assert (user.email, user.first_name, user.last_name) == ("sam@example.com", "Sam", "Rivera")

    # Moved to Ops at the provider: the next login (the provider remembers the browser)
    # puts the user in Ops only.
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/login/")
    sso.groups_set(USERNAME, [OPS_GROUP])
    _sso_login(page, live_server)
    page.wait_for_url(f"{live_server.url}/")
    user.refresh_from_db()
    assert _groups(user) == {OPS}
    assert get_user_model().objects.filter(username=USERNAME).count() == 1

    # In none of the mapped groups: refused, and no longer staff.
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/login/")
    sso.groups_set(USERNAME, ["everyone"])
    _sso_login(page, live_server)
    page.wait_for_url(f"{live_server.url}/login/")
    assert "in none of the groups that give access" in page.locator(".messages").inner_text()
    user.refresh_from_db()
    assert _groups(user) == set() and not user.is_staff
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")
