"""Tunnel status live: with the request page, the dashboard and the customer's link open, a
tunnel set DOWN in the sandbox shows as DOWN after one refresh interval, without a reload.

The refresh runs as in production: RQ's cron scheduler loaded from `vpn.cron` enqueues
the job every `STATUS_REFRESH_SECONDS`, and a real RQ worker runs it against the sandbox.
Both are ticked from the test's thread (the scheduler's own loop would sleep there), and
the test moves the scheduler's clock by one interval rather than waiting for it.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django_rq.cron import DjangoCronScheduler
from playwright.sync_api import expect
from rq.utils import now

from tests.browser.conftest import SCREENSHOTS
from tests.status_support import bring_live, flip, live_vpn
from vpn.choices import Stage
from vpn.models import StatusRefresh
from vpn.services import intake

REFRESH_SECONDS = 4
POLL_SECONDS = 1
# How long a page may take to poll and show a change: a guard against one that never
# does, however slow the machine, not a measure of speed.
SHOWN_WITHIN = 60_000
_TUNNEL_1_STATUS = '#live-tunnels tr[data-tunnel="1"] .tunnel-status'
RED, GREEN = re.compile(r"\bred\b"), re.compile(r"\bgreen\b")


@pytest.mark.django_db(transaction=True)
def test_a_tunnel_going_down_shows_on_the_open_pages_within_one_refresh(
    page, live_server, login, screenshot, se, aws_sandbox, run_jobs, settings, browser
):
    settings.STATUS_REFRESH_SECONDS = REFRESH_SECONDS
    settings.STATUS_PAGE_POLL_SECONDS = POLL_SECONDS
    settings.CUSTOMER_PAGE_POLL_SECONDS = POLL_SECONDS
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, region="eu-west-1"))
    customer_url = intake.intake_link_create(request_id=request.pk, created_by=se).url

    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    dashboard = page.context.new_page()  # the same engineer, in another tab
    dashboard.goto(f"{live_server.url}/")
    customer_page = browser.new_page()  # the customer: no login, just the link
    customer_page.goto(live_server.url + urlsplit(customer_url).path)
    for open_page in (page, customer_page):
        assert _tunnel_status(open_page, 1) == "Up"
    expect(_marks(dashboard, request)).to_have_count(2)
    for mark in _marks(dashboard, request).all():
        expect(mark).to_have_class(GREEN)
    for open_page in (page, customer_page, dashboard):
        open_page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    scheduler = DjangoCronScheduler()
    scheduler.load_config_from_file("vpn.cron")
    (refresh_job,) = [
        job for job in scheduler.get_jobs() if job.func_name == "vpn.jobs.status_refresh"
    ]
    assert refresh_job.interval == REFRESH_SECONDS
    _tick(scheduler, run_jobs)  # the scheduler's first run, before anything changes
    refreshes = StatusRefresh.objects.count()

    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    # One interval later the scheduler runs the refresh once more, and the open pages show
    # the change at their next poll (the waits only guard against a page that never does).
    refresh_job.set_enqueue_time(now() - timedelta(seconds=REFRESH_SECONDS))
    _tick(scheduler, run_jobs)
    assert StatusRefresh.objects.count() == refreshes + 1
    for open_page in (page, customer_page):
        expect(open_page.locator(_TUNNEL_1_STATUS)).to_have_text("Down", timeout=SHOWN_WITHIN)
    expect(_marks(dashboard, request).first).to_have_class(RED, timeout=SHOWN_WITHIN)
    expect(_marks(dashboard, request).nth(1)).to_have_class(GREEN)
    for open_page in (page, customer_page, dashboard):
        assert open_page.evaluate("window.loadedOnce") is True
    for open_page in (page, customer_page):
        assert (
            "IPSEC IS DOWN" in open_page.locator('#live-tunnels tr[data-tunnel="1"]').inner_text()
        )
    assert page.locator("#live-stage .badge").first.inner_text() == "Degraded"
    assert "No redundancy: tunnel 1 down" in page.locator("#live-stage").inner_text()
    request.refresh_from_db()
    assert request.stage == Stage.DEGRADED
    screenshot("tunnel-down-live")
    customer_page.screenshot(
        path=str(SCREENSHOTS / "tunnel-down-live-customer.png"), full_page=True
    )
    customer_page.close()
    dashboard.screenshot(path=str(SCREENSHOTS / "tunnel-down-live-dashboard.png"), full_page=True)
    dashboard.close()


def _tick(scheduler, run_jobs) -> None:
    """One turn of the cron scheduler's loop, then a worker runs what it queued."""
    scheduler.enqueue_jobs()
    assert run_jobs() == 0


def _tunnel_status(page, position: int) -> str:
    return page.locator(f'#live-tunnels tr[data-tunnel="{position}"] .tunnel-status').inner_text()


def _marks(page, request):
    """The request's tunnel marks on the dashboard (their class names the colour)."""
    row = page.locator("#request-table tr", has=page.locator(f'a:text-is("{request.reference}")'))
    return row.locator(".mark")
