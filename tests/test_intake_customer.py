"""The customer's side: a clean form with help on every field, drafts saved and resumed,
submission through the stage service, then a read-only status page."""

import re

import pytest
from django.test import Client

from tests.intake_data import FORM_BGP, FORM_STATIC, customer_form, draft_with_link
from vpn.choices import Stage
from vpn.models import StageTransition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def test_the_form_explains_every_field_and_has_no_staff_navigation():
    request, token = draft_with_link()
    html = Client().get(f"/intake/{token}/").content.decode()

    assert request.customer.name in html
    assert 'class="nav"' not in html and "Log out" not in html
    helps = re.findall(r'<div class="help" id="id_(\w+)_helptext">(.*?)</div>', html, re.S)
    assert {name for name, _ in helps} == {
        "region", "location_city", "location_country", "gateway_ip", "device", "routing",
        "subnets", "asn", "advertised_prefixes", "ike_version", "tunnels", "nat",
    }  # fmt: skip
    for name, text in helps:
        assert "xample" in text, name  # what it is, an example, why


def test_the_form_mirrors_cheap_rules_in_html():
    _, token = draft_with_link()
    html = Client().get(f"/intake/{token}/").content.decode()
    gateway = re.search(r"<input[^>]*name=\"gateway_ip\"[^>]*>", html).group(0)
    assert "required" in gateway and "pattern=" in gateway
    asn = re.search(r"<input[^>]*name=\"asn\"[^>]*>", html).group(0)
    assert 'type="number"' in asn and 'min="1"' in asn and 'max="4294967295"' in asn
    assert "formnovalidate" in html  # a draft may be incomplete
    assert 'data-routing="static"' in html and 'data-routing="bgp"' in html
    assert "/static/js/intake.js" in html
    assert "csrfmiddlewaretoken" in html


def test_a_draft_is_saved_and_resumed():
    request, token = draft_with_link()
    client = Client()
    data = {**customer_form(FORM_STATIC), "gateway_ip": "", "action": "draft"}

    response = client.post(f"/intake/{token}/", data)

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.DRAFT
    assert request.static_subnets == ["10.20.0.0/16", "10.30.1.0/24"]
    html = client.get(f"/intake/{token}/").content.decode()
    assert "Draft saved" in html
    assert "10.20.0.0/16\n10.30.1.0/24</textarea>" in html


def test_a_draft_with_a_wrong_value_stores_nothing():
    request, token = draft_with_link()
    data = {**customer_form(FORM_BGP), "gateway_ip": "10.9.9.9", "action": "draft"}
    response = Client().post(f"/intake/{token}/", data)
    assert response.status_code == 200
    assert "is a private address" in response.content.decode()
    request.refresh_from_db()
    assert request.customer_gateway_ip is None and request.bgp_asn is None


def test_submitting_needs_every_required_answer():
    request, token = draft_with_link()
    response = Client().post(f"/intake/{token}/", {"routing": "bgp", "action": "submit"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Give the public IPv4 address" in html
    assert "BGP needs the ASN of your side" in html
    request.refresh_from_db()
    assert request.stage == Stage.DRAFT


def test_submit_moves_the_request_and_then_shows_its_status():
    request, token = draft_with_link()
    client = Client()

    response = client.post(f"/intake/{token}/", {**customer_form(FORM_BGP), "action": "submit"})

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.stage == Stage.SUBMITTED
    transition = StageTransition.objects.get()
    assert (transition.from_stage, transition.to_stage) == (Stage.DRAFT, Stage.SUBMITTED)
    assert transition.actor is None and transition.actor_label == "customer"

    html = client.get(f"/intake/{token}/").content.decode()
    assert "What happens now" in html
    assert html.count('<span class="num">Step') == 5
    assert 'id="live-tunnels"' in html and 'id="config-pack"' in html
    # Read-only, but for taking the answers back before the review.
    assert html.split("</header>", 1)[1].count("<form") == 1
    assert 'name="action" value="reopen"' in html
    assert "52.94.12.7" in html


def test_posting_after_submission_changes_nothing():
    request, token = draft_with_link()
    client = Client()
    client.post(f"/intake/{token}/", {**customer_form(FORM_BGP), "action": "submit"})

    data = {**customer_form(FORM_BGP), "gateway_ip": "52.94.99.99", "action": "submit"}
    response = client.post(f"/intake/{token}/", data, follow=True)

    request.refresh_from_db()
    assert request.customer_gateway_ip == "52.94.12.7"
    assert StageTransition.objects.count() == 1
    assert "already submitted" in response.content.decode()


@pytest.mark.parametrize(
    ("stage", "text"),
    [
        (Stage.APPROVED, "Your request is approved"),
        (Stage.LIVE, "Your VPN is live"),
        (Stage.CANCELLED, "This request was cancelled"),
    ],
)
def test_status_page_follows_the_stage(stage, text):
    _, token = draft_with_link(stage=stage)
    assert text in Client().get(f"/intake/{token}/").content.decode()
