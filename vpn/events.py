"""Follow-up work that is safe to ask for anywhere: after the commit inside a transaction,
at once outside one.

Services queue background jobs through this module and never import `vpn.jobs`: a job
is named by its dotted path (`"vpn.jobs.request_provision"`), which RQ imports in the
worker. Only when the portal runs without Redis (`RQ_ASYNC=false`) is the job imported
here, at the moment it runs. That keeps the layers one-way: jobs import services,
services import nothing above them, and no caller needs to know whether it is inside a
transaction (work that is rolled back never queues a job).
"""

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache, partial

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from rq import Callback, Retry
from rq.exceptions import DuplicateJobError

logger = logging.getLogger(__name__)

# Jobs that call AWS: retried after a transient failure, then the request is stopped at
# its step by `AWS_JOB_FAILED` (named, like the jobs, by its path).
AWS_JOBS = frozenset({"vpn.jobs.request_provision", "vpn.jobs.request_decommission"})
AWS_JOB_FAILED = "vpn.jobs.aws_job_failed"
# The queue of each job that does not go on "default" (RQ_QUEUES in portal/settings.py).
# A config pack renders for seconds: on a queue of its own, which workers serve after
# "default", it never holds a provisioning step up.
JOB_QUEUES = {
    "vpn.jobs.request_pack_render": "packs",
    "vpn.jobs.change_pack_issue": "packs",
}


def after_commit(func: Callable[..., object], *args: object) -> None:
    """Call `func(*args)` once the current transaction commits, or now outside one."""
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(partial(func, *args))
    else:
        func(*args)


def job_enqueue(job: str, *args: object, job_id: str | None = None) -> None:
    """Queue the job at dotted path `job` with `args` (ids and plain values: they are kept
    in Redis) once the current transaction commits, or now outside one.

    With a `job_id`, the job is queued only if RQ holds no job of that id (queued,
    running, or finished within its result's lifetime): queueing the same work twice then
    runs it once. A job of that id that failed or was stopped is queued again.
    """
    after_commit(_enqueue_now, job, args, job_id)


def job_enqueue_later(job: str, *args: object) -> None:
    """Queue `job` again after `PROVISION_POLL_SECONDS`, without holding a worker meanwhile
    (for a job whose AWS resource is still being created or deleted)."""
    after_commit(_enqueue_in, job, args)


def _queue(job: str):
    # This module already waits for the commit; "auto" stops django-rq from deferring a
    # second time (which, inside a later transaction, would delay the job).
    name = JOB_QUEUES.get(job, "default")
    return django_rq.get_queue(name, commit_mode="auto", connection=_connection(name))


@cache
def _connection(queue_name: str):
    # django-rq builds a new Redis client, and so a new connection, on every get_queue:
    # one client per queue for the process, whose pool keeps its connections (and makes
    # new ones in a forked child).
    return django_rq.get_connection(queue_name)


def _enqueue_now(job: str, args: tuple, job_id: str | None = None) -> None:
    if not settings.RQ_ASYNC:
        _run_here(job, args)
        return
    if job_id is None:
        _queue(job).enqueue(job, *args, **_options(job))
        return
    queue = _queue(job)
    try:
        queue.enqueue(job, *args, job_id=job_id, unique=True, **_options(job))
    except DuplicateJobError:
        earlier = queue.fetch_job(job_id)
        if earlier is None or not (earlier.is_failed or earlier.is_stopped or earlier.is_canceled):
            logger.info("Job %s is already queued, running or done: not queued again", job_id)
            return
        # A job that failed (or was stopped) did not do the work: asking again runs it
        # again, rather than leaving its id to block the same work for good.
        logger.info("Job %s failed earlier: queued again", job_id)
        earlier.delete()
        with contextlib.suppress(DuplicateJobError):  # another process was quicker
            queue.enqueue(job, *args, job_id=job_id, unique=True, **_options(job))


def _enqueue_in(job: str, args: tuple) -> None:
    delay = settings.PROVISION_POLL_SECONDS
    if not settings.RQ_ASYNC:
        # No queue to hold the job meanwhile: this process waits instead.
        time.sleep(delay)
        _run_here(job, args)
        return
    if delay <= 0:
        _enqueue_now(job, args)
        return
    _queue(job).enqueue_in(timedelta(seconds=delay), job, *args, **_options(job))


def _run_here(job: str, args: tuple) -> None:
    logger.info("No queue: running %s%r in process", job, args)
    try:
        import_string(job)(*args)
    except Exception:
        # As a worker would: log it and carry on, rather than failing the page or
        # command that queued the job.
        logger.exception("Job %s%r failed", job, args)


def _options(job: str) -> dict:
    """Retries for transient AWS failures, then the request is marked failed."""
    if job not in AWS_JOBS:
        return {}
    intervals = settings.PROVISION_RETRY_INTERVALS
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    return {"retry": retry, "on_failure": Callback(AWS_JOB_FAILED)}
