"""Forms of the intake: the engineer's request and invitation forms, the customer's form,
and the review's "send back" form; the forms of the changes to a live VPN; and the
customer's maintenance window.

The intake forms only present the fields `vpn.intake_fields` declares (in its order,
with its labels and help texts) and mirror the cheap rules in HTML attributes (required,
pattern, min/max, maxlength); every real check is `vpn.validation.intake_clean`, the same
function the `vpn_create` command uses, so the two can never disagree.
"""

from datetime import UTC, datetime, time

from django import forms
from django.conf import settings

from vpn.choices import ChangeKind, DecommissionReason
from vpn.intake_fields import (
    IDENTITY_FIELDS,
    INTAKE_FIELDS,
    INTAKE_FIELDS_BY_NAME,
    PLATFORM_RANGES,
    TECHNICAL_FIELDS,
    IntakeField,
    Widget,
)
from vpn.maintenance_window import time_zones
from vpn.models import MaintenanceWindow, VpnRequest
from vpn.selectors.intake import request_intake_values
from vpn.tunnel_profile import TUNNEL_OPTIONS, tunnel_profile
from vpn.validation import IntakeInvalid, IntakeResult, intake_clean, region_propose


class RawField(forms.Field):
    """A field that hands the submitted text, untouched, to `vpn.validation`."""

    def __init__(self, *, attrs: dict | None = None, widget=None, **kwargs):
        widget = widget or forms.TextInput
        super().__init__(required=False, widget=widget(attrs=attrs or {}), **kwargs)

    def to_python(self, value):
        """The text as posted ("" when absent)."""
        return "" if value is None else str(value)


_WIDGETS = {
    Widget.TEXT: forms.TextInput,
    Widget.EMAIL: forms.EmailInput,
    Widget.NUMBER: forms.NumberInput,
    Widget.TEXTAREA: forms.Textarea,
    Widget.SELECT: forms.Select,
    Widget.RADIO: forms.RadioSelect,
}


def _form_field(spec: IntakeField) -> forms.Field:
    """The form field of one declared intake field, with the cheap rules in HTML."""
    if spec.widget == Widget.CHECKBOX:
        return forms.BooleanField(label=spec.label, help_text=spec.help_text, required=False)
    attrs: dict[str, object] = {}
    if spec.widget in (Widget.TEXT, Widget.EMAIL, Widget.TEXTAREA):
        attrs["maxlength"] = spec.max_length
    # A group of radio buttons always has one chosen; any other field is required in the
    # browser only when every submission needs it (not just one routing).
    if spec.widget == Widget.RADIO or (spec.required and not spec.routing):
        attrs["required"] = True
    attrs.update(spec.html)
    field = RawField(
        label=spec.label, help_text=spec.help_text, widget=_WIDGETS[spec.widget], attrs=attrs
    )
    if spec.choices:
        field.widget.choices = list(spec.choices)
    return field


class IntakeForm(forms.Form):
    """Base of the intake forms: collects the raw values of `intake_fields` and lets
    `intake_clean` judge them. `complete=False` is a draft: fields may be empty."""

    intake_fields: tuple[str, ...] = ()
    # Whose words the labels, help texts and messages are in: the engineer's, or the
    # customer's.
    staff = True

    def __init__(self, *args, complete: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.complete = complete
        self.intake: IntakeResult | None = None
        for name in [name for name in self.fields if name not in self.intake_fields]:
            del self.fields[name]
        for name, field in self.fields.items():
            spec = INTAKE_FIELDS_BY_NAME[name]
            field.label = spec.label_for(staff=self.staff)
            field.help_text = spec.help_text_for(staff=self.staff)
            if spec.choices and hasattr(field.widget, "choices"):
                field.widget.choices = list(spec.choices_for(staff=self.staff))
        # The platform's ranges are a setting: named in the help when the form is made.
        reserved = ", ".join(settings.PLATFORM_RESERVED_CIDRS)
        for field in self.fields.values():
            if PLATFORM_RANGES in (field.help_text or ""):
                field.help_text = field.help_text.replace(PLATFORM_RANGES, reserved)

    def clean(self):
        """Judge every intake field at once with `vpn.validation.intake_clean`."""
        raw = {name: self.cleaned_data.get(name) for name in self.intake_fields}
        try:
            self.intake = intake_clean(
                raw, fields=self.intake_fields, complete=self.complete, staff=self.staff
            )
        except IntakeInvalid as exc:
            for name, messages in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages)
            return self.cleaned_data
        return self.intake.values


# Every declared field, in the declared order; each form keeps those of its `intake_fields`.
IntakeForm.base_fields = IntakeForm.declared_fields = {
    spec.name: _form_field(spec) for spec in INTAKE_FIELDS
}


class InviteForm(IntakeForm):
    """The engineer's invitation: who the customer is and whom to email the link."""

    intake_fields = IDENTITY_FIELDS


class RequestForm(IntakeForm):
    """The engineer's complete request form (create, and edit at review)."""

    intake_fields = IDENTITY_FIELDS + TECHNICAL_FIELDS


class CustomerIntakeForm(IntakeForm):
    """The customer's technical intake, reached through their link, in their words."""

    intake_fields = TECHNICAL_FIELDS
    staff = False


class SendBackForm(forms.Form):
    """What the engineer asks the customer to change."""

    message = forms.CharField(
        label="Message to the customer",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Emailed to the contact and shown on their form. Say what to change and why.",
        error_messages={"required": "Say what the customer should change."},
    )


class IntakeLinkExtendForm(forms.Form):
    """The new last day of a customer link (it works until the end of that day, UTC)."""

    expires_on = forms.DateField(
        label="Works until",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Choose the link's new last day.",
            "invalid": "Give the new last day as a date.",
        },
    )

    @property
    def expires_at(self) -> datetime:
        """The end of the chosen day, in UTC."""
        return datetime.combine(self.cleaned_data["expires_on"], time(23, 59), tzinfo=UTC)


class DecommissionForm(forms.Form):
    """Why a VPN is decommissioned, and what the customer is told (the page and the
    admin's action ask the same)."""

    reason = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose a reason…"), *DecommissionReason.choices],
        error_messages={"required": "Say why the VPN is decommissioned: pick a reason."},
    )
    message = forms.CharField(
        label="Message to the customer",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional with a listed reason, needed with another one. Emailed to the "
        "customer's contact and shown on their link, beside the reason.",
    )

    def clean(self):
        """Another reason needs the message that says which."""
        cleaned = super().clean()
        if (
            cleaned.get("reason") == DecommissionReason.OTHER
            and not cleaned.get("message", "").strip()
        ):
            self.add_error("message", "With “another reason”, say which to the customer.")
        return cleaned


def intake_initial(*, request: VpnRequest, propose_region: bool = False) -> dict[str, object]:
    """A request's stored intake as initial form values.

    With `propose_region`, a region that is just the proposal for the stored city shows
    as "propose" again, so that a customer who changes city gets a new proposal.
    """
    values = request_intake_values(request=request)
    for spec in INTAKE_FIELDS:
        value = values.get(spec.name)
        if isinstance(value, list):
            values[spec.name] = "\n".join(value)  # one item per line, as the form takes them
        elif spec.choices and value is not None:
            values[spec.name] = str(value)  # choices are told apart as text
    if propose_region and request.location_city and request.region:
        try:
            proposal = region_propose(city=request.location_city, country=request.location_country)
        except IntakeInvalid:
            proposal = None
        if proposal is not None and proposal.region.code == request.region:
            values["region"] = ""
    return values


# --- Changes to a live VPN ------------------------------------------------------------------
# Each form asks what its kind needs and a reason; every real check is the change
# service's (`vpn.services.changes.change_propose`, which the `vpn_change` command calls
# too). Field ids carry the kind, so that the request page holds every form at once.


class ChangeForm(forms.Form):
    """What every change asks: why it is made."""

    kind = ""
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "e.g. the customer's ticket 4711"}),
        help_text="Why the change is made: recorded with it, and told to the customer.",
        error_messages={
            "required": "Say why the change is made: a reason is required, and recorded."
        },
    )

    def __init__(self, *args, vpn_request: VpnRequest, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.kind}_%s")
        super().__init__(*args, **kwargs)
        self.vpn_request = vpn_request
        # The reason comes last, after what the kind asks.
        self.order_fields([name for name in self.fields if name != "reason"] + ["reason"])

    def values(self) -> dict[str, object]:
        """What the change service is asked for (the reason apart)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "reason"}


class AddSubnetForm(ChangeForm):
    kind = ChangeKind.ADD_SUBNET.value
    cidr = forms.CharField(
        label="Subnet (CIDR)",
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "10.30.0.0/24", "class": "mono"}),
        help_text="Static routing: a route to it in AWS. BGP: a prefix the customer advertises.",
    )


class RemoveSubnetForm(ChangeForm):
    kind = ChangeKind.REMOVE_SUBNET.value
    cidr = forms.ChoiceField(label="Subnet to remove")

    def __init__(self, *args, vpn_request: VpnRequest, **kwargs):
        super().__init__(*args, vpn_request=vpn_request, **kwargs)
        ranges = vpn_request.static_subnets or vpn_request.advertised_prefixes
        self.fields["cidr"].choices = [(cidr, cidr) for cidr in ranges]


class CustomerGatewayForm(ChangeForm):
    kind = ChangeKind.CUSTOMER_GATEWAY.value
    ip = forms.CharField(
        label="New public IP of the customer's device",
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "52.94.12.7", "class": "mono"}),
    )
    asn = forms.CharField(
        label="New BGP ASN",
        max_length=24,
        required=False,
        help_text="BGP only; leave empty to keep the current one.",
    )

    def __init__(self, *args, vpn_request: VpnRequest, **kwargs):
        super().__init__(*args, vpn_request=vpn_request, **kwargs)
        if vpn_request.routing != "bgp":
            del self.fields["asn"]


class RotatePskForm(ChangeForm):
    kind = ChangeKind.ROTATE_PSK.value
    tunnels = forms.ChoiceField(
        label="Tunnels",
        choices=(("all", "Both, one at a time"), ("1", "Tunnel 1"), ("2", "Tunnel 2")),
    )


class TunnelOptionsForm(ChangeForm):
    """One field per tunnel option; those left at "keep" do not change."""

    kind = ChangeKind.TUNNEL_OPTIONS.value

    def __init__(self, *args, vpn_request: VpnRequest, **kwargs):
        super().__init__(*args, vpn_request=vpn_request, **kwargs)
        profile = tunnel_profile(vpn_request.ike_version, vpn_request.tunnel_options)
        for name, option in TUNNEL_OPTIONS.items():
            current = getattr(profile, name)
            keep = ("", f"Keep ({current})")
            if option.choices:
                self.fields[name] = forms.ChoiceField(
                    label=option.label,
                    required=False,
                    choices=[keep, *((str(choice), str(choice)) for choice in option.choices)],
                )
            else:
                self.fields[name] = forms.IntegerField(
                    label=f"{option.label} (s)",
                    required=False,
                    widget=forms.NumberInput(
                        attrs={"placeholder": str(current), "min": option.low, "max": option.high}
                    ),
                    help_text=f"{option.low} to {option.high} seconds; empty keeps {current}.",
                )
        self.order_fields([*TUNNEL_OPTIONS, "reason"])

    def values(self):
        return {name: value for name, value in super().values().items() if value not in (None, "")}


class NatForm(ChangeForm):
    kind = ChangeKind.NAT.value
    nat = forms.ChoiceField(label="NAT gateway", choices=(("on", "On"), ("off", "Off")))

    def __init__(self, *args, vpn_request: VpnRequest, **kwargs):
        super().__init__(*args, vpn_request=vpn_request, **kwargs)
        self.fields["nat"].initial = "off" if vpn_request.nat_wanted else "on"


class TunnelCountForm(ChangeForm):
    kind = ChangeKind.TUNNEL_COUNT.value
    tunnels = forms.ChoiceField(label="Tunnels", choices=(("2", "Two (add tunnel 2)"),))


class MaintenanceForm(ChangeForm):
    """AWS's pending maintenance: the tunnels follow from what AWS announced."""

    kind = ChangeKind.MAINTENANCE.value


class LifecycleControlForm(ChangeForm):
    """Lifecycle control on: both tunnels, nothing to choose."""

    kind = ChangeKind.LIFECYCLE_CONTROL.value


CHANGE_FORMS: dict[str, type[ChangeForm]] = {
    form.kind: form
    for form in (
        AddSubnetForm,
        RemoveSubnetForm,
        CustomerGatewayForm,
        RotatePskForm,
        TunnelOptionsForm,
        NatForm,
        TunnelCountForm,
        MaintenanceForm,
        LifecycleControlForm,
    )
}


class ChangeApplyForm(forms.Form):
    """Applying a change: for a disruptive one, the confirmation that its impact was read."""

    confirm = forms.BooleanField(
        label="I have read the impact above, and the customer knows",
        required=False,
    )


# The hours a maintenance window can start and end at, as the form offers them.
_START_HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]
_END_HOURS = [
    (hour, f"{hour:02d}:00" if hour < 24 else "24:00 (midnight)") for hour in range(1, 25)
]


class MaintenanceWindowForm(forms.Form):
    """The customer's choice of when AWS's maintenance is applied: a weekday and hours on
    their own clock (an IANA time zone), or no window (`weekday` empty). The service
    (`vpn.services.maintenance.maintenance_window_set`) checks the window as a whole."""

    weekday = forms.TypedChoiceField(
        choices=[("", "No window"), *MaintenanceWindow.Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    start_hour = forms.TypedChoiceField(choices=_START_HOURS, coerce=int, label="From")
    end_hour = forms.TypedChoiceField(choices=_END_HOURS, coerce=int, label="To")
    time_zone = forms.CharField(
        max_length=64,
        label="Time zone",
        help_text="Your time zone, as Europe/Paris or America/New_York.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )

    def clean_time_zone(self) -> str:
        """An IANA time zone the system knows."""
        value = self.cleaned_data["time_zone"].strip()
        if value not in time_zones():
            raise forms.ValidationError(f"“{value}” is not a time zone, such as Europe/Paris.")
        return value
