"""Reads for the views: querysets with what each page needs fetched up front."""

import re
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from vpn.choices import (
    INTAKE_STAGES,
    OPERATIONAL_STAGES,
    PROVISIONING_STAGES,
    TERMINAL_STAGES,
    SetupStep,
    Stage,
)
from vpn.models import StageTransition, Tunnel, VpnRequest

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
