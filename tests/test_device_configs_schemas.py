"""Each vendor's file is read back by that vendor's own published schema or parser.

For every combination of routing, IKE version, tunnel count and NAT (and a few cases
that take other branches), full and redacted: the Juniper file through the Junos
schema of `junoscfg`, the Palo Alto file through the paths of `pan-os-python` (PAN-OS
10.1 and 11.1), the FortiGate file through Fortinet's schema for FortiOS 6.4.4 to 7.6,
and the Cisco file through `ciscoconfparse` and Cisco's command keywords
(`tests/device_schemas/`). The strongSwan file is loaded by a real charon
(`tests/test_device_configs_strongswan.py`) and brought up against AWS's side
(`tests/handshake/`).

A planted error in each file must fail its check: the checks are not blind.
"""

import pytest

from tests.device_config_support import CASE_NAMES, rendered_cases
from tests.device_schemas import cisco, fortios, junos, panos

# The cases are rendered from requests in the database (rolled back); the mark makes
# the test database exist for them.
pytestmark = pytest.mark.django_db

CHECKS = {
    "juniper-srx.txt": junos.check,
    "palo-alto-panos.txt": panos.check,
    "fortinet-fortigate.txt": fortios.check,
    "cisco-ios-vti.txt": cisco.check,
}

# One error per vendor, planted in a file the check passes: (what the file has, what it
# gets instead, what the check must say).
PLANTED = {
    "juniper-srx.txt": (
        "then permit",
        "then allow",
        "unknown statement 'allow'",
    ),
    "palo-alto-panos.txt": (
        "protocol bgp install-route yes",
        "protocol bgp install-routes yes",
        "unknown keyword 'install-routes'",
    ),
    "fortinet-fortigate.txt": (
        "set localid-type address",
        "set localid-type ipv4",
        "localid-type: 'ipv4' is not one of",
    ),
    "cisco-ios-vti.txt": (
        "crypto ipsec df-bit clear",
        "crypto ipsec df-bit clean",
        "'crypto ipsec df-bit clean' in global configuration: no such command",
    ),
}


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker):
    """Every case's device files, rendered once."""
    return rendered_cases(django_db_blocker)


@pytest.mark.parametrize("filename", list(CHECKS))
@pytest.mark.parametrize("case", CASE_NAMES)
def test_the_vendor_schema_takes_the_file(cases, case, filename):
    rendered = cases[case]
    for variant, files in (("full", rendered.files), ("redacted", rendered.redacted_files)):
        problems = CHECKS[filename](files[filename])
        assert problems == [], f"{case} {filename} ({variant}):\n" + "\n".join(problems)


@pytest.mark.parametrize("filename", list(CHECKS))
def test_a_planted_error_fails_the_check(cases, filename):
    original, planted, message = PLANTED[filename]
    text = cases["bgp-ikev1-2tunnel-nat"].files[filename]
    assert original in text, filename
    problems = CHECKS[filename](text.replace(original, planted, 1))
    assert problems, f"{filename}: the planted {planted!r} went unnoticed"
    assert message in problems[0], problems


def test_each_check_reads_its_schema_from_the_installed_package():
    # The schemas come from the packages, at the versions the pack names.
    assert junos.schema()["c"]["security"]["c"]["ike"]["c"]["gateway"]["L"]
    assert fortios.table_schema("vpn ipsec phase1-interface")["children"]["localid_type"]
    assert fortios.table_schema("no such table") is None
    assert "install-route" in (
        panos.schema("10.1.0")
        .children["network"]
        .children["virtual-router"]
        .entry.children["protocol"]
        .children["bgp"]
        .children
    )
    assert fortios.VERSIONS[0] == "v6.4.4" and fortios.VERSIONS[-1] == "v7.6.0"
