"""Customer gateway idempotency, as in AWS, and the filters of DescribeCustomerGateways."""

import pytest
from botocore.exceptions import ClientError


def create(ec2, ip="192.0.2.30", asn=65030, tags=None):
    """Create (or get back) a customer gateway; returns its id."""
    kwargs = {"Type": "ipsec.1", "PublicIp": ip, "BgpAsn": asn}
    if tags:
        kwargs["TagSpecifications"] = [
            {
                "ResourceType": "customer-gateway",
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
        ]
    return ec2.create_customer_gateway(**kwargs)["CustomerGateway"]["CustomerGatewayId"]


def ids(ec2, *filters, **kwargs):
    """Ids of the gateways DescribeCustomerGateways returns for (name, values) filters."""
    found = ec2.describe_customer_gateways(
        Filters=[{"Name": name, "Values": values} for name, values in filters], **kwargs
    )["CustomerGateways"]
    return {gateway["CustomerGatewayId"] for gateway in found}


def test_same_request_returns_the_existing_gateway(ec2):
    first = create(ec2)
    assert create(ec2) == first
    assert create(ec2, asn=65031) != first
    assert create(ec2, ip="192.0.2.31") != first
    assert len(ec2.describe_customer_gateways()["CustomerGateways"]) == 3


def test_deleted_gateways_are_not_reused(ec2):
    first = create(ec2)
    ec2.delete_customer_gateway(CustomerGatewayId=first)
    second = create(ec2)
    assert second != first


def test_filters(ec2):
    hq = create(ec2, ip="192.0.2.40", asn=65040, tags={"site": "hq", "env": "prod"})
    branch = create(ec2, ip="192.0.2.41", asn=65041, tags={"site": "branch"})
    old = create(ec2, ip="192.0.2.42", asn=65042)
    ec2.delete_customer_gateway(CustomerGatewayId=old)

    assert ids(ec2) == {hq, branch, old}
    assert ids(ec2, ("tag:site", ["hq"])) == {hq}
    assert ids(ec2, ("tag:site", ["hq", "branch"])) == {hq, branch}
    assert ids(ec2, ("tag-key", ["env"])) == {hq}
    assert ids(ec2, ("tag-value", ["bra*"])) == {branch}
    assert ids(ec2, ("state", ["available"])) == {hq, branch}
    assert ids(ec2, ("state", ["deleted"])) == {old}
    assert ids(ec2, ("ip-address", ["192.0.2.41"])) == {branch}
    assert ids(ec2, ("bgp-asn", ["65040"])) == {hq}
    assert ids(ec2, ("type", ["ipsec.1"])) == {hq, branch, old}
    assert ids(ec2, ("customer-gateway-id", [branch])) == {branch}
    assert ids(ec2, ("state", ["available"]), ("tag:site", ["branch"])) == {branch}
    assert ids(ec2, CustomerGatewayIds=[hq, old]) == {hq, old}


def test_filter_and_id_errors(ec2):
    create(ec2)
    with pytest.raises(ClientError) as info:
        ec2.describe_customer_gateways(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        ec2.describe_customer_gateways(CustomerGatewayIds=["cgw-0123456789abcdef0"])
    assert info.value.response["Error"]["Code"] == "InvalidCustomerGatewayID.NotFound"
