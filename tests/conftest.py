"""Fixtures shared by the whole suite: users, real Redis, RQ workers, PostgreSQL.

A test that needs a service it cannot reach is skipped on a developer's machine, and
fails instead when `TEST_REQUIRE_SERVICES` is on (as `.ci/run` sets it), so CI can never
pass by skipping.
"""

import django_rq
import pytest
import redis
from django.conf import settings
from django.db import connection
from rq import SimpleWorker
from rq.registry import FailedJobRegistry

from tests.factories import ops_user, se_user

# Static files collected and served as in production, for the tests that need it.
from tests.static_support import collected_static, production_static  # noqa: F401
from vpn import aws


def service_missing(what: str) -> None:
    """Skip the test, or fail it when services are required."""
    message = f"{what} is not available"
    if settings.TEST_REQUIRE_SERVICES:
        pytest.fail(f"{message}, and TEST_REQUIRE_SERVICES is on", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Files the portal stores (config packs) go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def postgres(db):
    """Require the test database to be PostgreSQL (row locks, concurrency)."""
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (DATABASE_URL points elsewhere)")


@pytest.fixture
def rq_queue():
    """The default RQ queue on a real Redis, emptied before and after the test (with
    every other queue: they share the tests' Redis database)."""
    queue = django_rq.get_queue("default")
    try:
        queue.connection.ping()
    except redis.exceptions.ConnectionError:
        service_missing(f"Redis at {settings.REDIS_URL}")
    _empty(queue)
    yield queue
    _empty(queue)


def _empty(queue) -> None:
    # The tests own this Redis database (see portal/settings_test.py): clear all of it,
    # jobs, registries and scheduled retries alike.
    queue.connection.flushdb()


# A provisioning schedules work again and again (a re-check per AWS wait, a retry per
# transient error); far more bursts than any test needs, yet a loop that never ends fails.
MAX_BURSTS = 500


@pytest.fixture
def run_jobs(rq_queue):
    """Run the queues' jobs in this process with a real RQ worker, driving its clock.

    A burst worker stops as soon as the queue is empty, but the portal also schedules jobs
    for later: a step waiting for AWS looks again after `PROVISION_POLL_SECONDS`, and a
    step that failed transiently is retried after `PROVISION_RETRY_INTERVALS`. After each
    burst, every scheduled job is therefore moved to the queue at once (as if its time had
    come, earliest first) and another burst runs, until nothing is queued or scheduled.
    `run(scheduled=False)` runs only what is queued, leaving scheduled work where it is (to
    look at a request while it waits).

    Returns the number of jobs that failed for good; their errors are printed, so a test
    asserting `run_jobs() == 0` shows why it failed.
    """
    # One worker does the Procfile's two workers' work: "default" first, then "packs".
    queues = [rq_queue, django_rq.get_queue("packs")]

    def run(*, scheduled: bool = True) -> int:
        for _ in range(MAX_BURSTS):
            SimpleWorker(queues, connection=rq_queue.connection).work(burst=True)
            due = _scheduled(queues) if scheduled else []
            if not due and not any(queue.count for queue in queues):
                return sum(_failed_jobs(queue) for queue in queues)
            for registry, job_id in due:
                registry.requeue(job_id)
        pytest.fail(
            f"Jobs were still queued or scheduled after {MAX_BURSTS} bursts: "
            f"{[job_id for queue in queues for job_id in queue.job_ids]} "
            f"{[job_id for _, job_id in _scheduled(queues)]}"
        )

    return run


def _scheduled(queues) -> list:
    """The jobs scheduled for later on `queues`: (registry, job id), earliest first."""
    return [
        (queue.scheduled_job_registry, job_id)
        for queue in queues
        for job_id in queue.scheduled_job_registry.get_job_ids()
    ]


def _failed_jobs(queue) -> int:
    """How many jobs failed for good, each printed with its error."""
    failed = FailedJobRegistry(queue=queue)
    for job_id in failed.get_job_ids():
        job = queue.fetch_job(job_id)
        result = job.latest_result() if job is not None else None
        print(f"Job {job_id} failed: {result.exc_string if result else 'no result'}")
    return failed.count


@pytest.fixture
def se(db):
    """A logged-out solutions engineer."""
    return se_user(username="se-alex", first_name="Alex")


@pytest.fixture
def ops(db):
    """A logged-out ops engineer."""
    return ops_user(username="ops-kim", first_name="Kim")


@pytest.fixture
def se_client(client, se):
    """A test client logged in as a solutions engineer."""
    client.force_login(se)
    return client


@pytest.fixture
def ops_client(client, ops):
    """A test client logged in as ops."""
    client.force_login(ops)
    return client


@pytest.fixture(scope="session")
def sandbox_url():
    """One local AWS sandbox for the whole test session, spoken to over HTTP."""
    from sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, state_delay=0.0)
    url = server.start()
    yield url
    server.stop()


class Sandbox:
    """The test's view of the sandbox: its control API and a boto3 client, over HTTP."""

    def __init__(self, url: str):
        self.url = url

    def control(self, method: str, path: str, payload: dict | None = None) -> dict:
        """Call the sandbox's control API; raises for an HTTP error."""
        import json
        import urllib.request

        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def ec2(self, region: str = "us-east-1"):
        """A boto3 client of our own (not the portal's) to check what exists."""
        import boto3

        return boto3.client(
            "ec2",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def aws_sandbox(sandbox_url, settings):
    """Point the portal at an empty sandbox.

    Re-checks and retries are scheduled as in production (`run_jobs` runs them as they
    fall due); the re-check interval is short only for the commands that wait in-process
    (`vpn_provision --sync` sleeps between checks).
    """
    settings.AWS_ENDPOINT_URL = sandbox_url
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.PROVISION_POLL_SECONDS = 1
    sandbox = Sandbox(sandbox_url)
    sandbox.control("POST", "/_sandbox/reset")
    aws.credentials_forget()  # the sandbox's reset forgot the roles it handed out
    yield sandbox
    sandbox.control("DELETE", "/_sandbox/faults")


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Start every test with an empty cache (rate-limit counters live there)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
