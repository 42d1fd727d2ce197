"""Tunnel logs: `LogOptions` on tunnels, and the IKE and BGP events the sandbox writes to
CloudWatch Logs (served on the same endpoint) when a tunnel changes or a cause is injected."""

import ipaddress
import json

import pytest
from botocore.exceptions import ClientError

from sandbox.tunnel_logs import CAUSES, TunnelFacts
from tests.sandbox.conftest import log_options


def _events(logs, arn: str, vpn_id: str) -> dict[str, list[dict]]:
    """Every event of the VPN's streams, by stream, as decoded JSON, oldest first."""
    name = arn.split(":log-group:")[1]
    streams = [
        stream["logStreamName"]
        for stream in logs.describe_log_streams(logGroupName=name, logStreamNamePrefix=vpn_id)[
            "logStreams"
        ]
    ]
    by_stream: dict[str, list[dict]] = {stream: [] for stream in streams}
    if streams:
        for event in logs.filter_log_events(logGroupName=name, logStreamNames=streams)["events"]:
            by_stream[event["logStreamName"]].append(json.loads(event["message"]))
    return by_stream


def _set_status(control_api, vpn_id, ip, status, **extra):
    code, body = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "status": status, **extra},
    )
    assert code == 200, body
    return body


def test_log_options_are_described_as_given(make_vpn, log_group):
    vpn = make_vpn(TunnelOptions=[{"LogOptions": log_options(log_group)}, {}])
    first, second = vpn["Options"]["TunnelOptions"]
    assert first["LogOptions"] == log_options(log_group)
    # A tunnel given none logs nothing.
    assert second["LogOptions"] == {
        "CloudWatchLogOptions": {"LogEnabled": False, "BgpLogEnabled": False}
    }


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        ({"CloudWatchLogOptions": {"LogEnabled": True}}, "LogGroupArn is required"),
        (
            {"CloudWatchLogOptions": {"LogEnabled": True, "LogGroupArn": "not-an-arn"}},
            "is invalid",
        ),
        (
            {
                "CloudWatchLogOptions": {
                    "LogEnabled": True,
                    "LogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/nowhere",
                }
            },
            "does not exist",
        ),
    ],
)
def test_bad_log_options_are_refused(make_vpn, log_group, options, wanted):
    with pytest.raises(ClientError) as raised:
        make_vpn(TunnelOptions=[{"LogOptions": options}])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert wanted in raised.value.response["Error"]["Message"]


def test_log_options_can_be_changed_later(ec2, make_vpn, log_group, describe_vpn):
    vpn = make_vpn()
    ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnTunnelOutsideIpAddress=ip,
        TunnelOptions={"LogOptions": log_options(log_group, bgp=False)},
    )
    tunnel = describe_vpn(vpn["VpnConnectionId"])["Options"]["TunnelOptions"][0]
    assert tunnel["LogOptions"]["CloudWatchLogOptions"]["LogEnabled"] is True
    assert tunnel["LogOptions"]["CloudWatchLogOptions"]["BgpLogEnabled"] is False


def test_a_change_of_status_writes_ike_and_bgp_events(make_vpn, log_group, logs, control_api):
    vpn = make_vpn(TunnelOptions=[{"LogOptions": log_options(log_group)}, {}])
    vpn_id = vpn["VpnConnectionId"]
    ip, other_ip = (t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"])
    _set_status(control_api, vpn_id, ip, "UP", accepted_route_count=4)
    _set_status(control_api, vpn_id, ip, "UP")  # no change: nothing written
    _set_status(control_api, vpn_id, other_ip, "UP")  # that tunnel does not log

    events = _events(logs, log_group, vpn_id)
    assert set(events) == {f"{vpn_id}-{ip}-IKE", f"{vpn_id}-{ip}-BGP"}
    ike = events[f"{vpn_id}-{ip}-IKE"]
    assert [event["details"] for event in ike] == ["IKE SA established", "IPsec SA established"]
    assert set(ike[-1]) == {
        "event_timestamp",
        "details",
        "dpd_enabled",
        "nat_t_detected",
        "ike_phase1_state",
        "ike_phase2_state",
        "tunnel_ip",
    }
    assert (ike[-1]["ike_phase1_state"], ike[-1]["ike_phase2_state"]) == ("established",) * 2
    assert ike[-1]["tunnel_ip"] == ip
    (bgp,) = events[f"{vpn_id}-{ip}-BGP"]
    assert bgp["bgp_state"] == "established"
    assert "4 prefixes received" in bgp["details"]

    _set_status(control_api, vpn_id, ip, "DOWN")
    ike = _events(logs, log_group, vpn_id)[f"{vpn_id}-{ip}-IKE"]
    assert ike[-1]["details"] == "IKE SA deleted"
    assert ike[-1]["ike_phase1_state"] == "down"


def test_every_cause_can_be_injected(make_vpn, log_group, logs, control_api, describe_vpn):
    code, listed = control_api("GET", "/_sandbox/tunnel-causes")
    assert code == 200
    assert [entry["cause"] for entry in listed["causes"]] == list(CAUSES)
    for cause in CAUSES.values():
        vpn = make_vpn(TunnelOptions=[{"LogOptions": log_options(log_group)}, {}])
        vpn_id = vpn["VpnConnectionId"]
        ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
        code, body = control_api(
            "POST",
            "/_sandbox/tunnel-cause",
            {"vpn_connection_id": vpn_id, "outside_ip": ip, "cause": cause.name},
        )
        assert code == 200, body
        telemetry = describe_vpn(vpn_id)["VgwTelemetry"][0]
        assert (telemetry["Status"], telemetry["StatusMessage"]) == (cause.status, cause.message)
        written = [
            event["details"]
            for events in _events(logs, log_group, vpn_id).values()
            for event in events
        ]
        assert written, cause.name
        assert all(line.details in written for line in cause.lines(_facts(vpn, ip))), cause.name


def _facts(vpn, ip):
    """The facts the sandbox's lines mention, as a client sees them (for the comparison)."""
    tunnel = next(t for t in vpn["Options"]["TunnelOptions"] if t["OutsideIpAddress"] == ip)
    return TunnelFacts(
        connection_id=vpn["VpnConnectionId"],
        outside_ip=ip,
        customer_ip="192.0.2.10",
        customer_inside_ip=str(ipaddress.ip_network(tunnel["TunnelInsideCidr"])[2]),
        customer_asn="65010",
        ike_version="ikev2",
        bgp=True,
        dpd_enabled=True,
    )


def test_bgp_causes_need_bgp_and_unknown_ones_are_refused(make_vpn, control_api):
    vpn = make_vpn(StaticRoutesOnly=True)
    ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    payload = {"vpn_connection_id": vpn["VpnConnectionId"], "outside_ip": ip}
    code, body = control_api(
        "POST", "/_sandbox/tunnel-cause", {**payload, "cause": "bgp_wrong_asn"}
    )
    assert code == 400 and "needs BGP" in body["error"]
    code, body = control_api("POST", "/_sandbox/tunnel-cause", {**payload, "cause": "gremlins"})
    assert code == 400 and "must be one of" in body["error"]
    code, _ = control_api(
        "POST",
        "/_sandbox/tunnel-cause",
        {**payload, "outside_ip": "198.18.9.9", "cause": "dpd_timeout"},
    )
    assert code == 404


def test_a_fault_on_a_logs_call_answers_in_the_json_protocol(logs, control_api):
    code, _ = control_api(
        "POST", "/_sandbox/faults", {"action": "DescribeLogGroups", "error": "quota"}
    )
    assert code == 201
    with pytest.raises(ClientError) as raised:
        logs.describe_log_groups()
    assert raised.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
