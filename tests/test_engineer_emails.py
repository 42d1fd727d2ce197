"""Who hears of what, in words that fit: the engineer is told of a submission only when
someone else made it, and a new customer link says what it is for at the request's stage.

Submissions go through the real pages and the jobs through a real RQ worker; the emails
are the ones the test mail backend received.
"""

import pytest
from django.core import mail
from django.test import Client

from tests.factories import VpnRequestFactory, se_user
from tests.intake_data import FORM_BGP, customer_form, draft_with_link
from vpn.choices import Stage
from vpn.models import Notification
from vpn.services.intake import intake_link_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    # The form's example gateway address is public: no sandbox exception needed.
    settings.AWS_SANDBOX = False


def test_the_engineer_is_not_told_of_their_own_submission(
    se_client, se, run_jobs, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = se_client.post("/requests/new/", {**FORM_BGP, "action": "submit"})
    assert response.status_code == 302
    assert run_jobs() == 0
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_the_engineer_is_told_when_the_customer_submits(
    se, run_jobs, django_capture_on_commit_callbacks
):
    request, token = draft_with_link(owner=se)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/intake/{token}/", {**customer_form(FORM_BGP), "action": "submit"})
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert run_jobs() == 0
    assert [message.to for message in mail.outbox] == [[se.email]]
    assert "ready for review" in mail.outbox[0].subject


def test_the_owner_is_told_when_a_colleague_submits_for_them(
    client, se, run_jobs, django_capture_on_commit_callbacks
):
    colleague = se_user(username="se-sam", first_name="Sam")
    request = VpnRequestFactory(stage=Stage.DRAFT, owner=se)
    client.force_login(colleague)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/requests/{request.pk}/edit/", {**FORM_BGP, "action": "submit"})
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert run_jobs() == 0
    assert [message.to for message in mail.outbox] == [[se.email]]


def test_a_new_link_on_a_draft_asks_for_the_intake(se_client):
    request, _ = draft_with_link()
    mail.outbox.clear()
    se_client.post(f"/requests/{request.pk}/links/")
    (email,) = mail.outbox
    assert "please fill in the intake" in email.subject
    assert "Fill them in here" in email.body


@pytest.mark.parametrize(
    ("stage", "subject", "body"),
    [
        (
            Stage.SUBMITTED,
            "your link to follow it (",
            "how far the review and the building of the VPN have come",
        ),
        (
            Stage.LIVE,
            "your link to follow it and download its configuration pack",
            "download the configuration pack for your VPN device",
        ),
    ],
)
def test_a_new_link_on_a_submitted_request_says_what_it_is_for(stage, subject, body):
    request = VpnRequestFactory(stage=stage)
    mail.outbox.clear()
    new = intake_link_create(request_id=request.pk)
    (email,) = mail.outbox
    assert subject in email.subject
    assert "fill in" not in email.subject.lower()
    assert "Its intake is already submitted: nothing needs filling in." in email.body
    assert body in email.body
    assert new.url in email.body
