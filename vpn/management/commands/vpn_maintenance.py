"""`python manage.py vpn_maintenance ID [--json] [--apply [--sync]]`: AWS's pending
endpoint maintenance on a request's tunnels, with AWS's deadline, and the customer's
maintenance window.

Without `--apply` it reads what the periodic maintenance read stored and changes
nothing. With `--apply` it proposes and applies the maintenance change
(`vpn.services.maintenance.maintenance_apply`, as "Apply now" does), one tunnel at a
time, printing its impact first; with `--sync` it runs the change here, to its end.
"""

import json
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vpn.choices import ACTIVE_CHANGE_STATES
from vpn.models import VpnRequest
from vpn.selectors.maintenance import request_maintenance
from vpn.services import changes
from vpn.services.maintenance import maintenance_apply

NONE = "—"
# Who applied a change from this command, as the change's record says.
LABEL = "vpn_maintenance"


class Command(BaseCommand):
    """Print each tunnel's pending maintenance and the customer's window."""

    help = "Show AWS's pending maintenance on a VPN request's tunnels."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print it as JSON (for scripts)."
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Apply the pending maintenance now, one tunnel at a time (its impact confirmed).",
        )
        parser.add_argument(
            "--sync", action="store_true", help="With --apply: run the change here, to its end."
        )

    def handle(self, *args, request_id: int, as_json: bool, apply: bool, sync: bool, **options):
        """Print the maintenance as text, or as JSON with --json; apply it with --apply."""
        try:
            maintenance = request_maintenance(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if sync and not apply:
            raise CommandError("--sync goes with --apply (it runs the maintenance change here).")
        if apply:
            self._apply(request_id, sync=sync)
            return
        if as_json:
            self.stdout.write(json.dumps(maintenance, indent=2))
            return
        self.stdout.write(maintenance_text(maintenance))

    def _apply(self, request_id: int, *, sync: bool) -> None:
        """Start the maintenance change (and with `sync`, run it to its end here)."""
        try:
            change = maintenance_apply(request_id=request_id, label=LABEL, queue=not sync)
        except changes.ChangeRefused as exc:
            raise CommandError(str(exc)) from exc
        reference = f"{change.request.reference}: {change.reference}"
        self.stdout.write(f"{reference} ({change.summary}).")
        self.stdout.write(f"Impact: {change.impact}")
        if not sync:
            self.stdout.write(
                f"{reference} queued; its page shows it live: {change.get_absolute_url()}"
            )
            return
        outcome = changes.change_run_here(change_id=change.pk, sleep=time.sleep)
        change.refresh_from_db()
        if outcome == changes.FAILED:
            raise CommandError(f"{reference} stopped. {change.message}")
        if change.state in ACTIVE_CHANGE_STATES:
            self.stdout.write(f"{reference} waits: {change.message}")
        else:
            self.stdout.write(f"{reference}: {change.message}")


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
