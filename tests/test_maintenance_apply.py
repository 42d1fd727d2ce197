"""Applying AWS's pending endpoint maintenance as a change, one tunnel at a time: "Apply
now" on the request page, `vpn_maintenance ID --apply`, and the customer's window, which
starts it inside and never outside. Also tunnel lifecycle control turned on for a VPN
that lacks it. The sandbox's telemetry and its maintenance records are the witness."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.change_support import all_tunnels_down_since, aws_connection, hold, provisioned_vpn
from tests.status_support import connection_id
from vpn import aws
from vpn.choices import ChangeKind, ChangeState
from vpn.models import PendingMaintenance, VpnChange
from vpn.services.changes import change_apply, change_propose
from vpn.services.intake import intake_link_create
from vpn.services.maintenance import (
    WINDOW_LABEL,
    maintenance_refresh,
    maintenance_window_set,
)

pytestmark = pytest.mark.django_db(transaction=True)

# A Wednesday, 02:30 UTC: inside a Wednesday 02:00-04:00 UTC window; a day later, outside.
INSIDE = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
OUTSIDE = INSIDE + timedelta(days=1)


def schedule(sandbox, request, position: int) -> None:
    """AWS schedules endpoint maintenance on the tunnel, to apply itself in five days."""
    sandbox.control(
        "POST",
        "/_sandbox/tunnel-maintenance",
        {
            "vpn_connection_id": connection_id(request),
            "outside_ip": request.tunnels.get(position=position).outside_ip,
            "description": "Endpoint software update",
            "auto_applied_after": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
        },
    )


def pending_in_aws(request) -> dict[int, str]:
    """What AWS (the sandbox) reports pending, by tunnel position."""
    return {
        tunnel.position: aws.vpn_tunnel_replacement_status(
            request.region, vpn_connection_id=connection_id(request), outside_ip=tunnel.outside_ip
        ).pending
        for tunnel in request.tunnels.order_by("position")
    }


def open_rows(request) -> list[int]:
    """The tunnels the portal still shows maintenance pending on."""
    return sorted(
        PendingMaintenance.objects.filter(
            tunnel__request=request, cleared_at__isnull=True
        ).values_list("tunnel__position", flat=True)
    )


def maintained_vpn(sandbox, run_jobs, positions=(1, 2)):
    """A live two-tunnel VPN with AWS's maintenance pending (and read) on `positions`."""
    request = provisioned_vpn(sandbox, run_jobs)
    for position in positions:
        schedule(sandbox, request, position)
    maintenance_refresh(now=OUTSIDE)
    assert open_rows(request) == list(positions)
    return request


def test_apply_now_replaces_one_tunnel_at_a_time_and_clears_the_maintenance(
    aws_sandbox, run_jobs, ops_client
):
    request = maintained_vpn(aws_sandbox, run_jobs)
    page_url = reverse("vpn:request_detail", args=[request.pk])
    page = ops_client.get(page_url).content.decode()
    propose_url = reverse("vpn:change_propose_maintenance", args=[request.pk])
    assert f'action="{propose_url}"' in page and "Apply now" in page
    since = datetime.now(UTC)

    # The button proposes; the change's page states the impact before anything is applied.
    response = ops_client.post(propose_url, {"reason": "AWS's pending endpoint maintenance"})
    change = VpnChange.objects.get(request=request, kind=ChangeKind.MAINTENANCE)
    assert response.status_code == 302 and response.url == change.get_absolute_url()
    assert change.state == ChangeState.PROPOSED
    assert change.after["tunnels"] == [1, 2]
    change_page = ops_client.get(change.get_absolute_url()).content.decode()
    assert "AWS replaces the endpoint of each tunnel" in change_page
    assert "the second changes only once the first is UP again" in change_page
    assert not change.calls.exists()
    # Applying without confirming the impact is refused; confirmed, it runs.
    apply_url = reverse("vpn:change_apply_maintenance", args=[change.pk])
    ops_client.post(apply_url)
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED
    ops_client.post(apply_url, {"confirm": "on"})
    assert run_jobs() == 0

    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert "AWS reports no maintenance pending any more" in change.message
    record = all_tunnels_down_since(aws_sandbox, request, since)
    assert record["all_down"] is False, record
    replaced = list(change.calls.filter(operation="ReplaceVpnTunnel").values_list("tunnel", "ok"))
    assert replaced == [(1, True), (2, True)]
    assert all(
        call.parameters["apply_pending_maintenance"] is True
        for call in change.calls.filter(operation="ReplaceVpnTunnel")
    )
    # Tunnel 2 was replaced only after tunnel 1 was seen again.
    calls = list(change.calls.values_list("operation", "tunnel"))
    between = calls[calls.index(("ReplaceVpnTunnel", 1)) : calls.index(("ReplaceVpnTunnel", 2))]
    assert ("DescribeVpnConnections", None) in between
    assert pending_in_aws(request) == {1: "", 2: ""}
    assert open_rows(request) == []
    page = ops_client.get(page_url).content.decode()
    assert "maintenance-pending" not in page and "Apply now" not in page
    assert change.pack_versions == []  # nothing changes on the customer's side


def test_a_tunnel_that_does_not_come_back_stops_the_maintenance_before_tunnel_2(
    aws_sandbox, run_jobs, ops, settings
):
    settings.CHANGE_TUNNEL_WAIT_SECONDS = 3  # three checks, one per PROVISION_POLL_SECONDS
    request = maintained_vpn(aws_sandbox, run_jobs)
    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.MAINTENANCE,
        values={},
        reason="AWS's pending endpoint maintenance",
        user=ops,
    )
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs(scheduled=False) == 0  # tunnel 1 replaced; its check is scheduled
    change.refresh_from_db()
    assert (change.state, change.tunnel) == (ChangeState.WAITING_FOR_TUNNEL, 1)
    hold(aws_sandbox, request, 1)  # tunnel 1 does not come back
    assert run_jobs() == 0

    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    assert "tunnel 1 did not come back UP within 3 seconds (3 checks)" in change.message
    assert "Tunnel 2 was not touched" in change.message
    assert not change.calls.filter(operation="ReplaceVpnTunnel", tunnel=2).exists()
    assert pending_in_aws(request) == {1: "", 2: "Endpoint software update"}
    # The change stopped before its end: the portal learns of tunnel 1 at the next read.
    assert open_rows(request) == [1, 2]
    maintenance_refresh(now=OUTSIDE)
    assert open_rows(request) == [2]


def _window(request) -> None:
    maintenance_window_set(
        request_id=request.pk,
        weekday=INSIDE.weekday(),
        start_hour=2,
        end_hour=4,
        time_zone="UTC",
        chosen_by="customer",
    )


def test_the_window_applies_the_maintenance_when_it_is_open(aws_sandbox, run_jobs):
    request = maintained_vpn(aws_sandbox, run_jobs)
    _window(request)
    since = datetime.now(UTC)

    run = maintenance_refresh(now=INSIDE)

    change = VpnChange.objects.get(request=request, kind=ChangeKind.MAINTENANCE)
    assert run.started == [change.reference]
    assert change.applied_label == WINDOW_LABEL
    assert change.state == ChangeState.APPLYING
    # A change under way: the next read starts no second one.
    assert maintenance_refresh(now=INSIDE).started == []
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert all_tunnels_down_since(aws_sandbox, request, since)["all_down"] is False
    assert pending_in_aws(request) == {1: "", 2: ""}
    assert open_rows(request) == []
    # Nothing pending any more: the window starts nothing more.
    assert maintenance_refresh(now=INSIDE).started == []
    assert VpnChange.objects.filter(request=request).count() == 1


def test_the_window_never_applies_the_maintenance_outside_it(aws_sandbox, run_jobs):
    request = maintained_vpn(aws_sandbox, run_jobs)
    _window(request)

    for moment in (OUTSIDE, INSIDE - timedelta(minutes=31), INSIDE + timedelta(hours=2)):
        assert maintenance_refresh(now=moment).started == []
    assert run_jobs() == 0

    assert not VpnChange.objects.filter(request=request).exists()
    assert pending_in_aws(request) == {1: "Endpoint software update", 2: "Endpoint software update"}
    assert open_rows(request) == [1, 2]


def test_vpn_maintenance_apply_runs_the_same_change(aws_sandbox, run_jobs):
    request = maintained_vpn(aws_sandbox, run_jobs, positions=(2,))
    out = StringIO()

    call_command("vpn_maintenance", str(request.pk), "--apply", stdout=out)

    change = VpnChange.objects.get(request=request, kind=ChangeKind.MAINTENANCE)
    assert f"{change.reference} (AWS's pending maintenance on tunnel 2)" in out.getvalue()
    assert "Impact: AWS replaces the endpoint" in out.getvalue()
    assert change.applied_label == "vpn_maintenance"
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert list(change.calls.filter(operation="ReplaceVpnTunnel").values_list("tunnel")) == [(2,)]
    assert pending_in_aws(request) == {1: "", 2: ""}
    assert open_rows(request) == []
    # Nothing pending: refused, and nothing recorded.
    with pytest.raises(CommandError, match="no pending maintenance"):
        call_command("vpn_maintenance", str(request.pk), "--apply", stdout=StringIO())
    with pytest.raises(CommandError, match="--sync goes with --apply"):
        call_command("vpn_maintenance", str(request.pk), "--sync", stdout=StringIO())
    assert VpnChange.objects.filter(request=request).count() == 1


def test_lifecycle_control_is_turned_on_for_an_existing_vpn(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    ec2 = aws_sandbox.ec2(request.region)
    # A VPN from before lifecycle control was the default.
    for tunnel in request.tunnels.order_by("position"):
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=connection_id(request),
            VpnTunnelOutsideIpAddress=tunnel.outside_ip,
            TunnelOptions={"EnableTunnelLifecycleControl": False},
        )
        aws_connection(aws_sandbox, request)  # the sandbox settles the modification
    options = aws_connection(aws_sandbox, request)["Options"]["TunnelOptions"]
    assert [t["EnableTunnelLifecycleControl"] for t in options] == [False, False]
    since = datetime.now(UTC)

    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.LIFECYCLE_CONTROL,
        values={},
        reason="Maintenance on our schedule",
        user=ops,
    )
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs() == 0

    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    options = aws_connection(aws_sandbox, request)["Options"]["TunnelOptions"]
    assert [t["EnableTunnelLifecycleControl"] for t in options] == [True, True]
    assert list(
        change.calls.filter(operation="ModifyVpnTunnelOptions").values_list("tunnel", flat=True)
    ) == [1, 2]
    assert all_tunnels_down_since(aws_sandbox, request, since)["all_down"] is False


def test_apply_now_is_offered_only_with_maintenance_pending_and_not_to_the_customer(
    aws_sandbox, run_jobs, se_client
):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    page_url = reverse("vpn:request_detail", args=[request.pk])
    assert 'id="maintenance-apply-now"' not in se_client.get(page_url).content.decode()
    schedule(aws_sandbox, request, 1)
    maintenance_refresh(now=OUTSIDE)
    page = se_client.get(page_url).content.decode()
    assert 'id="maintenance-apply-now"' in page
    assert 'class="maintenance-apply"' in page
    token = intake_link_create(request_id=request.pk, send_email=False).token
    customer = Client().get(f"/intake/{token}/").content.decode()
    assert "maintenance-pending" in customer and "maintenance-apply-now" not in customer
