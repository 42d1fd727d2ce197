"""Customer device types and their sample configurations.

Backs ``GetVpnConnectionDeviceTypes`` and ``GetVpnConnectionDeviceSampleConfiguration``.
AWS offers samples for dozens of devices; the sandbox offers a vendor-agnostic one and
strongSwan, each filled with the connection's real tunnel values (addresses, keys,
algorithms, lifetimes), so a portal can hand them out and tests can check them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.errors import invalid_parameter
from sandbox.gateway_config import IKE_ENCRYPTION, IKE_INTEGRITY, IPSEC_INTEGRITY
from sandbox.vpn import Tunnel, VpnConnection

IKE_VERSIONS = ("ikev1", "ikev2")


@dataclass(frozen=True)
class DeviceType:
    """A device a sample configuration can be produced for."""

    id: str
    vendor: str
    platform: str
    software: str
    render: Callable[[VpnConnection, str], str]

    def describe(self) -> dict[str, str]:
        """The device as a ``VpnConnectionDeviceType``."""
        return {
            "VpnConnectionDeviceTypeId": self.id,
            "Vendor": self.vendor,
            "Platform": self.platform,
            "Software": self.software,
        }


def _first(tunnel: Tunnel, name: str) -> object:
    return tunnel.settings[name][0]


def _generic_tunnel(connection: VpnConnection, tunnel: Tunnel, number: int, ike: str) -> str:
    settings = tunnel.settings
    lines = [
        f"IPSec Tunnel #{number}",
        "=" * 70,
        "",
        f"#1: Internet Key Exchange ({ike.upper()}) Configuration",
        "  - Authentication Method    : Pre-Shared Key",
        f"  - Pre-Shared Key           : {tunnel.pre_shared_key}",
        "  - Authentication Algorithm : "
        + IKE_INTEGRITY[_first(tunnel, "Phase1IntegrityAlgorithms")],
        "  - Encryption Algorithm     : "
        + IKE_ENCRYPTION[_first(tunnel, "Phase1EncryptionAlgorithms")],
        f"  - Lifetime                 : {settings['Phase1LifetimeSeconds']} seconds",
        f"  - Diffie-Hellman           : Group {_first(tunnel, 'Phase1DHGroupNumbers')}",
        "",
        "#2: IPSec Configuration",
        "  - Protocol                 : ESP",
        "  - Authentication Algorithm : "
        + IPSEC_INTEGRITY[_first(tunnel, "Phase2IntegrityAlgorithms")],
        "  - Encryption Algorithm     : "
        + IKE_ENCRYPTION[_first(tunnel, "Phase2EncryptionAlgorithms")],
        f"  - Lifetime                 : {settings['Phase2LifetimeSeconds']} seconds",
        "  - Mode                     : tunnel",
        f"  - Perfect Forward Secrecy  : Diffie-Hellman Group "
        f"{_first(tunnel, 'Phase2DHGroupNumbers')}",
        f"  - DPD Timeout              : {settings['DpdTimeoutSeconds']} seconds",
        f"  - DPD Timeout Action       : {settings['DpdTimeoutAction']}",
        "  - TCP MSS Adjustment       : 1379 bytes",
        "",
        "#3: Tunnel Interface Configuration",
        "  Outside IP Addresses:",
        f"  - Customer Gateway         : {connection.customer_gateway_ip}",
        f"  - Virtual Private Gateway  : {tunnel.outside_ip}",
        "  Inside IP Addresses:",
        f"  - Customer Gateway         : {tunnel.customer_inside_ip}/30",
        f"  - Virtual Private Gateway  : {tunnel.aws_inside_ip}/30",
        "",
    ]
    if connection.static_routes_only:
        lines += [
            "#4: Static Routing Configuration",
            f"  Route {connection.options['RemoteIpv4NetworkCidr']} through the tunnel interface.",
        ]
    else:
        lines += [
            "#4: Border Gateway Protocol (BGP) Configuration",
            f"  - Customer Gateway ASN     : {connection.customer_asn}",
            f"  - Virtual Private Gateway ASN : {connection.amazon_asn}",
            f"  - Neighbor IP Address      : {tunnel.aws_inside_ip}",
            "  - Neighbor Hold Time       : 30",
        ]
    return "\n".join(lines)


def render_generic(connection: VpnConnection, ike: str) -> str:
    """A vendor-agnostic description of both tunnels."""
    header = (
        f"Amazon VPC VPN connection {connection.id}\n"
        f"Customer gateway {connection.customer_gateway_id} "
        f"({connection.customer_gateway_ip}), IKE version {ike}\n\n"
    )
    tunnels = [
        _generic_tunnel(connection, tunnel, number, ike)
        for number, tunnel in enumerate(connection.tunnels, start=1)
    ]
    return header + "\n\n".join(tunnels) + "\n"


STRONGSWAN_ENCRYPTION = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
}
STRONGSWAN_INTEGRITY = {
    "SHA1": "sha1",
    "SHA2-256": "sha256",
    "SHA2-384": "sha384",
    "SHA2-512": "sha512",
}
STRONGSWAN_DH = {
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


def _strongswan_proposal(tunnel: Tunnel, phase: str, ike: bool) -> str:
    encryption = STRONGSWAN_ENCRYPTION[_first(tunnel, f"{phase}EncryptionAlgorithms")]
    integrity = STRONGSWAN_INTEGRITY[_first(tunnel, f"{phase}IntegrityAlgorithms")]
    group = STRONGSWAN_DH[_first(tunnel, f"{phase}DHGroupNumbers")]
    if "gcm" in encryption:
        # AEAD ciphers carry their own integrity; IKE still needs a PRF.
        return f"{encryption}-prf{integrity}-{group}" if ike else f"{encryption}-{group}"
    return f"{encryption}-{integrity}-{group}"


def render_strongswan(connection: VpnConnection, ike: str) -> str:
    """``/etc/ipsec.conf`` and ``/etc/ipsec.secrets`` for strongSwan."""
    conf = [
        f"# strongSwan configuration for VPN connection {connection.id}",
        "# /etc/ipsec.conf",
        "config setup",
        "    uniqueids=no",
        "",
    ]
    secrets = ["# /etc/ipsec.secrets"]
    for number, tunnel in enumerate(connection.tunnels, start=1):
        settings = tunnel.settings
        conf += [
            f"conn Tunnel{number}",
            "    auto=start",
            "    type=tunnel",
            "    authby=secret",
            f"    keyexchange={ike}",
            "    left=%defaultroute",
            f"    leftid={connection.customer_gateway_ip}",
            f"    leftsubnet={connection.options['LocalIpv4NetworkCidr']}",
            f"    right={tunnel.outside_ip}",
            f"    rightsubnet={connection.options['RemoteIpv4NetworkCidr']}",
            f"    ike={_strongswan_proposal(tunnel, 'Phase1', ike=True)}!",
            f"    esp={_strongswan_proposal(tunnel, 'Phase2', ike=False)}!",
            f"    ikelifetime={settings['Phase1LifetimeSeconds']}s",
            f"    lifetime={settings['Phase2LifetimeSeconds']}s",
            f"    margintime={settings['RekeyMarginTimeSeconds']}s",
            f"    rekeyfuzz={settings['RekeyFuzzPercentage']}%",
            "    dpddelay=10s",
            f"    dpdtimeout={settings['DpdTimeoutSeconds']}s",
            f"    dpdaction={settings['DpdTimeoutAction']}",
            f"    # Tunnel inside addresses: customer {tunnel.customer_inside_ip}/30, "
            f"AWS {tunnel.aws_inside_ip}/30",
            "",
        ]
        secrets.append(
            f'{connection.customer_gateway_ip} {tunnel.outside_ip} : PSK "{tunnel.pre_shared_key}"'
        )
    return "\n".join(conf + secrets) + "\n"


DEVICE_TYPES = (
    DeviceType("9005b6c1", "Generic", "Generic", "Vendor Agnostic", render_generic),
    DeviceType("36fc3ca5", "Strongswan", "Ubuntu 22.04", "Strongswan 5.9", render_strongswan),
)


def sample_configuration(connection: VpnConnection, device_type_id: str, ike: str | None) -> str:
    """The sample configuration of a device type for a connection (IKEv1 unless asked)."""
    ike = ike or "ikev1"
    if ike not in IKE_VERSIONS:
        raise invalid_parameter(
            f"Value ({ike}) for parameter InternetKeyExchangeVersion is invalid. "
            "Valid values: ikev1, ikev2."
        )
    for device in DEVICE_TYPES:
        if device.id == device_type_id:
            return device.render(connection, ike)
    raise invalid_parameter(
        f"Value ({device_type_id}) for parameter VpnConnectionDeviceTypeId is invalid."
    )
