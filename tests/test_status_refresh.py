"""The tunnel status refresh (`vpn.services.status.status_refresh`) against the sandbox.

What it asks AWS (one DescribeVpnConnections per region), what it stores (only changes,
one history row per status change), which stages it moves requests to, and how it copes
with a failing region, a connection deleted behind its back and requests it must leave
alone. Telemetry changes only through the sandbox's control API, as AWS's would; the
alerts the refresh sends are tested in `test_status_alerts.py`.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.status_support import (
    bring_live,
    connection_id,
    describe_calls,
    flip,
    history,
    live_vpn,
)
from vpn import events
from vpn.choices import Stage, TunnelStatus
from vpn.models import StageTransition, StatusRefresh, Tunnel, TunnelStatusChange, VpnRequest
from vpn.services.stages import request_move
from vpn.services.status import ACTOR_LABEL, stage_for, status_refresh

pytestmark = pytest.mark.django_db

DOWN, UP, UNKNOWN = TunnelStatus.DOWN, TunnelStatus.UP, TunnelStatus.UNKNOWN
CONTACT = "noc@customer.example"  # the contact address `live_vpn` gives customers


@pytest.fixture(autouse=True)
def no_hold_off(settings):
    """Weigh changes for alerts at once, so that "no email" below means none was due."""
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0


def statuses(request: VpnRequest) -> dict[int, str]:
    """The stored status of each of the request's tunnels, by position."""
    return dict(request.tunnels.values_list("position", "status"))


def stage_of(request: VpnRequest) -> str:
    """The request's stage as stored now."""
    request.refresh_from_db(fields=["stage"])
    return request.stage


# --- What the refresh asks AWS ----------------------------------------------------------


def test_one_describe_call_per_region(aws_sandbox):
    for region in ("us-east-1", "us-east-1", "eu-west-1", "ap-southeast-2"):
        live_vpn(aws_sandbox, region=region)
    before = describe_calls(aws_sandbox)

    run = status_refresh()

    assert describe_calls(aws_sandbox) - before == 3
    assert run.aws_calls == 3
    assert run.requests_seen == 4
    assert run.regions == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    assert run.errors == {}
    # Every tunnel of every region was matched: a new connection's telemetry is DOWN.
    assert set(Tunnel.objects.values_list("status", flat=True)) == {DOWN}
    assert run.tunnels_changed == 8


def test_refresh_limited_to_regions(aws_sandbox):
    live_vpn(aws_sandbox, region="us-east-1")
    west = live_vpn(aws_sandbox, region="eu-west-1")
    before = describe_calls(aws_sandbox)

    run = status_refresh(trigger=StatusRefresh.Trigger.BUTTON, regions=["eu-west-1"])

    assert describe_calls(aws_sandbox) - before == 1
    assert (run.aws_calls, run.requests_seen, run.regions) == (1, 1, ["eu-west-1"])
    assert run.trigger == StatusRefresh.Trigger.BUTTON
    assert set(Tunnel.objects.filter(status=DOWN).values_list("request", flat=True)) == {west.pk}


@pytest.mark.django_db(transaction=True)
def test_refresh_runs_as_a_job(aws_sandbox, run_jobs):
    """The scheduled path: the RQ job on a real Redis, run by a real (in-process) worker."""
    request = live_vpn(aws_sandbox)
    flip(aws_sandbox, request, 1, "UP")
    flip(aws_sandbox, request, 2, "UP")

    events.job_enqueue("vpn.jobs.status_refresh", "schedule")
    assert run_jobs() == 0

    run = StatusRefresh.objects.get()
    assert (run.trigger, run.aws_calls, run.requests_seen) == ("schedule", 1, 1)
    assert statuses(request) == {1: UP, 2: UP}
    assert stage_of(request) == Stage.LIVE


# --- What it stores and where it moves requests -----------------------------------------


def test_first_refresh_of_a_new_vpn(aws_sandbox, se, mailoutbox):
    request = live_vpn(aws_sandbox, owner=se)
    assert statuses(request) == {1: UNKNOWN, 2: UNKNOWN}

    run = status_refresh()

    assert statuses(request) == {1: DOWN, 2: DOWN}
    assert history(request, 1) == [(UNKNOWN, DOWN)]
    assert history(request, 2) == [(UNKNOWN, DOWN)]
    # Still waiting for the customer: no tunnel has come up yet, so nothing is "down".
    assert stage_of(request) == Stage.AWAITING_CUSTOMER
    assert not StageTransition.objects.filter(request=request).exists()
    assert (run.tunnels_changed, run.requests_moved, run.alerts_sent) == (2, 0, 0)
    assert mailoutbox == []


def test_both_tunnels_up_make_the_request_live(aws_sandbox, se, mailoutbox):
    request = live_vpn(aws_sandbox, owner=se)
    status_refresh()
    flip(aws_sandbox, request, 1, "UP", message="2 BGP ROUTES", accepted_route_count=2)
    flip(aws_sandbox, request, 2, "UP")

    run = status_refresh()

    assert statuses(request) == {1: UP, 2: UP}
    tunnel = request.tunnels.get(position=1)
    assert (tunnel.status_message, tunnel.accepted_route_count) == ("2 BGP ROUTES", 2)
    assert tunnel.last_status_change is not None
    assert history(request, 1) == [(UNKNOWN, DOWN), (DOWN, UP)]
    assert history(request, 2) == [(UNKNOWN, DOWN), (DOWN, UP)]
    assert stage_of(request) == Stage.LIVE
    transition = StageTransition.objects.get(request=request)
    assert (transition.from_stage, transition.to_stage) == (Stage.AWAITING_CUSTOMER, Stage.LIVE)
    assert transition.actor_label == ACTOR_LABEL == "status refresh"
    assert transition.actor is None
    assert (run.tunnels_changed, run.requests_moved) == (2, 1)
    # A tunnel's first UP is the customer connecting, not news to alert anyone about;
    # the changes are weighed all the same (and so never alert later).
    assert mailoutbox == []
    assert not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists()
    assert not TunnelStatusChange.objects.filter(alerted=True).exists()


def test_one_tunnel_up_makes_the_request_degraded(aws_sandbox):
    request = live_vpn(aws_sandbox)
    status_refresh()
    flip(aws_sandbox, request, 2, "UP")

    status_refresh()

    assert statuses(request) == {1: DOWN, 2: UP}
    assert stage_of(request) == Stage.DEGRADED


def test_unchanged_telemetry_writes_nothing(aws_sandbox, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox))
    written = dict(request.tunnels.values_list("pk", "updated_at"))
    rows = TunnelStatusChange.objects.count()
    transitions = StageTransition.objects.count()

    run = status_refresh()

    assert run.tunnels_changed == 0
    assert dict(request.tunnels.values_list("pk", "updated_at")) == written
    assert TunnelStatusChange.objects.count() == rows
    assert StageTransition.objects.count() == transitions
    assert mailoutbox == []


def test_route_count_change_updates_the_tunnel_only(aws_sandbox, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    written = dict(request.tunnels.values_list("position", "updated_at"))
    rows = TunnelStatusChange.objects.count()
    transitions = StageTransition.objects.count()
    flip(aws_sandbox, request, 1, "UP", message="3 BGP ROUTES", accepted_route_count=3)

    run = status_refresh()

    assert run.tunnels_changed == 1
    first, second = request.tunnels.order_by("position")
    assert (first.status, first.accepted_route_count, first.status_message) == (
        UP,
        3,
        "3 BGP ROUTES",
    )
    assert first.updated_at > written[1]
    assert second.updated_at == written[2]
    # The status did not change: no history row, no stage move, nobody emailed.
    assert TunnelStatusChange.objects.count() == rows
    assert StageTransition.objects.count() == transitions
    assert mailoutbox == []


def test_second_tunnel_of_a_one_tunnel_setup(aws_sandbox, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, tunnel_count=1))
    flip(aws_sandbox, request, 2, "DOWN", message="IPSEC IS DOWN")

    run = status_refresh()

    # Refreshed and shown...
    assert statuses(request) == {1: UP, 2: DOWN}
    assert request.tunnels.get(position=2).status_message == "IPSEC IS DOWN"
    assert history(request, 2)[-1] == (UP, DOWN)
    assert run.tunnels_changed == 1
    # ...but it neither counts for the stage nor alerts anyone.
    assert stage_of(request) == Stage.LIVE
    assert mailoutbox == []
    change = TunnelStatusChange.objects.get(
        tunnel__request=request, tunnel__position=2, old_status=UP, new_status=DOWN
    )
    assert change.notified_at is not None and not change.alerted

    # The monitored tunnel going down does both (the contrast that makes the above count).
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    assert stage_of(request) == Stage.DOWN
    assert len(mailoutbox) == 2
    assert all("tunnel 1" in message.subject for message in mailoutbox)


# --- Failures and surprises -------------------------------------------------------------


def test_failing_region_keeps_its_status_and_others_refresh(aws_sandbox, settings):
    # botocore's max_attempts counts retries after the first attempt: 0 makes each call
    # one attempt, so one injected fault fails exactly one region's call.
    settings.AWS_MAX_ATTEMPTS = 0
    east = live_vpn(aws_sandbox, region="us-east-1")
    west = live_vpn(aws_sandbox, region="eu-west-1")
    status_refresh()
    flip(aws_sandbox, east, 1, "UP")
    flip(aws_sandbox, west, 1, "UP")
    # The regions are read at once: the fault names the one that fails.
    aws_sandbox.control(
        "POST",
        "/_sandbox/faults",
        {
            "action": "DescribeVpnConnections",
            "error": "server",
            "region": "eu-west-1",
            "count": 1,
        },
    )
    before = describe_calls(aws_sandbox)

    run = status_refresh()

    assert describe_calls(aws_sandbox) - before == 2
    assert list(run.errors) == ["eu-west-1"]
    assert "InternalError" in run.errors["eu-west-1"]
    assert (run.aws_calls, run.requests_seen, run.tunnels_changed) == (2, 1, 1)
    assert StatusRefresh.objects.get(pk=run.pk).errors == run.errors
    # The failed region's tunnels keep their last known status (AWS now says UP)...
    assert statuses(west) == {1: DOWN, 2: DOWN}
    assert stage_of(west) == Stage.AWAITING_CUSTOMER
    # ...while the other region was refreshed all the same.
    assert statuses(east) == {1: UP, 2: DOWN}
    assert stage_of(east) == Stage.DEGRADED

    # Once AWS answers again, the next run catches up.
    run = status_refresh()
    assert run.errors == {}
    assert statuses(west) == {1: UP, 2: DOWN}


def test_every_region_failing_raises_nothing(aws_sandbox, settings):
    settings.AWS_MAX_ATTEMPTS = 0
    request = live_vpn(aws_sandbox, region="us-east-1")
    live_vpn(aws_sandbox, region="eu-west-1")
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "DescribeVpnConnections", "error": "server"}
    )

    run = status_refresh()

    assert sorted(run.errors) == ["eu-west-1", "us-east-1"]
    assert (run.aws_calls, run.requests_seen, run.tunnels_changed) == (2, 0, 0)
    assert statuses(request) == {1: UNKNOWN, 2: UNKNOWN}
    assert StatusRefresh.objects.filter(pk=run.pk).exists()


def test_connection_deleted_behind_the_portals_back(aws_sandbox, se, mailoutbox):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    vpn_id = connection_id(request)
    aws_sandbox.ec2("us-east-1").delete_vpn_connection(VpnConnectionId=vpn_id)

    status_refresh()

    assert statuses(request) == {1: DOWN, 2: DOWN}
    for tunnel in request.tunnels.all():
        assert vpn_id in tunnel.status_message
        assert tunnel.accepted_route_count == 0
        assert history(request, tunnel.position)[-1] == (UP, DOWN)
    assert stage_of(request) == Stage.DOWN
    transition = StageTransition.objects.filter(request=request).latest("pk")
    assert (transition.from_stage, transition.to_stage) == (Stage.LIVE, Stage.DOWN)
    assert vpn_id in transition.note
    # Both tunnels went down after having been up: one outage, one email each for the
    # engineer and the customer, and only the engineer is told the AWS id.
    assert sorted(message.to[0] for message in mailoutbox) == sorted([se.email, CONTACT])
    for message in mailoutbox:
        assert "Outage: both tunnels down" in message.subject
        assert (vpn_id in message.body) == (message.to == [se.email])

    # Still gone at the next run: nothing more is written.
    assert status_refresh().tunnels_changed == 0


@pytest.mark.parametrize("stage", [Stage.DECOMMISSIONING, Stage.FAILED, Stage.DECOMMISSIONED])
def test_requests_outside_operational_stages_are_left_alone(aws_sandbox, stage):
    watched = live_vpn(aws_sandbox)
    ignored = live_vpn(aws_sandbox, stage=stage)
    written = dict(ignored.tunnels.values_list("pk", "updated_at"))
    for request in (watched, ignored):
        flip(aws_sandbox, request, 1, "UP")
        flip(aws_sandbox, request, 2, "UP")

    run = status_refresh()

    assert run.requests_seen == 1
    assert statuses(watched) == {1: UP, 2: UP}
    assert statuses(ignored) == {1: UNKNOWN, 2: UNKNOWN}
    assert dict(ignored.tunnels.values_list("pk", "updated_at")) == written
    assert not TunnelStatusChange.objects.filter(tunnel__request=ignored).exists()
    assert stage_of(ignored) == stage


def test_decommissioned_request_never_alerts(aws_sandbox, settings, se, mailoutbox):
    """A change still within its hold-off when the request leaves service is dropped."""
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se))
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 3600
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    request_move(
        request_id=request.pk,
        to_stage=Stage.DECOMMISSIONING,
        note="test",
        follow_ups=False,
    )
    # Time passes beyond the hold-off.
    TunnelStatusChange.objects.filter(notified_at__isnull=True).update(
        changed_at=timezone.now() - timedelta(hours=2)
    )

    run = status_refresh()

    assert run.requests_seen == 0
    assert (run.alerts_sent, mailoutbox) == (0, [])
    change = TunnelStatusChange.objects.get(tunnel__request=request, new_status=DOWN, old_status=UP)
    assert change.notified_at is not None and not change.alerted


def test_old_runs_are_pruned(settings):
    settings.STATUS_REFRESH_KEEP_DAYS = 7
    now = timezone.now()

    def past_run(days: float) -> StatusRefresh:
        return StatusRefresh.objects.create(
            trigger=StatusRefresh.Trigger.SCHEDULE,
            started_at=now - timedelta(days=days),
            finished_at=now - timedelta(days=days),
        )

    old, kept = past_run(8), past_run(6.9)

    run = status_refresh()

    remaining = set(StatusRefresh.objects.values_list("pk", flat=True))
    assert remaining == {kept.pk, run.pk}
    assert old.pk not in remaining


# --- stage_for --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "tunnel_count", "tunnels", "expected"),
    [
        (Stage.AWAITING_CUSTOMER, 2, (DOWN, DOWN), Stage.AWAITING_CUSTOMER),
        (Stage.AWAITING_CUSTOMER, 2, (UNKNOWN, UNKNOWN), Stage.AWAITING_CUSTOMER),
        (Stage.AWAITING_CUSTOMER, 2, (UP, DOWN), Stage.DEGRADED),
        (Stage.AWAITING_CUSTOMER, 2, (UP, UP), Stage.LIVE),
        (Stage.LIVE, 2, (UP, UP), Stage.LIVE),
        (Stage.LIVE, 2, (DOWN, UP), Stage.DEGRADED),
        (Stage.LIVE, 2, (UP, UNKNOWN), Stage.DEGRADED),
        (Stage.LIVE, 2, (DOWN, DOWN), Stage.DOWN),
        (Stage.LIVE, 2, (UNKNOWN, DOWN), Stage.DOWN),
        (Stage.DEGRADED, 2, (UP, UP), Stage.LIVE),
        (Stage.DEGRADED, 2, (DOWN, DOWN), Stage.DOWN),
        (Stage.DOWN, 2, (DOWN, DOWN), Stage.DOWN),
        (Stage.DOWN, 2, (UP, DOWN), Stage.DEGRADED),
        # One-tunnel setups: tunnel 2 never counts.
        (Stage.LIVE, 1, (UP, DOWN), Stage.LIVE),
        (Stage.LIVE, 1, (DOWN, UP), Stage.DOWN),
        (Stage.AWAITING_CUSTOMER, 1, (DOWN, UP), Stage.AWAITING_CUSTOMER),
        (Stage.AWAITING_CUSTOMER, 1, (UP, DOWN), Stage.LIVE),
        (Stage.DOWN, 1, (UP, UNKNOWN), Stage.LIVE),
    ],
)
def test_stage_for(stage, tunnel_count, tunnels, expected):
    statuses = dict(enumerate(tunnels, start=1))
    assert stage_for(stage=stage, tunnel_count=tunnel_count, statuses=statuses) == expected


def test_a_stage_out_of_step_with_its_tunnels_is_put_right_without_a_change(aws_sandbox):
    """Tunnels already stored as up while the request was left waiting (a move that failed
    after the tunnels were written): the next refresh moves it, though nothing changed."""
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox))
    VpnRequest.objects.filter(pk=request.pk).update(stage=Stage.DEGRADED)

    run = status_refresh()

    assert run.tunnels_changed == 0 and run.requests_moved == 1
    request.refresh_from_db()
    assert request.stage == Stage.LIVE


def test_history_never_goes_backwards(aws_sandbox):
    """AWS's times are whole seconds and some changes are dated by the portal: a change
    AWS dates before the tunnel's previous one is dated with it, so the history (and the
    uptime, chart and alerts read from it) keeps the order things happened in."""
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox))
    previous = TunnelStatusChange.objects.filter(tunnel__request=request, tunnel__position=1)
    latest = previous.latest("changed_at", "pk")
    later = timezone.now() + timedelta(days=1)  # as if dated by the portal, later on
    TunnelStatusChange.objects.filter(pk=latest.pk).update(changed_at=later)

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()

    assert history(request, 1) == [(UNKNOWN, DOWN), (DOWN, UP), (UP, DOWN)]
    assert previous.latest("changed_at", "pk").changed_at == later
