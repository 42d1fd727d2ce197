"""Background jobs: thin RQ wrappers that take ids, reload, and call one service.

Nothing imports this module but the entry points that start jobs (the cron schedule,
management commands) and RQ itself: services queue jobs by their dotted path through
`vpn.events`, after the surrounding transaction has committed. When the portal runs
without Redis (`RQ_ASYNC=false`, which `make run` chooses when no Redis can be had),
`vpn.events` runs them in the calling process instead.
"""

import logging

from vpn import events
from vpn.models import VpnRequest
from vpn.services import changes, maintenance, notifications, packs, provisioning, status

logger = logging.getLogger(__name__)


def transition_notify(transition_id: int) -> None:
    """Email the people who should hear of a stage transition."""
    notifications.transition_notify(transition_id=transition_id)


def customer_confirmed_notify(request_id: int) -> None:
    """Tell the owning engineer that the customer has configured their side."""
    notifications.customer_confirmed_notify(request_id=request_id)


def emails_send() -> None:
    """Send every email of the outbox that is due (new, or failed and due for a retry)."""
    notifications.emails_send()


def request_provision(request_id: int) -> None:
    """Run the request's current setup step; look again later while AWS is busy."""
    outcome = provisioning.provision_advance(request_id=request_id)
    logger.info("Provisioning request %s: %s", request_id, outcome)
    if outcome == provisioning.WAITING:
        events.job_enqueue_later("vpn.jobs.request_provision", request_id)


def request_decommission(request_id: int) -> None:
    """Delete the next AWS resources of a request being decommissioned."""
    if provisioning.decommission_advance(request_id=request_id) == provisioning.WAITING:
        events.job_enqueue_later("vpn.jobs.request_decommission", request_id)


def request_pack_render(request_id: int, reason: str) -> None:
    """Issue a new config pack version if the request's connection changed."""
    packs.config_pack_render(request_id=request_id, reason=reason)


def change_pack_issue(change_id: int, reason: str, after_version: int) -> None:
    """Issue the config pack of a change's step and email it to the customer."""
    note = changes.change_pack_issue(
        change_id=change_id, reason=reason, after_version=after_version
    )
    logger.info("Change %s:%s", change_id, note or " no new config pack")


def change_advance(change_id: int) -> None:
    """Move a change to a live VPN on; look again later while a tunnel is not back yet."""
    outcome = changes.change_advance(change_id=change_id)
    logger.info("Change %s: %s", change_id, outcome)
    if outcome in changes.LOOK_AGAIN:
        events.job_enqueue_later("vpn.jobs.change_advance", change_id)


def status_refresh(trigger: str = "schedule", regions: list[str] | None = None) -> None:
    """Refresh the tunnel status of every watched VPN (periodic, or "Refresh now")."""
    status.status_refresh(trigger=trigger, regions=regions)


def maintenance_refresh() -> None:
    """Read AWS's pending endpoint maintenance of every watched tunnel (periodic)."""
    maintenance.maintenance_refresh()


def aws_job_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ calls this after every failed run of an AWS job, before it schedules a retry.

    While a retry is left, the failure is recorded for the request page and its timeline
    (the error, attempt n of m, when the next starts); after the last one, the request
    stops at its step with the error.
    """
    request_id = job.args[0]
    if job.retries_left:
        # RQ's own arithmetic, before it counts this retry down: one attempt per
        # interval after the first, the next interval being this one's.
        attempts = len(job.retry_intervals or ()) + 1
        provisioning.provision_retry_record(
            request_id=request_id,
            job_id=job.id,
            attempt=attempts - job.retries_left,
            attempts=attempts,
            error=f"{exc_value}",
            retry_in_seconds=job.get_retry_interval(),
        )
        return
    stage = VpnRequest.objects.filter(pk=request_id).values_list("stage", flat=True).first()
    if stage is not None:
        provisioning.provision_fail(request_id=request_id, stage=stage, message=f"{exc_value}")
