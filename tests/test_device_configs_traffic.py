"""Each device file makes traffic flow, not just the tunnels come up.

The properties are data: `TRAFFIC` holds, per vendor, a check of each property on the
file as that vendor's parser reads it (`tests/device_schemas/`), asserted for every
combination of routing, IKE version, tunnel count and NAT, and for the cases that take
other branches (four-byte ASNs, no prefixes to advertise, other interface numbers):

- a rule or policy lets the customer's network and the platform VPC reach each other;
- BGP routes from AWS are installed in the routing table (BGP);
- both tunnels carry traffic: a route through each, with traffic AWS sends on either
  tunnel accepted (static), or each tunnel's AWS address a BGP neighbour (BGP);
- TCP MSS is clamped (and the tunnel MTU set) to the pack's values;
- the device brings a tunnel back after AWS closes it, by itself where AWS will not.

A check returns what is missing; an empty list means the property holds.
"""

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable

import pytest

from tests.device_config_support import CASE_NAMES, CASE_ROUTING, RenderedCase, rendered_cases
from tests.device_schemas import cisco, fortios, junos, panos
from vpn.choices import Routing

# The cases are rendered from requests in the database (rolled back).
pytestmark = pytest.mark.django_db

LAN_VPC = "a rule allows LAN <-> VPC"
BGP_INSTALLED = "BGP routes are installed"
BOTH_TUNNELS = "both tunnels carry traffic"
MSS = "TCP MSS is clamped"
REINITIATES = "the device re-initiates a closed tunnel"

Check = Callable[[str, RenderedCase], list[str]]


def _tunnels(case: RenderedCase) -> list[tuple[int, str]]:
    """(interface number, AWS inside address) of each tunnel the device configures."""
    first = case.numbering.first_tunnel
    return [
        (first + tunnel.position - 1, tunnel.aws_inside_ip)
        for tunnel in case.parameters.used_tunnels
    ]


def _expect(problems: list[str], condition: bool, missing: str) -> None:
    if not condition:
        problems.append(missing)


# --- Juniper SRX --------------------------------------------------------------------------


def _junos_policies(text: str) -> dict[tuple[str, str, str], dict[str, list[str]]]:
    policies: dict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for tokens in junos.statements(text, "security", "policies", "from-zone"):
        source_zone, _, target_zone, _, name, section, *rest = tokens
        key = rest[0] if section == "match" else section
        policies[source_zone, target_zone, name][key] += rest[1:] if section == "match" else rest
    return policies


def _junos_zones(text: str) -> dict[str, str]:
    return {
        tokens[2]: tokens[0]
        for tokens in junos.statements(text, "security", "zones", "security-zone")
        if tokens[1] == "interfaces"
    }


def _junos_lan_vpc(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    vpc = case.parameters.vpc_cidr
    addresses = {
        tokens[0]: tokens[1]
        for tokens in junos.statements(text, "security", "address-book", "global", "address")
    }
    zones = _junos_zones(text)
    tunnel_zones = {zones.get(f"st0.{number}") for number, _ in _tunnels(case)}
    _expect(problems, len(tunnel_zones) == 1 and None not in tunnel_zones, "st0 in one zone")
    (vpc_zone,) = tunnel_zones
    for policy_from, policy_to, vpc_side in (
        ("trust", vpc_zone, "destination-address"),
        (vpc_zone, "trust", "source-address"),
    ):
        lan_side = ({"source-address", "destination-address"} - {vpc_side}).pop()
        allowed = [
            policy
            for (source, target, _), policy in _junos_policies(text).items()
            if (source, target) == (policy_from, policy_to)
            and "permit" in policy["then"]
            and policy["application"] == ["any"]
            and policy[lan_side] == ["any"]
            and all(addresses.get(name) == vpc or name == "any" for name in policy[vpc_side])
        ]
        _expect(problems, bool(allowed), f"a policy permitting {policy_from} -> {policy_to}")
    return problems


def _junos_bgp_installed(text: str, case: RenderedCase) -> list[str]:
    group = junos.statements(text, "protocols", "bgp", "group")
    problems: list[str] = []
    # eBGP routes are accepted and made active by default: nothing may filter them.
    _expect(problems, all(tokens[1] != "import" for tokens in group), "no import policy")
    _expect(problems, any(tokens[1:] == ["type", "external"] for tokens in group), "eBGP group")
    return problems


def _junos_both_tunnels(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    numbers = [number for number, _ in _tunnels(case)]
    if case.parameters.static:
        routes = junos.statements(
            text, "routing-options", "static", "route", case.parameters.vpc_cidr
        )
        hops = [tokens[1] for tokens in routes if tokens[0] in ("next-hop", "qualified-next-hop")]
        _expect(problems, hops == [f"st0.{number}" for number in numbers], f"routes via {hops}")
        zones = _junos_zones(text)
        _expect(problems, len({zones.get(f"st0.{n}") for n in numbers}) == 1, "one zone for all")
    else:
        group = junos.statements(text, "protocols", "bgp", "group")
        neighbours = {tokens[2] for tokens in group if tokens[1] == "neighbor"}
        _expect(
            problems, neighbours == {ip for _, ip in _tunnels(case)}, f"neighbours {neighbours}"
        )
        peer_as = [tokens[2] for tokens in group if tokens[1] == "peer-as"]
        _expect(problems, peer_as == [str(case.parameters.routing.amazon_asn)], "AWS's ASN")
    return problems


def _junos_mss(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    mss = junos.statements(text, "security", "flow", "tcp-mss", "ipsec-vpn", "mss")
    _expect(problems, mss == [[str(case.parameters.tcp_mss)]], f"tcp-mss {mss}")
    for number, _ in _tunnels(case):
        mtu = junos.statements(
            text, "interfaces", "st0", "unit", str(number), "family", "inet", "mtu"
        )
        _expect(problems, mtu == [[str(case.parameters.mtu)]], f"st0.{number} mtu {mtu}")
    df_bit = junos.statements(text, "security", "ipsec", "vpn")
    _expect(
        problems,
        sum(t[1:] == ["df-bit", "clear"] for t in df_bit) == len(_tunnels(case)),
        "df-bit clear on every VPN",
    )
    return problems


def _junos_reinitiates(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    vpns = junos.statements(text, "security", "ipsec", "vpn")
    gateways = junos.statements(text, "security", "ike", "gateway")
    for number, aws_ip in _tunnels(case):
        settings = [t[1:] for t in vpns if ["bind-interface", f"st0.{number}"] == t[1:]]
        _expect(problems, bool(settings), f"a VPN bound to st0.{number}")
        name = next(t[0] for t in vpns if t[1:] == ["bind-interface", f"st0.{number}"])
        mine = [t[1:] for t in vpns if t[0] == name]
        _expect(problems, ["establish-tunnels", "immediately"] in mine, f"{name} immediately")
        _expect(problems, ["vpn-monitor", "destination-ip", aws_ip] in mine, f"{name} monitor")
        always = [name, "dead-peer-detection", "always-send"] in gateways
        _expect(problems, always or case.parameters.ipsec.aws_initiates, f"{name} always-send")
    return problems


# --- Palo Alto PAN-OS ------------------------------------------------------------------------


def _panos_rules(found: dict) -> dict[str, dict[str, list[str]]]:
    rules: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for path, values in found.items():
        if path[:3] == ("rulebase", "security", "rules"):
            rules[path[3]][path[4]] = values
    return rules


def _panos_zone_of(found: dict, interface: str) -> str | None:
    return next(
        (
            path[1]
            for path, values in found.items()
            if path[0] == "zone" and path[2:] == ("network", "layer3") and interface in values
        ),
        None,
    )


def _panos_lan_vpc(text: str, case: RenderedCase) -> list[str]:
    found = panos.leaves(text)
    problems: list[str] = []
    addresses = {
        path[1]: values
        for path, values in found.items()
        if path[0] == "address" and path[2:] == ("ip-netmask",)
    }
    zones = {_panos_zone_of(found, f"tunnel.{number}") for number, _ in _tunnels(case)}
    _expect(problems, len(zones) == 1 and None not in zones, f"tunnels in one zone: {zones}")
    (vpc_zone,) = zones
    for rule_from, rule_to, vpc_side in (
        ("trust", vpc_zone, "destination"),
        (vpc_zone, "trust", "source"),
    ):
        lan_side = ({"source", "destination"} - {vpc_side}).pop()
        allowed = [
            rule
            for rule in _panos_rules(found).values()
            if rule.get("from") == [rule_from]
            and rule.get("to") == [rule_to]
            and rule.get("action") == ["allow"]
            and rule.get(lan_side) == ["any"]
            and rule.get("application") == ["any"]
            and rule.get("service") == ["any"]
            and all(
                addresses.get(name) == [case.parameters.vpc_cidr]
                for name in rule.get(vpc_side, ["missing"])
            )
        ]
        _expect(problems, bool(allowed), f"a rule allowing {rule_from} -> {rule_to}")
    return problems


_VR = ("network", "virtual-router", "default")


def _panos_bgp_installed(text: str, case: RenderedCase) -> list[str]:
    found = panos.leaves(text)
    problems: list[str] = []
    bgp = (*_VR, "protocol", "bgp")
    _expect(problems, found.get((*bgp, "enable")) == ["yes"], "BGP enabled")
    _expect(problems, found.get((*bgp, "install-route")) == ["yes"], "install-route yes")
    if max(case.parameters.routing.customer_asn, case.parameters.routing.amazon_asn) > 65_535:
        _expect(
            problems,
            found.get((*bgp, "routing-options", "as-format")) == ["4-byte"],
            "as-format 4-byte",
        )
    return problems


def _panos_both_tunnels(text: str, case: RenderedCase) -> list[str]:
    found = panos.leaves(text)
    problems: list[str] = []
    if case.parameters.static:
        routes = {
            path[6]: {}
            for path in found
            if path[:6] == (*_VR, "routing-table", "ip", "static-route")
        }
        for name in routes:
            base = (*_VR, "routing-table", "ip", "static-route", name)
            routes[name] = {
                "destination": found.get((*base, "destination")),
                "interface": found.get((*base, "interface")),
            }
        for number, _ in _tunnels(case):
            _expect(
                problems,
                {"destination": [case.parameters.vpc_cidr], "interface": [f"tunnel.{number}"]}
                in routes.values(),
                f"a route via tunnel.{number}",
            )
        zones = {_panos_zone_of(found, f"tunnel.{number}") for number, _ in _tunnels(case)}
        _expect(problems, len(zones) == 1, "both tunnels in one zone (either may answer)")
    else:
        group = (*_VR, "protocol", "bgp", "peer-group")
        # (..., peer-group, GROUP, peer, PEER, setting...): each peer's settings.
        peers: dict[str, dict[tuple[str, ...], list[str]]] = defaultdict(dict)
        for path, values in found.items():
            if path[:6] == group and path[7:8] == ("peer",):
                peers[path[8]][path[9:]] = values
        addresses = sorted(peer.get(("peer-address", "ip"), ["?"])[0] for peer in peers.values())
        _expect(problems, addresses == sorted(ip for _, ip in _tunnels(case)), f"peers {addresses}")
        peer_as = {peer.get(("peer-as",), ["?"])[0] for peer in peers.values()}
        _expect(problems, peer_as == {str(case.parameters.routing.amazon_asn)}, "AWS's ASN")
    return problems


def _panos_mss(text: str, case: RenderedCase) -> list[str]:
    found = panos.leaves(text)
    problems: list[str] = []
    for number, _ in _tunnels(case):
        mtu = found.get(("network", "interface", "tunnel", "units", f"tunnel.{number}", "mtu"))
        # PAN-OS clamps the MSS through a tunnel to its MTU less 40 bytes by itself.
        _expect(problems, mtu == [str(case.parameters.mtu)], f"tunnel.{number} mtu {mtu}")
    _expect(problems, case.parameters.mtu - 40 == case.parameters.tcp_mss, "MTU - 40 = MSS")
    return problems


def _panos_reinitiates(text: str, case: RenderedCase) -> list[str]:
    found = panos.leaves(text)
    problems: list[str] = []
    tunnels = {path[3] for path in found if path[:3] == ("network", "tunnel", "ipsec")}
    for number, aws_ip in _tunnels(case):
        name = next(
            (
                t
                for t in tunnels
                if found.get(("network", "tunnel", "ipsec", t, "tunnel-interface"))
                == [f"tunnel.{number}"]
            ),
            None,
        )
        _expect(problems, name is not None, f"an IPsec tunnel on tunnel.{number}")
        base = ("network", "tunnel", "ipsec", name, "tunnel-monitor")
        _expect(problems, found.get((*base, "enable")) == ["yes"], f"{name} monitor on")
        _expect(problems, found.get((*base, "destination-ip")) == [aws_ip], f"{name} monitors AWS")
        profile = (found.get((*base, "tunnel-monitor-profile")) or ["missing"])[0]
        action = found.get(("network", "profiles", "monitor-profile", profile, "action"))
        _expect(problems, action == ["fail-over"], f"{profile} fails over")
        gateway = found.get(("network", "tunnel", "ipsec", name, "auto-key", "ike-gateway"))
        passive = found.get(
            (
                "network",
                "ike",
                "gateway",
                *(gateway or ["missing"]),
                "protocol-common",
                "passive-mode",
            )
        )
        _expect(problems, passive == ["no"], f"{gateway} initiates")
    return problems


# --- Fortinet FortiGate --------------------------------------------------------------------


def _forti_interfaces(case: RenderedCase) -> list[str]:
    short = case.parameters.reference.replace("-", "")
    return [f"{short}-t{tunnel.position}" for tunnel in case.parameters.used_tunnels]


def _forti_lan_vpc(text: str, case: RenderedCase) -> list[str]:
    tables = fortios.parse(text)
    problems: list[str] = []
    vpc = ipaddress.IPv4Network(case.parameters.vpc_cidr)
    subnet = [str(vpc.network_address), str(vpc.netmask)]
    addresses = {
        e.name
        for e in fortios.entries(tables, "firewall address")
        if e.settings.get("subnet") == subnet
    }
    tunnels = set(_forti_interfaces(case))
    policies = fortios.entries(tables, "firewall policy")
    for source, target, vpc_side in (("lan", "vpn", "dstaddr"), ("vpn", "lan", "srcaddr")):
        lan_side = ({"srcaddr", "dstaddr"} - {vpc_side}).pop()
        allowed = [
            p
            for p in policies
            if p.settings.get("action") == ["accept"]
            and p.settings.get("service") == ["ALL"]
            and p.settings.get(lan_side) == ["all"]
            and set(p.settings.get(vpc_side, [])) <= addresses
            and p.settings.get(vpc_side)
            and (set(p.settings.get("dstintf" if target == "vpn" else "srcintf", [])) == tunnels)
            and p.settings.get("srcintf" if target == "vpn" else "dstintf") == ["internal"]
        ]
        _expect(problems, bool(allowed), f"a policy accepting {source} -> {target}")
    return problems


def _forti_bgp_installed(text: str, case: RenderedCase) -> list[str]:
    tables = fortios.parse(text)
    problems: list[str] = []
    (bgp,) = fortios.entries(tables, "router bgp")
    # Both tunnels' routes stay in the routing table (replies through either pass the
    # reverse path check), and no route map filters what AWS sends.
    _expect(problems, bgp.settings.get("ebgp-multipath") == ["enable"], "ebgp-multipath")
    neighbours = bgp.tables["neighbor"].entries
    _expect(problems, all("route-map-in" not in n.settings for n in neighbours), "no route-map-in")
    return problems


def _forti_both_tunnels(text: str, case: RenderedCase) -> list[str]:
    tables = fortios.parse(text)
    problems: list[str] = []
    if case.parameters.static:
        vpc = ipaddress.IPv4Network(case.parameters.vpc_cidr)
        routes = [
            e
            for e in fortios.entries(tables, "router static")
            if e.settings.get("dst") == [str(vpc.network_address), str(vpc.netmask)]
        ]
        devices = [r.settings["device"][0] for r in routes]
        _expect(problems, devices == _forti_interfaces(case), f"routes via {devices}")
        # The same distance keeps every route in the routing table: replies through
        # tunnel 2 then pass the reverse path check.
        distances = {r.settings.get("distance", ["10"])[0] for r in routes}
        _expect(problems, len(distances) == 1, f"one distance for all: {distances}")
    else:
        (bgp,) = fortios.entries(tables, "router bgp")
        neighbours = {n.name: n.settings.get("remote-as") for n in bgp.tables["neighbor"].entries}
        expected = {ip: [str(case.parameters.routing.amazon_asn)] for _, ip in _tunnels(case)}
        _expect(problems, neighbours == expected, f"neighbours {neighbours}")
    return problems


def _forti_mss(text: str, case: RenderedCase) -> list[str]:
    tables = fortios.parse(text)
    problems: list[str] = []
    interfaces = {e.name: e.settings for e in fortios.entries(tables, "system interface")}
    for name in _forti_interfaces(case):
        settings = interfaces.get(name, {})
        _expect(
            problems, settings.get("tcp-mss") == [str(case.parameters.tcp_mss)], f"{name} tcp-mss"
        )
        _expect(problems, settings.get("mtu-override") == ["enable"], f"{name} mtu-override")
        _expect(problems, settings.get("mtu") == [str(case.parameters.mtu)], f"{name} mtu")
    return problems


def _forti_reinitiates(text: str, case: RenderedCase) -> list[str]:
    tables = fortios.parse(text)
    problems: list[str] = []
    phase1 = {e.name: e.settings for e in fortios.entries(tables, "vpn ipsec phase1-interface")}
    phase2 = {
        e.settings["phase1name"][0]: e.settings
        for e in fortios.entries(tables, "vpn ipsec phase2-interface")
    }
    for name in _forti_interfaces(case):
        _expect(
            problems,
            phase2.get(name, {}).get("auto-negotiate") == ["enable"],
            f"{name} auto-negotiate",
        )
        _expect(problems, phase2.get(name, {}).get("keepalive") == ["enable"], f"{name} keepalive")
        _expect(problems, phase1.get(name, {}).get("dpd") == ["on-idle"], f"{name} dpd on-idle")
    return problems


# --- Cisco IOS -------------------------------------------------------------------------------


def _cisco_interface(config, number: int):
    found = config.find_objects(rf"^interface Tunnel{number}$")
    return found[0] if found else None


def _cisco_children(obj) -> list[str]:
    return [child.text.strip() for child in obj.children if not child.is_comment] if obj else []


def _cisco_lan_vpc(text: str, case: RenderedCase) -> list[str]:
    config = cisco.parse(text)
    problems: list[str] = []
    # IOS forwards between interfaces unless an ACL or a zone firewall filters: none may
    # be on the tunnels, and none is defined.
    for number, _ in _tunnels(case):
        commands = _cisco_children(_cisco_interface(config, number))
        _expect(problems, bool(commands), f"interface Tunnel{number}")
        filters = [
            c for c in commands if c.startswith(("ip access-group", "zone-member", "ip verify"))
        ]
        _expect(problems, not filters, f"Tunnel{number} filters: {filters}")
    _expect(
        problems, not config.find_objects(r"^(ip access-list|zone security|access-list)"), "no ACL"
    )
    return problems


def _cisco_bgp_installed(text: str, case: RenderedCase) -> list[str]:
    config = cisco.parse(text)
    problems: list[str] = []
    bgp = config.find_objects(r"^router bgp ")
    _expect(problems, len(bgp) == 1, "router bgp")
    lines = [o.text.strip() for o in bgp[0].all_children] if bgp else []
    inbound = [
        line
        for line in lines
        if re.search(r"(route-map|distribute-list|prefix-list) \S+ in$", line)
    ]
    _expect(problems, not inbound, f"inbound filters {inbound}")
    for _, ip in _tunnels(case):
        _expect(problems, f"neighbor {ip} activate" in lines, f"{ip} activated")
    return problems


def _cisco_both_tunnels(text: str, case: RenderedCase) -> list[str]:
    config = cisco.parse(text)
    problems: list[str] = []
    if case.parameters.static:
        vpc = ipaddress.IPv4Network(case.parameters.vpc_cidr)
        routes = [
            o.text for o in config.find_objects(rf"^ip route {vpc.network_address} {vpc.netmask} ")
        ]
        for number, _ in _tunnels(case):
            _expect(
                problems,
                any(f" Tunnel{number} " in r for r in routes),
                f"a route via Tunnel{number}",
            )
        # No reverse path check on the tunnels: AWS may answer through either.
        for number, _ in _tunnels(case):
            commands = _cisco_children(_cisco_interface(config, number))
            _expect(
                problems, not any(c.startswith("ip verify unicast") for c in commands), "no uRPF"
            )
    else:
        bgp = config.find_objects(r"^router bgp ")
        lines = [o.text.strip() for o in bgp[0].children] if bgp else []
        for _, ip in _tunnels(case):
            _expect(
                problems,
                f"neighbor {ip} remote-as {case.parameters.routing.amazon_asn}" in lines,
                f"neighbour {ip}",
            )
    return problems


def _cisco_mss(text: str, case: RenderedCase) -> list[str]:
    config = cisco.parse(text)
    problems: list[str] = []
    for number, _ in _tunnels(case):
        commands = _cisco_children(_cisco_interface(config, number))
        _expect(
            problems,
            f"ip tcp adjust-mss {case.parameters.tcp_mss}" in commands,
            f"Tunnel{number} MSS",
        )
        _expect(problems, f"ip mtu {case.parameters.mtu}" in commands, f"Tunnel{number} MTU")
    _expect(problems, bool(config.find_objects(r"^crypto ipsec df-bit clear$")), "df-bit clear")
    return problems


def _cisco_reinitiates(text: str, case: RenderedCase) -> list[str]:
    config = cisco.parse(text)
    problems: list[str] = []
    for index, (number, aws_ip) in enumerate(_tunnels(case)):
        sla = case.numbering.cisco_sla + index
        probe = config.find_objects(rf"^ip sla {sla}$")
        _expect(
            problems,
            bool(probe)
            and f"icmp-echo {aws_ip} source-interface Tunnel{number}"
            in _cisco_children(probe[0] if probe else None),
            f"IP SLA {sla} through Tunnel{number}",
        )
        _expect(
            problems,
            bool(config.find_objects(rf"^ip sla schedule {sla} life forever start-time now$")),
            f"IP SLA {sla} scheduled for ever",
        )
    if not case.parameters.ipsec.aws_initiates:
        periodic = config.find_objects(r"(crypto isakmp keepalive|^ dpd) \d+ \d+ periodic$")
        _expect(problems, bool(periodic), "periodic dead peer detection")
    return problems


# --- strongSwan ----------------------------------------------------------------------------


def _swan_children(text: str) -> list[list[str]]:
    blocks = re.findall(r"children \{\s*\S+ \{(.*?)\}", text, re.DOTALL)
    return [[line.strip() for line in block.splitlines() if line.strip()] for block in blocks]


def _swan_lan_vpc(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    for child in _swan_children(text):
        _expect(
            problems,
            "local_ts = 0.0.0.0/0" in child and "remote_ts = 0.0.0.0/0" in child,
            "selectors that pass every address",
        )
    _expect(problems, len(_swan_children(text)) == len(_tunnels(case)), "a child per tunnel")
    return problems


def _swan_both_tunnels(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    for number, ip in _tunnels(case):
        if case.parameters.static:
            _expect(
                problems,
                f"ip route add {case.parameters.vpc_cidr} dev ipsec{number}" in text,
                f"a route via ipsec{number}",
            )
        else:
            _expect(
                problems,
                f"neighbor {ip} remote-as {case.parameters.routing.amazon_asn}" in text,
                f"neighbour {ip}",
            )
    return problems


def _swan_mss(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    _expect(problems, f"--set-mss {case.parameters.tcp_mss}" in text, "TCPMSS clamp")
    for number, _ in _tunnels(case):
        _expect(
            problems,
            f"ip link set ipsec{number} mtu {case.parameters.mtu} up" in text,
            f"ipsec{number} MTU",
        )
    return problems


def _swan_reinitiates(text: str, case: RenderedCase) -> list[str]:
    problems: list[str] = []
    close = "close_action = none" if case.parameters.ipsec.aws_initiates else "close_action = start"
    for child in _swan_children(text):
        _expect(problems, "start_action = start" in child, "start_action = start")
        _expect(problems, "dpd_action = restart" in child, "dpd_action = restart")
        _expect(problems, close in child, close)
    return problems


TRAFFIC: dict[str, dict[str, Check]] = {
    "juniper-srx.txt": {
        LAN_VPC: _junos_lan_vpc,
        BGP_INSTALLED: _junos_bgp_installed,
        BOTH_TUNNELS: _junos_both_tunnels,
        MSS: _junos_mss,
        REINITIATES: _junos_reinitiates,
    },
    "palo-alto-panos.txt": {
        LAN_VPC: _panos_lan_vpc,
        BGP_INSTALLED: _panos_bgp_installed,
        BOTH_TUNNELS: _panos_both_tunnels,
        MSS: _panos_mss,
        REINITIATES: _panos_reinitiates,
    },
    "fortinet-fortigate.txt": {
        LAN_VPC: _forti_lan_vpc,
        BGP_INSTALLED: _forti_bgp_installed,
        BOTH_TUNNELS: _forti_both_tunnels,
        MSS: _forti_mss,
        REINITIATES: _forti_reinitiates,
    },
    "cisco-ios-vti.txt": {
        LAN_VPC: _cisco_lan_vpc,
        BGP_INSTALLED: _cisco_bgp_installed,
        BOTH_TUNNELS: _cisco_both_tunnels,
        MSS: _cisco_mss,
        REINITIATES: _cisco_reinitiates,
    },
    # strongSwan's routing is commands for Linux and FRRouting, printed as notes.
    "swanctl.conf": {
        LAN_VPC: _swan_lan_vpc,
        BOTH_TUNNELS: _swan_both_tunnels,
        MSS: _swan_mss,
        REINITIATES: _swan_reinitiates,
    },
}
# Every property of every vendor on every case it applies to (BGP's only with BGP).
CHECKS = [
    (case, filename, prop)
    for case in CASE_NAMES
    for filename, props in TRAFFIC.items()
    for prop in props
    if prop != BGP_INSTALLED or CASE_ROUTING[case] == Routing.BGP
]


@pytest.fixture(scope="module")
def cases(django_db_setup, django_db_blocker):
    """Every case's device files, rendered once."""
    return rendered_cases(django_db_blocker)


@pytest.mark.parametrize(
    ("case", "filename", "prop"), CHECKS, ids=[f"{c}-{f}:{p}" for c, f, p in CHECKS]
)
def test_the_file_makes_traffic_flow(cases, case, filename, prop):
    rendered = cases[case]
    assert rendered.parameters.routing.type == CASE_ROUTING[case]
    problems = TRAFFIC[filename][prop](rendered.files[filename], rendered)
    assert problems == [], f"{case} {filename}: {prop}: missing {problems}"


@pytest.mark.parametrize(
    ("filename", "prop", "original", "broken"),
    [
        ("juniper-srx.txt", LAN_VPC, "to-vpc then permit", "to-vpc then deny"),
        ("palo-alto-panos.txt", BGP_INSTALLED, "install-route yes", "install-route no"),
        (
            "fortinet-fortigate.txt",
            BOTH_TUNNELS,
            "set distance 10\n        set priority 2",
            "set distance 20\n        set priority 2",
        ),
        ("cisco-ios-vti.txt", MSS, "crypto ipsec df-bit clear", "crypto ipsec df-bit set"),
        ("swanctl.conf", REINITIATES, "close_action = start", "close_action = none"),
        ("juniper-srx.txt", BOTH_TUNNELS, "qualified-next-hop st0.2", "qualified-next-hop st0.3"),
        ("juniper-srx.txt", REINITIATES, "tunnels immediately", "tunnels on-traffic"),
        ("palo-alto-panos.txt", LAN_VPC, "from vpn to trust", "from vpn to untrust"),
        ("palo-alto-panos.txt", REINITIATES, "passive-mode no", "passive-mode yes"),
        ("fortinet-fortigate.txt", LAN_VPC, 'set dstintf "internal"', 'set dstintf "wan1"'),
        ("fortinet-fortigate.txt", MSS, "set tcp-mss 1382", "set tcp-mss 1460"),
        ("cisco-ios-vti.txt", REINITIATES, "life forever", "life 3600"),
        ("cisco-ios-vti.txt", LAN_VPC, " tunnel mode ipsec ipv4", " ip access-group 101 in"),
    ],
)
def test_a_file_without_the_property_fails_its_check(cases, filename, prop, original, broken):
    """The definite errors the pack once had, put back: each check catches its own."""
    name = "bgp-ikev1-2tunnel-nat" if prop == BGP_INSTALLED else "static-ikev1-2tunnel-nat"
    case = cases[name]
    text = case.files[filename]
    assert original in text, (filename, original)
    assert TRAFFIC[filename][prop](text.replace(original, broken), case) != []
