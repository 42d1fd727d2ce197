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
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from tests.factories import ops_user, se_user


def service_missing(what: str) -> None:
    """Skip the test, or fail it when services are required."""
    message = f"{what} is not available"
    if settings.TEST_REQUIRE_SERVICES:
        pytest.fail(f"{message}, and TEST_REQUIRE_SERVICES is on", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def postgres(db):
    """Require the test database to be PostgreSQL (row locks, concurrency)."""
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (DATABASE_URL points elsewhere)")


@pytest.fixture
def rq_queue():
    """The default RQ queue on a real Redis, emptied before and after the test."""
    queue = django_rq.get_queue("default")
    try:
        queue.connection.ping()
    except redis.exceptions.ConnectionError:
        service_missing(f"Redis at {settings.REDIS_URL}")
    _empty(queue)
    yield queue
    _empty(queue)


def _empty(queue) -> None:
    queue.empty()
    for registry_class in (
        StartedJobRegistry,
        FinishedJobRegistry,
        FailedJobRegistry,
        DeferredJobRegistry,
        ScheduledJobRegistry,
    ):
        registry = registry_class(queue=queue)
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)


@pytest.fixture
def run_jobs(rq_queue):
    """Run every queued job in this process (a real RQ worker, burst mode).

    Returns a function giving the number of jobs that failed.
    """

    def run() -> int:
        worker = SimpleWorker([rq_queue], connection=rq_queue.connection)
        worker.work(burst=True)
        return FailedJobRegistry(queue=rq_queue).count

    return run


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
