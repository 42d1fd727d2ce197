"""Fault injection (/_sandbox/faults) and call statistics (/_sandbox/stats)."""

import logging

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_standard_retries_get_through_30_percent_throttling(
    ec2_client_for, sandbox_url, control_api, monkeypatch
):
    # botocore's real backoff waits up to a second per throttled attempt; shrink its scale
    # (not its logic) so the test stays quick.
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.01)
    status, _ = control_api(
        "POST", "/_sandbox/faults", {"action": "CreateVpc", "error": "throttle", "rate": 0.3}
    )
    assert status == 201
    ec2 = ec2_client_for(sandbox_url, config=Config(retries={"mode": "standard"}))
    for _ in range(100):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")

    _, stats = control_api("GET", "/_sandbox/stats")
    throttled = stats["faults"]["CreateVpc"]["throttle"]
    assert throttled > 0
    assert stats["calls"]["CreateVpc"] == 100 + throttled
    vpcs = [vpc for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]
    assert len(vpcs) == 100


def test_throttle_answer_is_ec2s(ec2_client_for, sandbox_url, control_api):
    control_api("POST", "/_sandbox/faults", {"action": "DescribeVpcs", "error": "throttle"})
    ec2 = ec2_client_for(sandbox_url, config=NO_RETRIES)
    with pytest.raises(ClientError) as info:
        ec2.describe_vpcs()
    response = info.value.response
    assert response["Error"]["Code"] == "RequestLimitExceeded"
    assert response["Error"]["Message"] == "Request limit exceeded."
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_rate_is_deterministic(ec2_client_for, sandbox_url, control_api):
    control_api(
        "POST", "/_sandbox/faults", {"action": "DescribeVpcs", "error": "throttle", "rate": 0.3}
    )
    ec2 = ec2_client_for(sandbox_url, config=NO_RETRIES)
    outcomes = []
    for _ in range(10):
        try:
            ec2.describe_vpcs()
            outcomes.append("ok")
        except ClientError:
            outcomes.append("throttled")
    # 0.3 accumulates to 1 on the 4th, 7th and 10th calls: never two failures in a row.
    assert [n for n, outcome in enumerate(outcomes, 1) if outcome == "throttled"] == [4, 7, 10]


def test_server_error_with_count_and_wildcard(ec2_client_for, sandbox_url, control_api):
    control_api("POST", "/_sandbox/faults", {"action": "*", "error": "server", "count": 2})
    ec2 = ec2_client_for(sandbox_url, config=NO_RETRIES)
    for call in (ec2.describe_vpcs, ec2.describe_subnets):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "InternalError"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    ec2.describe_vpcs()  # the rule has fired its two times
    _, stats = control_api("GET", "/_sandbox/stats")
    assert stats["faults"] == {"DescribeVpcs": {"server": 1}, "DescribeSubnets": {"server": 1}}
    assert stats["calls"] == {"DescribeVpcs": 2, "DescribeSubnets": 1}


def test_quota_errors_are_permanent_and_named_after_the_action(
    ec2_client_for, sandbox_url, control_api
):
    control_api("POST", "/_sandbox/faults", {"action": "CreateVpnGateway", "error": "quota"})
    control_api("POST", "/_sandbox/faults", {"action": "AllocateAddress", "error": "quota"})
    # With botocore's own retries: a quota error is not retried, it is the answer.
    ec2 = ec2_client_for(sandbox_url)
    with pytest.raises(ClientError) as info:
        ec2.create_vpn_gateway(Type="ipsec.1")
    assert info.value.response["Error"]["Code"] == "VpnGatewayLimitExceeded"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        ec2.allocate_address(Domain="vpc")
    assert info.value.response["Error"]["Code"] == "AddressLimitExceeded"
    _, stats = control_api("GET", "/_sandbox/stats")
    assert stats["calls"] == {"CreateVpnGateway": 1, "AllocateAddress": 1}
    assert ec2.describe_vpn_gateways()["VpnGateways"] == []


def test_rules_are_listed_and_cleared(ec2, control_api):
    control_api("POST", "/_sandbox/faults", {"action": "DescribeVpcs", "error": "server"})
    status, body = control_api("GET", "/_sandbox/faults")
    assert status == 200
    assert body["rules"] == [
        {
            "action": "DescribeVpcs",
            "error": "server",
            "rate": 1.0,
            "count": None,
            "region": None,
            "account": None,
        }
    ]
    status, body = control_api("DELETE", "/_sandbox/faults")
    assert status == 200 and body == {"rules": []}
    ec2.describe_vpcs()


def test_a_rule_can_name_a_region_and_an_account(sandbox_url, ec2, ec2_client_for, control_api):
    control_api(
        "POST",
        "/_sandbox/faults",
        {"action": "DescribeVpcs", "error": "server", "region": "eu-west-1"},
    )
    ec2.describe_vpcs()  # us-east-1: through
    west = ec2_client_for(sandbox_url, "eu-west-1", config=Config(retries={"max_attempts": 0}))
    with pytest.raises(ClientError) as excinfo:
        west.describe_vpcs()
    assert excinfo.value.response["Error"]["Code"] == "InternalError"

    control_api("DELETE", "/_sandbox/faults")
    control_api(
        "POST",
        "/_sandbox/faults",
        {"action": "DescribeVpcs", "error": "server", "account": "111111111111"},
    )
    ec2.describe_vpcs()  # the default account (123456789012): through
    assert control_api("GET", "/_sandbox/stats")[1]["faults"] == {"DescribeVpcs": {"server": 1}}
    bad = {"action": "DescribeVpcs", "error": "server", "region": 3}
    assert control_api("POST", "/_sandbox/faults", bad)[0] == 400


def test_bad_rules_are_refused(control_api):
    for rule in (
        {"action": "CreateVpc", "error": "explode"},
        {"error": "throttle"},
        {"action": "CreateVpc", "error": "throttle", "rate": 1.5},
        {"action": "CreateVpc", "error": "throttle", "count": -1},
        {"action": "CreateVpc", "error": "throttle", "count": True},
    ):
        status, body = control_api("POST", "/_sandbox/faults", rule)
        assert status == 400, rule
        assert "error" in body
    assert control_api("GET", "/_sandbox/faults")[1] == {"rules": []}


def test_stats_count_every_call(ec2, control_api):
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.0.0.0/16")
    _, stats = control_api("GET", "/_sandbox/stats")
    serving = stats.pop("serving_seconds")
    assert stats == {"calls": {"DescribeVpcs": 2, "CreateVpc": 1}, "faults": {}}
    # The time spent answering the three, one at a time: more than none.
    assert serving > 0


def test_each_call_is_logged(ec2, caplog):
    with caplog.at_level(logging.INFO, logger="sandbox"):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")
    [record] = [r for r in caplog.records if r.name == "sandbox"]
    action, region, status, milliseconds, unit = record.getMessage().split()
    assert (action, region, status, unit) == ("CreateVpc", "us-east-1", "200", "ms")
    assert float(milliseconds) >= 0
