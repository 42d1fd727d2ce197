"""VPN connections keep their options, and each tunnel gets its own addresses and key."""

import ipaddress
import re

from sandbox.validation import RESERVED_INSIDE_CIDRS

TUNNEL_1 = {
    "TunnelInsideCidr": "169.254.10.0/30",
    "PreSharedKey": "first_tunnel.key1",
    "Phase1LifetimeSeconds": 14400,
    "Phase2LifetimeSeconds": 1800,
    "Phase1EncryptionAlgorithms": [{"Value": "AES256"}],
    "Phase2EncryptionAlgorithms": [{"Value": "AES256-GCM-16"}],
    "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}],
    "Phase2IntegrityAlgorithms": [{"Value": "SHA2-512"}],
    "Phase1DHGroupNumbers": [{"Value": 14}],
    "Phase2DHGroupNumbers": [{"Value": 14}, {"Value": 19}],
    "IKEVersions": [{"Value": "ikev2"}],
    "DPDTimeoutSeconds": 40,
    "DPDTimeoutAction": "restart",
    "StartupAction": "start",
    "RekeyMarginTimeSeconds": 300,
    "RekeyFuzzPercentage": 50,
    "ReplayWindowSize": 2048,
}
TUNNEL_2 = {
    "TunnelInsideCidr": "169.254.20.4/30",
    "PreSharedKey": "second_tunnel_key2",
    "Phase1DHGroupNumbers": [{"Value": 21}],
    "IKEVersions": [{"Value": "ikev1"}],
}

KEY_RULE = re.compile(r"^[1-9A-Za-z][0-9A-Za-z]{31}$")


def values(entries):
    """Unwrap a list of ``{"Value": ...}`` entries."""
    return [entry["Value"] for entry in entries]


def test_requested_options_come_back_per_tunnel(make_vpn, describe_vpn):
    created = make_vpn(
        StaticRoutesOnly=True,
        LocalIpv4NetworkCidr="10.50.0.0/16",
        RemoteIpv4NetworkCidr="10.0.0.0/16",
        TunnelOptions=[TUNNEL_1, TUNNEL_2],
    )
    described = describe_vpn(created["VpnConnectionId"])

    for vpn in (created, described):
        options = vpn["Options"]
        assert options["StaticRoutesOnly"] is True
        assert options["LocalIpv4NetworkCidr"] == "10.50.0.0/16"
        assert options["RemoteIpv4NetworkCidr"] == "10.0.0.0/16"
        assert options["TunnelInsideIpVersion"] == "ipv4"
        first, second = options["TunnelOptions"]

        assert first["TunnelInsideCidr"] == "169.254.10.0/30"
        assert first["PreSharedKey"] == "first_tunnel.key1"
        assert first["Phase1LifetimeSeconds"] == 14400
        assert first["Phase2LifetimeSeconds"] == 1800
        assert values(first["Phase1EncryptionAlgorithms"]) == ["AES256"]
        assert values(first["Phase2EncryptionAlgorithms"]) == ["AES256-GCM-16"]
        assert values(first["Phase1IntegrityAlgorithms"]) == ["SHA2-256"]
        assert values(first["Phase2IntegrityAlgorithms"]) == ["SHA2-512"]
        assert values(first["Phase1DHGroupNumbers"]) == [14]
        assert values(first["Phase2DHGroupNumbers"]) == [14, 19]
        assert values(first["IkeVersions"]) == ["ikev2"]
        assert first["DpdTimeoutSeconds"] == 40
        assert first["DpdTimeoutAction"] == "restart"
        assert first["StartupAction"] == "start"
        assert first["RekeyMarginTimeSeconds"] == 300
        assert first["RekeyFuzzPercentage"] == 50
        assert first["ReplayWindowSize"] == 2048

        assert second["TunnelInsideCidr"] == "169.254.20.4/30"
        assert second["PreSharedKey"] == "second_tunnel_key2"
        assert values(second["Phase1DHGroupNumbers"]) == [21]
        assert values(second["IkeVersions"]) == ["ikev1"]
        # What the second tunnel did not set has AWS's defaults.
        assert second["Phase1LifetimeSeconds"] == 28800
        assert second["DpdTimeoutAction"] == "clear"
        assert second["StartupAction"] == "add"

        assert first["OutsideIpAddress"] != second["OutsideIpAddress"]


def test_unset_options_have_aws_defaults(make_vpn, describe_vpn):
    vpn = describe_vpn(make_vpn()["VpnConnectionId"])
    options = vpn["Options"]
    assert options["StaticRoutesOnly"] is False
    assert options["EnableAcceleration"] is False
    assert options["LocalIpv4NetworkCidr"] == "0.0.0.0/0"
    assert options["RemoteIpv4NetworkCidr"] == "0.0.0.0/0"
    assert options["OutsideIpAddressType"] == "PublicIpv4"
    assert len(options["TunnelOptions"]) == 2
    for tunnel in options["TunnelOptions"]:
        assert tunnel["Phase1LifetimeSeconds"] == 28800
        assert tunnel["Phase2LifetimeSeconds"] == 3600
        assert tunnel["RekeyMarginTimeSeconds"] == 270
        assert tunnel["RekeyFuzzPercentage"] == 100
        assert tunnel["ReplayWindowSize"] == 1024
        assert tunnel["DpdTimeoutSeconds"] == 30
        assert tunnel["DpdTimeoutAction"] == "clear"
        assert tunnel["StartupAction"] == "add"
        assert values(tunnel["IkeVersions"]) == ["ikev1", "ikev2"]
        assert values(tunnel["Phase1EncryptionAlgorithms"]) == [
            "AES128",
            "AES256",
            "AES128-GCM-16",
            "AES256-GCM-16",
        ]
        assert values(tunnel["Phase2IntegrityAlgorithms"]) == [
            "SHA1",
            "SHA2-256",
            "SHA2-384",
            "SHA2-512",
        ]
        assert values(tunnel["Phase1DHGroupNumbers"]) == [2, *range(14, 25)]
        assert values(tunnel["Phase2DHGroupNumbers"]) == [2, 5, *range(14, 25)]


def test_generated_keys_and_addresses_follow_aws_rules(make_vpn, describe_vpn):
    vpn = describe_vpn(make_vpn()["VpnConnectionId"])
    first, second = vpn["Options"]["TunnelOptions"]
    assert first["PreSharedKey"] != second["PreSharedKey"]
    assert first["TunnelInsideCidr"] != second["TunnelInsideCidr"]
    assert first["OutsideIpAddress"] != second["OutsideIpAddress"]
    for tunnel in (first, second):
        assert KEY_RULE.match(tunnel["PreSharedKey"])
        inside = ipaddress.ip_network(tunnel["TunnelInsideCidr"])
        assert inside.prefixlen == 30
        assert inside.subnet_of(ipaddress.ip_network("169.254.0.0/16"))
        assert str(inside) not in RESERVED_INSIDE_CIDRS
        assert ipaddress.ip_address(tunnel["OutsideIpAddress"]) in ipaddress.ip_network(
            "203.0.113.0/24"
        )


def test_telemetry_has_one_down_entry_per_tunnel(make_vpn, describe_vpn):
    vpn = describe_vpn(make_vpn()["VpnConnectionId"])
    outside = [tunnel["OutsideIpAddress"] for tunnel in vpn["Options"]["TunnelOptions"]]
    telemetry = vpn["VgwTelemetry"]
    assert [entry["OutsideIpAddress"] for entry in telemetry] == outside
    for entry in telemetry:
        assert entry["Status"] == "DOWN"
        assert entry["StatusMessage"] == ""
        assert entry["AcceptedRouteCount"] == 0
        assert entry["LastStatusChange"] is not None
    assert vpn["Routes"] == []
    assert vpn["Category"] == "VPN"


def test_outside_addresses_are_unique_across_the_sandbox(
    ec2, ec2_client_for, sandbox_url, make_vpn
):
    addresses = []
    for _ in range(3):
        vpn = make_vpn()
        addresses += [t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"]]
    # Another region draws from the same pool.
    other = ec2_client_for(sandbox_url, region="eu-west-1")
    gateway = other.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.20", BgpAsn=65020)
    vgw = other.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    vpn = other.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=gateway["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=vgw["VpnGatewayId"],
    )["VpnConnection"]
    addresses += [t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"]]
    assert len(addresses) == len(set(addresses)) == 8


def test_inside_cidrs_are_unique_per_gateway(make_vpn):
    cidrs = []
    for _ in range(5):
        vpn = make_vpn()
        cidrs += [t["TunnelInsideCidr"] for t in vpn["Options"]["TunnelOptions"]]
    assert len(set(cidrs)) == 10


def test_same_inside_cidr_is_fine_on_another_gateway(ec2, make_vpn, customer_gateway):
    make_vpn(TunnelOptions=[{"TunnelInsideCidr": "169.254.44.0/30"}])
    other_vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer_gateway["CustomerGatewayId"],
        VpnGatewayId=other_vgw["VpnGatewayId"],
        Options={"TunnelOptions": [{"TunnelInsideCidr": "169.254.44.0/30"}]},
    )["VpnConnection"]
    assert vpn["Options"]["TunnelOptions"][0]["TunnelInsideCidr"] == "169.254.44.0/30"


def test_vpn_connection_filters(ec2, make_vpn):
    static = make_vpn(StaticRoutesOnly=True)
    dynamic = make_vpn()
    ec2.create_tags(Resources=[static["VpnConnectionId"]], Tags=[{"Key": "site", "Value": "hq"}])

    def ids(**kwargs):
        """Ids of the connections described with these arguments."""
        found = ec2.describe_vpn_connections(**kwargs)["VpnConnections"]
        return {vpn["VpnConnectionId"] for vpn in found}

    assert ids() == {static["VpnConnectionId"], dynamic["VpnConnectionId"]}
    assert ids(Filters=[{"Name": "tag:site", "Values": ["hq"]}]) == {static["VpnConnectionId"]}
    assert ids(Filters=[{"Name": "tag-key", "Values": ["site"]}]) == {static["VpnConnectionId"]}
    assert ids(Filters=[{"Name": "option.static-routes-only", "Values": ["false"]}]) == {
        dynamic["VpnConnectionId"]
    }
    assert ids(Filters=[{"Name": "state", "Values": ["available"]}]) == ids()
    assert ids(Filters=[{"Name": "vpn-connection-id", "Values": [dynamic["VpnConnectionId"]]}]) == {
        dynamic["VpnConnectionId"]
    }
    tagged = ec2.describe_vpn_connections(VpnConnectionIds=[static["VpnConnectionId"]])
    assert tagged["VpnConnections"][0]["Tags"] == [{"Key": "site", "Value": "hq"}]
