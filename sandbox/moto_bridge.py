"""Everything that touches moto's internals, in one place.

The sandbox is built on moto 5.2.5's server mode and relies on these internals:

* ``DomainDispatcherApplication`` and ``create_backend_app``, and the fact that the EC2
  Flask app sends every request to the single endpoint ``EC2Response.dispatch``;
* ``EC2Response``: one method per action (``create_vpn_connection`` for
  ``CreateVpnConnection``), ``_get_param`` returning values parsed by botocore's model,
  ``region``, ``ec2_backend``, ``_parse_tag_specification``, ``_filters_from_querystring``,
  and ``ActionResult`` objects serialised from attributes named after the API's fields;
  ``moto.ec2.utils.add_tag_specification``;
* the EC2 backend's dictionaries (``vpn_connections``, ``customer_gateways``,
  ``nat_gateways``, ``tags``, ...), its ``addresses`` list and ``allocate_address`` with
  an explicit address, and getters (``get_vpn_gateway``...);
* ``moto_api_backend.reset()``, and two caches that outlive it (see :func:`reset_moto`);
* ``moto.settings.ec2_load_default_amis``, consulted whenever an EC2 backend is built;
* moto's CloudWatch Logs backends (``moto.logs.models.logs_backends``): their ``groups``
  and ``create_log_stream`` / ``put_log_events``, where the sandbox writes tunnel logs.

moto is pinned exactly; importing this module with another version fails at once, and
``tests/sandbox/test_moto_contract.py`` checks the internals above, so an upgrade is a
deliberate act. No moto class is patched: the sandbox subclasses ``EC2Response`` and
routes only its own server's EC2 traffic to the subclass; the one moto setting it changes
(default AMIs) is changed only for the duration of its own calls.
"""

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import moto
import moto.settings
from moto.core.base_backend import AccountSpecificBackend
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import convert_to_flask_response
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.subnets import Subnet
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification, random_vpn_connection_id
from moto.logs.models import logs_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from sandbox import devices, filters, gateway_config
from sandbox.errors import ApiError, invalid_parameter
from sandbox.state import SandboxState
from sandbox.tunnel_logs import LogGroup
from sandbox.validation import check_amazon_asn, check_customer_asn, check_ipv4_address
from sandbox.vpn import VpnConnection

PINNED_MOTO_VERSION = "5.2.5"
if moto.__version__ != PINNED_MOTO_VERSION:
    raise RuntimeError(
        f"The AWS sandbox extends moto {PINNED_MOTO_VERSION}'s internals but moto "
        f"{moto.__version__} is installed; re-check sandbox/moto_bridge.py before upgrading."
    )

# The Flask endpoint moto's EC2 app routes every request to.
EC2_ENDPOINT = "EC2Response.dispatch"

# AWS's defaults when the caller gives none.
DEFAULT_AMAZON_ASN = 64512
DEFAULT_CUSTOMER_ASN = 65000
GATEWAY_TYPE = "ipsec.1"

CUSTOMER_GATEWAY_FILTERS = ("customer-gateway-id", "ip-address", "bgp-asn", "type", "state")
VPN_CONNECTION_FILTERS = (
    "customer-gateway-id",
    "vpn-connection-id",
    "vpn-gateway-id",
    "transit-gateway-id",
    "state",
    "type",
    "bgp-asn",
    "option.static-routes-only",
    "route.destination-cidr-block",
)


# moto's backends are process-wide, shared by every sandbox server in the process.
# Re-entrant: an EC2 call that makes a tunnel change writes its log events to moto's
# CloudWatch Logs while the call itself holds the lock.
_MOTO_LOCK = threading.RLock()


@contextmanager
def _calling_moto() -> Iterator[None]:
    """Serialise calls into moto, and build EC2 backends without its default AMIs.

    Each backend moto builds (one per region, again after every reset) creates an AMI, a
    volume and a snapshot for each of ~1,300 fake public images: about 0.3 s that a VPN
    portal never uses, and the bulk of a reset. moto only offers an environment variable
    to turn them off, which the sandbox must not depend on, so the setting is swapped for
    the duration of the sandbox's own calls and restored afterwards; anything else using
    moto in the same process keeps the default.
    """
    with _MOTO_LOCK:
        original = moto.settings.ec2_load_default_amis
        moto.settings.ec2_load_default_amis = lambda: False
        try:
            yield
        finally:
            moto.settings.ec2_load_default_amis = original


class MotoLogSink:
    """Tunnel log events, stored in moto's CloudWatch Logs (where ``FilterLogEvents``
    and the other Logs calls to the sandbox find them)."""

    def exists(self, group: LogGroup) -> bool:
        """Whether the log group exists in moto."""
        with _calling_moto():
            return group.name in logs_backends[group.account][group.region].groups

    def put(self, group: LogGroup, stream: str, events: list[tuple[int, str]]) -> None:
        """Append the events to the stream (made on first use); a deleted group loses them."""
        with _calling_moto():
            backend = logs_backends[group.account][group.region]
            log_group = backend.groups.get(group.name)
            if log_group is None:
                return
            if stream not in log_group.streams:
                backend.create_log_stream(group.name, stream)
            backend.put_log_events(
                group.name,
                stream,
                [{"timestamp": millis, "message": message} for millis, message in events],
            )


def build_moto_app(state: SandboxState) -> Any:
    """moto's WSGI server application, with this sandbox's EC2 API in place of moto's,
    and the sandbox's tunnel logs written to moto's CloudWatch Logs."""
    state.tunnel_logs.sink = MotoLogSink()
    # A subclass per server, so that each server's requests see that server's state.
    response_class = type("BoundSandboxEC2Response", (SandboxEC2Response,), {"sandbox": state})

    def create_app(service: Any) -> Any:
        """moto's app for a service; for EC2, routed to the bound subclass."""
        app = create_backend_app(service)
        if service == "ec2":
            if EC2_ENDPOINT not in app.view_functions:
                raise RuntimeError(f"moto's EC2 app has no {EC2_ENDPOINT} endpoint any more")
            app.view_functions[EC2_ENDPOINT] = convert_to_flask_response(response_class.dispatch)
        return app

    dispatcher = DomainDispatcherApplication(create_app)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI entry: moto's dispatcher, one call at a time."""
        with _calling_moto():
            return dispatcher(environ, start_response)

    return app


def account_of(access_key_id: str) -> str:
    """The account moto acts in for `access_key_id` (an assumed role's keys act in the
    role's account; any other key in moto's default account)."""
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key_id)


def reset_moto() -> None:
    """Clear every moto backend (all services, accounts and regions)."""
    with _calling_moto():
        moto_api_backend.reset()
    # Two moto caches are keyed on model instances and keep every discarded backend
    # (thousands of objects each, AMIs included) alive after a reset: the region lists
    # of each account's backend container, and each subnet's address iterator. A test
    # session resetting before every test would grow without bound and slow down as the
    # garbage collector wades through it. No live subnet survives a reset, so dropping
    # both caches loses nothing.
    AccountSpecificBackend._generate_regions.cache_clear()
    Subnet._base_avail_ip_iterator.cache_clear()


class SandboxVpnConnection(TaggedEC2Resource):
    """A VPN connection as moto's backend and serializer see it.

    The data lives in a :class:`sandbox.vpn.VpnConnection`; this view sits in the
    backend's ``vpn_connections`` (so tagging and moto's existence checks work) and
    exposes the attributes the serializer reads, named after ``VpnConnection``'s fields.
    """

    category = "VPN"

    def __init__(self, ec2_backend: Any, record: VpnConnection, tags: dict[str, str]):
        self.ec2_backend = ec2_backend
        self.record = record
        self.id = self.vpn_connection_id = record.id
        self.type = record.type
        self.customer_gateway_id = record.customer_gateway_id
        self.vpn_gateway_id = record.vpn_gateway_id
        self.transit_gateway_id = record.transit_gateway_id
        self.add_tags(tags)

    def get_tags(self) -> list[dict[str, str]]:
        """Tags read straight from the tag store (moto's own lookup scans every tag)."""
        return [
            {"Key": key, "Value": value}
            for key, value in self.ec2_backend.tags.get(self.id, {}).items()
        ]

    @property
    def state(self) -> str:
        """The connection's current state."""
        return self.record.state

    @property
    def options(self) -> dict[str, Any]:
        """``Options``, tunnels included."""
        return self.record.describe_options()

    @property
    def routes(self) -> list[dict[str, str]]:
        """``Routes``: the static routes and their states."""
        return self.record.describe_routes()

    @property
    def vgw_telemetry(self) -> list[dict[str, Any]]:
        """``VgwTelemetry``: one status entry per tunnel."""
        return self.record.describe_telemetry()

    @property
    def customer_gateway_configuration(self) -> str | None:
        """The configuration document, present only while pending or available (as AWS)."""
        if self.record.state in ("pending", "available", "modifying"):
            return gateway_config.render(self.record)
        return None


def _tags_of(resource: Any) -> dict[str, str]:
    return resource.ec2_backend.tags.get(resource.id, {})


def _customer_gateway_fields(gateway: Any) -> dict[str, Any]:
    return {
        "customer-gateway-id": gateway.id,
        "ip-address": gateway.ip_address,
        "bgp-asn": gateway.bgp_asn,
        "type": gateway.type,
        "state": gateway.state,
    }


def _vpn_connection_fields(view: SandboxVpnConnection) -> dict[str, Any]:
    record = view.record
    return {
        "customer-gateway-id": record.customer_gateway_id,
        "vpn-connection-id": record.id,
        "vpn-gateway-id": record.vpn_gateway_id,
        "transit-gateway-id": record.transit_gateway_id,
        "state": record.state,
        "type": record.type,
        "bgp-asn": record.customer_asn,
        "option.static-routes-only": record.static_routes_only,
        "route.destination-cidr-block": list(record.routes),
    }


def _propagating_vgws(route_table: Any) -> list[dict[str, str]]:
    # moto's route tables have no notion of propagation; the sandbox keeps it on them
    # so that a moto reset clears it along with the tables.
    if not hasattr(route_table, "propagating_vgws"):
        route_table.propagating_vgws = []
    return route_table.propagating_vgws


class SandboxEC2Response(EC2Response):
    """moto's EC2 API plus the sandbox's VPN behaviour, lifecycles and validation.

    Methods are named after the API actions, as moto dispatches them. Each one reads the
    request, delegates to the plain-Python modules, and returns an ``ActionResult`` that
    moto serialises with botocore's own model of the response.
    """

    sandbox: SandboxState  # bound per server by build_moto_app

    def call_action(self) -> Any:
        """Dispatch like moto, answering the sandbox's own errors in EC2's shape."""
        try:
            return super().call_action()
        except ApiError as error:
            return error.status, {"Content-Type": "text/xml"}, error.to_xml()

    # -- helpers -------------------------------------------------------------------------

    def _vpn_view(self, connection_id: str) -> SandboxVpnConnection:
        view = self.ec2_backend.vpn_connections.get(connection_id)
        if view is None:
            raise ApiError(
                "InvalidVpnConnectionID.NotFound",
                f"The vpnConnection ID '{connection_id}' does not exist",
            )
        return view

    # -- customer gateways -----------------------------------------------------------------

    def create_customer_gateway(self) -> ActionResult:
        """Validate like AWS, and return the existing gateway for a repeated request."""
        gateway_type = self._get_param("Type")
        if gateway_type != GATEWAY_TYPE:
            raise invalid_parameter(f"Value ({gateway_type}) for parameter Type is invalid.")
        address = self._get_param("IpAddress") or self._get_param("PublicIp")
        address = check_ipv4_address(address, "IpAddress")
        asn = self._get_param("BgpAsnExtended")
        if asn is None:
            asn = self._get_param("BgpAsn", DEFAULT_CUSTOMER_ASN)
        asn = str(check_customer_asn(asn, self.region))
        tags = self._parse_tag_specification().get("customer-gateway", {})

        backend = self.ec2_backend
        # AWS answers a repeated request with the available gateway it already has.
        wanted = ("available", address, asn, gateway_type)
        for gateway in backend.customer_gateways.values():
            if (gateway.state, gateway.ip_address, str(gateway.bgp_asn), gateway.type) == wanted:
                return ActionResult({"CustomerGateway": gateway})
        gateway = backend.create_customer_gateway(
            gateway_type, ip_address=address, bgp_asn=asn, tags=tags
        )
        return ActionResult({"CustomerGateway": gateway})

    def describe_customer_gateways(self) -> ActionResult:
        """Describe with AWS's filters, including tags and state."""
        gateways = self.ec2_backend.customer_gateways
        ids = list(dict.fromkeys(self._get_param("CustomerGatewayIds", [])))
        for gateway_id in ids:
            if gateway_id not in gateways:
                raise ApiError(
                    "InvalidCustomerGatewayID.NotFound",
                    f"The customerGateway ID '{gateway_id}' does not exist",
                )
        candidates = [gateways[i] for i in ids] if ids else list(gateways.values())
        selected = filters.select(
            candidates,
            self._filters_from_querystring(),
            fields=_customer_gateway_fields,
            tags=_tags_of,
            known=CUSTOMER_GATEWAY_FILTERS,
        )
        return ActionResult({"CustomerGateways": selected})

    # -- VPN gateways ------------------------------------------------------------------------

    def create_vpn_gateway(self) -> ActionResult:
        """Validate the Amazon-side ASN and default it to 64512, as AWS does."""
        gateway_type = self._get_param("Type")
        if gateway_type != GATEWAY_TYPE:
            raise invalid_parameter(f"Value ({gateway_type}) for parameter Type is invalid.")
        asn = self._get_param("AmazonSideAsn")
        asn = DEFAULT_AMAZON_ASN if asn is None else check_amazon_asn(asn)
        result = super().create_vpn_gateway()
        result.result["VpnGateway"].amazon_side_asn = asn
        return result

    def attach_vpn_gateway(self) -> ActionResult:
        """Attach, ``attaching`` first and ``attached`` after the delay."""
        result = super().attach_vpn_gateway()
        self.sandbox.lifecycle.transition(result.result["VpcAttachment"], "attaching", "attached")
        return result

    def detach_vpn_gateway(self) -> ActionResult:
        """Detach, ``detaching`` first and ``detached`` after the delay."""
        gateway_id = self._get_param("VpnGatewayId")
        vpc_id = self._get_param("VpcId")
        attachment = self.ec2_backend.detach_vpn_gateway(gateway_id, vpc_id)
        self.sandbox.lifecycle.transition(attachment, "detaching", "detached")
        return EmptyResult()

    # -- elastic IPs -------------------------------------------------------------------------

    def allocate_address(self) -> ActionResult:
        """Allocate from the sandbox's elastic IP ranges (moto's own are loopback addresses)."""
        if self._get_param("Address") is not None:
            return super().allocate_address()  # a specific address asked for back
        public_ip = self.sandbox.elastic_ips.allocate()
        tags = add_tag_specification(self._get_param("TagSpecifications", []))
        address = self.ec2_backend.allocate_address(
            self._get_param("Domain"), address=public_ip, tags=tags
        )
        return ActionResult(
            {
                "PublicIp": address.public_ip,
                "Domain": address.domain,
                "AllocationId": address.allocation_id,
            }
        )

    def release_address(self) -> ActionResult:
        """Release as moto does, and give the address back to the sandbox's range."""
        public_ip = self._get_param("PublicIp")
        allocation_id = self._get_param("AllocationId")
        if public_ip is None:
            public_ip = next(
                (
                    a.public_ip
                    for a in self.ec2_backend.addresses
                    if a.allocation_id == allocation_id
                ),
                None,
            )
        result = super().release_address()
        if public_ip is not None:
            self.sandbox.elastic_ips.release(public_ip)
        return result

    # -- NAT gateways ----------------------------------------------------------------------

    def create_nat_gateway(self) -> ActionResult:
        """Create, ``pending`` first and ``available`` after the delay."""
        result = super().create_nat_gateway()
        self.sandbox.lifecycle.transition(result.result["NatGateway"], "pending", "available")
        return result

    def delete_nat_gateway(self) -> ActionResult:
        """Delete, ``deleting`` first and ``deleted`` after the delay."""
        gateway_id = self._get_param("NatGatewayId")
        gateway = self.ec2_backend.nat_gateways.get(gateway_id)
        if gateway is None:
            raise ApiError("NatGatewayNotFound", f"NAT gateway {gateway_id} was not found")
        if gateway.state not in ("deleting", "deleted"):
            self.sandbox.lifecycle.transition(gateway, "deleting", "deleted")
        return ActionResult({"NatGatewayId": gateway_id})

    # -- route tables ----------------------------------------------------------------------

    def describe_route_tables(self) -> ActionResult:
        """Describe like moto, adding ``PropagatingVgws`` (empty unless enabled)."""
        result = super().describe_route_tables()
        for route_table in result.result["RouteTables"]:
            _propagating_vgws(route_table)
        return result

    def _propagation_target(self) -> tuple[Any, str]:
        route_table = self.ec2_backend.get_route_table(self._get_param("RouteTableId"))
        gateway_id = self._get_param("GatewayId")
        gateway = self.ec2_backend.get_vpn_gateway(gateway_id)
        attachment = gateway.attachments.get(route_table.vpc_id)
        if attachment is None or attachment.state not in ("attaching", "attached"):
            raise ApiError(
                "Gateway.NotAttached",
                f"resource {gateway_id} is not attached to network {route_table.vpc_id}",
            )
        return route_table, gateway_id

    def enable_vgw_route_propagation(self) -> ActionResult:
        """Let a VPN gateway's routes propagate into a route table of its VPC."""
        route_table, gateway_id = self._propagation_target()
        propagating = _propagating_vgws(route_table)
        if {"GatewayId": gateway_id} not in propagating:
            propagating.append({"GatewayId": gateway_id})
        return EmptyResult()

    def disable_vgw_route_propagation(self) -> ActionResult:
        """Stop a VPN gateway's routes propagating into a route table."""
        route_table, gateway_id = self._propagation_target()
        propagating = _propagating_vgws(route_table)
        if {"GatewayId": gateway_id} in propagating:
            propagating.remove({"GatewayId": gateway_id})
        return EmptyResult()

    # -- VPN connections -------------------------------------------------------------------

    def create_vpn_connection(self) -> ActionResult:
        """Create a connection with real tunnels; it starts ``pending``."""
        backend = self.ec2_backend
        gateway_type = self._get_param("Type")
        if gateway_type != GATEWAY_TYPE:
            raise invalid_parameter(f"Value ({gateway_type}) for parameter Type is invalid.")
        vpn_gateway_id = self._get_param("VpnGatewayId")
        transit_gateway_id = self._get_param("TransitGatewayId")
        if vpn_gateway_id and transit_gateway_id:
            raise invalid_parameter(
                "The request must not contain both parameter vpnGatewayId and transitGatewayId"
            )
        if not (vpn_gateway_id or transit_gateway_id):
            raise ApiError(
                "MissingParameter",
                "The request must contain the parameter vpnGatewayId or transitGatewayId",
            )
        tags = self._parse_tag_specification().get("vpn-connection", {})
        customer_gateway = backend.get_customer_gateway(self._get_param("CustomerGatewayId"))
        if customer_gateway.state != "available":
            raise ApiError(
                "InvalidCustomerGatewayState",
                f"The customer gateway {customer_gateway.id} is not available.",
            )
        amazon_asn = self._amazon_side_asn(vpn_gateway_id, transit_gateway_id)

        record = self.sandbox.vpn.create(
            random_vpn_connection_id(),
            gateway_id=vpn_gateway_id or transit_gateway_id,
            customer_gateway_id=customer_gateway.id,
            customer_gateway_ip=customer_gateway.ip_address,
            customer_asn=customer_gateway.bgp_asn,
            amazon_asn=amazon_asn,
            options=self._get_param("Options") or {},
            vpn_gateway_id=vpn_gateway_id,
            transit_gateway_id=transit_gateway_id,
        )
        view = SandboxVpnConnection(backend, record, tags)
        backend.vpn_connections[record.id] = view
        if transit_gateway_id:
            backend.create_transit_gateway_vpn_attachment(
                vpn_id=record.id, transit_gateway_id=transit_gateway_id
            )
        return ActionResult({"VpnConnection": view})

    def _amazon_side_asn(self, vpn_gateway_id: str | None, transit_gateway_id: str | None) -> int:
        """The AWS end's ASN, from the gateway the connection is made on."""
        if vpn_gateway_id:
            vpn_gateway = self.ec2_backend.get_vpn_gateway(vpn_gateway_id)
            if vpn_gateway.state != "available":
                raise ApiError(
                    "InvalidVpnGatewayState", f"The VPN gateway {vpn_gateway_id} is not available."
                )
            return int(vpn_gateway.amazon_side_asn or DEFAULT_AMAZON_ASN)
        transit_gateway = self.ec2_backend.transit_gateways.get(transit_gateway_id)
        if transit_gateway is None:
            raise ApiError(
                "InvalidTransitGatewayID.NotFound",
                f"The transitGateway ID '{transit_gateway_id}' does not exist",
            )
        return int(transit_gateway.options.get("AmazonSideAsn", DEFAULT_AMAZON_ASN))

    def delete_vpn_connection(self) -> ActionResult:
        """Delete: ``deleting``, then ``deleted`` (still listed), then gone."""
        backend = self.ec2_backend
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        self.sandbox.vpn.delete(
            view.record, on_purge=lambda: backend.vpn_connections.pop(view.id, None)
        )
        if view.record.transit_gateway_id:
            for attachment in backend.describe_transit_gateway_attachments():
                if attachment.resource_id == view.id:
                    attachment.state = "deleted"
        return EmptyResult()

    def describe_vpn_connections(self) -> ActionResult:
        """Describe by id (quick lookups) and with AWS's filters."""
        connections = self.ec2_backend.vpn_connections
        ids = list(dict.fromkeys(self._get_param("VpnConnectionIds", [])))
        candidates = [self._vpn_view(i) for i in ids] if ids else list(connections.values())
        selected = filters.select(
            candidates,
            self._filters_from_querystring(),
            fields=_vpn_connection_fields,
            tags=_tags_of,
            known=VPN_CONNECTION_FILTERS,
        )
        return ActionResult({"VpnConnections": selected})

    def create_vpn_connection_route(self) -> ActionResult:
        """Add a static route (static-routing connections only, as in AWS)."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        if not view.record.static_routes_only:
            raise ApiError(
                "InvalidVpnConnection.InvalidType",
                f"The VPN connection {view.id} does not use static routing.",
            )
        self.sandbox.vpn.add_route(view.record, self._get_param("DestinationCidrBlock"))
        return EmptyResult()

    def delete_vpn_connection_route(self) -> ActionResult:
        """Remove a static route."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        self.sandbox.vpn.remove_route(view.record, self._get_param("DestinationCidrBlock"))
        return EmptyResult()

    def modify_vpn_connection(self) -> ActionResult:
        """Move the connection onto another customer gateway; the AWS side (outside IPs,
        keys, tunnel options) stays as it was, and both tunnels are down meanwhile.

        Moving it to another VPN or transit gateway is not emulated.
        """
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        for name in ("VpnGatewayId", "TransitGatewayId"):
            if self._get_param(name) is not None:
                raise invalid_parameter(f"The sandbox does not emulate changing {name}.")
        gateway_id = self._get_param("CustomerGatewayId")
        if gateway_id is None:
            raise ApiError(
                "MissingParameter",
                "The request must contain the parameter customerGatewayId, vpnGatewayId or "
                "transitGatewayId",
            )
        gateway = self.ec2_backend.get_customer_gateway(gateway_id)
        if gateway.state != "available":
            raise ApiError(
                "InvalidCustomerGatewayState",
                f"The customer gateway {gateway.id} is not available.",
            )
        self.sandbox.vpn.modify_customer_gateway(
            view.record,
            customer_gateway_id=gateway.id,
            ip=gateway.ip_address,
            asn=gateway.bgp_asn,
        )
        view.customer_gateway_id = gateway.id
        return ActionResult({"VpnConnection": view})

    def modify_vpn_tunnel_options(self) -> ActionResult:
        """Change one tunnel's options (PSK rotation among them); that tunnel is down, and
        the connection ``modifying``, while AWS applies them."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        self.sandbox.vpn.modify_tunnel(
            view.record,
            self._get_param("VpnTunnelOutsideIpAddress"),
            self._get_param("TunnelOptions") or {},
        )
        return ActionResult({"VpnConnection": view})

    def _tunnel_of(self, view: SandboxVpnConnection) -> Any:
        """The tunnel the request names by ``VpnTunnelOutsideIpAddress``."""
        outside_ip = self._get_param("VpnTunnelOutsideIpAddress")
        try:
            return view.record.tunnel(outside_ip)
        except LookupError:
            raise invalid_parameter(
                f"The VPN connection {view.id} has no tunnel with outside IP address {outside_ip}."
            ) from None

    def get_vpn_tunnel_replacement_status(self) -> ActionResult:
        """A tunnel's pending endpoint maintenance and when AWS applies it anyway."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        tunnel = self._tunnel_of(view)
        record = view.record
        return ActionResult(
            {
                "VpnConnectionId": record.id,
                "TransitGatewayId": record.transit_gateway_id,
                "CustomerGatewayId": record.customer_gateway_id,
                "VpnGatewayId": record.vpn_gateway_id,
                "VpnTunnelOutsideIpAddress": tunnel.outside_ip,
                "MaintenanceDetails": tunnel.maintenance_details(),
            }
        )

    def replace_vpn_tunnel(self) -> ActionResult:
        """Replace a tunnel's endpoint (applying its pending maintenance if asked)."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        self.sandbox.vpn.replace_tunnel(
            view.record,
            self._get_param("VpnTunnelOutsideIpAddress"),
            bool(self._get_param("ApplyPendingMaintenance", False)),
        )
        return ActionResult({"Return": True})

    def get_active_vpn_tunnel_status(self) -> ActionResult:
        """What an up tunnel negotiated: IKE version, algorithms and DH groups."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        return ActionResult({"ActiveVpnTunnelStatus": self._tunnel_of(view).active_status()})

    def modify_vpn_connection_options(self) -> ActionResult:
        """Change the connection's local and remote network CIDRs."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        names = (
            "LocalIpv4NetworkCidr",
            "RemoteIpv4NetworkCidr",
            "LocalIpv6NetworkCidr",
            "RemoteIpv6NetworkCidr",
        )
        changes = {name: self._get_param(name) for name in names}
        self.sandbox.vpn.modify_options(
            view.record, {name: value for name, value in changes.items() if value is not None}
        )
        return ActionResult({"VpnConnection": view})

    def get_vpn_connection_device_types(self) -> ActionResult:
        """The devices the sandbox has sample configurations for."""
        return ActionResult(
            {"VpnConnectionDeviceTypes": [device.describe() for device in devices.DEVICE_TYPES]}
        )

    def get_vpn_connection_device_sample_configuration(self) -> ActionResult:
        """A device configuration filled with the connection's real values."""
        view = self._vpn_view(self._get_param("VpnConnectionId"))
        sample = devices.sample_configuration(
            view.record,
            self._get_param("VpnConnectionDeviceTypeId"),
            self._get_param("InternetKeyExchangeVersion"),
        )
        return ActionResult({"VpnConnectionDeviceSampleConfiguration": sample})
