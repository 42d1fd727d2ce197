"""Reads of provisioning: how far the five setup steps of a request have come."""

from dataclasses import dataclass

from vpn.choices import OPERATIONAL_STAGES, PROVISIONING_STAGES, SetupStep, Stage
from vpn.models import VpnRequest


@dataclass(frozen=True)
class StepState:
    """One of the five setup steps as the progress bar shows it."""

    number: int
    label: str
    state: str  # done, current, failed, pending or skipped


def request_steps(*, request: VpnRequest) -> list[StepState]:
    """The five setup steps of a request, each done, current, failed, pending or skipped."""
    stage = request.stage
    position = None  # index of the step running (or failed), if any
    failed = False
    if stage in PROVISIONING_STAGES:
        position = PROVISIONING_STAGES.index(stage)
    elif stage == Stage.FAILED and request.failed_stage in PROVISIONING_STAGES:
        position = PROVISIONING_STAGES.index(request.failed_stage)
        failed = True
    all_done = stage in (*OPERATIONAL_STAGES, Stage.DECOMMISSIONING, Stage.DECOMMISSIONED) or (
        stage == Stage.FAILED and request.failed_stage == Stage.DECOMMISSIONING
    )

    steps = []
    for index, step in enumerate(SetupStep):
        if step == SetupStep.NAT and not request.nat_wanted:
            state = "skipped"
        elif all_done or (position is not None and index < position):
            state = "done"
        elif position is not None and index == position:
            state = "failed" if failed else "current"
        else:
            state = "pending"
        steps.append(StepState(number=step.value, label=step.label, state=state))
    return steps
