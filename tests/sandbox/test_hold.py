"""The hold control: the Nth call takes effect but its answer waits for a release."""

import threading


def test_the_held_call_takes_effect_and_answers_only_after_release(ec2, control_api):
    status, body = control_api("POST", "/_sandbox/hold", {"after_calls": 2})
    assert status == 200 and body["armed"]

    ec2.create_vpc(CidrBlock="10.1.0.0/16")  # call 1: answered
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(ec2.create_vpc(CidrBlock="10.2.0.0/16")), daemon=True
    )
    thread.start()
    # The long poll answers as soon as the call is held (after 20 s only if it never is).
    assert control_api("GET", "/_sandbox/hold?wait=20")[1]["held"] == "CreateVpc"
    assert answers == []
    # The held call already took effect: the sandbox keeps serving meanwhile.
    cidrs = {v["CidrBlock"] for v in ec2.describe_vpcs()["Vpcs"]}
    assert {"10.1.0.0/16", "10.2.0.0/16"} <= cidrs

    control_api("DELETE", "/_sandbox/hold")
    thread.join(10)
    assert answers and answers[0]["Vpc"]["CidrBlock"] == "10.2.0.0/16"


def test_a_hold_can_count_one_action_in_one_region_only(
    sandbox_url, ec2, ec2_client_for, control_api
):
    hold = {"after_calls": 1, "action": "DescribeVpcs", "region": "eu-west-1"}
    status, body = control_api("POST", "/_sandbox/hold", hold)
    assert status == 200 and (body["action"], body["region"]) == ("DescribeVpcs", "eu-west-1")
    west = ec2_client_for(sandbox_url, "eu-west-1")
    answers = []
    thread = threading.Thread(target=lambda: answers.append(west.describe_vpcs()), daemon=True)
    thread.start()
    assert control_api("GET", "/_sandbox/hold?wait=20")[1]["held"] == "DescribeVpcs"
    # The same action elsewhere, and other actions, are answered meanwhile.
    ec2.describe_vpcs()
    west.describe_subnets()
    assert answers == []

    control_api("DELETE", "/_sandbox/hold")
    thread.join(10)
    assert answers and "Vpcs" in answers[0]


def test_bad_hold_requests_are_refused(control_api):
    assert control_api("POST", "/_sandbox/hold", {"after_calls": 0})[0] == 400
    assert control_api("POST", "/_sandbox/hold", {"after_calls": "3"})[0] == 400
    assert control_api("GET", "/_sandbox/hold?wait=31")[0] == 400
    assert control_api("GET", "/_sandbox/hold?wait=soon")[0] == 400
    assert control_api("POST", "/_sandbox/hold", {"after_calls": 1, "region": ""})[0] == 400
    assert control_api("POST", "/_sandbox/hold", {"after_calls": 1, "action": 7})[0] == 400
    assert control_api("GET", "/_sandbox/hold")[1]["armed"] is False
