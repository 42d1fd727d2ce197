"""Forms of the intake: the engineer's request and invitation forms, the customer's form,
and the review's "send back" form.

The intake forms only present fields and mirror the cheap rules in HTML attributes
(required, pattern, min/max, maxlength); every real check is `vpn.validation.intake_clean`,
the same function the `vpn_create` command uses, so the two can never disagree.
"""

from django import forms
from django.conf import settings

from vpn.choices import DeviceVendor, IkeVersion, Routing
from vpn.models import VpnRequest
from vpn.regions import REGION_CHOICES
from vpn.selectors.intake import request_intake_values
from vpn.validation import (
    IDENTITY_FIELDS,
    MAX_LENGTHS,
    TECHNICAL_FIELDS,
    IntakeInvalid,
    IntakeResult,
    intake_clean,
    region_propose,
)

# Cheap mirrors of the server's rules, for the browser.
IPV4_PATTERN = r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
UUID_PATTERN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


class RawField(forms.Field):
    """A field that hands the submitted text, untouched, to `vpn.validation`."""

    def __init__(self, *, attrs: dict | None = None, widget=None, **kwargs):
        widget = widget or forms.TextInput
        super().__init__(required=False, widget=widget(attrs=attrs or {}), **kwargs)

    def to_python(self, value):
        """The text as posted ("" when absent)."""
        return "" if value is None else str(value)


def _text(name: str, label: str, help_text: str, **attrs) -> RawField:
    return RawField(
        label=label,
        help_text=help_text,
        attrs={"maxlength": MAX_LENGTHS[name], **attrs},
    )


def _choices(name: str, label: str, help_text: str, choices, widget) -> RawField:
    field = RawField(label=label, help_text=help_text, widget=widget)
    field.widget.choices = choices
    return field


class IntakeForm(forms.Form):
    """Base of the intake forms: collects the raw values of `intake_fields` and lets
    `intake_clean` judge them. `complete=False` is a draft: fields may be empty."""

    intake_fields: tuple[str, ...] = ()

    customer_name = _text(
        "customer_name",
        "Customer name",
        "The customer's name as the platform knows them. Example: Northwind Traders.",
        required=True,
        autocomplete="organization",
    )
    org_id = _text(
        "org_id",
        "Platform org ID",
        "The customer's organisation ID on the platform, a UUID such as "
        "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01: it ties the VPN to the right organisation.",
        required=True,
        pattern=UUID_PATTERN,
        spellcheck="false",
        autocomplete="off",
        placeholder="3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01",
        title="A UUID: 8-4-4-4-12 hexadecimal digits",
    )
    contact_name = _text(
        "contact_name",
        "Contact name",
        "The customer's network engineer the portal writes to. Example: Jo Smith.",
        autocomplete="name",
    )
    contact_email = RawField(
        label="Contact email",
        help_text="Receives the intake link and progress updates. Example: netops@example.com.",
        widget=forms.EmailInput,
        attrs={"maxlength": MAX_LENGTHS["contact_email"], "required": True},
    )
    region = _choices(
        "region",
        "AWS region",
        "Where the platform builds your VPN. If your own AWS VPC is in a region, pick that "
        "one (example: eu-west-2 for London); otherwise leave this and give your city below: "
        "the portal proposes the nearest region (shorter distance, lower latency).",
        [("", "Propose the nearest region from my location"), *REGION_CHOICES],
        forms.Select,
    )
    location_city = _text(
        "location_city",
        "City",
        "Where your VPN device is. Example: Manchester. Used only to propose the nearest "
        "AWS region.",
        placeholder="Manchester",
        autocomplete="address-level2",
    )
    location_country = _text(
        "location_country",
        "Country",
        "In English or as a two-letter code. Example: United Kingdom, or GB. Needed when "
        "several countries have a city of that name.",
        placeholder="United Kingdom",
        autocomplete="country-name",
    )
    gateway_ip = _text(
        "gateway_ip",
        "Customer gateway public IP",
        "The static public IPv4 address of your VPN device: AWS's two tunnel endpoints "
        "connect to it. Example: 52.94.12.7. Behind NAT, give the NAT's public address.",
        required=True,
        pattern=IPV4_PATTERN,
        inputmode="decimal",
        spellcheck="false",
        autocomplete="off",
        placeholder="52.94.12.7",
        title="An IPv4 address such as 52.94.12.7",
        **{"class": "mono"},
    )
    routing = _choices(
        "routing",
        "Routing",
        "How routes are exchanged. Static: you list your subnets and we route them. BGP: "
        "your device advertises its prefixes over a BGP session in each tunnel (the device "
        "must speak BGP). Example: BGP if your firewall already runs BGP with other sites.",
        Routing.choices,
        forms.RadioSelect,
    )
    subnets = RawField(
        label="Your subnets",
        widget=forms.Textarea,
        attrs={
            "rows": 4,
            "maxlength": MAX_LENGTHS["subnets"],
            "spellcheck": "false",
            "placeholder": "10.20.0.0/16\n10.30.1.0/24",
            "class": "mono",
        },
    )
    asn = RawField(
        label="Your BGP ASN",
        help_text="The autonomous system number of your side of the BGP sessions. Example: "
        "65000 (a private ASN is fine). AWS keeps 7224 everywhere, and a few ASNs in some "
        "regions, for itself.",
        widget=forms.NumberInput,
        attrs={"min": 1, "max": 4_294_967_295, "step": 1, "placeholder": "65000"},
    )
    advertised_prefixes = RawField(
        label="Prefixes you will advertise",
        help_text="Optional. The IPv4 prefixes your device will announce over BGP, one per "
        "line or comma-separated. Example: 10.20.0.0/16. Lets the platform pick its own "
        "range clear of yours; at most 100.",
        widget=forms.Textarea,
        attrs={
            "rows": 3,
            "maxlength": MAX_LENGTHS["advertised_prefixes"],
            "spellcheck": "false",
            "placeholder": "10.20.0.0/16",
            "class": "mono",
        },
    )
    ike_version = _choices(
        "ike_version",
        "IKE version",
        "The key exchange protocol of the tunnels; both sides must use the same. Example: "
        "IKEv2, unless your device supports only IKEv1.",
        IkeVersion.choices,
        forms.RadioSelect,
    )
    tunnels = _choices(
        "tunnels",
        "Tunnels",
        "AWS always builds two tunnels, to two AWS endpoints. Example: two, so that when AWS "
        "maintains one endpoint traffic fails over to the other; with one tunnel, that "
        "maintenance is an outage.",
        [("2", "Two (recommended)"), ("1", "One (no failover)")],
        forms.RadioSelect,
    )
    nat = forms.BooleanField(
        label="Add a NAT gateway",
        required=False,
        help_text="Lets the platform's connectors in this VPC still reach public services "
        "(example: a SaaS API the workflows call). Its public IP goes into your configuration "
        "pack, for your firewall's allow-list.",
    )
    device = _choices(
        "device",
        "Your VPN device",
        "The configuration pack carries a ready configuration for it. Example: Fortinet "
        "FortiGate. Choose “Other / generic” if yours is not listed.",
        DeviceVendor.choices,
        forms.Select,
    )

    def __init__(self, *args, complete: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.complete = complete
        self.intake: IntakeResult | None = None
        for name in [name for name in self.fields if name not in self.intake_fields]:
            del self.fields[name]
        if "subnets" in self.fields:
            reserved = ", ".join(settings.PLATFORM_RESERVED_CIDRS)
            self.fields["subnets"].help_text = (
                "The IPv4 ranges on your side that the platform's connectors must reach, one "
                "per line or comma-separated. Example: 10.20.0.0/16. At most 100; they must "
                f"not overlap each other, 169.254.0.0/16 or the platform's own ranges "
                f"({reserved})."
            )
        for name in ("routing", "ike_version", "tunnels"):
            if name in self.fields:
                self.fields[name].widget.attrs["required"] = True

    def clean(self):
        """Judge every intake field at once with `vpn.validation.intake_clean`."""
        raw = {name: self.cleaned_data.get(name) for name in self.intake_fields}
        try:
            self.intake = intake_clean(raw, fields=self.intake_fields, complete=self.complete)
        except IntakeInvalid as exc:
            for name, messages in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages)
            return self.cleaned_data
        return self.intake.values


class InviteForm(IntakeForm):
    """The engineer's invitation: who the customer is and whom to email the link."""

    intake_fields = IDENTITY_FIELDS


class RequestForm(IntakeForm):
    """The engineer's complete request form (create, and edit at review)."""

    intake_fields = IDENTITY_FIELDS + TECHNICAL_FIELDS


class CustomerIntakeForm(IntakeForm):
    """The customer's technical intake, reached through their link."""

    intake_fields = TECHNICAL_FIELDS


class SendBackForm(forms.Form):
    """What the engineer asks the customer to change."""

    message = forms.CharField(
        label="Message to the customer",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Emailed to the contact and shown on their form. Say what to change and why.",
        error_messages={"required": "Say what the customer should change."},
    )


def intake_initial(*, request: VpnRequest, propose_region: bool = False) -> dict[str, object]:
    """A request's stored intake as initial form values.

    With `propose_region`, a region that is just the proposal for the stored city shows
    as "propose" again, so that a customer who changes city gets a new proposal.
    """
    values = request_intake_values(request=request)
    for name in ("subnets", "advertised_prefixes"):
        values[name] = "\n".join(values[name])
    values["tunnels"] = str(values["tunnels"])
    if propose_region and request.location_city and request.region:
        try:
            proposal = region_propose(city=request.location_city, country=request.location_country)
        except IntakeInvalid:
            proposal = None
        if proposal is not None and proposal.region.code == request.region:
            values["region"] = ""
    return values
