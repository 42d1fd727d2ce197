"""Each kind of change, applied for real: AWS (the sandbox, over HTTP) ends as the change
said, a new pack version names it and lists what changed, the timeline records it, and
the customer is emailed when their side changes."""

from datetime import UTC, datetime

import django_rq
import pytest
from rq import SimpleWorker

from tests.change_support import (
    all_tunnels_down_since,
    aws_connection,
    aws_keys,
    customer_emails,
    latest_pack,
    provisioned_vpn,
)
from tests.config_pack_support import pdf_text
from tests.status_support import flip
from vpn.choices import AwsResourceRole, ChangeKind, ChangeState, Routing
from vpn.models import AwsResource, VpnChange
from vpn.selectors.requests import request_timeline
from vpn.services.changes import (
    HANDLERS,
    ChangeHandler,
    PerTunnelChange,
    change_apply,
    change_confirm_tunnel,
    change_pack_issue,
    change_propose,
)
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db(transaction=True)


def _applied(request, user, kind, values, *, run_jobs, confirmed=True) -> VpnChange:
    change = change_propose(
        request_id=request.pk, kind=kind, values=values, reason="Ticket 4711", user=user
    )
    change_apply(change_id=change.pk, user=user, confirmed=confirmed)
    assert run_jobs() == 0
    change.refresh_from_db()
    return change


def _resource_id(request, role) -> str:
    return request.resources.get(role=role, deleted_at__isnull=True).resource_id


def _routes(sandbox, request) -> dict[str, dict]:
    (table,) = sandbox.ec2(request.region).describe_route_tables(
        RouteTableIds=[_resource_id(request, AwsResourceRole.PRIVATE_ROUTE_TABLE)]
    )["RouteTables"]
    return {route["DestinationCidrBlock"]: route for route in table["Routes"]}


def _named(change, request) -> None:
    """The latest pack names the change, the timeline ends it, the customer was told."""
    pack = latest_pack(request)
    assert pack.version in change.pack_versions
    assert pack.reason.startswith(change.reference)
    titles = [event.title for event in request_timeline(request=request)]
    assert f"{change.reference} done: {change.summary}" in titles
    emails = customer_emails(request)
    assert any(f"config pack version {pack.version}" in m.subject for m in emails)


def test_the_change_job_leaves_its_pack_to_a_job_on_the_packs_queue(
    aws_sandbox, run_jobs, rq_queue, ops
):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    versions_before = latest_pack(request).version
    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ADD_SUBNET,
        values={"cidr": "10.78.0.0/24"},
        reason="Ticket 4712",
        user=ops,
    )
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    # The "default" worker alone: the change is done, and its pack only queued.
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert change.pack_versions == []
    assert latest_pack(request).version == versions_before
    packs_queue = django_rq.get_queue("packs")
    (job_id,) = packs_queue.job_ids
    assert job_id.startswith(f"change-pack-{change.pk}-")

    # The "packs" worker issues it, records it on the change and emails the customer.
    assert run_jobs() == 0
    change.refresh_from_db()
    pack = latest_pack(request)
    assert pack.version == versions_before + 1
    assert change.pack_versions == [pack.version]
    assert "Static routes: added 10.78.0.0/24" in pack.changes
    subjects = [m.subject for m in customer_emails(request)]
    assert sum(f"config pack version {pack.version}" in s for s in subjects) == 1, subjects

    # Run again (a retried job), it issues and sends nothing more.
    emails = len(customer_emails(request))
    note = change_pack_issue(change_id=change.pk, reason="again", after_version=versions_before)
    assert note == f" Config pack v{pack.version} issued and sent to the customer."
    change.refresh_from_db()
    assert change.pack_versions == [pack.version]
    assert latest_pack(request).version == pack.version
    assert len(customer_emails(request)) == emails


def test_a_static_subnet_is_routed_and_unrouted(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    gateway = _resource_id(request, AwsResourceRole.VPN_GATEWAY)

    added = _applied(
        request, ops, ChangeKind.ADD_SUBNET, {"cidr": "10.77.0.0/24"}, run_jobs=run_jobs
    )
    assert added.state == ChangeState.DONE, added.message
    routes = [r["DestinationCidrBlock"] for r in aws_connection(aws_sandbox, request)["Routes"]]
    assert sorted(routes) == ["10.77.0.0/24", "192.168.10.0/24"]
    assert _routes(aws_sandbox, request)["10.77.0.0/24"]["GatewayId"] == gateway
    request.refresh_from_db()
    assert request.static_subnets == ["192.168.10.0/24", "10.77.0.0/24"]
    assert "Static routes: added 10.77.0.0/24" in latest_pack(request).changes
    _named(added, request)
    # No tunnel is touched by a route.
    assert not added.calls.filter(operation="ModifyVpnTunnelOptions").exists()

    removed = _applied(
        request, ops, ChangeKind.REMOVE_SUBNET, {"cidr": "192.168.10.0/24"}, run_jobs=run_jobs
    )
    assert removed.state == ChangeState.DONE, removed.message
    routes = [r["DestinationCidrBlock"] for r in aws_connection(aws_sandbox, request)["Routes"]]
    assert routes == ["10.77.0.0/24"]
    assert "192.168.10.0/24" not in _routes(aws_sandbox, request)
    request.refresh_from_db()
    assert request.static_subnets == ["10.77.0.0/24"]
    assert "Static routes: removed 192.168.10.0/24" in latest_pack(request).changes
    _named(removed, request)


def test_bgp_prefixes_change_in_the_pack_and_the_checks(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(
        aws_sandbox,
        run_jobs,
        routing=Routing.BGP,
        static_subnets=[],
        bgp_asn=65010,
        advertised_prefixes=["10.20.0.0/16"],
    )
    change = _applied(
        request, ops, ChangeKind.ADD_SUBNET, {"cidr": "10.21.0.0/16"}, run_jobs=run_jobs
    )
    assert change.state == ChangeState.DONE, change.message
    request.refresh_from_db()
    assert request.advertised_prefixes == ["10.20.0.0/16", "10.21.0.0/16"]
    assert "BGP advertised prefixes: added 10.21.0.0/16" in latest_pack(request).changes
    # Nothing to change in AWS: BGP learns the prefix from the customer's device.
    assert set(change.calls.values_list("operation", flat=True)) <= {"DescribeVpnConnections"}
    _named(change, request)


def test_a_new_customer_gateway_keeps_awss_side(aws_sandbox, run_jobs, ops, settings):
    settings.AWS_SANDBOX = True  # the sandbox's documentation addresses are accepted
    request = provisioned_vpn(
        aws_sandbox,
        run_jobs,
        routing=Routing.BGP,
        static_subnets=[],
        bgp_asn=65010,
        advertised_prefixes=["10.20.0.0/16"],
    )
    old_gateway = _resource_id(request, AwsResourceRole.CUSTOMER_GATEWAY)
    before = aws_connection(aws_sandbox, request)
    since = datetime.now(UTC)

    change = _applied(
        request,
        ops,
        ChangeKind.CUSTOMER_GATEWAY,
        {"ip": "192.0.2.200", "asn": "65020"},
        run_jobs=run_jobs,
    )
    assert change.state == ChangeState.DONE, change.message
    after = aws_connection(aws_sandbox, request)
    new_gateway = after["CustomerGatewayId"]
    assert new_gateway != old_gateway
    ec2 = aws_sandbox.ec2(request.region)
    gateways = {
        g["CustomerGatewayId"]: g
        for g in ec2.describe_customer_gateways(CustomerGatewayIds=[old_gateway, new_gateway])[
            "CustomerGateways"
        ]
    }
    assert (gateways[new_gateway]["IpAddress"], gateways[new_gateway]["BgpAsn"]) == (
        "192.0.2.200",
        "65020",
    )
    assert gateways[old_gateway]["State"] == "deleted"  # no other VPN used it
    # What AWS keeps: outside IPs, keys, inside CIDRs and options.
    assert after["Options"]["TunnelOptions"] == before["Options"]["TunnelOptions"]
    request.refresh_from_db()
    assert (request.customer_gateway_ip, request.bgp_asn) == ("192.0.2.200", 65020)
    assert _resource_id(request, AwsResourceRole.CUSTOMER_GATEWAY) == new_gateway
    changes = latest_pack(request).changes
    assert any(line.startswith("Customer gateway IP: changed from") for line in changes)
    assert "Customer ASN: changed from 65010 to 65020" in changes
    assert not any("pre-shared key changed" in line for line in changes)
    # Honest: ModifyVpnConnection takes both tunnels down at once, as the impact said.
    assert "Both tunnels drop at once" in change.impact
    assert all_tunnels_down_since(aws_sandbox, request, since)["all_down"] is True
    assert "The old customer gateway" in change.message and "is deleted" in change.message
    _named(change, request)


def test_a_gateway_another_vpn_uses_is_kept(aws_sandbox, run_jobs, ops, settings):
    settings.AWS_SANDBOX = True
    request = provisioned_vpn(aws_sandbox, run_jobs, customer_gateway_ip="192.0.2.61")
    sibling = provisioned_vpn(
        aws_sandbox,
        run_jobs,
        customer_gateway_ip="192.0.2.61",
        customer=request.customer,
        static_subnets=["192.168.20.0/24"],
    )
    shared = _resource_id(request, AwsResourceRole.CUSTOMER_GATEWAY)
    assert _resource_id(sibling, AwsResourceRole.CUSTOMER_GATEWAY) == shared

    change = _applied(
        request, ops, ChangeKind.CUSTOMER_GATEWAY, {"ip": "192.0.2.62"}, run_jobs=run_jobs
    )
    assert change.state == ChangeState.DONE, change.message
    (gateway,) = aws_sandbox.ec2(request.region).describe_customer_gateways(
        CustomerGatewayIds=[shared]
    )["CustomerGateways"]
    assert gateway["State"] == "available"
    assert f"{sibling.reference} still uses it" in change.message


def test_tunnel_options_change_one_tunnel_at_a_time(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    since = datetime.now(UTC)
    change = _applied(
        request,
        ops,
        ChangeKind.TUNNEL_OPTIONS,
        {"phase1_encryption": "AES128", "phase2_dh_group": "20", "ike_version": "ikev1"},
        run_jobs=run_jobs,
    )
    assert change.state == ChangeState.DONE, change.message
    for tunnel in aws_connection(aws_sandbox, request)["Options"]["TunnelOptions"]:
        assert [v["Value"] for v in tunnel["Phase1EncryptionAlgorithms"]] == ["AES128"]
        assert [v["Value"] for v in tunnel["Phase2DHGroupNumbers"]] == [20]
        assert [v["Value"] for v in tunnel["IkeVersions"]] == ["ikev1"]
        assert tunnel["StartupAction"] == "add"  # IKEv1: the customer's device initiates
    request.refresh_from_db()
    assert request.ike_version == "ikev1"
    assert request.tunnel_options == {"phase1_encryption": "AES128", "phase2_dh_group": 20}
    assert all_tunnels_down_since(aws_sandbox, request, since)["all_down"] is False
    (pack,) = [p for p in request.config_packs.all() if p.version in change.pack_versions]
    assert "IPsec phase1 encryption: changed from AES256 to AES128" in pack.changes
    assert "IKE version: changed from ikev2 to ikev1" in pack.changes
    assert "tunnel 1 already has the new values; tunnel 2 gets them" in pack.reason
    text = " ".join(pdf_text(pack.file_for("pdf").read()).split())
    assert "tunnel 1 already has the new values" in text
    _named(change, request)


def test_nat_goes_on_then_off(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    on = _applied(request, ops, ChangeKind.NAT, {"nat": "on"}, run_jobs=run_jobs)
    assert on.state == ChangeState.DONE, on.message
    request.refresh_from_db()
    nat_id = _resource_id(request, AwsResourceRole.NAT_GATEWAY)
    assert _routes(aws_sandbox, request)["0.0.0.0/0"]["NatGatewayId"] == nat_id
    public_ip = AwsResource.objects.get(request=request, role=AwsResourceRole.ELASTIC_IP).details[
        "public_ip"
    ]
    assert f"NAT gateway public IP: added {public_ip}" in latest_pack(request).changes
    _named(on, request)

    off = _applied(request, ops, ChangeKind.NAT, {"nat": "off"}, run_jobs=run_jobs)
    assert off.state == ChangeState.DONE, off.message
    request.refresh_from_db()
    assert not request.nat_wanted
    (nat,) = aws_sandbox.ec2(request.region).describe_nat_gateways(NatGatewayIds=[nat_id])[
        "NatGateways"
    ]
    assert nat["State"] == "deleted"
    assert "0.0.0.0/0" not in _routes(aws_sandbox, request)
    assert f"NAT gateway public IP: removed {public_ip}" in latest_pack(request).changes
    _named(off, request)


def test_a_second_tunnel_waits_for_the_customers_confirmation(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs, tunnel_count=1, live=False)
    flip(aws_sandbox, request, 1, "UP")  # the customer configured tunnel 1 only
    status_refresh()
    two = request.tunnels.get(position=2)
    keys = aws_keys(aws_sandbox, request)
    change = _applied(request, ops, ChangeKind.TUNNEL_COUNT, {"tunnels": "2"}, run_jobs=run_jobs)

    # Tunnel 2 was never up: the change waits for the customer, not for a timeout.
    assert (change.state, change.tunnel) == (ChangeState.WAITING_FOR_TUNNEL, 2)
    assert "never been up" in change.message
    request.refresh_from_db()
    assert request.tunnel_count == 2
    assert f"Tunnel {two.outside_ip}: now used" in latest_pack(request).changes
    assert aws_keys(aws_sandbox, request) == keys  # AWS always had tunnel 2
    assert customer_emails(request)

    change_confirm_tunnel(change_id=change.pk, user=ops)
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert change.confirmed_tunnels == [2]
    _named(change, request)


def test_a_kind_missing_what_its_handler_must_define_cannot_be_made():
    assert all(not type(handler).__abstractmethods__ for handler in HANDLERS.values())
    assert set(HANDLERS) == set(ChangeKind)

    class Bare(ChangeHandler):
        kind = ChangeKind.NAT

    class NoTunnelApply(PerTunnelChange):
        kind = ChangeKind.ROTATE_PSK

        def clean(self, request, values):
            return {}, {}

        def summary(self, change):
            return ""

    with pytest.raises(TypeError) as raised:
        Bare()
    assert all(name in str(raised.value) for name in ("clean", "summary", "step_apply"))
    with pytest.raises(TypeError, match="tunnel_apply"):
        NoTunnelApply()
