"""Decommissioning says why: the reason is required and recorded (on the request and in
its transition), the customer's contact gets an email through the outbox, and their
link says the VPN was removed, when and why, in their own terms. The page, the admin's
action and `vpn_decommission` all go through `request_decommission_start`."""

from html import unescape

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from tests.factories import VpnRequestFactory
from vpn.choices import DecommissionReason, Stage
from vpn.models import Notification, StageTransition
from vpn.services.intake import intake_link_create
from vpn.services.notifications import emails_send
from vpn.services.stages import StageMoveError, request_decommission_start

pytestmark = pytest.mark.django_db


def _live(**fields):
    return VpnRequestFactory(
        stage=Stage.LIVE,
        customer__name="Northwind",
        customer__contact_name="Jo Smith",
        customer__contact_email="jo@northwind.example",
        **fields,
    )


def test_the_page_asks_for_a_reason_and_refuses_without_one(ops_client):
    live = _live()
    page = ops_client.get(f"/requests/{live.pk}/decommission/").content.decode()
    assert 'name="reason"' in page
    assert "jo@northwind.example" in page
    for data, error in (
        ({}, "Say why the VPN is decommissioned"),
        ({"reason": "bored"}, "Select a valid choice"),
        ({"reason": "other", "message": "  "}, "say which to the customer"),
    ):
        response = ops_client.post(f"/requests/{live.pk}/decommission/", data)
        assert response.status_code == 400
        assert error in response.content.decode()
    live.refresh_from_db()
    assert live.stage == Stage.LIVE
    assert not StageTransition.objects.exists()
    assert not Notification.objects.exists()


def test_decommissioning_records_the_reason_and_emails_the_customer(ops_client, ops):
    live = _live()
    response = ops_client.post(
        f"/requests/{live.pk}/decommission/",
        {"reason": "replaced", "message": "VPN-00099 takes over from Monday."},
        follow=True,
    )
    assert "jo@northwind.example is emailed why" in response.content.decode()
    live.refresh_from_db()
    assert live.stage == Stage.DECOMMISSIONING
    assert live.decommission_reason == DecommissionReason.REPLACED
    transition = live.transitions.get(to_stage=Stage.DECOMMISSIONING)
    assert transition.actor == ops
    assert transition.note == (
        "Reason: Replaced by a new VPN.\nTo the customer: VPN-00099 takes over from Monday."
    )
    # The email waits in the outbox for the commit, then goes to the contact.
    notice = Notification.objects.get(key=f"decommission:{live.pk}")
    assert notice.recipient == "jo@northwind.example"
    assert emails_send() == 1
    (email,) = mail.outbox
    assert email.subject == f"Your site-to-site VPN {live.reference} is being removed"
    assert "because a new VPN replaces it" in email.body
    assert f"{transition.created_at:%-d %B %Y, %H:%M} UTC" in email.body
    assert "VPN-00099 takes over from Monday." in email.body
    assert "Replaced by a new VPN" not in email.body  # the engineer's words stay inside


def test_the_customer_link_says_when_and_why(ops_client):
    live = _live()
    token = intake_link_create(request_id=live.pk, send_email=False).token
    request_decommission_start(
        request_id=live.pk, reason="customer_request", message="As agreed on the phone."
    )
    removed_at = live.transitions.get(to_stage=Stage.DECOMMISSIONING).created_at
    customer = Client()
    html = unescape(customer.get(f"/intake/{token}/").content.decode())
    assert "This VPN is being removed" in html
    assert f"{removed_at:%-d %B %Y, %H:%M} UTC, at your organisation's request." in html
    assert "As agreed on the phone." in html
    gone = customer.get(f"/intake/{token}/pack/pdf/")
    assert gone.status_code == 410
    assert "at your organisation's request" in unescape(gone.content.decode())


def test_a_failed_build_is_abandoned_with_its_reason():
    failed = VpnRequestFactory(stage=Stage.FAILED, failed_stage=Stage.ROUTING)
    request_decommission_start(request_id=failed.pk, reason="build_abandoned")
    failed.refresh_from_db()
    assert failed.stage == Stage.DECOMMISSIONING
    body = Notification.objects.get().body
    assert "because the platform could not finish building it" in body


def test_the_service_refuses_without_a_reason_and_writes_nothing():
    live = _live()
    with pytest.raises(StageMoveError, match="pick a reason"):
        request_decommission_start(request_id=live.pk, reason="")
    with pytest.raises(StageMoveError, match="write the message"):
        request_decommission_start(request_id=live.pk, reason="other")
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    with pytest.raises(StageMoveError, match="only a provisioned or failed request"):
        request_decommission_start(request_id=draft.pk, reason="not_used")
    draft.refresh_from_db()
    assert draft.decommission_reason == ""
    assert not Notification.objects.exists()


def test_the_command_needs_a_reason_and_uses_the_same_service():
    live = _live()
    with pytest.raises(CommandError, match="Say why with --reason"):
        call_command("vpn_decommission", str(live.pk))
    with pytest.raises(CommandError, match="write the message"):
        call_command("vpn_decommission", str(live.pk), "--reason", "other")
    live.refresh_from_db()
    assert live.stage == Stage.LIVE
    call_command(
        "vpn_decommission",
        str(live.pk),
        "--reason",
        "other",
        "--message",
        "Moved to AWS PrivateLink.",
    )
    live.refresh_from_db()
    assert live.stage == Stage.DECOMMISSIONING
    assert live.transitions.get().actor_label == "vpn_decommission"
    assert "Moved to AWS PrivateLink." in Notification.objects.get().body
