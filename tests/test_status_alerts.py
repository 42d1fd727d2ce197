"""Tunnel alerts: who the status refresh emails, when, how often and with what.

A monitored tunnel that goes down after having been up, and comes back up after an
alerted outage, emails the owning engineer and the customer's contact once; a change
is weighed only once the tunnel has kept its status for the hold-off, so a flap within
it emails nobody. Telemetry changes through the sandbox's control API and the refresh
runs in-process; time beyond the hold-off is simulated by moving the history rows'
`changed_at` back, rather than by sleeping.
"""

from datetime import timedelta

import pytest
from django.db.models import F

from tests.status_support import bring_live, connection_id, flip, history, live_vpn
from vpn.choices import Stage, TunnelStatus
from vpn.models import StageTransition, TunnelStatusChange, VpnRequest
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db

DOWN, UP = TunnelStatus.DOWN, TunnelStatus.UP
CONTACT = "noc@customer.example"


@pytest.fixture(autouse=True)
def no_hold_off(settings):
    """Weigh changes at once unless a test sets a hold-off of its own."""
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0


def stage_of(request: VpnRequest) -> str:
    """The request's stage as stored now."""
    request.refresh_from_db(fields=["stage"])
    return request.stage


def by_recipient(messages) -> dict[str, object]:
    """The emails by their one recipient (each alert email has exactly one)."""
    assert all(len(message.to) == 1 for message in messages)
    return {message.to[0]: message for message in messages}


def settle_pending(**ago) -> None:
    """Pretend the pending changes happened `ago` earlier (time passing, without sleep)."""
    TunnelStatusChange.objects.filter(notified_at__isnull=True).update(
        changed_at=F("changed_at") - timedelta(**ago)
    )


def test_alerts_through_an_outage_and_back(aws_sandbox, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    assert mailoutbox == []

    # Tunnel 1 goes down: the VPN runs on one tunnel.
    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    run = status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    assert history(request, 1)[2:] == [(UP, DOWN)]
    assert history(request, 2)[2:] == []
    change = TunnelStatusChange.objects.get(tunnel__request=request, old_status=UP)
    assert (change.message, change.alerted) == ("IPSEC IS DOWN", True)
    assert change.notified_at is not None
    assert (run.alerts_sent, len(mailoutbox)) == (2, 2)
    sent = by_recipient(mailoutbox)
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert request.reference in message.subject
        assert "tunnel 1" in message.subject
        assert "Traffic continues over the other tunnel" in message.body
    assert "IPSEC IS DOWN" in sent[se.email].body

    # Nothing changed: nothing is written and nobody is emailed again.
    rows = TunnelStatusChange.objects.count()
    run = status_refresh()
    assert (run.tunnels_changed, run.requests_moved, run.alerts_sent) == (0, 0, 0)
    assert TunnelStatusChange.objects.count() == rows
    assert len(mailoutbox) == 2

    # Tunnel 2 goes down too: the VPN is down.
    flip(aws_sandbox, request, 2, "DOWN")
    status_refresh()
    assert stage_of(request) == Stage.DOWN
    assert len(mailoutbox) == 4
    sent = by_recipient(mailoutbox[2:])
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert "tunnel 2" in message.subject
        assert "No tunnel is up" in message.body

    # Tunnel 1 comes back: degraded, and the outage people were told of is over.
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    assert len(mailoutbox) == 6
    sent = by_recipient(mailoutbox[4:])
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert "tunnel 1 is back up" in message.subject
        # Tunnel 2 is still down: the email must say so, not claim all is well.
        assert "Both tunnels" not in message.body
        assert "Tunnel 2 is still down" in message.body
        assert "IPSEC IS DOWN" not in message.body.split("Tunnel 2")[0]  # no stale message

    # Tunnel 2 comes back: live again.
    flip(aws_sandbox, request, 2, "UP")
    status_refresh()
    assert stage_of(request) == Stage.LIVE
    assert len(mailoutbox) == 8
    sent = by_recipient(mailoutbox[6:])
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert "tunnel 2 is back up" in message.subject
        assert "Both tunnels" in message.body

    moves = list(
        StageTransition.objects.filter(request=request)
        .order_by("pk")
        .values_list("from_stage", "to_stage", "actor_label")
    )
    assert moves == [
        (Stage.AWAITING_CUSTOMER, Stage.LIVE, "status refresh"),
        (Stage.LIVE, Stage.DEGRADED, "status refresh"),
        (Stage.DEGRADED, Stage.DOWN, "status refresh"),
        (Stage.DOWN, Stage.DEGRADED, "status refresh"),
        (Stage.DEGRADED, Stage.LIVE, "status refresh"),
    ]
    assert TunnelStatusChange.objects.filter(alerted=True).count() == 4


def test_flap_within_hold_off_emails_nobody(aws_sandbox, settings, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 3600

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()

    assert history(request, 1)[2:] == [(UP, DOWN), (DOWN, UP)]
    flap = TunnelStatusChange.objects.filter(tunnel__request=request).order_by("pk")[4:]
    assert [row.notified_at for row in flap] == [None, None]  # within the hold-off
    assert mailoutbox == []

    # The tunnel stays up past the hold-off: the flap is weighed, and it was nothing.
    settle_pending(hours=2)
    run = status_refresh()
    assert run.alerts_sent == 0
    assert mailoutbox == []
    assert not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists()
    assert not TunnelStatusChange.objects.filter(alerted=True).exists()

    # Later refreshes do not bring the flap back.
    status_refresh()
    assert mailoutbox == []


def test_outage_past_hold_off_alerts_exactly_once(aws_sandbox, settings, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 3600
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    status_refresh()
    assert mailoutbox == []  # not settled yet

    settle_pending(hours=2)
    run = status_refresh()
    assert run.alerts_sent == 2
    assert sorted(message.to[0] for message in mailoutbox) == sorted([se.email, CONTACT])
    assert all("tunnel 1" in message.subject for message in mailoutbox)

    status_refresh()
    status_refresh()
    assert len(mailoutbox) == 2
    change = TunnelStatusChange.objects.get(tunnel__request=request, old_status=UP)
    assert change.alerted and change.notified_at is not None


def test_customer_email_keeps_internals_to_the_engineer(aws_sandbox, settings, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    tunnel = request.tunnels.get(position=1)
    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")

    status_refresh()

    sent = by_recipient(mailoutbox)
    engineer, customer = sent[se.email], sent[CONTACT]
    staff_url = settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url()
    assert staff_url in engineer.body
    assert request.customer.name in engineer.subject
    # What the customer needs: which tunnel, its AWS end, their own device.
    assert request.reference in customer.subject
    assert tunnel.outside_ip in customer.body
    assert request.customer_gateway_ip in customer.body
    # What they must not see: AWS ids (lower-case "vpn-": the reference is "VPN-0..."),
    # the staff pages, the pre-shared keys.
    for text in (customer.subject, customer.body):
        assert connection_id(request) not in text
        assert "vpn-" not in text
        assert request.get_absolute_url() not in text
        assert settings.PORTAL_BASE_URL not in text
        assert all(t.psk not in text for t in request.tunnels.all())


def test_request_without_owner_alerts_the_customer_only(aws_sandbox, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=None))
    flip(aws_sandbox, request, 2, "DOWN")

    run = status_refresh()

    assert run.alerts_sent == 1
    assert [message.to for message in mailoutbox] == [[CONTACT]]
    assert "tunnel 2" in mailoutbox[0].subject
