"""`python manage.py vpn_accounts`: each AWS account's usage and room per region.

`vpn_accounts add NAME ACCOUNT_ID ROLE_ARN EXTERNAL_ID --regions R [R...]
[--quota NAME=LIMIT]` records an account; `vpn_accounts disable|enable ACCOUNT_ID` stops
or lets placement choose it. Listing reads each account's quotas from Service Quotas
(the same reading placement does at approval) and counts usage from the portal's records;
a disabled account is listed too, with its usage, placement "off" and no room.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from vpn.services.aws_accounts import AccountInvalid, aws_account_add, aws_account_enable
from vpn.services.placement import QUOTAS, all_rooms


class Command(BaseCommand):
    """List accounts with usage and room, or add, disable or enable one."""

    help = "List each AWS account's usage and room per region; add, disable or enable one."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action")
        add = actions.add_parser("add", help="Record an account.")
        add.add_argument("name")
        add.add_argument("account_id")
        add.add_argument("role_arn")
        add.add_argument("external_id")
        add.add_argument("--regions", nargs="+", required=True)
        add.add_argument("--quota", action="append", default=[], metavar="NAME=LIMIT")
        for name in ("disable", "enable"):
            actions.add_parser(name, help=f"{name.title()} placement in it.").add_argument(
                "account_id"
            )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the list as JSON."
        )

    def handle(self, *args, action: str | None = None, as_json: bool = False, **options):
        """Do the sub-command, or print the list."""
        try:
            if action == "add":
                account = aws_account_add(
                    name=options["name"],
                    account_id=options["account_id"],
                    role_arn=options["role_arn"],
                    external_id=options["external_id"],
                    regions=options["regions"],
                    quota_overrides=_overrides(options["quota"]),
                )
                self.stdout.write(f"Recorded {account}.")
                return
            if action in ("disable", "enable"):
                account = aws_account_enable(
                    account_id=options["account_id"], enabled=action == "enable"
                )
                self.stdout.write(f"{account}: placement {action}d.")
                return
        except AccountInvalid as exc:
            raise CommandError(str(exc)) from exc
        rows = [
            {
                "account": room.label,
                "region": room.region,
                "used": room.used,
                **{quota.name: room.limits[quota.name] for quota in QUOTAS},
                "room": max(room.free, 0) if room.placing else 0,
                "placement": "on" if room.placing else "off",
            }
            for room in all_rooms()
        ]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        header = ("account", "region", "used", *(q.name for q in QUOTAS), "room", "placement")
        table = [header, *([str(row[column]) for column in header] for row in rows)]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        for line in table:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            )


def _overrides(pairs: list[str]) -> dict[str, int]:
    overrides = {}
    for pair in pairs:
        name, _, limit = pair.partition("=")
        if not limit.isdigit():
            raise CommandError(f"“{pair}”: give a quota as NAME=LIMIT, LIMIT a whole number.")
        overrides[name] = int(limit)
    return overrides
