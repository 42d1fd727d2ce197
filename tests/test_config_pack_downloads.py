"""Downloads of stored pack versions: staff views, the customer-link response, the
audit trail, and the detail page's card.

The stored files here are small stand-ins, not PDFs: a download that answered with
anything but the stored bytes (a fresh rendering, say) would show at once. Rendering
and content are the business of the other pack tests."""

import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory

from tests.config_pack_support import (
    connection_request,
)
from tests.factories import UserFactory
from vpn.choices import Stage
from vpn.models import ConfigPack, PackDownload, PackVariant, VpnRequest
from vpn.views.packs import pack_download_response

CONTENT_TYPES = {
    PackVariant.PDF: "application/pdf",
    PackVariant.REDACTED_PDF: "application/pdf",
    PackVariant.ZIP: "application/zip",
    PackVariant.REDACTED_ZIP: "application/zip",
}


def _url(vpn_request, version, variant) -> str:
    return f"/requests/{vpn_request.pk}/pack/{version}/{variant}/"


def _stored_pack(vpn_request, version: int = 1) -> ConfigPack:
    """A stored version with small stand-in files, for tests about access only."""
    pack = ConfigPack(
        request=vpn_request,
        version=version,
        parameters={},
        parameters_hash="ab" * 32,
        changes=["Tunnel 203.0.113.9: pre-shared key changed"],
    )
    for variant in PackVariant:
        pack.file_for(variant).save(
            pack.download_name(variant), ContentFile(f"{variant} v{version}".encode()), save=False
        )
    pack.save()
    return pack


REDACTED = [variant for variant in PackVariant if variant.redacted]
FULL = [variant for variant in PackVariant if not variant.redacted]


@pytest.mark.django_db
def test_staff_download_the_redacted_variants_from_storage(se_client, se):
    vpn_request = connection_request()
    pack = _stored_pack(vpn_request)

    for variant in REDACTED:
        response = se_client.get(_url(vpn_request, 1, variant))
        assert response.status_code == 200, variant
        assert response["Content-Type"] == CONTENT_TYPES[variant]
        assert response["Cache-Control"] == "no-store, private"
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert pack.download_name(variant) in disposition
        assert f"{vpn_request.reference}-config-pack-v1" in disposition
        body = b"".join(response.streaming_content)
        with pack.file_for(variant).open("rb") as stored:
            assert body == stored.read(), variant
    # Served from storage: the stored bytes (no PDF at all here), no new version.
    assert ConfigPack.objects.filter(request=vpn_request).count() == 1

    downloads = list(PackDownload.objects.order_by("pk"))
    assert [download.variant for download in downloads] == REDACTED
    assert {(download.user, download.client_ip, download.pack) for download in downloads} == {
        (se, "127.0.0.1", pack)
    }

    # The detail page lists the version, its redacted links and the downloads.
    html = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "Config pack" in html
    assert pack.hash_prefix in html
    assert "Tunnel 203.0.113.9: pre-shared key changed" in html
    for variant in REDACTED:
        assert _url(vpn_request, 1, variant) in html
    for variant in FULL:
        assert _url(vpn_request, 1, variant) not in html
    assert html.count("127.0.0.1") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("user_client", ["se_client", "ops_client"])
@pytest.mark.parametrize("variant", FULL)
def test_the_full_variants_are_not_served_by_their_download_link(request, user_client, variant):
    """The files with keys are read only through the reveal, with a reason."""
    client = request.getfixturevalue(user_client)
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = client.get(_url(vpn_request, 1, variant))
    assert response.status_code == 403
    assert "The full pack holds the pre-shared keys" in response.content.decode()
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_customer_link_download_is_recorded_with_its_label(rf: RequestFactory):
    vpn_request = connection_request()
    _stored_pack(vpn_request, version=1)
    latest = _stored_pack(vpn_request, version=2)
    http_request = rf.get("/intake/some-token/pack/", REMOTE_ADDR="203.0.113.77")
    response = pack_download_response(
        http_request,
        vpn_request=vpn_request,
        variant=PackVariant.REDACTED_PDF,
        token_label="customer link #7",
    )
    assert b"".join(response.streaming_content) == b"redacted_pdf v2"
    download = PackDownload.objects.get()
    assert (download.pack, download.user, download.token_label, download.client_ip) == (
        latest,
        None,
        "customer link #7",
        "203.0.113.77",
    )


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_login(client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = client.get(_url(vpn_request, 1, PackVariant.PDF))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_staff_without_view_permission_are_refused(client):
    client.force_login(UserFactory(username="no-groups"))
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert client.get(_url(vpn_request, 1, PackVariant.PDF)).status_code == 403
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("version", "variant"),
    [(2, PackVariant.PDF), (1, "passwd"), (0, PackVariant.ZIP)],
)
def test_unknown_versions_and_variants_are_404(se_client, version, variant):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert se_client.get(_url(vpn_request, version, variant)).status_code == 404
    assert se_client.get(f"/requests/999999/pack/1/{PackVariant.PDF}/").status_code == 404
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_detail_page_before_any_pack(se_client, rq_queue):
    vpn_request = connection_request()
    VpnRequest.objects.filter(pk=vpn_request.pk).update(stage=Stage.ROUTING)
    html = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "The config pack is issued once the last setup step" in html
    # Built, and still without a version: it is being prepared (tests/test_provisioning_packs.py).
    VpnRequest.objects.filter(pk=vpn_request.pk).update(stage=Stage.AWAITING_CUSTOMER)
    html = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "The config pack is being prepared" in html
