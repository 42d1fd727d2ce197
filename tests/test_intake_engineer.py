"""The engineer's side of intake: a complete request submitted or saved as a draft, and
an invitation that emails the customer's contact a link and shows it for copying."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import CustomerFactory
from tests.intake_data import FORM_BGP, FORM_STATIC, ORG_ID
from vpn.choices import Stage
from vpn.models import Customer, IntakeLink, StageTransition, VpnRequest

pytestmark = pytest.mark.django_db

INVITE = {
    "customer_name": "Litware Labs",
    "org_id": ORG_ID,
    "contact_name": "Kai Network",
    "contact_email": "kai@litware.example",
}


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def test_dashboard_offers_new_request_and_invite(se_client):
    html = se_client.get("/").content.decode()
    assert 'href="/requests/new/"' in html
    assert 'href="/requests/invite/"' in html


def test_engineer_submits_a_complete_request(se_client, se):
    response = se_client.post("/requests/new/", {**FORM_STATIC, "nat": "on", "action": "submit"})

    request = VpnRequest.objects.get()
    assert response.url == f"/requests/{request.pk}/"
    assert request.stage == Stage.SUBMITTED
    assert request.owner == se
    assert request.static_subnets == ["10.20.0.0/16", "10.30.1.0/24"]
    assert request.customer_gateway_ip == "52.94.12.7"
    assert request.nat_wanted is True
    assert request.device_vendor == "strongswan"
    assert request.bgp_asn is None
    transition = StageTransition.objects.get()
    assert (transition.from_stage, transition.to_stage, transition.actor) == (
        Stage.DRAFT,
        Stage.SUBMITTED,
        se,
    )
    assert "is in the review queue" in se_client.get(response.url).content.decode()


def test_submitting_ones_own_request_emails_nobody(
    se_client, se, run_jobs, django_capture_on_commit_callbacks
):
    # The issue made this the rule: no "ready for review" email for one's own submission
    # (tests/test_engineer_emails.py has the customer's and a colleague's).
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        se_client.post("/requests/new/", {**FORM_BGP, "action": "submit"})
    assert run_jobs() == 0
    assert mail.outbox == []


def test_engineer_saves_an_incomplete_draft_then_submits_it(se_client):
    data = {**FORM_BGP, "gateway_ip": "", "asn": "", "action": "draft"}
    response = se_client.post("/requests/new/", data)

    request = VpnRequest.objects.get()
    assert response.status_code == 302
    assert request.stage == Stage.DRAFT
    assert request.customer_gateway_ip is None
    assert not StageTransition.objects.exists()

    # Submitting needs what is missing.
    response = se_client.post(f"/requests/{request.pk}/edit/", {**data, "action": "submit"})
    assert response.status_code == 200
    assert "Give the public IPv4 address of the VPN device" in response.content.decode()

    response = se_client.post(f"/requests/{request.pk}/edit/", {**FORM_BGP, "action": "submit"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED


def test_a_draft_never_stores_an_invalid_value(se_client):
    response = se_client.post(
        "/requests/new/", {**FORM_BGP, "asn": "99999999999", "action": "draft"}
    )
    assert response.status_code == 200
    assert not VpnRequest.objects.exists()


def test_an_existing_org_reuses_its_customer_and_updates_it(se_client):
    customer = CustomerFactory(org_id=ORG_ID, name="Old Name", contact_email="old@example.com")
    data = {**FORM_BGP, "org_id": ORG_ID.upper(), "action": "submit"}

    se_client.post("/requests/new/", data)

    assert Customer.objects.count() == 1
    customer.refresh_from_db()
    assert VpnRequest.objects.get().customer == customer
    assert customer.name == FORM_BGP["customer_name"]
    assert customer.contact_email == FORM_BGP["contact_email"]


def test_invite_emails_the_link_and_shows_it_for_copying(se_client, se):
    mail.outbox.clear()
    response = se_client.post("/requests/invite/", INVITE)

    request = VpnRequest.objects.get()
    assert response.url == f"/requests/{request.pk}/"
    assert request.stage == Stage.DRAFT
    assert request.owner == se
    link = IntakeLink.objects.get(request=request)
    assert link.created_by == se

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["kai@litware.example"]
    assert "Litware Labs" in email.subject
    url = re.search(r"http\S+/intake/[A-Za-z0-9_-]{43}/", email.body).group(0)

    html = se_client.get(response.url).content.decode()
    assert f'value="{url}"' in html
    assert "Emailed to <strong>kai@litware.example</strong>" in html
    assert Client().get(url.split("8000", 1)[-1]).status_code == 200


def test_invite_checks_its_fields(se_client):
    response = se_client.post("/requests/invite/", {**INVITE, "org_id": "litware"})
    assert response.status_code == 200
    assert "is not a platform org ID" in response.content.decode()
    assert not VpnRequest.objects.exists()
    assert not IntakeLink.objects.exists()


def test_invite_works_when_email_cannot_be_sent(se_client, settings):
    settings.EMAIL_BACKEND = "tests.test_intake_engineer.BrokenEmail"
    response = se_client.post("/requests/invite/", INVITE, follow=True)
    html = response.content.decode()
    assert "<strong>Not emailed</strong>" in html
    assert re.search(r'value="http[^"]+/intake/', html)


class BrokenEmail:
    """An email backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def _summary(html: str) -> str:
    """The request page's list of the intake's answers."""
    lists = re.findall(r'<dl class="fields">(.*?)</dl>', html, re.DOTALL)
    (answers,) = [fields for fields in lists if "<dt>Routing</dt>" in fields]
    return answers


def _routing_radios(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="routing"[^>]*>', html)


def test_an_unanswered_invitation_shows_routing_and_region_as_not_chosen_yet(se_client):
    mail.outbox.clear()
    se_client.post("/requests/invite/", INVITE)
    request = VpnRequest.objects.get()
    link = re.search(r"/intake/[A-Za-z0-9_-]{43}/", mail.outbox[0].body).group(0)
    assert (request.routing, request.region) == ("", "")

    # The request page names no routing nobody chose, nor a region.
    summary = _summary(se_client.get(f"/requests/{request.pk}/").content.decode())
    not_chosen = '<dd><span class="muted">not chosen yet</span>'
    assert f"<dt>Routing</dt>{not_chosen}" in summary
    assert f"<dt>AWS region</dt>{not_chosen}" in summary
    assert "Dynamic (BGP)" not in summary and "Static" not in summary
    assert "not given yet" in summary  # the customer gateway

    # Neither the engineer's edit form, the admin's nor the customer's picks one for them.
    edit = se_client.get(f"/requests/{request.pk}/edit/").content.decode()
    admin_form = se_client.get(f"/admin/vpn/vpnrequest/{request.pk}/change/").content.decode()
    customer = Client().get(link).content.decode()
    for html in (edit, admin_form, customer):
        radios = _routing_radios(html)
        assert len(radios) == 2 and not any("checked" in radio for radio in radios)

    # The admin's list says so too, rather than a dash.
    listing = se_client.get("/admin/vpn/vpnrequest/").content.decode()
    assert "not chosen yet" in listing
