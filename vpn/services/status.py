"""Tunnel status: the refresh that reads AWS's telemetry, and the alerts it gives rise to.

`status_refresh` asks AWS once per region for every VPN connection the portal tagged
(`DescribeVpnConnections` filtered by the portal's tag: never one call per request),
matches tunnels by their AWS outside IP, writes only what changed (in bulk, with one
`TunnelStatusChange` row per change of status), moves each request to the stage its
tunnels imply (live, degraded, down) and then weighs the pending changes for alerts.

Alerts: a monitored tunnel that goes down after having been up, and comes back up after
an alerted outage, emails the owning engineer and the customer's contact once. A change
is weighed only once the tunnel has kept its status for `TUNNEL_ALERT_HOLD_OFF_SECONDS`,
so a tunnel flapping within that time emails nobody until it settles. The second tunnel
of a one-tunnel setup is refreshed and shown but never alerts or counts for the stage.
An alert is written to the email outbox (one row per recipient) in the transaction that
weighs the change, and sent once that has committed: a mail server failing for one
recipient delays that recipient's email, and never sends the other's twice.

Views never call AWS: they read the stored snapshot this module writes.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from vpn import aws, events
from vpn.choices import OPERATIONAL_STAGES, AwsResourceRole, Stage, TunnelStatus
from vpn.models import AwsResource, StatusRefresh, Tunnel, TunnelStatusChange
from vpn.services.notifications import email_queue, emails_send
from vpn.services.stages import StageMoveError, request_move

logger = logging.getLogger(__name__)

# Who the stage history names for moves made by the refresh.
ACTOR_LABEL = "status refresh"
# The outbox key of every alert email starts with this, then the change's id.
ALERT_KEY_PREFIX = "tunnel-alert:"

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

    A region whose call fails keeps its tunnels' last known status; the error is kept on
    the run (and shown on the pages) and the other regions are refreshed all the same.
    """
    started = timezone.now()
    by_region = _watched(regions)
    run = StatusRefresh(
        trigger=trigger, started_at=started, regions=sorted({*by_region, *(regions or ())})
    )
    for region, watched in sorted(by_region.items()):
        try:
            connections = aws.vpn_connections_describe(region)
        except aws.AwsError as exc:
            logger.warning("Status refresh: %s failed: %s", region, exc)
            run.errors[region] = str(exc)
            continue
        finally:
            run.aws_calls += 1
        try:
            by_id = {connection.id: connection for connection in connections}
            changed = _tunnels_apply(watched, by_id)
            # Every time, not only after a change: a move that failed or raced before is
            # made now, so a request's stage never stays out of step with its tunnels.
            run.requests_moved += _stages_recompute(watched)
        except Exception as exc:
            # A bug or a database error must not cost the other regions their refresh,
            # nor the record of this run (the pages would go stale without a word).
            logger.exception("Status refresh: %s could not be applied", region)
            run.errors[region] = f"The portal could not apply AWS's answer: {exc}"
            continue
        run.requests_seen += len(watched)
        run.tunnels_changed += changed
    run.alerts_sent = alerts_send()
    run.finished_at = timezone.now()
    run.save()
    StatusRefresh.objects.filter(
        started_at__lt=started - timedelta(days=settings.STATUS_REFRESH_KEEP_DAYS)
    ).delete()
    logger.info(
        "Status refresh: %s region(s), %s call(s), %s request(s), %s tunnel change(s), "
        "%s stage move(s), %s alert(s), errors: %s",
        len(run.regions),
        run.aws_calls,
        run.requests_seen,
        run.tunnels_changed,
        run.requests_moved,
        run.alerts_sent,
        run.errors or "none",
    )
    return run


def status_refresh_queue(*, trigger: str, regions: list[str] | None = None) -> None:
    """Queue a status refresh (of `regions`, or all) as a job, once the caller commits."""
    # Job arguments are kept in Redis: plain strings and lists.
    events.job_enqueue("vpn.jobs.status_refresh", str(trigger), list(regions) if regions else None)


def _watched(regions: list[str] | None) -> dict[str, list[_Watched]]:
    """Requests in an operational stage with a VPN connection, grouped by region."""
    resources = AwsResource.objects.filter(
        role=AwsResourceRole.VPN_CONNECTION,
        deleted_at__isnull=True,
        request__stage__in=OPERATIONAL_STAGES,
    )
    if regions is not None:
        resources = resources.filter(region__in=regions)
    by_region: dict[str, list[_Watched]] = defaultdict(list)
    for request_id, region, connection_id, stage, tunnel_count in resources.values_list(
        "request_id", "region", "resource_id", "request__stage", "request__tunnel_count"
    ):
        by_region[region].append(_Watched(request_id, connection_id, stage, tunnel_count))
    return by_region


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


def alerts_send() -> int:
    """Weigh every pending status change whose tunnel has settled, then send the alert
    emails that are due; returns how many were sent.

    The pending changes are sorted in bulk first (`_alerts_sort`): those that call for
    no email are marked weighed together, unsettled ones are left for a later refresh.
    Only the tunnels that call for an email are then weighed one by one, under a lock,
    each writing its alert to the outbox. The emails are sent after those transactions
    have committed, with any earlier alert due for a retry.
    """
    now = timezone.now()
    settled_before = now - timedelta(seconds=settings.TUNNEL_ALERT_HOLD_OFF_SECONDS)
    for tunnel_id in _alerts_sort(now=now, settled_before=settled_before):
        try:
            _tunnel_alert(tunnel_id, now=now, settled_before=settled_before)
        except Exception:
            # A bug or a database error: the changes stay pending and the next refresh
            # tries again; the other tunnels' alerts go out regardless.
            logger.exception("Status alert for tunnel %s failed; will try again", tunnel_id)
    try:
        return emails_send(key_prefix=ALERT_KEY_PREFIX)
    except Exception:
        # The outbox keeps the emails for the next pass; the run must still be recorded.
        logger.exception("Status alerts could not be sent; will try again")
        return 0


def _alerts_sort(*, now: datetime, settled_before: datetime) -> list[int]:
    """Mark the settled pending changes that call for no email as weighed, all at once.

    Returns the tunnels whose settled changes call for an email, in id order, for
    `_tunnel_alert` to weigh again under its own lock (this is only a filter).
    """
    if not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists():
        return []  # The usual case: no transaction for nothing.
    with transaction.atomic():
        # Locked as `_tunnel_alert` locks them: a concurrent refresh skips these rows.
        pending = list(
            TunnelStatusChange.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notified_at__isnull=True)
            .order_by("tunnel_id", "changed_at", "pk")
            .values_list(
                "pk",
                "tunnel_id",
                "new_status",
                "changed_at",
                "tunnel__position",
                "tunnel__request__tunnel_count",
                "tunnel__request__stage",
            )
        )
        rows: dict[int, list[int]] = defaultdict(list)
        latest: dict[int, tuple] = {}
        for row in pending:
            rows[row[1]].append(row[0])
            latest[row[1]] = row  # in time order: the last one is the latest
        told: dict[int, str] = {}
        ever_up: set[int] = set()
        for chunk in _chunks(list(latest)):
            for tunnel_id, status in (
                TunnelStatusChange.objects.filter(tunnel_id__in=chunk, alerted=True)
                .order_by("tunnel_id", "changed_at", "pk")
                .values_list("tunnel_id", "new_status")
            ):
                told[tunnel_id] = status  # in time order: the latest alert wins
            ever_up.update(
                TunnelStatusChange.objects.filter(
                    tunnel_id__in=chunk, new_status=TunnelStatus.UP
                ).values_list("tunnel_id", flat=True)
            )
        quiet: list[int] = []
        due: list[int] = []
        for tunnel_id, (_, _, status, changed_at, position, tunnel_count, stage) in latest.items():
            watched = position <= tunnel_count and stage in OPERATIONAL_STAGES
            if watched and changed_at > settled_before:
                continue  # Not settled yet: a flap within the hold-off emails nobody.
            if watched and _due(status, told=told.get(tunnel_id), ever_up=tunnel_id in ever_up):
                due.append(tunnel_id)
            else:
                quiet.extend(rows[tunnel_id])
        for chunk in _chunks(quiet):
            TunnelStatusChange.objects.filter(pk__in=chunk).update(notified_at=now)
    return sorted(due)


def _chunks(items: list[int], size: int = 500):
    """`items` in slices of `size`: short IN lists on every database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _due(status: str, *, told: str | None, ever_up: bool) -> bool:
    """The alert rule: a settled `status` calls for an email when the tunnel is down after
    having been up (and people were not already told it is down), or up again after an
    outage people were told of. `told` is the status of the tunnel's latest alert."""
    if status == TunnelStatus.DOWN:
        return told != TunnelStatus.DOWN and ever_up
    return status == TunnelStatus.UP and told == TunnelStatus.DOWN


def _tunnel_alert(tunnel_id: int, *, now: datetime, settled_before: datetime) -> int:
    """Weigh one tunnel's pending changes: if its settled status calls for it, write the
    alert to the outbox (once). Returns how many emails were queued."""
    with transaction.atomic():
        rows = list(
            TunnelStatusChange.objects.select_for_update(skip_locked=True)
            .filter(tunnel_id=tunnel_id, notified_at__isnull=True)
            .order_by("changed_at", "pk")
        )
        if not rows:
            return 0  # Another refresh is weighing them.
        latest = rows[-1]
        tunnel = Tunnel.objects.select_related("request__customer", "request__owner").get(
            pk=tunnel_id
        )
        request = tunnel.request
        watched = tunnel.monitored and request.stage in OPERATIONAL_STAGES
        if watched and latest.changed_at > settled_before:
            return 0  # Not settled yet: a flap within the hold-off emails nobody.
        queued = 0
        if watched and _alert_due(tunnel, latest.new_status):
            queued = _alert_queue(tunnel, latest)
            latest.alerted = True
            latest.save(update_fields=["alerted"])
        TunnelStatusChange.objects.filter(pk__in=[row.pk for row in rows]).update(notified_at=now)
    return queued


def _alert_due(tunnel: Tunnel, status: str) -> bool:
    """`_due` for one tunnel, its history read now (under the caller's lock)."""
    told = (
        TunnelStatusChange.objects.filter(tunnel=tunnel, alerted=True)
        .order_by("-changed_at", "-pk")
        .values_list("new_status", flat=True)
        .first()
    )
    ever_up = tunnel.status_changes.filter(new_status=TunnelStatus.UP).exists()
    return _due(status, told=told, ever_up=ever_up)


def _alert_queue(tunnel: Tunnel, change: TunnelStatusChange) -> int:
    """Write the alert about one tunnel's change to the outbox: one email for the owning
    engineer and one for the customer's contact. Returns how many were queued."""
    request = tunnel.request
    others = [
        other
        for other in request.tunnels.order_by("position")
        if other.pk != tunnel.pk and other.monitored
    ]
    context = {
        "request": request,
        "tunnel": tunnel,
        "change": change,
        "others": others,
        # The other monitored tunnels, up and not: what the email says of the VPN as a
        # whole ("traffic continues over the other tunnel", "tunnel 2 is still down").
        "others_up": [other for other in others if other.status == TunnelStatus.UP],
        "others_down": [other for other in others if other.status != TunnelStatus.UP],
        "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
    }
    # One key per audience: each gets its own version, even at the same address.
    key = f"{ALERT_KEY_PREFIX}{change.pk}"
    queued = 0
    if request.owner is not None:
        queued += email_queue(
            key=f"{key}:engineer",
            template="tunnel_alert_engineer",
            context=context,
            to=[request.owner.email],
        )
    queued += email_queue(
        key=f"{key}:customer",
        template="tunnel_alert_customer",
        context=context,
        to=[request.customer.contact_email],
    )
    return queued
