"""The device configurations of every kind of connection, rendered once per session.

Shared by the schema checks and the semantic checks: each combination of routing, IKE
version, tunnel count and NAT, plus a few cases that take other branches of the
templates (four-byte ASNs, BGP without prefixes to advertise, other interface numbers).
Rendering needs the database only to build the requests; the texts are kept and the
rows rolled back.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from tests.config_pack_support import connection_request
from vpn.choices import IkeVersion, Routing
from vpn.packs.contract import PackParameters, pack_copies
from vpn.packs.devices import DeviceNumbering, device_configs

COMBINATIONS = list(itertools.product(Routing.values, IkeVersion.values, (1, 2), (False, True)))
# Cases beyond the combinations: (name, request fields changed after creation, numbering).
EXTRA_CASES = {
    "bgp-four-byte-asns": (
        {"routing": Routing.BGP},
        {"amazon_side_asn": 4_200_000_000, "bgp_asn": 4_200_000_001},
        DeviceNumbering(),
    ),
    "bgp-no-prefixes": ({"routing": Routing.BGP}, {"advertised_prefixes": []}, DeviceNumbering()),
    "static-ikev1-renumbered": (
        {"ike_version": IkeVersion.IKEV1},
        {},
        DeviceNumbering(first_tunnel=41, cisco_isakmp_policy=310, cisco_sla=500),
    ),
}


@dataclass(frozen=True)
class RenderedCase:
    """One connection's parameters and its device files (full copy, and redacted)."""

    name: str
    parameters: PackParameters
    numbering: DeviceNumbering
    files: dict[str, str]
    redacted_files: dict[str, str]


def case_name(routing: str, ike_version: str, tunnel_count: int, nat: bool) -> str:
    """How a combination is named in test ids."""
    return f"{routing}-{ike_version}-{tunnel_count}tunnel-{'nat' if nat else 'nonat'}"


_rendered: dict[str, RenderedCase] = {}


def _render(name: str, request_fields: dict, changes: dict, numbering: DeviceNumbering):
    vpn_request = connection_request(**request_fields)
    for field, value in changes.items():
        setattr(vpn_request, field, value)
    vpn_request.save()
    parameters = PackParameters.from_request(vpn_request)
    full, redacted = pack_copies(
        parameters,
        version=1,
        issued_at=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
        changes=["First version."],
    )
    return RenderedCase(
        name=name,
        parameters=parameters,
        numbering=numbering,
        files={c.filename: c.text for c in device_configs(full, numbering)},
        redacted_files={c.filename: c.text for c in device_configs(redacted, numbering)},
    )


def rendered_cases(django_db_blocker) -> dict[str, RenderedCase]:
    """Every case, by name (rendered on the first call of the session)."""
    if not _rendered:
        with django_db_blocker.unblock(), transaction.atomic():
            for routing, ike_version, tunnel_count, nat in COMBINATIONS:
                name = case_name(routing, ike_version, tunnel_count, nat)
                fields = {
                    "routing": routing,
                    "ike_version": ike_version,
                    "tunnel_count": tunnel_count,
                    "nat": nat,
                }
                _rendered[name] = _render(name, fields, {}, DeviceNumbering())
            for name, (fields, changes, numbering) in EXTRA_CASES.items():
                _rendered[name] = _render(name, fields, changes, numbering)
            transaction.set_rollback(True)
    return _rendered


CASE_NAMES = [case_name(*combination) for combination in COMBINATIONS] + list(EXTRA_CASES)
# Each case's routing, known before rendering (for choosing what applies to it).
CASE_ROUTING = {
    **{case_name(*combination): combination[0] for combination in COMBINATIONS},
    **{name: fields.get("routing", Routing.STATIC) for name, (fields, _, _) in EXTRA_CASES.items()},
}
