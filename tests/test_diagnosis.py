"""The diagnosis beyond the table's rows: a tunnel down for no known cause, a flapping one,
a healthy one cleared, logs that cannot be read, the calls the refresh makes for it, and
`docs/troubleshooting.md` agreeing with the table."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.status_support import flip, inject, live_vpn
from vpn.diagnosis import CAUSES_BY_KEY, IKE, LogLine, causes_markdown, diagnose, log_line
from vpn.models import Tunnel
from vpn.services.intake import intake_link_create
from vpn.services.status import status_refresh

DOC = Path(settings.BASE_DIR) / "docs" / "troubleshooting.md"

pytestmark = pytest.mark.django_db


def up_vpn(sandbox, **fields):
    request = live_vpn(sandbox, as_provisioned=True, **fields)
    status_refresh()
    for position in (1, 2):
        flip(sandbox, request, position, "UP", accepted_route_count=3)
    status_refresh()
    return request


def calls(sandbox, *actions) -> int:
    counted = sandbox.control("GET", "/_sandbox/stats")["calls"]
    return sum(counted.get(action, 0) for action in actions)


LOG_CALLS = ("DescribeLogStreams", "FilterLogEvents")


def test_the_troubleshooting_doc_shows_the_table():
    text = DOC.read_text()
    assert causes_markdown() in text, (
        "docs/troubleshooting.md and vpn/diagnosis.py disagree: paste the output of "
        "`python manage.py vpn_diagnose --causes` into the doc"
    )


def test_the_command_prints_the_table():
    out = StringIO()
    call_command("vpn_diagnose", "--causes", stdout=out)
    assert out.getvalue() == causes_markdown()


def test_a_down_tunnel_with_no_known_cause_says_so(aws_sandbox, se_client):
    request = up_vpn(aws_sandbox)
    flip(aws_sandbox, request, 2, "DOWN")
    status_refresh()

    tunnel = request.tunnels.get(position=2)
    assert tunnel.diagnosis["reason"] == "down"
    assert tunnel.diagnosis["cause"] == ""
    page = se_client.get(reverse("vpn:request_detail", args=[request.pk])).content.decode()
    assert "no known cause in its logs or AWS's status message" in page
    token = intake_link_create(request_id=request.pk, send_email=False).token
    customer = Client().get(f"/intake/{token}/").content.decode()
    assert "we are looking into it; your engineer has the details" in customer


def test_a_healthy_tunnel_loses_its_diagnosis_without_a_call(aws_sandbox):
    request = up_vpn(aws_sandbox)
    inject(aws_sandbox, request, 1, "dpd_timeout")
    status_refresh()
    assert request.tunnels.get(position=1).diagnosis["cause"] == "dpd_timeout"

    flip(aws_sandbox, request, 1, "UP", accepted_route_count=3)
    before = calls(aws_sandbox, *LOG_CALLS)
    status_refresh()
    assert calls(aws_sandbox, *LOG_CALLS) == before
    assert request.tunnels.get(position=1).diagnosis == {}


def test_a_flapping_tunnel_is_diagnosed_from_its_latest_drop(aws_sandbox):
    request = up_vpn(aws_sandbox)
    for drop in range(settings.DIAGNOSIS_FLAP_DROPS):
        inject(aws_sandbox, request, 1, "dpd_timeout")
        status_refresh()
        flip(aws_sandbox, request, 1, "UP", accepted_route_count=3)
        status_refresh()
        if drop == 0:
            # One drop and back is an outage, not flapping: nothing to diagnose.
            assert request.tunnels.get(position=1).diagnosis == {}

    tunnel = request.tunnels.get(position=1)
    # Up now, after dropping again and again within the hour: flapping, and why it dropped.
    assert tunnel.status == "UP"
    assert (tunnel.diagnosis["reason"], tunnel.diagnosis["cause"]) == ("flapping", "dpd_timeout")


def test_steady_tunnels_cost_the_refresh_no_extra_call(aws_sandbox):
    request = up_vpn(aws_sandbox)
    inject(aws_sandbox, request, 1, "psk_mismatch")
    status_refresh()
    before = calls(aws_sandbox, *LOG_CALLS, "GetActiveVpnTunnelStatus")

    # Nothing changed: the down tunnel's diagnosis is fresh, the up one was read up.
    run = status_refresh()

    assert calls(aws_sandbox, *LOG_CALLS, "GetActiveVpnTunnelStatus") == before
    assert run.detail_calls == 0
    assert run.aws_calls == 1


def test_a_stale_diagnosis_without_a_cause_is_read_again(aws_sandbox):
    request = up_vpn(aws_sandbox)
    flip(aws_sandbox, request, 1, "DOWN")  # no known cause: the logs may tell later
    inject(aws_sandbox, request, 2, "psk_mismatch")
    status_refresh()
    stale = datetime.now(UTC) - timedelta(seconds=settings.DIAGNOSIS_STALE_SECONDS + 1)
    Tunnel.objects.filter(request=request).update(
        diagnosed_at=stale, updated_at=stale - timedelta(seconds=1)
    )
    before = calls(aws_sandbox, "FilterLogEvents")

    status_refresh()

    assert calls(aws_sandbox, "FilterLogEvents") == before + 1
    # The unknown one was read again; the one with a cause stands as it was.
    assert request.tunnels.get(position=1).diagnosed_at > stale
    assert request.tunnels.get(position=2).diagnosed_at == stale


def test_unreadable_logs_fall_back_on_the_status_message(aws_sandbox, se_client, settings):
    settings.AWS_MAX_ATTEMPTS = 0
    request = up_vpn(aws_sandbox)
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "FilterLogEvents", "error": "server"}
    )
    inject(aws_sandbox, request, 1, "bgp_down_ipsec_up")

    status_refresh()

    diagnosis = request.tunnels.get(position=1).diagnosis
    assert diagnosis["cause"] == "bgp_down_ipsec_up"
    assert diagnosis["evidence_kind"] == "status"
    assert "could not be read" in diagnosis["logs_error"]
    response = se_client.get(reverse("vpn:request_detail", args=[request.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The tunnel logs could not be read" in page
    # The log panel says so too, in its own words.
    assert 'id="tunnel-logs-error"' in page
    assert "CloudWatch Logs could not be read" in page


def test_tunnels_without_logs_are_diagnosed_from_the_status_message(aws_sandbox):
    # A VPN from before tunnel logs: AWS's status message is all there is.
    request = live_vpn(aws_sandbox)
    status_refresh()
    inject(aws_sandbox, request, 1, "bgp_no_prefixes")
    status_refresh()
    diagnosis = request.tunnels.get(position=1).diagnosis
    assert (diagnosis["reason"], diagnosis["cause"]) == ("no_routes", "bgp_no_prefixes")
    assert "does not exist" in diagnosis["logs_error"]


def test_vpn_diagnose_prints_the_diagnosis_as_text(aws_sandbox):
    request = up_vpn(aws_sandbox)
    inject(aws_sandbox, request, 2, "traffic_selectors")
    status_refresh()
    out = StringIO()
    call_command("vpn_diagnose", str(request.pk), stdout=out)
    text = out.getvalue()
    assert "Tunnel 1" in text and "No problem diagnosed." in text
    assert CAUSES_BY_KEY["traffic_selectors"].title in text
    assert "TS_UNACCEPTABLE" in text
    as_json = StringIO()
    call_command("vpn_diagnose", str(request.pk), "--json", stdout=as_json)
    assert json.loads(as_json.getvalue())["tunnels"][1]["diagnosis"]["cause"] == "traffic_selectors"


# --- The pure parts ---------------------------------------------------------------------


def _line(details: str, seconds: int) -> LogLine:
    return LogLine(
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds),
        tunnel_ip="203.0.113.1",
        kind=IKE,
        details=details,
        fields={},
    )


def test_the_newest_line_that_names_a_cause_wins():
    lines = [
        _line("Peer is not responsive - Declaring peer dead", 0),
        _line("AUTHENTICATION_FAILED", 10),
        _line("IKE SA deleted", 20),
    ]
    finding = diagnose(lines=lines, status_message="IPSEC IS UP")
    assert finding.cause.key == "psk_mismatch"
    assert finding.evidence == "AUTHENTICATION_FAILED"
    assert diagnose(lines=[], status_message="IPSEC IS UP").cause.key == "bgp_down_ipsec_up"
    assert diagnose(lines=[], status_message="").cause is None


def test_log_events_are_read_from_json_and_text():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    line = log_line(
        connection_id="vpn-0abc",
        stream="vpn-0abc-203.0.113.7-BGP",
        message='{"details": "hold timer expired", "bgp_state": "idle"}',
        at=at,
    )
    assert (line.tunnel_ip, line.kind, line.details) == ("203.0.113.7", "BGP", "hold timer expired")
    assert line.fields == {"bgp_state": "idle"}
    text = log_line(
        connection_id="vpn-0abc", stream="vpn-0abc-203.0.113.8-IKE", message="IKE SA deleted", at=at
    )
    assert (text.tunnel_ip, text.kind, text.details) == ("203.0.113.8", "IKE", "IKE SA deleted")


def test_many_changes_at_once_are_caught_up_over_the_next_refreshes(aws_sandbox, monkeypatch):
    from vpn.services import diagnosis as diagnosis_service

    monkeypatch.setattr(diagnosis_service, "NEGOTIATED_READS_PER_REGION", 1)
    monkeypatch.setattr(diagnosis_service, "DIAGNOSED_CONNECTIONS_PER_REGION", 1)
    first = live_vpn(aws_sandbox, as_provisioned=True)
    second = live_vpn(aws_sandbox, as_provisioned=True)
    status_refresh()
    status_refresh()  # both connections down: one diagnosed per refresh
    assert Tunnel.objects.exclude(diagnosed_at=None).count() == 4
    for request in (first, second):
        flip(aws_sandbox, request, 1, "UP", accepted_route_count=1)

    read = [status_refresh().detail_calls for _ in range(3)]

    assert Tunnel.objects.exclude(negotiated={}).count() == 2
    assert calls(aws_sandbox, "GetActiveVpnTunnelStatus") == 2
    assert read[-1] == 0  # caught up
