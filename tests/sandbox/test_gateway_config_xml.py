"""The CustomerGatewayConfiguration XML carries each tunnel's real values, as Describe does."""

import ipaddress
import xml.etree.ElementTree as ET

import pytest

TUNNELS = [
    {
        "TunnelInsideCidr": "169.254.30.0/30",
        "PreSharedKey": "xml_tunnel_one",
        "Phase1LifetimeSeconds": 10800,
        "Phase2LifetimeSeconds": 1200,
        "Phase1EncryptionAlgorithms": [{"Value": "AES256"}],
        "Phase2EncryptionAlgorithms": [{"Value": "AES128-GCM-16"}],
        "Phase1IntegrityAlgorithms": [{"Value": "SHA2-384"}],
        "Phase2IntegrityAlgorithms": [{"Value": "SHA2-256"}],
        "Phase1DHGroupNumbers": [{"Value": 20}],
        "Phase2DHGroupNumbers": [{"Value": 5}],
        "DPDTimeoutSeconds": 60,
    },
    {"TunnelInsideCidr": "169.254.31.8/30", "PreSharedKey": "xml_tunnel_two"},
]


def parse(document: str) -> ET.Element:
    """Parse a configuration document."""
    return ET.fromstring(document.encode())  # noqa: S314 - the sandbox's own XML


def text(element: ET.Element, path: str) -> str:
    """The text at ``path``, which must exist."""
    found = element.find(path)
    assert found is not None, f"missing {path}"
    return found.text


@pytest.fixture
def bgp_vpn(make_vpn, describe_vpn):
    """A BGP connection with distinct tunnel options, as described."""
    return describe_vpn(make_vpn(TunnelOptions=TUNNELS)["VpnConnectionId"])


def test_document_structure(bgp_vpn, customer_gateway, vpn_gateway):
    root = parse(bgp_vpn["CustomerGatewayConfiguration"])
    assert root.tag == "vpn_connection"
    assert root.get("id") == bgp_vpn["VpnConnectionId"]
    assert text(root, "customer_gateway_id") == customer_gateway["CustomerGatewayId"]
    assert text(root, "vpn_gateway_id") == vpn_gateway["VpnGatewayId"]
    assert text(root, "vpn_connection_type") == "ipsec.1"
    assert len(root.findall("ipsec_tunnel")) == 2


def test_each_tunnel_matches_describe(bgp_vpn, customer_gateway):
    root = parse(bgp_vpn["CustomerGatewayConfiguration"])
    described = bgp_vpn["Options"]["TunnelOptions"]
    xml_tunnels = root.findall("ipsec_tunnel")
    for tunnel, xml_tunnel in zip(described, xml_tunnels, strict=True):
        inside = ipaddress.ip_network(tunnel["TunnelInsideCidr"])
        customer = xml_tunnel.find("customer_gateway")
        aws = xml_tunnel.find("vpn_gateway")
        assert text(customer, "tunnel_outside_address/ip_address") == customer_gateway["IpAddress"]
        assert text(aws, "tunnel_outside_address/ip_address") == tunnel["OutsideIpAddress"]
        # In the /30, the first usable address is AWS's end, the second the customer's.
        assert text(aws, "tunnel_inside_address/ip_address") == str(inside[1])
        assert text(customer, "tunnel_inside_address/ip_address") == str(inside[2])
        for side in (customer, aws):
            assert text(side, "tunnel_inside_address/network_mask") == "255.255.255.252"
            assert text(side, "tunnel_inside_address/network_cidr") == "30"
            assert text(side, "bgp/hold_time") == "30"
        assert text(customer, "bgp/asn") == "65010"
        assert text(aws, "bgp/asn") == "64512"
        assert text(xml_tunnel, "ike/pre_shared_key") == tunnel["PreSharedKey"]
        assert text(xml_tunnel, "ike/lifetime") == str(tunnel["Phase1LifetimeSeconds"])
        assert text(xml_tunnel, "ipsec/lifetime") == str(tunnel["Phase2LifetimeSeconds"])
        assert text(xml_tunnel, "ike/mode") == "main"
        assert text(xml_tunnel, "ipsec/protocol") == "esp"
        assert text(xml_tunnel, "ipsec/mode") == "tunnel"
        for element in (
            "clear_df_bit",
            "fragmentation_before_encryption",
            "tcp_mss_adjustment",
            "dead_peer_detection/interval",
        ):
            assert text(xml_tunnel, f"ipsec/{element}")
    first, second = xml_tunnels
    assert text(first, "ike/pre_shared_key") != text(second, "ike/pre_shared_key")
    assert text(first, "vpn_gateway/tunnel_outside_address/ip_address") != text(
        second, "vpn_gateway/tunnel_outside_address/ip_address"
    )


def test_algorithms_follow_the_tunnel_options(bgp_vpn):
    first, second = parse(bgp_vpn["CustomerGatewayConfiguration"]).findall("ipsec_tunnel")
    assert text(first, "ike/encryption_protocol") == "aes-256-cbc"
    assert text(first, "ike/authentication_protocol") == "sha2-384"
    assert text(first, "ike/perfect_forward_secrecy") == "group20"
    assert text(first, "ipsec/encryption_protocol") == "aes-128-gcm-16"
    assert text(first, "ipsec/authentication_protocol") == "hmac-sha2-256-128"
    assert text(first, "ipsec/perfect_forward_secrecy") == "group5"
    assert text(first, "ipsec/dead_peer_detection/retries") == "6"
    # The second tunnel kept AWS's defaults, whose first proposal is the classic one.
    assert text(second, "ike/encryption_protocol") == "aes-128-cbc"
    assert text(second, "ike/authentication_protocol") == "sha1"
    assert text(second, "ike/perfect_forward_secrecy") == "group2"
    assert text(second, "ipsec/authentication_protocol") == "hmac-sha1-96"
    assert text(second, "ipsec/dead_peer_detection/retries") == "3"


def test_create_response_carries_the_same_document(make_vpn, describe_vpn):
    created = make_vpn(TunnelOptions=TUNNELS)
    described = describe_vpn(created["VpnConnectionId"])
    assert created["CustomerGatewayConfiguration"] == described["CustomerGatewayConfiguration"]


def test_static_connection_has_no_bgp(make_vpn):
    vpn = make_vpn(StaticRoutesOnly=True)
    root = parse(vpn["CustomerGatewayConfiguration"])
    assert text(root, "vpn_connection_attributes") == "NoBGPVPNConnection"
    assert root.findall(".//bgp") == []


def test_amazon_side_asn_comes_from_the_gateway(ec2, customer_gateway):
    gateway = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=65123)["VpnGateway"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer_gateway["CustomerGatewayId"],
        VpnGatewayId=gateway["VpnGatewayId"],
    )["VpnConnection"]
    for tunnel in parse(vpn["CustomerGatewayConfiguration"]).findall("ipsec_tunnel"):
        assert text(tunnel, "vpn_gateway/bgp/asn") == "65123"


def test_transit_gateway_connection(ec2, customer_gateway):
    transit_gateway = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer_gateway["CustomerGatewayId"],
        TransitGatewayId=transit_gateway,
    )["VpnConnection"]
    assert vpn["TransitGatewayId"] == transit_gateway
    root = parse(vpn["CustomerGatewayConfiguration"])
    assert text(root, "transit_gateway_id") == transit_gateway
    assert root.find("vpn_gateway_id") is None
    for tunnel in root.findall("ipsec_tunnel"):
        assert text(tunnel, "vpn_gateway/bgp/asn") == "64512"
    attachments = ec2.describe_transit_gateway_attachments()["TransitGatewayAttachments"]
    assert [a["ResourceId"] for a in attachments if a["ResourceType"] == "vpn"] == [
        vpn["VpnConnectionId"]
    ]
