"""Review: the queue of submitted requests, approve, send back with a message, edits
under the same rules, duplicate warnings, and who may do what."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import CustomerFactory, UserFactory, VpnRequestFactory
from tests.intake_data import FORM_BGP, customer_form
from vpn.choices import Stage
from vpn.models import IntakeLink, StageTransition, VpnRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def submitted(**kwargs) -> VpnRequest:
    """A complete request waiting for review."""
    kwargs.setdefault("customer_gateway_ip", "52.94.12.7")
    return VpnRequestFactory(stage=Stage.SUBMITTED, **kwargs)


def test_review_queue_lists_submitted_requests_longest_waiting_first(se_client):
    first = submitted(customer__name="First Co")
    second = submitted(customer__name="Second Co")
    VpnRequest.objects.filter(pk=first.pk).update(submitted_at="2026-01-01T00:00Z")
    VpnRequest.objects.filter(pk=second.pk).update(submitted_at="2026-01-02T00:00Z")
    VpnRequestFactory(stage=Stage.DRAFT, customer__name="Draft Co")
    VpnRequestFactory(stage=Stage.LIVE, customer__name="Live Co")

    html = se_client.get("/review/").content.decode()

    assert html.index("First Co") < html.index("Second Co")
    assert "Draft Co" not in html and "Live Co" not in html
    # Linked from the navigation, with the queue's length.
    assert 'href="/review/"' in html
    assert '<span class="nav-count">2</span>' in html


def test_approve_writes_exactly_one_transition(se_client, se):
    request = submitted()

    response = se_client.post(f"/requests/{request.pk}/approve/")

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.APPROVED
    transition = StageTransition.objects.get()
    assert (transition.from_stage, transition.to_stage) == (Stage.SUBMITTED, Stage.APPROVED)
    assert transition.actor == se
    assert "is approved" in se_client.get(response.url).content.decode()


def test_a_second_approve_changes_nothing(se_client):
    request = submitted()
    se_client.post(f"/requests/{request.pk}/approve/")

    response = se_client.post(f"/requests/{request.pk}/approve/", follow=True)

    assert StageTransition.objects.count() == 1
    assert "its intake can no longer be changed" in response.content.decode()


def test_approve_refuses_an_intake_that_breaks_a_rule_now(se_client):
    # A documentation address was fine against the sandbox, not against AWS.
    request = submitted(customer_gateway_ip="198.51.100.7")

    response = se_client.post(f"/requests/{request.pk}/approve/", follow=True)

    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert not StageTransition.objects.exists()
    assert "a documentation address" in response.content.decode()


def test_send_back_emails_the_contact_and_the_customer_sees_the_message(se_client, se):
    request = submitted(customer__contact_email="netops@litware.example")
    message = "Your gateway IP is the NAT's inside address; give its public one."
    mail.outbox.clear()

    response = se_client.post(f"/requests/{request.pk}/send-back/", {"message": message})

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.CHANGES_REQUESTED
    transition = StageTransition.objects.get()
    assert transition.note == message
    assert transition.actor == se

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["netops@litware.example"]
    assert message in email.body
    assert request.reference in email.subject
    token = re.search(r"/intake/([A-Za-z0-9_-]{43})/", email.body).group(1)

    customer = Client()
    html = customer.get(f"/intake/{token}/").content.decode()
    assert "Your engineer asked for changes" in html
    assert "Your gateway IP is the NAT&#x27;s inside address; give its public one." in html

    # The customer fixes it and submits again.
    data = {**customer_form(FORM_BGP), "gateway_ip": "52.94.77.1", "action": "submit"}
    assert customer.post(f"/intake/{token}/", data).status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert request.transitions.first().actor_label == "customer"


def test_send_back_needs_a_message(se_client):
    request = submitted()
    response = se_client.post(f"/requests/{request.pk}/send-back/", {"message": "  "}, follow=True)
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert "Say what the customer should change." in response.content.decode()


@pytest.fixture
def viewer_client(client):
    """Logged in with view permissions only."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="view_vpnrequest"))
    client.force_login(user)
    return client


def test_approve_and_send_back_need_the_approve_permission(viewer_client):
    request = submitted()
    assert viewer_client.post(f"/requests/{request.pk}/approve/").status_code == 403
    assert (
        viewer_client.post(f"/requests/{request.pk}/send-back/", {"message": "x"}).status_code
        == 403
    )
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    assert not StageTransition.objects.exists()


def test_create_invite_and_edit_need_their_permissions(viewer_client):
    request = submitted()
    assert viewer_client.get("/requests/new/").status_code == 403
    assert viewer_client.get("/requests/invite/").status_code == 403
    assert viewer_client.post(f"/requests/{request.pk}/links/").status_code == 403
    assert viewer_client.get(f"/requests/{request.pk}/edit/").status_code == 403
    assert viewer_client.post(f"/requests/{request.pk}/edit/", FORM_BGP).status_code == 403
    assert not IntakeLink.objects.exists()


def test_buttons_show_only_to_whom_may_use_them(se, viewer_client):
    request = submitted()
    se_client = Client()
    se_client.force_login(se)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert f'action="/requests/{request.pk}/approve/"' in html
    assert f'action="/requests/{request.pk}/send-back/"' in html
    assert f'href="/requests/{request.pk}/edit/"' in html

    html = viewer_client.get(f"/requests/{request.pk}/").content.decode()
    assert "/approve/" not in html and "/send-back/" not in html and "/edit/" not in html


def test_no_review_buttons_once_approved(se_client):
    request = VpnRequestFactory(stage=Stage.APPROVED)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "/approve/" not in html and "/edit/" not in html


def test_edit_uses_the_same_rules_and_writes_nothing_when_wrong(se_client):
    request = submitted()
    data = {**FORM_BGP, "org_id": request.customer.org_id, "action": "save"}
    before = VpnRequest.objects.values().get(pk=request.pk)

    response = se_client.post(f"/requests/{request.pk}/edit/", {**data, "asn": "7224"})

    assert response.status_code == 200
    assert "ASN 7224 is reserved by AWS in every region" in response.content.decode()
    assert VpnRequest.objects.values().get(pk=request.pk) == before

    response = se_client.post(f"/requests/{request.pk}/edit/", {**data, "asn": "64999"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.bgp_asn == 64999
    assert request.stage == Stage.SUBMITTED


def test_a_submitted_request_cannot_be_edited_into_an_incomplete_one(se_client):
    request = submitted()
    data = {**FORM_BGP, "org_id": request.customer.org_id, "gateway_ip": "", "action": "draft"}
    response = se_client.post(f"/requests/{request.pk}/edit/", data)
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.customer_gateway_ip == "52.94.12.7"


def test_edit_is_refused_after_approval(se_client):
    request = VpnRequestFactory(stage=Stage.APPROVED)
    response = se_client.get(f"/requests/{request.pk}/edit/", follow=True)
    assert "can no longer be edited" in response.content.decode()


def test_possible_duplicates_are_flagged_but_not_refused(se_client):
    customer = CustomerFactory()
    older = submitted(customer=customer, customer_gateway_ip="52.94.12.7")
    newer = submitted(customer=customer, customer_gateway_ip="52.94.12.7")
    closed = VpnRequestFactory(
        customer=customer, customer_gateway_ip="52.94.12.7", stage=Stage.CANCELLED
    )
    submitted(customer_gateway_ip="52.94.12.7")  # another org: not a duplicate

    html = se_client.get(f"/requests/{newer.pk}/").content.decode()
    assert "Possible duplicate." in html
    assert older.reference in html
    assert closed.reference not in html

    assert "Possible duplicate." in se_client.get(f"/requests/{newer.pk}/edit/").content.decode()
    assert se_client.get("/review/").content.decode().count(">Possible duplicate<") == 2

    # Creating a third one works, with a warning.
    data = {**FORM_BGP, "org_id": customer.org_id, "gateway_ip": "52.94.12.7", "action": "submit"}
    response = se_client.post("/requests/new/", data, follow=True)
    assert VpnRequest.objects.filter(customer=customer).count() == 4
    assert "Possible duplicate" in response.content.decode()
