"""The answer-time control: each AWS answer leaves that long after it was served, as AWS's
own time to answer would make it (benchmarks of callers that overlap their calls)."""

import time

import pytest


def test_answer_time_is_set_read_and_forgotten_at_reset(ec2, control_api):
    assert control_api("GET", "/_sandbox/answer-time") == (200, {"seconds": 0.0})
    assert control_api("POST", "/_sandbox/answer-time", {"seconds": 0.25}) == (
        200,
        {"seconds": 0.25},
    )
    started = time.monotonic()
    ec2.create_vpc(CidrBlock="10.7.0.0/16")
    # A lower bound only: the answer never leaves before its time.
    assert time.monotonic() - started >= 0.25
    assert {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]} >= {"10.7.0.0/16"}

    control_api("POST", "/_sandbox/reset")
    assert control_api("GET", "/_sandbox/answer-time") == (200, {"seconds": 0.0})


@pytest.mark.parametrize("seconds", [-1, 601, "2", True, None])
def test_a_bad_answer_time_is_refused_and_changes_nothing(control_api, seconds):
    status, body = control_api("POST", "/_sandbox/answer-time", {"seconds": seconds})
    assert status == 400
    assert "'seconds' must be a number from 0 to 600" in str(body)
    assert control_api("GET", "/_sandbox/answer-time") == (200, {"seconds": 0.0})
