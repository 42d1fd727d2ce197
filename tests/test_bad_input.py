"""Unreadable input is a 400 with a clear message on every page, never a 500 (PostgreSQL);
a client address that is not an IP address is ignored.

PostgreSQL refuses a NUL character in any text, so every query parameter of every page
(the dashboard's filters, the admin's search and list filters, ...) and every form is
tried with a NUL and with bytes that are not UTF-8, as an SE and as Ops.
"""

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.middleware import MESSAGE
from tests.config_pack_support import connection_request
from tests.factories import VpnRequestFactory
from tests.intake_data import draft_with_link
from vpn.choices import Stage
from vpn.models import ConfigPack, PackDownload, PackVariant, VpnRequest
from vpn.services.intake import intake_link_create
from vpn.views.clients import client_ip

pytestmark = pytest.mark.usefixtures("postgres")

# A NUL alone and inside text; a lone byte that is not UTF-8; a UTF-8 sequence cut short.
UNREADABLE = ["%00", "abc%00def", "%ff", "%e2%82"]
DASHBOARD_PARAMETERS = ["q", "stage", "region", "health", "sort", "page", "mine"]


def _admin_lists() -> list[str]:
    """Every admin list, with its search box and each of its list filters."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        parameters = ["q", "o", "p", "e"]
        for list_filter in model_admin.list_filter:
            name = list_filter if isinstance(list_filter, str) else list_filter[0]
            parameters += [name, f"{name}__exact", f"{name}__isnull"]
        urls += [f"{changelist}?{parameter}={{bad}}" for parameter in parameters]
    return urls


def _staff_urls(request: VpnRequest) -> list[str]:
    pages = [f"/?{parameter}={{bad}}" for parameter in DASHBOARD_PARAMETERS]
    pages += [
        "/?q=vpn&region={bad}&stage=live",
        "/review/?q={bad}",
        f"/requests/{request.pk}/?tab={{bad}}",
        f"/requests/{request.pk}/status.json?chart={{bad}}",
        f"/requests/{request.pk}/edit/?next={{bad}}",
        "/requests/new/?customer={bad}",
        "/admin/?q={bad}",
    ]
    return pages + _admin_lists()


@pytest.fixture
def vpn_request(db):
    return VpnRequestFactory(stage=Stage.LIVE, region="eu-west-1")


@pytest.mark.parametrize("role", ["se_client", "ops_client"])
@pytest.mark.parametrize("bad", UNREADABLE)
def test_every_query_parameter_of_every_staff_page(request, role, bad, vpn_request):
    client = request.getfixturevalue(role)
    failures = {}
    for url in _staff_urls(vpn_request):
        url = url.format(bad=bad)
        response = client.get(url)
        if response.status_code != 400 or response.content.decode() != MESSAGE:
            failures[url] = response.status_code
    assert failures == {}


@pytest.mark.parametrize("bad", UNREADABLE)
def test_the_public_pages_query_parameters(bad):
    _, token = draft_with_link()
    for url in (f"/intake/{token}/?step={bad}", f"/login/?next={bad}", f"/healthz?x={bad}"):
        response = Client().get(url)
        assert response.status_code == 400, url
        assert "cannot read" in response.content.decode()


@pytest.mark.parametrize("bad", UNREADABLE)
def test_forms_with_unreadable_fields_write_nothing(se_client, bad, vpn_request):
    before = list(VpnRequest.objects.values())
    draft, token = draft_with_link()
    form = "application/x-www-form-urlencoded"
    posts = [
        (se_client, "/requests/new/", f"customer_name=Acme&gateway_ip={bad}&action=draft"),
        (se_client, f"/requests/{draft.pk}/edit/", f"customer_name={bad}&action=draft"),
        (Client(), f"/intake/{token}/", f"gateway_ip={bad}&action=draft"),
        (Client(), "/login/", f"username={bad}&password=x"),
    ]
    for client, url, body in posts:
        response = client.post(url, body, content_type=form)
        assert response.status_code == 400, url
    after = list(VpnRequest.objects.exclude(pk=draft.pk).values())
    assert after == before
    draft_values = VpnRequest.objects.values().get(pk=draft.pk)
    assert draft_values["customer_gateway_ip"] is None


def test_a_nul_in_the_session_cookie_is_a_400(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert "\\000" in client.cookies.output()  # sent quoted, as an octal escape
    response = client.get("/")
    assert response.status_code == 400


def test_readable_text_passes(se_client, vpn_request):
    assert se_client.get("/?q=Z%C3%BCrich&region=eu-west-1").status_code == 200
    assert se_client.get("/admin/vpn/vpnrequest/?q=caf%C3%A9").status_code == 200
    response = se_client.post(
        "/requests/new/",
        "customer_name=Caf%C3%A9+Z%C3%BCrich&action=draft",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code != 400


# --- X-Forwarded-For -------------------------------------------------------------------

INVALID_FORWARDED = [
    "not-an-ip",
    "203.0.113.1:4431",
    "[2001:db8::1]",
    "fe80::1%eth0",
    "203.0.113.256",
    "unknown",
    "203.0.113.1\x00",
]


@pytest.mark.parametrize("forwarded", INVALID_FORWARDED)
def test_an_invalid_forwarded_address_falls_back_to_the_connections(settings, forwarded):
    settings.INTAKE_TRUSTED_PROXY_COUNT = 1
    http_request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {forwarded}"
    )
    assert client_ip(http_request) == "192.0.2.50"


def test_a_forwarded_address_is_normalised(settings):
    settings.INTAKE_TRUSTED_PROXY_COUNT = 1
    http_request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="2001:DB8:0:0::1"
    )
    assert client_ip(http_request) == "2001:db8::1"


def _stored_pack(vpn_request: VpnRequest) -> ConfigPack:
    pack = ConfigPack(
        request=vpn_request, version=1, parameters={}, parameters_hash="cd" * 32, changes=[]
    )
    for variant in PackVariant:
        pack.file_for(variant).save(
            pack.download_name(variant), ContentFile(variant.encode()), save=False
        )
    pack.save()
    return pack


@pytest.mark.parametrize("forwarded", INVALID_FORWARDED)
def test_pack_downloads_with_an_invalid_forwarded_address(ops_client, settings, forwarded):
    settings.INTAKE_TRUSTED_PROXY_COUNT = 1
    vpn_request = connection_request()
    pack = _stored_pack(vpn_request)
    link = intake_link_create(request_id=vpn_request.pk, send_email=False)
    header = {"HTTP_X_FORWARDED_FOR": forwarded, "REMOTE_ADDR": "192.0.2.60"}

    staff = ops_client.get(
        f"/requests/{vpn_request.pk}/pack/1/{PackVariant.REDACTED_PDF}/", **header
    )
    customer = Client().get(f"/intake/{link.token}/pack/{PackVariant.REDACTED_PDF}/", **header)

    assert (staff.status_code, customer.status_code) == (200, 200)
    downloads = PackDownload.objects.filter(pack=pack)
    assert sorted(downloads.values_list("client_ip", flat=True)) == ["192.0.2.60", "192.0.2.60"]
