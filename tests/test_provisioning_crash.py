"""Crash safety: a worker killed (SIGKILL) right after any AWS call of a provisioning
leaves nothing duplicated once provisioning runs again.

The sandbox holds back the answer of the Nth call (the call takes effect, the worker
never hears of it), the test kills the worker there, and `vpn_provision --sync` resumes.
"""

import io
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.factories import VpnRequestFactory
from vpn import aws
from vpn.choices import Routing, Stage
from vpn.models import VpnRequest
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)

# Waits for the held call, of up to a second each: a guard against a hung worker only.
HOLD_WAITS = 600
# Static routing with NAT creates every kind of resource the portal knows.
EXPECTED = {
    "vpc": 1,
    "subnet": 2,
    "route-table": 2,
    "vpn-gateway": 1,
    "customer-gateway": 1,
    "vpn-connection": 1,
    "internet-gateway": 1,
    "elastic-ip": 1,
    "nat-gateway": 1,
}


def _request() -> VpnRequest:
    return VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.30.0/24"],
        bgp_asn=None,
        nat_wanted=True,
    )


def _counts(request_id: int) -> dict[str, int]:
    return {
        kind: len(found)
        for kind, found in aws.tagged_resources("us-east-1", request_id=request_id).items()
    }


def _worker(sandbox_url: str) -> subprocess.Popen:
    """A real RQ worker process on the test database and the test Redis database."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TEST_REDIS_DB": str(settings.TEST_REDIS_DB),
        "AWS_ENDPOINT_URL": sandbox_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # A burst worker quits once the queue is empty: re-checks and retries run at once
        # rather than being scheduled for later.
        "PROVISION_POLL_SECONDS": "0",
        "PROVISION_RETRY_INTERVALS": "0,0,0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "rqworker",
            "default",
            "--burst",
            "--worker-class",
            "rq.SimpleWorker",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _changing_calls(calls: list[str]) -> list[int]:
    """Positions of the calls that change something (reads leave nothing to duplicate)."""
    reads = ("Describe", "Get")
    return [n for n, action in enumerate(calls, start=1) if not action.startswith(reads)]


def test_killing_the_worker_after_any_call_never_duplicates_a_resource(
    postgres, aws_sandbox, rq_queue, run_jobs
):
    # A full run first, to count the calls a provisioning makes.
    reference = _request()
    aws_sandbox.control("POST", "/_sandbox/hold", {"after_calls": 10_000})
    request_move(request_id=reference.pk, to_stage=Stage.APPROVED)
    assert run_jobs() == 0
    calls = aws_sandbox.control("GET", "/_sandbox/hold")["log"]
    assert VpnRequest.objects.get(pk=reference.pk).stage == Stage.AWAITING_CUSTOMER
    assert _counts(reference.pk) == EXPECTED
    assert len(calls) > 20

    for kill_after in _changing_calls(calls):
        started = time.monotonic()
        aws_sandbox.control("POST", "/_sandbox/reset")
        request = _request()
        request_move(request_id=request.pk, to_stage=Stage.APPROVED)  # queues the first job
        aws_sandbox.control("POST", "/_sandbox/hold", {"after_calls": kill_after})
        worker = _worker(aws_sandbox.url)
        try:
            # The sandbox answers as soon as it holds the call (however slow the machine),
            # else after a second, to see whether the worker is still alive.
            for _ in range(HOLD_WAITS):
                if aws_sandbox.control("GET", "/_sandbox/hold?wait=1")["held"]:
                    break
                assert worker.poll() is None, f"worker ended before call {kill_after}"
            else:
                pytest.fail(f"call {kill_after} never came")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        aws_sandbox.control("DELETE", "/_sandbox/hold")
        rq_queue.connection.flushdb()  # the killed worker's job is lost with it

        call_command("vpn_provision", request.pk, "--sync", stdout=io.StringIO())
        request.refresh_from_db()
        assert request.stage == Stage.AWAITING_CUSTOMER, (kill_after, request.failure_message)
        assert _counts(request.pk) == EXPECTED, kill_after
        print(f"kill after call {kill_after}: {time.monotonic() - started:.1f} s")
