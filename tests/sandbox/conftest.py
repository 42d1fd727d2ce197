"""Fixtures: one sandbox server per test session, reset before every test.

The session server runs with no state delay, so resources settle at the next call; the
test that needs real delays starts its own server. None of this touches the database.
"""

import http.client
import json
from urllib.parse import urlsplit

import boto3
import pytest

REGION = "us-east-1"


def _make_ec2(url: str, region: str = REGION, **kwargs):
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


def _control(url: str, method: str, path: str, payload=None):
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    body = None if payload is None else json.dumps(payload)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.fixture(autouse=True)
def _reset_sandbox(sandbox_url):
    """Start every sandbox test from an empty sandbox."""
    status, _ = _control(sandbox_url, "POST", "/_sandbox/reset")
    assert status == 200


@pytest.fixture(scope="session")
def ec2(sandbox_url):
    """A boto3 EC2 client for us-east-1 talking to the session's sandbox.

    Session-scoped because clients are stateless and cost tens of milliseconds to build;
    the autouse reset still gives every test an empty sandbox.
    """
    return _make_ec2(sandbox_url)


@pytest.fixture(scope="session")
def logs(sandbox_url):
    """A boto3 CloudWatch Logs client for us-east-1, on the same sandbox endpoint."""
    return boto3.client(
        "logs",
        endpoint_url=sandbox_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def log_group(logs):
    """A log group for tunnel logs; returns its ARN (as DescribeLogGroups gives it)."""
    name = "/aws/vendedlogs/vpn/tunnels"
    logs.create_log_group(logGroupName=name)
    (group,) = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return group["logGroupArn"]


def log_options(arn: str, *, bgp: bool = True) -> dict:
    """Tunnel `LogOptions` sending IKE (and BGP) logs to the group `arn` in JSON."""
    options = {"LogEnabled": True, "LogGroupArn": arn, "LogOutputFormat": "json"}
    if bgp:
        options.update(BgpLogEnabled=True, BgpLogGroupArn=arn, BgpLogOutputFormat="json")
    return {"CloudWatchLogOptions": options}


@pytest.fixture
def ec2_client_for():
    """Build a boto3 EC2 client for any sandbox URL, region and client options."""
    return _make_ec2


@pytest.fixture
def control_api(sandbox_url):
    """Call the session sandbox's control API: ``control_api(method, path, payload)``
    (``url=`` for another sandbox's).

    Returns ``(HTTP status, decoded JSON body)``.
    """

    def call(method: str, path: str, payload=None, *, url: str = sandbox_url):
        return _control(url, method, path, payload)

    return call


@pytest.fixture
def customer_gateway(ec2):
    """A customer gateway (192.0.2.10, ASN 65010)."""
    response = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.10", BgpAsn=65010)
    return response["CustomerGateway"]


@pytest.fixture
def vpn_gateway(ec2):
    """A VPN gateway with AWS's default Amazon-side ASN."""
    return ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]


@pytest.fixture
def make_vpn(ec2, customer_gateway, vpn_gateway):
    """Create a VPN connection between the fixtures' gateways: ``make_vpn(**Options)``."""

    def make(**options):
        return ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=customer_gateway["CustomerGatewayId"],
            VpnGatewayId=vpn_gateway["VpnGatewayId"],
            Options=options,
        )["VpnConnection"]

    return make


@pytest.fixture
def describe_vpn(ec2):
    """The current description of one VPN connection: ``describe_vpn(vpn_id)``."""

    def describe(vpn_id: str) -> dict:
        return ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]

    return describe
