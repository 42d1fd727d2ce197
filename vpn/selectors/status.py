"""Reads of tunnel status: each request's redundancy risk, each tunnel's uptime and
history (which `vpn.status_chart` turns into the chart), the latest refresh, and the
status as plain data (the JSON endpoint, `vpn_status` and the metrics)."""

from datetime import datetime

from django.conf import settings
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

from vpn.choices import BUSY_STAGES, OPERATIONAL_STAGES, RedundancyRisk, Stage, TunnelStatus
from vpn.models import StatusRefresh, Tunnel, TunnelStatusChange, VpnRequest
from vpn.status_chart import UPTIME_WINDOWS, TunnelReport, status_chart, tunnel_report


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
        tunnel_report(tunnel=tunnel, changes=by_tunnel[tunnel.pk], now=now) for tunnel in tunnels
    ]


def status_refresh_latest() -> StatusRefresh | None:
    """The latest run of the status refresh, if any."""
    return StatusRefresh.objects.order_by("-started_at", "-pk").first()


def tunnel_status_context(
    *, request: VpnRequest, chart_window: str = "", for_customer: bool = False
) -> dict:
    """What the tunnel status card needs (staff page and customer link alike): each
    tunnel's uptime, the timeline chart over `chart_window` (24h, 7d or 30d), the latest
    refresh, and how often the page polls (fast while jobs run, steadily while tunnels
    are watched)."""
    now = timezone.now()
    reports = tunnel_reports(tunnels=list(request.tunnels.all()), now=now)
    refresh = status_refresh_latest()
    watched = request.stage in OPERATIONAL_STAGES
    poll_seconds = None
    if request.stage in BUSY_STAGES:
        poll_seconds = 3
    elif watched:
        poll_seconds = settings.STATUS_PAGE_POLL_SECONDS
    # The customer's page polls more gently than the staff pages (it is rate limited).
    if poll_seconds and for_customer:
        poll_seconds = max(poll_seconds, settings.CUSTOMER_PAGE_POLL_SECONDS)
    return {
        "tunnel_reports": reports,
        "chart": status_chart(reports=reports, window=chart_window, now=now) if reports else None,
        "uptime_windows": [(key, label) for key, (label, _) in UPTIME_WINDOWS.items()],
        "status_refresh": refresh,
        "refresh_error": refresh.errors.get(request.region) if refresh else None,
        "refresh_seconds": settings.STATUS_REFRESH_SECONDS,
        "watched": watched,
        "poll_seconds": poll_seconds,
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
