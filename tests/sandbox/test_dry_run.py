"""DryRun=True on any action answers DryRunOperation (HTTP 412) and changes nothing."""

import pytest
from botocore.exceptions import ClientError


def assert_dry_run(call, **kwargs):
    """The call, with DryRun=True, answers DryRunOperation with HTTP 412."""
    with pytest.raises(ClientError) as info:
        call(DryRun=True, **kwargs)
    response = info.value.response
    assert response["Error"]["Code"] == "DryRunOperation"
    assert response["Error"]["Message"] == "Request would have succeeded, but DryRun flag is set."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_creations_create_nothing(ec2, customer_gateway, vpn_gateway):
    assert_dry_run(ec2.create_vpc, CidrBlock="10.0.0.0/16")
    assert_dry_run(ec2.create_customer_gateway, Type="ipsec.1", PublicIp="192.0.2.60", BgpAsn=65060)
    assert_dry_run(ec2.create_vpn_gateway, Type="ipsec.1")
    assert_dry_run(
        ec2.create_vpn_connection,
        Type="ipsec.1",
        CustomerGatewayId=customer_gateway["CustomerGatewayId"],
        VpnGatewayId=vpn_gateway["VpnGatewayId"],
    )
    default_vpcs = [vpc for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]
    assert default_vpcs == []
    assert len(ec2.describe_customer_gateways()["CustomerGateways"]) == 1
    assert len(ec2.describe_vpn_gateways()["VpnGateways"]) == 1
    assert ec2.describe_vpn_connections()["VpnConnections"] == []


def test_changes_and_reads_are_not_carried_out(ec2, make_vpn, describe_vpn):
    vpn = make_vpn(StaticRoutesOnly=True)
    vpn_id = vpn["VpnConnectionId"]
    outside_ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    assert_dry_run(
        ec2.modify_vpn_tunnel_options,
        VpnConnectionId=vpn_id,
        VpnTunnelOutsideIpAddress=outside_ip,
        TunnelOptions={"PreSharedKey": "never_applied"},
    )
    assert_dry_run(ec2.delete_vpn_connection, VpnConnectionId=vpn_id)
    assert_dry_run(ec2.describe_vpn_connections)
    assert_dry_run(ec2.describe_customer_gateways)
    assert_dry_run(ec2.get_vpn_connection_device_types)
    described = describe_vpn(vpn_id)
    assert described["State"] == "available"
    assert described["Options"]["TunnelOptions"][0]["PreSharedKey"] != "never_applied"
