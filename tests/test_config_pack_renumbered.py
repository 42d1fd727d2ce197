"""Device files with other numbers, for a device that already uses the pack's.

From the request page, an engineer asks for the latest version's redacted zip with the
first tunnel interface, the Cisco ISAKMP policy and the Cisco IP SLA numbers of their
choice. Every device file then uses them, the download is recorded, and nothing else
changes: with the default numbers the files are the stored ones, byte for byte. Bad
numbers, an older version or a connection that changed since get a page that says why,
and nothing is recorded.
"""

import pytest
from django.db import transaction
from django.test import Client, override_settings

from tests.config_pack_support import connection_request, zip_files
from tests.factories import se_user
from vpn.choices import IkeVersion
from vpn.models import PackDownload, PackVariant
from vpn.packs.contract import PackParameterError
from vpn.packs.devices import DeviceNumbering
from vpn.services.packs import config_pack_render


@pytest.fixture(scope="module")
def stored_pack(django_db_setup, django_db_blocker, tmp_path_factory):
    """A rendered and stored first version of an IKEv1 request (two tunnels), once for
    the module (rendering takes seconds). It lives in a transaction the whole module
    runs in: each test's own changes roll back to it, and it rolls back at the end."""
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media),
        transaction.atomic(),
    ):
        vpn_request = connection_request(ike_version=IkeVersion.IKEV1)
        pack = config_pack_render(request_id=vpn_request.pk, reason="test")
        yield pack, media
        transaction.set_rollback(True)


@pytest.fixture
def pack(stored_pack, settings):
    """The stored version, its files where the test's settings look for them."""
    pack, media = stored_pack
    settings.MEDIA_ROOT = media
    return pack


@pytest.fixture
def engineer():
    client = Client()
    client.force_login(se_user())
    return client


def _url(pack, **numbers) -> str:
    query = "&".join(f"{name}={value}" for name, value in numbers.items())
    return f"/requests/{pack.request_id}/pack/{pack.version}/device-files/?{query}"


@pytest.mark.django_db
def test_other_numbers_reach_every_device_file(pack, engineer):
    response = engineer.get(_url(pack, first_tunnel=41, cisco_isakmp_policy=310, cisco_sla=500))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert (
        f"{pack.request.reference}-config-pack-v1-redacted-tunnel41.zip"
        in (response["Content-Disposition"])
    )
    files = {name: content.decode() for name, content in zip_files(response.content).items()}
    cisco = files["cisco-ios-vti.txt"]
    for line in (
        "interface Tunnel41",
        "interface Tunnel42",
        "crypto isakmp policy 310",
        "ip sla 500",
        "ip sla 501",
        "track 500 ip sla 500 reachability",
    ):
        assert f"\n{line}\n" in cisco, line
    assert "interface Tunnel1\n" not in cisco and "crypto isakmp policy 200" not in cisco
    assert "set interfaces st0 unit 41 " in files["juniper-srx.txt"]
    assert "bind-interface st0.42" in files["juniper-srx.txt"]
    assert "units tunnel.41 " in files["palo-alto-panos.txt"]
    assert "ip link add ipsec42 type xfrm dev eth0 if_id 142" in files["swanctl.conf"]
    assert "if_id_in = 141" in files["swanctl.conf"]
    # Still the redacted copy: no key anywhere.
    for tunnel in pack.request.tunnels.all():
        assert all(tunnel.psk not in text for text in files.values())
    download = PackDownload.objects.get(pack=pack)
    assert download.variant == PackVariant.REDACTED_ZIP and download.user is not None


@pytest.mark.django_db
def test_the_default_numbers_give_the_stored_files(pack, engineer):
    response = engineer.get(_url(pack))
    assert response.status_code == 200
    with pack.redacted_zip.open("rb") as stored:
        assert zip_files(response.content) == zip_files(stored.read())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        ({"first_tunnel": 0}, "The first tunnel interface number must be a whole number from 1"),
        ({"first_tunnel": "4x"}, "The first tunnel interface number must be a whole number"),
        ({"cisco_isakmp_policy": 10001}, "The Cisco ISAKMP policy number must be a whole number"),
        (
            {"cisco_sla": "²"},
            "The Cisco IP SLA and track number must be a whole number from 1 to 999.",
        ),
    ],
)
def test_bad_numbers_are_refused_with_a_message(pack, engineer, numbers, message):
    response = engineer.get(_url(pack, **numbers))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_an_older_version_or_a_changed_connection_is_refused(pack, engineer):
    response = engineer.get(f"/requests/{pack.request_id}/pack/7/device-files/?first_tunnel=5")
    assert response.status_code == 400
    assert "Only the latest version (v1) is issued with other numbers" in response.content.decode()

    vpn_request = pack.request
    vpn_request.static_subnets = ["10.99.0.0/16"]
    vpn_request.save()
    response = engineer.get(_url(pack, first_tunnel=5))
    assert response.status_code == 400
    assert "The connection changed since v1" in response.content.decode()
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_the_request_page_offers_the_numbers(pack, engineer):
    page = engineer.get(f"/requests/{pack.request_id}/").content.decode()
    assert 'id="device-numbers"' in page
    assert f'action="/requests/{pack.request_id}/pack/1/device-files/"' in page
    assert 'name="first_tunnel" value="1"' in page
    assert 'name="cisco_isakmp_policy" value="200"' in page


def test_numbers_are_whole_numbers_in_every_vendors_range():
    assert DeviceNumbering().is_default
    assert not DeviceNumbering(first_tunnel=41).is_default
    for numbers in (
        {"first_tunnel": True},
        {"first_tunnel": 9999},
        {"cisco_sla": 1000},
        {"cisco_isakmp_policy": "5"},
    ):
        with pytest.raises(PackParameterError, match="must be a whole number from 1 to"):
            DeviceNumbering(**numbers)
