"""The intake rules: every check on what an engineer or a customer enters, in one place.

The engineer's forms, the customer's form (`vpn.forms`) and the `vpn_create` command all
hand their raw values to `intake_clean`, which returns clean values or raises
`IntakeInvalid` with every error, keyed by field. The rules are AWS's (site-to-site VPN
API reference and user guide) plus the platform's own: a wrong value that reaches AWS
costs a failed provisioning and another round with the customer's network team, so each
message says what is wrong in a network engineer's words and, where it can, what would
be right.

Each message reads right for whoever entered the value: the customer on their link, or
an engineer (the staff forms, the admin, the commands, the review's checks). Most are
worded for both ("the VPN device"); the few that need "your" take `staff` and say "the
customer's" to an engineer.

The fields, and the rule that checks each, are declared once in `vpn.intake_fields`;
their names are the same everywhere (form fields, JSON keys of `vpn_create`, error keys).
Nothing here touches the database.
"""

import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from vpn.choices import Routing
from vpn.cities import City, city_matches, country_codes, country_name
from vpn.intake_fields import ALL_FIELDS, INTAKE_FIELDS, IntakeField, Rule
from vpn.regions import REGIONS_BY_CODE, Region, region_distance_km, region_nearest

ASN_MIN, ASN_MAX = 1, 4_294_967_295
# AWS reserves these ASNs for itself: None means in every region.
ASN_RESERVED_BY_AWS: dict[int, frozenset[str] | None] = {
    7224: None,
    9059: frozenset({"eu-west-1"}),
    10124: frozenset({"ap-northeast-1"}),
    # Newer documentation says 17943, older 17493: both are refused.
    17943: frozenset({"ap-southeast-1"}),
    17493: frozenset({"ap-southeast-1"}),
}
# RFC 6793: a placeholder that 2-byte-only BGP speakers see for any 4-byte ASN.
AS_TRANS = 23456
# RFC 7300 reserves the last 2-byte and the last 4-byte ASN: no network may use them.
ASN_LAST_RESERVED = (65535, 4_294_967_295)

# AWS takes the tunnels' inside addresses from here, so customer ranges must avoid it.
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)

# Addresses no customer gateway can have, most specific first, with what each is.
_GATEWAY_REFUSED = tuple(
    (ipaddress.IPv4Network(cidr), description)
    for cidr, description in (
        ("0.0.0.0/32", "the unspecified address"),
        ("255.255.255.255/32", "the limited broadcast address"),
        ("0.0.0.0/8", "in 0.0.0.0/8 (“this network”), which is never routed"),
        ("10.0.0.0/8", "a private address (RFC 1918, 10.0.0.0/8)"),
        ("172.16.0.0/12", "a private address (RFC 1918, 172.16.0.0/12)"),
        ("192.168.0.0/16", "a private address (RFC 1918, 192.168.0.0/16)"),
        ("100.64.0.0/10", "in the shared address space 100.64.0.0/10 (carrier-grade NAT)"),
        ("127.0.0.0/8", "a loopback address (127.0.0.0/8)"),
        ("169.254.0.0/16", "a link-local address (169.254.0.0/16)"),
        ("224.0.0.0/4", "a multicast address (224.0.0.0/4)"),
        ("240.0.0.0/4", "in 240.0.0.0/4, reserved for future use"),
        ("192.0.0.0/24", "in 192.0.0.0/24, reserved for IETF protocol assignments"),
        ("198.18.0.0/15", "in 198.18.0.0/15, reserved for network benchmarking"),
        ("192.88.99.0/24", "in 192.88.99.0/24, the retired 6to4 relay range"),
    )
)
# Ranges that can never be a customer's routed subnet.
_SUBNET_REFUSED = tuple(
    (ipaddress.IPv4Network(cidr), description)
    for cidr, description in (
        ("0.0.0.0/8", "“this network” space (0.0.0.0/8)"),
        ("127.0.0.0/8", "loopback space (127.0.0.0/8)"),
        ("224.0.0.0/4", "multicast space (224.0.0.0/4)"),
        ("240.0.0.0/4", "reserved space (240.0.0.0/4)"),
    )
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_ASN_TEXT = re.compile(r"(?:AS)?\s*(\d{1,12})", re.IGNORECASE)
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"", "false", "off", "no", "0"})
# At most this many problems are listed for one list field; the rest are counted.
_MAX_LIST_ERRORS = 10


class IntakeInvalid(Exception):
    """Raised with every problem found, as {field: [message, ...]}."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items()))
        self.errors = errors

    def for_engineer(self) -> str:
        """The problems in words for an engineer acting on a request (a button, an admin
        action): what to do, then each field's problems."""
        details = "; ".join(
            f"{name.replace('_', ' ')}: {' '.join(msgs)}" for name, msgs in self.errors.items()
        )
        return f"The intake breaks a rule; edit it first. {details}"


class _FieldError(Exception):
    """One field's problems, raised by the field parsers below."""

    def __init__(self, *messages: str):
        super().__init__(*messages)
        self.messages = list(messages)


@dataclass(frozen=True)
class RegionProposal:
    """The AWS region nearest to a customer's city, and how far it is."""

    city: City
    region: Region
    distance_km: float

    @property
    def place(self) -> str:
        """The city and country as the table names them."""
        return f"{self.city.name}, {country_name(self.city.country)}"


@dataclass
class IntakeResult:
    """What `intake_clean` returns: the clean values, and the region it proposed."""

    values: dict[str, object] = field(default_factory=dict)
    proposal: RegionProposal | None = None


def _side(*, staff: bool) -> str:
    """The customer's end of the VPN, as its reader calls it."""
    return "the customer's side" if staff else "your side"


def _shown(text: str, limit: int = 40) -> str:
    """User input quoted back in a message, shortened so an error never floods the page."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: object, spec: IntakeField) -> str:
    """A field's value as stripped text, refusing what no field can hold."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError("Give this as text.")
    text = str(value).strip()
    if len(text) > spec.max_length:
        raise _FieldError(f"Keep this under {spec.max_length} characters.")
    # A list may be written one item per line.
    allowed = "\n\r\t" if spec.rule == Rule.CIDR_LIST else ""
    for char in text:
        # Control characters break emails and logs; PostgreSQL refuses NUL outright;
        # lone surrogates cannot be stored as UTF-8.
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            raise _FieldError("Remove the control characters (line breaks, tabs, NUL…).")
    return text


def _name(text: str) -> str:
    return " ".join(text.split())


def _org_id(text: str) -> str:
    if not _UUID.fullmatch(text):
        raise _FieldError(
            f"“{_shown(text)}” is not a platform org ID: org IDs are UUIDs like "
            "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01 (in the platform's organisation settings)."
        )
    return str(uuid.UUID(text))


def _email(text: str) -> str:
    try:
        EmailValidator()(text)
    except ValidationError as exc:
        raise _FieldError("Enter a valid email address, like netops@example.com.") from exc
    local, _, domain = text.rpartition("@")
    # Domains are case-insensitive; the local part, strictly, is not.
    return f"{local}@{domain.lower()}"


def _region(text: str) -> str:
    code = text.lower()
    if code not in REGIONS_BY_CODE:
        raise _FieldError(
            f"“{_shown(text)}” is not an AWS region the platform builds in; pick one from "
            "the list (for example eu-west-2)."
        )
    return code


def gateway_ip_check(text: str, *, sandbox: bool) -> str:
    """The customer gateway's address if it is a public IPv4 address AWS can reach."""
    if "/" in text:
        raise _FieldError(
            f"Give the single address of the VPN device, without a prefix length "
            f"(“{_shown(text)}” looks like a range)."
        )
    try:
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise _FieldError(
            f"“{_shown(text)}” is not an IPv4 address; write four numbers from 0 to 255 "
            "separated by dots, without leading zeros, like 52.94.12.7."
        ) from exc
    if address.version == 6:
        raise _FieldError(
            f"{address} is an IPv6 address; the customer gateway needs a public IPv4 address."
        )
    if sandbox and any(address in network for network in DOCUMENTATION_NETWORKS):
        return str(address)
    refused = [description for network, description in _GATEWAY_REFUSED if address in network]
    if refused:
        description = refused[0]
    elif any(address in network for network in DOCUMENTATION_NETWORKS):
        description = "a documentation address (RFC 5737), never routed on the internet"
    elif not address.is_global:
        description = "not a public address"
    else:
        return str(address)
    raise _FieldError(
        f"{address} is {description}. AWS needs the public IPv4 address the VPN device is "
        "reached on (behind NAT: the NAT's public address)."
    )


def _cidr(item: str) -> ipaddress.IPv4Network:
    """One IPv4 range in CIDR notation, with its host bits clear."""
    if "/" not in item:
        try:
            ipaddress.IPv4Address(item)
        except ValueError:
            pass
        else:
            raise _FieldError(
                f"“{item}” has no prefix length; write {item}/32 for a single host, or the "
                "whole subnet, like 10.1.2.0/24."
            )
    try:
        network = ipaddress.ip_network(item, strict=False)
    except ValueError as exc:
        raise _FieldError(
            f"“{_shown(item)}” is not an IPv4 range; write it in CIDR notation, like 10.20.0.0/16."
        ) from exc
    if network.version == 6:
        raise _FieldError(
            f"{network} is an IPv6 range; only IPv4 ranges can be routed over this VPN."
        )
    given = ipaddress.ip_address(item.split("/", 1)[0])
    if given != network.network_address:
        raise _FieldError(f"{item} has host bits set; did you mean {network}?")
    for refused, description in _SUBNET_REFUSED:
        if network.subnet_of(refused):
            raise _FieldError(f"{network} is {description} and cannot be routed over a VPN.")
    return network


def cidr_list_check(value: object, *, what: str, limit: int, staff: bool) -> list[str]:
    """A list of customer ranges (a list, or text with one per line or comma-separated):
    each a valid IPv4 CIDR, no two overlapping, none overlapping the platform's ranges
    or 169.254.0.0/16, at most `limit` of them. `staff`: the messages are for an
    engineer."""
    if isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise _FieldError(f"Give the {what} as text, like 10.20.0.0/16.")
        items = [item.strip() for item in value if item.strip()]
    elif isinstance(value, str):
        items = [item for item in _LIST_SEPARATORS.split(value) if item]
    else:
        raise _FieldError(f'Give the {what} as a list of CIDRs, like ["10.20.0.0/16"].')
    if len(items) > limit:
        raise _FieldError(
            f"At most {limit} {what} (AWS's limit per VPN); you gave {len(items)}. "
            "Summarise them into fewer, larger ranges."
        )

    problems: list[str] = []
    networks: list[ipaddress.IPv4Network] = []
    for item in items:
        try:
            networks.append(_cidr(item))
        except _FieldError as exc:
            problems.extend(exc.messages)
    if not problems:
        reserved = [ipaddress.IPv4Network(cidr) for cidr in settings.PLATFORM_RESERVED_CIDRS]
        for index, network in enumerate(networks):
            for earlier in networks[:index]:
                if network == earlier:
                    problems.append(f"{network} is listed twice.")
                elif network.overlaps(earlier):
                    problems.append(f"{earlier} and {network} overlap; list each range once.")
            for platform in reserved:
                if network.overlaps(platform):
                    problems.append(
                        f"{network} overlaps {platform}, which the platform uses for its own "
                        f"networks; route another range (or NAT it on {_side(staff=staff)})."
                    )
            if network.overlaps(LINK_LOCAL):
                problems.append(
                    f"{network} overlaps {LINK_LOCAL}, the link-local range AWS uses for the "
                    "tunnels' inside addresses."
                )
    if problems:
        if len(problems) > _MAX_LIST_ERRORS:
            more = len(problems) - _MAX_LIST_ERRORS
            problems = [*problems[:_MAX_LIST_ERRORS], f"…and {more} more problems in this list."]
        raise _FieldError(*problems)
    return [str(network) for network in networks]


def _asn(value: object) -> int:
    if isinstance(value, bool) or (not isinstance(value, int) and not isinstance(value, str)):
        raise _FieldError("Give the ASN as a whole number, like 65000.")
    if isinstance(value, str):
        match = _ASN_TEXT.fullmatch(value.strip())
        if not match:
            raise _FieldError(
                f"“{_shown(value.strip())}” is not an ASN; give it as a whole number, like "
                "65000 (asdot notation such as 1.10 is not accepted)."
            )
        value = int(match.group(1))
    if not ASN_MIN <= value <= ASN_MAX:
        raise _FieldError(
            f"{value} is out of range: an ASN is a whole number from {ASN_MIN} to {ASN_MAX} "
            "(private ASNs: 64512 to 65534 and 4200000000 to 4294967294)."
        )
    if value == AS_TRANS:
        raise _FieldError(
            "ASN 23456 is AS_TRANS, the placeholder old BGP speakers see for 4-byte ASNs; "
            "give the real 4-byte ASN instead."
        )
    if value in ASN_LAST_RESERVED:
        raise _FieldError(
            f"ASN {value} is reserved (RFC 7300 reserves the last 2-byte and 4-byte ASNs) "
            "and cannot be used; give the real ASN, or a private one such as 65000 "
            "(64512 to 65534, 4200000000 to 4294967294)."
        )
    return value


def asn_reserved_message(asn: int, region: str) -> str | None:
    """Why AWS refuses this customer ASN in this region, or None if it does not."""
    if asn not in ASN_RESERVED_BY_AWS:
        return None
    regions = ASN_RESERVED_BY_AWS[asn]
    if regions is None:
        return (
            f"ASN {asn} is reserved by AWS in every region; pick another (a private ASN such "
            "as 65000 is fine)."
        )
    if region in regions:
        return (
            f"ASN {asn} is reserved by AWS in {region} ({REGIONS_BY_CODE[region].name}); pick "
            "another ASN (a private one such as 65000 is fine)."
        )
    return None


def _choice(text: str, values: Collection[str], message: str) -> str:
    value = text.lower()
    if value not in values:
        raise _FieldError(message)
    return value


def _tunnels(value: object) -> int:
    message = (
        "Choose 1 or 2 tunnels (AWS always builds two; 1 means only the first is set up on "
        "the VPN device)."
    )
    if isinstance(value, bool):
        raise _FieldError(message)
    if isinstance(value, int) and value in (1, 2):
        return value
    if isinstance(value, str) and value.strip() in ("1", "2"):
        return int(value.strip())
    raise _FieldError(message)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _FieldError("Answer yes or no (true or false).")


def region_propose(*, city: str, country: str = "") -> RegionProposal:
    """The AWS region nearest to a city, by great-circle distance.

    Raises `IntakeInvalid` (on `location_city` or `location_country`) for a country or
    city the table does not know, or a city name that several countries share.
    """
    codes = None
    if country:
        codes = country_codes(country)
        if codes is None:
            raise IntakeInvalid(
                {
                    "location_country": [
                        f"We don't recognise the country “{_shown(country)}”; write it in "
                        "English (Germany) or as a two-letter code (DE)."
                    ]
                }
            )
    matches = city_matches(city=city, countries=codes)
    if not matches:
        where = f"“{_shown(city)}”" + (f" in {_shown(country)}" if country else "")
        raise IntakeInvalid(
            {
                "location_city": [
                    f"We don't know where {where} is. Pick the AWS region yourself, or give "
                    "a nearby major city."
                ]
            }
        )
    if len(matches) > 1:
        countries = ", ".join(sorted(country_name(match.country) for match in matches))
        raise IntakeInvalid(
            {
                "location_country": [
                    f"There is more than one {matches[0].name} ({countries}); give the country."
                ]
            }
        )
    found = matches[0]
    region, distance = region_nearest(latitude=found.latitude, longitude=found.longitude)
    return RegionProposal(city=found, region=region, distance_km=distance)


def region_distance(*, region: str, city: City) -> float:
    """How far a city is from a region, in km (for showing an engineer's override)."""
    return region_distance_km(
        region=REGIONS_BY_CODE[region], latitude=city.latitude, longitude=city.longitude
    )


def _check(spec: IntakeField, value: object, *, sandbox: bool, staff: bool) -> object:
    """One field's clean value, by the rule its declaration names."""
    match spec.rule:
        case Rule.CIDR_LIST:
            if isinstance(value, str):
                value = _text(value, spec)
            return cidr_list_check(value, what=spec.items, limit=spec.max_items, staff=staff)
        # These take JSON's numbers and booleans as well as text.
        case Rule.ASN:
            return _asn(value)
        case Rule.TUNNELS:
            return _tunnels(value)
        case Rule.FLAG:
            return _flag(value)
    text = _text(value, spec)
    match spec.rule:
        case Rule.NAME:
            return _name(text)
        case Rule.ORG_ID:
            return _org_id(text)
        case Rule.EMAIL:
            return _email(text)
        case Rule.REGION:
            return _region(text)
        case Rule.GATEWAY_IP:
            return gateway_ip_check(text, sandbox=sandbox)
        case Rule.CHOICE:
            return _choice(text, [choice for choice, _ in spec.choices], spec.refused)
    raise LookupError(f"No check for the rule {spec.rule!r} of {spec.name}.")


def _empty_value(spec: IntakeField) -> object:
    """The clean value of a field left empty (a fresh list for a list)."""
    return list(spec.default) if isinstance(spec.default, tuple) else spec.default


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and not value


def intake_clean(
    raw: Mapping[str, object],
    *,
    fields: Collection[str] = ALL_FIELDS,
    complete: bool = True,
    sandbox: bool | None = None,
    staff: bool,
) -> IntakeResult:
    """Check the `fields` of `raw` and return their clean values.

    `complete` is for a submission: every required field must be there. A draft
    (`complete=False`) may leave fields empty, but whatever it gives must be valid.
    Fields of the routing that was not chosen are ignored and cleared. `sandbox`
    (default: the `AWS_SANDBOX` setting) lets documentation addresses through. `staff`
    says who reads the messages: an engineer, or (False) the customer on their link.
    Raises `IntakeInvalid` with every error found.
    """
    if sandbox is None:
        sandbox = settings.AWS_SANDBOX
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    routing = raw.get("routing")
    routing = routing.strip().lower() if isinstance(routing, str) else ""

    for spec in (spec for spec in INTAKE_FIELDS if spec.name in fields):
        name, value = spec.name, raw.get(spec.name)
        other_routing = spec.routing and routing in Routing.values and routing != spec.routing
        if other_routing or _empty(value):
            values[name] = _empty_value(spec)
            if complete and spec.required and not spec.routing:
                errors[name] = [spec.required_for(staff=staff)]
            continue
        try:
            values[name] = _check(spec, value, sandbox=sandbox, staff=staff)
        except _FieldError as exc:
            errors[name] = exc.messages

    proposal = None
    if "region" in fields:
        proposal = _location_check(values, errors, complete=complete)
    if complete and "routing" in fields and "routing" not in errors:
        # What the chosen routing needs: subnets for static, the ASN for BGP.
        for spec in INTAKE_FIELDS:
            needed = spec.required and spec.routing == values["routing"]
            if needed and spec.name in values and _empty(values[spec.name]):
                errors[spec.name] = [spec.required_for(staff=staff)]
    asn, region = values.get("asn"), values.get("region")
    reserved = isinstance(asn, int) and region and asn_reserved_message(asn, str(region))
    if reserved and "asn" not in errors:
        errors["asn"] = [reserved]

    if errors:
        raise IntakeInvalid({name: errors[name] for name in ALL_FIELDS if name in errors})
    return IntakeResult(values=values, proposal=proposal)


def _location_check(
    values: dict[str, object], errors: dict[str, list[str]], *, complete: bool
) -> RegionProposal | None:
    """Propose the region from the city; choose it when no region was picked."""
    if {"region", "location_city", "location_country"} & errors.keys():
        return None
    city, country = str(values.get("location_city", "")), str(values.get("location_country", ""))
    proposal = None
    if city:
        try:
            proposal = region_propose(city=city, country=country)
        except IntakeInvalid as exc:
            errors.update(exc.errors)
            return None
        if not values["region"]:
            values["region"] = proposal.region.code
    elif complete and not values["region"]:
        if country:
            errors["location_city"] = [
                "Give a city as well as the country, or pick the AWS region yourself."
            ]
        else:
            errors["region"] = [
                "Pick the AWS region, or give the city and country where the VPN device is, "
                "so that the portal can propose the nearest one."
            ]
    return proposal


# --- The same rules, for changes to a live VPN (vpn.services.changes) ---------------------


def customer_ranges_check(*, routing: str, ranges: list[str], vpc_cidr: str) -> list[str]:
    """A live VPN's customer ranges after a change: its static subnets (static routing)
    or advertised prefixes (BGP), by the intake's rules (valid CIDRs, no overlap between
    them, nor with the platform's reserved ranges or the tunnels' link-local range, at
    most 100), and none overlapping the VPN's own VPC. Raises `IntakeInvalid`, in words for
    the engineer who changes the VPN."""
    name = "subnets" if routing == Routing.STATIC else "advertised_prefixes"
    values = intake_clean(
        {"routing": routing, name: list(ranges)},
        fields=("routing", name),
        complete=True,
        staff=True,
    ).values[name]
    if vpc_cidr:
        vpc = ipaddress.IPv4Network(vpc_cidr)
        overlapping = [cidr for cidr in values if ipaddress.IPv4Network(cidr).overlaps(vpc)]
        if overlapping:
            raise IntakeInvalid(
                {
                    name: [
                        f"{cidr} overlaps {vpc}, the platform's VPC for this VPN: traffic to "
                        "it would stay in the VPC. Route another range (or NAT it on the "
                        "customer's side)."
                        for cidr in overlapping
                    ]
                }
            )
    return values


def gateway_change_check(*, ip: object, asn: object, region: str) -> tuple[str, int | None]:
    """A live VPN's new customer gateway: its public IP, and its BGP ASN when one is given
    (None otherwise), by the intake's rules (AWS's reserved ASNs in `region` included).
    Raises `IntakeInvalid`, in words for the engineer who changes the VPN."""
    raw = {"gateway_ip": ip, "routing": Routing.BGP.value, "region": region}
    fields = ["gateway_ip", "routing"]
    if asn is not None:
        raw["asn"] = asn
        fields.append("asn")
    if _empty(ip):
        raise IntakeInvalid({"gateway_ip": ["Give the new public IP of the customer's device."]})
    values = intake_clean(raw, fields=fields, complete=False, staff=True).values
    asn_value = values.get("asn")
    reserved = isinstance(asn_value, int) and asn_reserved_message(asn_value, region)
    if reserved:
        raise IntakeInvalid({"asn": [reserved]})
    return str(values["gateway_ip"]), asn_value
