"""The parameter checks AWS applies to VPN resources, answered with AWS's error codes.

moto accepts almost anything (``"not-an-ip"`` as a gateway address, any pre-shared key);
a portal tested against it would never see the errors real users will. Each check here
raises :class:`sandbox.errors.ApiError` with the code AWS uses.
"""

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from sandbox.errors import invalid_parameter
from sandbox.tunnel_logs import parse_log_group_arn

# AWS's rule: 8-64 characters of letters, digits, "." and "_", not starting with "0".
_PRE_SHARED_KEY = re.compile(r"^(?!0)[A-Za-z0-9._]{8,64}$")

LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")

# AWS keeps these /30s for its own use inside every VPN gateway.
RESERVED_INSIDE_CIDRS = frozenset(
    [f"169.254.{third}.0/30" for third in range(6)] + ["169.254.169.252/30"]
)

# ASNs AWS uses itself, so a customer gateway may not claim them: 7224 everywhere,
# plus the ones of a few regions' own routers.
_RESERVED_ASNS_EVERYWHERE = frozenset({7224})
_RESERVED_ASNS_BY_REGION = {
    "eu-west-1": frozenset({9059}),
    "ap-northeast-1": frozenset({10124}),
    "ap-southeast-1": frozenset({17943, 17493}),
}

# The private ASN ranges AWS accepts for the Amazon side of a gateway.
_AMAZON_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))

PHASE1_DH_GROUPS = frozenset({2, *range(14, 25)})
PHASE2_DH_GROUPS = frozenset({2, 5, *range(14, 25)})
ENCRYPTION_ALGORITHMS = frozenset({"AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"})
INTEGRITY_ALGORITHMS = frozenset({"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"})
IKE_VERSIONS = frozenset({"ikev1", "ikev2"})
DPD_TIMEOUT_ACTIONS = frozenset({"clear", "none", "restart"})
LOG_OUTPUT_FORMATS = frozenset({"json", "text"})
STARTUP_ACTIONS = frozenset({"add", "start"})


def check_pre_shared_key(key: str) -> None:
    """Refuse a pre-shared key AWS would refuse."""
    if not isinstance(key, str) or not _PRE_SHARED_KEY.match(key):
        raise invalid_parameter(
            "The pre-shared key is invalid. It must be 8 to 64 characters long, contain "
            "only letters, digits, periods (.) and underscores (_), and not start with 0."
        )


def check_inside_cidr(cidr: str, in_use: Iterable[str]) -> str:
    """Check a tunnel inside CIDR and return it in canonical form.

    It must be a /30 inside 169.254.0.0/16, not one of AWS's reserved blocks, and not
    already used by another tunnel of the same gateway (``in_use``).
    """
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        raise invalid_parameter(
            f"The tunnel inside CIDR {cidr!r} is not a valid CIDR block."
        ) from None
    if network.version != 4 or network.prefixlen != 30:
        raise invalid_parameter(f"The tunnel inside CIDR {cidr} must be a /30 block.")
    if not network.subnet_of(LINK_LOCAL):
        raise invalid_parameter(
            f"The tunnel inside CIDR {cidr} must be within the 169.254.0.0/16 range."
        )
    canonical = str(network)
    if canonical in RESERVED_INSIDE_CIDRS:
        raise invalid_parameter(f"The tunnel inside CIDR {cidr} is reserved by AWS.")
    if canonical in set(in_use):
        raise invalid_parameter(
            f"The tunnel inside CIDR {cidr} is already in use on this VPN gateway."
        )
    return canonical


def check_ipv4_address(value: Any, parameter: str) -> str:
    """Check an IPv4 address given for ``parameter`` and return it."""
    try:
        return str(ipaddress.IPv4Address(value))
    except (TypeError, ValueError):
        raise invalid_parameter(
            f"Value ({value}) for parameter {parameter} is invalid. Invalid Format."
        ) from None


def check_cidr(value: Any, parameter: str, version: int) -> str:
    """Check a network CIDR (IPv4 or IPv6 as ``version`` says) and return it."""
    try:
        # A bare address would parse as a /32; AWS wants the prefix length spelt out.
        network = ipaddress.ip_network(value, strict=True) if "/" in value else None
    except (TypeError, ValueError):
        network = None
    if network is None or network.version != version:
        raise invalid_parameter(f"Value ({value}) for parameter {parameter} is invalid.")
    return str(network)


def check_customer_asn(asn: Any, region: str) -> int:
    """Check a customer gateway's BGP ASN (refusing AWS's own) and return it as an int."""
    try:
        number = int(asn)
    except (TypeError, ValueError):
        raise invalid_parameter(f"Value ({asn}) for parameter BgpAsn is invalid.") from None
    if not 1 <= number <= 4294967294:
        raise invalid_parameter(
            f"Value ({asn}) for parameter BgpAsn is invalid. It must be between 1 and 4294967294."
        )
    reserved = _RESERVED_ASNS_EVERYWHERE | _RESERVED_ASNS_BY_REGION.get(region, frozenset())
    if number in reserved:
        raise invalid_parameter(
            f"Value ({asn}) for parameter BgpAsn is invalid. {asn} is reserved by AWS in {region}."
        )
    return number


def check_amazon_asn(asn: Any) -> int:
    """Check the Amazon-side ASN of a VPN gateway and return it as an int."""
    try:
        number = int(asn)
    except (TypeError, ValueError):
        number = -1
    if not any(low <= number <= high for low, high in _AMAZON_ASN_RANGES):
        raise invalid_parameter(
            f"Invalid Amazon side ASN {asn}: it must be in the range 64512-65534 or "
            "4200000000-4294967294."
        )
    return number


def _check_choices(settings: dict[str, Any], name: str, allowed: frozenset) -> None:
    values = settings[name]
    if not values:
        raise invalid_parameter(f"{name} must contain at least one value.")
    for value in values:
        if value not in allowed:
            raise invalid_parameter(
                f"Value ({value}) for parameter {name} is invalid. Valid values: "
                + ", ".join(str(choice) for choice in sorted(allowed))
                + "."
            )


def _check_range(settings: dict[str, Any], name: str, low: int, high: int | None) -> None:
    value = settings[name]
    if not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise invalid_parameter(
            f"Value ({value}) for parameter {name} is invalid. It must be {bounds}."
        )


def check_tunnel_settings(settings: dict[str, Any]) -> None:
    """Check a tunnel's complete option set (keys as in ``DescribeVpnConnections``)."""
    _check_choices(settings, "IkeVersions", IKE_VERSIONS)
    _check_choices(settings, "Phase1EncryptionAlgorithms", ENCRYPTION_ALGORITHMS)
    _check_choices(settings, "Phase2EncryptionAlgorithms", ENCRYPTION_ALGORITHMS)
    _check_choices(settings, "Phase1IntegrityAlgorithms", INTEGRITY_ALGORITHMS)
    _check_choices(settings, "Phase2IntegrityAlgorithms", INTEGRITY_ALGORITHMS)
    _check_choices(settings, "Phase1DHGroupNumbers", PHASE1_DH_GROUPS)
    _check_choices(settings, "Phase2DHGroupNumbers", PHASE2_DH_GROUPS)
    _check_range(settings, "Phase1LifetimeSeconds", 900, 28800)
    _check_range(settings, "Phase2LifetimeSeconds", 900, 3600)
    if settings["Phase2LifetimeSeconds"] >= settings["Phase1LifetimeSeconds"]:
        raise invalid_parameter("Phase2LifetimeSeconds must be less than Phase1LifetimeSeconds.")
    _check_range(settings, "RekeyMarginTimeSeconds", 60, settings["Phase2LifetimeSeconds"] // 2)
    _check_range(settings, "RekeyFuzzPercentage", 0, 100)
    _check_range(settings, "ReplayWindowSize", 64, 2048)
    _check_range(settings, "DpdTimeoutSeconds", 30, None)
    if settings["DpdTimeoutAction"] not in DPD_TIMEOUT_ACTIONS:
        raise invalid_parameter(
            f"Value ({settings['DpdTimeoutAction']}) for parameter DPDTimeoutAction is "
            "invalid. Valid values: clear, none, restart."
        )
    if settings["StartupAction"] not in STARTUP_ACTIONS:
        raise invalid_parameter(
            f"Value ({settings['StartupAction']}) for parameter StartupAction is invalid. "
            "Valid values: add, start."
        )
    if settings["StartupAction"] == "start" and "ikev1" in settings["IkeVersions"]:
        raise invalid_parameter("StartupAction 'start' is only supported with IKEv2.")
    if not isinstance(settings["EnableTunnelLifecycleControl"], bool):
        raise invalid_parameter("EnableTunnelLifecycleControl must be true or false.")


def check_log_options(value: Any) -> dict[str, Any]:
    """Check a tunnel's ``LogOptions`` and return them as ``DescribeVpnConnections`` shows
    them: IKE (tunnel activity) and BGP logging, each off unless enabled, and when
    enabled a log group ARN and an output format (json, AWS's default, or text)."""
    given = value.get("CloudWatchLogOptions") if isinstance(value, dict) else None
    if not isinstance(given, dict):
        raise invalid_parameter("LogOptions must contain CloudWatchLogOptions.")
    options: dict[str, Any] = {}
    for prefix in ("", "Bgp"):
        enabled = given.get(f"{prefix}LogEnabled", False)
        if not isinstance(enabled, bool):
            raise invalid_parameter(f"{prefix}LogEnabled must be true or false.")
        options[f"{prefix}LogEnabled"] = enabled
        arn = given.get(f"{prefix}LogGroupArn")
        if arn is not None and parse_log_group_arn(arn) is None:
            raise invalid_parameter(
                f"Value ({arn}) for parameter {prefix}LogGroupArn is invalid: it must be a "
                "CloudWatch Logs log group ARN."
            )
        if enabled and arn is None:
            raise invalid_parameter(
                f"{prefix}LogGroupArn is required when {prefix}LogEnabled is true."
            )
        if arn is not None:
            options[f"{prefix}LogGroupArn"] = arn
        output_format = given.get(f"{prefix}LogOutputFormat", "json" if enabled else None)
        if output_format is not None:
            if output_format not in LOG_OUTPUT_FORMATS:
                raise invalid_parameter(
                    f"Value ({output_format}) for parameter {prefix}LogOutputFormat is invalid. "
                    "Valid values: json, text."
                )
            options[f"{prefix}LogOutputFormat"] = output_format
    return {"CloudWatchLogOptions": options}


def check_tunnel_count(count: int) -> None:
    """A VPN connection has exactly two tunnels, so at most two option sets."""
    if count > 2:
        raise invalid_parameter("A VPN connection supports at most 2 tunnel option sets.")
