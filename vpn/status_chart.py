"""The geometry of the tunnel status chart, and uptime, from history already loaded.

Pure computation: a tunnel's status changes (oldest first) become the spans during
which it kept one status, each window's uptime, and the bars and axis of the chart in
thousandths of its width. Nothing here queries the database; `vpn.selectors.status`
loads the rows.

Uptime counts only the monitored time: from the tunnel's first UP on. Before it, the
customer had not configured their side yet, and the tunnel being down then is no
outage. When the monitored time is shorter than a window, the uptime is "since" its
start. The chart's default window fits the VPN's history: a day, a week or a month.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from vpn.choices import TUNNEL_STATUS_COLOURS, TunnelStatus

if TYPE_CHECKING:
    from vpn.models import Tunnel, TunnelStatusChange

UPTIME_WINDOWS: dict[str, tuple[str, timedelta]] = {
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
}
# The chart's default window for a VPN whose history is shorter than the window.
CHART_DEFAULT_WINDOW = "30d"
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


def _spans(tunnel: "Tunnel", changes: list["TunnelStatusChange"], start, end) -> list[StatusSpan]:
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
    """A tunnel with its uptime over each window and its history for the chart.

    `monitored_since` is the tunnel's first UP (None: never up, nothing is counted);
    `since` holds, per window, where its uptime starts when that is later than the
    window's start (None when the whole window was monitored).
    """

    tunnel: "Tunnel"
    uptime: dict[str, float | None]
    changes: list["TunnelStatusChange"]
    monitored_since: datetime | None = None
    since: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def uptime_rows(self) -> list[tuple[str, float | None, datetime | None]]:
        """(window, uptime, since) for each window, in the order of UPTIME_WINDOWS."""
        return [(key, self.uptime[key], self.since.get(key)) for key in UPTIME_WINDOWS]


def tunnel_report(
    *,
    tunnel: "Tunnel",
    changes: list["TunnelStatusChange"],
    now: datetime,
    monitored_since: datetime | None,
) -> TunnelReport:
    """The tunnel's uptime over each of UPTIME_WINDOWS up to `now`, from its changes
    (oldest first, reaching back at least the longest window), counting only the time
    from `monitored_since` (its first UP) on."""
    uptime: dict[str, float | None] = {}
    since: dict[str, datetime | None] = {}
    for key, (_, window) in UPTIME_WINDOWS.items():
        start = now - window
        if monitored_since is None or monitored_since >= now:
            uptime[key], since[key] = None, None
            continue
        begin = max(start, monitored_since, tunnel.created_at)
        uptime[key] = _uptime(_spans(tunnel, changes, begin, now))
        since[key] = begin if begin > start else None
    return TunnelReport(
        tunnel=tunnel,
        uptime=uptime,
        changes=changes,
        monitored_since=monitored_since,
        since=since,
    )


def chart_window_fitting(*, history_start: datetime | None, now: datetime) -> str:
    """The shortest window that holds a VPN's whole history (24 h, 7 d, else 30 d), so a
    new VPN's history fills the chart rather than a sliver of it."""
    if history_start is not None:
        for key, (_, length) in UPTIME_WINDOWS.items():
            if now - history_start <= length:
                return key
    return CHART_DEFAULT_WINDOW


@dataclass(frozen=True)
class ChartBar:
    """One span drawn on the chart: where it starts and how wide it is, in 1/10 percent.

    `counted` is False for a span before the tunnel's first UP: drawn, but faded, as it
    does not count for uptime.
    """

    span: StatusSpan
    x: float
    width: float
    counted: bool = True


@dataclass(frozen=True)
class StatusChart:
    """The timeline chart: one row of bars per tunnel over the chosen window."""

    window: str
    window_label: str
    start: datetime
    end: datetime
    rows: list[tuple["Tunnel", list[ChartBar]]]
    ticks: list[tuple[float, datetime]]


def status_chart(*, reports: list[TunnelReport], window: str, now: datetime) -> StatusChart:
    """The tunnels' statuses over `window` (a key of UPTIME_WINDOWS; another, or none,
    falls back to the window that fits their history) up to `now`, ready to draw."""
    if window not in UPTIME_WINDOWS:
        created = [report.tunnel.created_at for report in reports]
        window = chart_window_fitting(history_start=min(created, default=None), now=now)
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
            monitored = report.monitored_since
            counted = monitored is not None and span.end > monitored
            bars.append(ChartBar(span=span, x=min(x, 1000 - width), width=width, counted=counted))
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
