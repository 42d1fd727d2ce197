"""AWS's endpoint maintenance: the periodic read of every watched tunnel's pending
maintenance, one email per announcement and recipient with AWS's deadline, and the
maintenance shown on the request page, the dashboard (its filter) and the customer's
link, and by `vpn_maintenance`."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.mail_support import recipients
from tests.status_support import connection_id, flip, live_vpn
from vpn import aws, events
from vpn.choices import Stage
from vpn.models import PendingMaintenance
from vpn.services.intake import intake_link_create
from vpn.services.maintenance import maintenance_refresh
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db


def schedule(sandbox, request, position, *, days=5, description=None) -> datetime:
    """Schedule maintenance on the request's tunnel in the sandbox; returns the deadline."""
    deadline = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    payload = {
        "vpn_connection_id": connection_id(request),
        "outside_ip": request.tunnels.get(position=position).outside_ip,
        "auto_applied_after": deadline.isoformat(),
    }
    if description:
        payload["description"] = description
    sandbox.control("POST", "/_sandbox/tunnel-maintenance", payload)
    return deadline


def up_vpn(sandbox, **fields):
    request = live_vpn(sandbox, as_provisioned=True, **fields)
    status_refresh()
    for position in (1, 2):
        flip(sandbox, request, position, "UP", accepted_route_count=2)
    status_refresh()
    return request


def test_pending_maintenance_is_emailed_once_and_shown_everywhere(
    aws_sandbox, se, se_client, mailoutbox
):
    request = up_vpn(aws_sandbox, owner=se, contact_email="noc@customer.example")
    quiet = up_vpn(aws_sandbox)
    deadline = schedule(aws_sandbox, request, 1, description="Endpoint software update")

    run = maintenance_refresh()

    assert (run.tunnels_read, run.announced, run.emails_sent, run.errors) == (4, 1, 2, {})
    assert sorted(recipients(mailoutbox)) == sorted([se.email, "noc@customer.example"])
    for message in mailoutbox:
        assert "maintenance pending on tunnel 1" in message.subject
        assert "Endpoint software update" in message.body
        assert deadline.strftime("%Y-%m-%d %H:%M") in message.body

    # Read again (and again): still one announcement, no email more.
    maintenance_refresh()
    maintenance_refresh()
    assert len(mailoutbox) == 2
    assert PendingMaintenance.objects.filter(cleared_at__isnull=True).count() == 1

    page = se_client.get(reverse("vpn:request_detail", args=[request.pk])).content.decode()
    assert 'class="maintenance-pending" data-tunnel="1"' in page
    assert deadline.strftime("%Y-%m-%d %H:%M") in page
    dashboard = se_client.get(reverse("vpn:dashboard"), {"maintenance": "1"}).content.decode()
    assert request.reference in dashboard
    assert quiet.reference not in dashboard
    assert "maintenance pending</span>" in dashboard
    token = intake_link_create(request_id=request.pk, send_email=False).token
    customer = Client().get(f"/intake/{token}/").content.decode()
    assert 'class="maintenance-pending" data-tunnel="1"' in customer
    assert "Endpoint software update" in customer
    assert deadline.strftime("%Y-%m-%d %H:%M") in customer

    out = StringIO()
    call_command("vpn_maintenance", str(request.pk), "--json", stdout=out)
    first, second = json.loads(out.getvalue())["tunnels"]
    assert first["pending"] == "Endpoint software update"
    assert datetime.fromisoformat(first["auto_applied_after"]) == deadline
    assert second["pending"] is None
    text = StringIO()
    call_command("vpn_maintenance", str(request.pk), stdout=text)
    assert "Endpoint software update" in text.getvalue()
    assert "Maintenance window: none chosen" in text.getvalue()


def test_applied_maintenance_is_cleared_and_the_next_one_announced_again(
    aws_sandbox, se, se_client, mailoutbox
):
    request = up_vpn(aws_sandbox, owner=se)
    schedule(aws_sandbox, request, 2)
    maintenance_refresh()
    assert len(mailoutbox) == 2

    aws.vpn_tunnel_replace(
        request.region,
        vpn_connection_id=connection_id(request),
        outside_ip=request.tunnels.get(position=2).outside_ip,
        apply_pending_maintenance=True,
    )
    run = maintenance_refresh()

    assert run.cleared == 1
    (row,) = PendingMaintenance.objects.all()
    assert row.cleared_at is not None
    assert request.tunnels.get(position=2).maintenance_last_applied is not None
    dashboard = se_client.get(reverse("vpn:dashboard"), {"maintenance": "1"}).content.decode()
    assert request.reference not in dashboard

    schedule(aws_sandbox, request, 2, days=9)
    maintenance_refresh()
    assert PendingMaintenance.objects.count() == 2
    assert len(mailoutbox) == 4  # a new announcement is news again


def test_a_rescheduled_deadline_is_shown_not_emailed_again(aws_sandbox, se, mailoutbox):
    request = up_vpn(aws_sandbox, owner=se)
    schedule(aws_sandbox, request, 1, days=3)
    maintenance_refresh()
    later = schedule(aws_sandbox, request, 1, days=6)
    maintenance_refresh()
    (row,) = PendingMaintenance.objects.all()
    assert row.auto_applied_after == later
    assert len(mailoutbox) == 2


def test_a_failed_read_keeps_what_was_known(aws_sandbox, settings, se, mailoutbox):
    settings.AWS_MAX_ATTEMPTS = 0
    request = up_vpn(aws_sandbox, owner=se)
    schedule(aws_sandbox, request, 1)
    maintenance_refresh()
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "GetVpnTunnelReplacementStatus", "error": "server"}
    )

    run = maintenance_refresh()

    assert run.tunnels_read == 0 and len(run.errors) == 2
    assert PendingMaintenance.objects.filter(cleared_at__isnull=True).count() == 1


def test_only_watched_monitored_tunnels_are_read(aws_sandbox):
    single = up_vpn(aws_sandbox, tunnel_count=1)
    live_vpn(aws_sandbox, stage=Stage.NAT)  # still being built: not watched
    schedule(aws_sandbox, single, 2)  # the spare of a one-tunnel setup
    run = maintenance_refresh()
    assert run.tunnels_read == 1
    assert not PendingMaintenance.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_read_runs_as_a_job(aws_sandbox, run_jobs, se, mailoutbox):
    request = up_vpn(aws_sandbox, owner=se)
    schedule(aws_sandbox, request, 1)
    events.job_enqueue("vpn.jobs.maintenance_refresh")
    assert run_jobs() == 0
    assert PendingMaintenance.objects.filter(tunnel__request=request).count() == 1
    assert len(mailoutbox) == 2
