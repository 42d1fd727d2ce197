"""Live updates and assistive technology: a poll keeps keyboard focus where it was (a
dashboard link, the request page's "Refresh now", the customer's "30d" link), and a
tunnel going down is announced through a live region that polls never replace.

The polls are driven from the test: the page's automatic poll interval is set to an hour,
and the test asks htmx for the same request the poll would make (same source element, so
the same target, select and out-of-band selects), then waits for htmx:afterSettle.
"""

from urllib.parse import urlsplit

import pytest

from tests.factories import TunnelFactory, VpnRequestFactory
from tests.status_support import bring_live, flip, live_vpn
from vpn.choices import Stage
from vpn.services import intake
from vpn.services.status import status_refresh

NO_AUTOMATIC_POLL = 3600

# One poll of the region `selector`, as its hx-trigger would make it; resolves to true
# once htmx has settled the swapped content, to false at once if the poll failed (an
# error status: nothing is swapped, so nothing would settle).
POLL = """selector => new Promise(resolve => {
  document.addEventListener("htmx:afterSettle", () => resolve(true), {once: true});
  document.addEventListener("htmx:afterRequest", event => {
    if (!event.detail.successful) resolve(false);
  }, {once: true});
  const region = document.querySelector(selector);
  htmx.ajax("GET", region.getAttribute("hx-get"), {source: region});
})"""


@pytest.mark.django_db(transaction=True)
def test_focus_stays_on_a_dashboard_link_across_three_polls(page, live_server, login, se, settings):
    settings.STATUS_PAGE_POLL_SECONDS = NO_AUTOMATIC_POLL
    live = VpnRequestFactory(stage=Stage.LIVE, customer__name="Northwind Traders")
    TunnelFactory(request=live, position=1)
    VpnRequestFactory(stage=Stage.SUBMITTED, customer__name="Litware Labs")
    login(se)

    links = page.locator("#request-table tbody a")
    first_reference, second_reference = links.nth(0).inner_text(), links.nth(1).inner_text()
    links.first.focus()
    for _ in range(3):
        page.evaluate("window.markedLink = document.activeElement")
        assert page.evaluate(POLL, "#request-table") is True
        # The element was replaced by the poll, and focus moved to its fresh copy.
        assert page.evaluate("window.markedLink !== document.activeElement") is True
        assert page.evaluate("document.activeElement.textContent") == first_reference
        assert page.evaluate("document.activeElement.closest('#request-table') !== null")

    page.keyboard.press("Tab")  # the next Tab goes on from the link, not from the top
    assert page.evaluate("document.activeElement.textContent") == second_reference


def _focus_kept_across_three_polls(page, element_id: str, region: str) -> None:
    """Focus the element, poll `region` three times: focus is on its fresh copy each time."""
    page.focus(f"#{element_id}")
    for _ in range(3):
        page.evaluate("window.marked = document.activeElement")
        assert page.evaluate(POLL, region) is True
        # The poll replaced the element, and focus moved to its fresh copy.
        assert page.evaluate("window.marked !== document.activeElement") is True
        assert page.evaluate("document.activeElement.id") == element_id
        assert page.evaluate("document.activeElement.isConnected") is True


@pytest.mark.django_db(transaction=True)
def test_focus_stays_on_refresh_now_on_the_request_page_across_three_polls(
    page, live_server, login, se, aws_sandbox, settings
):
    settings.STATUS_PAGE_POLL_SECONDS = NO_AUTOMATIC_POLL
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, region="eu-west-1"))
    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    assert page.locator("#tunnels-refresh-now").inner_text() == "Refresh now"

    # The button sits in the tunnels card, which the page's poll swaps out of band.
    _focus_kept_across_three_polls(page, "tunnels-refresh-now", "#live-progress")
    assert page.evaluate("document.activeElement.textContent") == "Refresh now"
    page.keyboard.press("Shift+Tab")  # and the keyboard goes on from there
    assert page.evaluate("document.activeElement.closest('#live-tunnels') === null") is True


@pytest.mark.django_db(transaction=True)
def test_focus_stays_on_the_30d_link_on_the_customers_page_across_three_polls(
    page, live_server, se, aws_sandbox, settings
):
    settings.CUSTOMER_PAGE_POLL_SECONDS = NO_AUTOMATIC_POLL
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, region="eu-west-1"))
    link = intake.intake_link_create(request_id=request.pk, send_email=False)
    page.goto(live_server.url + urlsplit(link.url).path)
    assert page.locator("#chart-window-30d").inner_text() == "30d"

    _focus_kept_across_three_polls(page, "chart-window-30d", "#live-status")
    assert page.evaluate("document.activeElement.textContent") == "30d"
    assert page.evaluate("document.activeElement.closest('#live-status') !== null") is True
    page.keyboard.press("Enter")  # still the link: Enter opens the 30 days' timeline
    page.wait_for_url("**chart=30d**")
    assert page.locator("#chart-window-30d").get_attribute("aria-current") == "true"


@pytest.mark.django_db(transaction=True)
def test_a_tunnel_going_down_is_announced_on_the_request_page_and_dashboard(
    page, live_server, login, se, aws_sandbox, settings
):
    settings.STATUS_PAGE_POLL_SECONDS = NO_AUTOMATIC_POLL
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, region="eu-west-1"))
    login(se)
    dashboard = page.context.new_page()
    dashboard.goto(f"{live_server.url}/")
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    assert page.locator("#announce-assertive").inner_text() == ""

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()

    assert page.evaluate(POLL, "#live-progress") is True
    assert page.locator("#announce-assertive").text_content() == "Tunnel 1 is down."
    assert f"{request.reference} is now degraded" in page.locator("#announce-polite").text_content()
    # The regions themselves are the ones the page loaded with: no poll replaces them.
    assert page.locator("#live-progress #announce-assertive").count() == 0

    assert dashboard.evaluate(POLL, "#request-table") is True
    assert (
        dashboard.locator("#announce-assertive").text_content()
        == f"{request.reference}: tunnel 1 is down."
    )
    dashboard.close()
