"""`python manage.py vpn_invite --customer NAME --org ORG --email EMAIL [--contact NAME]`:
start a draft request and print the customer's intake link (also emailed to them)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vpn.intake_fields import IDENTITY_FIELDS, INTAKE_FIELDS_BY_NAME
from vpn.services.intake import intake_invite
from vpn.validation import IntakeInvalid, intake_clean

# The option that gives each identity field (`vpn.intake_fields`), and its help.
OPTIONS = {
    "customer_name": ("--customer", "Customer name."),
    "org_id": ("--org", "Platform org ID (a UUID)."),
    "contact_email": ("--email", "Contact email; the link goes there."),
    "contact_name": ("--contact", "Contact name."),
}


class Command(BaseCommand):
    """Invite a customer to fill in their VPN intake themselves."""

    help = "Create a draft VPN request and print the customer's self-service intake link."

    def add_arguments(self, parser):
        """The customer and the contact who gets the link."""
        for name, (option, help_text) in OPTIONS.items():
            required = bool(INTAKE_FIELDS_BY_NAME[name].required)
            parser.add_argument(
                option,
                dest=name,
                metavar=option.removeprefix("--").upper(),
                required=required,
                default="",
                help=help_text,
            )
        parser.add_argument("--owner", help="Username of the responsible solutions engineer.")
        parser.add_argument(
            "--no-email", action="store_true", help="Only print the link; send no email."
        )

    def handle(self, *args, **options):
        """Check the values with the intake rules, create, print the link."""
        raw = {name: options[name] for name in IDENTITY_FIELDS}
        try:
            values = intake_clean(raw, fields=IDENTITY_FIELDS, staff=True).values
        except IntakeInvalid as exc:
            raise CommandError(error_lines(exc.errors)) from exc
        owner = user_named(options["owner"])
        new = intake_invite(
            customer_name=values["customer_name"],
            org_id=values["org_id"],
            contact_name=values["contact_name"],
            contact_email=values["contact_email"],
            owner=owner,
            send_email=not options["no_email"],
        )
        request = new.link.request
        self.stdout.write(
            f"{request.reference} (id {request.pk}) for {request.customer.name}; link valid "
            f"until {new.link.expires_at:%Y-%m-%d %H:%M} UTC"
            + (f", emailed to {values['contact_email']}" if new.emailed else "")
        )
        self.stdout.write(new.url)


def user_named(username: str | None):
    """The user with this username, or None when none was asked for."""
    if not username:
        return None
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist as exc:
        raise CommandError(f"No user named {username!r}.") from exc


def error_lines(errors: dict[str, list[str]], names: dict[str, str] | None = None) -> str:
    """Every error as "field: message", one per line."""
    names = names or {}
    lines = [
        f"{names.get(field, field)}: {message}"
        for field, messages in errors.items()
        for message in messages
    ]
    return "Invalid input:\n" + "\n".join(lines)
