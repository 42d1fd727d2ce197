"""EC2 ``Filter.N`` semantics for the describe calls the sandbox answers itself.

A resource matches when every filter matches; a filter matches when any of its values
matches any of the resource's values for that name. Values may use ``*`` and ``?``
wildcards, as in EC2. Tag filters come in three forms: ``tag:<key>`` (value of that tag),
``tag-key`` and ``tag-value``. An unknown filter name is refused as AWS refuses it.
"""

from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from sandbox.errors import invalid_parameter

T = TypeVar("T")

FieldValue = str | int | bool | list[str] | None


def _values(name: str, fields: Mapping[str, FieldValue], tags: Mapping[str, str]) -> list[str]:
    if name.startswith("tag:"):
        key = name[len("tag:") :]
        return [tags[key]] if key in tags else []
    if name == "tag-key":
        return list(tags)
    if name == "tag-value":
        return list(tags.values())
    value = fields[name]
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        # EC2 spells booleans in lower case in filters too.
        return [str(value).lower()]
    return [str(value)]


def _is_tag_filter(name: str) -> bool:
    return name.startswith("tag:") or name in ("tag-key", "tag-value")


def select(
    items: Iterable[T],
    filters: Mapping[str, list[str]],
    fields: Callable[[T], Mapping[str, FieldValue]],
    tags: Callable[[T], Mapping[str, str]],
    known: Iterable[str],
) -> list[T]:
    """The items that pass every filter.

    ``fields(item)`` gives the item's filterable values by filter name (all names in
    ``known``), ``tags(item)`` its tags.
    """
    known = set(known)
    for name in filters:
        if not _is_tag_filter(name) and name not in known:
            raise invalid_parameter(f"The filter '{name}' is invalid")
    selected = []
    for item in items:
        item_fields: Mapping[str, Any] = fields(item) if filters else {}
        item_tags = tags(item) if any(map(_is_tag_filter, filters)) else {}
        if all(
            any(
                fnmatchcase(value, pattern)
                for value in _values(name, item_fields, item_tags)
                for pattern in patterns
            )
            for name, patterns in filters.items()
        ):
            selected.append(item)
    return selected
