"""POST /_sandbox/reset forgets resources, VPN records, fault rules and statistics."""

import http.client
import json
from urllib.parse import urlsplit


def test_reset_forgets_everything(ec2, make_vpn, control_api):
    vpn = make_vpn()
    ec2.create_vpc(CidrBlock="10.0.0.0/16")
    control_api("POST", "/_sandbox/faults", {"action": "CreateSubnet", "error": "server"})

    status, body = control_api("POST", "/_sandbox/reset")
    assert status == 200 and body == {"reset": True}

    assert control_api("GET", "/_sandbox/stats")[1] == {
        "calls": {},
        "faults": {},
        "serving_seconds": 0.0,
    }
    assert control_api("GET", "/_sandbox/faults")[1] == {"rules": []}
    assert ec2.describe_vpn_connections()["VpnConnections"] == []
    assert ec2.describe_customer_gateways()["CustomerGateways"] == []
    assert ec2.describe_vpn_gateways()["VpnGateways"] == []
    assert [vpc for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]] == []
    status, _ = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {
            "vpn_connection_id": vpn["VpnConnectionId"],
            "outside_ip": vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"],
            "status": "UP",
        },
    )
    assert status == 404


def test_outside_addresses_start_over(ec2, make_vpn, control_api):
    assert make_vpn()["Options"]["TunnelOptions"][0]["OutsideIpAddress"] == "203.0.113.1"
    control_api("POST", "/_sandbox/reset")
    customer = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.80", BgpAsn=65080)
    gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=gateway["VpnGatewayId"],
    )["VpnConnection"]
    assert vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"] == "203.0.113.1"


def test_motos_own_reset_clears_the_sandbox_too(sandbox_url, make_vpn, control_api):
    vpn = make_vpn()
    address = urlsplit(sandbox_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("POST", "/moto-api/reset")
    assert json.loads(connection.getresponse().read()) == {"status": "ok"}
    connection.close()
    status, _ = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {
            "vpn_connection_id": vpn["VpnConnectionId"],
            "outside_ip": vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"],
            "status": "UP",
        },
    )
    assert status == 404
