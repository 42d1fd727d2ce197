"""Cisco IOS configuration checked by `ciscoconfparse` and Cisco's command keywords.

`ciscoconfparse` reads the file the way IOS does: each line belongs to the line above
it with less indentation (an interface and its commands, a crypto profile and its
settings, `router bgp` and its address family), comments (`!`) are no commands. Cisco
publishes no machine-readable grammar for IOS, so each line is then matched against
the commands of Cisco's command references that this file may use, in the mode
(parent) where IOS accepts them, with the ranges those references give for numbers
(`ip tcp adjust-mss` 500 to 1460, `dpd` 10 to 3600 seconds, an ISAKMP policy 1 to
10000...). A command unknown in its mode, a value outside its range, an address or
mask that is not one, fails.

`parse` gives the parsed configuration to the semantic checks.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import cache

from ciscoconfparse import CiscoConfParse

# Pieces of the command patterns below.
_PIECES = {
    "name": r"[A-Za-z0-9][\w.-]*",
    "key": r"\S+",
    "text": r".+",
    "iface": r"(?:GigabitEthernet|TenGigabitEthernet|FastEthernet|Ethernet|Dialer|Vlan|"
    r"Port-channel|Loopback|Tunnel|Null)\d+(?:/\d+)*(?:\.\d+)?",
}

# Each mode: a command pattern, and the patterns of the commands in its mode. `{ip}`
# and `{mask}` are checked as an address and a netmask, `{n:LOW-HIGH}` as a number in
# that range (Cisco IOS command references: Security, IP SLAs, IP Routing, BGP).
GRAMMAR: dict[str, tuple] = {
    "crypto ikev2 proposal {name}": (
        "encryption (?:aes-cbc-128|aes-cbc-192|aes-cbc-256|aes-gcm-128|aes-gcm-256)",
        "integrity (?:sha1|sha256|sha384|sha512)",
        "group (?:1|2|5|14|15|16|19|20|21|24)",
    ),
    "crypto ikev2 policy {name}": ("proposal {name}",),
    "crypto ikev2 keyring {name}": {
        "peer {name}": ("address {ip}(?: {mask})?", "pre-shared-key(?: (?:local|remote))? {key}"),
    },
    "crypto ikev2 profile {name}": (
        "match identity remote address {ip} {mask}",
        "identity local address {ip}",
        "authentication (?:remote|local) pre-share",
        "keyring local {name}",
        "lifetime {n:120-86400}",
        "dpd {n:10-3600} {n:2-60} (?:on-demand|periodic)",
    ),
    "crypto isakmp policy {n:1-10000}": (
        "encryption (?:aes(?: 128| 192| 256)?|3des)",
        "hash (?:sha|sha256|sha384|sha512)",
        "authentication pre-share",
        "group (?:1|2|5|14|15|16|19|20|21|24)",
        "lifetime {n:60-86400}",
    ),
    "crypto isakmp keepalive {n:10-3600} {n:2-60} (?:on-demand|periodic)": (),
    "crypto keyring {name}": (
        "local-address {iface}",
        "pre-shared-key address {ip}(?: {mask})? key {key}",
    ),
    "crypto isakmp profile {name}": (
        "keyring {name}",
        "match identity address {ip} {mask}",
        "local-address {iface}",
    ),
    "crypto ipsec transform-set {name} esp-aes(?: 128| 192| 256)? "
    "(?:esp-sha-hmac|esp-sha256-hmac|esp-sha384-hmac|esp-sha512-hmac)": (
        "mode (?:tunnel|transport)",
    ),
    "crypto ipsec df-bit (?:clear|set|copy)": (),
    "crypto ipsec profile {name}": (
        "set transform-set {name}",
        "set pfs group(?:1|2|5|14|15|16|19|20|21|24)",
        "set security-association lifetime seconds {n:120-2592000}",
        "set security-association replay window-size (?:64|128|256|512|1024)",
        "set ikev2-profile {name}",
    ),
    "interface Tunnel{n:0-2147483647}": (
        "description {text}",
        "ip address {ip} {mask}",
        "ip mtu {n:68-9976}",
        "ip tcp adjust-mss {n:500-1460}",
        "tunnel source {iface}",
        "tunnel mode ipsec ipv4",
        "tunnel destination {ip}",
        "tunnel protection ipsec profile {name}",
        "ip virtual-reassembly(?: in| out)?",
        "no shutdown",
    ),
    "ip sla {n:1-2147483647}": (
        "icmp-echo {ip}(?: source-interface {iface}| source-ip {ip})?",
        "timeout {n:0-604800000}",
        "frequency {n:1-604800}",
    ),
    "ip sla schedule {n:1-2147483647} life (?:forever|{n:1-2147483647}) start-time now": (),
    "track {n:1-1000} ip sla {n:1-2147483647} (?:reachability|state)": (),
    "ip route {ip} {mask} (?:{iface}|{ip})(?: {n:1-255})?(?: track {n:1-1000})?": (),
    "router bgp {n:1-4294967295}": {
        "bgp log-neighbor-changes": (),
        "neighbor {ip} remote-as {n:1-4294967295}": (),
        "neighbor {ip} timers {n:0-65535} {n:0-65535}(?: {n:0-65535})?": (),
        "address-family ipv4(?: unicast)?": (
            "neighbor {ip} activate",
            "neighbor {ip} soft-reconfiguration inbound",
            "network {ip} mask {mask}",
        ),
        "exit-address-family": (),
    },
    "end": (),
}


@dataclass(frozen=True)
class Pattern:
    """A command pattern compiled: its regular expression and the checks of its pieces."""

    source: str
    regex: re.Pattern
    # Per captured group: "ip", "mask" or a (low, high) range.
    checks: dict[str, object]

    def problem(self, line: str) -> str | None:
        """None if `line` is this command with valid values; else what is wrong."""
        match = self.regex.fullmatch(line)
        if match is None:
            return "no such command"
        for group, check in self.checks.items():
            value = match.group(group)
            if value is None:
                continue
            if check == "ip":
                try:
                    ipaddress.IPv4Address(value)
                except ValueError:
                    return f"{value!r} is not an IPv4 address"
            elif check == "mask":
                try:
                    ipaddress.IPv4Network(f"0.0.0.0/{value}")
                except ValueError:
                    return f"{value!r} is not a netmask"
            else:
                low, high = check
                if not low <= int(value) <= high:
                    return f"{value} is outside {low} to {high}"
        return None


def _compile(source: str) -> Pattern:
    checks: dict[str, object] = {}

    def piece(match: re.Match) -> str:
        name = f"g{len(checks)}"
        kind = match.group(1)
        if kind in ("ip", "mask"):
            checks[name] = kind
            return rf"(?P<{name}>\d+\.\d+\.\d+\.\d+)"
        if kind.startswith("n:"):
            low, high = (int(part) for part in kind[2:].split("-"))
            checks[name] = (low, high)
            return rf"(?P<{name}>\d+)"
        return _PIECES[kind]

    regex = re.sub(r"\{([a-z]+(?::\d+-\d+)?)\}", piece, source)
    return Pattern(source=source, regex=re.compile(regex), checks=checks)


@cache
def _mode(path: tuple[str, ...]) -> list[tuple[Pattern, tuple[str, ...]]]:
    """The commands of the mode reached through the patterns in `path`."""
    grammar: dict | tuple = GRAMMAR
    for source in path:
        if isinstance(grammar, tuple):
            # A command of a mode that has no mode of its own.
            grammar = ()
            break
        grammar = grammar[source]
    return [(_compile(source), (*path, source)) for source in grammar]


def parse(text: str) -> CiscoConfParse:
    """The configuration as IOS reads it: commands with their parents and children."""
    return CiscoConfParse(text.splitlines(), syntax="ios", ignore_blank_lines=False)


def _check_children(
    objects, path: tuple[str, ...], mode: str = "global configuration"
) -> list[str]:
    problems = []
    commands = _mode(path)
    for obj in objects:
        if obj.is_comment:
            continue
        line = obj.text.strip()
        best = None
        for pattern, sub_path in commands:
            problem = pattern.problem(line)
            if problem is None:
                problems += _check_children(obj.children, sub_path, repr(line))
                break
            if problem != "no such command":
                best = problem
        else:
            problems.append(
                f"line {obj.linenum + 1}: {line!r} in {mode}: {best or 'no such command'}"
            )
    return problems


def check(text: str) -> list[str]:
    """Every line IOS would refuse: unknown in its mode, or with a value out of range."""
    config = parse(text)
    top = [obj for obj in config.ConfigObjs if obj.parent is obj]
    return _check_children(top, ())
