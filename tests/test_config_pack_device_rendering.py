"""Every file a pack carries, for every kind of connection, holds real values only.

Each combination of routing, IKE version, tunnel count and NAT is rendered, full and
redacted: every vendor's configuration, the keep-alive script where it applies and
`parameters.json`. A blank where a value should be, a placeholder, a template tag left
over or a value the template could not find fails the test. The templates render
strictly: a variable the context lacks raises, naming the template and the variable.
"""

import itertools
import json
import re
from datetime import UTC, datetime

import pytest

from tests.config_pack_support import NAT_PUBLIC_IP, connection_request
from vpn.choices import DeviceVendor, IkeVersion, Routing
from vpn.packs.contract import REDACTED, PackParameters, pack_copies
from vpn.packs.devices import (
    KEEPALIVE_TEMPLATE,
    VENDORS,
    DeviceTemplateError,
    device_context,
    render_template,
    templates_folder,
    vendor_order,
)
from vpn.packs.document import KEEPALIVE_FILENAME, PARAMETERS_FILENAME, pack_files

ISSUED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
COMBINATIONS = list(itertools.product(Routing.values, IkeVersion.values, (1, 2), (False, True)))

# Text a rendered file never holds: left-over template syntax, Python's None, an empty
# pair of brackets or quotes, a `<placeholder>`, a space before a comma.
PLACEHOLDERS = {
    "template tag": re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}"),
    "None": re.compile(r"\bNone\b"),
    "empty brackets": re.compile(r"\(\s*\)|\[\s*\]"),
    "empty quotes": re.compile(r"\"\"|''"),
    "placeholder": re.compile(r"<[A-Za-z_][^<>\n]*>"),
    "space before a comma": re.compile(r" ,"),
    "trailing space": re.compile(r"[ \t]$", re.MULTILINE),
}
# Indentation and the space after a comment marker are layout; anywhere else, two
# spaces mean a value printed as nothing.
_LAYOUT = re.compile(r"^[ \t]*(?:[#!][ \t]*)?")


def _blank_value_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "  " in _LAYOUT.sub("", line)]


def _copies(routing, ike_version, tunnel_count, nat, vendor):
    vpn_request = connection_request(
        routing=routing,
        ike_version=ike_version,
        tunnel_count=tunnel_count,
        nat=nat,
        device_vendor=vendor,
    )
    parameters = PackParameters.from_request(vpn_request)
    return vpn_request, pack_copies(
        parameters, version=2, issued_at=ISSUED_AT, changes=["Test change."]
    )


def _check_text(name: str, text: str, *, redacted: bool) -> None:
    assert text.strip(), f"{name} is empty"
    for what, pattern in PLACEHOLDERS.items():
        found = pattern.search(text)
        assert found is None, f"{name}: {what} {found.group(0)!r} in {_line_of(text, found)!r}"
    assert _blank_value_lines(text) == [], f"{name}: doubled space where a value should be"
    if not redacted:
        assert REDACTED not in text, f"{name}: a placeholder key in the full copy"
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{name}: ragged end"


def _line_of(text: str, found: re.Match) -> str:
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return text[start : end if end != -1 else None]


def _check_values(name: str, text: str, vpn_request, copy) -> None:
    """The values the configuration exists for are in it (not blanks where they were)."""
    parameters = copy.parameters
    assert parameters.reference in text, name
    assert parameters.customer_gateway_ip in text, name
    for tunnel in vpn_request.tunnels.order_by("position"):
        if tunnel.position > parameters.tunnel_count:
            if name != "generic.txt":  # the sheet lists the unused tunnel for reference
                assert tunnel.outside_ip not in text, name
                assert tunnel.psk not in text, name
            continue
        assert tunnel.outside_ip in text, name
        if copy.redacted:
            assert tunnel.psk not in text, name
            assert f"REDACTED_TUNNEL{tunnel.position}_PSK" in text, name
        else:
            assert tunnel.psk in text, name
    if parameters.bgp:
        assert str(vpn_request.bgp_asn) in text and str(vpn_request.amazon_side_asn) in text


def _check_parameters_json(content: bytes, copy) -> None:
    document = json.loads(content)
    assert document["pack"]["redacted"] is copy.redacted
    parameters = document["parameters"]
    allowed_nulls = set()
    if copy.parameters.nat_public_ip is None:
        allowed_nulls.add("nat_public_ip")
    if not copy.parameters.keepalive.required:
        allowed_nulls |= {"keepalive.target", "keepalive.interval_seconds"}
    for path, value in _leaves(parameters):
        assert value != "", f"parameters.json: {path} is empty"
        if value is None:
            assert path in allowed_nulls, f"parameters.json: {path} is null"
        if value == REDACTED:
            assert copy.redacted and re.fullmatch(r"tunnels\.\d\.psk", path), path


def _leaves(value, path: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}{key}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}{index}.")
    else:
        yield path.rstrip("."), value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("routing", "ike_version", "tunnel_count", "nat"),
    COMBINATIONS,
    ids=[f"{r}-{i}-{t}tunnel-{'nat' if n else 'nonat'}" for r, i, t, n in COMBINATIONS],
)
def test_every_file_holds_real_values(routing, ike_version, tunnel_count, nat):
    # The customer's vendor changes which configuration comes first: vary it too.
    vendor = DeviceVendor.values[COMBINATIONS.index((routing, ike_version, tunnel_count, nat)) % 6]
    vpn_request, copies = _copies(routing, ike_version, tunnel_count, nat, vendor)
    for copy in copies:
        configs, files = pack_files(copy)
        assert [config.vendor for config in configs] == [v.key for v in vendor_order(vendor)]
        by_name = {file.name: file.content for file in files}
        assert set(by_name) == {
            *(v.filename for v in VENDORS),
            PARAMETERS_FILENAME,
            *([KEEPALIVE_FILENAME] if copy.parameters.keepalive.required else []),
        }
        for name, content in by_name.items():
            label = f"{name} ({'redacted' if copy.redacted else 'full'})"
            if name == PARAMETERS_FILENAME:
                _check_parameters_json(content, copy)
                continue
            text = content.decode()
            _check_text(label, text, redacted=copy.redacted)
            if name != KEEPALIVE_FILENAME:
                _check_values(name, text, vpn_request, copy)
        if nat:
            assert NAT_PUBLIC_IP in by_name["generic.txt"].decode()
        if copy.parameters.keepalive.required:
            assert copy.parameters.keepalive.target in by_name[KEEPALIVE_FILENAME].decode()


def test_the_checks_catch_what_they_are_for():
    """The checks above, on text with each kind of fault."""
    faults = [
        "# from your gateway  to AWS ()\n",
        "secret = None\n",
        'secret = ""\n',
        "address <your gateway>\n",
        "remote_addrs = {{ t.aws_outside_ip }}\n",
        "set proposal \n",
        "set psksecret REDACTED_TUNNEL1_PSK\n",
    ]
    for text in faults:
        with pytest.raises(AssertionError):
            _check_text("sample", text, redacted=False)
    _check_text(
        "sample", "#      ip link set ipsec1 mtu 1422 up\n  Reference ... VPN-1\n", redacted=False
    )


@pytest.mark.django_db
def test_a_variable_the_context_lacks_raises_with_template_and_name():
    _, (full, _) = _copies(Routing.STATIC, IkeVersion.IKEV2, 2, False, DeviceVendor.STRONGSWAN)
    context = {**device_context(full), "c": "#", "vendor_label": "strongSwan", "names": {}}

    # The header, included by every vendor's template, misses the gateway's address.
    del context["customer_gateway_ip"]
    with pytest.raises(DeviceTemplateError) as error:
        render_template("cisco_ios.txt", context)
    assert "_header.txt line 2" in str(error.value)
    assert "'customer_gateway_ip' is undefined" in str(error.value)

    # A static connection has no BGP values: a template reaching for one fails.
    static_context = {**device_context(full), "c": "#", "vendor_label": "x", "names": {}}
    with pytest.raises(DeviceTemplateError, match="'customer_asn' is undefined"):
        render_template("generic.txt", {**static_context, "static": False})

    # A vendor whose algorithm names are missing fails on the first one it prints.
    with pytest.raises(DeviceTemplateError, match=r"strongswan\.conf line \d+: .*'ike'"):
        render_template("strongswan.conf", static_context)

    # The keep-alive script without its target.
    keepalive_context = device_context(full)
    del keepalive_context["keepalive"]
    with pytest.raises(DeviceTemplateError, match=r"keepalive\.sh line \d+: 'keepalive'"):
        render_template(KEEPALIVE_TEMPLATE, keepalive_context)


def test_every_vendor_is_one_registry_entry_with_its_template():
    assert [vendor.key for vendor in VENDORS] == list(DeviceVendor)
    assert len({vendor.filename for vendor in VENDORS}) == len(VENDORS)
    for vendor in VENDORS:
        assert (templates_folder() / vendor.template).is_file(), vendor.template
        assert vendor.label == DeviceVendor(vendor.key).label
        # The PDF's device chapter states both, per vendor.
        assert vendor.os_versions.endswith("."), vendor.key
        assert vendor.numbering.endswith("."), vendor.key
