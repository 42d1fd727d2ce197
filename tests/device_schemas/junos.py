"""Junos `set` commands checked against the Junos schema that `junoscfg` ships.

`junoscfg` carries the configuration tree of Junos 24.4 generated from Juniper's XSD
(`validate/data/junos-structure-tree.json`): for every statement its children, whether
it is a container, a named list, a leaf (with its enumerated values or type) or a
flag. Every `set` line of the file is walked through that tree token by token; a
keyword the tree does not have, a value outside a leaf's enumeration or of the wrong
type, or a line cut short fails.

The bundled tree is a router's: it lacks the SRX's security zones, policies, flow
options and address book. Those statements are added from Juniper's CLI reference
(`security-zone`, `policy (Security Policies)`, `tcp-mss (Security Flow)`,
`address-book`) in the same form, and nothing else is.

`parse` returns the lines as token lists, and `statements` the lines under a prefix,
for the semantic checks.
"""

import ipaddress
import json
import shlex
from functools import cache
from pathlib import Path

import junoscfg

SCHEMA_FILE = Path(junoscfg.__file__).parent / "validate" / "data" / "junos-structure-tree.json"

_SYSTEM_SERVICES = [
    "all",
    "any-service",
    "appqoe",
    "bootp",
    "dhcp",
    "dhcpv6",
    "dns",
    "finger",
    "ftp",
    "http",
    "https",
    "ident-reset",
    "ike",
    "lsping",
    "netconf",
    "ntp",
    "ping",
    "r2cp",
    "reverse-ssh",
    "reverse-telnet",
    "rlogin",
    "rpm",
    "rsh",
    "snmp",
    "snmp-trap",
    "ssh",
    "telnet",
    "tftp",
    "traceroute",
    "xnm-clear-text",
    "xnm-ssl",
]
_PROTOCOLS = [
    "all",
    "bfd",
    "bgp",
    "dvmrp",
    "igmp",
    "ldp",
    "msdp",
    "nhrp",
    "ospf",
    "ospf3",
    "pgm",
    "pim",
    "rip",
    "ripng",
    "router-discovery",
    "rsvp",
    "sap",
    "vrrp",
]


def _host_inbound() -> dict:
    return {
        "c": {
            "system-services": {"L": True, "names": _SYSTEM_SERVICES, "c": {"except": {"p": True}}},
            "protocols": {"L": True, "names": _PROTOCOLS, "c": {"except": {"p": True}}},
        }
    }


def _addresses() -> dict:
    return {"l": True, "ll": True}


# The SRX statements the bundled router schema lacks, in its own node format: "c"
# children, "L" a named list, "l" a leaf ("ll" several values), "p" a flag, "nk" a
# leaf whose value comes without its keyword, "tr" the value's type.
SRX_SECURITY = {
    "zones": {
        "c": {
            "security-zone": {
                "L": True,
                "c": {
                    "interfaces": {"L": True, "c": {"host-inbound-traffic": _host_inbound()}},
                    "host-inbound-traffic": _host_inbound(),
                    "description": {"l": True},
                },
            }
        }
    },
    "policies": {
        "c": {
            "from-zone": {
                "L": True,
                "c": {
                    "to-zone": {
                        "L": True,
                        "c": {
                            "policy": {
                                "L": True,
                                "c": {
                                    "match": {
                                        "c": {
                                            "source-address": _addresses(),
                                            "destination-address": _addresses(),
                                            "application": _addresses(),
                                        }
                                    },
                                    "then": {
                                        "c": {
                                            "permit": {"p": True},
                                            "deny": {"p": True},
                                            "reject": {"p": True},
                                            "log": {
                                                "c": {
                                                    "session-init": {"p": True},
                                                    "session-close": {"p": True},
                                                }
                                            },
                                        }
                                    },
                                    "description": {"l": True},
                                },
                            }
                        },
                    }
                },
            }
        }
    },
    "flow": {
        "c": {
            "tcp-mss": {
                "c": {
                    "ipsec-vpn": {"c": {"mss": {"l": True, "tr": "xsd:unsignedInt"}}},
                    "all-tcp": {"c": {"mss": {"l": True, "tr": "xsd:unsignedInt"}}},
                }
            }
        }
    },
    "address-book": {
        "L": True,
        "c": {
            "address": {
                "L": True,
                "c": {
                    "ip-prefix": {"l": True, "nk": True, "tr": "ipprefix-mandatory"},
                    "description": {"l": True},
                },
            }
        },
    },
}


@cache
def schema() -> dict:
    """The bundled Junos tree, with the SRX statements added under `security`."""
    tree = json.loads(SCHEMA_FILE.read_text())
    security = tree["c"]["security"]["c"]
    for name, node in SRX_SECURITY.items():
        # Only what the router schema lacks: nothing of it is replaced.
        assert name not in security, f"junoscfg now has security {name}: drop the addition"
        security[name] = node
    return tree


def parse(text: str) -> list[list[str]]:
    """The `set` lines of the file as tokens (quotes removed); notes are skipped."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(shlex.split(line))
    return lines


def statements(text: str, *prefix: str) -> list[list[str]]:
    """The `set` lines that start with `prefix` (after `set`), without it."""
    count = len(prefix)
    return [
        tokens[1 + count :]
        for tokens in parse(text)
        if tokens[0] == "set" and tokens[1 : 1 + count] == list(prefix)
    ]


def _value_problem(node: dict, name: str, value: str) -> str | None:
    tree = schema()
    if "e" in node:
        allowed = tree["_enums"][node["e"]]
        # A one-value enumeration naming the leaf itself is an artefact of the XSD's
        # choice groups (`address` of an IKE gateway), not a restriction.
        if allowed != [name] and value not in allowed:
            return f"{value!r} is not one of {allowed}"
    kind = node.get("tr", "")
    try:
        if kind.startswith(("xsd:unsigned", "xsd:int")) and not value.isdigit():
            return f"{value!r} is not a number"
        if kind == "ipv4addr":
            ipaddress.IPv4Address(value)
        elif kind == "ipaddr":
            ipaddress.ip_address(value.split("/")[0])
        elif kind in ("ipv4prefix", "ipprefix", "ipprefix-mandatory", "ipv4prefix-mandatory"):
            if "/" not in value:
                return f"{value!r} is not a prefix"
            ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"{value!r} is not a valid {kind}"
    return None


def _check_line(tokens: list[str]) -> str | None:
    node = schema()
    where: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        children = node.get("c", {})
        child = children.get(token)
        if child is None:
            leaf = next(
                ((name, sub) for name, sub in children.items() if sub.get("nk") and sub.get("l")),
                None,
            )
            if leaf is not None:
                problem = _value_problem(leaf[1], leaf[0], token)
                if problem:
                    return f"{' '.join(where)}: {problem}"
                index += 1
                continue
            list_name = node.get("t")
            if list_name and list_name in children:
                node = children[list_name]
                where += [token]
                index += 1
                continue
            return f"unknown statement {token!r} after {' '.join(where) or 'set'!r}"
        where.append(token)
        if child.get("L"):
            if index + 1 >= len(tokens):
                return f"{' '.join(where)}: a name is missing"
            name = tokens[index + 1]
            if "names" in child and name not in child["names"]:
                return f"{' '.join(where)}: {name!r} is not one of {child['names']}"
            where.append(name)
            node = child
            index += 2
        elif child.get("l"):
            values = tokens[index + 1 :] if child.get("ll") else tokens[index + 1 : index + 2]
            if not values:
                return f"{' '.join(where)}: a value is missing"
            for value in values:
                problem = _value_problem(child, token, value)
                if problem:
                    return f"{' '.join(where)}: {problem}"
            index += 1 + len(values)
        elif child.get("p"):
            node = child if child.get("c") else node
            index += 1
        else:
            node = child
            index += 1
    return None


def check(text: str) -> list[str]:
    """Every problem the schema finds in the file, one per line at fault."""
    problems = []
    for number, tokens in enumerate(parse(text), 1):
        if tokens[0] != "set":
            problems.append(f"command {number}: not a set command: {' '.join(tokens)}")
            continue
        problem = _check_line(tokens[1:])
        if problem:
            problems.append(f"{' '.join(tokens)}\n    {problem}")
    return problems
