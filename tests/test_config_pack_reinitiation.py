"""Every device configuration brings back a tunnel that AWS closed and will not restart.

AWS initiates only with IKEv2 and startup action `start`; with IKEv1 or `add` only the
customer's device can bring a closed tunnel back. Each vendor's file is rendered for
each case and must carry that vendor's mechanism for every configured tunnel (and the
stronger one where AWS will not initiate), and say in its comments which case it is.
"""

from dataclasses import replace

import pytest

from tests.config_pack_support import connection_request, copies_with_profile
from vpn.choices import IkeVersion, Routing
from vpn.packs.devices import VENDORS, device_configs
from vpn.tunnel_profile import tunnel_profile

CASES = [
    # (IKE version, startup action, whether AWS brings a closed tunnel back)
    (IkeVersion.IKEV2, "start", True),
    (IkeVersion.IKEV2, "add", False),
    (IkeVersion.IKEV1, "add", False),
]
SAYS_AWS_RESTARTS = "AWS starts these tunnels itself"
SAYS_DEVICE_MUST = "AWS never starts these tunnels"


def test_aws_initiates_only_with_ikev2_and_start():
    assert tunnel_profile(IkeVersion.IKEV2).aws_initiates is True
    assert tunnel_profile(IkeVersion.IKEV1).aws_initiates is False
    for ike_version, startup_action, aws_initiates in CASES:
        profile = tunnel_profile(ike_version)
        assert replace(profile, startup_action=startup_action).aws_initiates is aws_initiates


def test_every_vendor_says_how_its_configuration_does_it():
    for vendor in VENDORS:
        assert vendor.reinitiation.endswith("."), vendor.key


def _configs(*, ike_version, startup_action, routing=Routing.STATIC, tunnel_count=2):
    vpn_request = connection_request(
        ike_version=ike_version, routing=routing, tunnel_count=tunnel_count
    )
    full, _ = copies_with_profile(vpn_request, startup_action=startup_action)
    configs = {config.filename: config.text for config in device_configs(full)}
    tunnels = [t for t in full.parameters.tunnels if t.used]
    return full.parameters, tunnels, configs


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


@pytest.mark.django_db
@pytest.mark.parametrize(("ike_version", "startup_action", "aws_initiates"), CASES)
@pytest.mark.parametrize("routing", Routing.values)
def test_each_configuration_brings_back_what_aws_will_not(
    ike_version, startup_action, aws_initiates, routing
):
    parameters, tunnels, configs = _configs(
        ike_version=ike_version, startup_action=startup_action, routing=routing
    )
    reference = parameters.reference

    # Every file but strongSwan's (whose children say it) states the case in its header.
    for name, text in configs.items():
        flat = " ".join(text.replace("#", " ").replace("!", " ").split())
        if name == "swanctl.conf":
            continue
        assert (SAYS_AWS_RESTARTS in flat) is aws_initiates, name
        assert (SAYS_DEVICE_MUST in flat) is not aws_initiates, name
        assert f"startup action {startup_action}" in flat, name

    swanctl = _lines(configs["swanctl.conf"])
    assert swanctl.count("close_action = none" if aws_initiates else "close_action = start") == 2
    assert swanctl.count("dpd_action = restart") == 2

    cisco = _lines(configs["cisco-ios-vti.txt"])
    dpd_mode = "on-demand" if aws_initiates else "periodic"
    if ike_version == IkeVersion.IKEV2:
        assert cisco.count(f"dpd 10 3 {dpd_mode}") == len(tunnels)
    else:
        assert cisco.count(f"crypto isakmp keepalive 10 3 {dpd_mode}") == 1
    for tunnel in tunnels:
        sla = str(99 + tunnel.position)
        assert f"ip sla {sla}" in cisco
        assert f"icmp-echo {tunnel.aws_inside_ip} source-interface Tunnel{tunnel.position}" in (
            cisco
        )
        assert f"ip sla schedule {sla} life forever start-time now" in cisco
        tracked = f"track {sla} ip sla {sla} reachability" in cisco
        assert tracked is (routing == Routing.STATIC)
        if routing == Routing.STATIC:
            through = f"Tunnel{tunnel.position}{' 20' if tunnel.position > 1 else ''}"
            assert any(
                line.startswith("ip route ") and line.endswith(f"{through} track {sla}")
                for line in cisco
            ), tunnel.position

    juniper = _lines(configs["juniper-srx.txt"])
    for tunnel in tunnels:
        vpn = f"set security ipsec vpn {reference}-t{tunnel.position}"
        gateway = f"set security ike gateway {reference}-t{tunnel.position}"
        assert f"{vpn} establish-tunnels immediately" in juniper
        assert f"{vpn} vpn-monitor source-interface st0.{tunnel.position}" in juniper
        assert f"{vpn} vpn-monitor destination-ip {tunnel.aws_inside_ip}" in juniper
        assert (f"{gateway} dead-peer-detection always-send" in juniper) is not aws_initiates

    palo_alto = _lines(configs["palo-alto-panos.txt"])
    profile = f"{reference}-monitor"
    assert f"set network profiles monitor-profile {profile} action fail-over" in palo_alto
    for tunnel in tunnels:
        name = f"{reference}-t{tunnel.position}"
        assert f"set network ike gateway {name} protocol-common passive-mode no" in palo_alto
        assert (
            f"set network tunnel ipsec {name} tunnel-monitor enable yes destination-ip "
            f"{tunnel.aws_inside_ip} tunnel-monitor-profile {profile}"
        ) in palo_alto

    fortinet = _lines(configs["fortinet-fortigate.txt"])
    assert fortinet.count("set auto-negotiate enable") == len(tunnels)
    assert fortinet.count("set keepalive enable") == len(tunnels)
    assert fortinet.count("set dpd on-idle") == len(tunnels)

    generic = " ".join(configs["generic.txt"].split())
    assert ("initiate it again by itself whenever it is gone" in generic) is not aws_initiates
    assert ("accept AWS's negotiation at any time" in generic) is aws_initiates


@pytest.mark.django_db
def test_one_tunnel_monitors_tunnel_1_only():
    parameters, (tunnel,), configs = _configs(
        ike_version=IkeVersion.IKEV1, startup_action="add", tunnel_count=1
    )
    unused = next(t for t in parameters.tunnels if not t.used)
    for name, text in configs.items():
        if name != "generic.txt":
            assert unused.aws_inside_ip not in text, name
    assert (
        f"icmp-echo {tunnel.aws_inside_ip} source-interface Tunnel1" in configs["cisco-ios-vti.txt"]
    )
    assert "ip sla 101" not in configs["cisco-ios-vti.txt"]
    assert "st0.2" not in configs["juniper-srx.txt"]
