"""The intake fields are declared once (`vpn.intake_fields`), and every part of the intake
takes exactly those: the three forms and their pages, `vpn_invite`'s options,
`vpn_create`'s JSON keys, and the columns a request keeps them in."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.intake_data import draft_with_link, form_sample, json_sample
from vpn.forms import CustomerIntakeForm, InviteForm, RequestForm, intake_initial
from vpn.intake_fields import (
    ALL_FIELDS,
    IDENTITY_FIELDS,
    INTAKE_FIELDS,
    PLATFORM_RANGES,
    TECHNICAL_FIELDS,
    Part,
)
from vpn.management.commands.vpn_invite import OPTIONS as INVITE_OPTIONS
from vpn.models import VpnRequest
from vpn.validation import intake_clean

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def _rows(html: str) -> list[str]:
    """The intake fields a page shows, in its order."""
    return [name for name in ALL_FIELDS if f'id="row_{name}"' in html]


def _create(tmp_path, data: dict) -> int:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    call_command("vpn_create", "--from-json", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    return VpnRequest.objects.latest("pk").pk


def test_staff_forms_speak_of_the_customer_and_the_customer_form_of_you():
    """The engineer fills in the customer's details; the customer fills in their own."""
    staff = " ".join(
        f"{f.label} {f.help_text} {f.widget.choices if hasattr(f.widget, 'choices') else ''}"
        for f in RequestForm().fields.values()
    )
    customer = " ".join(f"{f.label} {f.help_text}" for f in CustomerIntakeForm().fields.values())
    for customer_voice in ("from my location", "Your BGP ASN", "your device", "Your subnets"):
        assert customer_voice not in staff, customer_voice
    assert "the customer's location" in staff and "Customer BGP ASN" in staff
    assert "Your BGP ASN" in customer and "your device" in customer


@pytest.mark.parametrize("routing", ["static", "bgp"])
def test_every_part_of_the_intake_takes_exactly_the_declared_fields(
    se_client, tmp_path, settings, routing
):
    # The forms: the declared fields, in order, with the declared label and help text in
    # the voice of who fills the form in (the engineer's, or the customer's).
    for form, names, staff in (
        (InviteForm(), IDENTITY_FIELDS, True),
        (RequestForm(), ALL_FIELDS, True),
        (CustomerIntakeForm(), TECHNICAL_FIELDS, False),
    ):
        assert tuple(form.fields) == names
        for spec in (spec for spec in INTAKE_FIELDS if spec.name in names):
            reserved = ", ".join(settings.PLATFORM_RESERVED_CIDRS)
            assert form.fields[spec.name].label == spec.label_for(staff=staff)
            assert form.fields[spec.name].help_text == spec.help_text_for(staff=staff).replace(
                PLATFORM_RANGES, reserved
            )
    # ...and their pages show every one of them.
    assert _rows(se_client.get("/requests/new/").content.decode()) == list(ALL_FIELDS)
    assert _rows(se_client.get("/requests/invite/").content.decode()) == list(IDENTITY_FIELDS)
    _, token = draft_with_link()
    assert _rows(Client().get(f"/intake/{token}/").content.decode()) == list(TECHNICAL_FIELDS)

    # vpn_invite has an option for each identity field.
    assert set(INVITE_OPTIONS) == set(IDENTITY_FIELDS)

    # vpn_create: a request giving every declared key is accepted; any other key is not,
    # and the refusal names exactly the declared keys.
    data = json_sample(routing=routing, located=True)
    assert {spec.key for spec in INTAKE_FIELDS if spec.routing in ("", routing)} == set(data)
    request = VpnRequest.objects.get(pk=_create(tmp_path, data))
    with pytest.raises(CommandError) as raised:
        _create(tmp_path, {**data, "undeclared": 1})
    (line,) = [line for line in str(raised.value).splitlines() if line.startswith("undeclared")]
    declared = list(dict.fromkeys(spec.key for spec in INTAKE_FIELDS))
    assert line.removesuffix(".").split("the keys are ")[1].split(", ") == declared

    # The request keeps every field (each technical one in a column of its own) and gives
    # them all back, and nothing else, to the engineer's edit form.
    columns = [spec.request_field for spec in INTAKE_FIELDS if spec.part == Part.TECHNICAL]
    assert len(set(columns)) == len(TECHNICAL_FIELDS)
    for column in columns:
        assert VpnRequest._meta.get_field(column).concrete
    stored = intake_initial(request=request)
    assert list(stored) == list(ALL_FIELDS)
    sample = form_sample(routing=routing, located=True)
    form = RequestForm(data=stored)
    assert form.is_valid(), form.errors
    assert form.intake.values == intake_clean(sample, staff=True).values
    assert form.intake.values["routing"] == routing
