"""The everyday pages in a real browser: the dashboard at a desktop's width and at a
phone's (390 px, without sideways scrolling), sorted from its headers, and the page a
customer's link shows once their VPN was removed, saying when and why."""

import pytest

from tests.browser.test_dashboard import PLACEHOLDER_FITS
from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.services.intake import intake_link_create
from vpn.services.stages import request_decommission_start


def _requests(owner):
    """A dashboard's worth of requests in different stages, one of them removed."""
    for index, (name, stage) in enumerate(
        [
            ("Northwind Traders International", Stage.LIVE),
            ("Contoso Pharmaceuticals", Stage.DEGRADED),
            ("Litware Labs", Stage.SUBMITTED),
            ("Fabrikam Manufacturing", Stage.DECOMMISSIONED),
            ("Tailspin Toys", Stage.DOWN),
        ]
    ):
        request = VpnRequestFactory(
            stage=stage,
            owner=owner,
            customer=CustomerFactory(name=name),
            customer_gateway_ip=f"81.2.69.{140 + index}",
        )
        if stage != Stage.SUBMITTED:
            TunnelFactory(request=request, position=1, status="UP" if index < 2 else "DOWN")
            TunnelFactory(request=request, position=2, status="DOWN")


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_at_1366_and_at_390_pixels(page, live_server, login, screenshot, se):
    _requests(se)
    page.set_viewport_size({"width": 1366, "height": 900})
    login(se)
    assert page.locator("tbody tr").count() == 5
    # A removed VPN shows no tunnel marks; the others do.
    removed = page.locator("tbody tr", has_text="Fabrikam")
    assert removed.locator(".mark").count() == 0
    placeholder = page.locator("input[name=q]")
    assert placeholder.evaluate(PLACEHOLDER_FITS)  # not cut off
    screenshot("dashboard-1366")

    page.click("thead >> text=Customer")
    page.wait_for_url("**/?sort=customer")
    first = page.locator("tbody tr").first.inner_text()
    assert "Contoso" in first
    page.click("thead >> text=Customer")
    page.wait_for_url("**/?sort=-customer")
    assert "Tailspin" in page.locator("tbody tr").first.inner_text()

    page.fill("input[name=q]", "81.2.69.14")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**q=81.2.69.14**")
    assert page.locator("tbody tr").count() == 5
    assert "sort=-customer" in page.url  # the order is kept while filtering

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert page.locator("thead").is_hidden()  # rows become cards
    assert page.locator("tbody tr").first.locator("td[data-label=Stage]").is_visible()
    screenshot("dashboard-390")


@pytest.mark.django_db(transaction=True)
def test_the_customer_sees_when_and_why_their_vpn_was_removed(page, live_server, screenshot):
    vpn_request = VpnRequestFactory(
        stage=Stage.LIVE,
        customer__name="Northwind Traders",
        customer__contact_email="jo@northwind.example",
    )
    token = intake_link_create(request_id=vpn_request.pk, send_email=False).token
    request_decommission_start(
        request_id=vpn_request.pk,
        reason="replaced",
        message="VPN-00099 takes over: its link is on its way to you.",
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/intake/{token}/")
    notice = page.locator("#vpn-removed")
    assert "This VPN is being removed" in notice.inner_text()
    assert "because a new VPN replaces it" in notice.inner_text()
    assert "VPN-00099 takes over" in notice.inner_text()
    assert page.locator("#config-pack").count() == 0
    screenshot("customer-removed-vpn")
