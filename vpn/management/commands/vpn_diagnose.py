"""`python manage.py vpn_diagnose ID [--json]`: why a request's tunnels are in trouble, in
words, as the status refresh last diagnosed them; `--causes` prints the table of known
causes (as `docs/troubleshooting.md` shows it).

Reads what the refresh stored (it never calls AWS): the same diagnosis as the request
page and, in the customer's terms, the customer's link.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from vpn.diagnosis import REASONS, causes_markdown
from vpn.models import VpnRequest
from vpn.selectors.diagnosis import request_diagnosis


class Command(BaseCommand):
    """Print each tunnel's diagnosis, cause and fix, and what it negotiated."""

    help = "Show the diagnosis of a VPN request's tunnels (or, with --causes, the table)."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int, nargs="?")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print it as JSON (for scripts)."
        )
        parser.add_argument(
            "--causes",
            action="store_true",
            help="Print the table of known causes in Markdown, and nothing else.",
        )

    def handle(self, *args, request_id: int | None, as_json: bool, causes: bool, **options):
        """Print the diagnosis as text, or as JSON with --json."""
        if causes:
            self.stdout.write(causes_markdown(), ending="")
            return
        if request_id is None:
            raise CommandError("Give the id of a VPN request (or --causes).")
        try:
            diagnosis = request_diagnosis(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if as_json:
            self.stdout.write(json.dumps(diagnosis, indent=2))
            return
        self.stdout.write(diagnosis_text(diagnosis))


def diagnosis_text(diagnosis: dict) -> str:
    """The diagnosis (as `request_diagnosis` gives it) as lines for a terminal."""
    lines = [f"{diagnosis['reference']} · {diagnosis['customer']} · {diagnosis['stage']}", ""]
    if not diagnosis["tunnels"]:
        lines.append("No tunnels yet.")
    for tunnel in diagnosis["tunnels"]:
        head = f"Tunnel {tunnel['position']} ({tunnel['outside_ip']}): {tunnel['status']}"
        if not tunnel["monitored"]:
            head += " (not used)"
        lines.append(head)
        found = tunnel["diagnosis"]
        if found is None:
            lines.append("  No problem diagnosed.")
        else:
            if found["reason"]:
                reason = REASONS.get(found["reason"], found["reason"])
                lines.append(f"  Diagnosed {reason}: {found['title'] or 'no known cause'}")
            if found["explanation"]:
                lines.append(f"  Cause:    {found['explanation']}")
                lines.append(f"  Fix:      {found['fix']}")
                lines.append(f"  Customer: {found['customer_explanation']} {found['customer_fix']}")
            if found["evidence"]:
                lines.append(f"  Evidence ({found['evidence_kind']}): {found['evidence']}")
            if found["logs_error"]:
                lines.append(f"  Logs:     {found['logs_error']}")
            if found["drift"]:
                lines.append(f"  Drift:    {found['drift']}")
        negotiated = tunnel["negotiated"]
        if negotiated:
            cells = [
                f"{row['parameter']} {row['negotiated']}"
                + (f" (the pack: {row['prescribed']})" if row["drift"] else "")
                for row in negotiated["parameters"]
            ]
            lines.append("  Negotiated: " + ", ".join(cells))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
