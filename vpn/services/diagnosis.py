"""What the status refresh learns beyond each tunnel's status: what an up tunnel
negotiated, and why a tunnel that is down, flapping or without routes is so.

Both run inside `vpn.services.status.status_refresh`, after a region's telemetry has
been applied, and both ask AWS only about the tunnels that need it, so that a refresh of
many healthy VPNs costs what it cost before (`bench/bench_status.py`):

* `tunnels_negotiated_read` calls `GetActiveVpnTunnelStatus` (one tunnel per call: AWS
  has no batch form) for an up tunnel only when its telemetry changed since the last
  reading. What a tunnel negotiated changes only when it negotiates again, which AWS
  reports as a change (its `LastStatusChange` moves with IKE, IPsec and BGP state; a
  rekey keeps the algorithms); a steady tunnel is therefore read once, not once per
  refresh. The refresh dates each change of telemetry on the portal's clock
  (`Tunnel.updated_at`): AWS's own times are whole seconds, too coarse to tell a tunnel
  that came up again within the second of the last reading.
* `tunnels_diagnose` reads the log events of the VPN connections that have a problem
  tunnel (at most two calls per connection: its streams, then their events), and only
  when the tunnel's telemetry changed since its last diagnosis, or that diagnosis named
  no cause and is older than `DIAGNOSIS_STALE_SECONDS` (log events may arrive after the
  status changed). A tunnel that is healthy again has its diagnosis cleared without a
  call.

Each refresh does at most `NEGOTIATED_READS_PER_REGION` and
`DIAGNOSED_CONNECTIONS_PER_REGION` of these per region, the most recent changes first:
when many tunnels change at once (a region's outage, a first refresh), the status itself
is not held up, and the next refreshes catch up on the rest.

The diagnosis itself is `vpn.diagnosis.diagnose`, over the table of known causes.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from vpn import aws
from vpn.choices import Routing, TunnelStatus
from vpn.diagnosis import (
    REASON_DOWN,
    REASON_FLAPPING,
    REASON_NO_ROUTES,
    diagnose,
    log_line,
)
from vpn.models import Tunnel, TunnelStatusChange

logger = logging.getLogger(__name__)

# A tunnel's log events are read from this long before its last change of status: AWS
# writes the lines of a failed negotiation before it reports the tunnel down.
LOG_LEAD_SECONDS = 120
# The most log events read for one connection's problem tunnels at a time.
LOG_EVENTS_PER_CONNECTION = 200
# Per region and refresh: tunnels whose negotiation is read, connections diagnosed. A
# call takes tens of milliseconds: together at most about a second or two per region.
NEGOTIATED_READS_PER_REGION = 20
DIAGNOSED_CONNECTIONS_PER_REGION = 10


def _monitored(connections: dict[int, str]):
    """The monitored tunnels of the requests in `connections` (request id -> VPN
    connection id), with what the diagnosis needs of their request."""
    return [
        tunnel
        for tunnel in Tunnel.objects.filter(request_id__in=connections)
        .select_related("request")
        .only(
            "pk",
            "position",
            "outside_ip",
            "status",
            "status_message",
            "last_status_change",
            "accepted_route_count",
            "negotiated_at",
            "diagnosis",
            "diagnosed_at",
            "updated_at",
            "request__id",
            "request__tunnel_count",
            "request__routing",
        )
        .order_by("pk")
        if tunnel.position <= tunnel.request.tunnel_count
    ]


def tunnel_details_read(*, region: str, connections: dict[int, str]) -> int:
    """Read what up tunnels negotiated and diagnose the tunnels in trouble, for the
    requests in `connections` (request id -> VPN connection id) of one region; returns
    how many AWS calls were made. One query loads the tunnels for both; a failure of
    one part leaves the other to run."""
    tunnels = _monitored(connections)
    calls = 0
    for read in (tunnels_negotiated_read, tunnels_diagnose):
        try:
            calls += read(region=region, connections=connections, tunnels=tunnels)
        except Exception:
            logger.exception("%s in %s failed; the next refresh tries again", read.__name__, region)
    return calls


def tunnels_negotiated_read(
    *, region: str, connections: dict[int, str], tunnels: list[Tunnel]
) -> int:
    """Store what each up tunnel of `tunnels` negotiated, for those not read since their
    telemetry last changed; returns how many AWS calls were made.

    A call that fails leaves the tunnel to the next refresh.
    """
    due = [
        tunnel
        for tunnel in tunnels
        if tunnel.status == TunnelStatus.UP
        and (tunnel.negotiated_at is None or tunnel.updated_at > tunnel.negotiated_at)
    ]
    due.sort(key=lambda tunnel: tunnel.updated_at, reverse=True)
    calls = 0
    for tunnel in due[:NEGOTIATED_READS_PER_REGION]:
        calls += 1
        try:
            negotiated = aws.vpn_tunnel_active_status(
                region,
                vpn_connection_id=connections[tunnel.request_id],
                outside_ip=tunnel.outside_ip,
            )
        except aws.AwsError as exc:
            logger.warning("Negotiated parameters of %s not read: %s", tunnel, exc)
            continue
        if not negotiated.ike_version:
            continue  # AWS reports nothing negotiated (the tunnel went down meanwhile)
        Tunnel.objects.filter(pk=tunnel.pk).update(
            negotiated=negotiated.as_dict(), negotiated_at=timezone.now()
        )
    return calls


def problem_reason(*, tunnel: Tunnel, flaps: int) -> str:
    """Why the tunnel needs a diagnosis ("" for none): down, flapping (`flaps` drops
    within the window), or up over BGP without a route."""
    if tunnel.status != TunnelStatus.UP:
        return REASON_DOWN
    if flaps >= settings.DIAGNOSIS_FLAP_DROPS:
        return REASON_FLAPPING
    if tunnel.request.routing == Routing.BGP and tunnel.accepted_route_count == 0:
        return REASON_NO_ROUTES
    return ""


def flap_counts(*, tunnel_ids: list[int], now: datetime) -> dict[int, int]:
    """How often each tunnel dropped (from up) within the flapping window (one query):
    a new tunnel coming up, or one outage, is no flapping."""
    since = now - timedelta(seconds=settings.DIAGNOSIS_FLAP_WINDOW_SECONDS)
    return dict(
        TunnelStatusChange.objects.filter(
            tunnel_id__in=tunnel_ids, changed_at__gte=since, old_status=TunnelStatus.UP
        )
        .values("tunnel_id")
        .annotate(count=Count("pk"))
        .values_list("tunnel_id", "count")
    )


def tunnels_diagnose(*, region: str, connections: dict[int, str], tunnels: list[Tunnel]) -> int:
    """Diagnose the problem tunnels of `tunnels` whose diagnosis is missing, overtaken or
    stale, and clear that of the healthy ones; returns how many AWS calls were made."""
    now = timezone.now()
    flaps = flap_counts(tunnel_ids=[tunnel.pk for tunnel in tunnels], now=now)
    stale_before = now - timedelta(seconds=settings.DIAGNOSIS_STALE_SECONDS)
    healthy: list[int] = []
    due: dict[int, list[tuple[Tunnel, str]]] = defaultdict(list)
    for tunnel in tunnels:
        reason = problem_reason(tunnel=tunnel, flaps=flaps.get(tunnel.pk, 0))
        if not reason:
            if tunnel.diagnosis:
                healthy.append(tunnel.pk)
            continue
        diagnosed = tunnel.diagnosed_at
        # The refresh dates every change of telemetry on the portal's clock (AWS's own
        # times are whole seconds: too coarse to tell a change from the last diagnosis).
        if (
            diagnosed is None
            or tunnel.updated_at > diagnosed
            or tunnel.diagnosis.get("reason") != reason
            or (not tunnel.diagnosis.get("cause") and diagnosed < stale_before)
        ):
            due[tunnel.request_id].append((tunnel, reason))
    if healthy:
        Tunnel.objects.filter(pk__in=healthy).update(diagnosis={}, diagnosed_at=now)
    # The latest changes first; the rest wait for the next refresh.
    order = sorted(
        due,
        key=lambda request_id: max(tunnel.updated_at for tunnel, _ in due[request_id]),
        reverse=True,
    )
    calls = 0
    for request_id in order[:DIAGNOSED_CONNECTIONS_PER_REGION]:
        problems = due[request_id]
        calls += _connection_diagnose(
            region=region, connection_id=connections[request_id], problems=problems, now=now
        )
    return calls


def _since(tunnel: Tunnel, reason: str, now: datetime) -> datetime:
    """From when a tunnel's log events say why it is in trouble."""
    if reason == REASON_FLAPPING:
        return now - timedelta(seconds=settings.DIAGNOSIS_FLAP_WINDOW_SECONDS)
    changed = tunnel.last_status_change or now
    return changed - timedelta(seconds=LOG_LEAD_SECONDS)


def _connection_diagnose(
    *, region: str, connection_id: str, problems: list[tuple[Tunnel, str]], now: datetime
) -> int:
    """Read one connection's recent log events once and diagnose each of its problem
    tunnels from them; returns how many AWS calls were made (two, or one when the log
    group is missing)."""
    since = min(_since(tunnel, reason, now) for tunnel, reason in problems)
    logs_error = ""
    try:
        events = aws.tunnel_log_events(
            region,
            group_name=settings.TUNNEL_LOG_GROUP,
            connection_id=connection_id,
            since=since,
            limit=LOG_EVENTS_PER_CONNECTION,
        )
        calls = 2
    except aws.AwsNotFoundError:
        events, calls = [], 1
        logs_error = f"No tunnel logs: the log group {settings.TUNNEL_LOG_GROUP} does not exist."
    except aws.AwsError as exc:
        events, calls = [], 2
        logs_error = f"The tunnel logs could not be read: {exc}"
        logger.warning("Tunnel logs of %s not read: %s", connection_id, exc)
    lines = [
        log_line(connection_id=connection_id, stream=e.stream, message=e.message, at=e.timestamp)
        for e in events
    ]
    for tunnel, reason in problems:
        start = _since(tunnel, reason, now)
        finding = diagnose(
            lines=[
                line for line in lines if line.tunnel_ip == tunnel.outside_ip and line.at >= start
            ],
            status_message=tunnel.status_message,
        )
        Tunnel.objects.filter(pk=tunnel.pk).update(
            diagnosis={
                "reason": reason,
                "cause": finding.cause.key if finding.cause else "",
                "evidence": finding.evidence,
                "evidence_kind": finding.evidence_kind,
                "evidence_at": finding.evidence_at.isoformat() if finding.evidence_at else None,
                "logs_error": logs_error,
            },
            diagnosed_at=now,
        )
    return calls
