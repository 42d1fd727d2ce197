"""The intake fields, declared once: what each is called, asks, accepts and is kept in.

Everything that handles the intake reads this table rather than listing the fields again:
`vpn.validation` checks each field with the rule it names, the intake forms
(`vpn.forms`) show the fields in this order with these labels, help texts and browser
hints, `vpn_create` takes them as JSON keys (its help prints the examples), the intake
services store each in the `VpnRequest` column it names, and the tests build their valid
samples from the examples. A new field is a new entry here, plus its column and, if no
rule fits, its rule; the test of the declaration fails until every one of them takes it.

Plain data: nothing here checks a value or touches the database.
"""

from dataclasses import dataclass
from enum import StrEnum

from vpn.choices import DeviceVendor, IkeVersion, Routing
from vpn.regions import REGION_CHOICES


class Part(StrEnum):
    """Which part of the intake a field belongs to, and so who answers it."""

    # Who the customer is: only the engineer gives it (invitation, request form).
    IDENTITY = "identity"
    # Their side of the VPN: the engineer, or the customer's network team on their link.
    TECHNICAL = "technical"


class Widget(StrEnum):
    """How the intake forms present a field."""

    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    TEXTAREA = "textarea"
    SELECT = "select"
    RADIO = "radio"
    CHECKBOX = "checkbox"


class Rule(StrEnum):
    """Which check of `vpn.validation` turns a field's raw value into its clean value."""

    NAME = "name"  # free text, whitespace collapsed
    ORG_ID = "org_id"  # a platform org ID (a UUID), stored lower-case
    EMAIL = "email"
    REGION = "region"  # an AWS region the platform builds in
    GATEWAY_IP = "gateway_ip"  # a public IPv4 address AWS can reach
    CIDR_LIST = "cidr_list"  # customer IPv4 ranges, at most `max_items`
    ASN = "asn"  # a BGP ASN the customer's side may use
    CHOICE = "choice"  # one of `choices`
    TUNNELS = "tunnels"  # 1 or 2
    FLAG = "flag"  # yes or no


# Cheap mirrors of the server's rules, for the browser's own checks.
IPV4_PATTERN = r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
UUID_PATTERN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"

# Where the subnets' help names the platform's own ranges (a setting, so filled in late).
PLATFORM_RANGES = "{platform_ranges}"


@dataclass(frozen=True)
class IntakeField:
    """One intake field. `name` is its form field, its error key, the key of its clean
    value and (unless `json_key` says otherwise) its `vpn_create` JSON key."""

    name: str
    part: Part
    # What it is called, and what it is, an example and why it is needed, as the one who
    # answers it reads them: the customer on their link for a technical field (in their
    # voice: "your device"), the engineer for the identity.
    label: str
    help_text: str
    widget: Widget
    rule: Rule
    # Longest text accepted: the column's size (room for 100 CIDRs for the lists).
    max_length: int
    # A valid value, as `vpn_create`'s JSON gives it (a list written as a tuple).
    example: object
    # What a submission without it is told; "" when it may be left empty.
    required: str = ""
    # Asked only with this routing (and required with it when `required` says so);
    # ignored and cleared with the other routing.
    routing: str = ""
    # The clean value when it is left empty; () stands for an empty list.
    default: object = ""
    choices: tuple[tuple[str, str], ...] = ()
    # What a value outside `choices` is told.
    refused: str = ""
    # For a list: what messages call its items, and how many AWS takes.
    items: str = ""
    max_items: int = 0
    # The `vpn_create` key, when several fields share one (the location's city and country).
    json_key: str = ""
    # The `VpnRequest` column that keeps it; "" for the identity, kept on the `Customer`.
    request_field: str = ""
    # HTML attributes that mirror a cheap rule or help typing, in the browser.
    html: tuple[tuple[str, object], ...] = ()
    # The same in the engineer's voice ("the customer's device"), for the staff forms,
    # the admin, the commands and the timeline; "" or () where the customer's words suit
    # both. The messages are neutral ("the VPN device") wherever that reads naturally, so
    # only the few that need "your" have a staff version.
    staff_label: str = ""
    staff_help_text: str = ""
    staff_choices: tuple[tuple[str, str], ...] = ()
    staff_required: str = ""

    @property
    def key(self) -> str:
        """The `vpn_create` JSON key that carries this field."""
        return self.json_key or self.name

    def label_for(self, *, staff: bool) -> str:
        """The label an engineer (`staff`) or the customer reads."""
        return (staff and self.staff_label) or self.label

    def help_text_for(self, *, staff: bool) -> str:
        """The help an engineer (`staff`) or the customer reads."""
        return (staff and self.staff_help_text) or self.help_text

    def choices_for(self, *, staff: bool) -> tuple[tuple[str, str], ...]:
        """The choices as an engineer (`staff`) or the customer reads them."""
        return (staff and self.staff_choices) or self.choices

    def required_for(self, *, staff: bool) -> str:
        """What a submission without it tells an engineer (`staff`) or the customer."""
        return (staff and self.staff_required) or self.required


INTAKE_FIELDS: tuple[IntakeField, ...] = (
    IntakeField(
        name="customer_name",
        part=Part.IDENTITY,
        label="Customer name",
        help_text="The customer's name as the platform knows them. Example: Northwind Traders.",
        widget=Widget.TEXT,
        rule=Rule.NAME,
        max_length=200,
        example="Northwind Traders",
        required="Give the customer's name, as the platform knows them.",
        html=(("autocomplete", "organization"),),
    ),
    IntakeField(
        name="org_id",
        part=Part.IDENTITY,
        label="Platform org ID",
        help_text="The customer's organisation ID on the platform, a UUID such as "
        "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01: it ties the VPN to the right organisation.",
        widget=Widget.TEXT,
        rule=Rule.ORG_ID,
        max_length=100,
        example="3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01",
        required="Give the customer's platform org ID.",
        html=(
            ("pattern", UUID_PATTERN),
            ("spellcheck", "false"),
            ("autocomplete", "off"),
            ("placeholder", "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01"),
            ("title", "A UUID: 8-4-4-4-12 hexadecimal digits"),
        ),
    ),
    IntakeField(
        name="contact_name",
        part=Part.IDENTITY,
        label="Contact name",
        help_text="The customer's network engineer the portal writes to. Example: Jo Smith.",
        widget=Widget.TEXT,
        rule=Rule.NAME,
        max_length=200,
        example="Jo Smith",
        html=(("autocomplete", "name"),),
    ),
    IntakeField(
        name="contact_email",
        part=Part.IDENTITY,
        label="Contact email",
        help_text="Receives the intake link and progress updates. Example: netops@example.com.",
        widget=Widget.EMAIL,
        rule=Rule.EMAIL,
        max_length=254,
        example="netops@northwind.example",
        required="Give the contact's email address: the intake link and updates go there.",
    ),
    IntakeField(
        name="region",
        part=Part.TECHNICAL,
        label="AWS region",
        help_text="Where the platform builds your VPN. If your own AWS VPC is in a region, "
        "pick that one (example: eu-west-2 for London); otherwise leave this and give your "
        "city below: the portal proposes the nearest region (shorter distance, lower latency).",
        widget=Widget.SELECT,
        rule=Rule.REGION,
        max_length=32,
        example="eu-west-2",
        choices=(("", "Propose the nearest region from my location"), *REGION_CHOICES),
        request_field="region",
        staff_help_text="Where the platform builds the customer's VPN. If the customer's own "
        "AWS VPC is in a region, pick that one (example: eu-west-2 for London); otherwise "
        "leave this and give their city below: the portal proposes the nearest region "
        "(shorter distance, lower latency).",
        staff_choices=(
            ("", "Propose the nearest region from the customer's location"),
            *REGION_CHOICES,
        ),
    ),
    IntakeField(
        name="location_city",
        part=Part.TECHNICAL,
        label="City",
        help_text="Where your VPN device is. Example: Manchester. Used only to propose the "
        "nearest AWS region.",
        widget=Widget.TEXT,
        rule=Rule.NAME,
        max_length=100,
        example="Manchester",
        json_key="location",
        request_field="location_city",
        staff_help_text="Where the customer's VPN device is. Example: Manchester. Used only "
        "to propose the nearest AWS region.",
        html=(("placeholder", "Manchester"), ("autocomplete", "address-level2")),
    ),
    IntakeField(
        name="location_country",
        part=Part.TECHNICAL,
        label="Country",
        help_text="In English or as a two-letter code. Example: United Kingdom, or GB. Needed "
        "when several countries have a city of that name.",
        widget=Widget.TEXT,
        rule=Rule.NAME,
        max_length=100,
        example="United Kingdom",
        json_key="location",
        request_field="location_country",
        html=(("placeholder", "United Kingdom"), ("autocomplete", "country-name")),
    ),
    IntakeField(
        name="gateway_ip",
        part=Part.TECHNICAL,
        label="Customer gateway public IP",
        help_text="The static public IPv4 address of your VPN device: AWS's two tunnel "
        "endpoints connect to it. Example: 52.94.12.7. Behind NAT, give the NAT's public "
        "address.",
        widget=Widget.TEXT,
        rule=Rule.GATEWAY_IP,
        max_length=64,
        example="52.94.12.7",
        required="Give the public IPv4 address of the VPN device (the customer gateway).",
        default=None,
        request_field="customer_gateway_ip",
        staff_help_text="The static public IPv4 address of the customer's VPN device: AWS's "
        "two tunnel endpoints connect to it. Example: 52.94.12.7. Behind NAT, the NAT's "
        "public address.",
        html=(
            ("pattern", IPV4_PATTERN),
            ("inputmode", "decimal"),
            ("spellcheck", "false"),
            ("autocomplete", "off"),
            ("placeholder", "52.94.12.7"),
            ("title", "An IPv4 address such as 52.94.12.7"),
            ("class", "mono"),
        ),
    ),
    IntakeField(
        name="routing",
        part=Part.TECHNICAL,
        label="Routing",
        help_text="How routes are exchanged. Static: you list your subnets and we route them. "
        "BGP: your device advertises its prefixes over a BGP session in each tunnel (the "
        "device must speak BGP). Example: BGP if your firewall already runs BGP with other "
        "sites.",
        widget=Widget.RADIO,
        rule=Rule.CHOICE,
        max_length=16,
        example=Routing.STATIC.value,
        required="Choose static or BGP routing.",
        # No default: until someone chooses, the pages say "not chosen yet".
        default="",
        choices=tuple(Routing.choices),
        refused="Choose static or BGP routing.",
        request_field="routing",
        staff_help_text="How routes are exchanged. Static: the customer's subnets are listed "
        "here and routed. BGP: the customer's device advertises its prefixes over a BGP "
        "session in each tunnel (the device must speak BGP). Example: BGP if the customer's "
        "firewall already runs BGP with other sites.",
    ),
    IntakeField(
        name="subnets",
        part=Part.TECHNICAL,
        label="Your subnets",
        help_text="The IPv4 ranges on your side that the platform's connectors must reach, "
        "one per line or comma-separated. Example: 10.20.0.0/16. At most 100; they must not "
        "overlap each other, 169.254.0.0/16 or the platform's own ranges "
        f"({PLATFORM_RANGES}).",
        widget=Widget.TEXTAREA,
        rule=Rule.CIDR_LIST,
        max_length=4000,
        example=("10.20.0.0/16", "10.30.1.0/24"),
        required="Static routing needs at least one subnet: the ranges on your side that the "
        "platform's connectors must reach.",
        staff_required="Static routing needs at least one subnet: the ranges on the customer's "
        "side that the platform's connectors must reach.",
        routing=Routing.STATIC.value,
        default=(),
        items="subnets",
        # AWS: at most 100 static routes per VPN connection.
        max_items=100,
        request_field="static_subnets",
        staff_label="Customer subnets",
        staff_help_text="The IPv4 ranges on the customer's side that the platform's "
        "connectors must reach, one per line or comma-separated. Example: 10.20.0.0/16. At "
        "most 100; they must not overlap each other, 169.254.0.0/16 or the platform's own "
        f"ranges ({PLATFORM_RANGES}).",
        html=(
            ("rows", 4),
            ("spellcheck", "false"),
            ("placeholder", "10.20.0.0/16\n10.30.1.0/24"),
            ("class", "mono"),
        ),
    ),
    IntakeField(
        name="asn",
        part=Part.TECHNICAL,
        label="Your BGP ASN",
        help_text="The autonomous system number of your side of the BGP sessions. Example: "
        "65000 (a private ASN is fine). AWS keeps 7224 everywhere, and a few ASNs in some "
        "regions, for itself.",
        widget=Widget.NUMBER,
        rule=Rule.ASN,
        max_length=24,
        example=65010,
        required="BGP needs the ASN of your side of the sessions (a private ASN such as 65000 "
        "is fine).",
        staff_required="BGP needs the ASN of the customer's side of the sessions (a private ASN "
        "such as 65000 is fine).",
        routing=Routing.BGP.value,
        default=None,
        request_field="bgp_asn",
        staff_label="Customer BGP ASN",
        staff_help_text="The autonomous system number of the customer's side of the BGP "
        "sessions. Example: 65000 (a private ASN is fine). AWS keeps 7224 everywhere, and a "
        "few ASNs in some regions, for itself.",
        html=(("min", 1), ("max", 4_294_967_295), ("step", 1), ("placeholder", "65000")),
    ),
    IntakeField(
        name="advertised_prefixes",
        part=Part.TECHNICAL,
        label="Prefixes you will advertise",
        help_text="Optional. The IPv4 prefixes your device will announce over BGP, one per "
        "line or comma-separated. Example: 10.20.0.0/16. Lets the platform pick its own "
        "range clear of yours; at most 100.",
        widget=Widget.TEXTAREA,
        rule=Rule.CIDR_LIST,
        max_length=4000,
        example=("10.20.0.0/16",),
        routing=Routing.BGP.value,
        default=(),
        items="advertised prefixes",
        # AWS: at most 100 BGP routes from the customer gateway.
        max_items=100,
        request_field="advertised_prefixes",
        staff_label="Prefixes the customer advertises",
        staff_help_text="Optional. The IPv4 prefixes the customer's device will announce "
        "over BGP, one per line or comma-separated. Example: 10.20.0.0/16. Lets the platform "
        "pick its own range clear of theirs; at most 100.",
        html=(
            ("rows", 3),
            ("spellcheck", "false"),
            ("placeholder", "10.20.0.0/16"),
            ("class", "mono"),
        ),
    ),
    IntakeField(
        name="ike_version",
        part=Part.TECHNICAL,
        label="IKE version",
        help_text="The key exchange protocol of the tunnels; both sides must use the same. "
        "Example: IKEv2, unless your device supports only IKEv1.",
        widget=Widget.RADIO,
        rule=Rule.CHOICE,
        max_length=16,
        example=IkeVersion.IKEV2.value,
        required="Choose IKEv1 or IKEv2.",
        default=IkeVersion.IKEV2.value,
        choices=tuple(IkeVersion.choices),
        refused="Choose IKEv1 or IKEv2 (IKEv2 unless the VPN device supports only IKEv1).",
        request_field="ike_version",
        staff_help_text="The key exchange protocol of the tunnels; both sides must use the "
        "same. Example: IKEv2, unless the customer's device supports only IKEv1.",
    ),
    IntakeField(
        name="tunnels",
        part=Part.TECHNICAL,
        label="Tunnels",
        help_text="AWS always builds two tunnels, to two AWS endpoints. Example: two, so that "
        "when AWS maintains one endpoint traffic fails over to the other; with one tunnel, "
        "that maintenance is an outage.",
        widget=Widget.RADIO,
        rule=Rule.TUNNELS,
        max_length=8,
        example=2,
        default=2,
        choices=(("2", "Two (recommended)"), ("1", "One (no failover)")),
        request_field="tunnel_count",
    ),
    IntakeField(
        name="nat",
        part=Part.TECHNICAL,
        label="Add a NAT gateway",
        help_text="Lets the platform's connectors in this VPC still reach public services "
        "(example: a SaaS API the workflows call). Its public IP goes into your configuration "
        "pack, for your firewall's allow-list.",
        widget=Widget.CHECKBOX,
        rule=Rule.FLAG,
        max_length=8,
        example=False,
        default=False,
        request_field="nat_wanted",
        staff_help_text="Lets the platform's connectors in this VPC still reach public "
        "services (example: a SaaS API the workflows call). Its public IP goes into the "
        "customer's configuration pack, for their firewall's allow-list.",
    ),
    IntakeField(
        name="device",
        part=Part.TECHNICAL,
        label="Your VPN device",
        help_text="The configuration pack carries a ready configuration for it. Example: "
        "Fortinet FortiGate. Choose “Other / generic” if yours is not listed.",
        widget=Widget.SELECT,
        rule=Rule.CHOICE,
        max_length=32,
        example=DeviceVendor.STRONGSWAN.value,
        default=DeviceVendor.GENERIC.value,
        choices=tuple(DeviceVendor.choices),
        refused="Pick the VPN device from the list, or “Other / generic” if it is not listed.",
        request_field="device_vendor",
        staff_label="Customer's VPN device",
        staff_help_text="The configuration pack carries a ready configuration for it. "
        "Example: Fortinet FortiGate. “Other / generic” if it is not listed.",
    ),
)

INTAKE_FIELDS_BY_NAME = {spec.name: spec for spec in INTAKE_FIELDS}
IDENTITY_FIELDS = tuple(spec.name for spec in INTAKE_FIELDS if spec.part == Part.IDENTITY)
TECHNICAL_FIELDS = tuple(spec.name for spec in INTAKE_FIELDS if spec.part == Part.TECHNICAL)
ALL_FIELDS = tuple(spec.name for spec in INTAKE_FIELDS)
# The keys `vpn_create` accepts, in the declared order.
JSON_KEYS = tuple(dict.fromkeys(spec.key for spec in INTAKE_FIELDS))
