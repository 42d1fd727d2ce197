"""The intake rules, table-driven: every bad input is refused with its message, next to
its field, by the engineer's form, the customer's form and `vpn_create`, and nothing is
written. Good inputs pass all three. Each message speaks to whoever reads it: the
engineer hears of the customer's side, the customer of their own."""

import json
import re
from dataclasses import dataclass, field

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.intake_data import (
    FORM_BGP,
    FORM_STATIC,
    JSON_STATIC,
    TECHNICAL_KEYS,
    customer_form,
    draft_with_link,
    field_row,
    rendered,
)
from vpn.models import Customer, StageTransition, VpnRequest
from vpn.validation import IntakeInvalid, intake_clean


@dataclass(frozen=True)
class Bad:
    """One bad input: the field, its value, the message expected (on `error_field`,
    by default the same field), and other fields that set the scene."""

    field: str
    value: str
    message: str
    error_field: str = ""
    scene: dict = field(default_factory=dict)

    @property
    def on(self) -> str:
        return self.error_field or self.field

    def __str__(self) -> str:
        return f"{self.field}={self.value[:24]!r}"


BGP = {"routing": "bgp", "subnets": "", "asn": "65010", "advertised_prefixes": ""}
NO_REGION = {"region": ""}
MANY_SUBNETS = ", ".join(f"192.168.{i}.0/24" for i in range(101))

BAD = [
    # Customer
    Bad("customer_name", "", "Give the customer's name"),
    Bad("customer_name", "N" * 201, "under 200 characters"),
    Bad("customer_name", "Northwind\x00Traders", "Remove the control characters"),
    Bad("customer_name", "Northwind\nTraders", "Remove the control characters"),
    Bad("org_id", "", "Give the customer's platform org ID"),
    Bad("org_id", "northwind", "“northwind” is not a platform org ID"),
    Bad("org_id", "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b0", "is not a platform org ID"),
    Bad("org_id", "3f6c1a521b7e4d4b9a516d5c1e7a9b01", "is not a platform org ID"),
    Bad("org_id", "{3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01}", "is not a platform org ID"),
    Bad("org_id", "zf6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01", "org IDs are UUIDs"),
    Bad("contact_name", "J" * 201, "under 200 characters"),
    Bad("contact_name", "Jo\tSmith", "Remove the control characters"),
    Bad("contact_email", "", "Give the contact's email address"),
    Bad("contact_email", "netops", "Enter a valid email address"),
    Bad("contact_email", "netops@", "Enter a valid email address"),
    Bad("contact_email", "@northwind.example", "Enter a valid email address"),
    Bad("contact_email", "net ops@northwind.example", "Enter a valid email address"),
    Bad("contact_email", "n" * 250 + "@example.com", "under 254 characters"),
    # Location and region
    Bad("region", "eu-west-9", "“eu-west-9” is not an AWS region the platform builds in"),
    Bad("region", "Ireland", "is not an AWS region the platform builds in"),
    Bad("region", "", "Pick the AWS region, or give the city and country where the VPN device"),
    Bad("location_city", "Atlantis", "We don't know where “Atlantis” is", scene=NO_REGION),
    Bad(
        "location_city",
        "Birmingham",
        "There is more than one Birmingham (United Kingdom, United States)",
        error_field="location_country",
        scene=NO_REGION,
    ),
    Bad(
        "location_country",
        "Narnia",
        "We don't recognise the country “Narnia”",
        scene={"location_city": "London"},
    ),
    Bad(
        "location_city",
        "Paris",
        "We don't know where “Paris” in Japan is",
        scene={**NO_REGION, "location_country": "Japan"},
    ),
    Bad(
        "location_country",
        "France",
        "Give a city as well as the country",
        error_field="location_city",
        scene=NO_REGION,
    ),
    Bad("location_city", "C" * 101, "under 100 characters"),
    # Customer gateway
    Bad("gateway_ip", "", "Give the public IPv4 address of the VPN device"),
    Bad("gateway_ip", "not-an-ip", "“not-an-ip” is not an IPv4 address"),
    Bad("gateway_ip", "256.1.1.1", "is not an IPv4 address"),
    Bad("gateway_ip", "52.94.12", "is not an IPv4 address"),
    Bad("gateway_ip", "052.94.12.7", "without leading zeros"),
    Bad("gateway_ip", "2001:db8::1", "2001:db8::1 is an IPv6 address"),
    Bad("gateway_ip", "52.94.12.7/32", "without a prefix length"),
    Bad("gateway_ip", "10.1.2.3", "10.1.2.3 is a private address (RFC 1918, 10.0.0.0/8)"),
    Bad("gateway_ip", "172.16.5.4", "a private address (RFC 1918, 172.16.0.0/12)"),
    Bad("gateway_ip", "192.168.1.1", "a private address (RFC 1918, 192.168.0.0/16)"),
    Bad("gateway_ip", "100.64.0.1", "in the shared address space 100.64.0.0/10"),
    Bad("gateway_ip", "127.0.0.1", "is a loopback address"),
    Bad("gateway_ip", "169.254.10.1", "is a link-local address"),
    Bad("gateway_ip", "224.0.0.5", "is a multicast address"),
    Bad("gateway_ip", "240.0.0.1", "reserved for future use"),
    Bad("gateway_ip", "0.0.0.0", "0.0.0.0 is the unspecified address"),  # noqa: S104
    Bad("gateway_ip", "255.255.255.255", "the limited broadcast address"),
    Bad("gateway_ip", "192.0.2.10", "a documentation address (RFC 5737)"),
    Bad("gateway_ip", "198.51.100.7", "a documentation address (RFC 5737)"),
    Bad("gateway_ip", "203.0.113.9", "a documentation address (RFC 5737)"),
    Bad("gateway_ip", "198.18.0.1", "reserved for network benchmarking"),
    Bad("gateway_ip", "192.0.0.8", "reserved for IETF protocol assignments"),
    # Routing
    Bad("routing", "ospf", "Choose static or BGP routing"),
    Bad("routing", "", "Choose static or BGP routing"),
    # Static subnets
    Bad("subnets", "", "Static routing needs at least one subnet"),
    Bad("subnets", "10.1.2.3/24", "10.1.2.3/24 has host bits set; did you mean 10.1.2.0/24?"),
    Bad("subnets", "10.20.0.0/16, 10.20.5.0/24", "10.20.0.0/16 and 10.20.5.0/24 overlap"),
    Bad("subnets", "10.20.0.0/16\n10.20.0.0/16", "10.20.0.0/16 is listed twice"),
    Bad("subnets", "10.0.5.0/24", "10.0.5.0/24 overlaps 10.0.0.0/16, which the platform uses"),
    Bad("subnets", "172.17.1.0/24", "overlaps 172.17.0.0/16, which the platform uses"),
    Bad("subnets", "169.254.10.0/24", "overlaps 169.254.0.0/16, the link-local range"),
    Bad("subnets", "10.20.0.0/33", "“10.20.0.0/33” is not an IPv4 range"),
    Bad("subnets", "banana", "“banana” is not an IPv4 range"),
    Bad("subnets", "10.20.1.5", "“10.20.1.5” has no prefix length"),
    Bad("subnets", "fd00::/8", "fd00::/8 is an IPv6 range"),
    Bad("subnets", MANY_SUBNETS, "At most 100 subnets"),
    Bad("subnets", "127.0.0.0/8", "is loopback space"),
    Bad("subnets", "224.1.0.0/16", "is multicast space"),
    Bad("subnets", "0.0.0.0/0", "0.0.0.0/0 overlaps 10.0.0.0/16"),
    # BGP
    Bad("asn", "", "BGP needs the ASN of", scene=BGP),
    Bad("asn", "0", "0 is out of range", scene=BGP),
    Bad(
        "asn",
        "4294967296",
        "out of range: an ASN is a whole number from 1 to 4294967295",
        scene=BGP,
    ),
    Bad("asn", "-5", "is not an ASN", scene=BGP),
    Bad("asn", "65000.5", "is not an ASN", scene=BGP),
    Bad("asn", "sixty-five thousand", "is not an ASN", scene=BGP),
    Bad("asn", "7224", "ASN 7224 is reserved by AWS in every region", scene=BGP),
    # RFC 7300 reserves the last ASNs: the issue made refusing them the rule.
    Bad("asn", "4294967295", "ASN 4294967295 is reserved (RFC 7300", scene=BGP),
    Bad("asn", "65535", "ASN 65535 is reserved (RFC 7300", scene=BGP),
    Bad(
        "asn",
        "9059",
        "ASN 9059 is reserved by AWS in eu-west-1",
        scene={**BGP, "region": "eu-west-1"},
    ),
    Bad(
        "asn",
        "10124",
        "ASN 10124 is reserved by AWS in ap-northeast-1",
        scene={**BGP, "region": "ap-northeast-1"},
    ),
    Bad(
        "asn",
        "17943",
        "ASN 17943 is reserved by AWS in ap-southeast-1",
        scene={**BGP, "region": "ap-southeast-1"},
    ),
    Bad(
        "asn",
        "17493",
        "ASN 17493 is reserved by AWS in ap-southeast-1",
        scene={**BGP, "region": "ap-southeast-1"},
    ),
    # The region proposed from the city counts too.
    Bad(
        "asn",
        "9059",
        "reserved by AWS in eu-west-1",
        scene={**BGP, **NO_REGION, "location_city": "Dublin", "location_country": "Ireland"},
    ),
    Bad("asn", "23456", "ASN 23456 is AS_TRANS", scene=BGP),
    Bad(
        "advertised_prefixes",
        "10.20.1.1/16",
        "10.20.1.1/16 has host bits set; did you mean 10.20.0.0/16?",
        scene=BGP,
    ),
    Bad("advertised_prefixes", "10.0.0.0/8", "10.0.0.0/8 overlaps 10.0.0.0/16", scene=BGP),
    Bad(
        "advertised_prefixes",
        "10.20.0.0/16 10.20.128.0/17",
        "10.20.0.0/16 and 10.20.128.0/17 overlap",
        scene=BGP,
    ),
    Bad("advertised_prefixes", MANY_SUBNETS, "At most 100 advertised prefixes", scene=BGP),
    # Tunnels
    Bad("ike_version", "ikev3", "Choose IKEv1 or IKEv2"),
    Bad("ike_version", "", "Choose IKEv1 or IKEv2"),
    Bad("tunnels", "3", "Choose 1 or 2 tunnels"),
    Bad("tunnels", "0", "Choose 1 or 2 tunnels"),
    Bad("tunnels", "two", "Choose 1 or 2 tunnels"),
    Bad("device", "cisco_asa", "Pick the VPN device from the list"),
]


def test_the_table_covers_every_field_with_sixty_inputs_or_more():
    assert len(BAD) >= 60
    fields = {case.field for case in BAD} | {"nat"}
    assert fields == set(FORM_STATIC) | {"nat"}


@pytest.fixture(autouse=True)
def _real_aws(settings):
    """Rules as against real AWS: documentation addresses are refused."""
    settings.AWS_SANDBOX = False


def _form_data(case: Bad) -> dict:
    return {**FORM_STATIC, **case.scene, case.field: case.value}


def _json_data(case: Bad) -> dict:
    data = {**JSON_STATIC}
    for key, value in {**case.scene, case.field: case.value}.items():
        if key in ("location_city", "location_country"):
            location = data.setdefault("location", {})
            location[key.removeprefix("location_")] = value
        elif value == "" and key in ("asn", "advertised_prefixes", "subnets"):
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _nothing_written():
    assert not VpnRequest.objects.exists()
    assert not Customer.objects.exists()
    assert not StageTransition.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD, ids=str)
def test_engineer_form_shows_the_message_next_to_the_field(se_client, case):
    response = se_client.post("/requests/new/", {**_form_data(case), "action": "submit"})

    assert response.status_code == 200
    html = response.content.decode()
    assert rendered(case.message) in field_row(html, case.on)
    assert "Nothing was saved" in html
    _nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("case", [case for case in BAD if case.field in TECHNICAL_KEYS], ids=str)
def test_customer_form_shows_the_message_next_to_the_field(case):
    request, token = draft_with_link()
    before = VpnRequest.objects.values().get(pk=request.pk)

    response = Client().post(
        f"/intake/{token}/", {**customer_form(_form_data(case)), "action": "submit"}
    )

    assert response.status_code == 200
    assert rendered(case.message) in field_row(response.content.decode(), case.on)
    assert VpnRequest.objects.values().get(pk=request.pk) == before
    assert not StageTransition.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD, ids=str)
def test_vpn_create_prints_the_message_and_writes_nothing(tmp_path, case):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(_json_data(case)))

    with pytest.raises(CommandError) as raised:
        call_command("vpn_create", "--from-json", str(path))

    key = "location" if case.on.startswith("location_") else case.on
    lines = str(raised.value).splitlines()
    assert any(line.startswith(f"{key}: ") and case.message in line for line in lines), lines
    _nothing_written()


# Words of the customer's voice, which an engineer's message must never use.
CUSTOMER_VOICE = re.compile(r"\b(your|yours|my)\b", re.IGNORECASE)


def _errors(html: str, field: str) -> str:
    """The text of one field's error list, as rendered."""
    match = re.search(rf'id="id_{field}_errors">(.*?)</div>', html, re.DOTALL)
    assert match, f"no errors shown for {field}"
    return match.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD, ids=str)
def test_the_engineer_form_never_speaks_in_the_customer_voice(se_client, case):
    response = se_client.post("/requests/new/", {**_form_data(case), "action": "submit"})

    errors = _errors(response.content.decode(), case.on)
    assert not CUSTOMER_VOICE.search(errors), errors


@dataclass(frozen=True)
class Voiced:
    """One bad input whose message names the customer's end: what the customer reads on
    their link, and what an engineer reads (the same, where neutral words suit both)."""

    field: str
    value: str
    customer: str
    engineer: str
    scene: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.field}={self.value[:24]!r}"


VOICED = [
    Voiced(
        "gateway_ip",
        "",
        *["Give the public IPv4 address of the VPN device (the customer gateway)."] * 2,
    ),
    Voiced(
        "gateway_ip",
        "52.94.12.7/32",
        *["Give the single address of the VPN device, without a prefix length"] * 2,
    ),
    Voiced(
        "gateway_ip",
        "10.1.2.3",
        *["AWS needs the public IPv4 address the VPN device is reached on (behind NAT"] * 2,
    ),
    Voiced(
        "subnets",
        "",
        "Static routing needs at least one subnet: the ranges on your side that",
        "Static routing needs at least one subnet: the ranges on the customer's side that",
    ),
    Voiced(
        "subnets",
        "10.0.5.0/24",
        "route another range (or NAT it on your side).",
        "route another range (or NAT it on the customer's side).",
    ),
    Voiced(
        "advertised_prefixes",
        "10.0.0.0/8",
        "route another range (or NAT it on your side).",
        "route another range (or NAT it on the customer's side).",
        scene=BGP,
    ),
    Voiced(
        "asn",
        "",
        "BGP needs the ASN of your side of the sessions (a private ASN",
        "BGP needs the ASN of the customer's side of the sessions (a private ASN",
        scene=BGP,
    ),
    Voiced("asn", "23456", *["give the real 4-byte ASN instead."] * 2, scene=BGP),
    Voiced("asn", "65535", *["give the real ASN, or a private one such as 65000"] * 2, scene=BGP),
    Voiced(
        "region",
        "",
        *["give the city and country where the VPN device is, so that the portal can"] * 2,
    ),
    Voiced("tunnels", "3", *["1 means only the first is set up on the VPN device"] * 2),
    Voiced("ike_version", "ikev3", *["(IKEv2 unless the VPN device supports only IKEv1)."] * 2),
    Voiced(
        "device",
        "cisco_asa",
        *["Pick the VPN device from the list, or “Other / generic” if it is not listed."] * 2,
    ),
]


def _voiced_data(case: Voiced) -> dict:
    return {**FORM_STATIC, **case.scene, case.field: case.value}


@pytest.mark.django_db
@pytest.mark.parametrize("case", VOICED, ids=str)
def test_the_same_bad_input_is_told_to_each_in_their_voice(se_client, case):
    staff = se_client.post("/requests/new/", {**_voiced_data(case), "action": "submit"})
    _, token = draft_with_link()
    customer = Client().post(
        f"/intake/{token}/", {**customer_form(_voiced_data(case)), "action": "submit"}
    )

    staff_errors = _errors(staff.content.decode(), case.field)
    customer_errors = _errors(customer.content.decode(), case.field)
    assert rendered(case.engineer) in staff_errors
    assert rendered(case.customer) in customer_errors
    assert not CUSTOMER_VOICE.search(staff_errors), staff_errors
    if case.customer != case.engineer:
        assert rendered(case.customer) not in staff_errors
        assert rendered(case.engineer) not in customer_errors


@pytest.mark.django_db
@pytest.mark.parametrize("case", VOICED, ids=str)
def test_vpn_create_speaks_in_the_engineer_voice(tmp_path, case):
    data = _json_data(Bad(case.field, case.value, case.engineer, scene=case.scene))
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))

    with pytest.raises(CommandError) as raised:
        call_command("vpn_create", "--from-json", str(path))

    (line,) = [line for line in str(raised.value).splitlines() if line.startswith(case.field)]
    assert case.engineer in line
    assert not CUSTOMER_VOICE.search(line), line


@pytest.mark.django_db
@pytest.mark.parametrize("data", [FORM_STATIC, FORM_BGP], ids=["static", "bgp"])
def test_good_input_passes_the_engineer_form(se_client, data):
    response = se_client.post("/requests/new/", {**data, "action": "submit"})

    assert response.status_code == 302
    request = VpnRequest.objects.get()
    assert request.customer.org_id == data["org_id"]
    assert request.stage == "submitted"


def test_every_error_is_reported_at_once():
    with pytest.raises(IntakeInvalid) as raised:
        intake_clean(
            {**FORM_STATIC, "gateway_ip": "10.0.0.1", "subnets": "10.1.2.3/24", "tunnels": "5"},
            staff=True,
        )
    assert set(raised.value.errors) == {"gateway_ip", "subnets", "tunnels"}


def test_all_problems_of_a_list_are_named():
    with pytest.raises(IntakeInvalid) as raised:
        intake_clean({**FORM_STATIC, "subnets": "10.1.2.3/24\nbanana\n10.50.0.0/16"}, staff=True)
    assert raised.value.errors["subnets"] == [
        "10.1.2.3/24 has host bits set; did you mean 10.1.2.0/24?",
        "“banana” is not an IPv4 range; write it in CIDR notation, like 10.20.0.0/16.",
    ]


def test_org_id_is_case_insensitive_and_stored_lower_case():
    values = intake_clean(
        {**FORM_STATIC, "org_id": FORM_STATIC["org_id"].upper()}, staff=True
    ).values
    assert values["org_id"] == FORM_STATIC["org_id"]


def test_subnets_may_be_comma_or_line_separated_and_are_normalised():
    values = intake_clean(
        {**FORM_STATIC, "subnets": " 10.20.0.0/16,10.30.1.0/24\n\n10.40.0.0/255.255.0.0 "},
        staff=True,
    ).values
    assert values["subnets"] == ["10.20.0.0/16", "10.30.1.0/24", "10.40.0.0/16"]


def test_asn_may_be_written_with_as_prefix_and_private_amazon_range_is_allowed():
    # The top of the 4-byte private range; 4294967295 itself is reserved (RFC 7300).
    for text, expected in (("AS65010", 65010), ("64512", 64512), ("4294967294", 4294967294)):
        assert intake_clean({**FORM_BGP, "asn": text}, staff=True).values["asn"] == expected


def test_reserved_regional_asn_is_fine_in_other_regions():
    values = intake_clean({**FORM_BGP, "asn": "9059", "region": "eu-west-2"}, staff=True).values
    assert values["asn"] == 9059


def test_fields_of_the_other_routing_are_ignored_and_cleared():
    values = intake_clean(
        {**FORM_STATIC, "asn": "not checked", "advertised_prefixes": "x"}, staff=True
    ).values
    assert values["asn"] is None
    assert values["advertised_prefixes"] == []
    values = intake_clean({**FORM_BGP, "subnets": "garbage"}, staff=True).values
    assert values["subnets"] == []


def test_documentation_addresses_pass_only_against_the_sandbox(settings):
    data = {**FORM_STATIC, "gateway_ip": "198.51.100.7"}
    with pytest.raises(IntakeInvalid):
        intake_clean(data, staff=True)
    settings.AWS_SANDBOX = True
    assert intake_clean(data, staff=True).values["gateway_ip"] == "198.51.100.7"
    # Private space stays refused, sandbox or not.
    with pytest.raises(IntakeInvalid):
        intake_clean({**data, "gateway_ip": "10.1.1.1"}, staff=True)


def test_a_draft_may_be_incomplete_but_never_invalid():
    values = intake_clean({}, complete=False, staff=True).values
    assert values["gateway_ip"] is None
    with pytest.raises(IntakeInvalid) as raised:
        intake_clean({"gateway_ip": "192.168.0.1"}, complete=False, staff=True)
    assert set(raised.value.errors) == {"gateway_ip"}


@pytest.mark.django_db
def test_json_only_shapes_are_refused(tmp_path):
    cases = [
        ({"nat": "maybe"}, "nat: Answer yes or no"),
        ({"tunnels": True}, "tunnels: Choose 1 or 2 tunnels"),
        ({"subnets": [1, 2]}, "subnets: Give the subnets as text"),
        ({"subnets": 10}, "subnets: Give the subnets as a list of CIDRs"),
        ({"customer_name": ["a"]}, "customer_name: Give this as text"),
        ({"subnet": ["10.20.0.0/16"]}, "subnet: Unknown key"),
        ({"location": 5}, "location: Give the location as"),
    ]
    for extra, expected in cases:
        path = tmp_path / "request.json"
        path.write_text(json.dumps({**JSON_STATIC, **extra}))
        with pytest.raises(CommandError, match=expected):
            call_command("vpn_create", "--from-json", str(path))
