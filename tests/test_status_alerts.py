"""Tunnel alerts: per request and per change of its health, never per tunnel.

Each recipient (the owning engineer, the customer's contact) gets one email when the
request becomes degraded, down, or recovered after an alerted outage, once its tunnels
have kept their status for the hold-off. Telemetry changes through the sandbox's control
API and the refresh runs in-process; time beyond the hold-off is simulated by moving the
pending history rows' `changed_at` back, never by sleeping.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F

from tests.status_support import bring_live, connection_id, flip, history, live_vpn
from vpn.choices import Stage, TunnelStatus
from vpn.models import Notification, StageTransition, TunnelStatusChange, VpnRequest
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db

DOWN, UP = TunnelStatus.DOWN, TunnelStatus.UP
CONTACT = "noc@customer.example"
HOLD_OFF = 120


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
    assert len({message.to[0] for message in messages}) == len(messages), "one each"
    return {message.to[0]: message for message in messages}


def settle_pending(**ago) -> None:
    """Pretend the pending changes happened `ago` earlier (time passing, without sleep)."""
    TunnelStatusChange.objects.filter(notified_at__isnull=True).update(
        changed_at=F("changed_at") - timedelta(**ago)
    )


def headings(messages) -> Counter:
    """How many emails each recipient got per alert heading ("Outage", "Recovered"...)."""
    return Counter(
        (message.to[0], message.subject.split(": ")[1].split(":")[0]) for message in messages
    )


def test_both_tunnels_down_then_up_is_one_outage_and_one_recovery_email_each(
    aws_sandbox, settings, se, mailoutbox
):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = HOLD_OFF

    # Both tunnels drop, one refresh apart, within the hold-off.
    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    status_refresh()
    flip(aws_sandbox, request, 2, "DOWN", message="IPSEC IS DOWN")
    status_refresh()
    assert stage_of(request) == Stage.DOWN
    assert mailoutbox == []  # not settled yet

    settle_pending(seconds=HOLD_OFF + 1)
    run = status_refresh()
    assert run.alerts_sent == 2
    sent = by_recipient(mailoutbox)
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        # Subject and body tell the same story: the whole VPN is down.
        assert "Outage: both tunnels down" in message.subject
        assert "Outage: both tunnels down, since" in message.body
        assert "No tunnel is up" in message.body
        assert "is DOWN" not in message.subject and "tunnel 2" not in message.subject
        assert "Traffic continues" not in message.body

    # Refreshes after it write nothing new and email nobody.
    rows = Notification.objects.count()
    for _ in range(3):
        assert status_refresh().alerts_sent == 0
    assert (len(mailoutbox), Notification.objects.count()) == (2, rows)

    # Both come back, within the hold-off of each other: one recovery email each.
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    flip(aws_sandbox, request, 2, "UP")
    status_refresh()
    assert stage_of(request) == Stage.LIVE
    assert len(mailoutbox) == 2
    settle_pending(seconds=HOLD_OFF + 1)
    assert status_refresh().alerts_sent == 2
    sent = by_recipient(mailoutbox[2:])
    for message in sent.values():
        assert "Recovered: both tunnels up" in message.subject
        assert "Every tunnel is up again" in message.body
    for _ in range(2):
        status_refresh()

    assert headings(mailoutbox) == {
        (se.email, "Outage"): 1,
        (CONTACT, "Outage"): 1,
        (se.email, "Recovered"): 1,
        (CONTACT, "Recovered"): 1,
    }
    assert Notification.objects.count() == 4  # one row per recipient per health change


def test_one_tunnel_down_then_the_other_is_degraded_then_down(aws_sandbox, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))

    # Tunnel 1 goes down: the VPN runs on one tunnel.
    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    run = status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    assert history(request, 1)[2:] == [(UP, DOWN)]
    change = TunnelStatusChange.objects.get(tunnel__request=request, old_status=UP)
    assert (change.message, change.alerted) == ("IPSEC IS DOWN", True)
    assert (run.alerts_sent, len(mailoutbox)) == (2, 2)
    sent = by_recipient(mailoutbox)
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert request.reference in message.subject
        assert "No redundancy: tunnel 1 down, tunnel 2 up" in message.subject
    assert "Traffic runs over tunnel 2 alone" in sent[se.email].body
    assert "IPSEC IS DOWN" in sent[se.email].body
    assert "Traffic continues over tunnel 2" in sent[CONTACT].body

    # Nothing changed: nothing is written and nobody is emailed again.
    rows = TunnelStatusChange.objects.count()
    run = status_refresh()
    assert (run.tunnels_changed, run.requests_moved, run.alerts_sent) == (0, 0, 0)
    assert TunnelStatusChange.objects.count() == rows

    # Tunnel 2 goes down too: the escalation is an email of its own.
    flip(aws_sandbox, request, 2, "DOWN")
    status_refresh()
    assert stage_of(request) == Stage.DOWN
    sent = by_recipient(mailoutbox[2:])
    assert set(sent) == {se.email, CONTACT}
    for message in sent.values():
        assert "Outage: both tunnels down" in message.subject
        assert "No tunnel is up" in message.body
    assert "This follows the earlier “no redundancy” alert." in sent[se.email].body

    # Tunnel 1 comes back: traffic flows again, without a spare.
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    sent = by_recipient(mailoutbox[4:])
    for message in sent.values():
        assert "No redundancy: tunnel 2 down, tunnel 1 up" in message.subject
        assert "The outage is over" in message.body
        assert "Every tunnel is up" not in message.body

    # Tunnel 2 comes back: live again.
    flip(aws_sandbox, request, 2, "UP")
    status_refresh()
    assert stage_of(request) == Stage.LIVE
    sent = by_recipient(mailoutbox[6:])
    for message in sent.values():
        assert "Recovered: both tunnels up" in message.subject

    assert len(mailoutbox) == 8
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
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = HOLD_OFF

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    flip(aws_sandbox, request, 2, "DOWN")
    status_refresh()
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    flip(aws_sandbox, request, 2, "UP")
    status_refresh()

    assert history(request, 1)[2:] == [(UP, DOWN), (DOWN, UP)]
    flap = TunnelStatusChange.objects.filter(tunnel__request=request).order_by("pk")[4:]
    assert [row.notified_at for row in flap] == [None] * 4  # within the hold-off
    assert mailoutbox == []

    # The tunnels stay up past the hold-off: the flap is weighed, and it was nothing.
    settle_pending(seconds=HOLD_OFF + 1)
    run = status_refresh()
    assert run.alerts_sent == 0
    assert mailoutbox == []
    assert not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists()
    assert not TunnelStatusChange.objects.filter(alerted=True).exists()
    assert not Notification.objects.exists()

    # Later refreshes do not bring the flap back.
    status_refresh()
    assert mailoutbox == []


def test_a_flap_of_the_other_tunnel_while_degraded_emails_nobody(
    aws_sandbox, settings, se, mailoutbox
):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    assert len(mailoutbox) == 2  # degraded, told at once (no hold-off yet)

    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = HOLD_OFF
    flip(aws_sandbox, request, 2, "DOWN")
    status_refresh()
    flip(aws_sandbox, request, 2, "UP")
    status_refresh()
    settle_pending(seconds=HOLD_OFF + 1)
    status_refresh()
    # Still degraded, as people were told: nothing new to say.
    assert len(mailoutbox) == 2


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
    assert all("tunnel 1 down" in message.subject for message in mailoutbox)

    status_refresh()
    status_refresh()
    assert len(mailoutbox) == 2
    change = TunnelStatusChange.objects.get(tunnel__request=request, old_status=UP)
    assert change.alerted and change.notified_at is not None


def test_a_tunnel_never_up_is_no_outage_until_the_other_drops(aws_sandbox, se, mailoutbox):
    """The customer configured tunnel 1 only: its twin being down is no news, but losing
    tunnel 1 is an outage, and its return the recovery from it."""
    request = live_vpn(aws_sandbox, owner=se)
    status_refresh()
    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    assert stage_of(request) == Stage.DEGRADED
    assert mailoutbox == []

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    sent = by_recipient(mailoutbox)
    assert all("Outage: both tunnels down" in m.subject for m in sent.values())

    flip(aws_sandbox, request, 1, "UP")
    status_refresh()
    sent = by_recipient(mailoutbox[2:])
    for message in sent.values():
        assert "Recovered: tunnel 1 up, tunnel 2 not up yet" in message.subject
        assert "tunnel 2 has never been up" in message.body


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
    assert f"it reaches {tunnel.outside_ip} on UDP 500" in customer.body
    assert request.customer_gateway_ip in customer.body
    # What they must not see: AWS ids (lower-case "vpn-": the reference is "VPN-0..."),
    # the staff pages, the pre-shared keys, AWS's messages.
    for text in (customer.subject, customer.body):
        assert connection_id(request) not in text
        assert "vpn-" not in text
        assert "IPSEC IS DOWN" not in text
        assert request.get_absolute_url() not in text
        assert settings.PORTAL_BASE_URL not in text
        assert all(t.psk not in text for t in request.tunnels.all())


def test_request_without_owner_alerts_the_customer_only(aws_sandbox, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=None))
    flip(aws_sandbox, request, 2, "DOWN")

    run = status_refresh()

    assert run.alerts_sent == 1
    assert [message.to for message in mailoutbox] == [[CONTACT]]
    assert "tunnel 2 down" in mailoutbox[0].subject
