"""Customer links fail closed: a token opens its own request and nothing else; unknown,
malformed, expired and revoked tokens get 404 or 410 pages that say nothing about any
request; every form needs CSRF; and the public pages are rate limited."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import CustomerFactory, UserFactory
from tests.intake_data import FORM_BGP, customer_form, draft_with_link
from vpn.models import IntakeLink, VpnRequest
from vpn.services.intake import intake_link_create, intake_link_revoke
from vpn.views.customer import client_ip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def _page(token: str, client: Client | None = None, **extra):
    return (client or Client()).get(f"/intake/{token}/", **extra)


def test_only_the_hash_of_the_token_is_stored():
    request, token = draft_with_link()
    link = IntakeLink.objects.get(request=request)

    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(IntakeLink.objects.values().get(pk=link.pk))
    assert len(token) == 43  # 256 random bits


def test_a_token_opens_its_own_request_only():
    mine, my_token = draft_with_link(customer=CustomerFactory(name="Mine Ltd"))
    draft_with_link(customer=CustomerFactory(name="Someone Else plc"))

    html = _page(my_token).content.decode()

    assert "Mine Ltd" in html
    assert "Someone Else plc" not in html
    assert mine.reference in html


def test_posting_another_requests_id_changes_only_the_tokens_request():
    mine, my_token = draft_with_link()
    other, _ = draft_with_link()
    before = VpnRequest.objects.values().get(pk=other.pk)

    response = Client().post(
        f"/intake/{my_token}/",
        {
            **customer_form(FORM_BGP),
            "action": "draft",
            "id": other.pk,
            "pk": other.pk,
            "request": other.pk,
            "request_id": other.pk,
            "customer": other.customer_id,
            "stage": "approved",
        },
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.customer_gateway_ip == FORM_BGP["gateway_ip"]
    assert mine.stage == "draft"
    assert VpnRequest.objects.values().get(pk=other.pk) == before


def test_there_is_no_public_url_by_request_id():
    request, _ = draft_with_link()
    for path in (f"/intake/{request.pk}/", f"/requests/{request.pk}/"):
        response = Client().get(path)
        assert response.status_code in (302, 404)
        assert request.customer.name not in response.content.decode()


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "x" * 42,
        "x" * 44,
        "!" * 43,
        "é" * 43,
        "%00" * 15,
        "..",
        "../admin",
        " " * 43,
    ],
)
def test_malformed_tokens_are_404(token):
    draft_with_link()
    response = _page(token)
    assert response.status_code == 404
    if "/" not in token:  # with a slash, no route matches: the site's own 404
        assert "does not open anything" in response.content.decode()


def test_unknown_and_near_miss_tokens_are_404_and_leak_nothing():
    request, token = draft_with_link(customer=CustomerFactory(name="Secret Customer"))
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")
    for candidate in ("A" * 43, near_miss, token.swapcase()):
        response = _page(candidate)
        assert response.status_code == 404
        html = response.content.decode()
        assert "Secret Customer" not in html
        assert request.reference not in html
    assert Client().post(f"/intake/{near_miss}/", {"action": "submit"}).status_code == 404


def _expire(request) -> None:
    now = timezone.now()
    IntakeLink.objects.filter(request=request).update(
        created_at=now - timedelta(days=15), expires_at=now - timedelta(seconds=1)
    )


def test_expired_link_is_410_and_writes_nothing():
    request, token = draft_with_link(customer=CustomerFactory(name="Secret Customer"))
    _expire(request)
    before = VpnRequest.objects.values().get(pk=request.pk)

    for response in (
        _page(token),
        Client().post(f"/intake/{token}/", {**customer_form(FORM_BGP), "action": "submit"}),
    ):
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired" in html
        assert "Secret Customer" not in html
    assert VpnRequest.objects.values().get(pk=request.pk) == before


def test_revoked_link_is_410_at_once(se):
    request, token = draft_with_link(customer=CustomerFactory(name="Secret Customer"))
    assert _page(token).status_code == 200

    intake_link_revoke(link_id=IntakeLink.objects.get(request=request).pk, actor=se)

    response = _page(token)
    assert response.status_code == 410
    assert "This link has been revoked" in response.content.decode()
    assert "Secret Customer" not in response.content.decode()


def test_revoking_one_link_leaves_the_others_working():
    request, first = draft_with_link()
    second = intake_link_create(request_id=request.pk, send_email=False).token
    intake_link_revoke(link_id=IntakeLink.objects.order_by("pk").first().pk)

    assert _page(first).status_code == 410
    assert _page(second).status_code == 200


def test_links_expire_after_the_configured_days(settings):
    settings.INTAKE_LINK_DAYS = 3
    request, _ = draft_with_link()
    link = IntakeLink.objects.get(request=request)
    assert link.expires_at - link.created_at == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=5)
    )


def test_default_expiry_is_fourteen_days():
    from django.conf import settings as django_settings

    assert django_settings.INTAKE_LINK_DAYS == 14


def test_use_is_recorded():
    request, token = draft_with_link()
    assert IntakeLink.objects.get(request=request).last_used_at is None
    _page(token)
    assert IntakeLink.objects.get(request=request).last_used_at is not None


def test_customer_pages_keep_the_token_out_of_referrers_and_caches():
    _, token = draft_with_link()
    response = _page(token)
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]


def test_the_customer_form_needs_csrf():
    request, token = draft_with_link()
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/intake/{token}/", {**customer_form(FORM_BGP), "action": "draft"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.customer_gateway_ip is None

    # With the token from the page, the same post goes through.
    html = client.get(f"/intake/{token}/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/intake/{token}/",
        {**customer_form(FORM_BGP), "action": "draft", "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 302


def test_staff_forms_need_csrf(se):
    client = Client(enforce_csrf_checks=True)
    client.force_login(se)
    request, _ = draft_with_link()
    for path in (
        "/requests/new/",
        "/requests/invite/",
        f"/requests/{request.pk}/approve/",
        f"/requests/{request.pk}/send-back/",
        f"/requests/{request.pk}/links/",
        f"/links/{IntakeLink.objects.get(request=request).pk}/revoke/",
    ):
        assert client.post(path, {}).status_code == 403, path


def test_rate_limit_per_token_answers_429(settings):
    settings.INTAKE_RATE_LIMIT_PER_TOKEN = 3
    _, token = draft_with_link()
    _, other_token = draft_with_link()

    statuses = [_page(token).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = _page(token)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many requests" in response.content.decode()
    # Another link from the same address still works.
    assert _page(other_token).status_code == 200


def test_rate_limit_per_ip_stops_guessing_tokens(settings):
    settings.INTAKE_RATE_LIMIT_PER_IP = 5
    _, token = draft_with_link()

    guesses = [_page(f"{n:043d}", REMOTE_ADDR="198.51.100.20").status_code for n in range(6)]

    assert guesses == [404] * 5 + [429]
    # Even a good token is refused from that address now; another address is not limited.
    assert _page(token, REMOTE_ADDR="198.51.100.20").status_code == 429
    assert _page(token, REMOTE_ADDR="198.51.100.21").status_code == 200


def test_posts_count_against_the_limit_too(settings):
    settings.INTAKE_RATE_LIMIT_PER_TOKEN = 2
    request, token = draft_with_link()
    client = Client()
    data = {**customer_form(FORM_BGP), "action": "draft"}
    assert client.post(f"/intake/{token}/", data).status_code == 302
    assert client.post(f"/intake/{token}/", data).status_code == 302
    assert client.post(f"/intake/{token}/", {**data, "gateway_ip": "52.94.1.1"}).status_code == 429
    request.refresh_from_db()
    assert request.customer_gateway_ip == FORM_BGP["gateway_ip"]


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "192.0.2.50"),  # no trusted proxy: the header is ignored
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # the client forged the first hop
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (1, "", "192.0.2.50"),
    ],
)
def test_client_ip_trusts_only_configured_proxies(settings, proxies, forwarded, expected):
    settings.INTAKE_TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_engineer_revokes_a_link_from_the_request_page(se_client):
    request, token = draft_with_link()
    link = IntakeLink.objects.get(request=request)

    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert f"/links/{link.pk}/revoke/" in html

    response = se_client.post(f"/links/{link.pk}/revoke/")
    assert response.status_code == 302
    assert _page(token).status_code == 410
    assert "Revoked" in se_client.get(f"/requests/{request.pk}/").content.decode()


def test_revoking_needs_the_change_permission(client):
    viewer = UserFactory(username="viewer")
    client.force_login(viewer)
    request, token = draft_with_link()
    link = IntakeLink.objects.get(request=request)
    assert client.post(f"/links/{link.pk}/revoke/").status_code == 403
    assert _page(token).status_code == 200


def test_new_link_is_emailed_and_shown_once(se_client):
    request, old_token = draft_with_link()
    mail.outbox.clear()

    response = se_client.post(f"/requests/{request.pk}/links/", follow=True)

    html = response.content.decode()
    url = re.search(r'value="(http[^"]+/intake/([^"/]+)/)"', html)
    assert url, "the new link is shown for copying"
    assert len(mail.outbox) == 1
    assert url.group(1) in mail.outbox[0].body
    assert mail.outbox[0].to == [request.customer.contact_email]
    assert _page(url.group(2)).status_code == 200
    assert _page(old_token).status_code == 200
    # Shown once: the next visit no longer has it.
    assert url.group(1) not in se_client.get(f"/requests/{request.pk}/").content.decode()
