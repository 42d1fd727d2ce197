"""The status refresh reads its (account, region) pairs at once, on the sandbox.

Several accounts and regions in one run, one describe call each; a pair that fails, or
does not answer, costs the others nothing; a slow pair's answer does not hold back the
others' writes (proven by holding its call in the sandbox until the others' tunnels are
seen written, never by timing); and the pool is bounded.
"""

import threading
import time

import pytest
from django.db import connection as db_connection

from tests.status_support import describe_calls, flip, live_vpn
from vpn.choices import TunnelStatus
from vpn.models import AwsAccount, Tunnel, VpnRequest
from vpn.services.status import status_refresh

DOWN, UP = TunnelStatus.DOWN, TunnelStatus.UP
DEFAULT_ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
DESCRIBE = "DescribeVpnConnections"
# How long the helper thread below waits, at most, for what it watches: a bound that
# fails the test instead of hanging it, never a pause the test relies on.
WATCH_SECONDS = 60.0


def _account(name: str, account_id: str) -> AwsAccount:
    return AwsAccount.objects.create(
        name=name,
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/vpn-portal",
        external_id=f"portal-{name}",
        regions=list(REGIONS),
    )


def _grid(sandbox) -> dict[tuple[str, str], VpnRequest]:
    """One VPN in each of 3 accounts (the default one and two more) x 3 regions, with
    tunnel 1 then set UP in the sandbox: 9 pairs, each with a change to record."""
    accounts = [None, _account("second", "111111111111"), _account("third", "222222222222")]
    grid = {}
    for account in accounts:
        for region in REGIONS:
            request = live_vpn(sandbox, region=region, account=account)
            flip(sandbox, request, 1, "UP")
            grid[(account.account_id if account else DEFAULT_ACCOUNT, region)] = request
    return grid


def _label(account_id: str, region: str) -> str:
    return region if account_id == DEFAULT_ACCOUNT else f"{region} ({account_id})"


def _up(requests) -> bool:
    return all(Tunnel.objects.get(request=request, position=1).status == UP for request in requests)


@pytest.mark.django_db
def test_every_pair_is_read_once_in_its_account(aws_sandbox):
    grid = _grid(aws_sandbox)
    before = describe_calls(aws_sandbox)

    run = status_refresh()

    assert run.errors == {}
    assert describe_calls(aws_sandbox) - before == run.aws_calls == len(grid) == 9
    assert (run.requests_seen, run.tunnels_changed) == (9, 18)  # UNKNOWN -> UP, DOWN
    # Each pair's answer landed: every connection exists in one account only, so a pair
    # read in the wrong account would have turned its tunnels down as gone.
    for request in grid.values():
        assert dict(request.tunnels.values_list("position", "status")) == {1: UP, 2: DOWN}


@pytest.mark.django_db
def test_a_failing_pair_costs_the_others_nothing(aws_sandbox, settings):
    settings.AWS_MAX_ATTEMPTS = 0  # one attempt per call: the fault fails the pair
    grid = _grid(aws_sandbox)
    failing = ("111111111111", "eu-west-1")
    aws_sandbox.control(
        "POST",
        "/_sandbox/faults",
        {"action": DESCRIBE, "error": "server", "account": failing[0], "region": failing[1]},
    )

    run = status_refresh()

    assert list(run.errors) == [_label(*failing)]
    assert "InternalError" in run.errors[_label(*failing)]
    assert (run.aws_calls, run.requests_seen, run.tunnels_changed) == (9, 8, 16)
    assert not _up([grid.pop(failing)])  # its last known status is kept
    assert _up(grid.values())


@pytest.mark.django_db(transaction=True)
def test_a_slow_pair_does_not_hold_back_the_others(aws_sandbox):
    grid = _grid(aws_sandbox)
    slow = ("222222222222", "ap-southeast-2")
    others = [request for pair, request in grid.items() if pair != slow]
    aws_sandbox.control(
        "POST",
        "/_sandbox/hold",
        {"after_calls": 1, "action": DESCRIBE, "account": slow[0], "region": slow[1]},
    )
    seen: dict[str, bool] = {}

    def release_once_the_others_are_written() -> None:
        # Committed rows only (this test runs outside a transaction), on a connection
        # of this thread's own, closed at the end.
        try:
            held = aws_sandbox.control("GET", f"/_sandbox/hold?wait={WATCH_SECONDS / 2:g}")
            seen["held"] = held["held"] == DESCRIBE
            give_up = time.monotonic() + WATCH_SECONDS
            while not (written := _up(others)) and time.monotonic() < give_up:
                time.sleep(0.05)
            seen["others written while held"] = written
        finally:
            aws_sandbox.control("DELETE", "/_sandbox/hold")
            db_connection.close()

    helper = threading.Thread(target=release_once_the_others_are_written)
    helper.start()
    try:
        run = status_refresh()
    finally:
        helper.join()

    assert seen == {"held": True, "others written while held": True}
    # Released, the slow pair's answer was applied in the same run.
    assert run.errors == {}
    assert (run.aws_calls, run.tunnels_changed) == (9, 18)
    assert _up([grid[slow]])


@pytest.mark.django_db
def test_a_pair_without_an_answer_is_given_up_and_the_pool_is_bounded(aws_sandbox, settings):
    # One worker: while the first pair's call is held, no other pair gets its turn.
    settings.STATUS_REFRESH_CONCURRENCY = 1
    settings.STATUS_REFRESH_TIMEOUT_SECONDS = 1
    east = live_vpn(aws_sandbox, region="us-east-1")
    west = live_vpn(aws_sandbox, region="eu-west-1")
    for request in (east, west):
        flip(aws_sandbox, request, 1, "UP")
    # Pairs are handed to the pool in (account, region) order: eu-west-1 first.
    aws_sandbox.control("POST", "/_sandbox/hold", {"after_calls": 1, "action": DESCRIBE})
    before = describe_calls(aws_sandbox)
    try:
        run = status_refresh()
        # The run ended while the call was held (or not even there yet, on a loaded
        # machine): it did not wait for the answer.
        held = aws_sandbox.control("GET", f"/_sandbox/hold?wait={WATCH_SECONDS / 2:g}")
        assert held["held"] == DESCRIBE
    finally:
        aws_sandbox.control("DELETE", "/_sandbox/hold")

    assert describe_calls(aws_sandbox) - before == 1  # us-east-1 never had its turn
    assert run.errors == {
        "eu-west-1": "AWS did not answer within 1 s.",
        "us-east-1": "Not read: the refresh's 1 s ran out before its turn.",
    }
    assert (run.aws_calls, run.requests_seen, run.tunnels_changed) == (1, 0, 0)
    assert not _up([east]) and not _up([west])

    # With room for both, the next run reads them both.
    settings.STATUS_REFRESH_CONCURRENCY = 2
    settings.STATUS_REFRESH_TIMEOUT_SECONDS = 30
    run = status_refresh()
    assert run.errors == {} and _up([east, west])


@pytest.mark.django_db
def test_a_call_unanswered_past_the_read_timeout_is_given_up_and_not_sent_again(
    aws_sandbox, settings
):
    # The refresh would wait 30 s for the pair; botocore gives its one attempt up first.
    settings.AWS_READ_TIMEOUT_SECONDS = 1
    settings.AWS_MAX_ATTEMPTS = 0
    request = live_vpn(aws_sandbox, region="us-east-1")
    flip(aws_sandbox, request, 1, "UP")
    aws_sandbox.control("POST", "/_sandbox/hold", {"after_calls": 1, "action": DESCRIBE})
    before = describe_calls(aws_sandbox)
    try:
        run = status_refresh()
    finally:
        aws_sandbox.control("DELETE", "/_sandbox/hold")

    assert describe_calls(aws_sandbox) - before == 1
    assert list(run.errors) == ["us-east-1"]
    assert "ReadTimeoutError" in run.errors["us-east-1"], run.errors
    assert not _up([request])
