"""FortiOS CLI checked against Fortinet's per-version schema.

Fortinet publishes the FortiOS configuration schema in its Ansible collection
`fortinet.fortios`, which the `ansible` package carries: each `config` table has a
module (`config vpn ipsec phase1-interface` is `fortios_vpn_ipsec_phase1_interface`)
whose `versioned_schema` lists every attribute, its type, its allowed values and the
FortiOS versions (`v_range`) that have it, down to each value. The schema is read from
the installed package with `ast` (the module is never imported or copied: the
collection is GPL-licensed).

`parse` reads the CLI (`config` / `edit` / `set` / `next` / `end`) into `Table`s; `check`
then looks up every table, attribute and value for each FortiOS version the file is
written for, and fails on what the schema lacks or a version does not have.
"""

import ast
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import ansible_collections.fortinet.fortios as fortios_collection

# A namespace package (no __init__ of its own): its folder is its only path.
MODULES = Path(next(iter(fortios_collection.__path__))) / "plugins" / "modules"

# The FortiOS releases the pack's file is written for (it says "6.4.4 to 7.6").
VERSIONS = ("v6.4.4", "v7.0.0", "v7.2.0", "v7.4.0", "v7.6.0")


@dataclass
class Entry:
    """One `edit` of a table, or the body of a table that has no entries."""

    name: str | None
    settings: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, "Table"] = field(default_factory=dict)
    line: int = 0


@dataclass
class Table:
    """One `config` block: its entries (`edit`), or one body without them."""

    path: str
    entries: list[Entry] = field(default_factory=list)
    line: int = 0


def parse(text: str) -> list[Table]:
    """The file's top-level `config` blocks, in order (notes skipped).

    Raises `ValueError` for a block that is not closed or a command out of place.
    """
    tables: list[Table] = []
    # A stack of (table, entry being filled).
    stack: list[tuple[Table, Entry]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        command = words[0]
        if command == "config":
            table = Table(path=" ".join(words[1:]), line=number)
            if stack:
                stack[-1][1].tables[table.path] = table
            else:
                tables.append(table)
            stack.append((table, Entry(name=None, line=number)))
        elif command == "edit":
            if not stack or len(words) != 2:
                raise ValueError(f"line {number}: edit outside a table: {line}")
            entry = Entry(name=words[1], line=number)
            stack[-1][0].entries.append(entry)
            stack[-1] = (stack[-1][0], entry)
        elif command == "set":
            if not stack or len(words) < 3:
                raise ValueError(f"line {number}: set without a table or a value: {line}")
            stack[-1][1].settings[words[1]] = words[2:]
        elif command == "next":
            if not stack or stack[-1][1].name is None:
                raise ValueError(f"line {number}: next without edit")
            stack[-1] = (stack[-1][0], Entry(name=None, line=number))
        elif command == "end":
            if not stack:
                raise ValueError(f"line {number}: end without config")
            table, body = stack.pop()
            if body.settings or body.tables:
                table.entries.append(body)
        else:
            raise ValueError(f"line {number}: unknown command {command!r}")
    if stack:
        raise ValueError(f"config {stack[-1][0].path} is not closed with end")
    return tables


@cache
def table_schema(path: str) -> dict | None:
    """The `versioned_schema` of the module for `config PATH`, or None if there is none."""
    module = MODULES / f"fortios_{re.sub(r'[ -]', '_', path)}.py"
    if not module.is_file():
        return None
    source = module.read_text()
    start = source.index("{", source.index("versioned_schema = "))
    depth = 0
    for position, char in enumerate(source[start:], start):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return ast.literal_eval(source[start : position + 1])
    raise ValueError(f"{module.name}: the schema is not closed")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _has(node: dict, version: str) -> bool:
    """Whether `node` (an attribute or a value) exists in FortiOS `version`."""
    ranges = node.get("v_range")
    if not ranges:
        return True
    wanted = _version(version)
    for start, end in ranges:
        if _version(start) <= wanted and (not end or wanted <= _version(end)):
            return True
    return False


def _check_value(name: str, spec: dict, values: list[str], version: str) -> str | None:
    kind = spec.get("type")
    if kind == "integer" and (len(values) != 1 or not values[0].isdigit()):
        return f"{name}: {' '.join(values)!r} is not a number"
    options = spec.get("options")
    if options:
        if kind != "list" and len(values) != 1:
            return f"{name}: one value expected, not {values}"
        known = {option["value"]: option for option in options}
        for value in values:
            if value not in known:
                shown = sorted(known) if len(known) <= 12 else [*sorted(known)[:12], "..."]
                return f"{name}: {value!r} is not one of {shown}"
            if not _has(known[value], version):
                return f"{name}: {value!r} is not in FortiOS {version}"
    return None


def _check_entry(entry: Entry, spec: dict, where: str, version: str) -> list[str]:
    problems = []
    children = spec.get("children", {})
    for attribute, values in entry.settings.items():
        key = attribute.replace("-", "_")
        child = children.get(key)
        # A table of names alone (`dstintf`, `srcaddr`) is set as a list of its names.
        is_table = "children" in child if child else False
        if child is None or (is_table and len(child["children"]) != 1):
            problems.append(f"{where}: no attribute {attribute!r}")
        elif not _has(child, version):
            problems.append(f"{where}: {attribute!r} is not in FortiOS {version}")
        elif problem := _check_value(attribute, child, values, version):
            problems.append(f"{where}: {problem}")
    for path, table in entry.tables.items():
        child = children.get(path.replace("-", "_"))
        if child is None or "children" not in child:
            problems.append(f"{where}: no table {path!r}")
            continue
        problems += _check_table(table, child, f"{where} > config {path}", version)
    return problems


def _check_table(table: Table, spec: dict, where: str, version: str) -> list[str]:
    if not _has(spec, version):
        return [f"{where}: not in FortiOS {version}"]
    problems = []
    has_entries = spec.get("type") == "list"
    for entry in table.entries:
        if has_entries != (entry.name is not None):
            kind = "entries (edit)" if has_entries else "no entries"
            problems.append(f"{where} (line {entry.line}): the table has {kind}")
            continue
        label = f"{where} > edit {entry.name}" if entry.name else where
        problems += _check_entry(entry, spec, label, version)
    return problems


def check(text: str, versions: tuple[str, ...] = VERSIONS) -> list[str]:
    """Every problem Fortinet's schema finds in the file, for each FortiOS version."""
    try:
        tables = parse(text)
    except ValueError as error:
        return [str(error)]
    problems: list[str] = []
    for table in tables:
        spec = table_schema(table.path)
        if spec is None:
            problems.append(f"config {table.path} (line {table.line}): no such table")
            continue
        for version in versions:
            for problem in _check_table(table, spec, f"config {table.path}", version):
                if problem not in problems:
                    problems.append(problem)
    return problems


def entries(tables: list[Table], path: str) -> list[Entry]:
    """Every entry of the top-level tables `config PATH` (for the semantic checks)."""
    return [entry for table in tables if table.path == path for entry in table.entries]
