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


# The search box's placeholder, typed into it: it fits when the text does not scroll.
# (An input's scrollWidth leaves its placeholder out; its value counts.)
PLACEHOLDER_FITS = """e => {
    const typed = e.value;
    e.value = e.placeholder;
    const fits = e.scrollWidth <= e.clientWidth;
    e.value = typed;
    return fits;
}"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1366])
def test_the_search_placeholder_is_not_cut_off(page, live_server, login, se, width):
    VpnRequestFactory(stage=Stage.LIVE, customer__name="Northwind Traders")
    page.set_viewport_size({"width": width, "height": 900})
    login(se)
    search = page.locator("input[name=q]")
    assert search.get_attribute("placeholder")
    assert search.evaluate(PLACEHOLDER_FITS)


ARROW = "e => getComputedStyle(e, '::after').content"


@pytest.mark.django_db(transaction=True)
def test_the_updated_header_reads_latest_first_with_a_downward_arrow(page, live_server, login, se):
    VpnRequestFactory(stage=Stage.LIVE, customer__name="Northwind Traders")
    VpnRequestFactory(stage=Stage.SUBMITTED, customer__name="Litware Labs")
    page.set_viewport_size({"width": 1366, "height": 900})
    login(se)
    header = page.locator("th:has(#sort-updated)")
    assert header.get_attribute("aria-sort") == "descending"
    link = page.locator("#sort-updated")
    # The arrow points down; its name is not read out, the words are.
    assert "▼" in link.evaluate(ARROW)
    assert page.get_by_role("link", name="Updated (sorted latest first)", exact=True).count() == 1
    assert link.get_attribute("title") == "Order by updated: earliest first"
    assert page.locator("th[aria-sort]").count() == 1

    link.click()
    page.wait_for_url("**/?sort=-updated")
    header = page.locator("th:has(#sort-updated)")
    assert header.get_attribute("aria-sort") == "ascending"
    assert "▲" in page.locator("#sort-updated").evaluate(ARROW)
    assert page.get_by_role("link", name="Updated (sorted earliest first)", exact=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_next_page_keeps_the_order_and_its_poll_asks_for_it(page, live_server, login, se):
    for index in range(30):
        VpnRequestFactory(stage=Stage.LIVE, customer__name=f"Customer {index:02d}")
    page.set_viewport_size({"width": 1366, "height": 900})
    login(se)
    page.click("#sort-customer")
    page.wait_for_url("**/?sort=customer")
    assert "1\N{EN DASH}25 of 30 · page 1 of 2" in page.locator(".pagination").inner_text()
    page.click("text=Next \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}")
    page.wait_for_url("**/?sort=customer&page=2")
    assert "26\N{EN DASH}30 of 30 · page 2 of 2" in page.locator(".pagination").inner_text()
    names = page.locator("tbody td[data-label=Customer]").all_inner_texts()
    assert [name.split()[1] for name in names] == ["25", "26", "27", "28", "29"]
    assert page.locator("#request-table").get_attribute("hx-get") == "/?sort=customer&page=2"
