"""Negotiated against prescribed: what each up tunnel negotiated (GetActiveVpnTunnelStatus),
read once each time it comes up, shown beside the pack's profile; a drift is flagged on the
page, counted in /metrics and noted in the diagnosis."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from tests.status_support import connection_id, flip, live_vpn
from vpn.services.intake import intake_link_create
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db

WEAK = {"IkeVersion": "ikev1", "Phase1DHGroup": 2}


def negotiate(sandbox, request, position, negotiated):
    tunnel = request.tunnels.get(position=position)
    sandbox.control(
        "POST",
        "/_sandbox/tunnel-negotiated",
        {
            "vpn_connection_id": connection_id(request),
            "outside_ip": tunnel.outside_ip,
            "negotiated": negotiated,
        },
    )


def active_calls(sandbox) -> int:
    return sandbox.control("GET", "/_sandbox/stats")["calls"].get("GetActiveVpnTunnelStatus", 0)


def metric_samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, sample.labels.get("tunnel")): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_what_an_up_tunnel_negotiated_is_read_once_per_time_it_comes_up(aws_sandbox):
    request = live_vpn(aws_sandbox, as_provisioned=True)
    status_refresh()
    assert active_calls(aws_sandbox) == 0  # down tunnels negotiated nothing

    flip(aws_sandbox, request, 1, "UP", accepted_route_count=2)
    status_refresh()
    assert active_calls(aws_sandbox) == 1
    tunnel = request.tunnels.get(position=1)
    assert tunnel.negotiated == {
        "ike_version": "ikev2",
        "phase1_encryption": "AES256",
        "phase1_integrity": "SHA2-256",
        "phase1_dh_group": 14,
        "phase2_encryption": "AES256",
        "phase2_integrity": "SHA2-256",
        "phase2_dh_group": 14,
    }

    status_refresh()
    status_refresh()
    assert active_calls(aws_sandbox) == 1  # steady: not read again

    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    negotiate(aws_sandbox, request, 1, WEAK)
    flip(aws_sandbox, request, 1, "UP", accepted_route_count=2)
    status_refresh()
    assert active_calls(aws_sandbox) == 2
    assert request.tunnels.get(position=1).negotiated["ike_version"] == "ikev1"


def test_a_drift_is_flagged_counted_and_noted(aws_sandbox, se_client):
    request = live_vpn(aws_sandbox, as_provisioned=True)
    status_refresh()
    negotiate(aws_sandbox, request, 2, WEAK)
    for position in (1, 2):
        flip(aws_sandbox, request, position, "UP", accepted_route_count=2)
    status_refresh()

    page = se_client.get(reverse("vpn:request_detail", args=[request.pk])).content.decode()
    assert 'id="tunnel-negotiated"' in page
    assert page.count("drift-flag") == 2  # tunnel 2's IKE version and phase 1 DH group
    assert "Negotiated other than the pack prescribes: IKE version ikev1 (the pack: ikev2)" in page
    assert "Phase 1 DH group 2 (the pack: 14)" in page

    samples = metric_samples(se_client)
    assert samples[("vpn_tunnel_negotiated_drift", "1")] == 0.0
    assert samples[("vpn_tunnel_negotiated_drift", "2")] == 1.0
    assert samples[("vpn_tunnels_negotiated_drift", None)] == 1.0

    out = StringIO()
    call_command("vpn_diagnose", str(request.pk), "--json", stdout=out)
    first, second = json.loads(out.getvalue())["tunnels"]
    assert first["negotiated"]["drift"] is False and first["diagnosis"] is None
    assert second["negotiated"]["drift"] is True
    assert "IKE version ikev1 (the pack: ikev2)" in second["diagnosis"]["drift"]

    token = intake_link_create(request_id=request.pk, send_email=False).token
    customer = Client().get(f"/intake/{token}/").content.decode()
    assert "Your device also agreed to weaker settings than the configuration pack" in customer
    assert 'id="tunnel-negotiated"' not in customer  # the table is the engineer's


def test_a_down_tunnel_counts_no_drift(aws_sandbox, se_client):
    request = live_vpn(aws_sandbox, as_provisioned=True)
    status_refresh()
    negotiate(aws_sandbox, request, 1, WEAK)
    flip(aws_sandbox, request, 1, "UP", accepted_route_count=2)
    status_refresh()
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    samples = metric_samples(se_client)
    assert samples[("vpn_tunnel_negotiated_drift", "1")] == 0.0
    page = se_client.get(reverse("vpn:request_detail", args=[request.pk])).content.decode()
    assert "(when last up)" in page
