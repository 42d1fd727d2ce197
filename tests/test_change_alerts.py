"""A planned change holds the tunnel alerts of its VPN until it ends.

A change takes the VPN's tunnels down one at a time on purpose. The status refresh still
records what AWS reports (the stage shows the tunnel down), but nobody is emailed while the
change is under way: a tunnel back up in time is no news, and one that stays down is
alerted as soon as the change stops. Telemetry comes from the sandbox; the hold-off is 0.
"""

import pytest

from tests.change_support import hold, provisioned_vpn
from tests.factories import se_user
from vpn.choices import ChangeKind, ChangeState, Stage, TunnelStatus
from vpn.models import Notification, VpnChange
from vpn.services.changes import change_apply, change_propose
from vpn.services.status import ALERT_KEY_PREFIX, status_refresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_hold_off(settings):
    """Weigh tunnel changes at once: only the change under way may hold them."""
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0


def _alerts(request) -> list[str]:
    """The keys of the health alerts written for the request."""
    return list(
        Notification.objects.filter(key__startswith=f"{ALERT_KEY_PREFIX}{request.pk}:")
        .order_by("pk")
        .values_list("key", flat=True)
    )


def _rotation_waiting_on_tunnel_1(aws_sandbox, run_jobs, ops, request) -> VpnChange:
    """A key rotation that has changed tunnel 1, which the sandbox holds DOWN."""
    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ROTATE_PSK,
        values={"tunnels": "all"},
        reason="Yearly key rotation",
        user=ops,
    )
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs(scheduled=False) == 0
    change.refresh_from_db()
    assert (change.state, change.tunnel) == (ChangeState.WAITING_FOR_TUNNEL, 1)
    hold(aws_sandbox, request, 1)
    return change


def test_a_tunnel_down_during_a_change_that_comes_back_emails_nobody(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    change = _rotation_waiting_on_tunnel_1(aws_sandbox, run_jobs, ops, request)

    run = status_refresh()
    request.refresh_from_db()
    assert request.stage == Stage.DEGRADED  # what AWS reports is still shown
    assert request.tunnels.get(position=1).status == TunnelStatus.DOWN
    assert (run.alerts_sent, _alerts(request)) == (0, [])

    # The customer's device takes the new key: the change goes on and ends.
    hold(aws_sandbox, request, 1, held=False)
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    run = status_refresh()
    request.refresh_from_db()
    assert request.stage == Stage.LIVE
    assert (run.alerts_sent, _alerts(request)) == (0, [])


def test_a_tunnel_still_down_when_the_change_stops_is_alerted(
    aws_sandbox, run_jobs, ops, settings, mailoutbox
):
    settings.CHANGE_TUNNEL_WAIT_SECONDS = 3  # three checks, one per PROVISION_POLL_SECONDS
    owner = se_user(username="se-owner", email="owner@platform.example")
    request = provisioned_vpn(aws_sandbox, run_jobs, owner=owner)
    change = _rotation_waiting_on_tunnel_1(aws_sandbox, run_jobs, ops, request)
    assert status_refresh().alerts_sent == 0

    assert run_jobs() == 0  # the checks run out: the change stops
    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    run = status_refresh()
    assert run.alerts_sent == 2  # the engineer and the customer's contact
    alerted = {m.to[0] for m in mailoutbox if "No redundancy: tunnel 1 down" in m.subject}
    assert alerted == {"owner@platform.example", "noc@customer.example"}
