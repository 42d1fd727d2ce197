"""`python manage.py vpn_maintenance ID [--json]`: AWS's pending endpoint maintenance on a
request's tunnels, with AWS's deadline, and the customer's maintenance window.

Reads what the periodic maintenance read stored (`vpn.services.maintenance`); it never
calls AWS and changes nothing.
"""

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vpn.models import VpnRequest
from vpn.selectors.maintenance import request_maintenance

NONE = "—"


class Command(BaseCommand):
    """Print each tunnel's pending maintenance and the customer's window."""

    help = "Show AWS's pending maintenance on a VPN request's tunnels."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print it as JSON (for scripts)."
        )

    def handle(self, *args, request_id: int, as_json: bool, **options):
        """Print the maintenance as text, or as JSON with --json."""
        try:
            maintenance = request_maintenance(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if as_json:
            self.stdout.write(json.dumps(maintenance, indent=2))
            return
        self.stdout.write(maintenance_text(maintenance))


def maintenance_text(maintenance: dict) -> str:
    """The maintenance (as `request_maintenance` gives it) as lines for a terminal."""
    window = maintenance["window"]
    if window is None:
        window_line = "none chosen"
    elif maintenance["window_open_now"]:
        window_line = f"{window}, open now"
    else:
        window_line = f"{window}, next opens {_when(maintenance['next_window_start'])}"
    lines = [
        f"{maintenance['reference']} · {maintenance['customer']} · {maintenance['stage']}",
        f"Maintenance window: {window_line}",
        "",
    ]
    if not maintenance["tunnels"]:
        lines.append("No tunnels yet.")
    for tunnel in maintenance["tunnels"]:
        suffix = "" if tunnel["monitored"] else " (not used)"
        lines.append(f"Tunnel {tunnel['position']} ({tunnel['outside_ip']}){suffix}")
        if tunnel["pending"]:
            lines.append(f"  Pending:           {tunnel['pending']}")
            deadline = tunnel["auto_applied_after"]
            lines.append(f"  AWS applies after: {_when(deadline) if deadline else NONE}")
            lines.append(f"  Announced:         {_when(tunnel['announced_at'])}")
        else:
            lines.append("  Pending:           nothing")
        lines.append(f"  Last applied:      {_when(tunnel['last_applied'])}")
        lines.append(f"  Last read:         {_when(tunnel['checked_at'])}")
    return "\n".join(lines).rstrip() + "\n"


def _when(iso: str | None) -> str:
    """An ISO timestamp in the portal's time zone, to the minute; a dash for none."""
    if not iso:
        return NONE
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M %Z")
