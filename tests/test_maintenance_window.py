"""The customer's maintenance window: the pure functions (is a moment inside it, when does
it next open) across days, midnight and daylight saving time, and the window chosen on
the customer's link."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.maintenance_window import Window, window_contains, window_next_start
from vpn.models import MaintenanceWindow
from vpn.services.intake import intake_link_create
from vpn.services.maintenance import MaintenanceWindowInvalid, maintenance_window_set


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- Inside or not ----------------------------------------------------------------------

SUNDAY_NIGHT_PARIS = Window(weekday=6, start_hour=2, end_hour=5, time_zone="Europe/Paris")


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        ("2026-06-07T01:59:59+02:00", False),  # a Sunday, just before
        ("2026-06-07T02:00:00+02:00", True),  # the start is inside
        ("2026-06-07T04:59:59+02:00", True),
        ("2026-06-07T05:00:00+02:00", False),  # the end is not
        ("2026-06-08T03:00:00+02:00", False),  # Monday
        ("2026-06-07T01:30:00+00:00", True),  # the same window, seen from UTC
    ],
)
def test_a_window_on_the_customers_clock(moment, inside):
    assert window_contains(SUNDAY_NIGHT_PARIS, at(moment)) is inside


def test_a_window_past_midnight_ends_the_next_day():
    friday_late = Window(weekday=4, start_hour=22, end_hour=2, time_zone="America/New_York")
    assert window_contains(friday_late, at("2026-06-05T23:30:00-04:00"))  # Friday
    assert window_contains(friday_late, at("2026-06-06T01:59:00-04:00"))  # Saturday early
    assert not window_contains(friday_late, at("2026-06-06T02:00:00-04:00"))
    assert not window_contains(friday_late, at("2026-06-06T23:00:00-04:00"))  # Saturday late
    assert "the next day" in friday_late.describe()
    until_midnight = Window(weekday=4, start_hour=20, end_hour=24, time_zone="UTC")
    assert window_contains(until_midnight, at("2026-06-05T23:59:59+00:00"))
    assert not window_contains(until_midnight, at("2026-06-06T00:00:00+00:00"))


def test_a_window_keeps_its_clock_hours_across_daylight_saving_time():
    # Europe/Paris: the clock jumps from 02:00 to 03:00 on Sunday 29 March 2026, and back
    # from 03:00 to 02:00 on Sunday 25 October 2026.
    spring = at("2026-03-29T03:00:00+02:00")  # the first moment after the skipped hour
    assert window_next_start(SUNDAY_NIGHT_PARIS, at("2026-03-28T12:00:00+01:00")) == spring
    assert window_contains(SUNDAY_NIGHT_PARIS, at("2026-03-29T04:59:00+02:00"))
    assert not window_contains(SUNDAY_NIGHT_PARIS, at("2026-03-29T05:00:00+02:00"))
    autumn = window_next_start(SUNDAY_NIGHT_PARIS, at("2026-10-24T12:00:00+02:00"))
    assert autumn == at("2026-10-25T02:00:00+02:00")  # the hour taken the first time round
    assert window_contains(SUNDAY_NIGHT_PARIS, at("2026-10-25T04:30:00+01:00"))


# --- When it next opens -------------------------------------------------------------------


def test_the_next_start_is_the_next_opening_at_or_after_the_moment():
    window = Window(weekday=2, start_hour=9, end_hour=11, time_zone="Asia/Tokyo")
    assert window_next_start(window, at("2026-06-01T00:00:00+09:00")) == at(
        "2026-06-03T09:00:00+09:00"
    )
    start = at("2026-06-03T09:00:00+09:00")
    assert window_next_start(window, start) == start
    # Inside the window, the next opening is a week on.
    assert window_next_start(window, at("2026-06-03T10:00:00+09:00")) == start + timedelta(days=7)


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
windows = (
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 23),
        st.integers(1, 24),
        st.sampled_from(
            ["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
        ),
    )
    .filter(lambda values: values[1] != values[2])
    .map(lambda values: Window(*values))
)


@given(window=windows, moment=moments)
def test_the_next_start_opens_the_window_and_nothing_opens_before_it(window, moment):
    start = window_next_start(window, moment)
    assert moment <= start < moment + timedelta(days=8)
    assert window_contains(window, start)
    # Just before the start, the window is closed unless it was already open at `moment`.
    if not window_contains(window, moment):
        assert not window_contains(window, start - timedelta(seconds=1))


def test_bad_windows_are_refused():
    for weekday, start, end, zone in ((7, 2, 5, "UTC"), (1, 24, 5, "UTC"), (1, 5, 5, "UTC")):
        with pytest.raises(ValueError):
            Window(weekday, start, end, zone)
    with pytest.raises(ValueError, match="not a time zone"):
        Window(1, 2, 5, "Mars/Olympus")


# --- Chosen on the customer's link --------------------------------------------------------


@pytest.fixture
def live_request(db):
    request = VpnRequestFactory(stage=Stage.LIVE)
    TunnelFactory(request=request, position=1)
    TunnelFactory(request=request, position=2, outside_ip="203.0.113.250")
    return request


def _link(request) -> str:
    return f"/intake/{intake_link_create(request_id=request.pk, send_email=False).token}/"


def _choose(client, url, **values):
    return client.post(url, {"action": "maintenance_window", **values}, follow=True)


def test_the_customer_chooses_a_window(live_request, se_client):
    client, url = Client(), _link(live_request)
    page = client.get(url).content.decode()
    assert 'id="maintenance-window"' in page
    assert "You have chosen no maintenance window yet" not in page  # nothing pending

    response = _choose(
        client, url, weekday="6", start_hour="2", end_hour="5", time_zone="Europe/Paris"
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "Saved: AWS&#x27;s maintenance is applied in your window, Sunday 02:00-05:00" in text
    window = MaintenanceWindow.objects.get(request=live_request)
    assert (window.weekday, window.start_hour, window.end_hour, window.time_zone) == (
        6,
        2,
        5,
        "Europe/Paris",
    )
    assert window.chosen_by.startswith("customer link ")
    assert "Your maintenance window: <strong>Sunday 02:00-05:00 (Europe/Paris)</strong>" in text
    staff = se_client.get(reverse("vpn:request_detail", args=[live_request.pk])).content.decode()
    assert "The customer's maintenance window: <strong>Sunday 02:00-05:00" in staff

    # Chosen again: replaced, not added.
    _choose(client, url, weekday="0", start_hour="22", end_hour="1", time_zone="UTC")
    assert MaintenanceWindow.objects.get(request=live_request).weekday == 0

    # No window: removed.
    response = _choose(client, url, weekday="", start_hour="2", end_hour="5", time_zone="UTC")
    assert not MaintenanceWindow.objects.filter(request=live_request).exists()
    assert "Your maintenance window is removed" in response.content.decode()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"weekday": "6", "start_hour": "2", "end_hour": "5", "time_zone": "Mars/Base"},
            "not a time zone",
        ),
        (
            {"weekday": "6", "start_hour": "5", "end_hour": "5", "time_zone": "UTC"},
            "not at its start",
        ),
        ({"weekday": "9", "start_hour": "2", "end_hour": "5", "time_zone": "UTC"}, "not one of"),
        ({"weekday": "6", "start_hour": "x", "end_hour": "5", "time_zone": "UTC"}, "not one of"),
    ],
)
def test_a_bad_window_is_refused_with_a_message(live_request, values, message):
    client, url = Client(), _link(live_request)
    response = _choose(client, url, **values)
    assert response.status_code == 200
    text = response.content.decode()
    assert "The maintenance window was not changed" in text
    assert message in text
    assert not MaintenanceWindow.objects.exists()


def test_no_window_before_the_vpn_is_built(db):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    client, url = Client(), _link(request)
    assert 'id="maintenance-window"' not in client.get(url).content.decode()
    response = _choose(client, url, weekday="6", start_hour="2", end_hour="5", time_zone="UTC")
    assert "once the VPN is built" in response.content.decode()
    assert not MaintenanceWindow.objects.exists()


def test_a_removed_vpn_takes_no_window(db):
    request = VpnRequestFactory(stage=Stage.DECOMMISSIONED)
    with pytest.raises(MaintenanceWindowInvalid):
        maintenance_window_set(
            request_id=request.pk,
            weekday=1,
            start_hour=1,
            end_hour=2,
            time_zone="UTC",
            chosen_by="test",
        )
