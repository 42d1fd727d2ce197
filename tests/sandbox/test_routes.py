"""Static routes of VPN connections, and VPN gateway route propagation into route tables."""

import pytest
from botocore.exceptions import ClientError


def error_code(info) -> str:
    """The EC2 error code of a raised ClientError."""
    return info.value.response["Error"]["Code"]


@pytest.fixture
def static_vpn(make_vpn):
    """A static-routing VPN connection."""
    return make_vpn(StaticRoutesOnly=True)


def routes_of(describe_vpn, vpn_id):
    """A connection's routes by destination."""
    return {route["DestinationCidrBlock"]: route for route in describe_vpn(vpn_id)["Routes"]}


def test_routes_are_added_and_listed_with_state(ec2, static_vpn, describe_vpn):
    vpn_id = static_vpn["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.1.0.0/16")
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.2.0.0/24")
    routes = routes_of(describe_vpn, vpn_id)
    assert set(routes) == {"10.1.0.0/16", "10.2.0.0/24"}
    for route in routes.values():
        assert route["Source"] == "Static"
        assert route["State"] == "available"


def test_adding_a_route_twice_keeps_one(ec2, static_vpn, describe_vpn):
    vpn_id = static_vpn["VpnConnectionId"]
    for _ in range(2):
        ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.1.0.0/16")
    assert list(routes_of(describe_vpn, vpn_id)) == ["10.1.0.0/16"]


def test_deleted_routes_disappear(ec2, static_vpn, describe_vpn):
    vpn_id = static_vpn["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.1.0.0/16")
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.2.0.0/16")
    ec2.delete_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.1.0.0/16")
    assert list(routes_of(describe_vpn, vpn_id)) == ["10.2.0.0/16"]


def test_route_filter(ec2, static_vpn):
    vpn_id = static_vpn["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.9.0.0/16")
    found = ec2.describe_vpn_connections(
        Filters=[{"Name": "route.destination-cidr-block", "Values": ["10.9.0.0/16"]}]
    )["VpnConnections"]
    assert [vpn["VpnConnectionId"] for vpn in found] == [vpn_id]


def test_route_errors(ec2, static_vpn, make_vpn):
    vpn_id = static_vpn["VpnConnectionId"]
    with pytest.raises(ClientError) as info:
        ec2.delete_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.7.0.0/16")
    assert error_code(info) == "InvalidRoute.NotFound"
    with pytest.raises(ClientError) as info:
        ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="10.1.0.0")
    assert error_code(info) == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        ec2.create_vpn_connection_route(
            VpnConnectionId="vpn-0123456789abcdef0", DestinationCidrBlock="10.1.0.0/16"
        )
    assert error_code(info) == "InvalidVpnConnectionID.NotFound"
    bgp_vpn = make_vpn()
    with pytest.raises(ClientError) as info:
        ec2.create_vpn_connection_route(
            VpnConnectionId=bgp_vpn["VpnConnectionId"], DestinationCidrBlock="10.1.0.0/16"
        )
    assert error_code(info) == "InvalidVpnConnection.InvalidType"


@pytest.fixture
def attached(ec2, vpn_gateway):
    """A VPC with the VPN gateway attached, and a route table of that VPC."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    ec2.attach_vpn_gateway(VpcId=vpc["VpcId"], VpnGatewayId=vpn_gateway["VpnGatewayId"])
    table = ec2.create_route_table(VpcId=vpc["VpcId"])["RouteTable"]
    return vpc, table


def propagating(ec2, table_id):
    """A route table's PropagatingVgws."""
    table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
    return table["PropagatingVgws"]


def test_propagation_is_enabled_and_disabled(ec2, vpn_gateway, attached):
    _, table = attached
    gateway_id = vpn_gateway["VpnGatewayId"]
    assert propagating(ec2, table["RouteTableId"]) == []
    ec2.enable_vgw_route_propagation(RouteTableId=table["RouteTableId"], GatewayId=gateway_id)
    ec2.enable_vgw_route_propagation(RouteTableId=table["RouteTableId"], GatewayId=gateway_id)
    assert propagating(ec2, table["RouteTableId"]) == [{"GatewayId": gateway_id}]
    ec2.disable_vgw_route_propagation(RouteTableId=table["RouteTableId"], GatewayId=gateway_id)
    assert propagating(ec2, table["RouteTableId"]) == []


def test_propagation_only_into_the_tables_asked_for(ec2, vpn_gateway, attached):
    vpc, table = attached
    gateway_id = vpn_gateway["VpnGatewayId"]
    ec2.enable_vgw_route_propagation(RouteTableId=table["RouteTableId"], GatewayId=gateway_id)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    by_id = {t["RouteTableId"]: t["PropagatingVgws"] for t in tables["RouteTables"]}
    assert by_id.pop(table["RouteTableId"]) == [{"GatewayId": gateway_id}]
    assert by_id and all(value == [] for value in by_id.values())


def test_propagation_errors(ec2, vpn_gateway, attached):
    _, table = attached
    with pytest.raises(ClientError) as info:
        ec2.enable_vgw_route_propagation(
            RouteTableId="rtb-0123456789abcdef0", GatewayId=vpn_gateway["VpnGatewayId"]
        )
    assert error_code(info) == "InvalidRouteTableID.NotFound"
    with pytest.raises(ClientError) as info:
        ec2.enable_vgw_route_propagation(
            RouteTableId=table["RouteTableId"], GatewayId="vgw-0123456789abcdef0"
        )
    assert error_code(info) == "InvalidVpnGatewayID.NotFound"
    unattached = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    with pytest.raises(ClientError) as info:
        ec2.enable_vgw_route_propagation(
            RouteTableId=table["RouteTableId"], GatewayId=unattached["VpnGatewayId"]
        )
    assert error_code(info) == "Gateway.NotAttached"
