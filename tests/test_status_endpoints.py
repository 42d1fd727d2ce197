"""Tunnel status over HTTP: the JSON endpoint, the "Refresh now" button, and /metrics."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage, TunnelStatus
from vpn.models import StatusRefresh, TunnelStatusChange

pytestmark = pytest.mark.django_db

UP, DOWN, UNKNOWN = TunnelStatus.UP, TunnelStatus.DOWN, TunnelStatus.UNKNOWN


def tunnel_with_history(request, position, *, created, history, **fields):
    """A tunnel created at `created` whose status went through `history`: (old, new, at),
    oldest first; it now has the last change's status."""
    tunnel = TunnelFactory(
        request=request,
        position=position,
        status=history[-1][1],
        last_status_change=history[-1][2],
        created_at=created,
        **fields,
    )
    for old, new, at in history:
        TunnelStatusChange.objects.create(
            tunnel=tunnel, old_status=old, new_status=new, changed_at=at
        )
    return tunnel


# --- requests/<pk>/status.json ---------------------------------------------------------


def test_status_json_gives_the_stage_the_risk_and_each_tunnels_uptime(se_client):
    now = timezone.now()
    created = now - timedelta(days=2)
    request = VpnRequestFactory(stage=Stage.DEGRADED, region="eu-west-1", tunnel_count=2)
    # Tunnel 1: unknown for its first hour, then down, then up for the last 12 hours.
    tunnel_with_history(
        request,
        1,
        created=created,
        history=[(UNKNOWN, DOWN, now - timedelta(hours=47)), (DOWN, UP, now - timedelta(hours=12))],
        outside_ip="203.0.113.10",
        accepted_route_count=3,
        status_message="",
    )
    # Tunnel 2: up from its creation until it went down 6 hours ago.
    tunnel_with_history(
        request,
        2,
        created=created,
        history=[(UP, DOWN, now - timedelta(hours=6))],
        outside_ip="203.0.113.11",
        status_message="IPSEC IS DOWN",
    )
    finished = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=finished - timedelta(seconds=2),
        finished_at=finished,
        regions=["eu-west-1"],
        errors={"eu-west-1": "DescribeVpnConnections: InternalError: boom"},
    )

    response = se_client.get(f"/requests/{request.pk}/status.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    tunnels = data.pop("tunnels")
    assert data == {
        "reference": request.reference,
        "id": request.pk,
        "customer": request.customer.name,
        "region": "eu-west-1",
        "stage": "degraded",
        "stage_label": "Degraded",
        "redundancy_risk": "high",
        "tunnel_count": 2,
        "refreshed_at": "2025-03-04T05:06:07+00:00",
        "refresh_error": "DescribeVpnConnections: InternalError: boom",
    }
    first, second = tunnels
    assert {key: first[key] for key in first if key != "uptime_percent"} == {
        "position": 1,
        "outside_ip": "203.0.113.10",
        "monitored": True,
        "status": "UP",
        "status_message": "",
        "last_status_change": (now - timedelta(hours=12)).isoformat(),
        "monitored_since": (now - timedelta(hours=12)).isoformat(),
        "accepted_route_count": 3,
    }
    # Uptime counts from the tunnel's first UP, 12 hours ago: the unknown hour and the
    # 35 hours down before it (the customer not configured yet) are no outage.
    assert first["uptime_percent"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}
    assert second["position"] == 2
    assert second["status"] == "DOWN"
    assert second["status_message"] == "IPSEC IS DOWN"
    assert second["monitored"] is True
    assert second["monitored_since"] == created.isoformat()  # up from its creation
    # 24 hours: up 18, down 6. 7 and 30 days: up 42 of 48.
    assert second["uptime_percent"] == {
        "24h": pytest.approx(75.0, abs=0.01),
        "7d": pytest.approx(87.5, abs=0.01),
        "30d": pytest.approx(87.5, abs=0.01),
    }


def test_status_json_uptime_is_none_while_nothing_is_known(se_client):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER)
    TunnelFactory(request=request, position=1, status=UNKNOWN)

    data = se_client.get(f"/requests/{request.pk}/status.json").json()

    assert data["refreshed_at"] is None
    assert data["refresh_error"] is None
    assert data["tunnels"][0]["uptime_percent"] == {"24h": None, "7d": None, "30d": None}
    assert data["tunnels"][0]["last_status_change"] is None


@pytest.mark.parametrize(
    ("stage", "tunnel_count", "statuses", "risk"),
    [
        (Stage.LIVE, 2, (UP, UP), "low"),
        (Stage.DEGRADED, 2, (UP, DOWN), "high"),
        (Stage.DEGRADED, 2, (DOWN, UP), "high"),
        # One tunnel: never redundant; the second tunnel does not count either way.
        (Stage.LIVE, 1, (UP, DOWN), "high"),
        (Stage.LIVE, 1, (UP, UP), "high"),
        (Stage.DOWN, 1, (DOWN, UP), "down"),
        (Stage.DOWN, 2, (DOWN, DOWN), "down"),
        (Stage.DOWN, 2, (UNKNOWN, DOWN), "down"),
        (Stage.AWAITING_CUSTOMER, 2, (UP, DOWN), "high"),
        # Waiting for the customer with no tunnel up yet: nothing is at risk yet.
        (Stage.AWAITING_CUSTOMER, 2, (DOWN, DOWN), None),
        # Not operational: no risk to speak of.
        (Stage.NAT, 2, (UP, UP), None),
        (Stage.DECOMMISSIONING, 2, (DOWN, DOWN), None),
    ],
)
def test_status_json_redundancy_risk(se_client, stage, tunnel_count, statuses, risk):
    request = VpnRequestFactory(stage=stage, tunnel_count=tunnel_count)
    for position, status in enumerate(statuses, start=1):
        TunnelFactory(request=request, position=position, status=status)

    data = se_client.get(f"/requests/{request.pk}/status.json").json()

    assert data["redundancy_risk"] == risk
    assert [t["monitored"] for t in data["tunnels"]] == [True, tunnel_count == 2]


def test_status_json_of_an_unknown_request_is_a_json_404(se_client):
    response = se_client.get("/requests/987654/status.json")
    assert response.status_code == 404
    assert response.json() == {"error": "No such VPN request."}
    assert response["Cache-Control"] == "no-store"


def test_status_json_sends_an_anonymous_visitor_to_login(client):
    request = VpnRequestFactory(stage=Stage.LIVE)
    response = client.get(f"/requests/{request.pk}/status.json")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_status_json_refuses_a_user_without_the_view_permission(client, django_user_model):
    request = VpnRequestFactory(stage=Stage.LIVE)
    client.force_login(django_user_model.objects.create_user("outsider", password="pass"))
    assert client.get(f"/requests/{request.pk}/status.json").status_code == 403


# --- status/refresh/ --------------------------------------------------------------------


@pytest.fixture
def queued(rq_queue, settings, transactional_db):
    """The real queue, with jobs queued rather than run in the web process.

    Without a test transaction around the view, as in production: the job is queued
    when the view asks (`vpn.events` would otherwise wait for a commit that never comes).
    """
    settings.RQ_ASYNC = True
    return rq_queue


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_refresh_button_queues_a_refresh_of_the_region_and_goes_back(se_client, queued):
    response = se_client.post("/status/refresh/", {"region": "eu-west-1", "next": "/requests/5/"})

    assert response.status_code == 302
    assert response["Location"] == "/requests/5/"
    assert queued.count == 1
    job = queued.jobs[0]
    assert job.func_name == "vpn.jobs.status_refresh"
    assert list(job.args) == ["button", ["eu-west-1"]]
    assert _messages(response) == [
        "Refreshing tunnel status for eu-west-1 now; this page updates when it is done."
    ]


def test_refresh_button_without_a_region_refreshes_every_region(se_client, queued):
    response = se_client.post("/status/refresh/")

    assert response["Location"] == "/"
    assert [list(job.args) for job in queued.jobs] == [["button", None]]
    assert _messages(response) == [
        "Refreshing tunnel status for every region now; this page updates when it is done."
    ]


def test_refresh_button_queues_one_refresh_per_region_at_a_time(se_client, queued):
    first = se_client.post("/status/refresh/", {"region": "eu-west-1"})
    again = se_client.post("/status/refresh/", {"region": "eu-west-1"})
    other = se_client.post("/status/refresh/", {"region": "us-east-1"})

    assert [list(job.args) for job in queued.jobs] == [
        ["button", ["eu-west-1"]],
        ["button", ["us-east-1"]],
    ]
    assert _messages(first) == [
        "Refreshing tunnel status for eu-west-1 now; this page updates when it is done."
    ]
    # (The first message is still unread: the test follows no redirect.)
    assert _messages(again)[-1] == (
        "A refresh of eu-west-1 was asked for moments ago; this page updates when it is done."
    )
    assert other.status_code == 302


def test_refresh_button_refuses_an_unknown_region(se_client, queued):
    response = se_client.post("/status/refresh/", {"region": "mars-1", "next": "/requests/5/"})

    assert response.status_code == 302
    assert response["Location"] == "/requests/5/"
    assert queued.count == 0
    assert _messages(response) == ["“mars-1” is not an AWS region the portal knows."]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/requests/5/", "javascript:alert(1)"]
)
def test_refresh_button_goes_back_only_to_this_site(se_client, queued, target):
    response = se_client.post("/status/refresh/", {"region": "eu-west-1", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert queued.count == 1


def test_refresh_button_is_post_only(se_client, queued):
    assert se_client.get("/status/refresh/").status_code == 405
    assert queued.count == 0


def test_refresh_button_refuses_a_user_without_the_view_permission(
    client, django_user_model, queued
):
    client.force_login(django_user_model.objects.create_user("outsider", password="pass"))
    assert client.post("/status/refresh/", {"region": "eu-west-1"}).status_code == 403
    assert queued.count == 0


# --- /metrics ---------------------------------------------------------------------------

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str | None = TOKEN):
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return client.get("/metrics", headers=headers)


def samples(response) -> dict[tuple[str, frozenset], float]:
    """Every sample of the response: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def labels(request, position, ip, monitored="true") -> frozenset:
    return frozenset(
        {
            "request": request.reference,
            "tunnel": str(position),
            "region": request.region,
            "outside_ip": ip,
            "monitored": monitored,
        }.items()
    )


def test_metrics_with_the_token_gives_each_watched_tunnel_and_the_latest_refresh(
    client, metrics_token
):
    live = VpnRequestFactory(stage=Stage.LIVE, region="eu-west-1", tunnel_count=2)
    TunnelFactory(request=live, position=1, outside_ip="203.0.113.1", accepted_route_count=4)
    TunnelFactory(request=live, position=2, outside_ip="203.0.113.2", status=DOWN)
    single = VpnRequestFactory(stage=Stage.DEGRADED, region="us-east-1", tunnel_count=1)
    TunnelFactory(request=single, position=1, outside_ip="198.51.100.1", status=UNKNOWN)
    TunnelFactory(request=single, position=2, outside_ip="198.51.100.2", accepted_route_count=1)
    # Still being built: its tunnels are not watched yet.
    building = VpnRequestFactory(stage=Stage.NAT)
    TunnelFactory(request=building, position=1)
    finished = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=finished - timedelta(hours=1),
        finished_at=finished - timedelta(hours=1),
        regions=["eu-west-1"],
    )
    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=finished - timedelta(seconds=3),
        finished_at=finished,
        regions=["eu-west-1", "us-east-1"],
        errors={"us-east-1": "Throttling", "eu-west-1": "InternalError"},
    )

    response = scrape(client)

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    assert samples(response) == {
        ("vpn_tunnel_up", labels(live, 1, "203.0.113.1")): 1.0,
        ("vpn_tunnel_up", labels(live, 2, "203.0.113.2")): 0.0,
        ("vpn_tunnel_up", labels(single, 1, "198.51.100.1")): 0.0,
        ("vpn_tunnel_up", labels(single, 2, "198.51.100.2", "false")): 1.0,
        ("vpn_tunnel_accepted_routes", labels(live, 1, "203.0.113.1")): 4.0,
        ("vpn_tunnel_accepted_routes", labels(live, 2, "203.0.113.2")): 0.0,
        ("vpn_tunnel_accepted_routes", labels(single, 1, "198.51.100.1")): 0.0,
        ("vpn_tunnel_accepted_routes", labels(single, 2, "198.51.100.2", "false")): 1.0,
        # Nothing negotiated yet (no drift) and no AWS maintenance pending.
        **{
            (name, labels(request, position, ip, *monitored)): 0.0
            for name in ("vpn_tunnel_negotiated_drift", "vpn_tunnel_maintenance_pending")
            for request, position, ip, *monitored in (
                (live, 1, "203.0.113.1"),
                (live, 2, "203.0.113.2"),
                (single, 1, "198.51.100.1"),
                (single, 2, "198.51.100.2", "false"),
            )
        },
        ("vpn_tunnels_negotiated_drift", frozenset()): 0.0,
        ("vpn_status_refresh_timestamp_seconds", frozenset()): finished.timestamp(),
        ("vpn_status_refresh_errors", frozenset()): 2.0,
    }
    families = {f.name: f.type for f in text_string_to_metric_families(response.content.decode())}
    assert set(families.values()) == {"gauge"}


def test_metrics_before_any_refresh_has_no_refresh_series(client, metrics_token):
    response = scrape(client)
    assert response.status_code == 200
    names = {name for name, _ in samples(response)}
    assert names == set()  # no tunnels, no refresh: empty gauges only
    assert "vpn_status_refresh_timestamp_seconds" not in response.content.decode()
    assert "# TYPE vpn_tunnel_up gauge" in response.content.decode()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_metrics_without_the_right_token_is_a_401(client, metrics_token, authorization):
    headers = {} if authorization is None else {"authorization": authorization}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="vpn-portal"'
    assert "vpn_tunnel_up" not in response.content.decode()


@pytest.mark.parametrize("authorization", ["Bearer ", "Bearer", "Bearer  "])
def test_metrics_never_accepts_an_empty_token(client, settings, authorization):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", headers={"authorization": authorization})
    assert response.status_code == 401


def test_metrics_for_a_logged_in_engineer_needs_no_token(se_client, metrics_token):
    VpnRequestFactory(stage=Stage.LIVE)
    response = scrape(se_client, token=None)
    assert response.status_code == 200
    assert "# TYPE vpn_tunnel_up gauge" in response.content.decode()


def test_metrics_refuses_a_logged_in_user_without_the_view_permission(
    client, django_user_model, settings
):
    settings.METRICS_TOKEN = ""
    client.force_login(django_user_model.objects.create_user("outsider", password="pass"))
    assert client.get("/metrics").status_code == 401


def test_metrics_is_get_only(client, metrics_token):
    assert client.post("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_metrics_query_count_does_not_grow_with_the_tunnels(
    client, metrics_token, django_assert_max_num_queries
):
    def requests_with_tunnels(count):
        for _ in range(count):
            request = VpnRequestFactory(stage=Stage.LIVE)
            TunnelFactory(request=request, position=1)
            TunnelFactory(request=request, position=2)

    StatusRefresh.objects.create(
        trigger=StatusRefresh.Trigger.SCHEDULE,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    requests_with_tunnels(2)
    with django_assert_max_num_queries(2) as few:
        assert scrape(client).status_code == 200
    requests_with_tunnels(18)
    with django_assert_max_num_queries(2) as many:
        response = scrape(client)
    assert len({labels for name, labels in samples(response) if name == "vpn_tunnel_up"}) == 40
    assert len(many.captured_queries) == len(few.captured_queries)
