"""Live updates and assistive technology: a poll keeps keyboard focus where it was, and a
tunnel going down is announced through a live region that polls never replace.

The polls are driven from the test: the page's automatic poll interval is set to an hour,
and the test asks htmx for the same request the poll would make (same source element, so
the same target, select and out-of-band selects), then waits for htmx:afterSettle.
"""

import pytest

from tests.factories import TunnelFactory, VpnRequestFactory
from tests.status_support import bring_live, flip, live_vpn
from vpn.choices import Stage
from vpn.services.status import status_refresh

NO_AUTOMATIC_POLL = 3600

# One poll of the region `selector`, as its hx-trigger would make it; resolves once htmx
# has settled the swapped content.
POLL = """selector => new Promise(resolve => {
  document.addEventListener("htmx:afterSettle", () => resolve(true), {once: true});
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
