"""PAN-OS `set` commands checked against the paths `pan-os-python` defines.

`pan-os-python` (Palo Alto Networks' own library) describes every configuration object
it manages by its XPath (`/network/ike/gateway`, one `entry` per name) and each
parameter by its path below the object (`protocol/ikev2/dpd/enable`), its type (yes/no,
number, member list...) and its allowed values, per PAN-OS version. PAN-OS's `set`
commands walk the same tree: `set network ike gateway NAME protocol ikev2 dpd enable
yes` sets that path. Here the objects a VPN configuration touches (zones, tunnel
interfaces, virtual routers with their static routes, BGP and redistribution, IKE and
IPsec objects, address objects, security rules) are laid out as a tree of keywords for
a PAN-OS version, and each `set` line is walked through it: an unknown keyword, a
missing name or value, or a value outside a parameter's values fails.

What pan-os-python does not model is added from the PAN-OS CLI reference and nothing
else: the monitor profiles of tunnel monitoring (`network profiles monitor-profile`).

`leaves` gives every value a file sets, by path, for the semantic checks.
"""

import re
import shlex
from dataclasses import dataclass, field
from functools import cache

from panos import network, objects, policies
from panos.base import ENTRY
from panos.firewall import Firewall

# The PAN-OS releases the pack's file is written for (it says "10.1 to 11.2"); the
# library's newest profiles apply to every later release.
VERSIONS = ("10.1.0", "11.1.0")

ROOTS = (
    network.Zone,
    network.TunnelInterface,
    network.VirtualRouter,
    network.IkeGateway,
    network.IpsecTunnel,
    network.IkeCryptoProfile,
    network.IpsecCryptoProfile,
    objects.AddressObject,
    policies.Rulebase,
)
_MODULES = {"network": network, "objects": objects, "policies": policies}


@dataclass
class Leaf:
    """A parameter: how its value is written, and which values it takes."""

    vartype: str | None
    values: tuple[str, ...] = ()


@dataclass
class Node:
    """A keyword of the CLI: its keywords below, what a name or value it takes."""

    children: dict[str, "Node"] = field(default_factory=dict)
    # A keyword naming entries (`gateway NAME`): the node of one entry.
    entry: "Node | None" = None
    # Elements named by a parameter's value (`protocol-common ... {auth_type}`).
    choices: list[tuple[tuple[str, ...], "Node"]] = field(default_factory=list)
    leaf: Leaf | None = None

    def child(self, name: str) -> "Node":
        """The keyword `name` below, created if need be."""
        return self.children.setdefault(name, Node())

    def choice(self, values: tuple[str, ...]) -> "Node":
        """The element named by one of `values`, created if need be."""
        for known, node in self.choices:
            if known == values:
                return node
        node = Node()
        self.choices.append((values, node))
        return node


def _segments(path: str) -> list[str]:
    return [segment for segment in path.strip("/").split("/") if segment]


def _add_object(instance, parent_node: Node, version: tuple[int, int, int]) -> None:
    node = parent_node
    for segment in _segments(instance.XPATH):
        node = node.child(segment)
    if instance.SUFFIX == ENTRY:
        node.entry = node.entry or Node()
        node = node.entry
    declared = instance.__dict__.get("_params", ())
    params = {param.name: param._get_versioned_value(version) for param in declared}
    values = {name: tuple(path.values) for name, path in params.items()}
    for path in params.values():
        if path.exclude or path.vartype == "attrib" or path.path is None or "|" in path.path:
            continue
        target = node
        segments = _segments(path.path)
        for segment in segments:
            variable = re.fullmatch(r"\{(\w+)\}", segment)
            if variable:
                target = target.choice(values.get(variable.group(1), ()))
            else:
                target = target.child(segment)
        # A parameter whose path ends in its own variable is the choice itself.
        if segments and segments[-1] == f"{{{path.param}}}":
            continue
        target.leaf = Leaf(vartype=path.vartype, values=tuple(path.values))
    for child_type in getattr(instance, "CHILDTYPES", ()):
        module, name = child_type.split(".")
        if module not in _MODULES:
            continue
        child = getattr(_MODULES[module], name)()
        instance.add(child)
        _add_object(child, node, version)


def _add_monitor_profiles(root: Node) -> None:
    """`network profiles monitor-profile NAME action|interval|threshold`: the tunnel
    monitor's profiles, which pan-os-python does not model (PAN-OS CLI reference)."""
    profile = root.child("network").child("profiles").child("monitor-profile")
    profile.entry = Node()
    profile.entry.child("action").leaf = Leaf(vartype=None, values=("wait-recover", "fail-over"))
    profile.entry.child("interval").leaf = Leaf(vartype="int")
    profile.entry.child("threshold").leaf = Leaf(vartype="int")


@cache
def schema(version: str) -> Node:
    """The keyword tree of the objects in `ROOTS`, for PAN-OS `version`."""
    firewall = Firewall()
    firewall._set_version_and_version_info(version)
    root = Node()
    for root_type in ROOTS:
        instance = root_type()
        firewall.add(instance)
        _add_object(instance, root, firewall._version_info)
    _add_monitor_profiles(root)
    return root


def _value_problem(leaf: Leaf, values: list[str]) -> str | None:
    for value in values:
        if leaf.vartype == "int" and not value.isdigit():
            return f"{value!r} is not a number"
        if leaf.vartype == "yesno" and value not in ("yes", "no"):
            return f"{value!r} is not yes or no"
        if leaf.values and value not in leaf.values:
            return f"{value!r} is not one of {list(leaf.values)}"
    return None


def _values(tokens: list[str], index: int, leaf: Leaf) -> tuple[list[str], int]:
    """The value (or bracketed values) at `index`, and the index after them."""
    if leaf.vartype == "exist":
        return [], index
    if index < len(tokens) and tokens[index] == "[" and leaf.vartype in ("member", "entry"):
        end = tokens.index("]", index)
        return tokens[index + 1 : end], end + 1
    return tokens[index : index + 1], index + 1


def walk(tokens: list[str], version: str) -> tuple[list[tuple[tuple[str, ...], list[str]]], str]:
    """The values one `set` line sets, by path, and the problem it has ('' if none).

    As in the PAN-OS CLI, a value may be followed by another keyword of the same
    level (`dpd enable yes interval 10`).
    """
    found: list[tuple[tuple[str, ...], list[str]]] = []
    # The nodes from the root down to where the line is, with their paths.
    trail: list[tuple[Node, tuple[str, ...]]] = [(schema(version), ())]
    complete = True
    index = 0
    while index < len(tokens):
        node, path = trail[-1]
        token = tokens[index]
        where = " ".join(path) or "set"
        if node.entry is not None:
            trail.append((node.entry, (*path, token)))
            index += 1
            complete = True
            continue
        # A keyword may be both an object's own element and a parameter's value
        # (`auto-key` of an IPsec tunnel): the one that knows the next token wins.
        candidates = [n for values, n in node.choices if token in values]
        if token in node.children:
            candidates.insert(0, node.children[token])
        if candidates:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            chosen = next((n for n in candidates if following in n.children), candidates[0])
            trail.append((chosen, (*path, token)))
            index += 1
        elif node.leaf is None:
            return found, f"unknown keyword {token!r} after {where!r}"
        node, path = trail[-1]
        # An element named by a parameter's value is complete by itself (`type ebgp`).
        complete = bool(candidates) and chosen is not trail[-2][0].children.get(token)
        at_value = index < len(tokens) and tokens[index] not in node.children
        if node.leaf is not None and (at_value or node.leaf.vartype == "exist"):
            values, index = _values(tokens, index, node.leaf)
            if problem := _value_problem(node.leaf, values):
                return found, f"{' '.join(path)}: {problem}"
            found.append((path, values))
            trail.pop()
            complete = True
    node, path = trail[-1]
    if not complete:
        missing = "a name" if node.entry is not None else "a value"
        return found, f"{' '.join(path)}: {missing} is missing"
    return found, ""


def parse(text: str) -> list[list[str]]:
    """The `set` lines of the file as tokens (quotes removed); notes are skipped."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(shlex.split(line))
    return lines


def check(text: str, versions: tuple[str, ...] = VERSIONS) -> list[str]:
    """Every problem pan-os-python's paths find in the file, for each version."""
    problems = []
    for tokens in parse(text):
        if tokens[0] != "set":
            problems.append(f"not a set command: {' '.join(tokens)}")
            continue
        for version in versions:
            _, problem = walk(tokens[1:], version)
            if problem:
                problems.append(f"{' '.join(tokens)}\n    PAN-OS {version}: {problem}")
                break
    return problems


def leaves(text: str) -> dict[tuple[str, ...], list[str]]:
    """Every value the file sets, by its path (names included), for the newest version."""
    found: dict[tuple[str, ...], list[str]] = {}
    for tokens in parse(text):
        for path, values in walk(tokens[1:], VERSIONS[-1])[0]:
            found.setdefault(path, []).extend(values)
    return found
