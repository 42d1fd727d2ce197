"""Requests AWS would refuse are refused with AWS's error codes, HTTP 400, and no side effect."""

import http.client
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from sandbox.validation import RESERVED_INSIDE_CIDRS


def refused(call, code="InvalidParameterValue"):
    """Run a boto3 call that must fail with ``code`` and HTTP 400; return the message."""
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response
    assert error["Error"]["Code"] == code, error["Error"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Error"]["Message"]


def vpn_count(ec2) -> int:
    """How many VPN connections exist."""
    return len(ec2.describe_vpn_connections()["VpnConnections"])


def tunnel(make_vpn, **options):
    """A call creating a VPN whose first tunnel has these options."""
    return lambda: make_vpn(TunnelOptions=[options])


BAD_KEYS = [
    "short12",  # 7 characters
    "k" * 65,
    "has-dash1",
    "has space1",
    "0starts_with_zero",
    "",
]
GOOD_KEYS = ["eightch8", "k" * 64, "dots.and_underscores.1", "Z0123456789"]


def test_pre_shared_keys(ec2, make_vpn):
    for key in BAD_KEYS:
        message = refused(tunnel(make_vpn, PreSharedKey=key))
        assert "pre-shared key" in message
    assert vpn_count(ec2) == 0
    for key in GOOD_KEYS:
        vpn = make_vpn(TunnelOptions=[{"PreSharedKey": key}])
        assert vpn["Options"]["TunnelOptions"][0]["PreSharedKey"] == key


BAD_INSIDE_CIDRS = [
    *sorted(RESERVED_INSIDE_CIDRS),
    "169.254.10.0/29",
    "169.254.10.0/31",
    "10.0.0.0/30",
    "169.255.0.0/30",
    "169.254.10.1/30",  # not a network address
    "not-a-cidr",
]


def test_inside_cidrs(ec2, make_vpn):
    assert len(RESERVED_INSIDE_CIDRS) == 7
    for cidr in BAD_INSIDE_CIDRS:
        refused(tunnel(make_vpn, TunnelInsideCidr=cidr))
    assert vpn_count(ec2) == 0


def test_inside_cidrs_are_unique_per_gateway(ec2, make_vpn):
    make_vpn(TunnelOptions=[{"TunnelInsideCidr": "169.254.60.0/30"}])
    message = refused(tunnel(make_vpn, TunnelInsideCidr="169.254.60.0/30"))
    assert "already in use" in message
    same_twice = {"TunnelInsideCidr": "169.254.61.0/30"}
    refused(lambda: make_vpn(TunnelOptions=[same_twice, same_twice]))
    assert vpn_count(ec2) == 1


@pytest.mark.parametrize(
    ("region", "asn"),
    [
        ("us-east-1", 7224),
        ("eu-west-1", 7224),
        ("eu-west-1", 9059),
        ("ap-northeast-1", 10124),
        ("ap-southeast-1", 17943),
        ("ap-southeast-1", 17493),
    ],
)
def test_reserved_customer_asns(ec2_client_for, sandbox_url, region, asn):
    client = ec2_client_for(sandbox_url, region=region)
    refused(
        lambda: client.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.50", BgpAsn=asn)
    )
    assert client.describe_customer_gateways()["CustomerGateways"] == []


def test_region_specific_asns_are_fine_elsewhere(ec2):
    for asn in (9059, 10124, 17943, 17493):
        ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.51", BgpAsn=asn)


def test_customer_gateway_addresses(ec2):
    for address in ("not-an-ip", "300.1.1.1", "192.0.2.0/24", "2001:db8::1"):
        refused(
            lambda address=address: ec2.create_customer_gateway(
                Type="ipsec.1", PublicIp=address, BgpAsn=65000
            )
        )
    assert ec2.describe_customer_gateways()["CustomerGateways"] == []


def test_amazon_side_asns(ec2):
    for asn in (64511, 65535, 4199999999, 4294967295, 7224):
        refused(lambda asn=asn: ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=asn))
    assert ec2.describe_vpn_gateways()["VpnGateways"] == []
    for asn in (64512, 65534, 4200000000, 4294967294):
        gateway = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=asn)["VpnGateway"]
        assert gateway["AmazonSideAsn"] == asn


BAD_TUNNEL_OPTIONS = [
    {"Phase1DHGroupNumbers": [{"Value": 5}]},  # allowed in phase 2 only
    {"Phase1DHGroupNumbers": [{"Value": 1}]},
    {"Phase2DHGroupNumbers": [{"Value": 25}]},
    {"Phase1EncryptionAlgorithms": [{"Value": "3DES"}]},
    {"Phase2EncryptionAlgorithms": [{"Value": "AES192"}]},
    {"Phase1IntegrityAlgorithms": [{"Value": "MD5"}]},
    {"Phase2IntegrityAlgorithms": [{"Value": "SHA2-224"}]},
    {"IKEVersions": [{"Value": "ikev3"}]},
    {"Phase1LifetimeSeconds": 899},
    {"Phase1LifetimeSeconds": 28801},
    {"Phase2LifetimeSeconds": 899},
    {"Phase2LifetimeSeconds": 3601},
    {"Phase1LifetimeSeconds": 1200, "Phase2LifetimeSeconds": 1200},  # phase 2 < phase 1
    {"DPDTimeoutSeconds": 29},
    {"DPDTimeoutAction": "hold"},
    {"StartupAction": "stop"},
    {"StartupAction": "start"},  # IKEv1 is still allowed
    {"RekeyMarginTimeSeconds": 59},
    {"RekeyFuzzPercentage": 101},
    {"ReplayWindowSize": 32},
]


def test_tunnel_option_values(ec2, make_vpn):
    for options in BAD_TUNNEL_OPTIONS:
        refused(tunnel(make_vpn, **options))
    assert vpn_count(ec2) == 0


def test_tunnel_option_edges_are_accepted(make_vpn):
    make_vpn(
        TunnelOptions=[
            {
                "Phase1DHGroupNumbers": [{"Value": 2}, {"Value": 14}, {"Value": 24}],
                "Phase2DHGroupNumbers": [{"Value": 2}, {"Value": 5}, {"Value": 24}],
                "Phase1LifetimeSeconds": 28800,
                "Phase2LifetimeSeconds": 3600,
                "DPDTimeoutSeconds": 30,
                "DPDTimeoutAction": "none",
                "StartupAction": "start",
                "IKEVersions": [{"Value": "ikev2"}],
            },
            {"Phase1LifetimeSeconds": 901, "Phase2LifetimeSeconds": 900},
        ]
    )


def test_connection_level_checks(ec2, make_vpn, customer_gateway, vpn_gateway):
    three = [{"PreSharedKey": f"tunnel_key_{n}"} for n in range(3)]
    refused(lambda: make_vpn(TunnelOptions=three))
    refused(lambda: make_vpn(LocalIpv4NetworkCidr="10.0.0.1/8"))
    refused(lambda: make_vpn(EnableAcceleration=True))
    refused(
        lambda: ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId="cgw-0123456789abcdef0",
            VpnGatewayId=vpn_gateway["VpnGatewayId"],
        ),
        code="InvalidCustomerGatewayID.NotFound",
    )
    refused(
        lambda: ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=customer_gateway["CustomerGatewayId"],
            VpnGatewayId="vgw-0123456789abcdef0",
        ),
        code="InvalidVpnGatewayID.NotFound",
    )
    assert vpn_count(ec2) == 0


def test_error_answer_has_ec2s_shape(sandbox_url):
    # A raw, unsigned query, to look at the XML itself rather than botocore's reading of it.
    address = urlsplit(sandbox_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request(
        "POST",
        "/",
        body="Action=CreateCustomerGateway&Version=2016-11-15&Type=ipsec.1"
        "&IpAddress=nope&BgpAsn=65000",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 "
            "Credential=testing/20260101/us-east-1/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    response = connection.getresponse()
    assert response.status == 400
    root = ET.fromstring(response.read())  # noqa: S314 - the sandbox's own XML
    connection.close()
    assert root.tag == "Response"
    assert root.findtext("Errors/Error/Code") == "InvalidParameterValue"
    assert "nope" in root.findtext("Errors/Error/Message")
    assert root.findtext("RequestID")
