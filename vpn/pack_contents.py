"""What a config pack says: its parameters, the device configurations made from them,
the files it carries, and the differences between two versions.

Everything here is computed from the stored connection (the request, its tunnels keyed
by AWS outside IP, its AWS resources) and from `vpn.tunnel_profile`, and nothing else.
The device configurations are plain-text templates rendered without HTML escaping, so
every value that reaches them is validated first (addresses, CIDRs, ASNs, keys); the
customer's free text (names, contact) never goes into a device configuration.
"""

import copy
import hashlib
import io
import ipaddress
import json
import re
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.template import engines
from django.template.loader import get_template
from django.utils.crypto import constant_time_compare, salted_hmac

from vpn.choices import AwsResourceRole, DeviceVendor, IkeVersion, Routing
from vpn.models import VpnRequest
from vpn.regions import REGIONS_BY_CODE
from vpn.tunnel_profile import (
    BGP_HOLD_TIME_SECONDS,
    TUNNEL_MTU,
    TUNNEL_TCP_MSS,
    tunnel_profile,
)

# Bumped when the structure of the parameters changes (then every request gets a new
# version the next time its pack is rendered).
PARAMETERS_FORMAT = 1
REDACTED = "REDACTED"
# Seconds between two keep-alive pings: frequent enough to keep the security
# associations busy, rare enough to be no load.
KEEPALIVE_INTERVAL_SECONDS = 10

_PSK = re.compile(r"[A-Za-z0-9._]{8,64}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_REFERENCE = re.compile(r"VPN-\d{5,}")
_AWS_ID = re.compile(r"[a-z]+-[0-9a-f]{1,32}")


class PackNotReady(Exception):
    """The request has no VPN connection yet (or lacks a value the pack needs)."""


class PackParameterError(ValueError):
    """A stored value that must not go into a device configuration as it is."""


# --- Validation of every value that reaches a device configuration ----------------------


def _ipv4(value, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError as exc:
        raise PackParameterError(f"{what} is not an IPv4 address: {value!r}") from exc


def _cidr(value, what: str) -> str:
    try:
        return str(ipaddress.IPv4Network(str(value), strict=True))
    except ValueError as exc:
        raise PackParameterError(f"{what} is not an IPv4 network: {value!r}") from exc


def _asn(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4_294_967_295:
        raise PackParameterError(f"{what} is not an ASN: {value!r}")
    return value


def _psk(value, what: str) -> str:
    if not isinstance(value, str) or not _PSK.fullmatch(value):
        raise PackParameterError(f"{what} must be 8 to 64 letters, digits, dots or underscores.")
    return value


# --- Parameters ---------------------------------------------------------------------------


def pack_parameters(*, vpn_request: VpnRequest) -> dict:
    """Every value the pack prints, with the pre-shared keys in clear.

    Raises `PackNotReady` before the VPN connection exists (no tunnels) or when a value
    the pack needs has not been allocated yet, and `PackParameterError` for a stored
    value that is not what it should be.
    """
    reference = vpn_request.reference
    tunnels = sorted(vpn_request.tunnels.all(), key=lambda tunnel: tunnel.position)
    if not tunnels:
        raise PackNotReady(f"{reference} has no VPN connection yet (no tunnels).")
    if not vpn_request.vpc_cidr:
        raise PackNotReady(f"{reference} has no platform VPC CIDR yet.")
    if not vpn_request.customer_gateway_ip:
        raise PackNotReady(f"{reference} has no customer gateway IP.")
    if not _REGION.fullmatch(vpn_request.region or ""):
        raise PackNotReady(f"{reference} has no AWS region.")

    profile = tunnel_profile(vpn_request.ike_version)
    customer_gateway_ip = _ipv4(vpn_request.customer_gateway_ip, "The customer gateway IP")
    vpc_cidr = _cidr(vpn_request.vpc_cidr, "The VPC CIDR")
    if vpn_request.routing == Routing.STATIC:
        routing = {
            "type": Routing.STATIC.value,
            "customer_subnets": [
                _cidr(subnet, "A customer subnet") for subnet in vpn_request.static_subnets
            ],
        }
    else:
        if vpn_request.bgp_asn is None or vpn_request.amazon_side_asn is None:
            raise PackNotReady(f"{reference} has no BGP ASNs yet.")
        routing = {
            "type": Routing.BGP.value,
            "customer_asn": _asn(vpn_request.bgp_asn, "The customer ASN"),
            "amazon_asn": _asn(vpn_request.amazon_side_asn, "The Amazon-side ASN"),
            "hold_time_seconds": BGP_HOLD_TIME_SECONDS,
            "advertised_prefixes": [
                _cidr(prefix, "An advertised prefix") for prefix in vpn_request.advertised_prefixes
            ],
        }

    resources = {
        resource.role: resource
        for resource in vpn_request.resources.all()
        if resource.deleted_at is None
    }
    elastic_ip = resources.get(AwsResourceRole.ELASTIC_IP)
    public_ip = (elastic_ip.details or {}).get("public_ip") if elastic_ip else None
    nat_public_ip = _ipv4(public_ip, "The NAT gateway's public IP") if public_ip else None
    connection = resources.get(AwsResourceRole.VPN_CONNECTION)
    vpn_connection_id = (
        connection.resource_id if connection and _AWS_ID.fullmatch(connection.resource_id) else ""
    )

    region = REGIONS_BY_CODE.get(vpn_request.region)
    keepalive_required = (
        vpn_request.ike_version == IkeVersion.IKEV2 and vpn_request.routing == Routing.STATIC
    )
    customer = vpn_request.customer
    return {
        "format": PARAMETERS_FORMAT,
        "reference": reference,
        "customer": {
            "name": customer.name,
            "org_id": customer.org_id,
            "contact_name": customer.contact_name,
            "contact_email": customer.contact_email,
        },
        "region": {"code": vpn_request.region, "name": region.name if region else ""},
        "vpn_connection_id": vpn_connection_id,
        "customer_gateway_ip": customer_gateway_ip,
        "ike_version": profile.ike_version,
        "tunnel_count": vpn_request.tunnel_count,
        "device_vendor": DeviceVendor(vpn_request.device_vendor).value,
        "vpc_cidr": vpc_cidr,
        "routing": routing,
        "nat_public_ip": nat_public_ip,
        "ipsec": {key: value for key, value in asdict(profile).items() if key != "ike_version"},
        "mtu": TUNNEL_MTU,
        "tcp_mss": TUNNEL_TCP_MSS,
        "tunnels": [
            _tunnel_parameters(tunnel, customer_gateway_ip, vpn_request.tunnel_count)
            for tunnel in tunnels
        ],
        "keepalive": {
            "required": keepalive_required,
            "target": _keepalive_target(vpc_cidr) if keepalive_required else None,
            "interval_seconds": KEEPALIVE_INTERVAL_SECONDS if keepalive_required else None,
        },
    }


def _tunnel_parameters(tunnel, customer_gateway_ip: str, tunnel_count: int) -> dict:
    what = f"Tunnel {tunnel.position}"
    inside = ipaddress.IPv4Network(_cidr(tunnel.inside_cidr, f"{what}'s inside CIDR"))
    if inside.prefixlen != 30 or not inside.subnet_of(ipaddress.IPv4Network("169.254.0.0/16")):
        raise PackParameterError(f"{what}'s inside CIDR is not a /30 in 169.254.0.0/16.")
    if tunnel.psk is None:
        raise PackNotReady(f"{what} has no pre-shared key.")
    return {
        "position": tunnel.position,
        "used": tunnel.position <= tunnel_count,
        "aws_outside_ip": _ipv4(tunnel.outside_ip, f"{what}'s outside IP"),
        "customer_outside_ip": customer_gateway_ip,
        "inside_cidr": str(inside),
        # In the /30, the first usable address is AWS's, the second the customer's.
        "aws_inside_ip": str(inside.network_address + 1),
        "customer_inside_ip": str(inside.network_address + 2),
        "psk": _psk(tunnel.psk, f"{what}'s pre-shared key"),
    }


def _keepalive_target(vpc_cidr: str) -> str:
    # The VPC's base address plus two is the Amazon DNS resolver, present in every VPC:
    # an address that always exists on the far side of the tunnel.
    return str(ipaddress.IPv4Network(vpc_cidr).network_address + 2)


def parameters_hash(parameters: dict) -> str:
    """SHA-256 of the canonical JSON of the full parameters (pre-shared keys included)."""
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parameters_redacted(parameters: dict) -> dict:
    """The parameters with every pre-shared key replaced by `REDACTED`."""
    redacted = copy.deepcopy(parameters)
    for tunnel in redacted["tunnels"]:
        tunnel["psk"] = REDACTED
    return redacted


_PSK_SALT = "vpn.pack_contents.psk_fingerprint"


def parameters_for_storage(parameters: dict) -> dict:
    """What the database keeps: redacted, with a keyed fingerprint of each key.

    The fingerprint (an HMAC under the secret key) lets the next version say which
    tunnel's key changed without the database ever holding a key or a plain hash of one.
    """
    stored = parameters_redacted(parameters)
    for tunnel, full in zip(stored["tunnels"], parameters["tunnels"], strict=True):
        tunnel["psk_fingerprint"] = salted_hmac(
            _PSK_SALT, full["psk"], algorithm="sha256"
        ).hexdigest()
    return stored


def _psk_matches(fingerprint: str, psk: str) -> bool:
    # Fallback keys count too, so rotating the secret key reports no false key change.
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        digest = salted_hmac(_PSK_SALT, psk, secret=secret, algorithm="sha256").hexdigest()
        if constant_time_compare(digest, fingerprint):
            return True
    return False


# --- Differences between versions ---------------------------------------------------------

_FIELD_LABELS = {
    "customer.name": "Customer name",
    "customer.org_id": "Platform org ID",
    "customer.contact_name": "Contact name",
    "customer.contact_email": "Contact email",
    "region.code": "AWS region",
    "vpn_connection_id": "AWS VPN connection",
    "customer_gateway_ip": "Customer gateway IP",
    "ike_version": "IKE version",
    "tunnel_count": "Tunnels to configure",
    "device_vendor": "Device",
    "vpc_cidr": "Platform VPC CIDR",
    "routing.type": "Routing",
    "routing.customer_asn": "Customer ASN",
    "routing.amazon_asn": "Amazon-side ASN",
    "routing.hold_time_seconds": "BGP hold time",
    "nat_public_ip": "NAT gateway public IP",
    "mtu": "Tunnel MTU",
    "tcp_mss": "TCP MSS",
    "keepalive.required": "Keep-alive needed",
    "keepalive.target": "Keep-alive target",
    "keepalive.interval_seconds": "Keep-alive interval",
}
_LIST_LABELS = {
    "routing.customer_subnets": "Static routes",
    "routing.advertised_prefixes": "BGP advertised prefixes",
}
_SKIPPED = {"format", "reference", "region.name", "tunnels", *_LIST_LABELS}


def _flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _shown(value) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def parameters_changes(*, previous: dict | None, current: dict) -> list[str]:
    """Human-readable differences from the previous version's stored parameters.

    `previous` is what `parameters_for_storage` kept (keys redacted, fingerprints
    present); `current` holds the keys in clear. Tunnels are matched by AWS outside IP.
    """
    if previous is None:
        return ["First version."]
    changes = []
    old_flat, new_flat = _flatten(previous), _flatten(current)
    for key in dict.fromkeys([*old_flat, *new_flat]):
        if key in _SKIPPED or key.split(".")[0] in _SKIPPED:
            continue
        old, new = old_flat.get(key), new_flat.get(key)
        if old == new:
            continue
        if key.startswith("ipsec."):
            label = "IPsec " + key.removeprefix("ipsec.").replace("_", " ")
        else:
            label = _FIELD_LABELS.get(key, key)
        if old in (None, ""):
            changes.append(f"{label}: added {_shown(new)}")
        elif new in (None, ""):
            changes.append(f"{label}: removed {_shown(old)}")
        else:
            changes.append(f"{label}: changed from {_shown(old)} to {_shown(new)}")

    for key, label in _LIST_LABELS.items():
        old_items = _flatten(previous).get(key) or []
        new_items = _flatten(current).get(key) or []
        changes += [f"{label}: added {item}" for item in new_items if item not in old_items]
        changes += [f"{label}: removed {item}" for item in old_items if item not in new_items]

    changes += _tunnel_changes(previous["tunnels"], current["tunnels"])
    return changes or ["No change in the parameters (re-issued)."]


def _tunnel_changes(previous: list[dict], current: list[dict]) -> list[str]:
    old_tunnels = {tunnel["aws_outside_ip"]: tunnel for tunnel in previous}
    new_tunnels = {tunnel["aws_outside_ip"]: tunnel for tunnel in current}
    changes = []
    for ip, new in new_tunnels.items():
        old = old_tunnels.get(ip)
        if old is None:
            changes.append(f"Tunnel {ip}: new tunnel (tunnel {new['position']})")
            continue
        if old.get("position") != new["position"]:
            changes.append(f"Tunnel {ip}: now tunnel {new['position']}")
        if old.get("inside_cidr") != new["inside_cidr"]:
            changes.append(
                f"Tunnel {ip}: inside CIDR changed from {old.get('inside_cidr')} "
                f"to {new['inside_cidr']}"
            )
        if old.get("used") != new["used"]:
            changes.append(f"Tunnel {ip}: {'now used' if new['used'] else 'no longer used'}")
        if not _psk_matches(old.get("psk_fingerprint", ""), new["psk"]):
            changes.append(f"Tunnel {ip}: pre-shared key changed")
    changes += [f"Tunnel {ip}: removed" for ip in old_tunnels if ip not in new_tunnels]
    return changes


# --- Device configurations and the other files --------------------------------------------


@dataclass(frozen=True)
class PackFile:
    """A file of the pack: attached inside the PDF and put in the zip, byte for byte."""

    name: str
    content: bytes
    description: str
    executable: bool = False

    @property
    def sha256(self) -> str:
        """The file's SHA-256, printed in the PDF so the customer can check a copy."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class DeviceConfig:
    """One vendor's configuration, filled with this connection's values."""

    vendor: str
    label: str
    filename: str
    text: str

    def as_file(self) -> PackFile:
        """The configuration as an attached file."""
        return PackFile(self.filename, self.text.encode(), f"{self.label} configuration")


# Vendor -> (file name, template, comment marker of the vendor's syntax).
DEVICE_TEMPLATES: dict[str, tuple[str, str, str]] = {
    DeviceVendor.STRONGSWAN: ("swanctl.conf", "vpn/devices/strongswan.conf", "#"),
    DeviceVendor.CISCO_IOS: ("cisco-ios-vti.txt", "vpn/devices/cisco_ios.txt", "!"),
    DeviceVendor.JUNIPER_SRX: ("juniper-srx.txt", "vpn/devices/juniper_srx.txt", "#"),
    DeviceVendor.PALO_ALTO: ("palo-alto-panos.txt", "vpn/devices/palo_alto.txt", "#"),
    DeviceVendor.FORTINET: ("fortinet-fortigate.txt", "vpn/devices/fortinet.txt", "#"),
    DeviceVendor.GENERIC: ("generic.txt", "vpn/devices/generic.txt", "#"),
}
HEADER_TEMPLATE = "vpn/devices/_header.txt"
KEEPALIVE_FILENAME = "keepalive.sh"
PARAMETERS_FILENAME = "parameters.json"

# Each vendor's names for the algorithms AWS accepts (`vpn.tunnel_profile` picks one).
_STRONGSWAN = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
    "SHA1": "sha1",
    "SHA2-256": "sha256",
    "SHA2-384": "sha384",
    "SHA2-512": "sha512",
}
_STRONGSWAN_DH = {
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
}
# Each vendor's names for the CBC algorithms AWS accepts (`vpn.tunnel_profile` picks one).
_AES = {"AES128": 128, "AES256": 256}
_SHA = {"SHA1": 1, "SHA2-256": 256, "SHA2-384": 384, "SHA2-512": 512}
_VENDOR_NAMES: dict[str, dict[str, dict[str, str]]] = {
    DeviceVendor.CISCO_IOS: {
        "ike_enc": {name: f"aes-cbc-{bits}" for name, bits in _AES.items()},
        "ike_int": {name: f"sha{bits}" if bits > 1 else "sha1" for name, bits in _SHA.items()},
        "ike1_enc": {name: f"aes {bits}" for name, bits in _AES.items()},
        "ike1_int": {name: f"sha{bits}" if bits > 1 else "sha" for name, bits in _SHA.items()},
        "esp_enc": {name: f"esp-aes {bits}" for name, bits in _AES.items()},
        "esp_int": {
            name: f"esp-sha{bits}-hmac" if bits > 1 else "esp-sha-hmac"
            for name, bits in _SHA.items()
        },
    },
    DeviceVendor.JUNIPER_SRX: {
        "ike_enc": {name: f"aes-{bits}-cbc" for name, bits in _AES.items()},
        "ike_int": {name: f"sha-{bits}" if bits > 1 else "sha1" for name, bits in _SHA.items()},
        "esp_enc": {name: f"aes-{bits}-cbc" for name, bits in _AES.items()},
        "esp_int": {
            "SHA1": "hmac-sha1-96",
            "SHA2-256": "hmac-sha-256-128",
            "SHA2-384": "hmac-sha-384",
            "SHA2-512": "hmac-sha-512",
        },
    },
    DeviceVendor.PALO_ALTO: {
        "ike_enc": {name: f"aes-{bits}-cbc" for name, bits in _AES.items()},
        "ike_int": {name: f"sha{bits}" for name, bits in _SHA.items()},
        "esp_enc": {name: f"aes-{bits}-cbc" for name, bits in _AES.items()},
        "esp_int": {name: f"sha{bits}" for name, bits in _SHA.items()},
    },
    DeviceVendor.FORTINET: {
        "ike_enc": {name: f"aes{bits}" for name, bits in _AES.items()},
        "ike_int": {name: f"sha{bits}" for name, bits in _SHA.items()},
        "esp_enc": {name: f"aes{bits}" for name, bits in _AES.items()},
        "esp_int": {name: f"sha{bits}" for name, bits in _SHA.items()},
    },
}
# Which profile value each of those names stands for.
_NAME_SOURCES = {
    "ike_enc": "phase1_encryption",
    "ike1_enc": "phase1_encryption",
    "ike_int": "phase1_integrity",
    "ike1_int": "phase1_integrity",
    "esp_enc": "phase2_encryption",
    "esp_int": "phase2_integrity",
}


def _vendor_name(table: dict, value, vendor: str) -> str:
    try:
        return table[value]
    except KeyError:
        raise PackParameterError(f"No {vendor} name for the algorithm {value!r}.") from None


def _strongswan_proposal(encryption: str, integrity: str, dh_group: int, *, ike: bool) -> str:
    parts = [_vendor_name(_STRONGSWAN, encryption, "strongSwan")]
    integrity_name = _vendor_name(_STRONGSWAN, integrity, "strongSwan")
    if "GCM" not in encryption:
        parts.append(integrity_name)
    elif ike:
        # AEAD ciphers carry their own integrity; IKE still needs a PRF.
        parts.append(f"prf{integrity_name}")
    parts.append(_vendor_name(_STRONGSWAN_DH, dh_group, "strongSwan"))
    return "-".join(parts)


def _algorithms(ipsec: dict) -> dict:
    """The profile's algorithms in every vendor's vocabulary."""
    algorithms: dict = {
        "strongswan": {
            "ike": _strongswan_proposal(
                ipsec["phase1_encryption"],
                ipsec["phase1_integrity"],
                ipsec["phase1_dh_group"],
                ike=True,
            ),
            "esp": _strongswan_proposal(
                ipsec["phase2_encryption"],
                ipsec["phase2_integrity"],
                ipsec["phase2_dh_group"],
                ike=False,
            ),
        }
    }
    for vendor, tables in _VENDOR_NAMES.items():
        label = DeviceVendor(vendor).label
        algorithms[vendor] = {
            key: _vendor_name(table, ipsec[_NAME_SOURCES[key]], label)
            for key, table in tables.items()
        }
    return algorithms


def _device_context(parameters: dict, *, version: int) -> dict:
    """What the device templates see: validated values, prepared for each syntax."""
    reference = parameters["reference"]
    if not _REFERENCE.fullmatch(reference):
        raise PackParameterError(f"Unexpected reference {reference!r}.")
    redacted = parameters["tunnels"][0]["psk"] == REDACTED
    tunnels = []
    for tunnel in parameters["tunnels"]:
        inside = ipaddress.IPv4Network(tunnel["inside_cidr"])
        position = tunnel["position"]
        psk = (
            f"{REDACTED}_TUNNEL{position}_PSK"
            if redacted
            else _psk(tunnel["psk"], f"Tunnel {position}'s pre-shared key")
        )
        tunnels.append(
            {
                **tunnel,
                "psk": psk,
                "name": f"{reference}-t{position}",
                "name_lower": f"{reference.lower()}-t{position}",
                "inside_netmask": str(inside.netmask),
                "inside_prefixlen": inside.prefixlen,
                # Identifies the tunnel's XFRM interface on Linux (strongSwan).
                "if_id": 100 + position,
            }
        )
    routing = parameters["routing"]
    vpc = ipaddress.IPv4Network(parameters["vpc_cidr"])
    ipsec = parameters["ipsec"]
    hold_time = routing.get("hold_time_seconds", BGP_HOLD_TIME_SECONDS)
    return {
        "reference": reference,
        "reference_lower": reference.lower(),
        # FortiOS interface names have 15 characters at most: "VPN00001-t1".
        "short_name": reference.replace("-", ""),
        "version": version,
        "region": parameters["region"]["code"],
        "customer_gateway_ip": parameters["customer_gateway_ip"],
        "ikev2": parameters["ike_version"] == IkeVersion.IKEV2,
        "ike_version": parameters["ike_version"],
        "ike_label": IkeVersion(parameters["ike_version"]).label,
        "ike_version_number": 2 if parameters["ike_version"] == IkeVersion.IKEV2 else 1,
        "redacted": redacted,
        "all_tunnels": tunnels,
        "tunnels": [tunnel for tunnel in tunnels if tunnel["used"]],
        "one_tunnel": parameters["tunnel_count"] == 1,
        "static": routing["type"] == Routing.STATIC,
        "bgp": routing["type"] == Routing.BGP,
        "customer_subnets": routing.get("customer_subnets", []),
        "customer_asn": routing.get("customer_asn"),
        "amazon_asn": routing.get("amazon_asn"),
        "advertised_prefixes": [
            {"cidr": prefix, "network": str(net.network_address), "netmask": str(net.netmask)}
            for prefix in routing.get("advertised_prefixes", [])
            for net in [ipaddress.IPv4Network(prefix)]
        ],
        "hold_time": hold_time,
        # The BGP keep-alive timer conventionally set to a third of the hold time.
        "bgp_keepalive": hold_time // 3,
        "vpc_cidr": parameters["vpc_cidr"],
        "vpc_network": str(vpc.network_address),
        "vpc_netmask": str(vpc.netmask),
        "nat_public_ip": parameters["nat_public_ip"],
        "mtu": parameters["mtu"],
        "mss": parameters["tcp_mss"],
        "mtu_minus_mss": parameters["mtu"] - parameters["tcp_mss"],
        "ipsec": ipsec,
        "child_rekey_time": ipsec["phase2_lifetime_seconds"] - ipsec["rekey_margin_seconds"],
        "ike_rekey_time": ipsec["phase1_lifetime_seconds"] - ipsec["rekey_margin_seconds"],
        "algorithms": _algorithms(ipsec),
        "keepalive": parameters["keepalive"],
    }


# A line holding nothing but template tags or comments: the tags are kept, the line's
# indentation and line break go (like Jinja's trim_blocks and lstrip_blocks).
_TAG = r"(?:\{%.*?%\}|\{#.*?#\})"
_TAG_ONLY_LINE = re.compile(rf"^[ \t]*({_TAG}(?:[ \t]*{_TAG})*)[ \t]*\n", re.MULTILINE)


def _render_text(template_name: str, context: dict) -> str:
    """Render a plain-text template whose tags sit on lines of their own.

    Those lines are dropped before rendering, so the output has exactly the layout
    of the text around them. The templates turn autoescaping off: everything they
    print was validated by `pack_parameters` or is made here.
    """
    source = get_template(template_name).template.source
    text = engines["django"].from_string(_TAG_ONLY_LINE.sub(r"\1", source)).render(context)
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def vendor_order(chosen: str) -> list[str]:
    """Every vendor, the customer's choice first."""
    chosen = DeviceVendor(chosen).value
    return [chosen, *(vendor for vendor in DeviceVendor.values if vendor != chosen)]


def device_configs(parameters: dict, *, version: int) -> list[DeviceConfig]:
    """The configuration of every supported device, the customer's vendor first.

    With redacted parameters, the keys in the configurations are placeholders too.
    """
    context = _device_context(parameters, version=version)
    configs = []
    for vendor in vendor_order(parameters["device_vendor"]):
        filename, template_name, comment = DEVICE_TEMPLATES[vendor]
        label = DeviceVendor(vendor).label
        vendor_context = {**context, "vendor_label": label, "c": comment}
        header = _render_text(HEADER_TEMPLATE, vendor_context).rstrip("\n")
        text = _render_text(template_name, {**vendor_context, "header": header})
        configs.append(DeviceConfig(vendor=vendor, label=label, filename=filename, text=text))
    return configs


def keepalive_script(parameters: dict, *, version: int) -> str | None:
    """The keep-alive script, where the customer must keep the tunnels up; else None."""
    if not parameters["keepalive"]["required"]:
        return None
    context = _device_context(parameters, version=version)
    return _render_text("vpn/devices/keepalive.sh", context)


def pack_files(
    parameters: dict, *, version: int, issued_at: datetime, parameters_sha256: str
) -> tuple[list[DeviceConfig], list[PackFile]]:
    """The device configurations and every file of the pack, in the order they are listed.

    Pass redacted parameters for the redacted variant: nothing in it then holds a key.
    """
    configs = device_configs(parameters, version=version)
    files = [config.as_file() for config in configs]
    if script := keepalive_script(parameters, version=version):
        files.append(
            PackFile(KEEPALIVE_FILENAME, script.encode(), "Keep-alive script", executable=True)
        )
    document = {
        "pack": {
            "reference": parameters["reference"],
            "version": version,
            "issued_at": issued_at.isoformat(timespec="seconds"),
            "parameters_sha256": parameters_sha256,
            "redacted": parameters["tunnels"][0]["psk"] == REDACTED,
        },
        "parameters": parameters,
    }
    files.append(
        PackFile(
            PARAMETERS_FILENAME,
            (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode(),
            "Every parameter of the pack, as JSON",
        )
    )
    return configs, files


def files_zip(files: list[PackFile], *, folder: str, issued_at: datetime) -> bytes:
    """A zip of `files` in one folder, dated `issued_at` (same files, same bytes)."""
    buffer = io.BytesIO()
    timestamp = issued_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(f"{folder}/{file.name}", date_time=timestamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if file.executable else 0o100644) << 16
            archive.writestr(info, file.content)
    return buffer.getvalue()


# --- The document -------------------------------------------------------------------------

# The IPsec traffic to allow between the customer's gateway and each AWS outside IP.
FIREWALL_RULES = (
    ("UDP", "500", "IKE: negotiates the tunnel"),
    ("UDP", "4500", "IKE and ESP through NAT (NAT traversal)"),
    ("ESP", "IP protocol 50", "The encrypted traffic itself"),
)


def document_context(
    *,
    parameters: dict,
    version: int,
    issued_at: datetime,
    parameters_sha256: str,
    changes: list[str],
    configs: list[DeviceConfig],
    files: list[PackFile],
) -> dict:
    """What the PDF template shows: the parameters, arranged for reading.

    The template escapes everything as usual; nothing here is marked safe.
    """
    redacted = parameters["tunnels"][0]["psk"] == REDACTED
    tunnels = parameters["tunnels"]
    used = [tunnel for tunnel in tunnels if tunnel["used"]]
    routing = parameters["routing"]
    scripts = [file for file in files if file.name == KEEPALIVE_FILENAME]
    chosen = DeviceVendor(parameters["device_vendor"])
    return {
        "p": parameters,
        "reference": parameters["reference"],
        "version": version,
        "issued_at": issued_at,
        "parameters_sha256": parameters_sha256,
        "changes": changes if version > 1 else [],
        "redacted": redacted,
        "customer": parameters["customer"],
        "region": parameters["region"],
        "ike_label": IkeVersion(parameters["ike_version"]).label,
        "ikev2": parameters["ike_version"] == IkeVersion.IKEV2,
        "static": routing["type"] == Routing.STATIC,
        "bgp": routing["type"] == Routing.BGP,
        "routing": routing,
        "tunnels": tunnels,
        "used_tunnels": used,
        "one_tunnel": parameters["tunnel_count"] == 1,
        "firewall_rules": FIREWALL_RULES,
        "ipsec": parameters["ipsec"],
        "keepalive": parameters["keepalive"],
        "keepalive_script": scripts[0].content.decode() if scripts else "",
        "configs": configs,
        "chosen_vendor": chosen.value,
        "chosen_vendor_label": chosen.label,
        "chosen_config": next(config for config in configs if config.vendor == chosen),
        "files": [
            {
                "name": file.name,
                "description": file.description,
                "size": len(file.content),
                "sha256": file.sha256,
            }
            for file in files
        ],
    }
