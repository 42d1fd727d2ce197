"""The stage machine's only writer.

`request_move` takes the request's row lock, checks the move against
`vpn.choices.STAGE_TRANSITIONS`, writes the stage and a `StageTransition` row, and
schedules follow-up work to run once the transaction has committed.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from vpn import events
from vpn.choices import (
    DECOMMISSIONABLE_STAGES,
    PROVISIONING_STAGES,
    STAGE_TRANSITIONS,
    DecommissionReason,
    Stage,
)
from vpn.models import StageTransition, VpnRequest
from vpn.services import notifications


class StageMoveError(Exception):
    """A move the stage machine does not allow, or one that lost a race."""


# Follow-up jobs (by their path, see `vpn.events`) per stage entered; each takes the
# transition's id.
STAGE_FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    Stage.SUBMITTED: ("vpn.jobs.transition_notify",),
    Stage.FAILED: ("vpn.jobs.transition_notify",),
}
# Jobs per stage entered that take the request's id: entering a setup step runs it.
STAGE_REQUEST_JOBS: dict[str, str] = {
    Stage.APPROVED: "vpn.jobs.request_provision",
    **{stage: "vpn.jobs.request_provision" for stage in PROVISIONING_STAGES},
    Stage.DECOMMISSIONING: "vpn.jobs.request_decommission",
}


def request_move(
    *,
    request_id: int,
    to_stage: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    note: str = "",
    from_stage: str | None = None,
    follow_ups: bool = True,
    step_job: bool = True,
) -> StageTransition:
    """Move a request to `to_stage` and record who did it and why.

    `from_stage`, when given, makes the move conditional: it is refused unless the
    request is still in that stage once locked (two engineers clicking the same button
    at once get one move, and one clear error). Raises `StageMoveError` for a move the
    transition table does not allow. `follow_ups=False` records the move without
    queueing its jobs (for demo data that writes history, not work); `step_job=False`
    queues the others but not the job that runs the stage entered, for a caller that
    runs that step itself (provisioning, from one step to the next).
    """
    to_stage = Stage(to_stage)
    with transaction.atomic():
        request = VpnRequest.objects.select_for_update().get(pk=request_id)
        current = Stage(request.stage)
        if from_stage is not None and current != from_stage:
            raise StageMoveError(
                f"{request.reference} is already “{current.label}”, no longer "
                f"“{Stage(from_stage).label}”; nothing was changed."
            )
        if to_stage not in STAGE_TRANSITIONS[current]:
            raise StageMoveError(
                f"{request.reference} cannot move from “{current.label}” to “{to_stage.label}”."
            )

        request.stage = to_stage
        changed = ["stage", "updated_at"]
        if to_stage == Stage.FAILED:
            request.failed_stage = current
            request.failure_message = note
            changed += ["failed_stage", "failure_message"]
        elif current == Stage.FAILED:
            request.failed_stage = ""
            request.failure_message = ""
            changed += ["failed_stage", "failure_message"]
        if to_stage == Stage.SUBMITTED:
            request.submitted_at = timezone.now()
            changed.append("submitted_at")
        request.save(update_fields=changed)

        transition = StageTransition.objects.create(
            request=request,
            from_stage=current,
            to_stage=to_stage,
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor_label,
            note=note,
        )
        if follow_ups:
            for follow_up in STAGE_FOLLOW_UPS.get(to_stage, ()):
                events.job_enqueue(follow_up, transition.pk)
            if step_job and (request_job := STAGE_REQUEST_JOBS.get(to_stage)):
                events.job_enqueue(request_job, request.pk)
    return transition


def request_retry(*, request_id: int, actor: AbstractBaseUser | None = None) -> StageTransition:
    """Resume a failed request at the stage where it stopped."""
    request = VpnRequest.objects.get(pk=request_id)
    if request.stage != Stage.FAILED or not request.failed_stage:
        raise StageMoveError(f"{request.reference} has not failed; there is nothing to retry.")
    return request_move(
        request_id=request_id,
        to_stage=request.failed_stage,
        from_stage=Stage.FAILED,
        actor=actor,
        note="Retry",
    )


def request_decommission_start(
    *,
    request_id: int,
    reason: str,
    message: str = "",
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> StageTransition:
    """Start deleting a request's AWS resources, for a reason (the teardown job starts on
    commit), and tell the customer's contact by email why and from when.

    `reason` is a `DecommissionReason`, required; `message` is what the engineer tells
    the customer beside it (required with "other"). Both are kept on the request for
    the customer's link, and named in the transition's note. Only a request whose VPN
    exists, or whose build failed, can be decommissioned; anything else is refused with
    `StageMoveError`, saying why, and nothing is written.
    """
    message = message.strip()
    if reason not in DecommissionReason.values:
        raise StageMoveError("Say why the VPN is decommissioned: pick a reason.")
    if reason == DecommissionReason.OTHER and not message:
        raise StageMoveError(
            "With “another reason”, write the message to the customer: it says why."
        )
    with transaction.atomic():
        request = (
            VpnRequest.objects.select_for_update().select_related("customer").get(pk=request_id)
        )
        if request.stage not in DECOMMISSIONABLE_STAGES:
            raise StageMoveError(
                f"{request.reference} is “{request.get_stage_display()}”: only a provisioned "
                "or failed request can be decommissioned."
            )
        request.decommission_reason = reason
        request.decommission_message = message
        request.save(update_fields=["decommission_reason", "decommission_message", "updated_at"])
        note = f"Reason: {DecommissionReason(reason).label}."
        if message:
            note += f"\nTo the customer: {message}"
        transition = request_move(
            request_id=request_id,
            to_stage=Stage.DECOMMISSIONING,
            from_stage=request.stage,
            actor=actor,
            actor_label=actor_label,
            note=note,
        )
        request.refresh_from_db()
        notifications.decommission_notice_queue(request=request, started_at=transition.created_at)
    return transition
