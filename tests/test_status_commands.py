"""`vpn_status` and `vpn_refresh_status`: tunnel status from the command line."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import AwsResourceRole, Stage, TunnelStatus
from vpn.models import AwsResource, StatusRefresh, Tunnel
from vpn.selectors.status import request_status

pytestmark = pytest.mark.django_db

FINISHED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def one_tunnel_request():
    """A live one-tunnel request: tunnel 1 up for days, tunnel 2 never seen (not used).

    Neither tunnel changed status, so their uptime does not drift while the test runs.
    """
    request = VpnRequestFactory(stage=Stage.LIVE, region="eu-west-1", tunnel_count=1)
    long_ago = FINISHED - timedelta(days=40)
    TunnelFactory(
        request=request,
        position=1,
        outside_ip="203.0.113.21",
        status=TunnelStatus.UP,
        status_message="1 BGP ROUTES",
        last_status_change=FINISHED - timedelta(days=3),
        accepted_route_count=2,
        created_at=long_ago,
    )
    TunnelFactory(
        request=request,
        position=2,
        outside_ip="203.0.113.22",
        status=TunnelStatus.UNKNOWN,
        created_at=long_ago,
    )
    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=FINISHED - timedelta(seconds=2),
        finished_at=FINISHED,
        regions=["eu-west-1"],
    )
    return request


# --- vpn_status -------------------------------------------------------------------------


def test_vpn_status_prints_the_request_and_a_table_of_tunnels(one_tunnel_request):
    request = one_tunnel_request

    out = run("vpn_status", str(request.pk))

    lines = out.splitlines()
    assert lines[0] == f"{request.reference} · {request.customer.name}"
    assert "Region:          eu-west-1" in lines
    assert "Stage:           Live" in lines
    assert "Redundancy risk: High" in lines
    assert "Status as of:    2025-03-04 05:06:07 UTC" in lines
    assert not any(line.startswith("Refresh error") for line in lines)
    header, first, second = lines[-3:]
    assert header.split() == [
        "Tunnel", "Outside", "IP", "Status", "Last", "change", "Routes",
        "Up", "24h", "Up", "7d", "Up", "30d", "Message",
    ]  # fmt: skip
    assert first.split() == [
        "1", "203.0.113.21", "Up", "2025-03-01", "05:06:07", "UTC", "2",
        "100.0%", "100.0%", "100.0%", "1", "BGP", "ROUTES",
    ]  # fmt: skip
    assert second.split() == [
        "2", "203.0.113.22", "Unknown", "(not", "used)", "—", "0", "—", "—", "—", "—",
    ]  # fmt: skip
    # The columns line up: each value starts where its heading does.
    assert first.index("203.0.113.21") == header.index("Outside IP")
    assert second.index("—") == header.index("Last change")
    assert first.index("1 BGP ROUTES") == header.index("Message")


def test_vpn_status_shows_the_refresh_error_of_the_requests_region(one_tunnel_request):
    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=FINISHED + timedelta(minutes=1),
        finished_at=FINISHED + timedelta(minutes=1),
        regions=["eu-west-1"],
        errors={"eu-west-1": "DescribeVpnConnections: InternalError: boom"},
    )
    out = run("vpn_status", str(one_tunnel_request.pk))
    assert "Refresh error:   DescribeVpnConnections: InternalError: boom" in out.splitlines()
    assert "Status as of:    2025-03-04 05:07:07 UTC" in out.splitlines()


def test_vpn_status_of_a_request_not_yet_built(se):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    out = run("vpn_status", str(request.pk))
    assert "Redundancy risk: —" in out.splitlines()
    assert "Status as of:    never" in out.splitlines()
    assert out.splitlines()[-1] == "No tunnels yet."


def test_vpn_status_json_prints_exactly_the_selectors_data(one_tunnel_request):
    pk = one_tunnel_request.pk

    out = run("vpn_status", str(pk), "--json")

    expected = request_status(pk=pk)
    assert out == json.dumps(expected, indent=2) + "\n"
    data = json.loads(out)
    assert data == expected
    assert data["redundancy_risk"] == "high"
    assert [t["monitored"] for t in data["tunnels"]] == [True, False]
    assert data["tunnels"][0]["uptime_percent"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_vpn_status_of_an_unknown_request_fails(extra):
    with pytest.raises(CommandError, match=r"^No VPN request with id 987654\.$") as caught:
        run("vpn_status", "987654", *extra)
    assert caught.value.returncode == 1


# --- vpn_refresh_status -----------------------------------------------------------------


def test_vpn_refresh_status_with_nothing_watched_asks_nothing(aws_sandbox):
    VpnRequestFactory(stage=Stage.SUBMITTED)

    out = run("vpn_refresh_status")

    lines = out.splitlines()
    assert lines[0] == "Regions (0): none with a watched VPN"
    assert "AWS calls:       0" in lines
    assert "Requests seen:   0" in lines
    assert "Tunnels changed: 0" in lines
    assert "Stage moves:     0" in lines
    assert "Alerts sent:     0" in lines
    assert lines[-1] == "Tunnel status refreshed."
    run_ = StatusRefresh.objects.get()
    assert run_.trigger == StatusRefresh.Trigger.COMMAND
    assert run_.regions == []
    assert run_.errors == {}
    assert (
        aws_sandbox.control("GET", "/_sandbox/stats")["calls"].get("DescribeVpnConnections", 0) == 0
    )


@pytest.fixture
def watched_in_eu_west_1():
    """A live request with a VPN connection in eu-west-1."""
    request = VpnRequestFactory(stage=Stage.LIVE, region="eu-west-1")
    AwsResource.objects.create(
        request=request,
        role=AwsResourceRole.VPN_CONNECTION,
        resource_id="vpn-0123456789abcdef0",
        region="eu-west-1",
    )
    TunnelFactory(request=request, position=1, status=TunnelStatus.UP)
    TunnelFactory(request=request, position=2, status=TunnelStatus.UP)
    return request


def test_vpn_refresh_status_fails_naming_the_region_aws_did_not_answer(
    aws_sandbox, settings, watched_in_eu_west_1
):
    # One attempt per call, so the injected server error is not retried away.
    settings.AWS_MAX_ATTEMPTS = 1
    aws_sandbox.control(
        "POST",
        "/_sandbox/faults",
        {"action": "DescribeVpnConnections", "error": "server", "rate": 1.0},
    )
    out = StringIO()

    with pytest.raises(CommandError, match=r"Could not read 1 region\(s\).*eu-west-1: ") as caught:
        call_command("vpn_refresh_status", stdout=out)

    assert caught.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "Regions (1): eu-west-1"
    assert "AWS calls:       1" in lines
    assert "Requests seen:   0" in lines
    assert any(line.startswith("Error in eu-west-1: DescribeVpnConnections") for line in lines)
    assert "Tunnel status refreshed." not in lines
    recorded = StatusRefresh.objects.get()
    assert recorded.trigger == StatusRefresh.Trigger.COMMAND
    assert list(recorded.errors) == ["eu-west-1"]
    # The region's tunnels keep their last known status.
    assert set(Tunnel.objects.values_list("status", flat=True)) == {TunnelStatus.UP}


def test_vpn_refresh_status_of_another_region_is_not_held_up_by_it(
    aws_sandbox, settings, watched_in_eu_west_1
):
    settings.AWS_MAX_ATTEMPTS = 1
    aws_sandbox.control(
        "POST",
        "/_sandbox/faults",
        {"action": "DescribeVpnConnections", "error": "server", "rate": 1.0},
    )

    out = run("vpn_refresh_status", "--region", "eu-west-2")

    # The region asked is recorded, though nothing is watched there (so AWS is not asked).
    assert out.splitlines()[:2] == ["Regions (1): eu-west-2", "AWS calls:       0"]
    assert StatusRefresh.objects.get().errors == {}


def test_vpn_refresh_status_refuses_an_unknown_region_before_doing_anything(aws_sandbox):
    with pytest.raises(CommandError, match=r"^Unknown AWS region: mars-1\.$"):
        run("vpn_refresh_status", "--region", "eu-west-1", "--region", "mars-1")
    assert not StatusRefresh.objects.exists()
