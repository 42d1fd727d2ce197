"""Shared by the change tests: VPNs provisioned for real in the sandbox and brought live,
and readers of what a change left behind (AWS's view, the sandbox's record, emails)."""

from datetime import datetime
from urllib.parse import quote

from django.core import mail

from tests.factories import VpnRequestFactory
from tests.status_support import bring_live, connection_id
from vpn.choices import Routing, Stage
from vpn.models import ConfigPack, VpnRequest
from vpn.services.stages import request_move


def provisioned_vpn(sandbox, run_jobs, *, live: bool = True, **fields) -> VpnRequest:
    """A request provisioned through the real flow (approval, the five steps as RQ jobs
    against the sandbox), and with `live`, its tunnels brought UP by the status refresh."""
    defaults = {
        "stage": Stage.SUBMITTED,
        "region": "us-east-1",
        "routing": Routing.STATIC,
        "static_subnets": ["192.168.10.0/24"],
        "bgp_asn": None,
        "advertised_prefixes": [],
        "customer__contact_email": "noc@customer.example",
    }
    request = VpnRequestFactory(**{**defaults, **fields})
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    if live:
        request = bring_live(sandbox, request)
    return request


def aws_connection(sandbox, request: VpnRequest) -> dict:
    """The request's VPN connection as AWS (the sandbox) describes it now."""
    (connection,) = sandbox.ec2(request.region).describe_vpn_connections(
        VpnConnectionIds=[connection_id(request)]
    )["VpnConnections"]
    return connection


def aws_keys(sandbox, request: VpnRequest) -> dict[str, str]:
    """Each tunnel's pre-shared key in AWS, by outside IP."""
    return {
        tunnel["OutsideIpAddress"]: tunnel["PreSharedKey"]
        for tunnel in aws_connection(sandbox, request)["Options"]["TunnelOptions"]
    }


def all_tunnels_down_since(sandbox, request: VpnRequest, since: datetime) -> dict:
    """Whether the sandbox's telemetry showed every tunnel DOWN at once since `since`."""
    return sandbox.control(
        "GET",
        f"/_sandbox/all-tunnels-down?vpn_connection_id={connection_id(request)}"
        f"&since={quote(since.isoformat())}",
    )


def hold(sandbox, request: VpnRequest, position: int, held: bool = True) -> dict:
    """Hold a tunnel DOWN in the sandbox (a device without the new values), or let go."""
    return sandbox.control(
        "POST",
        "/_sandbox/tunnel-hold",
        {
            "vpn_connection_id": connection_id(request),
            "outside_ip": request.tunnels.get(position=position).outside_ip,
            "held": held,
        },
    )


def latest_pack(request: VpnRequest) -> ConfigPack:
    """The request's latest config pack version."""
    return ConfigPack.objects.filter(request=request).latest("version")


def customer_emails(request: VpnRequest) -> list:
    """The emails sent to the request's customer contact."""
    return [m for m in mail.outbox if m.to == [request.customer.contact_email]]
