"""`python manage.py vpn_status ID [--json]`: a request's tunnel status, as last stored.

Reads the snapshot the status refresh stored (it never calls AWS): the same data as the
`requests/<id>/status.json` endpoint, as text or, with `--json`, exactly as JSON.
"""

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from vpn.choices import RedundancyRisk, TunnelStatus
from vpn.models import VpnRequest
from vpn.selectors.status import request_status

NONE = "—"


class Command(BaseCommand):
    """Print one request's stage, redundancy risk and tunnels with their uptime."""

    help = "Show the stored tunnel status of a VPN request."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the status as JSON (for scripts).",
        )

    def handle(self, *args, request_id: int, as_json: bool, **options):
        """Print the status as text, or as JSON with --json."""
        try:
            status = request_status(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if as_json:
            self.stdout.write(json.dumps(status, indent=2))
            return
        self.stdout.write(status_text(status))


def status_text(status: dict) -> str:
    """The status (as `request_status` gives it) as lines for a terminal."""
    risk = status["redundancy_risk"]
    lines = [
        f"{status['reference']} · {status['customer']}",
        f"Region:          {status['region'] or NONE}",
        f"Stage:           {status['stage_label']}",
        f"Redundancy risk: {RedundancyRisk(risk).label if risk else NONE}",
        f"Status as of:    {_when(status['refreshed_at']) if status['refreshed_at'] else 'never'}",
    ]
    if status["refresh_error"]:
        lines.append(f"Refresh error:   {status['refresh_error']}")
    lines.append("")
    if not status["tunnels"]:
        lines.append("No tunnels yet.")
        return "\n".join(lines)
    header = [
        "Tunnel",
        "Outside IP",
        "Status",
        "Last change",
        "Routes",
        "Up 24h",
        "Up 7d",
        "Up 30d",
        "Message",
    ]
    rows = [header]
    for tunnel in status["tunnels"]:
        label = TunnelStatus(tunnel["status"]).label
        uptime = tunnel["uptime_percent"]
        rows.append(
            [
                str(tunnel["position"]),
                tunnel["outside_ip"],
                label if tunnel["monitored"] else f"{label} (not used)",
                _when(tunnel["last_status_change"]) if tunnel["last_status_change"] else NONE,
                str(tunnel["accepted_route_count"]),
                *(_percent(uptime[key]) for key in ("24h", "7d", "30d")),
                tunnel["status_message"] or NONE,
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        # The message comes last and unpadded: it can be long, and would stretch the table.
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _when(iso: str) -> str:
    """An ISO timestamp in the portal's time zone, to the second."""
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _percent(value: float | None) -> str:
    """An uptime with one decimal; a dash when nothing is known."""
    return NONE if value is None else f"{value:.1f}%"
