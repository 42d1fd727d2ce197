"""The stage machine: every allowed move, forbidden ones, history, follow-ups, races."""

import threading

import pytest
from django.core import mail
from django.db import close_old_connections

from tests.factories import VpnRequestFactory
from vpn.choices import STAGE_TRANSITIONS, Stage
from vpn.models import StageTransition, VpnRequest
from vpn.services.stages import StageMoveError, request_move, request_retry

ALLOWED = [(src, dst) for src, targets in STAGE_TRANSITIONS.items() for dst in sorted(targets)]
FORBIDDEN = [
    (Stage.DRAFT, Stage.LIVE),
    (Stage.DRAFT, Stage.APPROVED),
    (Stage.SUBMITTED, Stage.VPC),
    (Stage.APPROVED, Stage.CONNECTION),
    (Stage.VPC, Stage.NAT),
    (Stage.LIVE, Stage.DRAFT),
    (Stage.DOWN, Stage.FAILED),
    (Stage.DECOMMISSIONED, Stage.LIVE),
    (Stage.CANCELLED, Stage.SUBMITTED),
    (Stage.FAILED, Stage.LIVE),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), ALLOWED)
def test_every_allowed_move_is_made_and_recorded(from_stage, to_stage, se):
    request = VpnRequestFactory(stage=from_stage)
    transition = request_move(request_id=request.pk, to_stage=to_stage, actor=se, note="why")

    request.refresh_from_db()
    assert request.stage == to_stage
    assert (transition.from_stage, transition.to_stage) == (from_stage, to_stage)
    assert transition.actor == se
    assert transition.note == "why"
    assert request.transitions.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("from_stage", "to_stage"), FORBIDDEN)
def test_forbidden_moves_are_refused_and_change_nothing(from_stage, to_stage):
    request = VpnRequestFactory(stage=from_stage)
    with pytest.raises(StageMoveError, match="cannot move from"):
        request_move(request_id=request.pk, to_stage=to_stage)

    request.refresh_from_db()
    assert request.stage == from_stage
    assert not StageTransition.objects.exists()


@pytest.mark.django_db
def test_every_stage_has_an_entry_in_the_transition_table():
    assert set(STAGE_TRANSITIONS) == set(Stage)
    for targets in STAGE_TRANSITIONS.values():
        assert targets <= set(Stage)


@pytest.mark.django_db
def test_unknown_stage_is_refused():
    request = VpnRequestFactory()
    with pytest.raises(ValueError):
        request_move(request_id=request.pk, to_stage="teleported")


@pytest.mark.django_db
def test_conditional_move_refuses_when_stage_moved_on():
    request = VpnRequestFactory(stage=Stage.APPROVED)
    with pytest.raises(StageMoveError, match="already"):
        request_move(request_id=request.pk, to_stage=Stage.APPROVED, from_stage=Stage.SUBMITTED)
    assert not StageTransition.objects.exists()


@pytest.mark.django_db
def test_failure_records_the_step_and_retry_resumes_there():
    request = VpnRequestFactory(stage=Stage.CONNECTION)
    request_move(request_id=request.pk, to_stage=Stage.FAILED, note="AWS said no")
    request.refresh_from_db()
    assert (request.failed_stage, request.failure_message) == (Stage.CONNECTION, "AWS said no")

    request_retry(request_id=request.pk)
    request.refresh_from_db()
    assert request.stage == Stage.CONNECTION
    assert (request.failed_stage, request.failure_message) == ("", "")


@pytest.mark.django_db
def test_retry_of_a_request_that_has_not_failed_is_refused():
    request = VpnRequestFactory(stage=Stage.LIVE)
    with pytest.raises(StageMoveError, match="nothing to retry"):
        request_retry(request_id=request.pk)


@pytest.mark.django_db
def test_submission_notifies_the_owner_after_commit_through_a_real_queue(
    se, rq_queue, run_jobs, django_capture_on_commit_callbacks
):
    request = VpnRequestFactory(owner=se)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_move(request_id=request.pk, to_stage=Stage.SUBMITTED, actor_label="customer")
        # Nothing is queued before the transaction commits.
        assert rq_queue.count == 0
    for callback in callbacks:
        callback()
    assert rq_queue.count == 1

    assert run_jobs() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [se.email]
    assert request.reference in mail.outbox[0].subject
    request.refresh_from_db()
    assert request.submitted_at is not None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_identical_moves_leave_exactly_one_transition(postgres):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    barrier = threading.Barrier(2)
    outcomes = []

    def approve():
        try:
            barrier.wait()
            request_move(request_id=request.pk, to_stage=Stage.APPROVED)
            outcomes.append("moved")
        except StageMoveError:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["moved", "refused"]
    assert StageTransition.objects.filter(request=request).count() == 1
    assert VpnRequest.objects.get(pk=request.pk).stage == Stage.APPROVED
