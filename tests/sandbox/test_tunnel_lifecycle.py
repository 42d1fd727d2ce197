"""Tunnel endpoint lifecycle control: `EnableTunnelLifecycleControl`, pending maintenance
scheduled through the control API, `GetVpnTunnelReplacementStatus`, and `ReplaceVpnTunnel`
(the tunnel drops, and comes back after the state delay)."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from sandbox.server import SandboxServer
from tests.sandbox.test_state_transitions import ManualClock

LIFECYCLE = {"EnableTunnelLifecycleControl": True}


def _tunnel_ips(vpn) -> list[str]:
    return [tunnel["OutsideIpAddress"] for tunnel in vpn["Options"]["TunnelOptions"]]


def _schedule(control_api, vpn_id, ip, deadline, url=None, **extra):
    payload = {
        "vpn_connection_id": vpn_id,
        "outside_ip": ip,
        "auto_applied_after": deadline.isoformat(),
        **extra,
    }
    if url is None:
        return control_api("POST", "/_sandbox/tunnel-maintenance", payload)
    return control_api("POST", "/_sandbox/tunnel-maintenance", payload, url=url)


def _telemetry(describe_vpn, vpn_id, ip) -> dict:
    return next(t for t in describe_vpn(vpn_id)["VgwTelemetry"] if t["OutsideIpAddress"] == ip)


def test_lifecycle_control_is_a_tunnel_option(ec2, make_vpn, describe_vpn):
    vpn = make_vpn(TunnelOptions=[LIFECYCLE, {}])
    first, second = vpn["Options"]["TunnelOptions"]
    assert first["EnableTunnelLifecycleControl"] is True
    assert second["EnableTunnelLifecycleControl"] is False
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnTunnelOutsideIpAddress=second["OutsideIpAddress"],
        TunnelOptions=LIFECYCLE,
    )
    described = describe_vpn(vpn["VpnConnectionId"])["Options"]["TunnelOptions"]
    assert [t["EnableTunnelLifecycleControl"] for t in described] == [True, True]


def test_pending_maintenance_is_reported_with_its_deadline(ec2, make_vpn, control_api):
    vpn = make_vpn(TunnelOptions=[LIFECYCLE, LIFECYCLE])
    vpn_id = vpn["VpnConnectionId"]
    ip, other = _tunnel_ips(vpn)
    nothing = ec2.get_vpn_tunnel_replacement_status(
        VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip
    )
    assert nothing["MaintenanceDetails"] == {}
    assert nothing["VpnTunnelOutsideIpAddress"] == ip

    deadline = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    code, body = _schedule(control_api, vpn_id, ip, deadline, description="Software update")
    assert code == 200, body
    status = ec2.get_vpn_tunnel_replacement_status(
        VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip
    )
    assert status["MaintenanceDetails"] == {
        "PendingMaintenance": "Software update",
        "MaintenanceAutoAppliedAfter": deadline,
    }
    assert status["VpnGatewayId"] == vpn["VpnGatewayId"]
    other_status = ec2.get_vpn_tunnel_replacement_status(
        VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=other
    )
    assert other_status["MaintenanceDetails"] == {}


def test_bad_maintenance_requests_are_refused(make_vpn, control_api):
    vpn = make_vpn()
    ip = _tunnel_ips(vpn)[0]
    code, body = _schedule(
        control_api, vpn["VpnConnectionId"], ip, datetime.now(UTC) - timedelta(1)
    )
    assert code == 400 and "future" in body["error"]
    code, _ = _schedule(control_api, "vpn-0nothing", ip, datetime.now(UTC) + timedelta(1))
    assert code == 404


def test_replacing_applies_the_maintenance_and_the_tunnel_comes_back(
    ec2, make_vpn, control_api, describe_vpn
):
    vpn = make_vpn(TunnelOptions=[LIFECYCLE, LIFECYCLE])
    vpn_id = vpn["VpnConnectionId"]
    ip, other = _tunnel_ips(vpn)
    for address in (ip, other):
        code, _ = control_api(
            "POST",
            "/_sandbox/tunnel-status",
            {"vpn_connection_id": vpn_id, "outside_ip": address, "status": "UP"},
        )
        assert code == 200
    _schedule(control_api, vpn_id, ip, datetime.now(UTC) + timedelta(days=2))
    code, _ = control_api("POST", "/_sandbox/state-delay", {"seconds": 3600})
    assert code == 200

    answer = ec2.replace_vpn_tunnel(
        VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip, ApplyPendingMaintenance=True
    )
    assert answer["Return"] is True
    # Down while the endpoint is replaced (the state delay is an hour): the other stays up.
    assert _telemetry(describe_vpn, vpn_id, ip)["Status"] == "DOWN"
    assert _telemetry(describe_vpn, vpn_id, other)["Status"] == "UP"
    details = ec2.get_vpn_tunnel_replacement_status(
        VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip
    )["MaintenanceDetails"]
    assert "PendingMaintenance" not in details
    assert details["LastMaintenanceApplied"] <= datetime.now(UTC)


def test_with_no_delay_the_tunnel_is_up_again_at_the_next_call(
    ec2, make_vpn, control_api, describe_vpn
):
    vpn = make_vpn(TunnelOptions=[LIFECYCLE, LIFECYCLE])
    vpn_id = vpn["VpnConnectionId"]
    ip = _tunnel_ips(vpn)[0]
    control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "status": "UP", "message": "3 BGP ROUTES"},
    )
    ec2.replace_vpn_tunnel(VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip)
    back = _telemetry(describe_vpn, vpn_id, ip)
    assert (back["Status"], back["StatusMessage"]) == ("UP", "3 BGP ROUTES")


def test_a_down_tunnel_stays_down_after_a_replacement(ec2, make_vpn, describe_vpn):
    vpn = make_vpn()
    ip = _tunnel_ips(vpn)[0]
    ec2.replace_vpn_tunnel(VpnConnectionId=vpn["VpnConnectionId"], VpnTunnelOutsideIpAddress=ip)
    assert _telemetry(describe_vpn, vpn["VpnConnectionId"], ip)["Status"] == "DOWN"


def test_applying_maintenance_needs_lifecycle_control(ec2, make_vpn):
    vpn = make_vpn()
    with pytest.raises(ClientError) as raised:
        ec2.replace_vpn_tunnel(
            VpnConnectionId=vpn["VpnConnectionId"],
            VpnTunnelOutsideIpAddress=_tunnel_ips(vpn)[0],
            ApplyPendingMaintenance=True,
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "lifecycle control is not enabled" in raised.value.response["Error"]["Message"]


def test_an_unknown_tunnel_is_refused(ec2, make_vpn):
    vpn = make_vpn()
    with pytest.raises(ClientError) as raised:
        ec2.get_vpn_tunnel_replacement_status(
            VpnConnectionId=vpn["VpnConnectionId"], VpnTunnelOutsideIpAddress="198.18.200.1"
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_at_its_deadline_aws_applies_the_maintenance_itself(ec2_client_for, control_api):
    clock = ManualClock()
    server = SandboxServer(port=0, state_delay=0.0, clock=clock)
    url = server.start()
    try:
        ec2 = ec2_client_for(url)
        gateway = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.20", BgpAsn=65020)
        vpn = ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=gateway["CustomerGateway"]["CustomerGatewayId"],
            VpnGatewayId=ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"],
            Options={"TunnelOptions": [LIFECYCLE, LIFECYCLE]},
        )["VpnConnection"]
        vpn_id, ip = vpn["VpnConnectionId"], _tunnel_ips(vpn)[0]
        code, _ = _schedule(
            control_api, vpn_id, ip, datetime.now(UTC) + timedelta(hours=1), url=url
        )
        assert code == 200

        def pending() -> bool:
            details = ec2.get_vpn_tunnel_replacement_status(
                VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip
            )["MaintenanceDetails"]
            return "PendingMaintenance" in details

        clock.advance(1800)
        assert pending()
        clock.advance(1801)
        assert not pending()
    finally:
        server.stop()
