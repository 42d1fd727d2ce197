"""`vpn_rotate_psk`, the alias of `vpn_change --rotate-psk --sync`: a tunnel gets a new
pre-shared key in AWS (the sandbox, over HTTP), the portal stores the key AWS reports,
and a new config pack version carries it and names the change."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.config_pack_support import pdf_text
from tests.factories import VpnRequestFactory
from tests.status_support import bring_live, connection_id, live_vpn
from vpn.choices import ChangeKind, ChangeState, Stage
from vpn.models import ConfigPack, Tunnel, VpnChange
from vpn.services.packs import config_pack_render

pytestmark = pytest.mark.django_db


def _aws_keys(sandbox, request) -> dict[str, str]:
    (connection,) = sandbox.ec2(request.region).describe_vpn_connections(
        VpnConnectionIds=[connection_id(request)]
    )["VpnConnections"]
    return {
        options["OutsideIpAddress"]: options["PreSharedKey"]
        for options in connection["Options"]["TunnelOptions"]
    }


def _rotate(*args) -> str:
    out = StringIO()
    call_command("vpn_rotate_psk", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def test_rotation_changes_the_key_in_aws_stores_it_and_reissues_the_pack(aws_sandbox):
    request = live_vpn(aws_sandbox, vpc_cidr="10.60.0.0/24", amazon_side_asn=64512)
    bring_live(aws_sandbox, request)
    config_pack_render(request_id=request.pk, reason="VPN connection created")
    one, two = request.tunnels.order_by("position")
    before = _aws_keys(aws_sandbox, request)
    assert before == {one.outside_ip: one.psk, two.outside_ip: two.psk}

    out = _rotate(request.pk, "--tunnel", 1, "--confirm")

    after = _aws_keys(aws_sandbox, request)
    new_key = Tunnel.objects.get(pk=one.pk).psk
    assert after[one.outside_ip] == new_key != one.psk
    assert after[two.outside_ip] == two.psk == Tunnel.objects.get(pk=two.pk).psk
    change = VpnChange.objects.get(request=request)
    assert (change.kind, change.state) == (ChangeKind.ROTATE_PSK, ChangeState.DONE)
    assert change.applied_label == "vpn_change"
    pack = ConfigPack.objects.filter(request=request).latest("version")
    assert pack.version == 2
    assert pack.reason.startswith(f"{change.reference} (rotate pre-shared keys): tunnel 1")
    assert f"Tunnel {one.outside_ip}: pre-shared key changed" in pack.changes
    text = pdf_text(pack.file_for("pdf").read())
    assert new_key in text and one.psk not in text
    assert f"{change.reference} (new pre-shared key for tunnel 1)" in out
    assert "config pack version 2 issued" in out
    assert "Done: new pre-shared key for tunnel 1." in out


def test_rotation_says_the_impact_and_changes_nothing_without_confirm(aws_sandbox):
    request = live_vpn(aws_sandbox)
    keys = _aws_keys(aws_sandbox, request)
    with pytest.raises(CommandError, match=r"Tunnel 1 drops for a few minutes.*--confirm"):
        _rotate(request.pk, "--tunnel", 1)
    assert _aws_keys(aws_sandbox, request) == keys
    assert not VpnChange.objects.exists()


def test_rotation_refuses_a_request_not_yet_provisioned(aws_sandbox):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    with pytest.raises(CommandError, match="only a provisioned VPN"):
        _rotate(request.pk, "--tunnel", 1, "--confirm")


def test_rotation_of_an_unknown_request_fails_clearly(aws_sandbox):
    with pytest.raises(CommandError, match=r"^No VPN request with id 999999\.$"):
        _rotate(999999, "--tunnel", 1)


def test_rotation_needs_a_tunnel_of_one_or_two(aws_sandbox):
    request = live_vpn(aws_sandbox)
    with pytest.raises(CommandError, match="invalid choice: '3'"):
        _rotate(request.pk, "--tunnel", 3)


def test_aws_refusing_the_change_changes_nothing(aws_sandbox):
    request = live_vpn(aws_sandbox)
    keys = dict(request.tunnels.values_list("position", "psk"))
    # The connection is gone in AWS: the change stops with AWS's reason.
    aws_sandbox.ec2(request.region).delete_vpn_connection(VpnConnectionId=connection_id(request))

    with pytest.raises(CommandError, match=r"stopped\. .*AWS refused it"):
        _rotate(request.pk, "--tunnel", 2, "--confirm")
    assert dict(request.tunnels.values_list("position", "psk")) == keys
    assert not ConfigPack.objects.filter(request=request).exists()
    assert VpnChange.objects.get(request=request).state == ChangeState.FAILED
