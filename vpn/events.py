"""Follow-up work that is safe to ask for anywhere: after the commit inside a transaction,
at once outside one.

Services queue background jobs through this module and never import `vpn.jobs`: a job
is named by its dotted path (`"vpn.jobs.request_provision"`), which RQ imports in the
worker. Only when the portal runs without Redis (`RQ_ASYNC=false`) is the job imported
here, at the moment it runs. That keeps the layers one-way: jobs import services,
services import nothing above them, and no caller needs to know whether it is inside a
transaction (work that is rolled back never queues a job).
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from rq import Callback, Retry

logger = logging.getLogger(__name__)

# Jobs that call AWS: retried after a transient failure, then the request is stopped at
# its step by `AWS_JOB_FAILED` (named, like the jobs, by its path).
AWS_JOBS = frozenset({"vpn.jobs.request_provision", "vpn.jobs.request_decommission"})
AWS_JOB_FAILED = "vpn.jobs.aws_job_failed"


def after_commit(func: Callable[..., object], *args: object) -> None:
    """Call `func(*args)` once the current transaction commits, or now outside one."""
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(partial(func, *args))
    else:
        func(*args)


def job_enqueue(job: str, *args: object) -> None:
    """Queue the job at dotted path `job` with `args` (ids and plain values: they are kept
    in Redis) once the current transaction commits, or now outside one."""
    after_commit(_enqueue_now, job, args)


def job_enqueue_later(job: str, *args: object) -> None:
    """Queue `job` again after `PROVISION_POLL_SECONDS`, without holding a worker meanwhile
    (for a job whose AWS resource is still being created or deleted)."""
    after_commit(_enqueue_in, job, args)


def _enqueue_now(job: str, args: tuple) -> None:
    if not settings.RQ_ASYNC:
        _run_here(job, args)
        return
    # This module already waits for the commit; "auto" stops django-rq from deferring a
    # second time (which, inside a later transaction, would delay the job).
    django_rq.get_queue("default", commit_mode="auto").enqueue(job, *args, **_options(job))


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
    django_rq.get_queue("default", commit_mode="auto").enqueue_in(
        timedelta(seconds=delay), job, *args, **_options(job)
    )


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
