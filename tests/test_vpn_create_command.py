"""`vpn_create` and `vpn_invite`: scripting the intake through the same rules."""

import json
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from tests.intake_data import JSON_STATIC, ORG_ID
from vpn.choices import Stage
from vpn.models import Customer, IntakeLink, StageTransition, VpnRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def create(tmp_path, data, *args) -> tuple[str, str]:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    out, err = [], []

    class Sink:
        def __init__(self, into):
            self.into = into

        def write(self, text):
            self.into.append(text)

        def flush(self):
            pass

    call_command("vpn_create", "--from-json", str(path), *args, stdout=Sink(out), stderr=Sink(err))
    return "".join(out), "".join(err)


def test_creates_a_submitted_request_and_prints_its_id(tmp_path):
    out, err = create(tmp_path, JSON_STATIC)

    request = VpnRequest.objects.get()
    assert out.strip() == str(request.pk)
    assert request.reference in err
    assert request.stage == Stage.SUBMITTED
    assert request.static_subnets == ["10.20.0.0/16", "10.30.1.0/24"]
    assert request.customer.org_id == ORG_ID
    assert StageTransition.objects.get().actor_label == "vpn_create"


def test_approve_approves_through_the_stage_service(tmp_path):
    create(tmp_path, JSON_STATIC, "--approve")

    request = VpnRequest.objects.get()
    assert request.stage == Stage.APPROVED
    assert list(request.transitions.order_by("pk").values_list("to_stage", flat=True)) == [
        Stage.SUBMITTED,
        Stage.APPROVED,
    ]


@pytest.mark.parametrize(
    ("location", "region", "city"),
    [
        ("Osaka, Japan", "ap-northeast-3", "Osaka"),
        ({"city": "Cape Town", "country": "South Africa"}, "af-south-1", "Cape Town"),
        ("Singapore", "ap-southeast-1", "Singapore"),
    ],
)
def test_location_proposes_the_region(tmp_path, location, region, city):
    data = {key: value for key, value in JSON_STATIC.items() if key != "region"}
    create(tmp_path, {**data, "location": location})
    request = VpnRequest.objects.get()
    assert request.region == region
    assert request.location_city == city


def test_bgp_request(tmp_path):
    data = {**JSON_STATIC, "routing": "bgp", "asn": 65010, "advertised_prefixes": ["10.20.0.0/16"]}
    del data["subnets"]
    create(tmp_path, data)
    request = VpnRequest.objects.get()
    assert (request.routing, request.bgp_asn, request.static_subnets) == ("bgp", 65010, [])


def test_every_error_is_printed_and_nothing_written(tmp_path):
    data = {
        **JSON_STATIC,
        "org_id": "nope",
        "gateway_ip": "10.0.0.1",
        "subnets": ["10.1.2.3/24", "10.20.0.0/16", "10.20.1.0/24"],
        "tunnels": 3,
        "colour": "blue",
    }
    with pytest.raises(CommandError) as raised:
        create(tmp_path, data)

    lines = str(raised.value).splitlines()
    assert lines[0] == "Invalid input:"
    fields = [line.split(":", 1)[0] for line in lines[1:]]
    assert fields == ["colour", "org_id", "gateway_ip", "subnets", "tunnels"]
    assert "subnets: 10.1.2.3/24 has host bits set; did you mean 10.1.2.0/24?" in lines
    assert not VpnRequest.objects.exists() and not Customer.objects.exists()


def test_unreadable_or_malformed_files_are_errors(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("vpn_create", "--from-json", str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="is not valid JSON"):
        call_command("vpn_create", "--from-json", str(bad))
    bad.write_text("[1, 2]")
    with pytest.raises(CommandError, match="must be an object"):
        call_command("vpn_create", "--from-json", str(bad))
    assert not VpnRequest.objects.exists()


def test_an_existing_org_is_reused(tmp_path):
    create(tmp_path, JSON_STATIC)
    create(
        tmp_path, {**JSON_STATIC, "customer_name": "Northwind (renamed)", "gateway_ip": "52.94.1.2"}
    )
    assert Customer.objects.get().name == "Northwind (renamed)"
    assert VpnRequest.objects.count() == 2


def test_vpn_invite_prints_a_working_link(capsys):
    mail.outbox.clear()
    call_command(
        "vpn_invite",
        "--customer", "Litware Labs",
        "--org", ORG_ID.upper(),
        "--email", "kai@litware.example",
        "--contact", "Kai",
    )  # fmt: skip

    out = capsys.readouterr().out
    url = re.search(r"^http\S+/intake/[A-Za-z0-9_-]{43}/$", out, re.M).group(0)
    request = VpnRequest.objects.get()
    assert request.stage == Stage.DRAFT
    assert request.customer.org_id == ORG_ID
    assert url in mail.outbox[0].body
    assert IntakeLink.objects.filter(request=request).count() == 1
    assert Client().get("/intake/" + url.split("/intake/")[1]).status_code == 200


def test_vpn_invite_refuses_bad_input():
    with pytest.raises(CommandError) as raised:
        call_command("vpn_invite", "--customer", "X", "--org", "nope", "--email", "not-an-email")
    message = str(raised.value)
    assert "org_id: “nope” is not a platform org ID" in message
    assert "contact_email: Enter a valid email address" in message
    assert not VpnRequest.objects.exists()


def test_the_documented_example_is_accepted(tmp_path, settings):
    from pathlib import Path

    text = (Path(settings.BASE_DIR) / "docs" / "intake.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.S).group(1)
    out, _ = create(tmp_path, json.loads(example))
    request = VpnRequest.objects.get(pk=int(out))
    assert (request.region, request.bgp_asn, request.nat_wanted) == ("eu-west-2", 65010, True)
