"""Uptime over the monitored time only: from a tunnel's first UP, never the time before
(the customer not configured yet); "since" when that is shorter than the window; and a
chart whose default window fits the VPN's history.

The path from AWS to the page runs through the sandbox and a real refresh; time is
moved by editing the stored timestamps (the tunnel's creation, its history), never by
sleeping.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import TunnelFactory, VpnRequestFactory
from tests.status_support import flip, live_vpn
from vpn.choices import Stage, TunnelStatus
from vpn.models import Tunnel, TunnelStatusChange
from vpn.selectors.status import tunnel_reports
from vpn.services.status import status_refresh
from vpn.status_chart import status_chart

pytestmark = pytest.mark.django_db


def _cells(html: str, position: int) -> dict[str, str]:
    """The uptime cells of a tunnel's row, by window, as text."""
    start = html.index(f'<tr data-tunnel="{position}"')
    row = html[start : html.index("</tr>", start)]
    cells = re.findall(r'<td class="num uptime" data-window="(\w+)">(.*?)</td>', row)
    return {key: re.sub(r"<[^>]+>", "", text).strip() for key, text in cells}


def test_a_tunnel_live_for_an_hour_is_100_percent_since_that_hour(aws_sandbox, se_client, settings):
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
    request = live_vpn(aws_sandbox)
    status_refresh()  # the new VPN's tunnels: DOWN, the customer not configured yet
    for position in (1, 2):
        flip(aws_sandbox, request, position, "UP")
    status_refresh()
    request.refresh_from_db()
    assert request.stage == Stage.LIVE

    # Time passes: built three hours ago, down for two, up for the last hour.
    now = timezone.now()
    went_up = now - timedelta(hours=1)
    Tunnel.objects.filter(request=request).update(created_at=now - timedelta(hours=3))
    TunnelStatusChange.objects.filter(tunnel__request=request, new_status="DOWN").update(
        changed_at=now - timedelta(hours=3)
    )
    TunnelStatusChange.objects.filter(tunnel__request=request, new_status="UP").update(
        changed_at=went_up
    )

    html = se_client.get(f"/requests/{request.pk}/").content.decode()

    since = f"since {timezone.localtime(went_up):%-d %b %H:%M}"
    for position in (1, 2):
        assert _cells(html, position) == {
            "24h": f"100.00% {since}",
            "7d": f"100.00% {since}",
            "30d": f"100.00% {since}",
        }
    # The chart shows the VPN's day, not a sliver of a week.
    assert "Timeline, last 24 hours" in html
    # The two hours down before the first up are drawn, faded: not counted.
    chart = html[html.index('id="tunnel-chart"') :]
    assert chart.count('class="red uncounted"') == 2
    assert "not counted in uptime" in chart

    data = se_client.get(f"/requests/{request.pk}/status.json").json()
    for tunnel in data["tunnels"]:
        assert tunnel["uptime_percent"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}
        assert tunnel["monitored_since"] == went_up.isoformat()


def test_a_tunnel_never_up_has_no_uptime_yet(se_client):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER)
    tunnel = TunnelFactory(request=request, position=1, status=TunnelStatus.DOWN)
    TunnelStatusChange.objects.create(
        tunnel=tunnel, old_status="UNKNOWN", new_status="DOWN", changed_at=timezone.now()
    )
    (report,) = tunnel_reports(tunnels=[tunnel])
    assert report.monitored_since is None
    assert report.uptime == {"24h": None, "7d": None, "30d": None}
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert _cells(html, 1) == {"24h": "—", "7d": "—", "30d": "—"}
    assert "Not up yet: uptime counts from the tunnel's first up" in html


def test_a_long_monitored_tunnel_shows_no_since(se_client):
    """Up since its creation 40 days ago, down for the last 6 hours: every window is
    monitored whole, and says no "since"."""
    now = timezone.now()
    request = VpnRequestFactory(stage=Stage.DOWN, tunnel_count=1)
    tunnel = TunnelFactory(
        request=request, position=1, status="DOWN", created_at=now - timedelta(days=40)
    )
    TunnelStatusChange.objects.create(
        tunnel=tunnel, old_status="UP", new_status="DOWN", changed_at=now - timedelta(hours=6)
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert _cells(html, 1) == {"24h": "75.00%", "7d": "96.43%", "30d": "99.17%"}
    assert "Timeline, last 30 days" in html


def test_uptime_at_a_past_moment_uses_the_history_after_it():
    """Uptime "as of" an earlier time reads the status of then, not of now; before its
    first up the tunnel had no uptime at all."""
    now = timezone.now()
    request = VpnRequestFactory(stage=Stage.LIVE, tunnel_count=1)
    tunnel = TunnelFactory(
        request=request, position=1, status="UP", created_at=now - timedelta(days=3)
    )
    # Down for two days (not configured yet), then up, down for 6 hours, up again.
    for old, new, at in (
        ("DOWN", "UP", now - timedelta(days=2)),
        ("UP", "DOWN", now - timedelta(hours=30)),
        ("DOWN", "UP", now - timedelta(hours=24)),
    ):
        TunnelStatusChange.objects.create(
            tunnel=tunnel, old_status=old, new_status=new, changed_at=at
        )

    (before,) = tunnel_reports(tunnels=[tunnel], now=now - timedelta(days=2, hours=1))
    (then,) = tunnel_reports(tunnels=[tunnel], now=now - timedelta(hours=24))
    (today,) = tunnel_reports(tunnels=[tunnel], now=now)
    assert before.uptime == {"24h": None, "7d": None, "30d": None}
    assert then.uptime["24h"] == pytest.approx(75.0)  # up 18 of the 24 hours
    assert then.since["24h"] is None and then.since["7d"] == now - timedelta(days=2)
    assert today.uptime["24h"] == pytest.approx(100.0)
    assert today.uptime["7d"] == pytest.approx(100 * 42 / 48)
    assert today.since["7d"] == now - timedelta(days=2)


@pytest.mark.parametrize(
    ("age", "window"),
    [
        (timedelta(minutes=5), "24h"),
        (timedelta(hours=23), "24h"),
        (timedelta(days=2), "7d"),
        (timedelta(days=6, hours=23), "7d"),
        (timedelta(days=8), "30d"),
        (timedelta(days=400), "30d"),
    ],
)
def test_the_chart_window_fits_the_history(age, window):
    now = timezone.now()
    request = VpnRequestFactory(stage=Stage.LIVE)
    tunnels = [
        TunnelFactory(request=request, position=1, status="UP", created_at=now - age),
        TunnelFactory(request=request, position=2, status="UP", created_at=now - age / 2),
    ]
    reports = tunnel_reports(tunnels=tunnels, now=now)
    assert status_chart(reports=reports, window="", now=now).window == window
    # A window asked for is kept, whatever the history.
    assert status_chart(reports=reports, window="30d", now=now).window == "30d"
