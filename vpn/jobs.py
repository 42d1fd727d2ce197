"""Background jobs: thin RQ wrappers that take ids, reload, and call one service.

Jobs are enqueued only once the surrounding database transaction has committed. When
the portal runs without Redis (`RQ_ASYNC=false`, which `make run` chooses when no Redis
can be had), jobs run in the calling process instead, right after the commit.
"""

import logging
from collections.abc import Callable

import django_rq
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(func: Callable[..., object], *args: object) -> None:
    """Run `func(*args)` as a job once the current transaction commits."""
    transaction.on_commit(lambda: enqueue(func, *args))


def enqueue(func: Callable[..., object], *args: object) -> None:
    """Put `func(*args)` on the default queue now (or run it here without Redis)."""
    if not settings.RQ_ASYNC:
        logger.info("No queue: running %s%r in process", func.__name__, args)
        func(*args)
        return
    # `enqueue_on_commit` already waits for the commit; "auto" stops django-rq from
    # deferring a second time (which, inside a later transaction, would delay the job).
    django_rq.get_queue("default", commit_mode="auto").enqueue(func, *args)


def transition_notify(transition_id: int) -> None:
    """Email the people who should hear of a stage transition."""
    from vpn.services.notifications import transition_notify as notify

    notify(transition_id=transition_id)
