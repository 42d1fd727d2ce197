"""Pack versions: a new one only when the parameters change, with what changed; stored
parameters never hold a key."""

import json

import pytest

from tests.config_pack_support import (
    NAT_PUBLIC_IP,
    connection_request,
    zip_files,
)
from tests.factories import VpnRequestFactory
from vpn.models import ConfigPack, PackVariant
from vpn.services.packs import PackNotReady, config_pack_render


@pytest.mark.django_db
def test_versions_follow_changes():
    vpn_request = connection_request(nat=True)
    tunnel1 = vpn_request.tunnels.get(position=1)
    original_psks = {tunnel.psk for tunnel in vpn_request.tunnels.all()}

    first = config_pack_render(request_id=vpn_request.pk, reason="VPN connection created")
    assert (first.version, first.changes, first.reason) == (
        1,
        ["First version."],
        "VPN connection created",
    )
    assert config_pack_render(request_id=vpn_request.pk, reason="nothing new") is None

    tunnel1.psk = "Rotated_key.0001xyzABC"
    tunnel1.save()
    second = config_pack_render(request_id=vpn_request.pk, reason="PSK rotated")
    assert second.version == 2
    assert second.changes == [f"Tunnel {tunnel1.outside_ip}: pre-shared key changed"]
    assert second.parameters_hash != first.parameters_hash
    assert "Rotated_key.0001xyzABC" in zip_files(second.zip.read())["swanctl.conf"].decode()

    vpn_request.static_subnets = [*vpn_request.static_subnets, "10.9.0.0/16"]
    vpn_request.save()
    third = config_pack_render(request_id=vpn_request.pk, reason="routes")
    assert third.version == 3
    assert third.changes == ["Static routes: added 10.9.0.0/16"]
    assert config_pack_render(request_id=vpn_request.pk) is None

    packs = list(ConfigPack.objects.filter(request=vpn_request).order_by("version"))
    assert [pack.version for pack in packs] == [1, 2, 3]
    assert len({pack.parameters_hash for pack in packs}) == 3
    # The database keeps the parameters without any key.
    for pack in packs:
        stored = json.dumps(pack.parameters)
        assert not any(psk in stored for psk in original_psks | {tunnel1.psk})
        assert {tunnel["psk"] for tunnel in pack.parameters["tunnels"]} == {"REDACTED"}
        assert pack.parameters["nat_public_ip"] == NAT_PUBLIC_IP
    # Every file of every version is stored, under its own name.
    names = {pack.file_for(variant).name for pack in packs for variant in PackVariant}
    assert len(names) == 12
    assert all(name.startswith(f"config-packs/{vpn_request.pk}/") for name in names)


@pytest.mark.django_db
def test_no_pack_before_the_vpn_connection_exists():
    vpn_request = VpnRequestFactory(vpc_cidr="10.77.0.0/24", amazon_side_asn=64512)
    with pytest.raises(PackNotReady, match="no VPN connection yet"):
        config_pack_render(request_id=vpn_request.pk)
    assert not ConfigPack.objects.exists()
