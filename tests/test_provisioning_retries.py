"""Visible retries: while a step waits to run again after a transient AWS error, the
request page says what failed, which attempt it was and when the next one starts, the
timeline records each retry, and the notice clears once the step runs through.

The sandbox injects the server errors; a real RQ worker (burst mode, on real Redis)
runs the jobs, and RQ's own retry schedule is followed: a retry RQ scheduled for later
is made due by taking it off the schedule, never by sleeping.
"""

from datetime import timedelta

import pytest
from rq import SimpleWorker
from rq.registry import FailedJobRegistry

from tests.factories import VpnRequestFactory
from vpn.choices import Stage
from vpn.models import StepRetry, VpnRequest
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)

# Two retries: three attempts in all, the first retry a minute after the failure.
RETRY_INTERVALS = [60, 300]


@pytest.fixture
def one_try_per_call(settings):
    """Each AWS call is tried once (botocore's own retries off), so that one injected
    server error fails the step and RQ's retry of the whole step takes over."""
    settings.AWS_RETRY_MODE = "standard"
    settings.AWS_MAX_ATTEMPTS = 0
    settings.PROVISION_RETRY_INTERVALS = RETRY_INTERVALS
    # Steps waiting for AWS look again at once: the only job scheduled is RQ's retry.
    settings.PROVISION_POLL_SECONDS = 0


def _work(queue) -> None:
    """A real RQ worker runs every job queued now (not those scheduled for later)."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _retries_come_due(queue) -> list[str]:
    """Time passes until the scheduled retries are due: they are queued now."""
    registry = queue.scheduled_job_registry
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        registry.requeue(job_id)
    return job_ids


def _page(client, request) -> str:
    return client.get(f"/requests/{request.pk}/").content.decode()


def test_a_retry_after_a_server_error_is_shown_on_the_page_and_in_the_timeline(
    aws_sandbox, rq_queue, one_try_per_call, se_client
):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1")
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "CreateVpnGateway", "error": "server", "count": 1}
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")

    _work(rq_queue)

    # Step 1 is done; step 2 failed once and waits for its retry, a minute later.
    request.refresh_from_db()
    assert request.stage == Stage.VPN_GATEWAY
    retry = StepRetry.objects.get(request=request)
    assert (retry.stage, retry.attempt, retry.attempts) == (Stage.VPN_GATEWAY, 1, 3)
    assert "CreateVpnGateway: InternalError" in retry.error
    assert retry.cleared_at is None
    # The time shown is the one RQ scheduled the retry for.
    (job_id,) = rq_queue.scheduled_job_registry.get_job_ids()
    scheduled = rq_queue.scheduled_job_registry.get_scheduled_time(job_id)
    assert abs(scheduled - retry.retry_at) < timedelta(seconds=2)
    assert timedelta(seconds=55) < retry.retry_at - retry.failed_at < timedelta(seconds=65)

    html = _page(se_client, request)
    notice = html[
        html.index('id="step-retry"') : html.index("</div></div>", html.index('id="step-retry"'))
    ]
    assert "Step 2 (VPN gateway): attempt 1 of 3 failed" in notice
    assert f'trying again at <time datetime="{retry.retry_at.isoformat()}">' in notice
    assert f"{retry.retry_at:%H:%M:%S} UTC" in notice
    assert "CreateVpnGateway: InternalError" in notice
    activity = html[html.index('id="live-activity"') :]
    assert "Step 2 (VPN gateway): attempt 1 of 3 failed" in activity
    assert f"trying again at {retry.retry_at:%H:%M:%S} UTC" in activity
    assert "CreateVpnGateway: InternalError" in activity

    # The retry comes due and goes through: the notice clears, the timeline keeps it.
    assert _retries_come_due(rq_queue) == [job_id]
    _work(rq_queue)
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    assert FailedJobRegistry(queue=rq_queue).count == 0
    assert StepRetry.objects.get(request=request).cleared_at is not None
    html = _page(se_client, request)
    assert 'id="step-retry"' not in html
    assert f"tried again at {retry.retry_at:%H:%M:%S} UTC" in html


def test_each_retry_is_a_row_and_the_last_failure_stops_the_request(
    aws_sandbox, rq_queue, one_try_per_call, se_client
):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1")
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "CreateVpnGateway", "error": "server"}
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")
    _work(rq_queue)

    _retries_come_due(rq_queue)
    _work(rq_queue)
    assert "attempt 2 of 3 failed" in _page(se_client, request)
    assert "attempt 1 of 3" not in _page(se_client, request).split('id="live-activity"')[0]

    _retries_come_due(rq_queue)
    _work(rq_queue)

    # The third attempt was the last: the request stops at its step, with the error.
    request = VpnRequest.objects.get(pk=request.pk)
    assert request.stage == Stage.FAILED
    assert request.failed_stage == Stage.VPN_GATEWAY
    assert "InternalError" in request.failure_message
    retries = list(StepRetry.objects.filter(request=request).order_by("attempt"))
    assert [(r.attempt, r.attempts) for r in retries] == [(1, 3), (2, 3)]
    assert all(r.cleared_at is not None for r in retries)
    html = _page(se_client, request)
    assert 'id="step-retry"' not in html
    assert "Stopped at" in html
    activity = html[html.index('id="live-activity"') :]
    assert "attempt 1 of 3 failed" in activity and "attempt 2 of 3 failed" in activity
