"""The sandbox serves several accounts: AssumeRole's credentials act in the role's
account, each account's resources are its own, and GetServiceQuota answers the values
set through the control API, per account and region."""

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.sandbox.conftest import _control

REGION = "us-east-1"
OTHER = "111111111111"


def _keys(url: str, account_id: str) -> dict:
    sts = boto3.client(
        "sts",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/vpn-portal",
        RoleSessionName="sandbox-test",
        ExternalId="sandbox-external-id",
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def _client(url: str, service: str, keys: dict | None = None):
    keys = keys or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=url, region_name=REGION, **keys)


def test_an_assumed_role_acts_in_its_own_account(sandbox_url, ec2):
    other = _client(sandbox_url, "ec2", _keys(sandbox_url, OTHER))
    gateway = other.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    vpc = other.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]
    assert vpc["OwnerId"] == OTHER

    assert [g["VpnGatewayId"] for g in other.describe_vpn_gateways()["VpnGateways"]] == [
        gateway["VpnGatewayId"]
    ]
    assert ec2.describe_vpn_gateways()["VpnGateways"] == []
    with pytest.raises(ClientError):
        ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])


def test_service_quotas_answer_what_the_control_set_per_account(sandbox_url):
    quotas = _client(sandbox_url, "service-quotas")
    with pytest.raises(ClientError) as excinfo:
        quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-7029FAB6")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchResourceException"

    status, _ = _control(
        sandbox_url,
        "POST",
        "/_sandbox/service-quota",
        {
            "account": OTHER,
            "region": REGION,
            "service_code": "ec2",
            "quota_code": "L-7029FAB6",
            "value": 12,
        },
    )
    assert status == 200
    in_other = _client(sandbox_url, "service-quotas", _keys(sandbox_url, OTHER))
    quota = in_other.get_service_quota(ServiceCode="ec2", QuotaCode="L-7029FAB6")["Quota"]
    assert quota["Value"] == 12
    # The default account's quota is still unset.
    with pytest.raises(ClientError):
        quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-7029FAB6")


def test_the_quota_control_refuses_bad_input(sandbox_url):
    status, answer = _control(
        sandbox_url,
        "POST",
        "/_sandbox/service-quota",
        {"account": OTHER, "region": REGION, "service_code": "ec2", "quota_code": "", "value": 1},
    )
    assert status == 400 and "quota_code" in answer["error"]
    status, answer = _control(
        sandbox_url,
        "POST",
        "/_sandbox/service-quota",
        {"account": OTHER, "region": REGION, "service_code": "ec2", "quota_code": "Q", "value": -1},
    )
    assert status == 400 and "value" in answer["error"]
