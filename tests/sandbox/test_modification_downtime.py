"""While AWS applies a modification the tunnels it touches are DOWN, and a second
modification is refused; a tunnel can be held down; the sandbox remembers whether every
tunnel was ever DOWN at once; ModifyVpnConnection moves a connection onto another
customer gateway and keeps AWS's side as it was.

The timed tests use a sandbox of their own with a delay, on a clock they move themselves.
"""

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from sandbox.server import SandboxServer
from tests.sandbox.test_state_transitions import ManualClock


def error_code(info) -> str:
    """The EC2 error code of a raised ClientError."""
    return info.value.response["Error"]["Code"]


@pytest.fixture
def clock():
    """The clock of the `slow_sandbox`."""
    return ManualClock()


@pytest.fixture
def slow_sandbox(ec2_client_for, clock):
    """A boto3 client for a sandbox whose changes take 0.4 s (on `clock`) to settle."""
    server = SandboxServer(port=0, state_delay=0.4, clock=clock)
    url = server.start()
    yield ec2_client_for(url)
    server.stop()


def connection_between(ec2, ip="192.0.2.40", asn=65040) -> dict:
    """A VPN connection (settled) between a new customer gateway and a new VPN gateway."""
    customer = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=ip, BgpAsn=asn)
    gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    return ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=gateway["VpnGatewayId"],
        Options={
            "TunnelOptions": [{"PreSharedKey": "first_key_one"}, {"PreSharedKey": "second_key_two"}]
        },
    )["VpnConnection"]


def described(ec2, vpn_id) -> dict:
    """The connection as DescribeVpnConnections gives it."""
    return ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]


def statuses(ec2, vpn_id) -> dict[str, str]:
    """Each tunnel's telemetry status by outside IP."""
    return {t["OutsideIpAddress"]: t["Status"] for t in described(ec2, vpn_id)["VgwTelemetry"]}


def both_up(control, vpn, **url):
    """Bring both tunnels up through the control API."""
    for tunnel in vpn["Options"]["TunnelOptions"]:
        status, _ = control(
            "POST",
            "/_sandbox/tunnel-status",
            {
                "vpn_connection_id": vpn["VpnConnectionId"],
                "outside_ip": tunnel["OutsideIpAddress"],
                "status": "UP",
            },
            **url,
        )
        assert status == 200


def all_down_since(control, vpn_id, since, **url) -> dict:
    """The all-tunnels-down record of a connection since `since`."""
    path = f"/_sandbox/all-tunnels-down?vpn_connection_id={vpn_id}&since={quote(since.isoformat())}"
    status, body = control("GET", path, **url)
    assert status == 200, body
    return body


def test_a_tunnel_option_change_takes_that_tunnel_down_until_applied(
    slow_sandbox, clock, control_api
):
    ec2 = slow_sandbox
    url = {"url": ec2.meta.endpoint_url}
    clock.advance(0.4)
    vpn = connection_between(ec2)
    vpn_id = vpn["VpnConnectionId"]
    clock.advance(0.4)
    both_up(control_api, vpn, **url)
    first, second = (t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"])
    since = datetime.now(UTC)

    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn_id,
        VpnTunnelOutsideIpAddress=first,
        TunnelOptions={"PreSharedKey": "rotated_key_one"},
    )
    modifying = described(ec2, vpn_id)
    assert modifying["State"] == "modifying"
    assert statuses(ec2, vpn_id) == {first: "DOWN", second: "UP"}
    # AWS applies one modification at a time.
    with pytest.raises(ClientError) as info:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=vpn_id,
            VpnTunnelOutsideIpAddress=second,
            TunnelOptions={"PreSharedKey": "rotated_key_two"},
        )
    assert error_code(info) == "IncorrectState"
    assert "being modified" in info.value.response["Error"]["Message"]

    clock.advance(0.4)
    assert described(ec2, vpn_id)["State"] == "available"
    # Back to the status it had before, with a status change dated after the change.
    telemetry = {t["OutsideIpAddress"]: t for t in described(ec2, vpn_id)["VgwTelemetry"]}
    assert telemetry[first]["Status"] == "UP"
    assert telemetry[first]["LastStatusChange"] >= since.replace(microsecond=0)
    keys = [t["PreSharedKey"] for t in described(ec2, vpn_id)["Options"]["TunnelOptions"]]
    assert keys == ["rotated_key_one", "second_key_two"]
    # One tunnel at a time: traffic always had a path.
    assert all_down_since(control_api, vpn_id, since, **url)["all_down"] is False


def test_modifying_the_connection_takes_both_tunnels_down(slow_sandbox, clock, control_api):
    ec2 = slow_sandbox
    url = {"url": ec2.meta.endpoint_url}
    clock.advance(0.4)
    vpn = connection_between(ec2)
    vpn_id = vpn["VpnConnectionId"]
    clock.advance(0.4)
    both_up(control_api, vpn, **url)
    before = described(ec2, vpn_id)
    since = datetime.now(UTC)
    new = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.41", BgpAsn=65041)
    new_id = new["CustomerGateway"]["CustomerGatewayId"]

    answer = ec2.modify_vpn_connection(VpnConnectionId=vpn_id, CustomerGatewayId=new_id)
    assert answer["VpnConnection"]["CustomerGatewayId"] == new_id
    assert set(statuses(ec2, vpn_id).values()) == {"DOWN"}
    assert described(ec2, vpn_id)["State"] == "modifying"
    with pytest.raises(ClientError) as info:
        ec2.modify_vpn_connection(VpnConnectionId=vpn_id, CustomerGatewayId=new_id)
    assert error_code(info) == "IncorrectState"
    clock.advance(0.4)

    after = described(ec2, vpn_id)
    assert after["State"] == "available"
    assert set(statuses(ec2, vpn_id).values()) == {"UP"}
    # AWS's side is kept: outside IPs, keys, inside CIDRs and options.
    assert after["Options"]["TunnelOptions"] == before["Options"]["TunnelOptions"]
    assert after["CustomerGatewayId"] == new_id
    found = ec2.describe_vpn_connections(
        Filters=[{"Name": "customer-gateway-id", "Values": [new_id]}]
    )["VpnConnections"]
    assert [v["VpnConnectionId"] for v in found] == [vpn_id]
    # The customer's side of the configuration document is the new gateway.
    assert "192.0.2.41" in after["CustomerGatewayConfiguration"]
    record = all_down_since(control_api, vpn_id, since, **url)
    assert record["all_down"] is True and len(record["periods"]) == 1
    start, end = record["periods"][0]
    assert end is not None and start <= end


def test_modify_vpn_connection_refuses_what_it_cannot_do(ec2, make_vpn):
    vpn_id = make_vpn()["VpnConnectionId"]
    for params in (
        {"VpnGatewayId": "vgw-0123456789abcdef0"},
        {"CustomerGatewayId": "cgw-0123456789abcdef0"},
        {},
    ):
        with pytest.raises(ClientError) as info:
            ec2.modify_vpn_connection(VpnConnectionId=vpn_id, **params)
        assert error_code(info) in (
            "InvalidParameterValue",
            "InvalidCustomerGatewayID.NotFound",
            "MissingParameter",
        ), params


def test_a_held_tunnel_stays_down_through_a_change(ec2, make_vpn, control_api, describe_vpn):
    vpn = make_vpn()
    vpn_id = vpn["VpnConnectionId"]
    both_up(control_api, vpn)
    first, second = (t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"])
    since = datetime.now(UTC)

    status, body = control_api(
        "POST",
        "/_sandbox/tunnel-hold",
        {"vpn_connection_id": vpn_id, "outside_ip": first, "held": True},
    )
    assert (status, body["held"], body["status"]) == (200, True, "DOWN")
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn_id,
        VpnTunnelOutsideIpAddress=first,
        TunnelOptions={"PreSharedKey": "rotated_key_one"},
    )
    # The change settled (no delay), but the held tunnel is still DOWN.
    assert describe_vpn(vpn_id)["State"] == "available"
    assert {t["OutsideIpAddress"]: t["Status"] for t in describe_vpn(vpn_id)["VgwTelemetry"]} == {
        first: "DOWN",
        second: "UP",
    }
    status, body = control_api(
        "POST",
        "/_sandbox/tunnel-hold",
        {"vpn_connection_id": vpn_id, "outside_ip": first, "held": False},
    )
    assert (status, body["status"]) == (200, "UP")
    assert all_down_since(control_api, vpn_id, since)["all_down"] is False


def test_the_control_api_refuses_bad_holds_and_questions(control_api, make_vpn):
    vpn = make_vpn()
    vpn_id = vpn["VpnConnectionId"]
    ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    bad_holds = [
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "held": "yes"},
        {"vpn_connection_id": vpn_id, "held": True},
    ]
    for payload in bad_holds:
        assert control_api("POST", "/_sandbox/tunnel-hold", payload)[0] == 400, payload
    unknown = {"vpn_connection_id": vpn_id, "outside_ip": "203.0.113.254", "held": True}
    assert control_api("POST", "/_sandbox/tunnel-hold", unknown)[0] == 404
    assert control_api("GET", f"/_sandbox/all-tunnels-down?vpn_connection_id={vpn_id}")[0] == 400
    since = quote(datetime.now(UTC).isoformat())
    path = f"/_sandbox/all-tunnels-down?vpn_connection_id=vpn-0123456789abcdef0&since={since}"
    assert control_api("GET", path)[0] == 404


def test_a_new_connection_starts_with_every_tunnel_down(control_api, make_vpn):
    since = datetime.now(UTC)
    vpn = make_vpn()
    record = all_down_since(control_api, vpn["VpnConnectionId"], since)
    assert record["all_down"] is True
    both_up(control_api, vpn)
    (period,) = all_down_since(control_api, vpn["VpnConnectionId"], since)["periods"]
    assert period[1] is not None


def test_deleting_a_route_over_http_takes_it_through_deleting(slow_sandbox, clock):
    ec2 = slow_sandbox
    customer = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.42", BgpAsn=65042)
    gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    vpn_id = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=gateway["VpnGatewayId"],
        Options={"StaticRoutesOnly": True},
    )["VpnConnection"]["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.8.0.0/16")
    clock.advance(0.4)
    assert [r["State"] for r in described(ec2, vpn_id)["Routes"]] == ["available"]
    ec2.delete_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.8.0.0/16")
    assert [r["State"] for r in described(ec2, vpn_id)["Routes"]] == ["deleting"]
    clock.advance(0.4)
    assert described(ec2, vpn_id)["Routes"] == []
    with pytest.raises(ClientError) as info:
        ec2.delete_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.8.0.0/16")
    assert error_code(info) == "InvalidRoute.NotFound"
