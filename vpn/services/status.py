"""Tunnel status: the refresh that reads AWS's telemetry, and the alerts it gives rise to.

`status_refresh` asks AWS once per (account, region) pair for every VPN connection the
portal tagged (`DescribeVpnConnections` filtered by the portal's tag: never one call per
request), matches tunnels by their AWS outside IP, writes only what changed (in bulk,
with one `TunnelStatusChange` row per change of status), moves each request to the stage
its tunnels imply (live, degraded, down) and then weighs the pending changes for alerts.
Per pair it also reads what newly up tunnels negotiated and diagnoses the tunnels in
trouble (`vpn.services.diagnosis`: calls for those tunnels only, counted apart).

The pairs are read at once: their describe calls run in a bounded pool of threads
(`STATUS_REFRESH_CONCURRENCY`), each acting in its pair's account, and nothing else runs
there. The database work stays in the caller's thread (and its transaction): each pair's
answer is applied there as it arrives, then its tunnel details are read, so one slow pair
delays neither the others' calls nor their writes. A pair that fails, or is still silent
`STATUS_REFRESH_TIMEOUT_SECONDS` after the start, is recorded as failed on the run; the
others are refreshed all the same.

Alerts are per request and per change of its health, never per tunnel: each recipient
(the owning engineer, the customer's contact) gets one email when the request becomes
degraded (a monitored tunnel down after having been up, another up), down (no monitored
tunnel up) or recovered (all up again after an alerted outage). A request is weighed
only once its monitored tunnels have kept their status for
`TUNNEL_ALERT_HOLD_OFF_SECONDS`, so a flap within that time emails nobody, and both
tunnels dropping within it is one "down" email. The second tunnel of a one-tunnel setup
is refreshed and shown but never alerts or counts for the stage. An alert is written to
the email outbox (one row per recipient) in the transaction that weighs the change, and
sent once that has committed: a mail server failing for one recipient delays that
recipient's email, and never sends the other's twice.

Views never call AWS: they read the stored snapshot this module writes.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from vpn import aws, events
from vpn.choices import (
    ACTIVE_CHANGE_STATES,
    OPERATIONAL_STAGES,
    AwsResourceRole,
    Stage,
    TunnelStatus,
)
from vpn.models import (
    AwsAccount,
    AwsResource,
    Notification,
    StatusRefresh,
    Tunnel,
    TunnelStatusChange,
    VpnRequest,
)
from vpn.selectors.status import (
    HEALTH_HEADINGS,
    HEALTH_OK,
    RequestHealth,
    request_health,
    tunnels_phrase,
)
from vpn.services.diagnosis import tunnel_details_read
from vpn.services.notifications import email_queue, emails_send
from vpn.services.stages import StageMoveError, request_move

logger = logging.getLogger(__name__)

# Who the stage history names for moves made by the refresh.
ACTOR_LABEL = "status refresh"
# The outbox key of every alert email starts with this, then the request's id, the id of
# the change that settled its health, the alert's kind and the audience.
ALERT_KEY_PREFIX = "request-health:"
# The alert sent when every tunnel that had been up is up again after an alerted outage.
ALERT_RECOVERED = "recovered"

_STATUS_FIELDS = ("status", "status_message", "last_status_change", "accepted_route_count")
_MESSAGE_MAX = Tunnel._meta.get_field("status_message").max_length


@dataclass(frozen=True)
class _Watched:
    """A request whose tunnels the refresh follows: its VPN connection and stage."""

    request_id: int
    connection_id: str
    stage: str
    tunnel_count: int


def status_refresh(
    *, trigger: str = StatusRefresh.Trigger.SCHEDULE, regions: list[str] | None = None
) -> StatusRefresh:
    """Refresh the telemetry of every watched VPN (in `regions`, if given) and record the run.

    Each (account, region) pair is read once, acting in that account, all pairs at once
    (`_pairs_described`). A pair whose call fails or times out keeps its tunnels' last
    known status; the error is kept on the run (and shown on the pages) and the other
    pairs are refreshed all the same.
    """
    started = timezone.now()
    by_pair = _watched(regions)
    run = StatusRefresh(
        trigger=trigger,
        started_at=started,
        regions=sorted({*(region for _, region in by_pair), *(regions or ())}),
    )
    accounts = AwsAccount.objects.in_bulk({account_id for account_id, _ in by_pair} - {None})
    pairs = [
        _Pair(accounts.get(account_id), region, watched)
        for (account_id, region), watched in sorted(by_pair.items(), key=_pair_order)
    ]
    slowest: tuple[float, str] = (0.0, "")
    for pair, answer in _pairs_described(pairs):
        if pair.seconds is not None:
            slowest = max(slowest, (pair.seconds, _pair_label(pair.account, pair.region)))
        _pair_refresh(run, pair, answer)
    run.alerts_sent = alerts_send()
    run.finished_at = timezone.now()
    run.save()
    StatusRefresh.objects.filter(
        started_at__lt=started - timedelta(days=settings.STATUS_REFRESH_KEEP_DAYS)
    ).delete()
    logger.info(
        "Status refresh: %s region(s), %s call(s) (and %s for tunnel details), %s request(s), "
        "%s tunnel change(s), %s stage move(s), %s alert(s), slowest read %.0f ms (%s), "
        "errors: %s",
        len(run.regions),
        run.aws_calls,
        run.detail_calls,
        run.requests_seen,
        run.tunnels_changed,
        run.requests_moved,
        run.alerts_sent,
        slowest[0] * 1000,
        slowest[1] or "none",
        run.errors or "none",
    )
    return run


def _pair_order(item: tuple[tuple[int | None, str], list]) -> tuple[int, str]:
    (account_id, region), _ = item
    return (account_id or 0, region)


def _pair_label(account: AwsAccount | None, region: str) -> str:
    """How a run's errors name an (account, region) pair: the region alone for the default
    account, as before there were several."""
    return region if account is None else f"{region} ({account.account_id})"


@dataclass
class _Pair:
    """One (account, region) pair the refresh reads: its watched requests, and how long
    its describe call took (set by the worker thread that made it)."""

    account: AwsAccount | None
    region: str
    watched: list[_Watched]
    seconds: float | None = None


def _pairs_described(
    pairs: list[_Pair],
) -> Iterator[tuple[_Pair, list[aws.VpnConnectionInfo] | Exception]]:
    """Each pair with AWS's answer (or the call's error), in the order the answers come.

    The describe calls run in a pool of `STATUS_REFRESH_CONCURRENCY` threads, each acting
    in its pair's account; the threads make the AWS call only (never a query: the
    database work stays in the caller's thread and transaction). A pair whose answer has
    not come within `STATUS_REFRESH_TIMEOUT_SECONDS` of the start is given up: its error
    says so and its thread is left to botocore's own timeouts, so that the run goes on.
    """
    if not pairs:
        return
    pool = ThreadPoolExecutor(
        max_workers=settings.STATUS_REFRESH_CONCURRENCY, thread_name_prefix="status-read"
    )
    futures = {pool.submit(_pair_describe, pair): pair for pair in pairs}
    try:
        for future in as_completed(futures, timeout=settings.STATUS_REFRESH_TIMEOUT_SECONDS):
            yield futures.pop(future), future.exception() or future.result()
    except TimeoutError:
        seconds = settings.STATUS_REFRESH_TIMEOUT_SECONDS
        for future, pair in futures.items():
            # A pair not yet running never had its turn: every thread was taken.
            asked = future.running()
            message = (
                f"AWS did not answer within {seconds} s."
                if asked
                else f"Not read: the refresh's {seconds} s ran out before its turn."
            )
            yield pair, PairUnanswered(message, asked=asked)
    finally:
        # Never wait for a call that was given up (nor start one that did not begin).
        pool.shutdown(wait=False, cancel_futures=True)


class PairUnanswered(Exception):
    """A pair the refresh gave up on: its call did not answer in time (`asked`), or
    never had its turn."""

    def __init__(self, message: str, *, asked: bool):
        super().__init__(message)
        self.asked = asked


def _pair_describe(pair: _Pair) -> list[aws.VpnConnectionInfo]:
    """The pair's VPN connections, read in its account (run in a worker thread: the
    account is entered here, as context variables do not follow into pool threads)."""
    started = time.perf_counter()
    try:
        with aws.acting_for(pair.account):
            return aws.vpn_connections_describe(pair.region)
    finally:
        pair.seconds = time.perf_counter() - started


def _pair_refresh(
    run: StatusRefresh, pair: _Pair, answer: list[aws.VpnConnectionInfo] | Exception
) -> None:
    """Apply one (account, region) pair's answer to its tunnels, in this thread, and
    read their details acting in the pair's account; counts it all into `run`."""
    label = _pair_label(pair.account, pair.region)
    if not isinstance(answer, PairUnanswered) or answer.asked:
        run.aws_calls += 1
    if isinstance(answer, Exception):
        if isinstance(answer, aws.AwsError | PairUnanswered):
            logger.warning("Status refresh: %s failed: %s", label, answer)
        else:
            logger.error("Status refresh: %s failed", label, exc_info=answer)
        run.errors[label] = str(answer)
        return
    watched = pair.watched
    try:
        by_id = {connection.id: connection for connection in answer}
        changed = _tunnels_apply(watched, by_id)
        # Every time, not only after a change: a move that failed or raced before is
        # made now, so a request's stage never stays out of step with its tunnels.
        run.requests_moved += _stages_recompute(watched)
    except Exception as exc:
        # A bug or a database error must not cost the other pairs their refresh,
        # nor the record of this run (the pages would go stale without a word).
        logger.exception("Status refresh: %s could not be applied", label)
        run.errors[label] = f"The portal could not apply AWS's answer: {exc}"
        return
    run.requests_seen += len(watched)
    run.tunnels_changed += changed
    with aws.acting_for(pair.account):
        run.detail_calls += _details_read(pair.region, watched)


def _details_read(region: str, watched: list[_Watched]) -> int:
    """What up tunnels negotiated, and why tunnels in trouble are; returns the AWS calls
    made. A failure here costs the region neither its refresh nor the run's record."""
    try:
        return tunnel_details_read(
            region=region,
            connections={item.request_id: item.connection_id for item in watched},
        )
    except Exception:
        logger.exception("Status refresh: the tunnel details of %s failed", region)
        return 0


def status_refresh_queue(*, trigger: str, regions: list[str] | None = None) -> None:
    """Queue a status refresh (of `regions`, or all) as a job, once the caller commits."""
    # Job arguments are kept in Redis: plain strings and lists.
    events.job_enqueue("vpn.jobs.status_refresh", str(trigger), list(regions) if regions else None)


def _watched(regions: list[str] | None) -> dict[tuple[int | None, str], list[_Watched]]:
    """Requests in an operational stage with a VPN connection, grouped by (account id,
    region); the default account's id is None."""
    resources = AwsResource.objects.filter(
        role=AwsResourceRole.VPN_CONNECTION,
        deleted_at__isnull=True,
        request__stage__in=OPERATIONAL_STAGES,
    )
    if regions is not None:
        resources = resources.filter(region__in=regions)
    by_pair: dict[tuple[int | None, str], list[_Watched]] = defaultdict(list)
    for account_id, request_id, region, connection_id, stage, tunnel_count in resources.values_list(
        "request__account_id",
        "request_id",
        "region",
        "resource_id",
        "request__stage",
        "request__tunnel_count",
    ):
        by_pair[(account_id, region)].append(
            _Watched(request_id, connection_id, stage, tunnel_count)
        )
    return by_pair


def _observed(
    tunnel: Tunnel, connection: aws.VpnConnectionInfo | None, connection_id: str
) -> dict | None:
    """The tunnel's fields as AWS reports them now; None to leave the tunnel as it is.

    `last_status_change` is AWS's own time (whole seconds); when AWS reports nothing for
    the tunnel it stays as stored, and a change of status is then dated now.
    """
    if connection is None or connection.state in ("deleting", "deleted"):
        state = "no longer exists" if connection is None else f"is {connection.state}"
        return _lost(tunnel, TunnelStatus.DOWN, f"VPN connection {connection_id} {state} in AWS.")
    info = next((t for t in connection.tunnels if t.outside_ip == tunnel.outside_ip), None)
    if info is None:
        return _lost(
            tunnel, TunnelStatus.UNKNOWN, "AWS no longer reports a tunnel with this outside IP."
        )
    seen = info.last_status_change
    stored = tunnel.last_status_change
    if seen is not None and stored is not None and seen < stored:
        return None  # An answer older than what is stored (a slower, concurrent refresh).
    status = info.status if info.status in TunnelStatus.values else TunnelStatus.UNKNOWN
    return {
        "status": status,
        "status_message": info.status_message[:_MESSAGE_MAX],
        "last_status_change": seen,
        "accepted_route_count": info.accepted_route_count,
    }


def _lost(tunnel: Tunnel, status: str, message: str) -> dict:
    """What to store for a tunnel AWS no longer reports: no telemetry to go by.

    The last change stays AWS's own: a time of the portal's here would make AWS's next,
    older-looking answer seem stale.
    """
    return {
        "status": status,
        "status_message": message,
        "last_status_change": tunnel.last_status_change,
        "accepted_route_count": 0,
    }


def _tunnels_apply(watched: list[_Watched], connections: dict[str, aws.VpnConnectionInfo]) -> int:
    """Write what changed for one region's tunnels; returns how many tunnels changed."""
    by_request = {w.request_id: w for w in watched}
    now = timezone.now()
    with transaction.atomic():
        # Locked (in a fixed order) so that two refreshes at once cannot both see, and
        # both record, the same change.
        tunnels = list(
            Tunnel.objects.select_for_update()
            .filter(request_id__in=by_request)
            .order_by("pk")
            .only("pk", "request_id", "outside_ip", *_STATUS_FIELDS)
        )
        changed: list[Tunnel] = []
        history: list[TunnelStatusChange] = []
        for tunnel in tunnels:
            connection_id = by_request[tunnel.request_id].connection_id
            observed = _observed(tunnel, connections.get(connection_id), connection_id)
            if observed is None or all(
                getattr(tunnel, name) == value for name, value in observed.items()
            ):
                continue
            if observed["status"] != tunnel.status:
                reported = observed["last_status_change"]
                if reported == tunnel.last_status_change:
                    reported = None  # AWS gave no time of its own for this change
                history.append(
                    TunnelStatusChange(
                        tunnel=tunnel,
                        old_status=tunnel.status,
                        new_status=observed["status"],
                        message=observed["status_message"],
                        changed_at=reported if reported and reported <= now else now,
                    )
                )
            for name, value in observed.items():
                setattr(tunnel, name, value)
            tunnel.updated_at = now
            changed.append(tunnel)
        if changed:
            Tunnel.objects.bulk_update(changed, [*_STATUS_FIELDS, "updated_at"], batch_size=500)
            _history_in_order(history)
            TunnelStatusChange.objects.bulk_create(history, batch_size=500)
    return len(changed)


def _history_in_order(history: list[TunnelStatusChange]) -> None:
    """Never date a change before the tunnel's previous one.

    AWS's times are whole seconds, and a change AWS gave no time for is dated now: two
    changes within a second could otherwise come out of order, and the history (uptime,
    chart, alerts) would replay them backwards.
    """
    if not history:
        return
    latest = dict(
        TunnelStatusChange.objects.filter(tunnel_id__in=[change.tunnel_id for change in history])
        .values("tunnel_id")
        .annotate(latest=Max("changed_at"))
        .values_list("tunnel_id", "latest")
    )
    for change in history:
        previous = latest.get(change.tunnel_id)
        if previous is not None and change.changed_at < previous:
            change.changed_at = previous


def stage_for(*, stage: str, tunnel_count: int, statuses: dict[int, str]) -> str:
    """The stage a request's monitored tunnels imply (`statuses`: position -> status).

    All monitored tunnels up: live; some: degraded; none: down, except that a request
    still waiting for the customer stays waiting until a tunnel first comes up.
    """
    monitored = [status for position, status in statuses.items() if position <= tunnel_count]
    up = sum(status == TunnelStatus.UP for status in monitored)
    if monitored and up == len(monitored):
        return Stage.LIVE
    if up:
        return Stage.DEGRADED
    return Stage.AWAITING_CUSTOMER if stage == Stage.AWAITING_CUSTOMER else Stage.DOWN


def _stages_recompute(watched: list[_Watched]) -> int:
    """Move each request whose tunnels now imply another stage; returns how many moved."""
    statuses: dict[int, dict[int, str]] = defaultdict(dict)
    messages: dict[int, dict[int, str]] = defaultdict(dict)
    for request_id, position, status, message in Tunnel.objects.filter(
        request_id__in=[w.request_id for w in watched]
    ).values_list("request_id", "position", "status", "status_message"):
        statuses[request_id][position] = status
        messages[request_id][position] = message
    moved = 0
    for item in watched:
        tunnels = statuses.get(item.request_id)
        if not tunnels:
            continue
        target = stage_for(stage=item.stage, tunnel_count=item.tunnel_count, statuses=tunnels)
        if target == item.stage:
            continue
        parts = []
        for position, status in sorted(tunnels.items()):
            if position > item.tunnel_count:
                continue
            message = messages[item.request_id][position]
            why = f" ({message})" if status != TunnelStatus.UP and message else ""
            parts.append(f"Tunnel {position} {TunnelStatus(status).label.lower()}{why}")
        try:
            request_move(
                request_id=item.request_id,
                to_stage=target,
                from_stage=item.stage,
                actor_label=ACTOR_LABEL,
                note="; ".join(parts) + ".",
            )
        except StageMoveError as exc:
            # Decommissioned or moved by someone else meanwhile: their move stands.
            logger.info("Status refresh: not moving request %s: %s", item.request_id, exc)
            continue
        moved += 1
    return moved


# --- Alerts -----------------------------------------------------------------------------
#
# Alerts are per request, not per tunnel: each recipient gets one email when the
# request's health changes (see `vpn.selectors.status.request_health`):
#
#   degraded   some monitored tunnel is down after having been up, another is up
#   down       no monitored tunnel is up (and one had been)
#   recovered  every tunnel that had been up is up again, after an alerted outage
#
# A request is weighed only once its monitored tunnels have all kept their status for
# `TUNNEL_ALERT_HOLD_OFF_SECONDS`: a flap within the hold-off emails nobody, and both
# tunnels dropping within it is one "down" email, never "degraded" then "down". Every
# settled change of health is emailed, whichever way it goes: degraded then down is
# two emails (the second tells of the escalation), down then degraded too (traffic
# flows again, without a spare). What people were last told is the health in the key
# of the request's latest alert in the outbox.


def alerts_send() -> int:
    """Weigh every request whose pending status changes have settled, then send the alert
    emails that are due; returns how many were sent.

    The pending changes are sorted in bulk first (`_alerts_sort`): those that cannot call
    for an email are marked weighed together, unsettled ones are left for a later
    refresh. Only the requests that may call for an email are then weighed one by one,
    under a lock, each writing its alert to the outbox. The emails are sent after those
    transactions have committed, with any earlier alert due for a retry.
    """
    now = timezone.now()
    settled_before = now - timedelta(seconds=settings.TUNNEL_ALERT_HOLD_OFF_SECONDS)
    for request_id in _alerts_sort(now=now, settled_before=settled_before):
        try:
            _request_alert(request_id, now=now, settled_before=settled_before)
        except Exception:
            # A bug or a database error: the changes stay pending and the next refresh
            # tries again; the other requests' alerts go out regardless.
            logger.exception("Status alert for request %s failed; will try again", request_id)
    try:
        return emails_send(key_prefix=ALERT_KEY_PREFIX)
    except Exception:
        # The outbox keeps the emails for the next pass; the run must still be recorded.
        logger.exception("Status alerts could not be sent; will try again")
        return 0


def _alerts_sort(*, now: datetime, settled_before: datetime) -> list[int]:
    """Mark the settled pending changes that cannot call for an email as weighed, at once.

    Those are the changes of tunnels that are not watched (the spare of a one-tunnel
    setup, a request no longer operational), and those of requests whose health is
    nothing to tell: never up yet, or up as it always was. Returns the requests that
    may call for an email, in id order, for `_request_alert` to weigh under its lock.
    """
    if not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists():
        return []  # The usual case: no transaction for nothing.
    with transaction.atomic():
        # Locked as `_request_alert` locks them: a concurrent refresh skips these rows.
        pending = list(
            TunnelStatusChange.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notified_at__isnull=True)
            .values_list(
                "pk",
                "changed_at",
                "tunnel__position",
                "tunnel__request_id",
                "tunnel__request__tunnel_count",
                "tunnel__request__stage",
            )
        )
        quiet: list[int] = []
        by_request: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        for pk, changed_at, position, request_id, tunnel_count, stage in pending:
            if stage in OPERATIONAL_STAGES and position <= tunnel_count:
                by_request[request_id].append((pk, changed_at))
            else:
                quiet.append(pk)
        settled = [
            request_id
            for request_id, rows in by_request.items()
            if max(changed_at for _, changed_at in rows) <= settled_before
        ]
        due: list[int] = []
        for chunk in _chunks(settled):
            healths = _healths(chunk)
            ever_alerted = set(
                TunnelStatusChange.objects.filter(
                    tunnel__request_id__in=chunk, alerted=True
                ).values_list("tunnel__request_id", flat=True)
            )
            for request_id in chunk:
                state = healths[request_id].state
                if state is None or (state == HEALTH_OK and request_id not in ever_alerted):
                    quiet.extend(pk for pk, _ in by_request[request_id])
                else:
                    due.append(request_id)
        for chunk in _chunks(quiet):
            TunnelStatusChange.objects.filter(pk__in=chunk).update(notified_at=now)
    return sorted(due)


def _healths(request_ids: list[int]) -> dict[int, RequestHealth]:
    """The health of each request, from its tunnels' stored status and history."""
    ever_up = set(
        TunnelStatusChange.objects.filter(
            tunnel__request_id__in=request_ids, new_status=TunnelStatus.UP
        ).values_list("tunnel_id", flat=True)
    )
    tunnels: dict[int, list[tuple[int, str, bool]]] = defaultdict(list)
    counts: dict[int, int] = {}
    for pk, request_id, position, status, tunnel_count in Tunnel.objects.filter(
        request_id__in=request_ids
    ).values_list("pk", "request_id", "position", "status", "request__tunnel_count"):
        tunnels[request_id].append((position, status, pk in ever_up))
        counts[request_id] = tunnel_count
    return {
        request_id: request_health(
            tunnel_count=counts.get(request_id, 0), tunnels=tunnels[request_id]
        )
        for request_id in request_ids
    }


def _chunks(items: list[int], size: int = 500):
    """`items` in slices of `size`: short IN lists on every database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def alert_kind(*, health: str | None, told: str | None) -> str | None:
    """The alert rule: which alert (HEALTH_DOWN, HEALTH_DEGRADED, ALERT_RECOVERED) a
    settled `health` calls for, given the latest alert people were `told` (None: never
    alerted, as good as told all is well); None for no email."""
    told_health = HEALTH_OK if told in (None, ALERT_RECOVERED) else told
    if health is None or health == told_health:
        return None
    return ALERT_RECOVERED if health == HEALTH_OK else health


def _request_alert(request_id: int, *, now: datetime, settled_before: datetime) -> int:
    """Weigh one request's pending changes: if its settled health calls for it, write the
    alert to the outbox (once). Returns how many emails were queued."""
    with transaction.atomic():
        # The tunnels first, as the refresh locks them: their status cannot change, nor
        # a change be added, while the request is weighed.
        tunnels = list(
            Tunnel.objects.select_for_update().filter(request_id=request_id).order_by("pk")
        )
        rows = list(
            TunnelStatusChange.objects.select_for_update(of=("self",))
            .filter(tunnel__request_id=request_id, notified_at__isnull=True)
            .order_by("changed_at", "pk")
        )
        if not rows:
            return 0  # Another refresh weighed them.
        request = VpnRequest.objects.select_related("customer", "owner").get(pk=request_id)
        monitored = [tunnel for tunnel in tunnels if tunnel.position <= request.tunnel_count]
        relevant = [row for row in rows if row.tunnel_id in {t.pk for t in monitored}]
        watched = request.stage in OPERATIONAL_STAGES
        if watched and relevant and relevant[-1].changed_at > settled_before:
            return 0  # Not settled yet: a flap within the hold-off emails nobody.
        if watched and relevant and request.changes.filter(state__in=ACTIVE_CHANGE_STATES).exists():
            # A planned change takes its tunnels down one at a time: its changes are
            # weighed once it ends, so a tunnel back up in time emails nobody, and one that
            # stays down is alerted as soon as the change stops.
            return 0
        queued = 0
        if watched and relevant:
            health = _healths([request_id])[request_id]
            told = _told(request_id)
            kind = alert_kind(health=health.state, told=told)
            if kind is not None:
                decisive = relevant[-1]
                queued = _alert_queue(
                    request, monitored, health=health, kind=kind, told=told, decisive=decisive
                )
                decisive.alerted = True
                decisive.save(update_fields=["alerted"])
        TunnelStatusChange.objects.filter(pk__in=[row.pk for row in rows]).update(notified_at=now)
    return queued


def _alert_key(request_id: int) -> str:
    """The start of the outbox key of every alert about one request."""
    return f"{ALERT_KEY_PREFIX}{request_id}:"


def _told(request_id: int) -> str | None:
    """The latest alert people were sent about the request (its kind), or None."""
    key = (
        Notification.objects.filter(key__startswith=_alert_key(request_id))
        .order_by("-created_at", "-pk")
        .values_list("key", flat=True)
        .first()
    )
    # request-health:<request>:<change>:<kind>:<audience>
    return key.split(":")[3] if key else None


@dataclass(frozen=True)
class _TunnelFact:
    """One monitored tunnel as an alert states it."""

    position: int
    outside_ip: str
    status: str
    status_label: str
    since: datetime | None
    message: str


def _alert_queue(
    request: VpnRequest,
    monitored: list[Tunnel],
    *,
    health: RequestHealth,
    kind: str,
    told: str | None,
    decisive: TunnelStatusChange,
) -> int:
    """Write one alert about the request's health to the outbox: one email for the owning
    engineer and one for the customer's contact. Returns how many were queued.

    Subject and body come from the same facts: the heading ("Outage", "No redundancy",
    "Recovered") and summary ("both tunnels down") of `health`, and each tunnel's status
    since its latest change.
    """
    latest = dict(
        TunnelStatusChange.objects.filter(tunnel__in=monitored)
        .values("tunnel_id")
        .annotate(latest=Max("changed_at"))
        .values_list("tunnel_id", "latest")
    )
    tunnels = [
        _TunnelFact(
            position=tunnel.position,
            outside_ip=tunnel.outside_ip,
            status=tunnel.status,
            status_label=TunnelStatus(tunnel.status).label,
            since=latest.get(tunnel.pk),
            message=tunnel.status_message,
        )
        for tunnel in sorted(monitored, key=lambda t: t.position)
    ]
    heading = HEALTH_HEADINGS[HEALTH_OK if kind == ALERT_RECOVERED else kind]
    context = {
        "request": request,
        "alert": {
            "kind": kind,
            "headline": f"{heading}: {health.summary}",
            "since": decisive.changed_at,
            "told": told,
            "told_heading": HEALTH_HEADINGS.get(told or "", "").lower(),
            "up": tunnels_phrase(health.up, request.tunnel_count),
            "lost": tunnels_phrase(health.lost, request.tunnel_count),
            "pending": tunnels_phrase(health.pending, request.tunnel_count),
            "tunnels": tunnels,
            "down_ips": " and ".join(t.outside_ip for t in tunnels if t.status != TunnelStatus.UP),
        },
        "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
    }
    # One key per change of health and audience: each audience gets its own version,
    # even at the same address, and weighing the same change again writes nothing.
    key = f"{_alert_key(request.pk)}{decisive.pk}:{kind}"
    queued = 0
    if request.owner is not None:
        queued += email_queue(
            key=f"{key}:engineer",
            template="health_alert_engineer",
            context=context,
            to=[request.owner.email],
        )
    queued += email_queue(
        key=f"{key}:customer",
        template="health_alert_customer",
        context=context,
        to=[request.customer.contact_email],
    )
    return queued
