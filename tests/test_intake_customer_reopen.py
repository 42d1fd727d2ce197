"""While their request waits for review, the customer may reopen their answers: it leaves
the review queue as a draft, their edits are checked by the same rules as any intake,
and each change (field, before, after) is recorded on the request's timeline. Once an
engineer has reviewed it, it can no longer be reopened."""

import pytest
from django.test import Client

from tests.factories import se_user
from tests.intake_data import FORM_STATIC, customer_form, draft_with_link
from vpn.choices import RequestEventKind, Stage
from vpn.models import RequestEvent
from vpn.services.intake import request_approve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def _submitted():
    """A request its customer has submitted through their link, and that link."""
    owner = se_user(username="owner", email="owner@platform.example")
    request, token = draft_with_link(owner=owner)
    customer = Client()
    response = customer.post(
        f"/intake/{token}/", {**customer_form(FORM_STATIC), "action": "submit"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    return request, token, customer


def test_the_customer_reopens_edits_and_resubmits_with_the_changes_recorded(se_client):
    request, token, customer = _submitted()
    status = customer.get(f"/intake/{token}/").content.decode()
    assert "Change my answers" in status

    response = customer.post(f"/intake/{token}/", {"action": "reopen"}, follow=True)
    assert "Your answers are open again" in response.content.decode()
    request.refresh_from_db()
    assert request.stage == Stage.DRAFT
    assert request not in se_client.get("/review/").context["requests"]

    # The same rules judge the edit: a private gateway address is refused, nothing saved.
    bad = {**customer_form(FORM_STATIC), "gateway_ip": "10.1.2.3", "action": "submit"}
    page = customer.post(f"/intake/{token}/", bad)
    assert page.status_code == 200
    assert "private" in page.content.decode()
    request.refresh_from_db()
    assert request.stage == Stage.DRAFT
    assert str(request.customer_gateway_ip) == FORM_STATIC["gateway_ip"]
    assert not RequestEvent.objects.exists()

    edit = {
        **customer_form(FORM_STATIC),
        "gateway_ip": "52.94.12.8",
        "subnets": "10.20.0.0/16\n10.40.0.0/24",
        "action": "submit",
    }
    assert customer.post(f"/intake/{token}/", edit).status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert request.static_subnets == ["10.20.0.0/16", "10.40.0.0/24"]

    event = RequestEvent.objects.get(request=request)
    assert event.kind == RequestEventKind.ANSWERS_CHANGED
    assert {change["field"]: (change["before"], change["after"]) for change in event.changes} == {
        "gateway_ip": (FORM_STATIC["gateway_ip"], "52.94.12.8"),
        "subnets": ("10.20.0.0/16, 10.30.1.0/24", "10.20.0.0/16, 10.40.0.0/24"),
    }
    timeline = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "Customer changed their answers" in timeline
    assert "Customer gateway public IP: 52.94.12.7 → 52.94.12.8" in timeline
    assert "The customer reopened their answers to change them." in timeline
    # Submitted twice by the customer: each submission tells the engineer (the stage's
    # follow-up job, as for any submission).
    moves = request.transitions.filter(to_stage=Stage.SUBMITTED, actor_label="customer")
    assert moves.count() == 2


def test_once_reviewed_the_answers_cannot_be_reopened():
    request, token, customer = _submitted()
    request_approve(request_id=request.pk)
    response = customer.post(f"/intake/{token}/", {"action": "reopen"}, follow=True)
    assert "already reviewed" in response.content.decode()
    request.refresh_from_db()
    assert request.stage == Stage.APPROVED
    assert "Change my answers" not in customer.get(f"/intake/{token}/").content.decode()
