"""Device configurations: the registry of vendors, and their templates rendered strictly.

A vendor is one `Vendor` entry in `VENDORS` (file name, template, comment marker, how
its configuration re-initiates a tunnel, the profile's algorithms in the vendor's
vocabulary) and one template in
`templates/vpn/packs/devices/`; its label is the `DeviceVendor` choice the customer
picked it by.

The templates are Jinja2 (as NetBox renders its config templates): no HTML escaping,
since every value that reaches them was validated by `vpn.packs.contract`, trimmed
blocks so that a line holding only a tag leaves nothing behind, and `StrictUndefined`,
so that a template referring to a value the context does not have fails the render
(`DeviceTemplateError`, naming the template, its line and the variable) instead of
printing a blank. Routing values exist only for their routing: a static configuration
that mentions an ASN fails.
"""

import ipaddress
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
from django.conf import settings

from vpn.choices import DeviceVendor
from vpn.packs.contract import (
    REDACTED,
    BgpRouting,
    PackCopy,
    PackParameterError,
    StaticRouting,
    TunnelParameters,
)
from vpn.tunnel_profile import TunnelProfile

KEEPALIVE_TEMPLATE = "keepalive.sh"


class DeviceTemplateError(Exception):
    """A device template refers to something its context does not have: a bug to fix."""


def templates_folder() -> Path:
    """Where the device templates are."""
    return Path(settings.BASE_DIR) / "templates" / "vpn" / "packs" / "devices"


# --- The vendors ---------------------------------------------------------------------------

AlgorithmNames = Callable[[TunnelProfile], Mapping[str, str]]


def _tables(**names: tuple[str, Mapping[str, str]]) -> AlgorithmNames:
    """Names looked up in tables: `name=(profile field, {AWS name: vendor name})`."""

    def translate(ipsec: TunnelProfile) -> dict[str, str]:
        return {name: table[getattr(ipsec, field)] for name, (field, table) in names.items()}

    return translate


def _no_names(ipsec: TunnelProfile) -> dict[str, str]:
    """For a template that prints AWS's own names."""
    return {}


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


def _strongswan_proposal(encryption: str, integrity: str, dh_group: int, *, ike: bool) -> str:
    parts = [_STRONGSWAN[encryption]]
    if "GCM" not in encryption:
        parts.append(_STRONGSWAN[integrity])
    elif ike:
        # AEAD ciphers carry their own integrity; IKE still needs a PRF.
        parts.append(f"prf{_STRONGSWAN[integrity]}")
    parts.append(_STRONGSWAN_DH[dh_group])
    return "-".join(parts)


def _strongswan_names(ipsec: TunnelProfile) -> dict[str, str]:
    """swanctl's proposals: one string per phase."""
    return {
        "ike": _strongswan_proposal(
            ipsec.phase1_encryption, ipsec.phase1_integrity, ipsec.phase1_dh_group, ike=True
        ),
        "esp": _strongswan_proposal(
            ipsec.phase2_encryption, ipsec.phase2_integrity, ipsec.phase2_dh_group, ike=False
        ),
    }


# The CBC algorithms AWS accepts (`vpn.tunnel_profile` picks one), in a few spellings.
_AES_DASHED_CBC = {"AES128": "aes-128-cbc", "AES256": "aes-256-cbc"}
_AES_PLAIN = {"AES128": "aes128", "AES256": "aes256"}
_SHA_PLAIN = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}


@dataclass(frozen=True)
class Vendor:
    """One device the pack carries a configuration for."""

    key: DeviceVendor
    filename: str
    template: str
    # What starts a comment in the vendor's syntax (the header is written in comments).
    comment: str
    # How its configuration brings back a tunnel AWS closed and will not restart, in a
    # sentence for the PDF; the template's comments say the same next to the settings.
    reinitiation: str = ""
    # The profile's algorithms as the template prints them (`{{ names.ike_enc }}`).
    names: AlgorithmNames = _no_names
    # Which releases of the device's software the file is written for.
    os_versions: str = ""
    # What the file numbers or names that the device may already have, with the
    # default numbers (`DeviceNumbering`).
    numbering: str = ""

    @property
    def label(self) -> str:
        """The vendor's name, as the customer chose it."""
        return DeviceVendor(self.key).label

    def algorithm_names(self, ipsec: TunnelProfile) -> Mapping[str, str]:
        """The profile's algorithms in this vendor's vocabulary."""
        try:
            return self.names(ipsec)
        except KeyError as exc:
            raise PackParameterError(
                f"No {self.label} name for the algorithm {exc.args[0]!r}."
            ) from None


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        key=DeviceVendor.STRONGSWAN,
        filename="swanctl.conf",
        template="strongswan.conf",
        comment="#",
        reinitiation=(
            "close_action = start in each child where AWS will not initiate (none where it "
            "will, as initiating too would race it), and dpd_action = restart."
        ),
        names=_strongswan_names,
        os_versions="strongSwan 5.8 or later (swanctl), on Linux 4.19 or later (XFRM interfaces).",
        numbering=(
            "The interfaces ipsec1 and ipsec2 and their XFRM interface IDs 101 and 102; the "
            "connections are named after the reference."
        ),
    ),
    Vendor(
        key=DeviceVendor.CISCO_IOS,
        filename="cisco-ios-vti.txt",
        template="cisco_ios.txt",
        comment="!",
        reinitiation=(
            "The tunnel interfaces negotiate again whenever their SAs are gone; an IP SLA "
            "probe pings AWS's inside address through each tunnel every 5 seconds, and "
            "dead peer detection is periodic where AWS will not initiate."
        ),
        names=_tables(
            ike_enc=("phase1_encryption", {"AES128": "aes-cbc-128", "AES256": "aes-cbc-256"}),
            ike_int=("phase1_integrity", _SHA_PLAIN),
            ike1_enc=("phase1_encryption", {"AES128": "aes 128", "AES256": "aes 256"}),
            ike1_int=("phase1_integrity", {**_SHA_PLAIN, "SHA1": "sha"}),
            esp_enc=("phase2_encryption", {"AES128": "esp-aes 128", "AES256": "esp-aes 256"}),
            esp_int=(
                "phase2_integrity",
                {
                    "SHA1": "esp-sha-hmac",
                    "SHA2-256": "esp-sha256-hmac",
                    "SHA2-384": "esp-sha384-hmac",
                    "SHA2-512": "esp-sha512-hmac",
                },
            ),
        ),
        os_versions="Cisco IOS 15.4 or later, and IOS XE 16.x and 17.x.",
        numbering=(
            "The interfaces Tunnel1 and Tunnel2, the IP SLA probes and tracks 100 and 101, "
            "and with IKEv1 the ISAKMP policy 200: a command for a number already in use "
            "changes what has it."
        ),
    ),
    Vendor(
        key=DeviceVendor.JUNIPER_SRX,
        filename="juniper-srx.txt",
        template="juniper_srx.txt",
        comment="#",
        reinitiation=(
            "establish-tunnels immediately and VPN monitoring (vpn-monitor) on each "
            "tunnel; dead peer detection always-send where AWS will not initiate."
        ),
        names=_tables(
            ike_enc=("phase1_encryption", _AES_DASHED_CBC),
            ike_int=(
                "phase1_integrity",
                {
                    "SHA1": "sha1",
                    "SHA2-256": "sha-256",
                    "SHA2-384": "sha-384",
                    "SHA2-512": "sha-512",
                },
            ),
            esp_enc=("phase2_encryption", _AES_DASHED_CBC),
            esp_int=(
                "phase2_integrity",
                {
                    "SHA1": "hmac-sha1-96",
                    "SHA2-256": "hmac-sha-256-128",
                    "SHA2-384": "hmac-sha-384",
                    "SHA2-512": "hmac-sha-512",
                },
            ),
        ),
        os_versions="Junos OS 19.4 or later, on SRX Series firewalls and vSRX.",
        numbering=(
            "The interfaces st0.1 and st0.2 and the zone vpn; the zones trust and untrust "
            "stand for yours."
        ),
    ),
    Vendor(
        key=DeviceVendor.PALO_ALTO,
        filename="palo-alto-panos.txt",
        template="palo_alto.txt",
        comment="#",
        reinitiation=(
            "Tunnel monitoring with a fail-over monitor profile (the firewall negotiates "
            "new keys when the pings stop), and IKE gateways that initiate "
            "(passive-mode no)."
        ),
        names=_tables(
            ike_enc=("phase1_encryption", _AES_DASHED_CBC),
            ike_int=("phase1_integrity", _SHA_PLAIN),
            esp_enc=("phase2_encryption", _AES_DASHED_CBC),
            esp_int=("phase2_integrity", _SHA_PLAIN),
        ),
        os_versions=(
            "PAN-OS 10.1 to 11.2 with the legacy routing engine (virtual routers, the "
            "default); with the Advanced Routing Engine, the routing goes into a logical "
            "router instead."
        ),
        numbering=(
            "The interfaces tunnel.1 and tunnel.2 and the zone vpn; the zone trust and the "
            "virtual router default stand for yours."
        ),
    ),
    Vendor(
        key=DeviceVendor.FORTINET,
        filename="fortinet-fortigate.txt",
        template="fortinet.txt",
        comment="#",
        reinitiation=(
            "Phase 2 auto-negotiate and keepalive, so that each tunnel is negotiated "
            "again by itself, and dead peer detection on idle tunnels."
        ),
        names=_tables(
            ike_enc=("phase1_encryption", _AES_PLAIN),
            ike_int=("phase1_integrity", _SHA_PLAIN),
            esp_enc=("phase2_encryption", _AES_PLAIN),
            esp_int=("phase2_integrity", _SHA_PLAIN),
        ),
        os_versions="FortiOS 6.4.4 to 7.6.",
        numbering=(
            "Nothing numbered: the interfaces, address and policies are named after the "
            "reference, and policies, static routes and BGP networks are added with edit 0 "
            "(the next free number)."
        ),
    ),
    Vendor(
        key=DeviceVendor.GENERIC,
        filename="generic.txt",
        template="generic.txt",
        comment="#",
        reinitiation="The sheet says in words what the device must do.",
        os_versions="Any IPsec device with route-based (VTI) tunnels.",
        numbering="Nothing numbered.",
    ),
)
VENDORS_BY_KEY: dict[str, Vendor] = {vendor.key.value: vendor for vendor in VENDORS}


def vendor_order(chosen: str) -> list[Vendor]:
    """Every vendor, the customer's choice first."""
    first = VENDORS_BY_KEY[DeviceVendor(chosen).value]
    return [first, *(vendor for vendor in VENDORS if vendor is not first)]


# --- What the templates see -------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceNumbering:
    """The numbers the device configurations give what a device numbers.

    A device may already have a `Tunnel1`, an `st0.1`, a `tunnel.1` or an ISAKMP
    policy 200: the customer's network team can ask for other numbers. Tunnel N of
    the connection gets interface number `first_tunnel + N - 1` on every vendor (and
    the XFRM interface ID 100 more on Linux); Cisco's IP SLA probes and tracks start at
    `cisco_sla`, its ISAKMP policy (IKEv1) is `cisco_isakmp_policy`. The defaults are
    the numbers every pack has always printed.
    """

    first_tunnel: int = 1
    cisco_isakmp_policy: int = 200
    cisco_sla: int = 100

    # What each number is called, and the range every vendor accepts: a PAN-OS tunnel
    # unit goes to 9999, a Cisco ISAKMP policy to 10000, an IOS track object to 1000
    # (older releases; the second tunnel's is one more).
    LIMITS = {
        "first_tunnel": ("The first tunnel interface number", 1, 9998),
        "cisco_isakmp_policy": ("The Cisco ISAKMP policy number", 1, 10000),
        "cisco_sla": ("The Cisco IP SLA and track number", 1, 999),
    }

    def __post_init__(self):
        for name in self.LIMITS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise PackParameterError(self.out_of_range(name))
            if not self.LIMITS[name][1] <= value <= self.LIMITS[name][2]:
                raise PackParameterError(self.out_of_range(name))

    @classmethod
    def out_of_range(cls, name: str) -> str:
        """What a number must be, said to whoever asked for another."""
        label, low, high = cls.LIMITS[name]
        return f"{label} must be a whole number from {low} to {high}."

    @property
    def is_default(self) -> bool:
        """Whether these are the numbers every pack prints."""
        return self == DeviceNumbering()


@dataclass(frozen=True)
class DeviceTunnel:
    """A tunnel as the device templates print it."""

    position: int
    # The device's number for the tunnel's interface (Tunnel1, st0.1, tunnel.1, ipsec1).
    number: int
    # The tunnel's Cisco IP SLA probe and track object.
    sla: int
    used: bool
    aws_outside_ip: str
    customer_outside_ip: str
    inside_cidr: str
    aws_inside_ip: str
    customer_inside_ip: str
    inside_netmask: str
    inside_prefixlen: int
    # The key, or in a redacted copy a placeholder naming the tunnel.
    psk: str
    name: str
    name_lower: str
    # Identifies the tunnel's XFRM interface on Linux (strongSwan).
    if_id: int

    @classmethod
    def of(
        cls, tunnel: TunnelParameters, *, reference: str, numbering: DeviceNumbering
    ) -> "DeviceTunnel":
        """The printable form of one tunnel of the pack `reference`."""
        position = tunnel.position
        number = numbering.first_tunnel + position - 1
        return cls(
            position=position,
            number=number,
            sla=numbering.cisco_sla + position - 1,
            used=tunnel.used,
            aws_outside_ip=tunnel.aws_outside_ip,
            customer_outside_ip=tunnel.customer_outside_ip,
            inside_cidr=tunnel.inside_cidr,
            aws_inside_ip=tunnel.aws_inside_ip,
            customer_inside_ip=tunnel.customer_inside_ip,
            inside_netmask=str(tunnel.inside_network.netmask),
            inside_prefixlen=tunnel.inside_network.prefixlen,
            psk=f"{REDACTED}_TUNNEL{position}_PSK" if tunnel.psk is None else tunnel.psk,
            name=f"{reference}-t{position}",
            name_lower=f"{reference.lower()}-t{position}",
            if_id=100 + number,
        )


@dataclass(frozen=True)
class AdvertisedPrefix:
    """A prefix the customer advertises over BGP, in both notations."""

    cidr: str
    network: str
    netmask: str


def _routing_context(routing: StaticRouting | BgpRouting) -> dict:
    # Only the values of the request's own routing exist: a template printing the other
    # routing's values outside its branch fails instead of printing a blank.
    if isinstance(routing, StaticRouting):
        return {"customer_subnets": routing.customer_subnets}
    return {
        "customer_asn": routing.customer_asn,
        "amazon_asn": routing.amazon_asn,
        "advertised_prefixes": [
            AdvertisedPrefix(
                cidr=prefix, network=str(net.network_address), netmask=str(net.netmask)
            )
            for prefix in routing.advertised_prefixes
            for net in [ipaddress.IPv4Network(prefix)]
        ],
        "hold_time": routing.hold_time_seconds,
        "bgp_keepalive": routing.keepalive_seconds,
        # An ASN above 65535 needs four bytes where a device asks (PAN-OS's as-format).
        "four_byte_asn": max(routing.customer_asn, routing.amazon_asn) > 65_535,
    }


def device_context(copy: PackCopy, numbering: DeviceNumbering | None = None) -> dict:
    """What every device template sees, for one copy of a version."""
    numbering = numbering or DeviceNumbering()
    parameters = copy.parameters
    reference = parameters.reference
    tunnels = [
        DeviceTunnel.of(tunnel, reference=reference, numbering=numbering)
        for tunnel in parameters.tunnels
    ]
    vpc = ipaddress.IPv4Network(parameters.vpc_cidr)
    ipsec = parameters.ipsec
    return {
        "reference": reference,
        "reference_lower": reference.lower(),
        # FortiOS interface names have 15 characters at most: "VPN00001-t1".
        "short_name": reference.replace("-", ""),
        "version": copy.version,
        "region": parameters.region.code,
        "customer_gateway_ip": parameters.customer_gateway_ip,
        "ikev2": parameters.ikev2,
        "ike_label": parameters.ike_label,
        "ike_version_number": 2 if parameters.ikev2 else 1,
        "redacted": copy.redacted,
        "all_tunnels": tunnels,
        "tunnels": [tunnel for tunnel in tunnels if tunnel.used],
        "one_tunnel": parameters.one_tunnel,
        "static": parameters.static,
        "bgp": parameters.bgp,
        **_routing_context(parameters.routing),
        "vpc_cidr": parameters.vpc_cidr,
        "vpc_network": str(vpc.network_address),
        "vpc_netmask": str(vpc.netmask),
        "nat_public_ip": parameters.nat_public_ip,
        "mtu": parameters.mtu,
        "mss": parameters.tcp_mss,
        "ipsec": ipsec,
        # Whether AWS brings a closed tunnel back itself; if not, the device must.
        "aws_initiates": ipsec.aws_initiates,
        "child_rekey_time": ipsec.phase2_lifetime_seconds - ipsec.rekey_margin_seconds,
        "ike_rekey_time": ipsec.phase1_lifetime_seconds - ipsec.rekey_margin_seconds,
        "keepalive": parameters.keepalive,
        "numbering": numbering,
    }


# --- Rendering ---------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_folder()),
        undefined=jinja2.StrictUndefined,
        # Plain text for devices: nothing to escape, and every value was validated.
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _where(error: BaseException, folder: Path) -> str:
    """The innermost template line the traceback went through ("cisco_ios.txt line 9")."""
    where = ""
    for frame, line in traceback.walk_tb(error.__traceback__):
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(folder):
            where = f"{path.relative_to(folder)} line {line}"
    return where


def render_template(template_name: str, context: Mapping) -> str:
    """Render one device template; raise `DeviceTemplateError` on anything undefined."""
    try:
        return _environment().get_template(template_name).render(context)
    except jinja2.UndefinedError as exc:
        where = _where(exc, templates_folder()) or template_name
        raise DeviceTemplateError(f"{where}: {exc.message}") from exc


@dataclass(frozen=True)
class DeviceConfig:
    """One vendor's configuration, filled with this connection's values."""

    vendor: str
    label: str
    filename: str
    text: str


def device_configs(copy: PackCopy, numbering: DeviceNumbering | None = None) -> list[DeviceConfig]:
    """The configuration of every vendor, the customer's first.

    In a redacted copy, the keys in the configurations are placeholders. `numbering`
    gives the tunnel interfaces and policies other numbers than the defaults.
    """
    context = device_context(copy, numbering)
    configs = []
    for vendor in vendor_order(copy.parameters.device_vendor):
        vendor_context = {
            **context,
            "vendor_label": vendor.label,
            "c": vendor.comment,
            "names": vendor.algorithm_names(copy.parameters.ipsec),
        }
        configs.append(
            DeviceConfig(
                vendor=vendor.key.value,
                label=vendor.label,
                filename=vendor.filename,
                text=render_template(vendor.template, vendor_context),
            )
        )
    return configs


def keepalive_script(copy: PackCopy) -> str | None:
    """The keep-alive script, where the customer must keep the tunnels up; else None."""
    if not copy.parameters.keepalive.required:
        return None
    return render_template(KEEPALIVE_TEMPLATE, device_context(copy))
