"""The tunnel status on the pages: dashboard marks, health filter and order; the request
page's status, uptime, chart and polling; the customer's link without internal data.

Status set up through the sandbox's control API and a real refresh where the point is
the path from AWS to the page; from factory rows with chosen times where the point is
arithmetic (uptime) or layout.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import TunnelFactory, VpnRequestFactory
from tests.status_support import bring_live, flip, live_vpn
from vpn.choices import Stage, TunnelStatus
from vpn.models import StatusRefresh, TunnelStatusChange
from vpn.services import intake
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db


def _request_with(statuses: tuple[str, ...], *, stage=Stage.LIVE, tunnel_count=2, **fields):
    request = VpnRequestFactory(stage=stage, tunnel_count=tunnel_count, **fields)
    for position, status in enumerate(statuses, start=1):
        TunnelFactory(request=request, position=position, status=status)
    return request


def _references(html: str) -> list[str]:
    return re.findall(r'class="mono">(VPN-\d+)</a>', html)


def test_dashboard_filters_by_health(se_client):
    live = _request_with(("UP", "UP"))
    degraded = _request_with(("UP", "DOWN"), stage=Stage.DEGRADED)
    down = _request_with(("DOWN", "DOWN"), stage=Stage.DOWN)
    single = _request_with(("UP", "DOWN"), tunnel_count=1)  # high by design, stage live
    waiting = _request_with(("DOWN", "DOWN"), stage=Stage.AWAITING_CUSTOMER)  # no risk yet

    def shown(health: str) -> set[str]:
        return set(_references(se_client.get("/", {"health": health}).content.decode()))

    assert shown("down") == {down.reference}
    assert shown("high") == {degraded.reference, single.reference}
    assert shown("low") == {live.reference}
    assert shown("attention") == {down.reference, degraded.reference, single.reference}
    assert waiting.reference in shown("")
    assert shown("nonsense") == shown("")  # an unknown filter is ignored, not an error


def test_dashboard_sorts_by_health_worst_first(se_client):
    live = _request_with(("UP", "UP"))
    draft = VpnRequestFactory()
    down = _request_with(("DOWN", "DOWN"), stage=Stage.DOWN)
    degraded = _request_with(("UP", "DOWN"), stage=Stage.DEGRADED)

    html = se_client.get("/", {"sort": "health"}).content.decode()

    assert _references(html) == [d.reference for d in (down, degraded, live, draft)]
    assert "no tunnel up" in html and "high risk" in html and "low risk" in html
    # The table refreshes itself with the same filters.
    assert 'id="request-table" hx-get="/?sort=health"' in html


def test_dashboard_marks_follow_a_flip_in_aws(se_client, aws_sandbox, settings):
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox))
    row = _row(se_client.get("/").content.decode(), request.reference)
    assert row.count("mark green") == 2 and "low risk" in row

    flip(aws_sandbox, request, 2, "DOWN", message="IPSEC IS DOWN")
    status_refresh()

    row = _row(se_client.get("/").content.decode(), request.reference)
    assert row.count("mark green") == 1 and row.count("mark red") == 1
    assert "Degraded" in row and "high risk" in row
    assert "tunnel status as of" in se_client.get("/").content.decode()


def _row(html: str, reference: str) -> str:
    start = html.index(f">{reference}</a>")
    return html[start : html.index("</tr>", start)]


def test_detail_page_shows_status_uptime_and_chart(se_client):
    now = timezone.now()
    request = _request_with(("UP", "DOWN"), stage=Stage.DEGRADED)
    one, two = request.tunnels.order_by("position")
    one.created_at = two.created_at = now - timedelta(days=2)
    one.save()
    two.created_at = now - timedelta(days=2)
    two.status_message = "IPSEC IS DOWN"
    two.accepted_route_count = 0
    two.last_status_change = now - timedelta(hours=6)
    two.save()
    # Tunnel 2: up for 42 hours, down for the last 6: 75 % of 24 h, 87.5 % of 2 days.
    TunnelStatusChange.objects.create(
        tunnel=two, old_status="UP", new_status="DOWN", changed_at=now - timedelta(hours=6)
    )

    html = se_client.get(f"/requests/{request.pk}/").content.decode()

    row = _tunnel_row(html, 2)
    assert "Down" in row and "IPSEC IS DOWN" in row and "6\xa0hours ago" in row
    assert "75.00%" in row and "87.50%" in row  # 24 h, then 7 d and 30 d (since created)
    assert "100.00%" in _tunnel_row(html, 1)
    assert "No redundancy: tunnel 2 down" in html
    # The chart: tunnel 2 green then red over the last 7 days, drawn as SVG.
    assert "Timeline, last 7 days" in html
    chart = html[html.index('id="tunnel-chart"') :]
    assert chart.count('class="red"') == 1 and chart.count('class="green"') == 2
    assert "<title>Down: " in chart


@pytest.mark.parametrize(
    ("statuses", "stage", "tunnel_count", "badge"),
    [
        (("UP", "UP"), Stage.LIVE, 2, "Redundant: both tunnels up"),
        (("UP", "DOWN"), Stage.DEGRADED, 2, "No redundancy: tunnel 2 down"),
        (("DOWN", "UP"), Stage.DEGRADED, 2, "No redundancy: tunnel 1 down"),
        (("DOWN", "DOWN"), Stage.DOWN, 2, "Outage: both tunnels down"),
        (("UP", "DOWN"), Stage.LIVE, 1, "No redundancy: one-tunnel setup"),
        (("DOWN", "UP"), Stage.DOWN, 1, "Outage: tunnel 1 down"),
    ],
)
def test_risk_badge_says_plainly_what_is_wrong(se_client, statuses, stage, tunnel_count, badge):
    request = _request_with(statuses, stage=stage, tunnel_count=tunnel_count)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    stage_line = html[
        html.index('id="live-stage"') : html.index("</p>", html.index('id="live-stage"'))
    ]
    assert f">{badge}</span>" in stage_line
    assert "Redundancy risk" not in html
    customer_html = Client().get(_customer_client_and_url(request)[1]).content.decode()
    assert f">{badge}</span>" in customer_html


def _tunnel_row(html: str, position: int) -> str:
    start = html.index(f'<tr data-tunnel="{position}"')
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize(("window", "title"), [("24h", "24 hours"), ("30d", "30 days")])
def test_detail_chart_window(se_client, window, title):
    request = _request_with(("UP", "UP"))
    html = se_client.get(f"/requests/{request.pk}/", {"chart": window}).content.decode()
    assert f"Timeline, last {title}" in html


def test_detail_chart_ignores_an_unknown_window(se_client):
    request = _request_with(("UP", "UP"))
    response = se_client.get(f"/requests/{request.pk}/", {"chart": "<script>"})
    assert response.status_code == 200
    # The window that fits the history of this new VPN (tests/test_status_uptime.py).
    assert "Timeline, last 24 hours" in response.content.decode()


@pytest.mark.parametrize(
    ("stage", "trigger"),
    [
        (Stage.LIVE, "every 5s"),
        (Stage.DOWN, "every 5s"),
        (Stage.AWAITING_CUSTOMER, "every 5s"),
        (Stage.VPC, "every 3s"),
        # Every stage that is not final polls: someone else may act on the request.
        (Stage.DRAFT, "every 5s"),
        (Stage.SUBMITTED, "every 5s"),
        (Stage.CHANGES_REQUESTED, "every 5s"),
        (Stage.FAILED, "every 5s"),
        (Stage.DECOMMISSIONED, None),
        (Stage.CANCELLED, None),
    ],
)
def test_detail_page_polls_while_there_is_something_to_follow(se_client, settings, stage, trigger):
    settings.STATUS_PAGE_POLL_SECONDS = 5
    request = _request_with(("UP", "UP"), stage=stage)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    match = re.search(r'id="live-progress"[^>]*hx-trigger="([^"]+)"', html)
    assert (match.group(1) if match else None) == trigger


def test_detail_page_warns_when_the_region_could_not_be_read(se_client):
    request = _request_with(("UP", "UP"), region="eu-west-1")
    now = timezone.now()
    StatusRefresh.objects.create(
        trigger="schedule",
        started_at=now,
        finished_at=now,
        regions=["eu-west-1"],
        errors={"eu-west-1": "DescribeVpnConnections: InternalError: boom"},
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "could not read eu-west-1 from AWS" in html and "InternalError: boom" in html
    assert "Refresh now" in html


def test_detail_timeline_lists_status_changes(se_client):
    request = _request_with(("DOWN", "UP"), stage=Stage.DEGRADED)
    TunnelStatusChange.objects.create(
        tunnel=request.tunnels.get(position=1),
        old_status="UP",
        new_status="DOWN",
        message="IPSEC IS DOWN",
        changed_at=timezone.now(),
        alerted=True,
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    activity = html[html.index('id="live-activity"') :]
    assert "Tunnel 1 down" in activity and "was up · alerted" in activity


def _customer_client_and_url(request) -> tuple[Client, str]:
    url = intake.intake_link_create(request_id=request.pk, send_email=False).url
    return Client(), urlsplit(url).path


def test_customer_link_shows_status_without_internal_data(aws_sandbox, settings):
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, region="eu-west-1"))
    client, url = _customer_client_and_url(request)
    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    status_refresh()
    now = timezone.now()
    StatusRefresh.objects.create(
        trigger="schedule",
        started_at=now,
        finished_at=now,
        regions=["eu-west-1"],
        errors={"eu-west-1": "DescribeVpnConnections: InternalError: secret detail"},
    )

    html = client.get(url).content.decode()

    assert "Degraded" in html and "No redundancy: tunnel 1 down" in html
    row = _tunnel_row(html, 1)
    assert "Down" in row and "IPSEC IS DOWN" in row
    assert "Up 24h" in html and "Timeline, last 24 hours" in html  # a new VPN's window
    # Nothing internal: no inside addresses, AWS ids or errors, no staff controls.
    tunnel = request.tunnels.get(position=1)
    assert tunnel.inside_cidr not in html
    assert "vpn-" not in html.lower().replace(request.reference.lower(), "")
    assert "secret detail" not in html and "may be a few minutes old" in html
    assert "Refresh now" not in html and "/requests/" not in html
    # It updates itself, gently, and only while visible.
    assert 'hx-trigger="every 15s" data-poll-while-visible' in html


def test_customer_polls_have_a_budget_of_their_own(settings):
    settings.INTAKE_RATE_LIMIT_PER_TOKEN = 2
    settings.INTAKE_RATE_WINDOW_SECONDS = 600
    settings.CUSTOMER_PAGE_POLL_SECONDS = 15  # budget: 4 tabs x 600 / 15 = 160 polls
    request = _request_with(("UP", "UP"))
    client, url = _customer_client_and_url(request)

    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    polls = [client.get(url, headers={"HX-Request": "true"}).status_code for _ in range(160)]
    assert set(polls) == {200}
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 429


def test_a_page_polling_slower_than_the_window_still_gets_its_polls(settings):
    settings.INTAKE_RATE_WINDOW_SECONDS = 600
    settings.CUSTOMER_PAGE_POLL_SECONDS = 3600  # fewer than one poll per window and tab
    request = _request_with(("UP", "UP"))
    client, url = _customer_client_and_url(request)

    polls = [client.get(url, headers={"HX-Request": "true"}).status_code for _ in range(5)]
    assert polls == [200, 200, 200, 200, 429]  # four tabs, one poll each


def test_one_tunnel_setup_shows_the_spare_tunnel_as_not_used(se_client):
    request = _request_with((TunnelStatus.UP, TunnelStatus.DOWN), tunnel_count=1)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "not used" in _tunnel_row(html, 2)
    assert "No redundancy: one-tunnel setup" in html
    assert request.stage == Stage.LIVE


def test_chart_draws_the_current_status_last_even_when_short():
    """A tunnel up for seconds after a short down: its bar ends green, the brief outage
    stays visible (widened) but never hides the current status at the right edge."""
    from vpn.selectors.status import tunnel_reports
    from vpn.status_chart import status_chart

    now = timezone.now()
    request = _request_with(("UP",), tunnel_count=1)
    tunnel = request.tunnels.get()
    tunnel.created_at = now - timedelta(seconds=20)
    tunnel.save()
    TunnelStatusChange.objects.create(
        tunnel=tunnel,
        old_status="UNKNOWN",
        new_status="DOWN",
        changed_at=now - timedelta(seconds=15),
    )
    TunnelStatusChange.objects.create(
        tunnel=tunnel, old_status="DOWN", new_status="UP", changed_at=now - timedelta(seconds=5)
    )
    chart = status_chart(reports=tunnel_reports(tunnels=[tunnel], now=now), window="7d", now=now)
    ((_, bars),) = chart.rows
    assert [bar.span.status for bar in bars] == ["UNKNOWN", "DOWN", "UP"]
    assert all(bar.width >= 3 and bar.x + bar.width <= 1000 for bar in bars)
    assert bars[-1].x + bars[-1].width == pytest.approx(1000)
