"""The admin as Ops see it on a 1366 by 768 screen: the request list fits beside the
navigation and the filters, the change page reads well, and the RQ dashboard's pages run
without a script error. Screenshots go to test-artifacts/screenshots/admin-*.png."""

import pytest
from rq import Queue

from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import Routing, Stage

WIDTH, HEIGHT = 1366, 768

CUSTOMERS = (
    "Northwind Traders International",
    "Litware Laboratories",
    "Contoso Pharmaceuticals (EMEA)",
    "Fabrikam Logistics",
    "Wide World Importers",
    "Tailspin Toys",
)
STAGES = (
    (Stage.LIVE, "eu-west-2"),
    (Stage.SUBMITTED, "us-east-1"),
    (Stage.VPN_GATEWAY, "ap-southeast-2"),
    (Stage.FAILED, "eu-central-1"),
    (Stage.AWAITING_CUSTOMER, "ca-central-1"),
    (Stage.CHANGES_REQUESTED, "ap-northeast-1"),
    (Stage.DEGRADED, "sa-east-1"),
    (Stage.DRAFT, ""),
    (Stage.NAT, "me-central-1"),
    (Stage.DECOMMISSIONED, "eu-west-1"),
)


@pytest.fixture
def requests_to_list(ops):
    """Requests in many stages and regions, for several customers."""
    made = []
    for index, (stage, region) in enumerate(STAGES):
        made.append(
            VpnRequestFactory(
                customer=CustomerFactory(name=CUSTOMERS[index % len(CUSTOMERS)]),
                owner=ops,
                stage=stage,
                region=region,
                customer_gateway_ip=f"52.94.12.{index + 1}",
                failed_stage=Stage.ROUTING if stage == Stage.FAILED else "",
                failure_message="The VPN gateway did not attach" if stage == Stage.FAILED else "",
            )
        )
    return made


@pytest.fixture
def console_errors(page):
    """Every console error and uncaught exception of the pages opened from now on."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _open(page, url: str, console_errors: list[str]) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert console_errors == [], (url, console_errors)


@pytest.mark.django_db(transaction=True)
def test_the_request_list_and_change_page_fit_a_1366_screen(
    page, live_server, login, screenshot, ops, requests_to_list
):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    login(ops)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))

    _open(page, f"{live_server.url}/admin/vpn/vpnrequest/", errors)
    screenshot("admin-request-list")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # The table is not clipped inside its box (which would scroll it sideways)...
    assert page.evaluate(
        "(() => { const box = document.querySelector('#changelist .results');"
        " return box.scrollWidth <= box.clientWidth; })()"
    )
    # ...and the stage column ends before the filters begin.
    stage_right = page.evaluate(
        "document.querySelector('#result_list th.column-stage_badge').getBoundingClientRect().right"
    )
    filters_left = page.evaluate(
        "document.querySelector('#changelist-filter').getBoundingClientRect().left"
    )
    assert stage_right <= filters_left
    assert page.locator("#result_list tbody tr").count() == len(STAGES)
    assert page.locator("#result_list .stage-badge", has_text="Failed").is_visible()

    editable = next(r for r in requests_to_list if r.stage == Stage.CHANGES_REQUESTED)
    _open(page, f"{live_server.url}/admin/vpn/vpnrequest/{editable.pk}/change/", errors)
    assert page.locator("textarea[name=advertised_prefixes]").input_value() == "10.20.0.0/16"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot("admin-request-change")

    failed = next(r for r in requests_to_list if r.stage == Stage.FAILED)
    _open(page, f"{live_server.url}/admin/vpn/vpnrequest/{failed.pk}/change/", errors)
    assert page.locator("input[name=customer_gateway_ip]").count() == 0
    assert page.get_by_text("The VPN gateway did not attach").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot("admin-request-view")

    _open(page, f"{live_server.url}/admin/", errors)
    # Ops may use the RQ dashboard, so the index links to it.
    assert page.locator("#content-main a[href='/admin/django_rq/dashboard/']").count() >= 1
    screenshot("admin-index")


@pytest.mark.django_db(transaction=True)
def test_the_rq_pages_run_without_script_errors(
    page, live_server, login, screenshot, ops, rq_queue
):
    request = VpnRequestFactory(stage=Stage.LIVE, routing=Routing.BGP)
    TunnelFactory(request=request)
    queue = Queue(rq_queue.name, connection=rq_queue.connection)
    jobs = [queue.enqueue("vpn.jobs.transition_notify", number) for number in (1, 2, 3)]

    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    login(ops)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))

    dashboard = f"{live_server.url}/admin/django_rq/dashboard/"
    _open(page, dashboard, errors)
    screenshot("admin-rq-dashboard")
    _open(page, f"{dashboard}queues/0/details/", errors)
    screenshot("admin-rq-queue")
    for registry in ("finished", "failed", "scheduled", "started", "deferred"):
        _open(page, f"{dashboard}queues/0/{registry}/", errors)
    _open(page, f"{dashboard}workers/0/", errors)

    _open(page, f"{dashboard}queues/0/", errors)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == len(jobs)
    # Selecting works: all at once, then one row less.
    page.check("#action-toggle")
    assert page.locator("#result_list tbody tr.selected").count() == len(jobs)
    page.locator("#result_list tbody input.action-select").first.uncheck()
    assert not page.is_checked("#action-toggle")
    assert page.locator("#result_list tbody tr.selected").count() == len(jobs) - 1
    screenshot("admin-rq-jobs")
    assert errors == []
