"""A subnet added from the request page, followed live to done: no reload, the Changes
card updates itself while real RQ jobs apply the change to the sandbox."""

import pytest

from tests.change_support import aws_connection, provisioned_vpn
from vpn.models import VpnChange


@pytest.mark.django_db(transaction=True)
def test_a_subnet_added_from_the_request_page_is_followed_live_to_done(
    page, live_server, login, screenshot, ops, aws_sandbox, run_jobs
):
    request = provisioned_vpn(aws_sandbox, run_jobs, owner=ops)
    login(ops)
    page.goto(f"{live_server.url}/requests/{request.pk}/")

    page.click("#change-form-add_subnet > summary")
    page.fill("#id_add_subnet_cidr", "10.77.0.0/24")
    page.fill("#id_add_subnet_reason", "The customer's new office (ticket 4711)")
    screenshot("change-add-subnet-form")
    page.click("#change-form-add_subnet button[type=submit]")

    # The change's page: what it changes and its impact, before anything is applied.
    change = VpnChange.objects.get(request=request)
    page.wait_for_url(f"{live_server.url}/changes/{change.pk}/")
    assert page.locator("#change-state").inner_text() == "Proposed"
    assert "No tunnel drops. AWS routes 10.77.0.0/24 into the tunnels" in (
        page.locator("#change-impact").inner_text()
    )
    screenshot("change-add-subnet-proposed")
    page.click("#change-apply-form button[type=submit]")

    # Back on the request page, which follows the change as the job applies it.
    page.wait_for_url(f"{live_server.url}/requests/{request.pk}/#live-changes")
    card = page.locator("#live-changes")
    assert "Applying" in card.locator(".change-under-way .badge").inner_text()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    screenshot("change-add-subnet-applying")

    assert run_jobs() == 0  # a real RQ worker applies it to the sandbox meanwhile

    page.wait_for_function(
        "() => document.querySelector('#live-changes tbody tr .badge').innerText === 'Done'",
        timeout=60_000,  # a guard against a page that never updates, not a measure
    )
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator("#live-changes .change-under-way").count() == 0
    assert change.reference in page.locator("#live-activity").inner_text()
    routes = [r["DestinationCidrBlock"] for r in aws_connection(aws_sandbox, request)["Routes"]]
    assert "10.77.0.0/24" in routes
    screenshot("change-add-subnet-done")
