"""`python manage.py vpn_create --from-json FILE [--approve]`: create a VPN request from a
JSON file, through the same intake rules as the forms, and print its id.

The JSON keys are documented in docs/intake.md. Invalid input prints every error as
"field: message" and exits non-zero; nothing is written.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from vpn.management.commands.vpn_invite import error_lines, user_named
from vpn.selectors.intake import request_duplicates
from vpn.services.intake import request_approve, request_create
from vpn.validation import ALL_FIELDS, IntakeInvalid, intake_clean

JSON_KEYS = (
    "customer_name",
    "org_id",
    "contact_name",
    "contact_email",
    "region",
    "location",
    "gateway_ip",
    "routing",
    "subnets",
    "asn",
    "advertised_prefixes",
    "ike_version",
    "tunnels",
    "nat",
    "device",
)
# Intake fields reported under the JSON key they came from.
_REPORTED_AS = {"location_city": "location", "location_country": "location"}


def intake_from_json(data: object) -> tuple[dict[str, object], dict[str, list[str]]]:
    """The raw intake values of a parsed JSON document, and the errors of its shape."""
    if not isinstance(data, dict):
        return {}, {"(file)": ["The JSON must be an object of the keys in docs/intake.md."]}
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in JSON_KEYS:
            errors[str(key)] = [f"Unknown key; the keys are {', '.join(JSON_KEYS)}."]
    raw = {key: value for key, value in data.items() if key in JSON_KEYS and key != "location"}
    location = data.get("location")
    if isinstance(location, dict):
        unknown = set(location) - {"city", "country"}
        if unknown:
            errors["location"] = ['Give the location as {"city": ..., "country": ...}.']
        raw["location_city"] = location.get("city")
        raw["location_country"] = location.get("country")
    elif isinstance(location, str):
        city, _, country = location.rpartition(",") if "," in location else (location, "", "")
        raw["location_city"], raw["location_country"] = city.strip(), country.strip()
    elif location is not None:
        errors["location"] = [
            'Give the location as {"city": ..., "country": ...} or "City, Country".'
        ]
    return raw, errors


class Command(BaseCommand):
    """Create a complete VPN request from JSON, submitted for review (or approved)."""

    help = "Create a VPN request from a JSON file (keys in docs/intake.md) and print its id."

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
            values = intake_clean(raw, fields=ALL_FIELDS, complete=True).values
        except IntakeInvalid as exc:
            for field, messages in exc.errors.items():
                errors.setdefault(_REPORTED_AS.get(field, field), []).extend(messages)
        if errors:
            raise CommandError(error_lines(errors))

        owner = user_named(options["owner"])
        request = request_create(values=values, owner=owner, submit=True, actor_label="vpn_create")
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
