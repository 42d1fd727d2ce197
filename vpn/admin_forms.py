"""Forms of the Django admin: a request's intake and a customer's contact, judged by the
same rules as the pages (`vpn.validation.intake_clean`), with lists of CIDRs edited one
per line; a new AWS account, judged by the accounts service's own check.

The forms only judge; the admin saves what they accept through the services, as the
pages and the commands do.
"""

import copy
import re

from django import forms

from vpn.choices import Stage
from vpn.forms import RequestForm, intake_initial
from vpn.intake_fields import IDENTITY_FIELDS
from vpn.models import AwsAccount, Customer, VpnRequest
from vpn.regions import REGION_CHOICES
from vpn.selectors.intake import REQUEST_FIELDS
from vpn.services.aws_accounts import AccountInvalid, aws_account_check
from vpn.services.placement import QUOTAS
from vpn.validation import IntakeInvalid, IntakeResult, intake_clean

# VpnRequest field -> intake field, for the fields an engineer may edit before approval.
REQUEST_INTAKE_NAMES = {model_field: name for name, model_field in REQUEST_FIELDS.items()}
# Customer field -> intake field.
CUSTOMER_INTAKE_NAMES = dict(
    zip(("name", "org_id", "contact_name", "contact_email"), IDENTITY_FIELDS, strict=True)
)
CIDR_LIST_FIELDS = ("static_subnets", "advertised_prefixes")

_LIST_SEPARATORS = re.compile(r"[\s,;]+")


def cidr_lines(value: object) -> str:
    """A stored list of CIDRs as text, one per line."""
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    return "" if value is None else str(value)


class CidrLinesField(forms.CharField):
    """A JSON list of CIDRs edited as text, one CIDR per line.

    The text goes to `intake_clean` untouched, which turns it back into the list the
    model stores (or says what is wrong with each line).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 4, "cols": 24, "spellcheck": "false", "class": "mono"}),
        )
        super().__init__(required=False, strip=False, **kwargs)

    def prepare_value(self, value):
        """Show a stored list one CIDR per line."""
        return cidr_lines(value)

    def has_changed(self, initial, data) -> bool:
        """Changed only if the CIDRs differ, not merely their spacing."""
        return _cidr_items(initial) != _cidr_items(data)


def _cidr_items(value: object) -> list[str]:
    return [item for item in _LIST_SEPARATORS.split(cidr_lines(value)) if item]


class VpnRequestAdminForm(forms.ModelForm):
    """A request's intake in the admin, before approval: the page's fields (their help
    texts and browser-side hints), judged by `intake_clean` as the page's edit judges
    them. A submitted request must stay complete; a draft may be incomplete.

    `intake` holds the accepted values, keyed by intake field, for
    `vpn.services.intake.request_update`.
    """

    class Meta:
        model = VpnRequest
        fields = tuple(REQUEST_INTAKE_NAMES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.intake: IntakeResult | None = None
        page_fields = RequestForm(complete=False).fields
        for model_field, name in REQUEST_INTAKE_NAMES.items():
            if model_field not in self.fields:
                continue  # read-only here
            label = self.fields[model_field].label
            if model_field in CIDR_LIST_FIELDS:
                field = CidrLinesField(help_text=page_fields[name].help_text)
            else:
                field = copy.deepcopy(page_fields[name])
                if isinstance(field.widget, forms.TextInput | forms.NumberInput):
                    field.widget.attrs["class"] = " ".join(
                        filter(None, (field.widget.attrs.get("class"), "vTextField"))
                    )
            field.label = label
            self.fields[model_field] = field
        if self.instance.pk is not None:
            stored = intake_initial(request=self.instance)
            for model_field, name in REQUEST_INTAKE_NAMES.items():
                value = stored[name]
                # As text, the way the browser posts it back (so "unchanged" compares equal).
                is_number = isinstance(value, int) and not isinstance(value, bool)
                self.initial[model_field] = str(value) if is_number else value

    @property
    def complete(self) -> bool:
        """Whether every required answer must be there (once submitted, as on the page)."""
        return self.instance.stage == Stage.SUBMITTED

    def clean(self):
        """Judge the editable intake fields together with `intake_clean`."""
        cleaned = super().clean()
        editable = [
            model_field for model_field in REQUEST_INTAKE_NAMES if model_field in self.fields
        ]
        if not editable:
            return cleaned
        raw = {
            REQUEST_INTAKE_NAMES[model_field]: cleaned.get(model_field) for model_field in editable
        }
        try:
            self.intake = intake_clean(raw, fields=tuple(raw), complete=self.complete, staff=True)
        except IntakeInvalid as exc:
            _add_intake_errors(self, exc, REQUEST_INTAKE_NAMES)
            # Unjudged text must not reach the model's own checks.
            for model_field in editable:
                cleaned.pop(model_field, None)
            return cleaned
        for model_field in editable:
            cleaned[model_field] = self.intake.values[REQUEST_INTAKE_NAMES[model_field]]
        return cleaned


class CustomerAdminForm(forms.ModelForm):
    """A customer's name and contact in the admin, judged by the intake's identity rules.

    The org ID is the customer's identity on the platform: it is given once, when the
    customer is added, and read-only after.
    """

    class Meta:
        model = Customer
        fields = tuple(CUSTOMER_INTAKE_NAMES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.intake: IntakeResult | None = None
        page_fields = RequestForm(complete=False).fields
        for model_field, name in CUSTOMER_INTAKE_NAMES.items():
            if model_field in self.fields:
                field = copy.deepcopy(page_fields[name])
                field.label = self.fields[model_field].label
                field.widget.attrs["class"] = "vTextField"
                self.fields[model_field] = field

    def clean(self):
        """Judge the identity fields with `intake_clean`; the org ID of an existing
        customer is its stored one."""
        cleaned = super().clean()
        raw = {
            name: cleaned.get(model_field) for model_field, name in CUSTOMER_INTAKE_NAMES.items()
        }
        if "org_id" not in self.fields:
            raw["org_id"] = self.instance.org_id
        try:
            self.intake = intake_clean(raw, fields=IDENTITY_FIELDS, complete=True, staff=True)
        except IntakeInvalid as exc:
            _add_intake_errors(self, exc, CUSTOMER_INTAKE_NAMES)
            for model_field in CUSTOMER_INTAKE_NAMES:
                cleaned.pop(model_field, None)
            return cleaned
        if self.instance.contact_name and not self.intake.values["contact_name"]:
            # The intake keeps a contact's name once given (an empty answer changes nothing).
            self.add_error(
                "contact_name", "Give the contact's name: it can be changed, not removed."
            )
            return cleaned
        for model_field, name in CUSTOMER_INTAKE_NAMES.items():
            if model_field in self.fields:
                cleaned[model_field] = self.intake.values[name]
        return cleaned


def _add_intake_errors(form: forms.ModelForm, exc: IntakeInvalid, names: dict[str, str]) -> None:
    """Put each intake error on the admin field it is about (or on the form)."""
    model_fields = {name: model_field for model_field, name in names.items()}
    for name, messages in exc.errors.items():
        model_field = model_fields.get(name)
        form.add_error(model_field if model_field in form.fields else None, messages)


class AwsAccountAddForm(forms.ModelForm):
    """A new AWS account: its id, the role to assume and its external id, the regions it
    may use, and a limit for any quota that should not come from Service Quotas."""

    regions = forms.MultipleChoiceField(
        choices=REGION_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="The regions placement may put requests in.",
    )

    class Meta:
        model = AwsAccount
        fields = ("name", "account_id", "role_arn", "external_id", "regions")
        # The admin's wide text input: an ARN does not fit the default width.
        widgets = {
            "role_arn": forms.TextInput(attrs={"class": "vTextField"}),
            "external_id": forms.TextInput(attrs={"class": "vTextField"}),
        }
        help_texts = {
            "role_arn": "The IAM role the portal assumes in the account (STS AssumeRole).",
            "external_id": "The external id the role's trust policy requires.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for quota in QUOTAS:
            self.fields[f"quota_{quota.name}"] = forms.IntegerField(
                label=f"Quota: {quota.label}",
                required=False,
                min_value=0,
                help_text=f"Empty: read from Service Quotas (AWS's default is {quota.default}).",
            )

    def account_fields(self) -> dict:
        """The service's arguments, from the cleaned form."""
        data = self.cleaned_data
        return dict(
            name=data.get("name", ""),
            account_id=data.get("account_id", ""),
            role_arn=data.get("role_arn", ""),
            external_id=data.get("external_id", ""),
            regions=list(data.get("regions") or []),
            quota_overrides={
                quota.name: data[f"quota_{quota.name}"]
                for quota in QUOTAS
                if data.get(f"quota_{quota.name}") is not None
            },
        )

    def clean(self):
        """The accounts service's check, with its message on the form."""
        cleaned = super().clean()
        if not self.errors:
            try:
                aws_account_check(**self.account_fields())
            except AccountInvalid as exc:
                raise forms.ValidationError(str(exc)) from exc
        return cleaned

    def _post_clean(self):
        # The model's own checks would run on `regions` as a JSON value and report
        # duplicates twice; the service's check above covers them all.
        pass
