"""Reads of the intake: the review queue, likely duplicates, customer links, the region
proposed from the customer's city, and a request's stored answers."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from vpn.choices import TERMINAL_STAGES, Stage
from vpn.intake_fields import INTAKE_FIELDS, INTAKE_FIELDS_BY_NAME
from vpn.models import IntakeLink, StageTransition, VpnRequest
from vpn.regions import REGIONS_BY_CODE
from vpn.selectors.requests import request_transitions
from vpn.validation import IntakeInvalid, RegionProposal, region_distance, region_propose

# Intake field -> VpnRequest field, as `vpn.intake_fields` declares them.
REQUEST_FIELDS = {spec.name: spec.request_field for spec in INTAKE_FIELDS if spec.request_field}


def request_intake_values(*, request: VpnRequest) -> dict[str, object]:
    """A request's intake as the raw values `intake_clean` takes (for re-checking, and
    for filling the forms)."""
    customer = request.customer
    values: dict[str, object] = {
        "customer_name": customer.name,
        "org_id": customer.org_id,
        "contact_name": customer.contact_name,
        "contact_email": customer.contact_email,
    }
    for name, model_field in REQUEST_FIELDS.items():
        value = getattr(request, model_field)
        values[name] = "" if value is None else value
    return values


def intake_value_words(name: str, value: object) -> str:
    """One intake answer as the pages and the timeline write it: a choice by its label,
    a list one item after another, yes or no; "" for nothing given."""
    spec = INTAKE_FIELDS_BY_NAME[name]
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    labels = dict(spec.choices)
    return str(labels.get(str(value), value)) if labels else str(value)


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
