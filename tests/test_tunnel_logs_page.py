"""The request page's tunnel logs: each tunnel's recent log events from CloudWatch Logs,
newest first, filtered by tunnel and by kind; CloudWatch's errors as a message, never a
500; never read on the page's own polls."""

import re

import pytest
from django.urls import reverse

from tests.status_support import flip, inject, live_vpn
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db


def log_rows(page: str) -> list[tuple[str, str, str]]:
    """(tunnel, kind, what it says) of each row of the log panel, top to bottom."""
    row = r'<tr class="log-line" data-tunnel="(\d*)" data-kind="(\w+)">'
    return re.findall(row + r'.*?<td class="small">(.*?)</td>', page, re.DOTALL)


def logs_page(client, request, **filters) -> str:
    response = client.get(reverse("vpn:request_detail", args=[request.pk]), filters)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def logged_vpn(aws_sandbox):
    request = live_vpn(aws_sandbox, as_provisioned=True)
    status_refresh()
    flip(aws_sandbox, request, 1, "UP", accepted_route_count=2)
    flip(aws_sandbox, request, 2, "UP", accepted_route_count=2)
    inject(aws_sandbox, request, 2, "bgp_hold_timer_expired")
    status_refresh()
    return request


def test_the_page_shows_the_latest_events_newest_first(se_client, logged_vpn):
    rows = log_rows(logs_page(se_client, logged_vpn))
    # Tunnel 2's hold timer is the newest event, its IPsec lines before it.
    assert rows[0] == ("2", "BGP", rows[0][2])
    assert "hold timer expired" in rows[0][2]
    assert ("1", "IKE", "IPsec SA established") in rows
    assert {kind for _, kind, _ in rows} == {"IKE", "BGP"}
    assert {tunnel for tunnel, _, _ in rows} == {"1", "2"}


def test_the_events_filter_by_tunnel_and_kind(se_client, logged_vpn):
    rows = log_rows(logs_page(se_client, logged_vpn, log_tunnel="1", log_kind="BGP"))
    assert rows and {(tunnel, kind) for tunnel, kind, _ in rows} == {("1", "BGP")}
    rows = log_rows(logs_page(se_client, logged_vpn, log_tunnel="2"))
    assert {tunnel for tunnel, _, _ in rows} == {"2"}
    rows = log_rows(logs_page(se_client, logged_vpn, log_kind="IKE"))
    assert {kind for _, kind, _ in rows} == {"IKE"}
    # A filter that means nothing is no filter.
    assert log_rows(logs_page(se_client, logged_vpn, log_tunnel="7", log_kind="x"))


def test_a_cloudwatch_error_is_a_message(aws_sandbox, se_client, logged_vpn, settings):
    settings.AWS_MAX_ATTEMPTS = 0
    aws_sandbox.control(
        "POST", "/_sandbox/faults", {"action": "FilterLogEvents", "error": "throttle"}
    )
    page = logs_page(se_client, logged_vpn)
    assert 'id="tunnel-logs-error"' in page
    assert "CloudWatch Logs could not be read" in page
    assert log_rows(page) == []


def test_no_log_group_yet_is_said_plainly(aws_sandbox, se_client):
    request = live_vpn(aws_sandbox)  # made before tunnel logs: no log group in its region
    page = logs_page(se_client, request)
    assert "No tunnel logs in us-east-1 yet" in page
    assert 'id="tunnel-logs-error"' not in page


def test_the_pages_polls_do_not_read_the_logs(aws_sandbox, se_client, logged_vpn):
    def reads():
        return aws_sandbox.control("GET", "/_sandbox/stats")["calls"].get("FilterLogEvents", 0)

    before = reads()
    response = se_client.get(
        reverse("vpn:request_detail", args=[logged_vpn.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'id="tunnel-logs"' not in response.content.decode()
    assert reads() == before
