"""Reads for the views: querysets with what each page needs fetched up front."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
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
    INTAKE_STAGES,
    OPERATIONAL_STAGES,
    PROVISIONING_STAGES,
    TERMINAL_STAGES,
    TUNNEL_STATUS_COLOURS,
    RedundancyRisk,
    SetupStep,
    Stage,
    TunnelStatus,
)
from vpn.models import (
    AwsResource,
    IntakeLink,
    StageTransition,
    StatusRefresh,
    Tunnel,
    TunnelStatusChange,
    VpnRequest,
)
from vpn.regions import REGIONS_BY_CODE
from vpn.validation import IntakeInvalid, RegionProposal, region_distance, region_propose

# Named groups of stages offered by the dashboard's stage filter.
STAGE_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "attention": (
        "Needs attention",
        (Stage.SUBMITTED, Stage.FAILED, Stage.DOWN, Stage.DEGRADED),
    ),
    "intake": ("Intake", INTAKE_STAGES),
    "provisioning": ("Provisioning", (Stage.APPROVED, *PROVISIONING_STAGES)),
    "operational": ("Operational", OPERATIONAL_STAGES),
    "closed": ("Closed", (Stage.DECOMMISSIONING, *TERMINAL_STAGES)),
}

_REFERENCE = re.compile(r"^\s*vpn-0*(\d+)\s*$", re.IGNORECASE)


# The dashboard's health filter: a redundancy risk, or "attention" for down or high.
HEALTH_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "attention": ("Down or at risk", (RedundancyRisk.DOWN, RedundancyRisk.HIGH)),
    RedundancyRisk.DOWN.value: ("Down: no tunnel up", (RedundancyRisk.DOWN,)),
    RedundancyRisk.HIGH.value: ("High risk: one tunnel up", (RedundancyRisk.HIGH,)),
    RedundancyRisk.LOW.value: ("Low risk: all tunnels up", (RedundancyRisk.LOW,)),
}
# The dashboard's orders: newest activity first, or worst health first.
SORTS = {"updated": ("-updated_at", "-pk"), "health": ("health_rank", "-updated_at", "-pk")}


def request_list(
    *,
    search: str = "",
    stage: str = "",
    region: str = "",
    owner_id: int | None = None,
    health: str = "",
    sort: str = "updated",
) -> QuerySet[VpnRequest]:
    """Requests for the dashboard with customers, tunnels and redundancy risk; newest
    activity first, or (`sort="health"`) the worst health first."""
    requests = with_redundancy_risk(
        VpnRequest.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position"))
        )
    )
    search = search.strip()
    if search:
        condition = (
            Q(customer__name__icontains=search)
            | Q(customer__org_id__icontains=search)
            | Q(customer__contact_email__icontains=search)
        )
        if match := _REFERENCE.match(search):
            condition |= Q(pk=int(match.group(1)))
        if re.fullmatch(r"[\d.]+", search):
            condition |= Q(customer_gateway_ip__startswith=search)
        requests = requests.filter(condition)
    if stage in STAGE_GROUPS:
        requests = requests.filter(stage__in=STAGE_GROUPS[stage][1])
    elif stage in Stage.values:
        requests = requests.filter(stage=stage)
    if region:
        requests = requests.filter(region=region)
    if owner_id is not None:
        requests = requests.filter(owner_id=owner_id)
    if health in HEALTH_FILTERS:
        requests = requests.filter(redundancy_risk__in=HEALTH_FILTERS[health][1])
    return requests.order_by(*SORTS.get(sort, SORTS["updated"]))


def request_detail(*, pk: int) -> VpnRequest:
    """One request with its customer, owner, tunnels, AWS resources and redundancy risk."""
    return with_redundancy_risk(
        VpnRequest.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position")), "resources"
        )
    ).get(pk=pk)


def request_transitions(*, request: VpnRequest) -> QuerySet[StageTransition]:
    """The request's stage history, newest first."""
    return request.transitions.select_related("actor").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class StepState:
    """One of the five setup steps as the progress bar shows it."""

    number: int
    label: str
    state: str  # done, current, failed, pending or skipped


def request_steps(*, request: VpnRequest) -> list[StepState]:
    """The five setup steps of a request, each done, current, failed, pending or skipped."""
    stage = request.stage
    position = None  # index of the step running (or failed), if any
    failed = False
    if stage in PROVISIONING_STAGES:
        position = PROVISIONING_STAGES.index(stage)
    elif stage == Stage.FAILED and request.failed_stage in PROVISIONING_STAGES:
        position = PROVISIONING_STAGES.index(request.failed_stage)
        failed = True
    all_done = stage in (*OPERATIONAL_STAGES, Stage.DECOMMISSIONING, Stage.DECOMMISSIONED) or (
        stage == Stage.FAILED and request.failed_stage == Stage.DECOMMISSIONING
    )

    steps = []
    for index, step in enumerate(SetupStep):
        if step == SetupStep.NAT and not request.nat_wanted:
            state = "skipped"
        elif all_done or (position is not None and index < position):
            state = "done"
        elif position is not None and index == position:
            state = "failed" if failed else "current"
        else:
            state = "pending"
        steps.append(StepState(number=step.value, label=step.label, state=state))
    return steps


def _open_duplicates(*, org_id, gateway_ip, exclude_pk) -> QuerySet[VpnRequest]:
    return (
        VpnRequest.objects.filter(customer__org_id=org_id, customer_gateway_ip=gateway_ip)
        .exclude(pk=exclude_pk)
        .exclude(stage__in=TERMINAL_STAGES)
    )


def request_duplicates(*, request: VpnRequest) -> QuerySet[VpnRequest]:
    """Other open requests for the same org and customer gateway IP: likely duplicates."""
    if request.customer_gateway_ip is None:
        return VpnRequest.objects.none()
    return _open_duplicates(
        org_id=request.customer.org_id,
        gateway_ip=request.customer_gateway_ip,
        exclude_pk=request.pk,
    ).order_by("pk")


def request_review_queue() -> QuerySet[VpnRequest]:
    """Submitted requests waiting for review, longest waiting first, each flagged
    (`possible_duplicate`) when another open request has the same org and gateway IP."""
    duplicates = _open_duplicates(
        org_id=OuterRef("customer__org_id"),
        gateway_ip=OuterRef("customer_gateway_ip"),
        exclude_pk=OuterRef("pk"),
    )
    return (
        VpnRequest.objects.filter(stage=Stage.SUBMITTED)
        .select_related("customer", "owner")
        .annotate(possible_duplicate=Exists(duplicates))
        .order_by("submitted_at", "pk")
    )


def review_queue_count() -> int:
    """How many requests wait for review (the number in the navigation)."""
    return VpnRequest.objects.filter(stage=Stage.SUBMITTED).count()


def request_intake_links(*, request: VpnRequest) -> QuerySet[IntakeLink]:
    """The request's customer links, newest first, with who made or revoked them."""
    return request.intake_links.select_related("created_by", "revoked_by").order_by(
        "-created_at", "-pk"
    )


@dataclass(frozen=True)
class RegionAdvice:
    """The region proposed from the customer's city, and how far the chosen one is."""

    proposal: RegionProposal
    chosen_distance_km: float | None

    @property
    def overridden(self) -> bool:
        """Whether the request's region differs from the proposal."""
        return self.chosen_distance_km is not None and (
            self.chosen_distance_km != self.proposal.distance_km
        )


def request_region_advice(*, request: VpnRequest) -> RegionAdvice | None:
    """The nearest region to the request's city, if it gave one the table knows."""
    if not request.location_city:
        return None
    try:
        proposal = region_propose(city=request.location_city, country=request.location_country)
    except IntakeInvalid:
        return None
    chosen = None
    if request.region in REGIONS_BY_CODE:
        chosen = region_distance(region=request.region, city=proposal.city)
    return RegionAdvice(proposal=proposal, chosen_distance_km=chosen)


def request_changes_requested(*, request: VpnRequest) -> StageTransition | None:
    """The engineer's latest request for changes, while the request waits on them."""
    if request.stage != Stage.CHANGES_REQUESTED:
        return None
    return request_transitions(request=request).filter(to_stage=Stage.CHANGES_REQUESTED).first()


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a request's timeline: a stage move or an AWS resource event."""

    at: object
    title: str
    detail: str = ""
    note: str = ""
    detail_is_id: bool = False  # an AWS id: shown in monospace


def request_timeline(*, request: VpnRequest) -> list[TimelineEvent]:
    """Stage moves, AWS resources created and deleted, and the latest tunnel status
    changes, newest first."""
    events = [
        TimelineEvent(
            at=t.created_at,
            title=t.get_to_stage_display(),
            detail=f"from {t.get_from_stage_display()} · {t.actor_display}",
            note=t.note,
        )
        for t in request_transitions(request=request)
    ]
    for resource in request.resources.all():
        events.append(
            TimelineEvent(
                at=resource.created_at,
                title=f"{resource.get_role_display()} created",
                detail=resource.resource_id,
                detail_is_id=True,
            )
        )
        if resource.deleted_at:
            released = resource.state == AwsResource.RELEASED
            events.append(
                TimelineEvent(
                    at=resource.deleted_at,
                    title=f"{resource.get_role_display()} "
                    + ("released" if released else "deleted"),
                    detail=resource.resource_id,
                    detail_is_id=True,
                    note="Another VPN from the same device still uses it." if released else "",
                )
            )
    if request.customer_confirmed_at:
        events.append(
            TimelineEvent(
                at=request.customer_confirmed_at,
                title="Customer confirmed their side is configured",
                detail="customer",
            )
        )
    changes = (
        TunnelStatusChange.objects.filter(tunnel__request=request)
        .select_related("tunnel")
        .order_by("-changed_at", "-pk")[:TIMELINE_TUNNEL_CHANGES]
    )
    for change in changes:
        events.append(
            TimelineEvent(
                at=change.changed_at,
                title=f"Tunnel {change.tunnel.position} {change.get_new_status_display().lower()}",
                detail=f"was {change.get_old_status_display().lower()}"
                + (" · alerted" if change.alerted else ""),
                note=change.message,
            )
        )
    return sorted(events, key=lambda event: event.at, reverse=True)


# The timeline shows at most this many of the latest tunnel status changes.
TIMELINE_TUNNEL_CHANGES = 50


# --- Tunnel status ------------------------------------------------------------------------


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
