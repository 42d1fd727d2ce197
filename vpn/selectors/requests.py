"""Reads of requests: the dashboard's list with its filters, one request's page, its stage
history and timeline, and which of its actions the page offers to whom."""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import django_filters
from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from vpn.choices import (
    CUSTOMER_DECOMMISSION_REASONS,
    DECOMMISSIONABLE_STAGES,
    ENGINEER_EDITABLE_STAGES,
    INTAKE_STAGES,
    OPERATIONAL_STAGES,
    PROVISIONING_STAGES,
    STAGE_ORDER,
    TERMINAL_STAGES,
    RedundancyRisk,
    RequestOrigin,
    Routing,
    Stage,
    TunnelStatus,
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
from vpn.regions import REGION_CHOICES
from vpn.selectors.changes import change_timeline
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
# A search that is part of an IPv4 address or CIDR: digits, dots, at most one prefix.
_IP_TEXT = re.compile(r"^[\d.]+(/\d{0,2})?$")


# The dashboard's health filter: a redundancy risk, or "attention" for down or high.
HEALTH_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "attention": ("Down or at risk", (RedundancyRisk.DOWN, RedundancyRisk.HIGH)),
    RedundancyRisk.DOWN.value: ("Down: no tunnel up", (RedundancyRisk.DOWN,)),
    RedundancyRisk.HIGH.value: ("High risk: one tunnel up", (RedundancyRisk.HIGH,)),
    RedundancyRisk.LOW.value: ("Low risk: all tunnels up", (RedundancyRisk.LOW,)),
}


@dataclass(frozen=True)
class Column:
    """A column of the dashboard: its header, what sorting by it orders by in the
    column's natural direction, and that direction and its reverse in words."""

    label: str
    order_by: tuple[str, ...]
    directions: tuple[str, str] = ("A to Z", "Z to A")
    hide_small: bool = False  # left out of the cards of the narrow layout

    def aria_sort(self, *, reverse: bool) -> str:
        """Which way the column runs when sorted (reversed or not), in ARIA's words:
        "latest first" by date runs down, "A to Z" runs up."""
        descending = self.order_by[0].startswith("-") != reverse
        return "descending" if descending else "ascending"


# The dashboard's columns, in order; each sorts (`?sort=KEY`, or `-KEY` reversed).
COLUMNS: dict[str, Column] = {
    "reference": Column("Reference", ("pk",), ("oldest first", "newest first")),
    "customer": Column("Customer", ("customer__name", "pk")),
    "region": Column("Region", ("region", "pk"), hide_small=True),
    "stage": Column("Stage", ("stage_rank", "pk"), ("intake first", "closed first")),
    "health": Column(
        "Tunnels", ("health_rank", "-updated_at", "pk"), ("worst first", "best first")
    ),
    "owner": Column("Owner", ("owner_name", "pk"), hide_small=True),
    "updated": Column("Updated", ("-updated_at", "-pk"), ("latest first", "earliest first")),
}
DEFAULT_SORT = "updated"


def _reverse(expression: str) -> str:
    return expression[1:] if expression.startswith("-") else f"-{expression}"


def sort_order(sort: str) -> tuple[str, ...]:
    """What `sort` (a column's key, or `-key` for the reverse) orders by."""
    key = sort.removeprefix("-")
    order_by = COLUMNS[key].order_by
    return tuple(map(_reverse, order_by)) if sort.startswith("-") else order_by


# The order select's options, the default first (it shows when none is asked for).
SORT_CHOICES = sorted(
    (
        (f"{prefix}{key}", f"{column.label}: {column.directions[index]}")
        for key, column in COLUMNS.items()
        for index, prefix in enumerate(("", "-"))
    ),
    key=lambda choice: choice[0] != DEFAULT_SORT,
)


def _dashboard_rows() -> QuerySet[VpnRequest]:
    """Every request with what a dashboard row shows and sorts by."""
    stage_rank = Case(
        *(When(stage=stage, then=Value(rank)) for stage, rank in STAGE_ORDER.items()),
        output_field=IntegerField(),
    )
    full_name = Trim(Concat("owner__first_name", Value(" "), "owner__last_name"))
    return with_redundancy_risk(
        VpnRequest.objects.select_related("customer", "owner").prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position"))
        )
    ).annotate(
        maintenance_pending=maintenance_pending_exists(),
        stage_rank=stage_rank,
        # "" without an owner: first A to Z on every database (NULLs sort differently).
        owner_name=Coalesce(NullIf(full_name, Value("")), "owner__username", Value("")),
    )


def _ip_text(field: str, text: str, *, quoted: bool = False) -> Q:
    """`field` holds `text` at the start of an address or after a dot: "81.2.69" finds
    81.2.69.5 and 10.81.2.69, not 181.2.69.5. `quoted`: the field is a JSON list of
    addresses as text, each item starting after a quote."""
    if quoted:
        start = Q(**{f"{field}__contains": f'"{text}'})
    else:
        start = Q(**{f"{field}__startswith": text})
    if "." not in text:
        return start
    return start | Q(**{f"{field}__contains": f".{text.lstrip('.')}"})


def request_search(requests: QuerySet[VpnRequest], text: str) -> QuerySet[VpnRequest]:
    """Requests matching the dashboard's search box: the customer's name, org ID or
    contact, a reference (VPN-00042), an AWS resource id or the NAT's address, and part
    of an address or CIDR (the gateway, tunnels, VPC, subnets, advertised prefixes)."""
    text = text.strip()
    if not text:
        return requests
    resources = AwsResource.objects.filter(request=OuterRef("pk"))
    condition = (
        Q(customer__name__icontains=text)
        | Q(customer__org_id__icontains=text)
        | Q(customer__contact_email__icontains=text)
        | Q(customer__contact_name__icontains=text)
        | Exists(resources.filter(resource_id__icontains=text))
    )
    if match := _REFERENCE.match(text):
        condition |= Q(pk=int(match.group(1)))
    if _IP_TEXT.match(text):
        tunnels = Tunnel.objects.filter(request=OuterRef("pk"))
        condition |= (
            _ip_text("customer_gateway_ip", text)
            | _ip_text("vpc_cidr", text)
            | _ip_text("subnets_text", text, quoted=True)
            | _ip_text("prefixes_text", text, quoted=True)
            | Exists(tunnels.filter(_ip_text("outside_ip", text) | _ip_text("inside_cidr", text)))
            | Exists(
                resources.annotate(text=Cast("details", TextField())).filter(
                    _ip_text("text", text, quoted=True)
                )
            )
        )
        requests = requests.annotate(
            subnets_text=Cast("static_subnets", TextField()),
            prefixes_text=Cast("advertised_prefixes", TextField()),
        )
    return requests.filter(condition)


def _unknown(what: str) -> dict[str, str]:
    """The error of a filter given a value it does not know."""
    return {
        "invalid_choice": f"There is no {what} “%(value)s”: the list is not filtered by {what}."
    }


def _grouped_stage_choices() -> list:
    groups = [(key, label) for key, (label, _) in STAGE_GROUPS.items()]
    return [("Groups", groups), ("Stages", list(Stage.choices))]


class RequestFilter(django_filters.FilterSet):
    """The dashboard's search box, filters and order, read from the query string.

    One declaration per filter: a new filter is one more entry here (the form, its
    error and the list follow). A value a filter does not know is an error on that
    filter (its form field), and the list is shown without that filter.
    """

    q = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                # Short enough for a phone's width; the title says all it looks in.
                "placeholder": "Customer, VPN-00042, IP or AWS id",
                "title": "Search by customer name, org ID or contact, reference (VPN-00042), "
                "IP address or CIDR, or AWS resource id",
            }
        ),
    )
    stage = django_filters.ChoiceFilter(
        choices=_grouped_stage_choices,
        method="filter_stage",
        empty_label="All stages",
        error_messages=_unknown("stage"),
    )
    region = django_filters.ChoiceFilter(
        choices=REGION_CHOICES, empty_label="All regions", error_messages=_unknown("region")
    )
    health = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _) in HEALTH_FILTERS.items()],
        method="filter_health",
        label="Tunnel health",
        empty_label="Any tunnel health",
        error_messages=_unknown("tunnel health"),
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", label="Mine only", widget=forms.CheckboxInput
    )
    maintenance = django_filters.BooleanFilter(
        method="filter_maintenance", label="Maintenance pending", widget=forms.CheckboxInput
    )
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES,
        method="filter_sort",
        label="Order",
        empty_label=None,
        error_messages={
            "invalid_choice": "The list cannot be ordered by “%(value)s”; it is shown latest first."
        },
    )

    class Meta:
        model = VpnRequest
        fields: tuple[str, ...] = ()

    def filter_search(self, requests, name, value):
        """The search box (see `request_search`)."""
        return request_search(requests, value)

    def filter_stage(self, requests, name, value):
        """One stage, or a named group of stages."""
        if value in STAGE_GROUPS:
            return requests.filter(stage__in=STAGE_GROUPS[value][1])
        return requests.filter(stage=value)

    def filter_health(self, requests, name, value):
        """The redundancy risks the health filter names."""
        return requests.filter(redundancy_risk__in=HEALTH_FILTERS[value][1])

    def filter_mine(self, requests, name, value):
        """Only the requests the signed-in engineer owns."""
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return requests
        return requests.filter(owner_id=user.pk)

    def filter_maintenance(self, requests, name, value):
        """Only the requests on which AWS has tunnel endpoint maintenance pending."""
        return requests.filter(maintenance_pending=True) if value else requests

    def filter_sort(self, requests, name, value):
        """Ordering is applied last, in `filter_queryset`."""
        return requests

    def filter_queryset(self, queryset):
        """Apply the valid filters, then the order (the default one when none is valid)."""
        requests = super().filter_queryset(queryset)
        return requests.order_by(*sort_order(self.sort_value))

    @property
    def sort_value(self) -> str:
        """The order in force: the one asked for if it is valid, else the default."""
        self.is_valid()
        return self.form.cleaned_data.get("sort") or DEFAULT_SORT

    @property
    def active(self) -> bool:
        """Whether any filter or search narrows the list (the order does not)."""
        return any(self.data.get(name) for name in self.filters if name != "sort")


def request_filter(*, params, user=None) -> RequestFilter:
    """The dashboard's filters over every request, from a query string."""
    http_request = SimpleNamespace(user=user)
    return RequestFilter(data=params, queryset=_dashboard_rows(), request=http_request)


def request_keys(requests: QuerySet[VpnRequest]) -> QuerySet:
    """A filtered, ordered dashboard list as its primary keys alone: what its pages are
    counted and cut from.

    A page deep in the list skips thousands of rows. Skipped over the full rows, the
    database would join their customers and owners and run their tunnels' subqueries for
    every skipped row; over the keys it computes only what the filters and the order
    need (the count needs neither the order nor the rows' annotations).
    """
    return requests.prefetch_related(None).values_list("pk", flat=True)


def request_rows(*, pks: Sequence[int]) -> list[VpnRequest]:
    """The dashboard rows (with what a row shows) of the requests `pks`, in that order;
    one that has gone meanwhile is left out."""
    rows = _dashboard_rows().in_bulk(list(pks))
    return [rows[pk] for pk in pks if pk in rows]


# The CSV export's columns: header, and the value (or the column it is read from).
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Reference", "pk"),
    ("Customer", "customer__name"),
    ("Org ID", "customer__org_id"),
    ("Contact email", "customer__contact_email"),
    ("Region", "region"),
    ("Stage", "stage"),
    ("Routing", "routing"),
    ("Gateway IP", "customer_gateway_ip"),
    ("VPC CIDR", "vpc_cidr"),
    ("Tunnel 1", "tunnel_1"),
    ("Tunnel 2", "tunnel_2"),
    ("Redundancy risk", "redundancy_risk"),
    ("Owner", "owner_name"),
    ("Created (UTC)", "created_at"),
    ("Updated (UTC)", "updated_at"),
)
# Rows fetched from the database at a time: memory stays flat however long the list.
EXPORT_CHUNK_SIZE = 1000

_EXPORT_LABELS = {
    "stage": dict(Stage.choices),
    "routing": dict(Routing.choices),
    "redundancy_risk": dict(RedundancyRisk.choices),
    "tunnel_1": dict(TunnelStatus.choices),
    "tunnel_2": dict(TunnelStatus.choices),
}


def _export_value(column: str, row: dict) -> object:
    value = row[column]
    if column == "pk":
        return f"VPN-{value:05d}"
    if column.startswith("tunnel_"):
        # A removed VPN's tunnels are gone; a tunnel past the count is not used.
        if value is None or row["stage"] in REMOVED_STAGES:
            return ""
        label = _EXPORT_LABELS[column][value]
        return label if int(column[-1]) <= row["tunnel_count"] else f"{label} (not used)"
    if column in _EXPORT_LABELS:
        return _EXPORT_LABELS[column].get(value, "")
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return "" if value is None else value


def request_export_rows(requests: QuerySet[VpnRequest]) -> Iterator[list[object]]:
    """The CSV export of a filtered dashboard list: the header, then one row per request.

    One query, every value a plain column (the tunnels' statuses as subqueries), read
    `EXPORT_CHUNK_SIZE` rows at a time through a database cursor: no model instances,
    no prefetching, and memory that does not grow with the list.
    """
    yield [header for header, _ in EXPORT_COLUMNS]
    statuses = Tunnel.objects.filter(request=OuterRef("pk")).order_by().values("status")
    rows = (
        requests.prefetch_related(None)
        .annotate(
            tunnel_1=Subquery(statuses.filter(position=1)[:1]),
            tunnel_2=Subquery(statuses.filter(position=2)[:1]),
        )
        .values(*{column for _, column in EXPORT_COLUMNS}, "tunnel_count")
    )
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield [_export_value(column, row) for _, column in EXPORT_COLUMNS]


def request_shows_health(request: VpnRequest) -> bool:
    """Whether the request's tunnels are worth showing: not once its VPN is removed or
    going (their last status would read as an outage)."""
    return request.stage not in REMOVED_STAGES


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
    """How the request began, its stage moves, its links resent or extended and the
    customer's changes to submitted answers, AWS resources created and deleted, each
    retry of a step after a transient AWS error, the customer's confirmation, the
    changes made to the live VPN (proposed, applied, their AWS calls, how they ended)
    and the latest tunnel status changes, newest first."""
    # A request an engineer or a command created was never in the customer's intake:
    # its draft is just a draft.
    invited = request.origin == RequestOrigin.INVITATION

    def came_from(transition: StageTransition) -> str:
        if transition.from_stage == Stage.DRAFT and not invited:
            return "draft"
        return transition.get_from_stage_display()

    events = [request_beginning(request=request)]
    events += [
        TimelineEvent(
            at=t.created_at,
            title=t.get_to_stage_display(),
            detail=f"from {came_from(t)} · {t.actor_display}",
            note=t.note,
        )
        for t in request_transitions(request=request)
    ]
    for event in request.events.select_related("actor").order_by("created_at", "pk"):
        changes = "\n".join(
            f"{change['label']}: {change['before'] or 'not given'} → {change['after'] or 'none'}"
            for change in event.changes
        )
        events.append(
            TimelineEvent(
                at=event.created_at,
                title=event.get_kind_display(),
                detail=event.actor_display,
                note="\n".join(part for part in (event.note, changes) if part),
            )
        )
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
    events += [TimelineEvent(**event) for event in change_timeline(request=request)]
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


def request_beginning(*, request: VpnRequest) -> TimelineEvent:
    """The first line of a request's timeline: how it began, and by whom."""
    owner = request.owner
    by = (owner.get_full_name() or owner.get_username()) if owner else ""
    if request.origin == RequestOrigin.INVITATION:
        contact = request.customer.contact_email
        detail = " · ".join(part for part in (by, f"to {contact}" if contact else "") if part)
        return TimelineEvent(at=request.created_at, title="Invitation sent", detail=detail)
    if request.origin == RequestOrigin.ENGINEER:
        return TimelineEvent(at=request.created_at, title="Created by an engineer", detail=by)
    if request.origin == RequestOrigin.COMMAND:
        return TimelineEvent(
            at=request.created_at, title="Created from the command line", detail="vpn_create"
        )
    return TimelineEvent(at=request.created_at, title="Request created", detail=by)


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


def request_removal_reason(*, request: VpnRequest) -> str:
    """Why the request's VPN was removed, in the customer's terms, as the end of "It was
    removed on <date>, …"; "" when no reason was recorded (or it is not removed)."""
    if request.stage not in REMOVED_STAGES:
        return ""
    return CUSTOMER_DECOMMISSION_REASONS.get(request.decommission_reason, "")


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
    "link_resend": "intakelink_resend",
    "link_extend": "intakelink_extend",
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
    link_resend: bool  # email an active link again
    link_extend: bool  # give a link a new expiry


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
        link_resend=allowed["link_resend"] and stage not in TERMINAL_STAGES,
        link_extend=allowed["link_extend"] and stage not in TERMINAL_STAGES,
    )
