"""The config pack's contract: every value a pack prints, typed and validated.

`PackParameters.from_request` reads the stored connection (the request, its tunnels
keyed by AWS outside IP, its AWS resources) and `vpn.tunnel_profile`, and nothing else.
Every dataclass checks its values when it is built, so no instance can hold an address
that is not an address or a key that could break out of its quotes: the device
configurations are rendered without escaping. The customer's free text (names, contact)
is carried for the PDF and the JSON file, never for a device configuration.

A pack exists as a full copy and a redacted one. Redaction is the `redacted` field of
the parameters: a redacted copy holds no key at all (`psk` is None), and the JSON form
prints `REDACTED` in their place.

The JSON form (`as_json`) is what `parameters.json` carries and what is hashed; the
stored form (`for_storage`) is the redacted JSON form with a keyed fingerprint of each
key. Both keep the shape of format 1, so the rows stored by earlier versions still
compare with current parameters (`changes_since`).
"""

import hashlib
import ipaddress
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from vpn.choices import AwsResourceRole, DeviceVendor, IkeVersion, Routing
from vpn.models import VpnRequest
from vpn.regions import REGIONS_BY_CODE
from vpn.tunnel_profile import BGP_HOLD_TIME_SECONDS, TunnelProfile, tunnel_profile

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
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TUNNEL_INSIDE_RANGE = ipaddress.IPv4Network("169.254.0.0/16")
# The key of the fingerprints' HMAC. It still names the module that first stored them:
# changing it would make every stored fingerprint report a key change.
_PSK_SALT = "vpn.pack_contents.psk_fingerprint"


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


def _set(instance, name: str, value) -> None:
    # The dataclasses are frozen; their own __post_init__ stores the checked value.
    object.__setattr__(instance, name, value)


# --- The parameters -----------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    """Who the pack is for: printed in the PDF and the JSON, never in a configuration."""

    name: str
    org_id: str
    contact_name: str
    contact_email: str


@dataclass(frozen=True)
class RegionParameters:
    """The AWS region of the connection: its code (validated) and its name."""

    code: str
    name: str

    def __post_init__(self):
        if not _REGION.fullmatch(self.code or ""):
            raise PackParameterError(f"Unexpected AWS region {self.code!r}.")


@dataclass(frozen=True)
class StaticRouting:
    """Static routing: the customer subnets AWS routes into the tunnels."""

    customer_subnets: tuple[str, ...]

    type = Routing.STATIC.value

    def __post_init__(self):
        _set(
            self,
            "customer_subnets",
            tuple(_cidr(subnet, "A customer subnet") for subnet in self.customer_subnets),
        )

    def as_json(self) -> dict:
        """The routing in the JSON form."""
        return {"type": self.type, "customer_subnets": list(self.customer_subnets)}


@dataclass(frozen=True)
class BgpRouting:
    """BGP over the tunnels: both ASNs, the hold time and the prefixes to advertise."""

    customer_asn: int
    amazon_asn: int
    advertised_prefixes: tuple[str, ...]
    hold_time_seconds: int = BGP_HOLD_TIME_SECONDS

    type = Routing.BGP.value

    def __post_init__(self):
        _asn(self.customer_asn, "The customer ASN")
        _asn(self.amazon_asn, "The Amazon-side ASN")
        _set(
            self,
            "advertised_prefixes",
            tuple(_cidr(prefix, "An advertised prefix") for prefix in self.advertised_prefixes),
        )

    @property
    def keepalive_seconds(self) -> int:
        """The BGP keep-alive timer, conventionally a third of the hold time."""
        return self.hold_time_seconds // 3

    def as_json(self) -> dict:
        """The routing in the JSON form."""
        return {
            "type": self.type,
            "customer_asn": self.customer_asn,
            "amazon_asn": self.amazon_asn,
            "hold_time_seconds": self.hold_time_seconds,
            "advertised_prefixes": list(self.advertised_prefixes),
        }


@dataclass(frozen=True)
class Keepalive:
    """Whether the customer must keep the tunnels up, and how (target, interval)."""

    required: bool
    target: str | None = None
    interval_seconds: int | None = None

    def __post_init__(self):
        if self.required:
            _ipv4(self.target, "The keep-alive target")
            if not self.interval_seconds:
                raise PackParameterError("A required keep-alive needs an interval.")
        elif self.target is not None or self.interval_seconds is not None:
            raise PackParameterError("A keep-alive that is not required has no target.")


@dataclass(frozen=True)
class TunnelParameters:
    """One tunnel, identified by its AWS outside IP; `psk` is None in a redacted copy."""

    position: int
    used: bool
    aws_outside_ip: str
    customer_outside_ip: str
    inside_cidr: str
    psk: str | None

    def __post_init__(self):
        what = f"Tunnel {self.position}"
        _set(self, "aws_outside_ip", _ipv4(self.aws_outside_ip, f"{what}'s outside IP"))
        _set(
            self,
            "customer_outside_ip",
            _ipv4(self.customer_outside_ip, f"{what}'s customer outside IP"),
        )
        inside = ipaddress.IPv4Network(_cidr(self.inside_cidr, f"{what}'s inside CIDR"))
        if inside.prefixlen != 30 or not inside.subnet_of(_TUNNEL_INSIDE_RANGE):
            raise PackParameterError(f"{what}'s inside CIDR is not a /30 in 169.254.0.0/16.")
        _set(self, "inside_cidr", str(inside))
        if self.psk is not None:
            _psk(self.psk, f"{what}'s pre-shared key")

    @property
    def inside_network(self) -> ipaddress.IPv4Network:
        """The tunnel's inside /30."""
        return ipaddress.IPv4Network(self.inside_cidr)

    @property
    def aws_inside_ip(self) -> str:
        """AWS's inside address: the first usable address of the /30."""
        return str(self.inside_network.network_address + 1)

    @property
    def customer_inside_ip(self) -> str:
        """The customer's inside address: the second usable address of the /30."""
        return str(self.inside_network.network_address + 2)

    def as_json(self) -> dict:
        """The tunnel in the JSON form (`REDACTED` for the key of a redacted copy)."""
        return {
            "position": self.position,
            "used": self.used,
            "aws_outside_ip": self.aws_outside_ip,
            "customer_outside_ip": self.customer_outside_ip,
            "inside_cidr": self.inside_cidr,
            "aws_inside_ip": self.aws_inside_ip,
            "customer_inside_ip": self.customer_inside_ip,
            "psk": REDACTED if self.psk is None else self.psk,
        }


@dataclass(frozen=True)
class PackParameters:
    """Every value a config pack prints; with `redacted`, no pre-shared key at all."""

    reference: str
    customer: CustomerDetails
    region: RegionParameters
    vpn_connection_id: str
    customer_gateway_ip: str
    ipsec: TunnelProfile
    tunnel_count: int
    device_vendor: str
    vpc_cidr: str
    routing: StaticRouting | BgpRouting
    nat_public_ip: str | None
    mtu: int
    tcp_mss: int
    tunnels: tuple[TunnelParameters, ...]
    redacted: bool = False

    def __post_init__(self):
        if not _REFERENCE.fullmatch(self.reference):
            raise PackParameterError(f"Unexpected reference {self.reference!r}.")
        _set(
            self, "customer_gateway_ip", _ipv4(self.customer_gateway_ip, "The customer gateway IP")
        )
        _set(self, "vpc_cidr", _cidr(self.vpc_cidr, "The VPC CIDR"))
        for what, size in (("tunnel MTU", self.mtu), ("TCP MSS", self.tcp_mss)):
            if isinstance(size, bool) or not isinstance(size, int) or not 500 <= size <= 1500:
                raise PackParameterError(f"Unexpected {what} {size!r}.")
        if self.nat_public_ip is not None:
            _set(self, "nat_public_ip", _ipv4(self.nat_public_ip, "The NAT gateway's public IP"))
        try:
            _set(self, "device_vendor", DeviceVendor(self.device_vendor).value)
        except ValueError:
            raise PackParameterError(f"Unknown device {self.device_vendor!r}.") from None
        if self.vpn_connection_id and not _AWS_ID.fullmatch(self.vpn_connection_id):
            raise PackParameterError(f"Unexpected VPN connection {self.vpn_connection_id!r}.")
        _set(self, "tunnels", tuple(self.tunnels))
        if not 1 <= self.tunnel_count <= len(self.tunnels):
            raise PackParameterError(f"{self.reference} has no {self.tunnel_count} tunnels.")
        keys = [tunnel.psk for tunnel in self.tunnels]
        if self.redacted and any(key is not None for key in keys):
            raise PackParameterError("A redacted copy holds no pre-shared key.")
        if not self.redacted and None in keys:
            raise PackParameterError("A full copy holds every tunnel's pre-shared key.")

    @classmethod
    def from_request(cls, vpn_request: VpnRequest) -> "PackParameters":
        """The full parameters (keys in clear) of a request whose VPN connection exists.

        Raises `PackNotReady` before the VPN connection exists (no tunnels) or when a
        value the pack needs has not been allocated yet, and `PackParameterError` for a
        stored value that is not what it should be.
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
        for tunnel in tunnels:
            if tunnel.psk is None:
                raise PackNotReady(f"Tunnel {tunnel.position} has no pre-shared key.")
        # Checked before the tunnels, which repeat it as their customer outside IP.
        customer_gateway_ip = _ipv4(vpn_request.customer_gateway_ip, "The customer gateway IP")

        if vpn_request.routing == Routing.STATIC:
            routing = StaticRouting(customer_subnets=tuple(vpn_request.static_subnets))
        else:
            if vpn_request.bgp_asn is None or vpn_request.amazon_side_asn is None:
                raise PackNotReady(f"{reference} has no BGP ASNs yet.")
            routing = BgpRouting(
                customer_asn=vpn_request.bgp_asn,
                amazon_asn=vpn_request.amazon_side_asn,
                advertised_prefixes=tuple(vpn_request.advertised_prefixes),
            )

        resources = {
            resource.role: resource
            for resource in vpn_request.resources.all()
            if resource.deleted_at is None
        }
        elastic_ip = resources.get(AwsResourceRole.ELASTIC_IP)
        public_ip = (elastic_ip.details or {}).get("public_ip") if elastic_ip else None
        connection = resources.get(AwsResourceRole.VPN_CONNECTION)
        # An ID that is not one is left out of the pack rather than printed.
        vpn_connection_id = (
            connection.resource_id
            if connection and _AWS_ID.fullmatch(connection.resource_id)
            else ""
        )
        region = REGIONS_BY_CODE.get(vpn_request.region)
        customer = vpn_request.customer
        ipsec = tunnel_profile(vpn_request.ike_version, vpn_request.tunnel_options)
        # The values with NAT traversal: the customer seldom knows whether a NAT sits on
        # the path, and these fit either way (without a NAT they cost a few bytes per
        # packet), where the larger ones would not fit once NAT traversal is used.
        sizes = ipsec.tunnel_mtu(nat_traversal=True)
        return cls(
            reference=reference,
            customer=CustomerDetails(
                name=customer.name,
                org_id=customer.org_id,
                contact_name=customer.contact_name,
                contact_email=customer.contact_email,
            ),
            region=RegionParameters(code=vpn_request.region, name=region.name if region else ""),
            vpn_connection_id=vpn_connection_id,
            customer_gateway_ip=customer_gateway_ip,
            ipsec=ipsec,
            tunnel_count=vpn_request.tunnel_count,
            device_vendor=vpn_request.device_vendor,
            vpc_cidr=vpn_request.vpc_cidr,
            routing=routing,
            nat_public_ip=public_ip or None,
            mtu=sizes.mtu,
            tcp_mss=sizes.tcp_mss,
            tunnels=tuple(
                TunnelParameters(
                    position=tunnel.position,
                    used=tunnel.position <= vpn_request.tunnel_count,
                    aws_outside_ip=tunnel.outside_ip,
                    customer_outside_ip=customer_gateway_ip,
                    inside_cidr=tunnel.inside_cidr,
                    psk=tunnel.psk,
                )
                for tunnel in tunnels
            ),
        )

    # --- Derived values, the same for every reader ---

    @property
    def ike_version(self) -> str:
        """`ikev1` or `ikev2`."""
        return self.ipsec.ike_version

    @property
    def ikev2(self) -> bool:
        """Whether the tunnels use IKEv2."""
        return self.ike_version == IkeVersion.IKEV2

    @property
    def ike_label(self) -> str:
        """ "IKEv1" or "IKEv2"."""
        return IkeVersion(self.ike_version).label

    @property
    def static(self) -> bool:
        """Whether routing is static."""
        return isinstance(self.routing, StaticRouting)

    @property
    def bgp(self) -> bool:
        """Whether routing is BGP."""
        return isinstance(self.routing, BgpRouting)

    @property
    def one_tunnel(self) -> bool:
        """Whether the customer configures tunnel 1 only (no failover)."""
        return self.tunnel_count == 1

    @property
    def used_tunnels(self) -> tuple[TunnelParameters, ...]:
        """The tunnels the customer configures."""
        return tuple(tunnel for tunnel in self.tunnels if tunnel.used)

    @property
    def keepalive(self) -> Keepalive:
        """Where AWS does not initiate (IKEv1, or startup action `add`), the customer's
        side brings the tunnels up by sending traffic, and keeps them up. With static
        routing it keeps them up too, even where AWS initiates: no BGP keep-alives cross
        the tunnel, and an idle tunnel may be closed.

        AWS's guide: by default the customer gateway must bring the tunnels up by
        generating traffic; only with IKEv2 and startup action `start` does AWS
        initiate, and restart a tunnel itself. Our service description asks customers
        with IKEv2 and static routing to keep the tunnel up with a long-running ping.
        """
        if self.ipsec.aws_initiates and not self.static:
            return Keepalive(required=False)
        # The VPC's base address plus two is the Amazon DNS resolver, present in every
        # VPC: an address that always exists on the far side of the tunnel.
        target = ipaddress.IPv4Network(self.vpc_cidr).network_address + 2
        return Keepalive(
            required=True, target=str(target), interval_seconds=KEEPALIVE_INTERVAL_SECONDS
        )

    # --- The copies and their forms ---

    def redacted_copy(self) -> "PackParameters":
        """The same parameters without any pre-shared key."""
        return replace(
            self,
            redacted=True,
            tunnels=tuple(replace(tunnel, psk=None) for tunnel in self.tunnels),
        )

    def as_json(self) -> dict:
        """The JSON form: what `parameters.json` carries (format 1)."""
        return {
            "format": PARAMETERS_FORMAT,
            "reference": self.reference,
            "customer": asdict(self.customer),
            "region": asdict(self.region),
            "vpn_connection_id": self.vpn_connection_id,
            "customer_gateway_ip": self.customer_gateway_ip,
            "ike_version": self.ike_version,
            "tunnel_count": self.tunnel_count,
            "device_vendor": self.device_vendor,
            "vpc_cidr": self.vpc_cidr,
            "routing": self.routing.as_json(),
            "nat_public_ip": self.nat_public_ip,
            "ipsec": {
                key: value for key, value in asdict(self.ipsec).items() if key != "ike_version"
            },
            "mtu": self.mtu,
            "tcp_mss": self.tcp_mss,
            "tunnels": [tunnel.as_json() for tunnel in self.tunnels],
            "keepalive": asdict(self.keepalive),
        }

    def _require_full(self, what: str) -> None:
        if self.redacted:
            raise ValueError(f"{what} is computed from the full parameters, not a redacted copy.")

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON form of the full parameters (keys included)."""
        self._require_full("The parameters' hash")
        canonical = json.dumps(
            self.as_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def for_storage(self) -> dict:
        """What the database keeps: redacted, with a keyed fingerprint of each key.

        The fingerprint (an HMAC under the secret key) lets the next version say which
        tunnel's key changed without the database ever holding a key or a plain hash of
        one.
        """
        self._require_full("The stored form")
        stored = self.redacted_copy().as_json()
        for tunnel, full in zip(stored["tunnels"], self.tunnels, strict=True):
            tunnel["psk_fingerprint"] = salted_hmac(
                _PSK_SALT, full.psk, algorithm="sha256"
            ).hexdigest()
        return stored

    def changes_since(self, previous: dict | None) -> list[str]:
        """Human-readable differences from a previous version's stored parameters.

        `previous` is what `for_storage` kept (keys redacted, fingerprints present), by
        this or an earlier version of the code. Tunnels are matched by AWS outside IP.
        """
        self._require_full("The list of changes")
        return _changes(previous=previous, current=self)


# --- One copy of one version ---------------------------------------------------------------


@dataclass(frozen=True)
class PackCopy:
    """One variant of a pack version, as rendered: the full copy or the redacted one.

    `parameters_sha256` is always the hash of the full parameters, so both copies print
    the same fingerprint.
    """

    parameters: PackParameters
    version: int
    issued_at: datetime
    parameters_sha256: str
    changes: tuple[str, ...]
    # Why the version was issued (a change's name and which tunnels have the new values).
    reason: str = ""

    def __post_init__(self):
        if self.version < 1:
            raise ValueError(f"A pack version starts at 1, not {self.version}.")
        if not _SHA256.fullmatch(self.parameters_sha256):
            raise ValueError(f"Not a SHA-256: {self.parameters_sha256!r}.")
        _set(self, "changes", tuple(self.changes))

    @property
    def redacted(self) -> bool:
        """Whether this copy carries no pre-shared key."""
        return self.parameters.redacted

    @property
    def reference(self) -> str:
        """The request's reference."""
        return self.parameters.reference


def pack_copies(
    parameters: PackParameters,
    *,
    version: int,
    issued_at: datetime,
    changes: list[str],
    reason: str = "",
) -> tuple[PackCopy, PackCopy]:
    """The full and the redacted copy of one version of `parameters` (full ones)."""
    digest = parameters.sha256()
    return tuple(
        PackCopy(
            parameters=copy_parameters,
            version=version,
            issued_at=issued_at,
            parameters_sha256=digest,
            changes=tuple(changes),
            reason=reason,
        )
        for copy_parameters in (parameters, parameters.redacted_copy())
    )


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


def _changes(*, previous: dict | None, current: PackParameters) -> list[str]:
    if previous is None:
        return ["First version."]
    # Both sides in the same (JSON) shape: a stored row of any earlier version compares
    # field by field with the current values.
    current_json = current.as_json()
    changes = []
    old_flat, new_flat = _flatten(previous), _flatten(current_json)
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
        old_items = old_flat.get(key) or []
        new_items = new_flat.get(key) or []
        changes += [f"{label}: added {item}" for item in new_items if item not in old_items]
        changes += [f"{label}: removed {item}" for item in old_items if item not in new_items]

    changes += _tunnel_changes(previous["tunnels"], current.tunnels)
    return changes or ["No change in the parameters (re-issued)."]


def _tunnel_changes(previous: list[dict], current: tuple[TunnelParameters, ...]) -> list[str]:
    old_tunnels = {tunnel["aws_outside_ip"]: tunnel for tunnel in previous}
    new_tunnels = {tunnel.aws_outside_ip: tunnel for tunnel in current}
    changes = []
    for ip, new in new_tunnels.items():
        old = old_tunnels.get(ip)
        if old is None:
            changes.append(f"Tunnel {ip}: new tunnel (tunnel {new.position})")
            continue
        if old.get("position") != new.position:
            changes.append(f"Tunnel {ip}: now tunnel {new.position}")
        if old.get("inside_cidr") != new.inside_cidr:
            changes.append(
                f"Tunnel {ip}: inside CIDR changed from {old.get('inside_cidr')} "
                f"to {new.inside_cidr}"
            )
        if old.get("used") != new.used:
            changes.append(f"Tunnel {ip}: {'now used' if new.used else 'no longer used'}")
        if not _psk_matches(old.get("psk_fingerprint", ""), new.psk):
            changes.append(f"Tunnel {ip}: pre-shared key changed")
    changes += [f"Tunnel {ip}: removed" for ip in old_tunnels if ip not in new_tunnels]
    return changes


def _psk_matches(fingerprint: str, psk: str) -> bool:
    # Fallback keys count too, so rotating the secret key reports no false key change.
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        digest = salted_hmac(_PSK_SALT, psk, secret=secret, algorithm="sha256").hexdigest()
        if constant_time_compare(digest, fingerprint):
            return True
    return False
