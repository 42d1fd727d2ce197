"""Live pages: what someone does on one page shows on the other's open page, without a
reload, in stages where no job runs (waiting for the customer, awaiting review).

The engineer's and the customer's pages are open in two browsers at once; each acts on
its own page as a person would (a click on the real button), and the other page is
waited on with Playwright's `expect`, generously, never a fixed sleep.
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.models import VpnRequest
from vpn.services import intake

POLL_SECONDS = 1
WAIT_MS = 20_000


@pytest.fixture
def quick_polls(settings):
    """Both pages poll every second (the tests wait on them, not on the defaults)."""
    settings.STATUS_PAGE_POLL_SECONDS = POLL_SECONDS
    settings.CUSTOMER_PAGE_POLL_SECONDS = POLL_SECONDS


def _customer_page(browser, live_server, request):
    """The customer's link, opened in a browser of its own (no staff session)."""
    url = intake.intake_link_create(request_id=request.pk, send_email=False).url
    page = browser.new_page()
    page.goto(live_server.url + urlsplit(url).path)
    return page


@pytest.mark.django_db(transaction=True)
def test_engineer_page_shows_the_customers_confirmation_without_a_reload(
    page, live_server, login, screenshot, se, browser, rq_queue, quick_polls
):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER, owner=se)
    for position in (1, 2):
        TunnelFactory(request=request, position=position, status="DOWN")

    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    customer_side = page.locator("#live-customer")
    expect(customer_side).to_contain_text("not confirmed yet")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    customer = _customer_page(browser, live_server, request)
    customer.get_by_role("button", name="Our side is configured").click()
    expect(customer.locator(".messages")).to_contain_text("your engineer has been told")

    expect(customer_side).to_contain_text("Configured, confirmed", timeout=WAIT_MS)
    expect(page.locator("#live-activity")).to_contain_text(
        "Customer confirmed their side is configured", timeout=WAIT_MS
    )
    assert page.evaluate("window.loadedOnce") is True
    assert VpnRequest.objects.get(pk=request.pk).customer_confirmed_at is not None
    screenshot("live-customer-confirmed")
    customer.close()


@pytest.mark.django_db(transaction=True)
def test_customer_page_follows_the_review_without_a_reload(
    page, live_server, login, screenshot, se, browser, rq_queue, quick_polls
):
    # A public gateway address: approval checks the intake against AWS's rules again.
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED, owner=se, region="us-east-1", customer_gateway_ip="52.94.12.7"
    )
    customer = _customer_page(browser, live_server, request)
    stage_badge = customer.locator(".page-head .badge").first
    expect(stage_badge).to_have_text("Awaiting review")
    expect(customer.locator(".status-next")).to_contain_text("reviews them next")
    customer.evaluate("window.loadedOnce = true")

    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#live-stage .badge").first).to_have_text("Approved")

    # The approval queued the first setup step (no worker runs here): the customer's
    # page shows it approved, and the five steps about to run.
    expect(stage_badge).to_have_text("Approved", timeout=WAIT_MS)
    expect(customer.locator(".status-next")).to_contain_text(
        "Your request is approved", timeout=WAIT_MS
    )
    assert customer.evaluate("window.loadedOnce") is True
    assert VpnRequest.objects.get(pk=request.pk).stage == Stage.APPROVED
    screenshot("live-review-approved")
    customer.screenshot(path=str(SCREENSHOTS / "live-review-approved-customer.png"), full_page=True)
    customer.close()
