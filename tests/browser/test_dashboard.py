"""A solutions engineer logs in through the real login page and sees the dashboard."""

import pytest

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage


@pytest.mark.django_db(transaction=True)
def test_login_shows_the_dashboard_with_requests(page, live_server, login, screenshot, se):
    live = VpnRequestFactory(stage=Stage.LIVE, customer__name="Northwind Traders")
    TunnelFactory(request=live, position=1)
    TunnelFactory(request=live, position=2)
    VpnRequestFactory(stage=Stage.SUBMITTED, customer__name="Litware Labs")

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url

    login(se)
    assert page.locator("h1").inner_text() == "VPN requests"
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert page.get_by_text("Northwind Traders").is_visible()
    assert page.locator("tbody .badge", has_text="Live").is_visible()
    assert page.locator("tbody .mark.green").count() == 2
    screenshot("dashboard")

    page.click(f"text={live.reference}")
    page.wait_for_url(f"{live_server.url}/requests/{live.pk}/")
    assert page.locator(".steps li.done").count() == 4  # NAT not wanted: skipped
    screenshot("request-detail")
