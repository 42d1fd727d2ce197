"""POST /_sandbox/tunnel-status sets what VgwTelemetry reports for a tunnel."""

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def vpn(make_vpn):
    """A VPN connection with default options."""
    return make_vpn()


def telemetry(describe_vpn, vpn_id):
    """VgwTelemetry entries by outside address."""
    return {entry["OutsideIpAddress"]: entry for entry in describe_vpn(vpn_id)["VgwTelemetry"]}


def set_status(control_api, vpn_id, outside_ip, status, **extra):
    """Set a tunnel's status through the control API; returns its JSON answer."""
    code, body = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {"vpn_connection_id": vpn_id, "outside_ip": outside_ip, "status": status, **extra},
    )
    assert code == 200, body
    return body


def test_tunnel_goes_up_and_down(vpn, describe_vpn, control_api):
    vpn_id = vpn["VpnConnectionId"]
    first_ip, second_ip = (t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"])
    before = telemetry(describe_vpn, vpn_id)

    up = set_status(
        control_api, vpn_id, first_ip, "UP", message="2 BGP ROUTES", accepted_route_count=2
    )
    assert up["status"] == "UP" and up["accepted_route_count"] == 2
    after = telemetry(describe_vpn, vpn_id)
    assert after[first_ip]["Status"] == "UP"
    assert after[first_ip]["StatusMessage"] == "2 BGP ROUTES"
    assert after[first_ip]["AcceptedRouteCount"] == 2
    # EC2 reports whole seconds; the control API answers with the exact time.
    changed = datetime.fromisoformat(up["last_status_change"])
    assert after[first_ip]["LastStatusChange"] == changed.replace(microsecond=0)
    assert after[second_ip] == before[second_ip]

    # The same status again is not a change: the time stays, the message is kept.
    again = set_status(control_api, vpn_id, first_ip, "UP")
    assert again["last_status_change"] == up["last_status_change"]
    assert telemetry(describe_vpn, vpn_id)[first_ip]["StatusMessage"] == "2 BGP ROUTES"

    down = set_status(control_api, vpn_id, first_ip, "DOWN", message="")
    assert down["last_status_change"] > up["last_status_change"]
    final = telemetry(describe_vpn, vpn_id)[first_ip]
    assert final["Status"] == "DOWN"
    assert final["StatusMessage"] == ""


def test_a_status_can_be_dated_in_the_past(vpn, describe_vpn, control_api):
    vpn_id = vpn["VpnConnectionId"]
    first_ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    since = datetime.now(UTC) - timedelta(days=3)
    up = set_status(control_api, vpn_id, first_ip, "UP", last_status_change=since.isoformat())
    assert datetime.fromisoformat(up["last_status_change"]) == since
    reported = telemetry(describe_vpn, vpn_id)[first_ip]
    assert (reported["Status"], reported["LastStatusChange"]) == (
        "UP",
        since.replace(microsecond=0),
    )
    # The same status, dated again: only the time moves.
    earlier = since - timedelta(hours=1)
    set_status(control_api, vpn_id, first_ip, "UP", last_status_change=earlier.isoformat())
    assert telemetry(describe_vpn, vpn_id)[first_ip]["LastStatusChange"] == earlier.replace(
        microsecond=0
    )


def test_unknown_connection_or_tunnel(vpn, control_api):
    status, body = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {"vpn_connection_id": "vpn-0123456789abcdef0", "outside_ip": "203.0.113.1", "status": "UP"},
    )
    assert status == 404 and "error" in body
    status, body = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {
            "vpn_connection_id": vpn["VpnConnectionId"],
            "outside_ip": "198.51.100.99",
            "status": "UP",
        },
    )
    assert status == 404 and "error" in body


def test_bad_input(vpn, control_api):
    good = {
        "vpn_connection_id": vpn["VpnConnectionId"],
        "outside_ip": vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"],
        "status": "UP",
    }
    for bad in (
        {**good, "status": "SIDEWAYS"},
        {**good, "accepted_route_count": -1},
        {**good, "accepted_route_count": "2"},
        {**good, "message": 5},
        {**good, "last_status_change": "yesterday"},
        {**good, "last_status_change": "2025-03-01T10:00:00"},  # no UTC offset
        {**good, "last_status_change": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        {key: value for key, value in good.items() if key != "outside_ip"},
        ["not", "an", "object"],
    ):
        status, body = control_api("POST", "/_sandbox/tunnel-status", bad)
        assert status == 400, bad
        assert "error" in body


def test_unknown_endpoints(control_api):
    assert control_api("GET", "/_sandbox/nothing-here")[0] == 404
    assert control_api("GET", "/_sandbox/tunnel-status")[0] == 405
