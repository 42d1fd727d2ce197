"""Reads of tunnel status: each request's redundancy risk, each tunnel's uptime and
history (which `vpn.status_chart` turns into the chart), the latest refresh, and the
status as plain data (the JSON endpoint, `vpn_status` and the metrics)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from vpn.choices import (
    BUSY_STAGES,
    OPERATIONAL_STAGES,
    RISK_COLOURS,
    TERMINAL_STAGES,
    RedundancyRisk,
    Stage,
    TunnelStatus,
)
from vpn.models import PendingMaintenance, StatusRefresh, Tunnel, TunnelStatusChange, VpnRequest
from vpn.selectors.diagnosis import troubleshooting_context
from vpn.selectors.maintenance import maintenance_context
from vpn.status_chart import UPTIME_WINDOWS, TunnelReport, status_chart, tunnel_report


def with_redundancy_risk(requests: QuerySet[VpnRequest]) -> QuerySet[VpnRequest]:
    """Annotate each request with `tunnels_up` (monitored tunnels up), `redundancy_risk`
    (low, high, down; "" outside the operational stages, and while a request waits for
    its customer with no tunnel up yet) and `health_rank` (0 for down ... 3 for none)."""
    # One row per request with a monitored tunnel up, none without: the subqueries
    # below are NULL when no monitored tunnel is up.
    up = (
        Tunnel.objects.filter(
            request=OuterRef("pk"), status=TunnelStatus.UP, position__lte=OuterRef("tunnel_count")
        )
        .order_by()
        .values("request")
        .annotate(count=Count("pk"))
    )
    # Tunnels are numbered 1 and 2, and a request has one or two: one up is high risk
    # (all of one, or half of two), two up is low risk, and the rank is the count up.
    # Each expression names its subquery once, so that ordering or filtering by it runs
    # the subquery once per request (a CASE testing it several times would run it as
    # many times, for every request of the list).
    risk_when_up = up.annotate(
        risk=Case(
            When(count__gte=2, then=Value(RedundancyRisk.LOW.value)),
            default=Value(RedundancyRisk.HIGH.value),
            output_field=CharField(),
        )
    ).values("risk")
    none_up = Q(stage=Stage.AWAITING_CUSTOMER)  # not configured yet: nothing lost
    operational = Q(stage__in=OPERATIONAL_STAGES)
    return requests.annotate(
        tunnels_up=Coalesce(Subquery(up.values("count")), 0),
        redundancy_risk=Case(
            When(~operational, then=Value("")),
            default=Coalesce(
                Subquery(risk_when_up),
                Case(
                    When(none_up, then=Value("")),
                    default=Value(RedundancyRisk.DOWN.value),
                    output_field=CharField(),
                ),
            ),
            output_field=CharField(),
        ),
        health_rank=Case(
            When(~operational, then=Value(3)),
            default=Coalesce(
                Subquery(up.values("count")),
                Case(When(none_up, then=Value(3)), default=Value(0)),
            ),
            output_field=IntegerField(),
        ),
    )


# --- Health in words: the badge and the alert emails say it the same way ----------------

# A request's health as its alerts weigh it: every monitored tunnel up, some, or none.
HEALTH_OK, HEALTH_DEGRADED, HEALTH_DOWN = "ok", "degraded", "down"
# What each alert is called, first in its subject (and the badge's words for the same).
HEALTH_HEADINGS = {HEALTH_DOWN: "Outage", HEALTH_DEGRADED: "No redundancy", HEALTH_OK: "Recovered"}


@dataclass(frozen=True)
class RequestHealth:
    """What a request's monitored tunnels say of it, from their current status.

    `lost` are down (or unreported) after having been up, `pending` have never been up
    (the customer has not configured them yet). `state` is None until some monitored
    tunnel has been up: before that, there is nothing to lose.
    """

    tunnel_count: int
    up: tuple[int, ...]
    lost: tuple[int, ...]
    pending: tuple[int, ...]

    @property
    def state(self) -> str | None:
        """HEALTH_OK, HEALTH_DEGRADED, HEALTH_DOWN, or None (never up yet)."""
        if not self.up and not self.lost:
            return None
        if not self.up:
            return HEALTH_DOWN
        return HEALTH_DEGRADED if self.lost else HEALTH_OK

    @property
    def summary(self) -> str:
        """The tunnels in a few words: "both tunnels down", "tunnel 2 down, tunnel 1 up"."""
        parts = []
        if not self.up:
            parts.append(f"{tunnels_phrase([*self.lost, *self.pending], self.tunnel_count)} down")
        else:
            if self.lost:
                parts.append(f"{tunnels_phrase(self.lost, self.tunnel_count)} down")
            parts.append(f"{tunnels_phrase(self.up, self.tunnel_count)} up")
            if self.pending:
                parts.append(f"{tunnels_phrase(self.pending, self.tunnel_count)} not up yet")
        return ", ".join(parts)


def request_health(*, tunnel_count: int, tunnels: list[tuple[int, str, bool]]) -> RequestHealth:
    """The health of a request from its tunnels as (position, status, ever up); tunnels
    beyond `tunnel_count` (the spare of a one-tunnel setup) do not count."""
    monitored = sorted(t for t in tunnels if t[0] <= tunnel_count)
    return RequestHealth(
        tunnel_count=tunnel_count,
        up=tuple(p for p, status, _ in monitored if status == TunnelStatus.UP),
        lost=tuple(p for p, status, ever in monitored if status != TunnelStatus.UP and ever),
        pending=tuple(p for p, status, ever in monitored if status != TunnelStatus.UP and not ever),
    )


def tunnels_phrase(positions, tunnel_count: int) -> str:
    """ "both tunnels", "tunnel 2", "tunnel 1 and tunnel 2" (of a request's monitored ones)."""
    positions = sorted(positions)
    if tunnel_count == 2 and len(positions) == 2:
        return "both tunnels"
    return " and ".join(f"tunnel {position}" for position in positions)


@dataclass(frozen=True)
class RiskBadge:
    """The redundancy risk as the pages show it: what is wrong, plainly."""

    label: str
    colour: str
    title: str


def risk_badge(*, request: VpnRequest, tunnels: list[Tunnel]) -> RiskBadge | None:
    """The badge of a request annotated by `with_redundancy_risk`: "Outage: both tunnels
    down", "No redundancy: tunnel 2 down", "No redundancy: one-tunnel setup",
    "Redundant: both tunnels up"; None where no risk applies."""
    risk = getattr(request, "redundancy_risk", "")
    if not risk:
        return None
    monitored = [t for t in tunnels if t.position <= request.tunnel_count]
    down = [t.position for t in monitored if t.status != TunnelStatus.UP]
    up = [t.position for t in monitored if t.status == TunnelStatus.UP]
    count = request.tunnel_count
    if risk == RedundancyRisk.DOWN:
        label = f"{HEALTH_HEADINGS[HEALTH_DOWN]}: {tunnels_phrase(down, count)} down"
        title = "No tunnel is up: traffic over this VPN is stopped."
    elif risk == RedundancyRisk.HIGH and down:
        label = f"{HEALTH_HEADINGS[HEALTH_DEGRADED]}: {tunnels_phrase(down, count)} down"
        title = f"Traffic runs over {tunnels_phrase(up, count)} alone, without a spare."
    elif risk == RedundancyRisk.HIGH:
        label = f"{HEALTH_HEADINGS[HEALTH_DEGRADED]}: one-tunnel setup"
        title = "Only one tunnel is configured, by choice: there is no spare if it drops."
    else:
        label = f"Redundant: {tunnels_phrase(up, count)} up"
        title = "Every tunnel is up: either one can carry the traffic alone."
    return RiskBadge(label=label, colour=RISK_COLOURS[risk], title=title)


def tunnel_reports(*, tunnels: list[Tunnel], now: datetime | None = None) -> list[TunnelReport]:
    """Uptime over 24 hours, 7 days and 30 days of each tunnel, from its history, over
    the time it was monitored (from its first UP)."""
    now = now or timezone.now()
    longest = max(window for _, window in UPTIME_WINDOWS.values())
    by_tunnel: dict[int, list[TunnelStatusChange]] = {tunnel.pk: [] for tunnel in tunnels}
    for change in TunnelStatusChange.objects.filter(
        tunnel__in=tunnels, changed_at__gt=now - longest
    ).order_by("changed_at", "pk"):
        by_tunnel[change.tunnel_id].append(change)
    first_up = tunnels_first_up(tunnels=tunnels)
    return [
        tunnel_report(
            tunnel=tunnel,
            changes=by_tunnel[tunnel.pk],
            now=now,
            monitored_since=first_up.get(tunnel.pk),
        )
        for tunnel in tunnels
    ]


def tunnels_first_up(*, tunnels: list[Tunnel]) -> dict[int, datetime]:
    """When each tunnel was first UP (tunnel id -> time; absent: never up).

    A tunnel whose history starts up (or that has none and is up) was up from its
    creation; otherwise from its first change to UP. One query, whatever the history.
    """
    history = TunnelStatusChange.objects.filter(tunnel=OuterRef("pk")).order_by("changed_at", "pk")
    rows = (
        Tunnel.objects.filter(pk__in=[tunnel.pk for tunnel in tunnels])
        .annotate(
            first_old=Subquery(history.values("old_status")[:1]),
            first_up=Subquery(history.filter(new_status=TunnelStatus.UP).values("changed_at")[:1]),
        )
        .values_list("pk", "status", "created_at", "first_old", "first_up")
    )
    first_up: dict[int, datetime] = {}
    for pk, status, created_at, first_old, up_at in rows:
        if first_old == TunnelStatus.UP or (first_old is None and status == TunnelStatus.UP):
            first_up[pk] = created_at
        elif up_at is not None:
            first_up[pk] = up_at
    return first_up


def status_refresh_latest() -> StatusRefresh | None:
    """The latest run of the status refresh, if any."""
    return StatusRefresh.objects.order_by("-started_at", "-pk").first()


def tunnel_status_context(
    *, request: VpnRequest, chart_window: str = "", for_customer: bool = False
) -> dict:
    """What the tunnel status card needs (staff page and customer link alike): each
    tunnel's uptime, the timeline chart over `chart_window` (24h, 7d or 30d), the latest
    refresh, AWS's pending maintenance and the customer's window, the diagnosis of the
    tunnels in trouble and what each negotiated, and how often the page polls: fast while
    jobs run, steadily in every other stage that is not final (someone else may review,
    confirm or change the request meanwhile), never once the request is closed."""
    now = timezone.now()
    tunnels = list(request.tunnels.all())
    reports = tunnel_reports(tunnels=tunnels, now=now)
    refresh = status_refresh_latest()
    watched = request.stage in OPERATIONAL_STAGES
    poll_seconds = None
    if request.stage in BUSY_STAGES:
        poll_seconds = 3
    elif request.stage not in TERMINAL_STAGES:
        poll_seconds = settings.STATUS_PAGE_POLL_SECONDS
    # The customer's page polls more gently than the staff pages (it is rate limited).
    if poll_seconds and for_customer:
        poll_seconds = max(poll_seconds, settings.CUSTOMER_PAGE_POLL_SECONDS)
    return {
        "tunnel_reports": reports,
        "risk_badge": risk_badge(request=request, tunnels=tunnels),
        "chart": status_chart(reports=reports, window=chart_window, now=now) if reports else None,
        "uptime_windows": [(key, label) for key, (label, _) in UPTIME_WINDOWS.items()],
        "status_refresh": refresh,
        "refresh_error": refresh.errors.get(request.region) if refresh else None,
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
        "watched": watched,
        "poll_seconds": poll_seconds,
        **maintenance_context(request=request, tunnels=tunnels),
        **troubleshooting_context(request=request, tunnels=tunnels),
    }


def request_status(*, pk: int, now: datetime | None = None) -> dict:
    """A request's tunnel status as plain data (the JSON endpoint and `vpn_status`).

    Raises `VpnRequest.DoesNotExist` for an unknown id.
    """
    request = with_redundancy_risk(
        VpnRequest.objects.select_related("customer").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position"))
        )
    ).get(pk=pk)
    refresh = status_refresh_latest()
    reports = tunnel_reports(tunnels=list(request.tunnels.all()), now=now)
    return {
        "reference": request.reference,
        "id": request.pk,
        "customer": request.customer.name,
        "region": request.region,
        "stage": request.stage,
        "stage_label": request.get_stage_display(),
        "redundancy_risk": request.redundancy_risk or None,
        "tunnel_count": request.tunnel_count,
        "refreshed_at": _iso(refresh.finished_at) if refresh else None,
        "refresh_error": (refresh.errors.get(request.region) if refresh else None) or None,
        "tunnels": [
            {
                "position": report.tunnel.position,
                "outside_ip": report.tunnel.outside_ip,
                "monitored": report.tunnel.monitored,
                "status": report.tunnel.status,
                "status_message": report.tunnel.status_message,
                "last_status_change": _iso(report.tunnel.last_status_change),
                "accepted_route_count": report.tunnel.accepted_route_count,
                "monitored_since": _iso(report.monitored_since),
                "uptime_percent": {
                    key: None if value is None else round(value, 3)
                    for key, value in report.uptime.items()
                },
            }
            for report in reports
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def status_metrics_tunnels() -> QuerySet[Tunnel]:
    """Every tunnel of the requests whose tunnels are watched (for /metrics), with
    `maintenance_pending`: whether AWS has endpoint maintenance pending on it."""
    return (
        Tunnel.objects.filter(request__stage__in=OPERATIONAL_STAGES)
        .select_related("request")
        .annotate(
            maintenance_pending=Exists(
                PendingMaintenance.objects.filter(tunnel=OuterRef("pk"), cleared_at__isnull=True)
            )
        )
        .order_by("request_id", "position")
    )
