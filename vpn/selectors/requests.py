"""Reads of requests: the dashboard's list with its filters, one request's page, its stage
history and timeline, and which of its actions the page offers to whom."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from vpn.choices import (
    DECOMMISSIONABLE_STAGES,
    ENGINEER_EDITABLE_STAGES,
    INTAKE_STAGES,
    OPERATIONAL_STAGES,
    PROVISIONING_STAGES,
    TERMINAL_STAGES,
    RedundancyRisk,
    Stage,
)
from vpn.models import (
    AwsResource,
    StageTransition,
    StepRetry,
    Tunnel,
    TunnelStatusChange,
    VpnRequest,
)
from vpn.permissions import user_may
from vpn.selectors.maintenance import maintenance_pending_exists
from vpn.selectors.status import with_redundancy_risk

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
    maintenance: bool = False,
    sort: str = "updated",
) -> QuerySet[VpnRequest]:
    """Requests for the dashboard with customers, tunnels, redundancy risk and whether AWS
    has maintenance pending on them (`maintenance_pending`; `maintenance=True` keeps only
    those); newest activity first, or (`sort="health"`) the worst health first."""
    requests = with_redundancy_risk(
        VpnRequest.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position"))
        )
    ).annotate(maintenance_pending=maintenance_pending_exists())
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
    if maintenance:
        requests = requests.filter(maintenance_pending=True)
    return requests.order_by(*SORTS.get(sort, SORTS["updated"]))


def request_detail(*, pk: int) -> VpnRequest:
    """One request with its customer, owner, tunnels, AWS resources and redundancy risk,
    and `waiting_retry`: the retry its current step waits for, if any."""
    request = with_redundancy_risk(
        VpnRequest.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position")), "resources"
        )
    ).get(pk=pk)
    request.waiting_retry = request_waiting_retry(request=request)
    return request


def request_waiting_retry(*, request: VpnRequest) -> StepRetry | None:
    """The latest retry that the request's current step waits for (after a transient
    AWS error), or None; cleared ones, and those of a stage it has left, are over."""
    return (
        StepRetry.objects.filter(request=request, stage=request.stage, cleared_at__isnull=True)
        .order_by("-failed_at", "-pk")
        .first()
    )


def request_transitions(*, request: VpnRequest) -> QuerySet[StageTransition]:
    """The request's stage history, newest first."""
    return request.transitions.select_related("actor").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a request's timeline: a stage move or an AWS resource event."""

    at: object
    title: str
    detail: str = ""
    note: str = ""
    detail_is_id: bool = False  # an AWS id: shown in monospace


def request_timeline(*, request: VpnRequest) -> list[TimelineEvent]:
    """Stage moves, AWS resources created and deleted, each retry of a step after a
    transient AWS error, the customer's confirmation and the latest tunnel status
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
    for retry in request.step_retries.order_by("failed_at", "pk"):
        events.append(
            TimelineEvent(
                at=retry.failed_at,
                title=f"{retry.step_label}: attempt {retry.attempt} of {retry.attempts} failed",
                detail=("tried again" if retry.cleared_at else "trying again")
                + f" at {timezone.localtime(retry.retry_at):%H:%M:%S} UTC",
                note=retry.error,
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


# Stages in which the VPN is gone, going, or never to be built: the customer's link then
# says so, and offers no pack and no live status.
REMOVED_STAGES = (Stage.DECOMMISSIONING, Stage.DECOMMISSIONED, Stage.CANCELLED)


def request_removed_at(*, request: VpnRequest) -> datetime | None:
    """When the request entered its removed stage; None while it is not removed."""
    if request.stage not in REMOVED_STAGES:
        return None
    moved = (
        request.transitions.filter(to_stage=request.stage).order_by("-created_at", "-pk").first()
    )
    # A request put in that stage without a transition (a fixture, a data import) has
    # at least its last update.
    return moved.created_at if moved else request.updated_at


# The request page's buttons, each with its action in the roles matrix
# (`vpn.permissions.ROLES`), which the button's view checks too.
BUTTON_ACTIONS = {
    "edit": "request_update",
    "approve": "request_approve",
    "send_back": "request_send_back",
    "retry": "request_retry",
    "decommission": "request_decommission",
    "link_create": "intakelink_create",
    "link_revoke": "intakelink_revoke",
}


@dataclass(frozen=True)
class RequestActions:
    """The actions the request page offers one user: each is offered only when the
    request's stage allows it and the roles matrix lets the user do it."""

    edit: bool  # edit the intake (before approval)
    approve: bool
    send_back: bool  # back to the customer, with a message
    retry: bool  # resume a failed request at its step
    decommission: bool
    link_create: bool  # make a new customer link
    link_revoke: bool  # revoke an active customer link


def request_actions(
    *, request: VpnRequest, user: AbstractBaseUser | AnonymousUser
) -> RequestActions:
    """Which actions the request page offers `user` on `request`."""
    allowed = {button: user_may(user, action) for button, action in BUTTON_ACTIONS.items()}
    stage = request.stage
    return RequestActions(
        edit=allowed["edit"] and stage in ENGINEER_EDITABLE_STAGES,
        approve=allowed["approve"] and stage == Stage.SUBMITTED,
        send_back=allowed["send_back"] and stage == Stage.SUBMITTED,
        retry=allowed["retry"] and stage == Stage.FAILED,
        decommission=allowed["decommission"] and stage in DECOMMISSIONABLE_STAGES,
        link_create=allowed["link_create"] and stage not in TERMINAL_STAGES,
        link_revoke=allowed["link_revoke"],
    )
