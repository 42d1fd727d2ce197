"""The pack's strongSwan configuration brings up real tunnels with an AWS-side responder.

For each of static IKEv2, static IKEv1 and BGP IKEv2, a request is provisioned on the
sandbox; the AWS side is written from `DescribeVpnConnections` alone and the customer
side loads the shipped pack's `swanctl.conf` unchanged, each in a charon of its own
network namespace (see `tests.handshake.lab`). Both tunnels must establish, each must
carry a ping alone, BGP must exchange the customer's prefixes, and an IKEv1 tunnel that
AWS deletes must come back by itself. A wrong key and a proposal mismatch must not
establish, for the reason the logs give.
"""

import pytest

from tests.conftest import service_missing
from tests.factories import VpnRequestFactory
from tests.handshake.aws_side import (
    AwsSide,
    aws_side_from_describe,
    responder_bird_conf,
    responder_swanctl_conf,
)
from tests.handshake.customer_side import CustomerPack, customer_bird_conf, customer_pack
from tests.handshake.lab import IkeSa, Lab, bird_missing, lab_missing
from vpn.aws import TAG_REQUEST
from vpn.choices import DeviceVendor, IkeVersion, Routing, Stage
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)

REGION = "us-east-1"
# The sandbox leaves 192.0.2.0/24 (TEST-NET-1) to customer gateways.
CUSTOMER_GATEWAY_IP = "192.0.2.10"
STATIC_SUBNETS = ["10.20.0.0/16", "192.168.50.0/24"]
ADVERTISED_PREFIXES = ["10.20.0.0/16", "172.20.4.0/22"]
# Deadlines, generous for a busy two-core machine; each wait polls the state.
ESTABLISH_SECONDS = 30
RECOVERY_SECONDS = 20
BGP_SECONDS = 60
REFUSAL_SECONDS = 30


# --- Fixtures and setup -------------------------------------------------------------------


@pytest.fixture
def labs(tmp_path):
    """Makes labs (namespaces, charons); every one is torn down, even after a failure."""
    missing = lab_missing()
    if missing:
        service_missing(missing)
    made: list[Lab] = []

    def make() -> Lab:
        lab = Lab(tmp_path / f"lab{len(made) + 1}")
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.close()


def _provisioned(run_jobs, *, routing: str, ike_version: str) -> int:
    """A strongSwan request taken through the real provisioning flow; its id."""
    static = routing == Routing.STATIC
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region=REGION,
        customer_gateway_ip=CUSTOMER_GATEWAY_IP,
        routing=routing,
        static_subnets=STATIC_SUBNETS if static else [],
        bgp_asn=None if static else 65010,
        advertised_prefixes=[] if static else ADVERTISED_PREFIXES,
        ike_version=ike_version,
        tunnel_count=2,
        device_vendor=DeviceVendor.STRONGSWAN,
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="handshake test")
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    return request.pk


def _described(aws_sandbox, request_id: int) -> AwsSide:
    """The request's VPN connection as AWS describes it (found by its tag)."""
    connections = (
        aws_sandbox.ec2(REGION)
        .describe_vpn_connections(
            Filters=[{"Name": f"tag:{TAG_REQUEST}", "Values": [str(request_id)]}]
        )
        .get("VpnConnections", [])
    )
    live = [connection for connection in connections if connection["State"] != "deleted"]
    assert len(live) == 1, connections
    return aws_side_from_describe(live[0])


def _wired(lab: Lab, pack: CustomerPack, side: AwsSide) -> None:
    """Namespaces and charons up; inside addresses on each side's TUN device, the
    customer's from the pack, AWS's from AWS's description."""
    assert side.tunnels[0].customer_ip == pack.parameters["customer_gateway_ip"]
    lab.build(
        customer_ip=pack.parameters["customer_gateway_ip"],
        aws_ips=[tunnel.outside_ip for tunnel in side.tunnels],
    )
    for tunnel in pack.tunnels:
        prefixlen = int(tunnel["inside_cidr"].split("/")[1])
        lab.add_inside_address(lab.customer_ns, tunnel["customer_inside_ip"], prefixlen)
    for tunnel in side.tunnels:
        lab.add_inside_address(lab.aws_ns, tunnel.aws_inside_ip, tunnel.inside_prefixlen)


def _load_both(lab: Lab, pack: CustomerPack, side: AwsSide) -> None:
    """The responder first, then the pack's file, which starts the tunnels itself."""
    output = lab.aws.load(responder_swanctl_conf(side).encode())
    if f"successfully loaded {len(side.tunnels)} connections" not in output:
        raise lab.fail(f"The AWS side did not load:\n{output}")
    output = lab.customer.load(pack.swanctl_conf)
    clean = all(
        problem not in output.lower() for problem in ("invalid config", "unknown option", "failed")
    )
    if not clean or f"successfully loaded {len(pack.tunnels)} connections" not in output:
        raise lab.fail(f"The pack's swanctl.conf did not load cleanly:\n{output}")


# --- Reading the state --------------------------------------------------------------------


def _up_sa(sas: list[IkeSa], name: str) -> IkeSa | None:
    return next((sa for sa in sas if sa.name == name and sa.up), None)


def _tunnel_up(lab: Lab, pack: CustomerPack, side: AwsSide, position: int) -> IkeSa | None:
    """The customer's IKE SA of the tunnel, when both ends have it up; else None."""
    customer = _up_sa(lab.customer.sas(), pack.connection_name(position))
    aws = _up_sa(lab.aws.sas(), side.tunnels[position - 1].name)
    return customer if customer and aws else None


def _tunnel_gone(lab: Lab, pack: CustomerPack, side: AwsSide, position: int) -> bool:
    names = {pack.connection_name(position), side.tunnels[position - 1].name}
    return not any(sa.name in names for sa in lab.customer.sas() + lab.aws.sas())


def _all_up(lab: Lab, pack: CustomerPack, side: AwsSide) -> None:
    for tunnel in pack.tunnels:
        position = tunnel["position"]
        lab.wait_until(
            lambda position=position: _tunnel_up(lab, pack, side, position),
            seconds=ESTABLISH_SECONDS,
            what=f"tunnel {position} ESTABLISHED with its CHILD SA INSTALLED on both sides",
        )


def _ping_alone(lab: Lab, pack: CustomerPack, side: AwsSide, position: int) -> None:
    """Take every other tunnel down, then ping AWS's inside address of this one.

    Both tunnels' selectors are 0.0.0.0/0, which user-space ESP cannot tell apart:
    with the other tunnel down, the echo can only have crossed this one, and AWS's
    CHILD SA of this tunnel counts it.
    """
    tunnel = pack.tunnels[position - 1]
    name = pack.connection_name(position)
    for other in pack.tunnels:
        if other["position"] != position:
            lab.customer.swanctl(
                "--terminate", "--ike", pack.connection_name(other["position"]), "--timeout", "30"
            )
            lab.wait_until(
                lambda other=other: _tunnel_gone(lab, pack, side, other["position"]),
                seconds=ESTABLISH_SECONDS,
                what=f"tunnel {other['position']} down on both sides",
            )
    if not _tunnel_up(lab, pack, side, position):
        lab.customer.swanctl("--initiate", "--child", name, "--timeout", "30")
    lab.wait_until(
        lambda: _tunnel_up(lab, pack, side, position),
        seconds=ESTABLISH_SECONDS,
        what=f"tunnel {position} up again",
    )
    if not lab.ping(
        lab.customer_ns, source=tunnel["customer_inside_ip"], target=tunnel["aws_inside_ip"]
    ):
        raise lab.fail(
            f"No echo reply through tunnel {position} alone "
            f"({tunnel['customer_inside_ip']} -> {tunnel['aws_inside_ip']})."
        )
    aws_sa = _up_sa(lab.aws.sas(), side.tunnels[position - 1].name)
    if not aws_sa or not any(child.packets_in for child in aws_sa.children):
        raise lab.fail(f"AWS's CHILD SA of tunnel {position} received nothing.")


def _bring_back(lab: Lab, pack: CustomerPack, side: AwsSide) -> None:
    for tunnel in pack.tunnels:
        if not _tunnel_up(lab, pack, side, tunnel["position"]):
            lab.customer.swanctl(
                "--initiate",
                "--child",
                pack.connection_name(tunnel["position"]),
                "--timeout",
                "30",
            )
    _all_up(lab, pack, side)


def _handshake(labs, aws_sandbox, run_jobs, *, routing: str, ike_version: str):
    request_id = _provisioned(run_jobs, routing=routing, ike_version=ike_version)
    pack = customer_pack(request_id=request_id)
    side = _described(aws_sandbox, request_id)
    assert pack.parameters["vpn_connection_id"] == side.vpn_connection_id
    lab = labs()
    _wired(lab, pack, side)
    _load_both(lab, pack, side)
    _all_up(lab, pack, side)
    for tunnel in pack.tunnels:
        _ping_alone(lab, pack, side, tunnel["position"])
    _bring_back(lab, pack, side)
    return lab, pack, side


# --- The handshakes -------------------------------------------------------------------------


def test_static_ikev2_both_tunnels_establish_and_carry_traffic(labs, aws_sandbox, run_jobs):
    lab, _, _ = _handshake(
        labs, aws_sandbox, run_jobs, routing=Routing.STATIC, ike_version=IkeVersion.IKEV2
    )
    assert {sa.version for sa in lab.customer.sas()} == {"IKEv2"}, lab.evidence()


def test_static_ikev1_establishes_and_comes_back_after_aws_deletes_it(labs, aws_sandbox, run_jobs):
    lab, pack, side = _handshake(
        labs, aws_sandbox, run_jobs, routing=Routing.STATIC, ike_version=IkeVersion.IKEV1
    )
    assert {sa.version for sa in lab.customer.sas()} == {"IKEv1"}, lab.evidence()

    # AWS deletes tunnel 1's SAs (as on an endpoint replacement) and, with IKEv1, never
    # initiates again: only the customer's side can bring the tunnel back.
    name = pack.connection_name(1)
    before = _tunnel_up(lab, pack, side, 1)
    result = lab.aws.swanctl("--terminate", "--ike", side.tunnels[0].name, "--timeout", "30")
    assert result.returncode == 0, result.stdout + result.stderr

    def replaced() -> IkeSa | None:
        current = _tunnel_up(lab, pack, side, 1)
        return current if current and current.unique_id != before.unique_id else None

    after = lab.wait_until(
        replaced,
        seconds=RECOVERY_SECONDS,
        what="tunnel 1 re-established by the customer's side after AWS deleted it",
    )
    if f"initiating Main Mode IKE_SA {name}[{after.unique_id}]" not in lab.customer.log_text():
        raise lab.fail("The new IKE SA was not initiated by the customer's side.")


def test_bgp_ikev2_sessions_establish_and_aws_receives_the_prefixes(labs, aws_sandbox, run_jobs):
    missing = bird_missing()
    if missing:
        service_missing(missing)
    lab, pack, side = _handshake(
        labs, aws_sandbox, run_jobs, routing=Routing.BGP, ike_version=IkeVersion.IKEV2
    )
    aws_bird = lab.start_bird(lab.aws_ns, "AWS", responder_bird_conf(side))
    lab.start_bird(lab.customer_ns, "customer", customer_bird_conf(pack))
    for tunnel in side.tunnels:
        protocol = tunnel.name.replace("-", "_")
        lab.wait_until(
            lambda protocol=protocol: "Established" in aws_bird.show("protocols", protocol),
            seconds=BGP_SECONDS,
            what=f"AWS's BGP session {protocol} Established",
        )
        lab.wait_until(
            lambda protocol=protocol: all(
                prefix in aws_bird.show("route", "protocol", protocol)
                for prefix in ADVERTISED_PREFIXES
            ),
            seconds=BGP_SECONDS,
            what=f"the customer's prefixes {ADVERTISED_PREFIXES} received by {protocol}",
        )
        routes = aws_bird.show("route", "protocol", protocol, "all")
        assert f"BGP.as_path: {side.customer_asn}" in routes, lab.evidence() + routes


# --- Negative controls ------------------------------------------------------------------------

REFUSALS = {
    (IkeVersion.IKEV2, "psk"): "AUTHENTICATION_FAILED",
    (IkeVersion.IKEV1, "psk"): "invalid HASH_V1 payload length, decryption failed?",
    (IkeVersion.IKEV2, "proposal"): "no acceptable ENCRYPTION_ALGORITHM found",
    (IkeVersion.IKEV1, "proposal"): "no acceptable ENCRYPTION_ALGORITHM found",
}


@pytest.mark.parametrize("ike_version", [IkeVersion.IKEV2, IkeVersion.IKEV1])
def test_a_wrong_key_or_a_proposal_mismatch_does_not_establish(
    labs, aws_sandbox, run_jobs, ike_version
):
    request_id = _provisioned(run_jobs, routing=Routing.STATIC, ike_version=ike_version)
    pack = customer_pack(request_id=request_id)
    side = _described(aws_sandbox, request_id)
    # AES128 is a cipher AWS accepts, just not the one the pack proposes.
    wrong_sides = {
        "psk": side.with_psk("Wrong_key_of_32_characters_00000"),
        "proposal": side.with_options(Phase1EncryptionAlgorithms=[{"Value": "AES128"}]),
    }
    for mistake, wrong_side in wrong_sides.items():
        lab = labs()
        _wired(lab, pack, wrong_side)
        _load_both(lab, pack, wrong_side)
        reason = REFUSALS[(ike_version, mistake)]
        lab.wait_until(
            lambda lab=lab, reason=reason: reason in lab.aws.log_text() + lab.customer.log_text(),
            seconds=REFUSAL_SECONDS,
            what=f"the refusal ({mistake}) logged: {reason!r}",
        )
        established = [sa for sa in lab.customer.sas() + lab.aws.sas() if sa.state == "ESTABLISHED"]
        if established:
            raise lab.fail(f"An SA established despite the {mistake} mismatch.")
        lab.close()
