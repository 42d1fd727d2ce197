"""Rewrite the recorded outcome of change calls that kept a described VPN connection
whole (its tunnels' pre-shared keys included) as the one line the portal records now:
the connection's id and state, and each tunnel's outside IP and status."""

import re

from django.db import migrations

CONNECTION = re.compile(r"VpnConnectionInfo\(id='([^']*)', state='([^']*)'")
TUNNEL = re.compile(r"TunnelInfo\(outside_ip='([^']*)'.*?status='([^']*)'")


def outcome_summary(outcome: str) -> str:
    """The line for an outcome that holds connection reprs (cut at 2,000 characters, so
    a tunnel cut off before its status is left out)."""
    lines = []
    for part in outcome.split("VpnConnectionInfo(")[1:]:
        connection = CONNECTION.match("VpnConnectionInfo(" + part)
        if connection is None:
            continue
        tunnels = ", ".join(f"{ip} {status}" for ip, status in TUNNEL.findall(part))
        lines.append(f"{connection[1]} {connection[2]}; tunnels {tunnels}")
    return ", ".join(lines) or "answer not kept: it held keys"


def scrub(apps, schema_editor):
    VpnChangeCall = apps.get_model("vpn", "VpnChangeCall")
    for call in VpnChangeCall.objects.filter(outcome__contains="VpnConnectionInfo("):
        call.outcome = outcome_summary(call.outcome)
        call.save(update_fields=["outcome"])


class Migration(migrations.Migration):
    dependencies = [("vpn", "0017_account_and_retry_names")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
