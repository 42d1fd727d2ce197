"""`seed_demo`: demo users with printed credentials, and demo requests in many stages that
are true in the sandbox: what each records exists there, its tunnels are the sandbox's,
and retrying the failed one works.

The demo is built by the real provisioning jobs and status refresh (in the command's
process), so these tests need the sandbox and see real jobs, AWS calls and PDFs.
"""

import ipaddress
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from tests.factories import VpnRequestFactory
from vpn.choices import OPERATIONAL_STAGES, AwsResourceRole, Stage
from vpn.models import (
    AwsResource,
    PendingMaintenance,
    StageTransition,
    TunnelStatusChange,
    VpnRequest,
)
from vpn.services.stages import request_move, request_retry
from vpn.services.status import stage_for, status_refresh

pytestmark = pytest.mark.django_db(transaction=True)

# How to look up one resource of each kind with a boto3 client of the test's own.
_DESCRIBE = {
    AwsResourceRole.VPC: ("describe_vpcs", "VpcIds", "Vpcs"),
    AwsResourceRole.PRIVATE_SUBNET: ("describe_subnets", "SubnetIds", "Subnets"),
    AwsResourceRole.PUBLIC_SUBNET: ("describe_subnets", "SubnetIds", "Subnets"),
    AwsResourceRole.PRIVATE_ROUTE_TABLE: ("describe_route_tables", "RouteTableIds", "RouteTables"),
    AwsResourceRole.PUBLIC_ROUTE_TABLE: ("describe_route_tables", "RouteTableIds", "RouteTables"),
    AwsResourceRole.VPN_GATEWAY: ("describe_vpn_gateways", "VpnGatewayIds", "VpnGateways"),
    AwsResourceRole.CUSTOMER_GATEWAY: (
        "describe_customer_gateways",
        "CustomerGatewayIds",
        "CustomerGateways",
    ),
    AwsResourceRole.VPN_CONNECTION: (
        "describe_vpn_connections",
        "VpnConnectionIds",
        "VpnConnections",
    ),
    AwsResourceRole.INTERNET_GATEWAY: (
        "describe_internet_gateways",
        "InternetGatewayIds",
        "InternetGateways",
    ),
    AwsResourceRole.ELASTIC_IP: ("describe_addresses", "AllocationIds", "Addresses"),
    AwsResourceRole.NAT_GATEWAY: ("describe_nat_gateways", "NatGatewayIds", "NatGateways"),
}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _in_sandbox(sandbox, resource: AwsResource) -> dict:
    """The resource as the sandbox describes it (fails the test if it is not there)."""
    method, ids, key = _DESCRIBE[resource.role]
    (found,) = getattr(sandbox.ec2(resource.region), method)(**{ids: [resource.resource_id]})[key]
    assert found.get("State", "available") not in ("deleting", "deleted"), resource
    return found


def _demo(name: str) -> VpnRequest:
    return VpnRequest.objects.get(customer__name=name)


def _assert_true_in_sandbox(sandbox, requests=None) -> None:
    """Every request's recorded resources exist, and its tunnels and stage are AWS's."""
    for request in VpnRequest.objects.all() if requests is None else requests:
        for resource in request.resources.filter(deleted_at__isnull=True):
            found = _in_sandbox(sandbox, resource)
            if resource.role == AwsResourceRole.ELASTIC_IP:
                address = ipaddress.ip_address(found["PublicIp"])
                assert address in ipaddress.ip_network("198.51.100.0/24"), address
        if request.stage not in OPERATIONAL_STAGES:
            continue
        connection = _in_sandbox(
            sandbox, request.resources.get(role=AwsResourceRole.VPN_CONNECTION)
        )
        reported = {t["OutsideIpAddress"]: t for t in connection["VgwTelemetry"]}
        tunnels = list(request.tunnels.all())
        assert {t.outside_ip for t in tunnels} == set(reported), request.reference
        for tunnel in tunnels:
            aws = reported[tunnel.outside_ip]
            assert (tunnel.status, tunnel.last_status_change) == (
                aws["Status"],
                aws["LastStatusChange"],
            ), (request.reference, tunnel.position)
        statuses = {t.position: t.status for t in tunnels}
        assert request.stage == stage_for(
            stage=request.stage, tunnel_count=request.tunnel_count, statuses=statuses
        ), request.reference


def _assert_a_month_of_history() -> None:
    """The VPNs in service went live a month ago; each tunnel's history runs from then to
    its current status, and every request's stage history is in order."""
    now = timezone.now()
    for name in ("Northwind Traders", "Contoso Manufacturing", "Fabrikam Health"):
        request = _demo(name)
        went_live = request.transitions.filter(to_stage=Stage.LIVE).earliest("created_at")
        assert now - went_live.created_at > timedelta(days=29), name
        for tunnel in request.tunnels.all():
            changes = list(tunnel.status_changes.order_by("changed_at", "pk"))
            assert now - changes[0].changed_at > timedelta(days=29)
            assert len(changes) >= 4, (name, tunnel.position)  # up, and outages since
            assert (changes[-1].new_status, changes[-1].changed_at) == (
                tunnel.status,
                tunnel.last_status_change,
            )
            assert [c.old_status for c in changes[1:]] == [c.new_status for c in changes[:-1]]
    # Everything recorded of a request happened in order: the stage history too.
    for request in VpnRequest.objects.all():
        times = list(request.transitions.order_by("pk").values_list("created_at", flat=True))
        assert times == sorted(times), request.reference
        assert all(time <= now for time in times)


def test_the_demo_is_true_in_the_sandbox(aws_sandbox, rq_queue, run_jobs, mailoutbox):
    out = _seed()
    assert "log in as admin / admin" in out
    # Login throttling needs the request a login comes with.
    login = RequestFactory().post("/login/")
    assert authenticate(login, username="admin", password="admin").is_superuser
    assert authenticate(login, username="se", password="se").has_perm("vpn.approve_vpnrequest")
    stages = set(VpnRequest.objects.values_list("stage", flat=True))
    assert {
        "live",
        "degraded",
        "down",
        "awaiting_customer",
        "failed",
        "approved",
        "submitted",
        "changes_requested",
        "draft",
        "decommissioned",
    } == stages
    _assert_true_in_sandbox(aws_sandbox)
    live = _demo("Northwind Traders")
    assert live.resources.filter(deleted_at__isnull=True).count() == 11  # with its NAT
    assert live.config_packs.exists()
    # No two tunnels share an outside IP; a VPN made after the demo gets new ones too.
    outside = list(VpnRequest.objects.values_list("tunnels__outside_ip", flat=True))
    outside = [ip for ip in outside if ip]
    assert len(outside) == len(set(outside)) == 2 * 5
    # The demo emails nobody, and leaves no change waiting to be weighed for alerts.
    assert mailoutbox == []
    assert not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists()
    _assert_a_month_of_history()

    # Only the request shown provisioning waits for the worker, which provisions it.
    provisioning = _demo("Adventure Works")
    assert provisioning.stage == Stage.APPROVED
    assert [job.args for job in rq_queue.get_jobs()] == [(provisioning.pk,)]
    new = VpnRequestFactory(stage=Stage.SUBMITTED, region="eu-west-2", nat_wanted=False)
    request_move(request_id=new.pk, to_stage=Stage.APPROVED)
    assert run_jobs() == 0
    provisioning.refresh_from_db()
    assert provisioning.stage == Stage.AWAITING_CUSTOMER, provisioning.failure_message
    assert not {t.outside_ip for t in new.tunnels.all()} & set(outside)

    # AWS has endpoint maintenance pending on the live demo's tunnel 2, as the real
    # maintenance check read it from the sandbox.
    (pending,) = PendingMaintenance.objects.filter(cleared_at__isnull=True)
    assert (pending.tunnel.request, pending.tunnel.position) == (_demo("Northwind Traders"), 2)
    assert timedelta(days=8) < pending.auto_applied_after - timezone.now() <= timedelta(days=9)

    # Seeding again changes nothing: the sandbox still has it all.
    count, transitions = VpnRequest.objects.count(), StageTransition.objects.count()
    assert "Demo data ready: 0 new request(s)." in _seed()
    assert (VpnRequest.objects.count(), StageTransition.objects.count()) == (count, transitions)
    assert list(PendingMaintenance.objects.all()) == [pending]
    _assert_true_in_sandbox(aws_sandbox)


def test_the_failed_demo_retries_and_a_restarted_sandbox_gets_the_demo_again(
    aws_sandbox, rq_queue, run_jobs
):
    _seed()
    failed = _demo("Wide World Importers")
    assert failed.stage == Stage.FAILED
    assert "VpnConnectionLimitExceeded" in failed.failure_message
    gateway = failed.resources.get(role=AwsResourceRole.CUSTOMER_GATEWAY)

    request_retry(request_id=failed.pk)
    assert run_jobs() == 0

    failed.refresh_from_db()
    assert failed.stage == Stage.AWAITING_CUSTOMER, failed.failure_message
    assert failed.resources.get(role=AwsResourceRole.CUSTOMER_GATEWAY) == gateway
    ec2 = aws_sandbox.ec2(failed.region)
    in_region = {
        g["CustomerGatewayId"]
        for g in ec2.describe_customer_gateways()["CustomerGateways"]
        if g["State"] == "available"
    }
    recorded = set(
        AwsResource.objects.filter(
            role=AwsResourceRole.CUSTOMER_GATEWAY, region=failed.region, deleted_at__isnull=True
        ).values_list("resource_id", flat=True)
    )
    assert in_region == recorded == {gateway.resource_id}
    status_refresh()  # as the periodic refresh does: its tunnels are read from AWS
    _assert_true_in_sandbox(aws_sandbox)

    # A second `make run`: the sandbox starts empty, the database keeps the demo (and a
    # VPN of the engineer's own).
    mine = VpnRequestFactory(stage=Stage.SUBMITTED, region="eu-west-1", nat_wanted=False)
    request_move(request_id=mine.pk, to_stage=Stage.APPROVED)
    assert run_jobs() == 0  # the worker provisions it, and the request shown provisioning
    before = dict(VpnRequest.objects.values_list("customer__name", "pk"))
    aws_sandbox.control("POST", "/_sandbox/reset")  # what a restart leaves: nothing

    out = _seed()

    assert "Made again, as the sandbox no longer had their AWS resources:" in out
    assert f"no longer in the sandbox (it keeps nothing between runs): {mine.reference}." in out
    demo = VpnRequest.objects.exclude(pk=mine.pk)
    after = dict(demo.values_list("customer__name", "pk"))
    assert set(after) == set(before) - {mine.customer.name}
    made_again = {name for name in after if after[name] != before[name]}
    # Those with AWS resources; the decommissioned one has none left to lose.
    assert made_again == {
        "Northwind Traders",
        "Contoso Manufacturing",
        "Fabrikam Health",
        "Tailspin Logistics",
        "Wide World Importers",
        "Adventure Works",
    }
    assert not demo.filter(pk__in=before.values()).exclude(pk__in=after.values()).exists()
    _assert_true_in_sandbox(aws_sandbox, demo)


def test_seed_demo_says_it_needs_the_sandbox_and_writes_nothing(settings, django_user_model):
    settings.AWS_ENDPOINT_URL = None
    with pytest.raises(CommandError, match="AWS_ENDPOINT_URL is not set"):
        _seed()
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(
        CommandError, match=re.escape("No AWS sandbox answers at http://127.0.0.1:9")
    ):
        _seed()
    assert not VpnRequest.objects.exists()
    assert not django_user_model.objects.exists()
