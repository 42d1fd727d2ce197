"""`vpn.workers.PortalWorker`, the Procfile's worker: jobs run in the worker's process,
each on a database connection that is still usable."""

import pytest
from django.db import connection
from rq import SimpleWorker
from rq.registry import FailedJobRegistry

from vpn.workers import PortalWorker

pytestmark = pytest.mark.django_db(transaction=True)


def _drop_and_run(worker_class, rq_queue) -> int:
    """Drop the database connection under Django's feet (as a database restart does), run
    a job that reads the database; how many jobs failed."""
    connection.ensure_connection()
    connection.connection.close()
    rq_queue.enqueue("vpn.jobs.emails_send")
    worker_class([rq_queue], connection=rq_queue.connection).work(burst=True)
    return FailedJobRegistry(queue=rq_queue).count


def test_a_job_after_the_database_dropped_the_connection_runs(rq_queue):
    assert _drop_and_run(PortalWorker, rq_queue) == 0


def test_without_the_check_that_job_fails(rq_queue):
    # What the check is for: RQ's SimpleWorker alone keeps the dead connection.
    assert _drop_and_run(SimpleWorker, rq_queue) == 1
    connection.close()
