"""AWS's end of the tunnels, written from `DescribeVpnConnections` alone.

Everything comes from what AWS reports for the connection: the
`CustomerGatewayConfiguration` XML (outside and inside addresses of both ends, BGP
ASNs and hold time, keys, dead peer detection) and `Options.TunnelOptions` (IKE
versions and every algorithm, lifetime and action AWS was given). Nothing is read from
the portal's database or its pack, so a pack that disagrees with AWS fails the
handshake. The algorithm names are this module's own, not the pack's.

The responder never initiates, even where AWS would (IKEv2 with startup action
`start`): the pack's configuration starts its tunnels itself, and two initiators at
once would make duplicate SAs that prove nothing.
"""

import copy
import ipaddress
import xml.etree.ElementTree as ET
from dataclasses import dataclass

ENCRYPTION = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
}
INTEGRITY = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
DH_GROUPS = {
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
IKE_VERSIONS = {"ikev1": 1, "ikev2": 2}
# AWS's dead peer detection action in strongSwan's words.
DPD_ACTIONS = {"restart": "restart", "clear": "clear", "none": "none"}


@dataclass(frozen=True)
class AwsTunnel:
    """One tunnel as AWS describes it."""

    position: int
    outside_ip: str
    customer_ip: str
    aws_inside_ip: str
    customer_inside_ip: str
    inside_prefixlen: int
    psk: str
    options: dict  # the tunnel's entry of Options.TunnelOptions
    dpd_interval_seconds: int
    dpd_retries: int

    @property
    def name(self) -> str:
        """The responder's name for the tunnel."""
        return f"aws-t{self.position}"


@dataclass(frozen=True)
class AwsSide:
    """The connection as AWS describes it: both tunnels and the BGP values, if any."""

    vpn_connection_id: str
    tunnels: list[AwsTunnel]
    static: bool
    amazon_asn: int | None
    customer_asn: int | None
    hold_time_seconds: int | None
    local_cidr: str  # the customer's side of the selectors
    remote_cidr: str  # AWS's side

    def with_psk(self, psk: str) -> "AwsSide":
        """The same side with another pre-shared key on every tunnel (a wrong one)."""
        return self._with_tunnels(lambda tunnel: {"psk": psk})

    def with_options(self, **options) -> "AwsSide":
        """The same side with these `TunnelOptions` values on every tunnel."""
        return self._with_tunnels(lambda tunnel: {"options": {**tunnel.options, **options}})

    def _with_tunnels(self, change) -> "AwsSide":
        tunnels = [AwsTunnel(**{**tunnel.__dict__, **change(tunnel)}) for tunnel in self.tunnels]
        return AwsSide(**{**self.__dict__, "tunnels": tunnels})


def _text(element: ET.Element, path: str) -> str:
    found = element.find(path)
    if found is None or found.text is None:
        raise AssertionError(f"The CustomerGatewayConfiguration has no {path}.")
    return found.text.strip()


def aws_side_from_describe(connection: dict) -> AwsSide:
    """Read one `VpnConnections` entry of `DescribeVpnConnections`."""
    connection = copy.deepcopy(connection)
    document = connection["CustomerGatewayConfiguration"]
    root = ET.fromstring(document)  # noqa: S314 - the sandbox's own XML
    options_by_ip = {
        option["OutsideIpAddress"]: option for option in connection["Options"]["TunnelOptions"]
    }
    tunnels = []
    bgp_values = None
    for position, element in enumerate(root.findall("ipsec_tunnel"), start=1):
        outside_ip = _text(element, "vpn_gateway/tunnel_outside_address/ip_address")
        options = options_by_ip[outside_ip]
        prefixlen = int(_text(element, "vpn_gateway/tunnel_inside_address/network_cidr"))
        aws_inside_ip = _text(element, "vpn_gateway/tunnel_inside_address/ip_address")
        if options["TunnelInsideCidr"] != str(
            ipaddress.IPv4Interface(f"{aws_inside_ip}/{prefixlen}").network
        ):
            raise AssertionError(f"Tunnel {outside_ip}: the XML and TunnelOptions disagree.")
        tunnels.append(
            AwsTunnel(
                position=position,
                outside_ip=outside_ip,
                customer_ip=_text(element, "customer_gateway/tunnel_outside_address/ip_address"),
                aws_inside_ip=aws_inside_ip,
                customer_inside_ip=_text(
                    element, "customer_gateway/tunnel_inside_address/ip_address"
                ),
                inside_prefixlen=prefixlen,
                psk=options["PreSharedKey"],
                options=options,
                dpd_interval_seconds=int(_text(element, "ipsec/dead_peer_detection/interval")),
                dpd_retries=int(_text(element, "ipsec/dead_peer_detection/retries")),
            )
        )
        if element.find("vpn_gateway/bgp") is not None:
            bgp_values = (
                int(_text(element, "vpn_gateway/bgp/asn")),
                int(_text(element, "customer_gateway/bgp/asn")),
                int(_text(element, "vpn_gateway/bgp/hold_time")),
            )
    static = connection["Options"].get("StaticRoutesOnly", False)
    amazon_asn, customer_asn, hold_time = bgp_values or (None, None, None)
    return AwsSide(
        vpn_connection_id=connection["VpnConnectionId"],
        tunnels=tunnels,
        static=static,
        amazon_asn=amazon_asn,
        customer_asn=customer_asn,
        hold_time_seconds=hold_time,
        local_cidr=connection["Options"].get("LocalIpv4NetworkCidr", "0.0.0.0/0"),
        remote_cidr=connection["Options"].get("RemoteIpv4NetworkCidr", "0.0.0.0/0"),
    )


def _values(options: dict, key: str) -> list:
    return [item["Value"] for item in options.get(key, [])]


def _proposals(options: dict, phase: str, *, ike: bool) -> str:
    """Every combination AWS accepts in one phase, as strongSwan proposals.

    AWS accepts any of the listed algorithms together; strongSwan says that with one
    proposal for the CBC ciphers and one for the AEAD (GCM) ones.
    """
    ciphers = _values(options, f"{phase}EncryptionAlgorithms")
    integrity = [INTEGRITY[name] for name in _values(options, f"{phase}IntegrityAlgorithms")]
    groups = [DH_GROUPS[number] for number in _values(options, f"{phase}DHGroupNumbers")]
    proposals = []
    cbc = [ENCRYPTION[name] for name in ciphers if "GCM" not in name]
    gcm = [ENCRYPTION[name] for name in ciphers if "GCM" in name]
    if cbc:
        proposals.append("-".join(cbc + integrity + groups))
    if gcm:
        prf = [f"prf{name}" for name in integrity] if ike else []
        proposals.append("-".join(gcm + prf + groups))
    return ",".join(proposals)


def responder_swanctl_conf(side: AwsSide) -> str:
    """The responder's swanctl.conf: one connection per tunnel, as AWS was configured."""
    connections, secrets = [], []
    for tunnel in side.tunnels:
        options = tunnel.options
        versions = {IKE_VERSIONS[value] for value in _values(options, "IkeVersions")}
        version = versions.pop() if len(versions) == 1 else 0
        phase1 = options["Phase1LifetimeSeconds"]
        phase2 = options["Phase2LifetimeSeconds"]
        margin = options["RekeyMarginTimeSeconds"]
        dpd = [f"dpd_delay = {tunnel.dpd_interval_seconds}s"]
        if version == 1:
            dpd.append(f"dpd_timeout = {tunnel.dpd_interval_seconds * tunnel.dpd_retries}s")
        else:
            dpd.append("mobike = no")
        connections.append(
            f"""    {tunnel.name} {{
        version = {version}
        local_addrs = {tunnel.outside_ip}
        remote_addrs = {tunnel.customer_ip}
        proposals = {_proposals(options, "Phase1", ike=True)}
        rekey_time = {phase1}s
        {dpd[0]}
        {dpd[1]}
        local {{
            auth = psk
            id = {tunnel.outside_ip}
        }}
        remote {{
            auth = psk
            id = {tunnel.customer_ip}
        }}
        children {{
            {tunnel.name} {{
                local_ts = {side.remote_cidr}
                remote_ts = {side.local_cidr}
                esp_proposals = {_proposals(options, "Phase2", ike=False)}
                life_time = {phase2}s
                rekey_time = {phase2 - margin}s
                replay_window = {options["ReplayWindowSize"]}
                dpd_action = {DPD_ACTIONS[options["DpdTimeoutAction"]]}
                start_action = none
                close_action = none
            }}
        }}
    }}"""
        )
        # Both ends' identities: both tunnels share the customer's, not their keys.
        secrets.append(
            f"""    ike-{tunnel.name} {{
        id-aws = {tunnel.outside_ip}
        id-customer = {tunnel.customer_ip}
        secret = "{tunnel.psk}"
    }}"""
        )
    return (
        "connections {\n" + "\n".join(connections) + "\n}\n\n"
        "secrets {\n" + "\n".join(secrets) + "\n}\n"
    )


def responder_bird_conf(side: AwsSide) -> str:
    """BIRD 2 for AWS's end: a BGP session per tunnel, importing what the customer sends.

    AWS would advertise the VPC's CIDR too; the test only needs the customer's prefixes
    to arrive, so this end exports nothing.
    """
    if side.amazon_asn is None:
        raise AssertionError("The connection has no BGP values (static routing).")
    sessions = "\n".join(
        f"""protocol bgp {tunnel.name.replace("-", "_")} {{
    local {tunnel.aws_inside_ip} as {side.amazon_asn};
    neighbor {tunnel.customer_inside_ip} as {side.customer_asn};
    hold time {side.hold_time_seconds};
    connect retry time 2;
    ipv4 {{
        import all;
        export none;
    }};
}}"""
        for tunnel in side.tunnels
    )
    return (
        f"router id {side.tunnels[0].aws_inside_ip};\n"
        "protocol device {\n    scan time 1;\n}\n" + sessions + "\n"
    )
