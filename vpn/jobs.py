"""Background jobs: thin RQ wrappers that take ids, reload, and call one service.

Jobs are enqueued only once the surrounding database transaction has committed. When
the portal runs without Redis (`RQ_ASYNC=false`, which `make run` chooses when no Redis
can be had), jobs run in the calling process instead, right after the commit.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import transaction
from rq import Callback, Retry

logger = logging.getLogger(__name__)


def enqueue_on_commit(func: Callable[..., object], *args: object) -> None:
    """Run `func(*args)` as a job once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(func, *args))


def enqueue(func: Callable[..., object], *args: object) -> None:
    """Put `func(*args)` on the default queue now (or run it here without Redis)."""
    if not settings.RQ_ASYNC:
        logger.info("No queue: running %s%r in process", func.__name__, args)
        try:
            func(*args)
        except Exception:
            # As a worker would: log it and carry on, rather than failing the page or
            # command that queued the job.
            logger.exception("Job %s%r failed", func.__name__, args)
        return
    options = _aws_job_options() if func in (request_provision, request_decommission) else {}
    # `enqueue_on_commit` already waits for the commit; "auto" stops django-rq from
    # deferring a second time (which, inside a later transaction, would delay the job).
    django_rq.get_queue("default", commit_mode="auto").enqueue(func, *args, **options)


def transition_notify(transition_id: int) -> None:
    """Email the people who should hear of a stage transition."""
    from vpn.services.notifications import transition_notify as notify

    notify(transition_id=transition_id)


def customer_confirmed_notify(request_id: int) -> None:
    """Tell the owning engineer that the customer has configured their side."""
    from vpn.services.notifications import customer_confirmed_notify as notify

    notify(request_id=request_id)


def request_provision(request_id: int) -> None:
    """Run the request's current setup step; look again later while AWS is busy."""
    from vpn.services.provisioning import WAITING, provision_advance

    outcome = provision_advance(request_id=request_id)
    logger.info("Provisioning request %s: %s", request_id, outcome)
    if outcome == WAITING:
        enqueue_later(request_provision, request_id)


def request_decommission(request_id: int) -> None:
    """Delete the next AWS resources of a request being decommissioned."""
    from vpn.services.provisioning import WAITING, decommission_advance

    if decommission_advance(request_id=request_id) == WAITING:
        enqueue_later(request_decommission, request_id)


def request_pack_render(request_id: int, reason: str) -> None:
    """Issue a new config pack version if the request's connection changed."""
    from vpn.services.packs import config_pack_render

    config_pack_render(request_id=request_id, reason=reason)


def status_refresh(trigger: str = "schedule", regions: list[str] | None = None) -> None:
    """Refresh the tunnel status of every watched VPN (periodic, or "Refresh now")."""
    from vpn.services.status import status_refresh as refresh

    refresh(trigger=trigger, regions=regions)


def enqueue_later(func: Callable[..., object], *args: object) -> None:
    """Run `func(*args)` again after `PROVISION_POLL_SECONDS`, without holding a worker."""
    delay = settings.PROVISION_POLL_SECONDS
    if not settings.RQ_ASYNC:
        time.sleep(delay)
        func(*args)
        return
    if delay <= 0:
        enqueue(func, *args)
        return
    django_rq.get_queue("default", commit_mode="auto").enqueue_in(
        timedelta(seconds=delay), func, *args, **_aws_job_options()
    )


def _aws_job_options() -> dict:
    """Retries for transient AWS failures, then the request is marked failed."""
    intervals = settings.PROVISION_RETRY_INTERVALS
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    return {"retry": retry, "on_failure": Callback(aws_job_failed)}


def aws_job_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """After the last retry of a step, stop the request at its step with the error."""
    if job.retries_left:
        return  # RQ will run it again.
    from vpn.models import VpnRequest
    from vpn.services.provisioning import provision_fail

    request_id = job.args[0]
    stage = VpnRequest.objects.filter(pk=request_id).values_list("stage", flat=True).first()
    if stage is not None:
        provision_fail(request_id=request_id, stage=stage, message=f"{exc_value}")
