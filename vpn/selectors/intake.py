"""Reads of the intake: the review queue, likely duplicates, customer links, the region
proposed from the customer's city, and a request's stored answers."""

import bisect
import ipaddress
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


@dataclass(frozen=True)
class Conflict:
    """Another open request that uses the same gateway IP, or an overlapping subnet."""

    other: VpnRequest
    what: str  # "Gateway IP 81.2.69.142", "Subnet 10.20.0.0/16 overlaps 10.20.5.0/24"


def _networks(request: VpnRequest) -> list[ipaddress.IPv4Network]:
    networks = []
    for text in [*(request.static_subnets or []), *(request.advertised_prefixes or [])]:
        try:
            networks.append(ipaddress.IPv4Network(text, strict=False))
        except ValueError:
            continue  # checked at the form; an old row that is not a CIDR is skipped
    return networks


class _OpenNetworks:
    """Every open request's subnets and advertised prefixes, indexed so that the ones
    overlapping a network are found without comparing it with each (two CIDR blocks
    overlap only when one contains the other)."""

    def __init__(self, requests):
        self.by_network: dict[ipaddress.IPv4Network, list[VpnRequest]] = {}
        for request in requests:
            for network in _networks(request):
                self.by_network.setdefault(network, []).append(request)
        self.starts = sorted((int(n.network_address), n) for n in self.by_network)
        self.keys = [start for start, _ in self.starts]

    def overlapping(self, network: ipaddress.IPv4Network):
        """(their network, request) for each indexed network overlapping `network`."""
        found = set()
        for prefix in range(network.prefixlen + 1):  # the blocks that contain it
            outer = network.supernet(new_prefix=prefix)
            if outer in self.by_network:
                found.add(outer)
        first = int(network.network_address)
        last = int(network.broadcast_address)
        index = bisect.bisect_left(self.keys, first)
        while index < len(self.starts) and self.starts[index][0] <= last:  # inside it
            found.add(self.starts[index][1])
            index += 1
        for other_network in sorted(found):
            for request in self.by_network[other_network]:
                yield other_network, request


def _open_requests() -> QuerySet[VpnRequest]:
    return VpnRequest.objects.exclude(stage__in=(*TERMINAL_STAGES, Stage.DECOMMISSIONING))


def requests_conflicts(*, requests: list[VpnRequest]) -> dict[int, list[Conflict]]:
    """For each of `requests`, the other open requests that use its gateway IP (any
    customer's), or (the same customer's) a subnet or advertised prefix overlapping one of
    its own: warnings for the review. Two customers behind one gateway IP, or one network
    of a customer routed through two of its VPNs, is most often a mistake in the intake;
    different customers' private ranges overlap all the time, each in its own VPC."""
    conflicts: dict[int, list[Conflict]] = {request.pk: [] for request in requests}
    ips = {request.customer_gateway_ip for request in requests if request.customer_gateway_ip}
    sharing = _open_requests().filter(customer_gateway_ip__in=ips).select_related("customer")
    for other in sharing.order_by("pk"):
        for request in requests:
            if other.pk != request.pk and other.customer_gateway_ip == request.customer_gateway_ip:
                conflicts[request.pk].append(
                    Conflict(other=other, what=f"Gateway IP {other.customer_gateway_ip}")
                )
    customers = {request.customer_id for request in requests if _networks(request)}
    if customers:
        siblings = (
            _open_requests()
            .filter(customer_id__in=customers)
            .select_related("customer")
            .only(
                "pk",
                "stage",
                "customer_id",
                "static_subnets",
                "advertised_prefixes",
                "customer__name",
            )
            .order_by("pk")
        )
        by_customer: dict[int, list[VpnRequest]] = {}
        for sibling in siblings:
            by_customer.setdefault(sibling.customer_id, []).append(sibling)
        indexes = {customer: _OpenNetworks(rows) for customer, rows in by_customer.items()}
        for request in requests:
            index = indexes.get(request.customer_id)
            for network in _networks(request) if index else ():
                for theirs, other in index.overlapping(network):
                    if other.pk == request.pk:
                        continue
                    what = f"Subnet {network}" + (
                        " is also used" if theirs == network else f" overlaps {theirs}"
                    )
                    conflicts[request.pk].append(Conflict(other=other, what=what))
    return conflicts


def request_conflicts(*, request: VpnRequest) -> list[Conflict]:
    """The other open requests that use this one's gateway IP or an overlapping subnet."""
    return requests_conflicts(requests=[request])[request.pk]


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
