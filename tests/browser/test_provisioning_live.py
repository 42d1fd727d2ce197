"""The request page follows provisioning live: no reload, the stage and resources appear."""

import pytest
from django.conf import settings

from tests.factories import VpnRequestFactory
from vpn.choices import Stage
from vpn.services.stages import request_move


@pytest.mark.django_db(transaction=True)
def test_detail_page_updates_itself_while_jobs_provision(
    page, live_server, login, screenshot, se, aws_sandbox, run_jobs
):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", owner=se)
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, actor=se)  # jobs queued

    login(se)
    page.goto(f"{live_server.url}/requests/{request.pk}/")
    assert page.locator("#live-stage .badge").inner_text() == "Approved"
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    assert run_jobs() == 0  # a real RQ worker provisions against the sandbox meanwhile

    # A function, not an expression: the page's CSP refuses the eval an expression needs.
    page.wait_for_function(
        "() => document.querySelector('#live-stage .badge').innerText === 'Waiting for customer'",
        timeout=60_000,  # a guard against a page that never updates, not a measure
    )
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator("#live-activity tbody tr").count() >= 6
    assert page.locator("#live-tunnels tbody tr").count() == 2
    assert page.locator(".steps li.done").count() == 4
    request.refresh_from_db()
    assert request.vpc_cidr in page.locator("#live-connection").inner_text()
    # Provisioning is over: the page now polls at the gentler pace of the tunnel status.
    assert page.locator("#live-progress").get_attribute("hx-trigger") == (
        f"every {settings.STATUS_PAGE_POLL_SECONDS}s"
    )
    screenshot("request-provisioned-live")
