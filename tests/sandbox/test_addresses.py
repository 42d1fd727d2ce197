"""The sandbox's public addresses look real, are never loopback, and never collide.

Tunnel outside IPs and elastic IPs come from ranges of their own; customers' gateways
(and the demo's) keep 192.0.2.0/24.
"""

import ipaddress

from sandbox.addresses import (
    CUSTOMER_GATEWAY_RANGE,
    ELASTIC_IP_RANGES,
    TUNNEL_OUTSIDE_RANGES,
    elastic_ip_pool,
    tunnel_outside_pool,
)


def _in(address: str, ranges) -> bool:
    return any(ipaddress.ip_address(address) in ipaddress.ip_network(cidr) for cidr in ranges)


def test_elastic_ips_are_public_looking_documentation_addresses(ec2, ec2_client_for, sandbox_url):
    first = ec2.allocate_address(Domain="vpc")
    second = ec2_client_for(sandbox_url, region="eu-west-1").allocate_address(Domain="vpc")
    assert (first["PublicIp"], second["PublicIp"]) == ("198.51.100.1", "198.51.100.2")
    (described,) = ec2.describe_addresses(AllocationIds=[first["AllocationId"]])["Addresses"]
    assert described["PublicIp"] == "198.51.100.1"
    assert not ipaddress.ip_address(described["PublicIp"]).is_loopback


def test_a_nat_gateway_gets_its_elastic_ip(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24")["Subnet"]
    allocation = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(
        SubnetId=subnet["SubnetId"], AllocationId=allocation["AllocationId"]
    )
    (described,) = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGateway"]["NatGatewayId"]])[
        "NatGateways"
    ]
    assert described["NatGatewayAddresses"][0]["PublicIp"] == allocation["PublicIp"]
    assert _in(allocation["PublicIp"], ELASTIC_IP_RANGES)


def test_a_released_elastic_ip_is_handed_out_again_only_after_the_others(ec2):
    first = ec2.allocate_address(Domain="vpc")
    ec2.release_address(AllocationId=first["AllocationId"])
    assert ec2.allocate_address(Domain="vpc")["PublicIp"] == "198.51.100.2"
    second = ec2.allocate_address(Domain="vpc")
    ec2.release_address(PublicIp=second["PublicIp"])
    assert ec2.describe_addresses()["Addresses"][0]["PublicIp"] == "198.51.100.2"


def test_a_reset_starts_the_elastic_ips_again(ec2, control_api):
    ec2.allocate_address(Domain="vpc")
    control_api("POST", "/_sandbox/reset")
    assert ec2.allocate_address(Domain="vpc")["PublicIp"] == "198.51.100.1"


def test_elastic_ips_and_tunnels_never_share_an_address(ec2, make_vpn):
    vpn = make_vpn()
    outside = {t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"]}
    elastic = {ec2.allocate_address(Domain="vpc")["PublicIp"] for _ in range(3)}
    assert all(_in(address, TUNNEL_OUTSIDE_RANGES) for address in outside)
    assert all(_in(address, ELASTIC_IP_RANGES) for address in elastic)
    assert not outside & elastic


def test_the_ranges_are_apart_and_leave_the_customer_range_alone():
    ranges = [*TUNNEL_OUTSIDE_RANGES, *ELASTIC_IP_RANGES, CUSTOMER_GATEWAY_RANGE]
    networks = [ipaddress.ip_network(cidr) for cidr in ranges]
    for index, network in enumerate(networks):
        assert not network.is_loopback and not network.is_global  # never routed
        for other in networks[index + 1 :]:
            assert not network.overlaps(other), (network, other)


def test_pools_continue_in_the_benchmarking_range_and_reuse_released_addresses():
    tunnels = tunnel_outside_pool()
    first_range = [tunnels.allocate() for _ in range(254)]
    assert first_range[0] == "203.0.113.1"
    assert first_range[-1] == "203.0.113.254"
    assert tunnels.allocate() == "198.18.0.1"
    tunnels.release("203.0.113.7")
    # Released addresses are reused once the pool wraps around, never handed out twice.
    assert "203.0.113.7" not in [tunnels.allocate() for _ in range(10)]

    elastic = elastic_ip_pool()
    assert [elastic.allocate() for _ in range(254)][-1] == "198.51.100.254"
    assert elastic.allocate() == "198.19.0.1"
