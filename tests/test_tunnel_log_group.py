"""The tunnel log group: one per region under /aws/vendedlogs/, with its retention, made
idempotently before a VPN connection is created."""

import boto3
from django.conf import settings

from vpn import aws


def _logs(sandbox, region: str):
    return boto3.client(
        "logs",
        endpoint_url=sandbox.url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_the_log_group_is_ensured_once_per_region_with_its_retention(aws_sandbox, settings):
    settings.TUNNEL_LOG_RETENTION_DAYS = 14
    name = settings.TUNNEL_LOG_GROUP
    assert name.startswith("/aws/vendedlogs/")

    first = aws.log_group_ensure("eu-west-1", name=name, retention_days=14)
    again = aws.log_group_ensure("eu-west-1", name=name, retention_days=14)
    other = aws.log_group_ensure("us-east-1", name=name, retention_days=14)

    assert first == again
    assert first == f"arn:aws:logs:eu-west-1:123456789012:log-group:{name}"
    assert ":us-east-1:" in other
    (group,) = _logs(aws_sandbox, "eu-west-1").describe_log_groups(logGroupNamePrefix=name)[
        "logGroups"
    ]
    assert group["retentionInDays"] == 14


def test_a_changed_retention_is_applied(aws_sandbox):
    name = settings.TUNNEL_LOG_GROUP
    aws.log_group_ensure("eu-west-1", name=name, retention_days=30)
    aws.log_group_ensure("eu-west-1", name=name, retention_days=90)
    (group,) = _logs(aws_sandbox, "eu-west-1").describe_log_groups(logGroupNamePrefix=name)[
        "logGroups"
    ]
    assert group["retentionInDays"] == 90
