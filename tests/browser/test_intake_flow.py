"""The whole intake in a real browser: an engineer invites a customer, the customer opens
the link, makes a mistake, reads the message, fixes it and submits; the engineer finds the
request in the review queue and approves it."""

import re

import pytest

from tests.browser.conftest import SCREENSHOTS
from vpn.choices import Stage
from vpn.models import VpnRequest


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_invite_fill_fix_submit_approve(
    page, browser, live_server, login, screenshot, se, settings
):
    settings.PORTAL_BASE_URL = live_server.url
    settings.AWS_SANDBOX = False

    # The engineer invites the customer.
    login(se)
    page.click("text=Invite customer")
    page.wait_for_url(f"{live_server.url}/requests/invite/")
    page.fill("#id_customer_name", "Tailspin Toys")
    page.fill("#id_org_id", "8a2d4c7e-5f31-4b8e-a0c2-9e6f1d3b7a02")
    page.fill("#id_contact_name", "Robin Network")
    page.fill("#id_contact_email", "robin@tailspin.example")
    screenshot("intake-invite")
    page.click("text=Create link and email it")
    page.wait_for_selector("#new-link-url")
    link = page.input_value("#new-link-url")
    assert link.startswith(f"{live_server.url}/intake/")
    screenshot("intake-invite-link")

    # The customer opens the link in a browser of their own, without an account.
    customer = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    customer.goto(link)
    assert customer.locator("h1").inner_text() == "Site-to-site VPN for Tailspin Toys"
    assert customer.locator(".nav").count() == 0
    # Static is not chosen: its subnet field is hidden; BGP shows the ASN.
    customer.check("input[name=routing][value=bgp]")
    assert customer.locator("#row_subnets").is_hidden()
    assert customer.locator("#row_asn").is_visible()
    customer.fill("#id_location_city", "Manchester")
    customer.fill("#id_location_country", "United Kingdom")
    customer.fill("#id_gateway_ip", "10.1.2.3")  # the device's inside address: a mistake
    customer.select_option("#id_device", "strongswan")
    customer.fill("#id_asn", "65010")
    customer.fill("#id_advertised_prefixes", "10.40.0.0/16")
    shot(customer, "intake-form")
    customer.click("button[value=submit]")

    error = customer.locator("#row_gateway_ip .errorlist")
    error.wait_for()
    assert "10.1.2.3 is a private address" in error.inner_text()
    assert customer.locator("#row_gateway_ip.has-error").count() == 1
    assert VpnRequest.objects.get().stage == Stage.DRAFT
    customer.locator("#row_gateway_ip").scroll_into_view_if_needed()
    shot(customer, "intake-form-error")

    customer.fill("#id_gateway_ip", "52.94.12.7")
    customer.click("button[value=submit]")
    customer.locator("text=What happens now").wait_for()
    assert customer.locator(".steps li").count() == 5
    assert "52.94.12.7" in customer.content()
    shot(customer, "intake-status")

    request = VpnRequest.objects.get()
    assert request.stage == Stage.SUBMITTED
    assert request.region == "eu-west-2"

    # The engineer reviews and approves.
    page.goto(f"{live_server.url}/")
    page.click("nav >> text=Review queue")
    page.click(f"text={request.reference}")
    page.wait_for_url(f"{live_server.url}/requests/{request.pk}/")
    assert "Nearest to Manchester, United Kingdom" in page.content()
    screenshot("intake-review")
    page.click("button:has-text('Approve')")
    page.locator(".messages .success").wait_for()
    assert page.locator(".page-head .badge").inner_text() == "Approved"
    screenshot("intake-approved")

    request.refresh_from_db()
    assert request.stage == Stage.APPROVED
    assert request.transitions.count() == 2


@pytest.mark.django_db(transaction=True)
def test_engineer_creates_a_static_request_after_a_mistake(
    page, live_server, login, screenshot, se, settings
):
    settings.AWS_SANDBOX = False
    login(se)
    page.click("text=New request")
    page.wait_for_url(f"{live_server.url}/requests/new/")
    page.fill("#id_customer_name", "Fabrikam Health")
    page.fill("#id_org_id", "C91E7B24-6A0D-4F5C-8B13-2D7E9A4C6F03")
    page.fill("#id_contact_email", "noc@fabrikam.example")
    page.select_option("#id_region", "eu-central-1")
    page.fill("#id_gateway_ip", "52.94.20.1")
    page.check("input[name=routing][value=static]")
    assert page.locator("#row_asn").is_hidden()
    page.fill("#id_subnets", "10.60.0.0/16\n10.61.4.7/24")
    page.click("button[value=submit]")

    error = page.locator("#row_subnets .errorlist")
    error.wait_for()
    assert "10.61.4.7/24 has host bits set; did you mean 10.61.4.0/24?" in error.inner_text()
    assert not VpnRequest.objects.exists()
    screenshot("request-form-error")

    page.fill("#id_subnets", "10.60.0.0/16\n10.61.4.0/24")
    page.click("button[value=submit]")
    page.locator(".messages .success").wait_for()
    request = VpnRequest.objects.get()
    assert request.stage == Stage.SUBMITTED
    assert request.customer.org_id == "c91e7b24-6a0d-4f5c-8b13-2d7e9a4c6f03"
    assert request.static_subnets == ["10.60.0.0/16", "10.61.4.0/24"]


@pytest.mark.django_db(transaction=True)
def test_send_back_reaches_the_customer(
    page, browser, live_server, login, screenshot, se, settings
):
    from django.core import mail

    from tests.factories import VpnRequestFactory

    settings.PORTAL_BASE_URL = live_server.url
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7", customer__name="Adatum Bank"
    )
    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    page.click("summary:has-text('Send back')")
    page.fill("#id_message", "Please list the prefixes you will advertise, so we can avoid them.")
    screenshot("intake-send-back")
    page.click("text=Send back to the customer")
    page.locator(".messages .success").wait_for()
    assert page.locator(".page-head .badge").inner_text() == "Changes requested"

    link = re.search(r"http\S+/intake/\S+/", mail.outbox[-1].body).group(0)
    customer = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    customer.goto(link)
    assert "Please list the prefixes you will advertise" in customer.locator(".alert").inner_text()
    shot(customer, "intake-changes-requested")
