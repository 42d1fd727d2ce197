"""Provisioning end to end: approval, real RQ jobs on real Redis, the sandbox over HTTP.

The resources in the sandbox must match the request exactly.
"""

import ipaddress

import pytest
from django.conf import settings
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from tests.factories import VpnRequestFactory
from vpn.choices import AwsResourceRole, Routing, Stage
from vpn.models import AwsResource, VpnRequest
from vpn.services.stages import request_move
from vpn.tunnel_profile import tunnel_profile

pytestmark = pytest.mark.django_db(transaction=True)


def _approve_and_run(request, run_jobs) -> VpnRequest:
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")
    assert run_jobs() == 0
    return VpnRequest.objects.get(pk=request.pk)


def _tag(resource: dict, key: str) -> str | None:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}.get(key)


def _by_tag(items: list[dict], request_id: int) -> list[dict]:
    return [i for i in items if _tag(i, "vpn-portal:request") == str(request_id)]


def _check_tunnels(request, connection):
    """Both tunnels' options are the profile's, and tunnels are recorded by outside IP."""
    profile = tunnel_profile(request.ike_version)
    options = connection["Options"]["TunnelOptions"]
    assert len(options) == 2
    recorded = {t.outside_ip: t for t in request.tunnels.all()}
    assert set(recorded) == {o["OutsideIpAddress"] for o in options}
    for option in options:
        tunnel = recorded[option["OutsideIpAddress"]]
        assert option["TunnelInsideCidr"] == tunnel.inside_cidr
        assert option["PreSharedKey"] == tunnel.psk
        assert [v["Value"] for v in option["IkeVersions"]] == [profile.ike_version]
        assert [v["Value"] for v in option["Phase1EncryptionAlgorithms"]] == ["AES256"]
        assert [v["Value"] for v in option["Phase2IntegrityAlgorithms"]] == ["SHA2-256"]
        assert [v["Value"] for v in option["Phase1DHGroupNumbers"]] == [14]
        assert option["DpdTimeoutAction"] == profile.dpd_timeout_action
        assert option["StartupAction"] == profile.startup_action
        # AWS's maintenance waits for the customer's schedule; IKE and BGP logs go to
        # the region's log group.
        assert option["EnableTunnelLifecycleControl"] is True
        logs = option["LogOptions"]["CloudWatchLogOptions"]
        assert logs["LogEnabled"] is True and logs["BgpLogEnabled"] is True
        assert logs["LogGroupArn"] == logs["BgpLogGroupArn"]
        assert logs["LogGroupArn"].endswith(f":log-group:{settings.TUNNEL_LOG_GROUP}")
        network = ipaddress.ip_network(tunnel.inside_cidr)
        assert network.prefixlen == 30 and network.subnet_of(ipaddress.ip_network("169.254.0.0/16"))
    assert {t.position for t in recorded.values()} == {1, 2}
    assert len({t.inside_cidr for t in recorded.values()}) == 2
    assert len({t.psk for t in recorded.values()}) == 2


def test_static_with_nat(aws_sandbox, run_jobs):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.10.0/24", "10.50.0.0/16"],
        bgp_asn=None,
        advertised_prefixes=[],
        nat_wanted=True,
        ike_version="ikev1",
    )
    request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    ec2 = aws_sandbox.ec2("us-east-1")

    (vpc,) = _by_tag(ec2.describe_vpcs()["Vpcs"], request.pk)
    assert vpc["CidrBlock"] == request.vpc_cidr
    subnets = _by_tag(ec2.describe_subnets()["Subnets"], request.pk)
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        str(n) for n in ipaddress.ip_network(request.vpc_cidr).subnets(prefixlen_diff=1)
    )
    (connection,) = _by_tag(ec2.describe_vpn_connections()["VpnConnections"], request.pk)
    assert connection["Options"]["StaticRoutesOnly"] is True
    assert sorted(r["DestinationCidrBlock"] for r in connection["Routes"]) == sorted(
        request.static_subnets
    )
    _check_tunnels(request, connection)
    (gateway,) = _by_tag(ec2.describe_customer_gateways()["CustomerGateways"], request.pk)
    assert gateway["IpAddress"] == request.customer_gateway_ip
    (vgw,) = _by_tag(ec2.describe_vpn_gateways()["VpnGateways"], request.pk)
    assert vgw["AmazonSideAsn"] == request.amazon_side_asn
    assert [a["State"] for a in vgw["VpcAttachments"]] == ["attached"]

    private_table = AwsResource.objects.get(
        request=request, role=AwsResourceRole.PRIVATE_ROUTE_TABLE
    )
    (table,) = ec2.describe_route_tables(RouteTableIds=[private_table.resource_id])["RouteTables"]
    routes = {r["DestinationCidrBlock"]: r for r in table["Routes"]}
    for cidr in request.static_subnets:
        assert routes[cidr]["GatewayId"] == vgw["VpnGatewayId"]
    nat = AwsResource.objects.get(request=request, role=AwsResourceRole.NAT_GATEWAY)
    assert routes["0.0.0.0/0"]["NatGatewayId"] == nat.resource_id
    (nat_gateway,) = ec2.describe_nat_gateways(NatGatewayIds=[nat.resource_id])["NatGateways"]
    assert nat_gateway["State"] == "available"
    public_ip = nat_gateway["NatGatewayAddresses"][0]["PublicIp"]
    eip = AwsResource.objects.get(request=request, role=AwsResourceRole.ELASTIC_IP)
    assert eip.details["public_ip"] == public_ip


def test_bgp_without_nat(aws_sandbox, run_jobs):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="eu-west-2",
        routing=Routing.BGP,
        bgp_asn=65123,
        advertised_prefixes=["10.77.0.0/16"],
        nat_wanted=False,
    )
    request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    ec2 = aws_sandbox.ec2("eu-west-2")
    (connection,) = _by_tag(ec2.describe_vpn_connections()["VpnConnections"], request.pk)
    assert connection["Options"]["StaticRoutesOnly"] is False
    assert connection.get("Routes", []) == []
    _check_tunnels(request, connection)
    (gateway,) = _by_tag(ec2.describe_customer_gateways()["CustomerGateways"], request.pk)
    assert gateway["BgpAsn"] == "65123"
    assert request.amazon_side_asn != 65123
    private_table = AwsResource.objects.get(
        request=request, role=AwsResourceRole.PRIVATE_ROUTE_TABLE
    )
    (table,) = ec2.describe_route_tables(RouteTableIds=[private_table.resource_id])["RouteTables"]
    assert [p["GatewayId"] for p in table["PropagatingVgws"]] == [connection["VpnGatewayId"]]
    assert not _by_tag(ec2.describe_nat_gateways()["NatGateways"], request.pk)
    assert not _by_tag(ec2.describe_internet_gateways()["InternetGateways"], request.pk)
    assert not ipaddress.ip_network(request.vpc_cidr).overlaps(ipaddress.ip_network("10.77.0.0/16"))


def test_each_step_reads_the_resources_once_and_writes_only_what_changed(aws_sandbox, run_jobs):
    """A step reads all the request's resources in one query, never one role at a time,
    and writes a resource again only when AWS says something new: the connection step
    runs twice (its VPN connection is pending at first), and records the connection
    twice but its unchanged customer gateway once."""
    request = VpnRequestFactory(stage=Stage.SUBMITTED, routing=Routing.BGP, nat_wanted=False)
    with CaptureQueriesContext(db) as queries:
        request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    resource_sql = [q["sql"] for q in queries if '"vpn_awsresource"' in q["sql"]]
    written = [sql for sql in resource_sql if sql.startswith("INSERT")]
    assert sum("'vpn_connection'" in sql for sql in written) == 2
    assert sum("'customer_gateway'" in sql for sql in written) == 1
    reads = [sql for sql in resource_sql if sql.startswith("SELECT")]
    assert reads and not [sql for sql in reads if '"vpn_awsresource"."role" =' in sql]


def test_one_tunnel_setup_still_gets_two_tunnels_with_one_monitored(aws_sandbox, run_jobs):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", tunnel_count=1)
    request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    (connection,) = _by_tag(
        aws_sandbox.ec2("us-east-1").describe_vpn_connections()["VpnConnections"], request.pk
    )
    _check_tunnels(request, connection)
    assert [t.monitored for t in request.tunnels.order_by("position")] == [True, False]


def test_decommissioning_leaves_nothing_tagged(aws_sandbox, run_jobs):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.20.0/24"],
        nat_wanted=True,
    )
    request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    from vpn import aws

    assert len(aws.tagged_resources("us-east-1", request_id=request.pk)) == 9

    request_move(request_id=request.pk, to_stage=Stage.DECOMMISSIONING)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.DECOMMISSIONED, request.failure_message
    assert aws.tagged_resources("us-east-1", request_id=request.pk) == {}
    assert not request.resources.filter(deleted_at__isnull=True).exists()
    ec2 = aws_sandbox.ec2("us-east-1")
    assert not _by_tag(ec2.describe_vpcs()["Vpcs"], request.pk)
    assert not [a for a in ec2.describe_addresses()["Addresses"] if _tag(a, "vpn-portal:request")]


def test_a_permanent_error_stops_the_request_and_retry_completes_it(aws_sandbox, run_jobs, se):
    from vpn.services.stages import request_retry

    # AWS reserves ASN 7224 in every region: CreateCustomerGateway refuses it.
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", bgp_asn=7224, owner=se)
    request = _approve_and_run(request, run_jobs)
    assert request.stage == Stage.FAILED
    assert request.failed_stage == Stage.CONNECTION
    assert "Step 3" in request.failure_message
    assert "InvalidParameterValue" in request.failure_message

    VpnRequest.objects.filter(pk=request.pk).update(bgp_asn=65020)
    request_retry(request_id=request.pk)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    # Exactly one VPC: the retry reused what step 1 had made.
    assert len(_by_tag(aws_sandbox.ec2("us-east-1").describe_vpcs()["Vpcs"], request.pk)) == 1


def test_requests_provision_through_throttling_and_server_errors(aws_sandbox, run_jobs, settings):
    # Under sustained throttling, adaptive mode (the portal's default) rightly slows the
    # client to a crawl, which would take minutes here; standard mode retries the same
    # errors with the same backoff without the client-side rate limit.
    settings.AWS_RETRY_MODE = "standard"
    # 8 requests keep the suite short; bench/bench_provisioning.py runs 20 the same way.
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "*", "error": "throttle", "rate": 0.3}
    )
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "*", "error": "server", "rate": 0.05}
    )
    requests = [
        VpnRequestFactory(
            stage=Stage.SUBMITTED,
            region="us-east-1",
            routing=Routing.STATIC if i % 2 else Routing.BGP,
            static_subnets=[f"192.168.{i}.0/24"] if i % 2 else [],
            nat_wanted=i % 3 == 0,
        )
        for i in range(8)
    ]
    for request in requests:
        request_move(request_id=request.pk, to_stage=Stage.APPROVED)
    assert run_jobs() == 0
    stages = list(VpnRequest.objects.values_list("stage", "failure_message"))
    assert stages == [(Stage.AWAITING_CUSTOMER, "")] * 8
    faults = aws_sandbox.control("GET", "/_sandbox/stats")["faults"]
    injected = sum(sum(kinds.values()) for kinds in faults.values())
    assert injected > 40
