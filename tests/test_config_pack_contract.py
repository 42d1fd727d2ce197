"""The pack's parameters are typed and checked when built: a redacted copy is one by its
field and holds no key, and nothing computed from the keys can come from it."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.config_pack_support import connection_request
from vpn.choices import Routing
from vpn.packs.contract import (
    REDACTED,
    PackParameterError,
    PackParameters,
    pack_copies,
)


@pytest.fixture
def parameters(db) -> PackParameters:
    """The full parameters of a two-tunnel static connection."""
    return PackParameters.from_request(connection_request(routing=Routing.STATIC))


def test_the_redacted_copy_holds_no_key(parameters):
    redacted = parameters.redacted_copy()
    assert redacted.redacted and not parameters.redacted
    assert [tunnel.psk for tunnel in redacted.tunnels] == [None, None]
    assert [tunnel["psk"] for tunnel in redacted.as_json()["tunnels"]] == [REDACTED, REDACTED]
    # Everything else is the same.
    assert replace(redacted, redacted=False, tunnels=parameters.tunnels) == parameters


def test_what_needs_the_keys_refuses_a_redacted_copy(parameters):
    redacted = parameters.redacted_copy()
    for computed in (redacted.sha256, redacted.for_storage, lambda: redacted.changes_since(None)):
        with pytest.raises(ValueError, match="not a redacted copy"):
            computed()


def test_both_copies_print_the_full_parameters_fingerprint(parameters):
    issued_at = datetime(2025, 1, 2, tzinfo=UTC)
    full, redacted = pack_copies(parameters, version=1, issued_at=issued_at, changes=[])
    assert (full.redacted, redacted.redacted) == (False, True)
    assert full.parameters_sha256 == redacted.parameters_sha256 == parameters.sha256()


def test_redaction_and_keys_must_agree(parameters):
    with pytest.raises(PackParameterError, match="A redacted copy holds no pre-shared key"):
        replace(parameters, redacted=True)
    without_keys = tuple(replace(tunnel, psk=None) for tunnel in parameters.tunnels)
    with pytest.raises(PackParameterError, match="A full copy holds every"):
        replace(parameters, tunnels=without_keys)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("aws_outside_ip", "203.0.113.300", "Tunnel 1's outside IP is not an IPv4 address"),
        ("inside_cidr", "169.254.10.0/29", "not a /30 in 169.254.0.0/16"),
        ("inside_cidr", "10.0.0.0/30", "not a /30 in 169.254.0.0/16"),
        ("psk", "short", "pre-shared key must be 8 to 64"),
        ("psk", "abcdefgh'; reboot", "pre-shared key must be 8 to 64"),
    ],
)
def test_a_tunnel_checks_its_values(parameters, field, value, message):
    with pytest.raises(PackParameterError, match=message):
        replace(parameters.tunnels[0], **{field: value})


def test_the_parameters_check_theirs(parameters):
    for field, value, message in (
        ("reference", "VPN-1; rm", "Unexpected reference"),
        ("customer_gateway_ip", "gateway.example.com", "customer gateway IP is not"),
        ("vpc_cidr", "10.0.0.1/24", "VPC CIDR is not an IPv4 network"),
        ("nat_public_ip", "", "NAT gateway's public IP is not"),
        ("device_vendor", "vyos", "Unknown device"),
        ("tunnel_count", 3, "has no 3 tunnels"),
    ):
        with pytest.raises(PackParameterError, match=message):
            replace(parameters, **{field: value})
