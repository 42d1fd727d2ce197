"""Helpers for the tunnel status tests: VPNs that really exist in the sandbox, made fast.

Full provisioning renders PDFs and walks five setup steps; the status refresh only needs
what it reads: a tagged VPN connection in the sandbox, the request's `AwsResource` row
for it and the tunnels recorded the way provisioning records them. Telemetry then
changes only through the sandbox's control API, as AWS's would behind the portal's back.
"""

import itertools

from django.conf import settings

from tests.factories import VpnRequestFactory
from vpn import aws
from vpn.choices import AwsResourceRole, Routing, Stage
from vpn.models import AwsAccount, AwsResource, TunnelStatusChange, VpnRequest
from vpn.services.provisioning import tunnels_record
from vpn.services.status import status_refresh
from vpn.tunnel_profile import tunnel_profile

# Customer gateway addresses: the sandbox keeps 192.0.2.0/24 for customer gateways, and
# it answers a repeated CreateCustomerGateway with the gateway it already has, so every
# VPN of a test gets an address of its own (the sandbox is reset between tests).
_CUSTOMER_GATEWAY_HOSTS = itertools.cycle(range(1, 255))


def live_vpn(
    sandbox,
    *,
    region: str = "us-east-1",
    tunnel_count: int = 2,
    owner=None,
    stage: str = Stage.AWAITING_CUSTOMER,
    contact_email: str = "noc@customer.example",
    as_provisioned: bool = False,
    account: AwsAccount | None = None,
    **request_fields,
) -> VpnRequest:
    """A request in `stage` whose VPN connection exists in the sandbox, tunnels recorded.

    Its telemetry starts as the sandbox's does for a new connection: both tunnels DOWN.
    `as_provisioned` gives the tunnels the options provisioning gives them (the pack's
    profile, lifecycle control, IKE and BGP logs to the region's log group); otherwise
    they have AWS's defaults. With `account`, the request is placed in that account and
    its resources are made there (through the portal's own client, acting in it).
    """
    ip = request_fields.pop("customer_gateway_ip", None) or (
        f"192.0.2.{next(_CUSTOMER_GATEWAY_HOSTS)}"
    )
    request = VpnRequestFactory(
        stage=stage,
        region=region,
        tunnel_count=tunnel_count,
        owner=owner,
        customer_gateway_ip=ip,
        customer__contact_email=contact_email,
        account=account,
        **request_fields,
    )
    with aws.acting_for(account):
        ec2 = sandbox.ec2(region) if account is None else aws.ec2(region)
        customer_gateway = ec2.create_customer_gateway(
            Type="ipsec.1",
            PublicIp=ip,
            BgpAsn=65000,
            TagSpecifications=_tagged(
                "customer-gateway", request, AwsResourceRole.CUSTOMER_GATEWAY
            ),
        )["CustomerGateway"]
        vpn_gateway = ec2.create_vpn_gateway(
            Type="ipsec.1",
            TagSpecifications=_tagged("vpn-gateway", request, AwsResourceRole.VPN_GATEWAY),
        )["VpnGateway"]
        options = {"StaticRoutesOnly": request.routing == Routing.STATIC}
        if as_provisioned:
            arn = aws.log_group_ensure(
                region,
                name=settings.TUNNEL_LOG_GROUP,
                retention_days=settings.TUNNEL_LOG_RETENTION_DAYS,
            )
            tunnel_options = tunnel_profile(request.ike_version).aws_options(
                inside_cidr="", psk="", log_group_arn=arn
            )
            # The sandbox picks the inside CIDRs and keys, as AWS would.
            del tunnel_options["TunnelInsideCidr"], tunnel_options["PreSharedKey"]
            options["TunnelOptions"] = [tunnel_options, tunnel_options]
        connection_id = ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=customer_gateway["CustomerGatewayId"],
            VpnGatewayId=vpn_gateway["VpnGatewayId"],
            Options=options,
            TagSpecifications=_tagged("vpn-connection", request, AwsResourceRole.VPN_CONNECTION),
        )["VpnConnection"]["VpnConnectionId"]
        AwsResource.objects.create(
            request=request,
            role=AwsResourceRole.VPN_CONNECTION,
            resource_id=connection_id,
            region=region,
            state="available",
        )
        # Read back through the portal's own door to AWS, as provisioning does.
        (connection,) = aws.vpn_connections_describe(region, ids=[connection_id])
        # The tests' sandbox has no state delay: a new connection is available at once.
        assert connection.state == "available", connection.state
    tunnels_record(request=request, connection=connection)
    return request


def _tagged(resource_type: str, request: VpnRequest, role: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": aws.tags(request.pk, role)}]


def inject(sandbox, request: VpnRequest, position: int, cause: str) -> dict:
    """Make a known cause (`sandbox.tunnel_logs.CAUSES`) happen on the request's tunnel."""
    tunnel = request.tunnels.get(position=position)
    return sandbox.control(
        "POST",
        "/_sandbox/tunnel-cause",
        {
            "vpn_connection_id": connection_id(request),
            "outside_ip": tunnel.outside_ip,
            "cause": cause,
        },
    )


def connection_id(request: VpnRequest) -> str:
    """The id of the request's VPN connection in the sandbox."""
    return request.resources.get(role=AwsResourceRole.VPN_CONNECTION).resource_id


def flip(sandbox, request: VpnRequest, position: int, status: str, message=None, **extra) -> dict:
    """Set the telemetry of the request's tunnel `position` in the sandbox (UP or DOWN).

    `extra` passes other control API fields through (e.g. `accepted_route_count`).
    """
    tunnel = request.tunnels.get(position=position)
    payload = {
        "vpn_connection_id": connection_id(request),
        "outside_ip": tunnel.outside_ip,
        "status": status,
        **extra,
    }
    if message is not None:
        payload["message"] = message
    return sandbox.control("POST", "/_sandbox/tunnel-status", payload)


def describe_calls(sandbox) -> int:
    """How many DescribeVpnConnections calls the sandbox has answered since its reset."""
    return sandbox.control("GET", "/_sandbox/stats")["calls"].get("DescribeVpnConnections", 0)


def bring_live(sandbox, request: VpnRequest) -> VpnRequest:
    """Refresh once (telemetry DOWN), bring every tunnel UP in the sandbox, refresh again.

    The request is then live, reached the way the product gets there.
    """
    status_refresh()
    for tunnel in request.tunnels.all():
        flip(sandbox, request, tunnel.position, "UP")
    status_refresh()
    request.refresh_from_db()
    assert request.stage == Stage.LIVE
    return request


def history(request: VpnRequest, position: int) -> list[tuple[str, str]]:
    """The tunnel's status changes as (old, new), oldest first."""
    return list(
        TunnelStatusChange.objects.filter(tunnel__request=request, tunnel__position=position)
        .order_by("changed_at", "pk")
        .values_list("old_status", "new_status")
    )
