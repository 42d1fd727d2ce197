"""Reads of tunnel status: each request's redundancy risk, each tunnel's uptime and
history, the status chart, the latest refresh, and the status as plain data (the JSON
endpoint, `vpn_status` and the metrics)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
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
    OPERATIONAL_STAGES,
    TUNNEL_STATUS_COLOURS,
    RedundancyRisk,
    Stage,
    TunnelStatus,
)
from vpn.models import StatusRefresh, Tunnel, TunnelStatusChange, VpnRequest


def with_redundancy_risk(requests: QuerySet[VpnRequest]) -> QuerySet[VpnRequest]:
    """Annotate each request with `tunnels_up` (monitored tunnels up), `redundancy_risk`
    (low, high, down; "" outside the operational stages, and while a request waits for
    its customer with no tunnel up yet) and `health_rank` (0 for down ... 3 for none)."""
    up = (
        Tunnel.objects.filter(
            request=OuterRef("pk"), status=TunnelStatus.UP, position__lte=OuterRef("tunnel_count")
        )
        .order_by()
        .values("request")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return requests.annotate(tunnels_up=Coalesce(Subquery(up), 0)).annotate(
        redundancy_risk=Case(
            When(~Q(stage__in=OPERATIONAL_STAGES), then=Value("")),
            When(tunnels_up=0, stage=Stage.AWAITING_CUSTOMER, then=Value("")),
            When(tunnels_up=0, then=Value(RedundancyRisk.DOWN.value)),
            When(
                Q(tunnel_count=1) | Q(tunnels_up__lt=F("tunnel_count")),
                then=Value(RedundancyRisk.HIGH.value),
            ),
            default=Value(RedundancyRisk.LOW.value),
            output_field=CharField(),
        ),
        health_rank=Case(
            When(redundancy_risk=RedundancyRisk.DOWN, then=Value(0)),
            When(redundancy_risk=RedundancyRisk.HIGH, then=Value(1)),
            When(redundancy_risk=RedundancyRisk.LOW, then=Value(2)),
            default=Value(3),
        ),
    )


UPTIME_WINDOWS: dict[str, tuple[str, timedelta]] = {
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}
CHART_DEFAULT_WINDOW = "7d"
# How many equal parts the chart's axis divides each window into (every 4 h, 1 day, 5 days).
CHART_AXIS_PARTS = {"24h": 6, "7d": 7, "30d": 6}
# The narrowest bar drawn, in thousandths of the chart: a short outage stays visible.
CHART_MIN_BAR = 3.0


@dataclass(frozen=True)
class StatusSpan:
    """A stretch of time during which a tunnel kept one status."""

    start: datetime
    end: datetime
    status: str

    @property
    def colour(self) -> str:
        """The colour of the status."""
        return TUNNEL_STATUS_COLOURS[self.status]

    @property
    def label(self) -> str:
        """The status in words."""
        return TunnelStatus(self.status).label


def _spans(tunnel: Tunnel, changes: list[TunnelStatusChange], start, end) -> list[StatusSpan]:
    """The tunnel's statuses between `start` and `end`, from its changes (oldest first)."""
    begin = max(start, tunnel.created_at)
    if begin >= end:
        return []
    inside = [change for change in changes if begin < change.changed_at <= end]
    later = [change for change in changes if change.changed_at > end]
    # Before its first change in the window a tunnel had that change's old status; with no
    # change in the window, the old status of the next change after it (or, with none,
    # its current status) held throughout.
    first = inside[0] if inside else (later[0] if later else None)
    status = first.old_status if first else tunnel.status
    spans, at = [], begin
    for change in inside:
        if change.changed_at > at:
            spans.append(StatusSpan(at, change.changed_at, status))
        at, status = change.changed_at, change.new_status
    spans.append(StatusSpan(at, end, status))
    return spans


def _uptime(spans: list[StatusSpan]) -> float | None:
    """Percent of the known (up or down) time that was up; None if nothing is known."""
    up = known = 0.0
    for span in spans:
        seconds = (span.end - span.start).total_seconds()
        if span.status != TunnelStatus.UNKNOWN:
            known += seconds
            if span.status == TunnelStatus.UP:
                up += seconds
    return 100 * up / known if known else None


@dataclass
class TunnelReport:
    """A tunnel with its uptime over each window and its history for the chart."""

    tunnel: Tunnel
    uptime: dict[str, float | None]
    changes: list[TunnelStatusChange]


def tunnel_reports(*, tunnels: list[Tunnel], now: datetime | None = None) -> list[TunnelReport]:
    """Uptime over 24 hours, 7 days and 30 days of each tunnel, from its history."""
    now = now or timezone.now()
    longest = max(window for _, window in UPTIME_WINDOWS.values())
    by_tunnel: dict[int, list[TunnelStatusChange]] = {tunnel.pk: [] for tunnel in tunnels}
    for change in TunnelStatusChange.objects.filter(
        tunnel__in=tunnels, changed_at__gt=now - longest
    ).order_by("changed_at", "pk"):
        by_tunnel[change.tunnel_id].append(change)
    return [
        TunnelReport(
            tunnel=tunnel,
            uptime={
                key: _uptime(_spans(tunnel, by_tunnel[tunnel.pk], now - window, now))
                for key, (_, window) in UPTIME_WINDOWS.items()
            },
            changes=by_tunnel[tunnel.pk],
        )
        for tunnel in tunnels
    ]


@dataclass(frozen=True)
class ChartBar:
    """One span drawn on the chart: where it starts and how wide it is, in 1/10 percent."""

    span: StatusSpan
    x: float
    width: float


@dataclass(frozen=True)
class StatusChart:
    """The timeline chart: one row of bars per tunnel over the chosen window."""

    window: str
    window_label: str
    start: datetime
    end: datetime
    rows: list[tuple[Tunnel, list[ChartBar]]]
    ticks: list[tuple[float, datetime]]


def status_chart(
    *, reports: list[TunnelReport], window: str, now: datetime | None = None
) -> StatusChart:
    """The tunnels' statuses over `window` (a key of UPTIME_WINDOWS), ready to draw."""
    now = now or timezone.now()
    if window not in UPTIME_WINDOWS:
        window = CHART_DEFAULT_WINDOW
    label, length = UPTIME_WINDOWS[window]
    start = now - length
    total = length.total_seconds()

    def position(moment: datetime) -> float:
        return round(1000 * (moment - start).total_seconds() / total, 2)

    rows = []
    for report in reports:
        bars = []
        for span in _spans(report.tunnel, report.changes, start, now):
            x = position(span.start)
            width = max(position(span.end) - x, CHART_MIN_BAR)
            bars.append(ChartBar(span=span, x=min(x, 1000 - width), width=width))
        # Up first, then the rest: a short outage widened to the narrowest bar is drawn on
        # top, not under; the current status last of all, so the right edge shows it.
        current = bars.pop() if bars else None
        bars.sort(key=lambda bar: bar.span.status != TunnelStatus.UP)
        bars += [current] if current else []
        rows.append((report.tunnel, bars))
    parts = CHART_AXIS_PARTS[window]
    ticks = [
        (position(start + length * i / parts), start + length * i / parts) for i in range(parts + 1)
    ]
    return StatusChart(
        window=window, window_label=label, start=start, end=now, rows=rows, ticks=ticks
    )


def status_refresh_latest() -> StatusRefresh | None:
    """The latest run of the status refresh, if any."""
    return StatusRefresh.objects.order_by("-started_at", "-pk").first()


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
    """Every tunnel of the requests whose tunnels are watched (for /metrics)."""
    return (
        Tunnel.objects.filter(request__stage__in=OPERATIONAL_STAGES)
        .select_related("request")
        .order_by("request_id", "position")
    )
