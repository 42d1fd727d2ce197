"""Reads for the views: querysets with what each page needs fetched up front."""

import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from vpn.choices import (
    INTAKE_STAGES,
    OPERATIONAL_STAGES,
    PROVISIONING_STAGES,
    TERMINAL_STAGES,
    SetupStep,
    Stage,
)
from vpn.models import IntakeLink, StageTransition, Tunnel, VpnRequest
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


def request_list(
    *, search: str = "", stage: str = "", region: str = "", owner_id: int | None = None
) -> QuerySet[VpnRequest]:
    """Requests for the dashboard, newest activity first, with customers and tunnels."""
    requests = VpnRequest.objects.select_related("customer", "owner").prefetch_related(
        Prefetch("tunnels", queryset=Tunnel.objects.order_by("position"))
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
    return requests.order_by("-updated_at", "-pk")


def request_detail(*, pk: int) -> VpnRequest:
    """One request with its customer, owner, tunnels and AWS resources."""
    return (
        VpnRequest.objects.select_related("customer", "owner")
        .prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position")), "resources"
        )
        .get(pk=pk)
    )


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
    """Stage moves and AWS resources created and deleted, newest first."""
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
            events.append(
                TimelineEvent(
                    at=resource.deleted_at,
                    title=f"{resource.get_role_display()} deleted",
                    detail=resource.resource_id,
                    detail_is_id=True,
                )
            )
    return sorted(events, key=lambda event: event.at, reverse=True)
