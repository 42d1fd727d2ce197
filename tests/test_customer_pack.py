"""The customer downloads the config pack, and sees the tunnels, through their link."""

import pytest

from tests.config_pack_support import connection_request
from vpn.models import PackDownload
from vpn.services.intake import intake_link_create, intake_link_revoke
from vpn.services.packs import config_pack_render


@pytest.fixture
def linked_request(db):
    request = connection_request()
    config_pack_render(request_id=request.pk, reason="test")
    new = intake_link_create(request_id=request.pk, send_email=False)
    return request, new.token, new


def test_status_page_offers_the_pack_and_shows_the_tunnels(client, linked_request):
    request, token, _ = linked_request
    html = client.get(f"/intake/{token}/").content.decode()
    assert f"/intake/{token}/pack/pdf/" in html
    assert f"/intake/{token}/pack/redacted_pdf/" in html
    for tunnel in request.tunnels.all():
        assert tunnel.outside_ip in html
        assert tunnel.psk not in html  # keys only in the pack itself


def test_customer_download_is_served_and_recorded_against_the_link(client, linked_request):
    _, token, _ = linked_request
    response = client.get(f"/intake/{token}/pack/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF")
    download = PackDownload.objects.get()
    assert download.user is None
    assert download.token_label.startswith("customer link")
    assert download.variant == "pdf"
    assert client.get(f"/intake/{token}/pack/nonsense/").status_code == 404


def test_a_revoked_link_downloads_nothing(client, linked_request):
    request, token, _ = linked_request
    link = request.intake_links.get()
    intake_link_revoke(link_id=link.pk)
    assert client.get(f"/intake/{token}/pack/pdf/").status_code == 410
    assert client.get("/intake/not-a-token/pack/pdf/").status_code == 404
    assert not PackDownload.objects.exists()
