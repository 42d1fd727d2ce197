"""A DOWN tunnel's diagnosis and log events in the browser: the engineer's request page
names the cause and the fix and lists the tunnel's log events (filtered by tunnel and
kind through the panel's own form), and the customer's link says the same in their terms.
Screenshots of each go to test-artifacts/screenshots/."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.status_support import flip, inject, live_vpn
from vpn.diagnosis import CAUSES_BY_KEY
from vpn.services import intake
from vpn.services.status import status_refresh

PSK = CAUSES_BY_KEY["psk_mismatch"]


@pytest.mark.django_db(transaction=True)
def test_a_down_tunnels_diagnosis_and_log_events(
    page, live_server, login, screenshot, se, aws_sandbox, browser
):
    request = live_vpn(aws_sandbox, owner=se, region="eu-west-1", as_provisioned=True)
    status_refresh()
    for position in (1, 2):
        flip(aws_sandbox, request, position, "UP", accepted_route_count=3)
    status_refresh()
    inject(aws_sandbox, request, 1, "psk_mismatch")
    status_refresh()

    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    diagnosis = page.locator('#tunnel-diagnosis .diagnosis[data-tunnel="1"]')
    expect(diagnosis).to_have_attribute("data-cause", "psk_mismatch")
    expect(diagnosis).to_contain_text(PSK.title)
    expect(diagnosis).to_contain_text(PSK.fix_engineer)
    expect(diagnosis.locator(".diagnosis-evidence")).to_contain_text("AUTHENTICATION_FAILED")
    logs = page.locator("#tunnel-logs tr.log-line")
    expect(logs.first).to_contain_text("AUTHENTICATION_FAILED")
    expect(page.locator('#tunnel-logs tr.log-line[data-kind="BGP"]').first).to_be_visible()
    page.locator("#tunnel-diagnosis").scroll_into_view_if_needed()
    screenshot("tunnel-diagnosis-engineer")

    # The panel's filters: tunnel 1's IKE events only.
    page.select_option('#tunnel-logs select[name="log_tunnel"]', "1")
    page.select_option('#tunnel-logs select[name="log_kind"]', "IKE")
    page.click('#tunnel-logs button[type="submit"]')
    page.wait_for_url("**log_tunnel=1**")
    expect(logs.first).to_contain_text("AUTHENTICATION_FAILED")
    expect(page.locator('#tunnel-logs tr.log-line[data-kind="BGP"]')).to_have_count(0)
    expect(page.locator('#tunnel-logs tr.log-line[data-tunnel="2"]')).to_have_count(0)
    page.locator("#tunnel-logs").scroll_into_view_if_needed()
    screenshot("tunnel-logs-filtered")

    customer_url = intake.intake_link_create(request_id=request.pk, created_by=se).url
    customer = browser.new_page()  # the customer: no login, just the link
    customer.goto(live_server.url + urlsplit(customer_url).path)
    told = customer.locator('#tunnel-diagnosis .diagnosis[data-tunnel="1"]')
    expect(told).to_contain_text(PSK.cause_customer)
    expect(told).to_contain_text(PSK.fix_customer)
    expect(customer.locator("#tunnel-logs")).to_have_count(0)
    expect(customer.locator(".diagnosis-evidence")).to_have_count(0)
    customer.locator("#tunnel-diagnosis").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    customer.screenshot(path=str(SCREENSHOTS / "tunnel-diagnosis-customer.png"), full_page=True)
