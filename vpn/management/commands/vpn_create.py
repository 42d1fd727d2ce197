"""`python manage.py vpn_create --from-json FILE [--approve]`: create a VPN request from a
JSON file, through the same intake rules as the forms, and print its id.

The JSON keys are the intake fields `vpn.intake_fields` declares (`--help` lists them with
an example each; docs/intake.md explains them). Invalid input prints every error as
"field: message" and exits non-zero; nothing is written.
"""

import argparse
import json
import sys

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from vpn.choices import RequestOrigin
from vpn.intake_fields import ALL_FIELDS, INTAKE_FIELDS, JSON_KEYS
from vpn.management.commands.vpn_invite import error_lines, user_named
from vpn.selectors.intake import request_duplicates
from vpn.services.intake import request_approve, request_create
from vpn.validation import IntakeInvalid, intake_clean

# The location's fields, by their key inside the "location" object.
_LOCATION_FIELDS = {
    spec.name.removeprefix("location_"): spec.name
    for spec in INTAKE_FIELDS
    if spec.key == "location"
}
# Intake fields reported under the JSON key they came from.
_REPORTED_AS = {spec.name: spec.key for spec in INTAKE_FIELDS if spec.key != spec.name}


def _json_text(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _json_keys_help() -> str:
    """Every JSON key with an example, and when it is needed."""
    lines = ["JSON keys (docs/intake.md explains them):"]
    for key in JSON_KEYS:
        specs = [spec for spec in INTAKE_FIELDS if spec.key == key]
        spec = specs[0]
        if len(specs) > 1:
            # Fields sharing a key are one object: {"city": ..., "country": ...}.
            example = _json_text({one.name.removeprefix(f"{key}_"): one.example for one in specs})
        else:
            example = _json_text(spec.example)
        if spec.required and spec.routing:
            when = f'needed with "routing": "{spec.routing}"'
        elif spec.routing:
            when = f'only with "routing": "{spec.routing}"'
        elif spec.required:
            when = "needed"
        elif spec.default not in ("", None, ()):
            when = f"default {_json_text(spec.default)}"
        else:
            when = ""
        lines.append(f"  {key:<20} {example}" + (f"  ({when})" if when else ""))
    lines.append('Give "region", or a "location" to have the nearest region chosen.')
    return "\n".join(lines)


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's help layout, with the list of keys kept as written."""


def intake_from_json(data: object) -> tuple[dict[str, object], dict[str, list[str]]]:
    """The raw intake values of a parsed JSON document, and the errors of its shape."""
    if not isinstance(data, dict):
        return {}, {"(file)": ["The JSON must be an object of the keys in docs/intake.md."]}
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in JSON_KEYS:
            errors[str(key)] = [f"Unknown key; the keys are {', '.join(JSON_KEYS)}."]
    # Keys that are a field themselves (the location is taken apart below).
    raw = {key: value for key, value in data.items() if key in JSON_KEYS and key in ALL_FIELDS}
    location = data.get("location")
    if isinstance(location, dict):
        unknown = set(location) - set(_LOCATION_FIELDS)
        if unknown:
            errors["location"] = ['Give the location as {"city": ..., "country": ...}.']
        for part, name in _LOCATION_FIELDS.items():
            raw[name] = location.get(part)
    elif isinstance(location, str):
        city, _, country = location.rpartition(",") if "," in location else (location, "", "")
        raw[_LOCATION_FIELDS["city"]] = city.strip()
        raw[_LOCATION_FIELDS["country"]] = country.strip()
    elif location is not None:
        errors["location"] = [
            'Give the location as {"city": ..., "country": ...} or "City, Country".'
        ]
    return raw, errors


class Command(BaseCommand):
    """Create a complete VPN request from JSON, submitted for review (or approved)."""

    help = "Create a VPN request from a JSON file and print its id."

    def create_parser(self, prog_name, subcommand, **kwargs):
        """Django's parser, with the JSON keys listed after the options."""
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("epilog", _json_keys_help())
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        """The file, and whether to approve at once."""
        parser.add_argument(
            "--from-json", required=True, metavar="FILE", help="The request as JSON ('-': stdin)."
        )
        parser.add_argument(
            "--approve", action="store_true", help="Approve the request once created."
        )
        parser.add_argument("--owner", help="Username of the responsible solutions engineer.")

    def handle(self, *args, **options):
        """Read, check with the intake rules, create; print the id on its own line."""
        path = options["from_json"]
        try:
            if path == "-":
                data = json.load(sys.stdin)
            else:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc

        raw, errors = intake_from_json(data)
        if "(file)" in errors:
            raise CommandError(error_lines(errors))
        values = {}
        try:
            values = intake_clean(raw, fields=ALL_FIELDS, complete=True, staff=True).values
        except IntakeInvalid as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(_REPORTED_AS.get(field, field), []).extend(messages)
        if errors:
            raise CommandError(error_lines(errors))

        owner = user_named(options["owner"])
        request = request_create(
            values=values,
            owner=owner,
            submit=True,
            actor_label="vpn_create",
            origin=RequestOrigin.COMMAND,
        )
        if options["approve"]:
            request_approve(request_id=request.pk, actor=owner, actor_label="vpn_create")
            request.refresh_from_db()
        self.stdout.write(str(request.pk))
        self.stderr.write(
            f"{request.reference} for {request.customer.name}: {request.get_stage_display()}, "
            f"region {request.region}."
        )
        for duplicate in request_duplicates(request=request):
            self.stderr.write(
                f"Warning: possible duplicate of {duplicate.reference} "
                f"({duplicate.get_stage_display()}), open for the same org and gateway IP."
            )
