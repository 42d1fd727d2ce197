"""The test worker runs scheduled work as it falls due, without waiting for it.

Provisioning schedules jobs for later, as in production: a step waiting for AWS looks
again after `PROVISION_POLL_SECONDS`, and a transient AWS error is retried after
`PROVISION_RETRY_INTERVALS` (15 s, 60 s, 300 s). A burst worker alone would stop with
that work still scheduled; `run_jobs` moves it to the queue and carries on.
"""

import pytest

from tests import conftest
from tests.factories import VpnRequestFactory
from vpn import aws
from vpn.choices import Routing, Stage
from vpn.models import VpnRequest
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)


def _approved() -> VpnRequest:
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.40.0/24"],
        bgp_asn=None,
        nat_wanted=False,
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED)
    return request


def _stage(request: VpnRequest) -> str:
    request.refresh_from_db()
    return request.stage


def test_a_recheck_scheduled_for_later_runs_now(aws_sandbox, rq_queue, run_jobs):
    request = _approved()

    assert run_jobs(scheduled=False) == 0
    # The new VPN connection is pending: the step looks again later; a burst stops here.
    assert _stage(request) == Stage.CONNECTION
    assert rq_queue.count == 0
    assert len(rq_queue.scheduled_job_registry.get_job_ids()) == 1

    assert run_jobs() == 0
    assert _stage(request) == Stage.AWAITING_CUSTOMER, request.failure_message
    assert rq_queue.scheduled_job_registry.get_job_ids() == []


def test_a_transient_failure_is_retried_after_its_interval(
    aws_sandbox, rq_queue, run_jobs, settings
):
    # No retries inside the AWS client: the job itself fails and RQ schedules its retry.
    settings.AWS_RETRY_MODE = "standard"
    settings.AWS_MAX_ATTEMPTS = 0
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "CreateVpc", "error": "server", "count": 1}
    )
    request = _approved()

    assert run_jobs(scheduled=False) == 0
    assert _stage(request) == Stage.VPC
    (retry,) = rq_queue.scheduled_job_registry.get_job_ids()
    assert rq_queue.fetch_job(retry).retries_left == len(settings.PROVISION_RETRY_INTERVALS) - 1

    assert run_jobs() == 0
    assert _stage(request) == Stage.AWAITING_CUSTOMER, request.failure_message
    assert aws_sandbox.control("GET", "/_sandbox/stats")["faults"] == {"CreateVpc": {"server": 1}}
    assert len(aws.tagged_resources("us-east-1", request_id=request.pk)["vpc"]) == 1


def test_work_that_never_ends_fails_loudly(aws_sandbox, run_jobs, monkeypatch):
    monkeypatch.setattr(conftest, "MAX_BURSTS", 3)
    # Resources that take an hour to settle: the step keeps looking again.
    aws_sandbox.control("POST", "/_sandbox/state-delay", {"seconds": 3600})
    request = _approved()

    with pytest.raises(pytest.fail.Exception, match="still queued or scheduled after 3 bursts"):
        run_jobs()
    assert _stage(request) == Stage.CONNECTION
