"""VPN connection emulation: tunnels with their own addresses, keys and options.

moto keeps a VPN connection as an id, a type and two gateway ids. Real AWS gives every
connection two tunnels, each with an outside address on the AWS side, a /30 of
link-local "inside" addresses, a pre-shared key and a set of IKE/IPsec parameters, and
remembers the connection-level options, static routes and per-tunnel status. This
module holds that data in plain Python (no moto here), keyed the way
``DescribeVpnConnections`` names it, so it can be handed to the API serializer as is.

A tunnel's telemetry reports DOWN while AWS applies a modification to it
(``ModifyVpnTunnelOptions`` takes that tunnel, ``ModifyVpnConnection`` and
``ModifyVpnConnectionOptions`` both; the connection is ``modifying`` meanwhile, and a
second modification is refused) and while a test holds it down (a customer whose device
does not have the new values yet); otherwise it reports the status the control API last
set. Each connection keeps the periods in which its telemetry showed every tunnel DOWN
at once, so that a test can ask whether traffic ever lost its last path.
"""

import copy
import ipaddress
import random
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox import tunnel_logs
from sandbox.addresses import tunnel_outside_pool
from sandbox.errors import ApiError, invalid_parameter
from sandbox.lifecycle import Lifecycle
from sandbox.tunnel_logs import TunnelFacts, TunnelLogWriter
from sandbox.validation import (
    RESERVED_INSIDE_CIDRS,
    check_cidr,
    check_inside_cidr,
    check_log_options,
    check_pre_shared_key,
    check_tunnel_count,
    check_tunnel_settings,
)

# What AWS reports for a tunnel option nobody set.
TUNNEL_DEFAULTS: dict[str, Any] = {
    "Phase1LifetimeSeconds": 28800,
    "Phase2LifetimeSeconds": 3600,
    "RekeyMarginTimeSeconds": 270,
    "RekeyFuzzPercentage": 100,
    "ReplayWindowSize": 1024,
    "DpdTimeoutSeconds": 30,
    "DpdTimeoutAction": "clear",
    "Phase1EncryptionAlgorithms": ["AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"],
    "Phase2EncryptionAlgorithms": ["AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"],
    "Phase1IntegrityAlgorithms": ["SHA1", "SHA2-256", "SHA2-384", "SHA2-512"],
    "Phase2IntegrityAlgorithms": ["SHA1", "SHA2-256", "SHA2-384", "SHA2-512"],
    "Phase1DHGroupNumbers": [2, *range(14, 25)],
    "Phase2DHGroupNumbers": [2, 5, *range(14, 25)],
    "IkeVersions": ["ikev1", "ikev2"],
    "StartupAction": "add",
    "EnableTunnelLifecycleControl": False,
    "LogOptions": {"CloudWatchLogOptions": {"LogEnabled": False, "BgpLogEnabled": False}},
}

# Options given as lists of {"Value": ...} in requests and responses.
_LIST_SETTINGS = frozenset(
    name for name, value in TUNNEL_DEFAULTS.items() if isinstance(value, list)
)

# The request spells a few members differently from the response.
_REQUEST_NAMES = {
    "IKEVersions": "IkeVersions",
    "DPDTimeoutSeconds": "DpdTimeoutSeconds",
    "DPDTimeoutAction": "DpdTimeoutAction",
}

# Connection-level options AWS reports when they were not given.
CONNECTION_DEFAULTS: dict[str, Any] = {
    "EnableAcceleration": False,
    "StaticRoutesOnly": False,
    "LocalIpv4NetworkCidr": "0.0.0.0/0",
    "RemoteIpv4NetworkCidr": "0.0.0.0/0",
    "OutsideIpAddressType": "PublicIpv4",
    "TunnelInsideIpVersion": "ipv4",
}

# 169.254.0.0/16 holds 16,384 blocks of four addresses.
_INSIDE_BLOCKS = 16384

_KEY_ALPHABET = string.ascii_letters + string.digits


def generate_pre_shared_key() -> str:
    """A key like the ones AWS generates: 32 letters and digits, never starting with 0."""
    first = secrets.choice(_KEY_ALPHABET.replace("0", ""))
    return first + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(31))


def _now() -> datetime:
    return datetime.now(UTC)


def settings_from_request(spec: dict[str, Any]) -> dict[str, Any]:
    """Translate one ``TunnelOptions`` request entry into Describe-named settings.

    The inside CIDR and pre-shared key are handled by the caller, not returned here.
    Members the sandbox does not emulate are refused rather than silently dropped.
    """
    settings = {}
    for key, value in spec.items():
        if key in ("TunnelInsideCidr", "PreSharedKey"):
            continue
        name = _REQUEST_NAMES.get(key, key)
        if name not in TUNNEL_DEFAULTS:
            raise invalid_parameter(f"The tunnel option {key} is not supported by the sandbox.")
        if name in _LIST_SETTINGS:
            value = [item["Value"] for item in value]
        if name == "LogOptions":
            value = check_log_options(value)
        settings[name] = value
    return settings


# What a tunnel negotiates by default: the first value its options allow in a common
# device's order of preference (strong before weak), as a device configured with
# modern defaults would propose them.
_PREFERENCES: dict[str, list[Any]] = {
    "IkeVersions": ["ikev2", "ikev1"],
    "EncryptionAlgorithms": ["AES256", "AES256-GCM-16", "AES128", "AES128-GCM-16"],
    "IntegrityAlgorithms": ["SHA2-256", "SHA2-384", "SHA2-512", "SHA1"],
    "DHGroupNumbers": [14, 19, 20, 21, 15, 16, 17, 18, 22, 23, 24, 5, 2],
}
# The members of an `ActiveVpnTunnelStatus` the control API can set.
NEGOTIATED_FIELDS = (
    "IkeVersion",
    "Phase1EncryptionAlgorithm",
    "Phase1IntegrityAlgorithm",
    "Phase1DHGroup",
    "Phase2EncryptionAlgorithm",
    "Phase2IntegrityAlgorithm",
    "Phase2DHGroup",
)


def _preferred(allowed: list[Any], preference: list[Any]) -> Any:
    """The first of `preference` that `allowed` contains (else the first allowed)."""
    return next((value for value in preference if value in allowed), allowed[0])


@dataclass
class Tunnel:
    """One of the two IPsec tunnels of a VPN connection.

    ``status`` is what the IKE (or BGP) session would be, as the control API sets it;
    ``reported`` what the telemetry shows, DOWN while ``applying`` a modification or
    ``held_down``.
    """

    outside_ip: str
    inside_cidr: str
    pre_shared_key: str
    settings: dict[str, Any]
    status: str = "DOWN"
    status_message: str = ""
    last_status_change: datetime = field(default_factory=_now)
    accepted_route_count: int = 0
    applying: bool = False
    held_down: bool = False
    reported: str = "DOWN"
    # Endpoint maintenance AWS has scheduled, and when it last replaced the endpoint.
    pending_maintenance: str = ""
    maintenance_auto_applied_after: datetime | None = None
    last_maintenance_applied: datetime | None = None
    # What the control API says was negotiated (None: what the options prescribe).
    negotiated: dict[str, Any] | None = None
    # Counts every change of status, so that a delayed change knows it was overtaken.
    revision: int = 0

    @property
    def reported_status(self) -> str:
        """What the telemetry should show now."""
        return "DOWN" if self.applying or self.held_down else self.status

    @property
    def aws_inside_ip(self) -> str:
        """The AWS end of the inside /30: its first usable address."""
        return str(ipaddress.ip_network(self.inside_cidr)[1])

    @property
    def customer_inside_ip(self) -> str:
        """The customer end of the inside /30: its second usable address."""
        return str(ipaddress.ip_network(self.inside_cidr)[2])

    def describe(self) -> dict[str, Any]:
        """The tunnel as a ``TunnelOption`` of ``DescribeVpnConnections``."""
        described: dict[str, Any] = {
            "OutsideIpAddress": self.outside_ip,
            "TunnelInsideCidr": self.inside_cidr,
            "PreSharedKey": self.pre_shared_key,
        }
        for name, value in self.settings.items():
            if name in _LIST_SETTINGS:
                value = [{"Value": item} for item in value]
            described[name] = value
        return described

    @property
    def ike_version(self) -> str:
        """The IKE version the tunnel speaks: IKEv2 whenever its options allow it."""
        return _preferred(self.settings["IkeVersions"], _PREFERENCES["IkeVersions"])

    def maintenance_details(self) -> dict[str, Any]:
        """The tunnel's ``MaintenanceDetails`` (``GetVpnTunnelReplacementStatus``)."""
        details: dict[str, Any] = {}
        if self.pending_maintenance:
            details["PendingMaintenance"] = self.pending_maintenance
            details["MaintenanceAutoAppliedAfter"] = self.maintenance_auto_applied_after
        if self.last_maintenance_applied is not None:
            details["LastMaintenanceApplied"] = self.last_maintenance_applied
        return details

    def active_status(self) -> dict[str, Any]:
        """The tunnel's ``ActiveVpnTunnelStatus``: what was negotiated, while it is up.

        Unless the control API set it, an up tunnel negotiated the first value of each
        option in a common device's order of preference (IKEv2, AES256, SHA2-256, group
        14...): with one value per option, exactly what the options prescribe.
        """
        status: dict[str, Any] = {"ProvisioningStatus": "available"}
        if self.reported != "UP":
            return status
        settings = self.settings
        negotiated = {
            "IkeVersion": self.ike_version,
            "Phase1EncryptionAlgorithm": _preferred(
                settings["Phase1EncryptionAlgorithms"], _PREFERENCES["EncryptionAlgorithms"]
            ),
            "Phase1IntegrityAlgorithm": _preferred(
                settings["Phase1IntegrityAlgorithms"], _PREFERENCES["IntegrityAlgorithms"]
            ),
            "Phase1DHGroup": _preferred(
                settings["Phase1DHGroupNumbers"], _PREFERENCES["DHGroupNumbers"]
            ),
            "Phase2EncryptionAlgorithm": _preferred(
                settings["Phase2EncryptionAlgorithms"], _PREFERENCES["EncryptionAlgorithms"]
            ),
            "Phase2IntegrityAlgorithm": _preferred(
                settings["Phase2IntegrityAlgorithms"], _PREFERENCES["IntegrityAlgorithms"]
            ),
            "Phase2DHGroup": _preferred(
                settings["Phase2DHGroupNumbers"], _PREFERENCES["DHGroupNumbers"]
            ),
        }
        return {**status, **negotiated, **(self.negotiated or {})}

    def telemetry(self) -> dict[str, Any]:
        """The tunnel as a ``VgwTelemetry`` entry."""
        return {
            "OutsideIpAddress": self.outside_ip,
            "Status": self.reported,
            "StatusMessage": self.status_message,
            "LastStatusChange": self.last_status_change,
            "AcceptedRouteCount": self.accepted_route_count,
        }


@dataclass
class StaticRoute:
    """A static route of a VPN connection; its state follows AWS's lifecycle."""

    destination: str
    state: str = "pending"

    def describe(self) -> dict[str, str]:
        """The route as a ``VpnStaticRoute``."""
        return {"DestinationCidrBlock": self.destination, "Source": "Static", "State": self.state}


@dataclass
class VpnConnection:
    """Everything the sandbox knows about a VPN connection beyond moto's few fields."""

    id: str
    gateway_id: str  # the VPN or transit gateway: inside CIDRs are unique per gateway
    customer_gateway_id: str
    customer_gateway_ip: str
    customer_asn: str
    amazon_asn: int
    options: dict[str, Any]
    tunnels: list[Tunnel]
    type: str = "ipsec.1"
    vpn_gateway_id: str | None = None
    transit_gateway_id: str | None = None
    routes: dict[str, StaticRoute] = field(default_factory=dict)
    state: str = "pending"
    # [start, end] of each period in which every tunnel reported DOWN (end None: now).
    all_down_periods: list[list[datetime | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.observe()

    def observe(self) -> None:
        """Bring the telemetry up to date after anything that may change it: a tunnel
        whose reported status changes gets a new ``LastStatusChange`` (and loses its old
        message, as in AWS), and the periods of all tunnels DOWN are extended."""
        now = _now()
        for tunnel in self.tunnels:
            status = tunnel.reported_status
            if status != tunnel.reported:
                tunnel.reported = status
                tunnel.last_status_change = now
                tunnel.status_message = ""
        all_down = all(tunnel.reported == "DOWN" for tunnel in self.tunnels)
        open_period = bool(self.all_down_periods) and self.all_down_periods[-1][1] is None
        if all_down and not open_period:
            self.all_down_periods.append([now, None])
        elif not all_down and open_period:
            self.all_down_periods[-1][1] = now

    def all_down_since(self, since: datetime) -> list[list[datetime | None]]:
        """The periods of every tunnel DOWN at once that reach past ``since``."""
        return [
            period for period in self.all_down_periods if period[1] is None or period[1] >= since
        ]

    @property
    def static_routes_only(self) -> bool:
        """Whether the connection routes statically (no BGP)."""
        return bool(self.options["StaticRoutesOnly"])

    def describe_options(self) -> dict[str, Any]:
        """The ``Options`` structure of ``DescribeVpnConnections``."""
        return {**self.options, "TunnelOptions": [tunnel.describe() for tunnel in self.tunnels]}

    def describe_routes(self) -> list[dict[str, str]]:
        """The ``Routes`` list of ``DescribeVpnConnections``."""
        return [route.describe() for route in self.routes.values()]

    def describe_telemetry(self) -> list[dict[str, Any]]:
        """The ``VgwTelemetry`` list of ``DescribeVpnConnections``."""
        return [tunnel.telemetry() for tunnel in self.tunnels]

    def tunnel(self, outside_ip: str) -> Tunnel:
        """The tunnel with this outside address; ``LookupError`` if there is none."""
        for tunnel in self.tunnels:
            if tunnel.outside_ip == outside_ip:
                return tunnel
        raise LookupError(outside_ip)

    def log_facts(self, tunnel: Tunnel) -> TunnelFacts:
        """What the tunnel's log lines mention."""
        return TunnelFacts(
            connection_id=self.id,
            outside_ip=tunnel.outside_ip,
            customer_ip=self.customer_gateway_ip,
            customer_inside_ip=tunnel.customer_inside_ip,
            customer_asn=self.customer_asn,
            ike_version=tunnel.ike_version,
            bgp=not self.static_routes_only,
            dpd_enabled=tunnel.settings["DpdTimeoutAction"] != "none",
        )


class VpnRegistry:
    """All VPN connections of one sandbox, the pools they draw from, and their changes.

    State changes (``pending`` to ``available`` and so on) go through the sandbox's
    :class:`~sandbox.lifecycle.Lifecycle`, so they honour its delay.
    """

    def __init__(
        self, lifecycle: Lifecycle, deleted_retention: float, logs: TunnelLogWriter | None = None
    ):
        self.lifecycle = lifecycle
        self.deleted_retention = deleted_retention
        self.logs = logs or TunnelLogWriter()
        self.connections: dict[str, VpnConnection] = {}
        self._outside_ips = tunnel_outside_pool()
        self._random = random.Random()

    def create(
        self,
        connection_id: str,
        *,
        gateway_id: str,
        customer_gateway_id: str,
        customer_gateway_ip: str,
        customer_asn: str,
        amazon_asn: int,
        options: dict[str, Any],
        vpn_gateway_id: str | None = None,
        transit_gateway_id: str | None = None,
    ) -> VpnConnection:
        """Create a connection from a ``CreateVpnConnection`` ``Options`` structure.

        Everything is checked before anything is allocated, so a refused request leaves
        no trace. The connection starts ``pending`` and becomes ``available`` later.
        """
        options = dict(options)
        tunnel_specs = list(options.pop("TunnelOptions", None) or [])
        check_tunnel_count(len(tunnel_specs))
        tunnel_specs += [{}] * (2 - len(tunnel_specs))
        connection_options = self._connection_options(options, transit_gateway_id)

        in_use = self.inside_cidrs_in_use(gateway_id)
        planned = []
        for spec in tunnel_specs:
            settings = {**copy.deepcopy(TUNNEL_DEFAULTS), **settings_from_request(spec)}
            check_tunnel_settings(settings)
            self._check_log_groups(settings)
            key = spec.get("PreSharedKey")
            if key is None:
                key = generate_pre_shared_key()
            else:
                check_pre_shared_key(key)
            cidr = spec.get("TunnelInsideCidr")
            cidr = check_inside_cidr(cidr, in_use) if cidr else self._pick_inside_cidr(in_use)
            in_use.add(cidr)
            planned.append((settings, key, cidr))

        tunnels = [
            Tunnel(self._outside_ips.allocate(), cidr, key, settings)
            for settings, key, cidr in planned
        ]
        connection = VpnConnection(
            id=connection_id,
            gateway_id=gateway_id,
            customer_gateway_id=customer_gateway_id,
            customer_gateway_ip=customer_gateway_ip,
            customer_asn=str(customer_asn),
            amazon_asn=amazon_asn,
            options=connection_options,
            tunnels=tunnels,
            vpn_gateway_id=vpn_gateway_id,
            transit_gateway_id=transit_gateway_id,
        )
        self.connections[connection_id] = connection
        self.lifecycle.transition(connection, "pending", "available")
        return connection

    def _check_log_groups(self, settings: dict[str, Any]) -> None:
        """AWS refuses to log to a log group that does not exist."""
        options = settings["LogOptions"]["CloudWatchLogOptions"]
        for enabled, arn in (
            (options["LogEnabled"], options.get("LogGroupArn")),
            (options["BgpLogEnabled"], options.get("BgpLogGroupArn")),
        ):
            group = tunnel_logs.parse_log_group_arn(arn)
            if enabled and group is not None and not self.logs.group_exists(group):
                raise invalid_parameter(f"The CloudWatch Logs log group {arn} does not exist.")

    @staticmethod
    def _connection_options(
        options: dict[str, Any], transit_gateway_id: str | None
    ) -> dict[str, Any]:
        allowed = {*CONNECTION_DEFAULTS, "LocalIpv6NetworkCidr", "RemoteIpv6NetworkCidr"}
        unsupported = set(options) - allowed
        if unsupported:
            raise invalid_parameter(
                f"The option {sorted(unsupported)[0]} is not supported by the sandbox."
            )
        merged = {**CONNECTION_DEFAULTS, **options}
        if merged["TunnelInsideIpVersion"] != "ipv4":
            raise invalid_parameter("The sandbox only emulates IPv4 tunnel inside addresses.")
        if merged["OutsideIpAddressType"] != "PublicIpv4":
            raise invalid_parameter("The sandbox only emulates public IPv4 outside addresses.")
        if merged["EnableAcceleration"] and not transit_gateway_id:
            raise invalid_parameter(
                "Acceleration is only supported for VPN connections on a transit gateway."
            )
        return _checked_network_cidrs(merged)

    def inside_cidrs_in_use(self, gateway_id: str, ignore: Tunnel | None = None) -> set[str]:
        """Inside CIDRs of the live tunnels on a gateway (except ``ignore``)."""
        return {
            tunnel.inside_cidr
            for connection in self.connections.values()
            if connection.gateway_id == gateway_id and connection.state != "deleted"
            for tunnel in connection.tunnels
            if tunnel is not ignore
        }

    def _pick_inside_cidr(self, in_use: set[str]) -> str:
        # AWS picks a random free /30; so does the sandbox, which keeps tests honest about
        # reading the value back instead of assuming one.
        if len(in_use) + len(RESERVED_INSIDE_CIDRS) >= _INSIDE_BLOCKS:
            raise invalid_parameter("No tunnel inside CIDR is left on this gateway.")
        while True:
            block = self._random.randrange(_INSIDE_BLOCKS)
            cidr = f"169.254.{block // 64}.{block % 64 * 4}/30"
            if cidr not in in_use and cidr not in RESERVED_INSIDE_CIDRS:
                return cidr

    def delete(self, connection: VpnConnection, on_purge: Callable[[], None]) -> None:
        """Start deleting a connection; once ``deleted`` it stays visible for a while.

        ``on_purge`` runs when the retention period is over and the connection vanishes.
        """
        if connection.state in ("deleting", "deleted"):
            return

        def purge() -> None:
            if self.connections.get(connection.id) is connection:
                del self.connections[connection.id]
                for tunnel in connection.tunnels:
                    self._outside_ips.release(tunnel.outside_ip)
                on_purge()

        self.lifecycle.transition(
            connection,
            "deleting",
            "deleted",
            on_settled=lambda: self.lifecycle.call_later(self.deleted_retention, purge),
        )

    def modify_tunnel(
        self, connection: VpnConnection, outside_ip: str, spec: dict[str, Any]
    ) -> Tunnel:
        """Apply a ``ModifyVpnTunnelOptions`` request; options not given keep their value."""
        _require_available(connection)
        try:
            tunnel = connection.tunnel(outside_ip)
        except LookupError:
            raise invalid_parameter(
                f"The VPN connection {connection.id} has no tunnel with outside IP "
                f"address {outside_ip}."
            ) from None
        settings = {**tunnel.settings, **settings_from_request(spec)}
        check_tunnel_settings(settings)
        self._check_log_groups(settings)
        key = spec.get("PreSharedKey", tunnel.pre_shared_key)
        check_pre_shared_key(key)
        cidr = tunnel.inside_cidr
        if spec.get("TunnelInsideCidr"):
            in_use = self.inside_cidrs_in_use(connection.gateway_id, ignore=tunnel)
            cidr = check_inside_cidr(spec["TunnelInsideCidr"], in_use)
        tunnel.settings, tunnel.pre_shared_key, tunnel.inside_cidr = settings, key, cidr
        self._modifying(connection, [tunnel])
        return tunnel

    def modify_options(self, connection: VpnConnection, changes: dict[str, Any]) -> None:
        """Apply a ``ModifyVpnConnectionOptions`` request (the network CIDRs): both tunnels
        are briefly unavailable, as in AWS."""
        _require_available(connection)
        connection.options = _checked_network_cidrs({**connection.options, **changes})
        self._modifying(connection, connection.tunnels)

    def modify_customer_gateway(
        self, connection: VpnConnection, *, customer_gateway_id: str, ip: str, asn: str
    ) -> None:
        """Apply a ``ModifyVpnConnection`` onto another customer gateway.

        As AWS documents it, the AWS side stays as it was (the tunnels' outside IPs, keys,
        inside CIDRs and options); both tunnels are down while AWS provisions the new
        endpoints.
        """
        _require_available(connection)
        connection.customer_gateway_id = customer_gateway_id
        connection.customer_gateway_ip = ip
        connection.customer_asn = str(asn)
        self._modifying(connection, connection.tunnels)

    def _modifying(self, connection: VpnConnection, tunnels: list[Tunnel]) -> None:
        """The connection is ``modifying`` and ``tunnels`` DOWN until the delay has passed;
        then the tunnels report their own status again."""
        for tunnel in tunnels:
            tunnel.applying = True
        connection.observe()

        def applied() -> None:
            for tunnel in tunnels:
                tunnel.applying = False
            connection.observe()

        self.lifecycle.transition(connection, "modifying", "available", on_settled=applied)

    def hold_down(self, connection_id: str, outside_ip: str, held: bool) -> Tunnel:
        """Hold a tunnel DOWN (as a customer's device without the new values), or let it
        report its own status again. ``LookupError`` if there is no such tunnel."""
        connection = self.connections[connection_id]
        tunnel = connection.tunnel(outside_ip)
        tunnel.held_down = held
        connection.observe()
        return tunnel

    def add_route(self, connection: VpnConnection, destination: str) -> StaticRoute:
        """Add a static route; adding one that exists changes nothing."""
        destination = check_cidr(destination, "DestinationCidrBlock", version=4)
        if connection.state in ("deleting", "deleted"):
            raise _invalid_state(connection)
        route = connection.routes.get(destination)
        if route is None or route.state in ("deleting", "deleted"):
            route = connection.routes[destination] = StaticRoute(destination)
            self.lifecycle.transition(route, "pending", "available")
        return route

    def remove_route(self, connection: VpnConnection, destination: str) -> None:
        """Start removing a static route; it disappears once ``deleted``."""
        route = connection.routes.get(destination)
        if route is None or route.state in ("deleting", "deleted"):
            raise ApiError(
                "InvalidRoute.NotFound",
                f"The route {destination} does not exist on VPN connection {connection.id}.",
            )

        def forget() -> None:
            if connection.routes.get(destination) is route:
                del connection.routes[destination]

        self.lifecycle.transition(route, "deleting", "deleted", on_settled=forget)

    def set_tunnel_status(
        self,
        connection_id: str,
        outside_ip: str,
        status: str,
        message: str | None = None,
        accepted_route_count: int | None = None,
        since: datetime | None = None,
    ) -> Tunnel:
        """Change a tunnel's telemetry as if its IKE/BGP session went up or down.

        ``since`` dates the tunnel's current status (``LastStatusChange``) in the past, as
        if it had changed then; without it a change of status is dated now.
        ``LookupError`` if the connection or the tunnel does not exist.
        """
        connection = self.connections[connection_id]  # KeyError: a LookupError
        tunnel = connection.tunnel(outside_ip)
        changed = status != tunnel.status
        tunnel.status = status
        if changed:
            tunnel.revision += 1
        # A change of what the telemetry reports is dated now, and clears the message
        # (AWS reports a new message with a new status; an old one never lingers).
        connection.observe()
        if since is not None:
            tunnel.last_status_change = since
        if message is not None:
            tunnel.status_message = message
        if accepted_route_count is not None:
            tunnel.accepted_route_count = accepted_route_count
        if changed:
            self._log(
                connection,
                tunnel,
                tunnel_logs.status_lines(
                    connection.log_facts(tunnel), status, tunnel.accepted_route_count
                ),
            )
        return tunnel

    def _log(self, connection: VpnConnection, tunnel: Tunnel, lines: list) -> None:
        """Write the tunnel's log lines, dated at its latest change of status."""
        self.logs.write(
            connection.log_facts(tunnel),
            tunnel.settings["LogOptions"],
            lines,
            tunnel.last_status_change,
        )

    def inject_cause(self, connection_id: str, outside_ip: str, name: str) -> Tunnel:
        """Make a known cause (``sandbox.tunnel_logs.CAUSES``) happen on a tunnel now.

        The tunnel takes the status and message AWS reports for it (its last change dated
        now, as the IKE or BGP state changed) and AWS's log lines for it are written.
        ``LookupError`` for an unknown connection or tunnel, ``ValueError`` for an unknown
        cause or a BGP cause on a statically routed connection.
        """
        connection = self.connections[connection_id]
        tunnel = connection.tunnel(outside_ip)
        cause = tunnel_logs.CAUSES.get(name)
        if cause is None:
            raise ValueError(f"no cause named {name!r}")
        if cause.bgp_only and connection.static_routes_only:
            raise ValueError(f"{name} needs BGP, and {connection_id} routes statically")
        tunnel.status = cause.status
        tunnel.revision += 1
        connection.observe()
        # Dated now even when the status stays DOWN: the IKE or BGP state changed.
        tunnel.last_status_change = _now()
        tunnel.status_message = cause.message
        tunnel.accepted_route_count = cause.accepted_routes
        self._log(connection, tunnel, cause.lines(connection.log_facts(tunnel)))
        return tunnel

    def set_negotiated(
        self, connection_id: str, outside_ip: str, negotiated: dict[str, Any] | None
    ) -> Tunnel:
        """Say what the tunnel negotiated (``GetActiveVpnTunnelStatus``); None goes back
        to what its options prescribe. ``LookupError`` for an unknown tunnel."""
        tunnel = self.connections[connection_id].tunnel(outside_ip)
        tunnel.negotiated = dict(negotiated) if negotiated else None
        return tunnel

    def schedule_maintenance(
        self, connection_id: str, outside_ip: str, description: str, auto_applied_after: datetime
    ) -> Tunnel:
        """Schedule endpoint maintenance on a tunnel, as AWS does for its own reasons.

        Until ``auto_applied_after`` the customer may apply it (``ReplaceVpnTunnel`` with
        ``ApplyPendingMaintenance``); then AWS replaces the endpoint itself.
        ``LookupError`` for an unknown tunnel.
        """
        connection = self.connections[connection_id]
        tunnel = connection.tunnel(outside_ip)
        tunnel.pending_maintenance = description
        tunnel.maintenance_auto_applied_after = auto_applied_after

        def apply_anyway() -> None:
            if (
                tunnel.pending_maintenance
                and tunnel.maintenance_auto_applied_after == auto_applied_after
                and connection.state == "available"
            ):
                self._replace(connection, tunnel)

        seconds = max(0.0, (auto_applied_after - _now()).total_seconds())
        self.lifecycle.call_later(seconds, apply_anyway)
        return tunnel

    def replace_tunnel(
        self, connection: VpnConnection, outside_ip: str, apply_pending_maintenance: bool
    ) -> Tunnel:
        """Apply a ``ReplaceVpnTunnel`` request: the tunnel drops now and, if it was up,
        comes back once the state delay has passed (unless its status changed meanwhile).

        Applying pending maintenance needs tunnel endpoint lifecycle control.
        """
        _require_available(connection)
        try:
            tunnel = connection.tunnel(outside_ip)
        except LookupError:
            raise invalid_parameter(
                f"The VPN connection {connection.id} has no tunnel with outside IP "
                f"address {outside_ip}."
            ) from None
        if apply_pending_maintenance and not tunnel.settings["EnableTunnelLifecycleControl"]:
            raise invalid_parameter(
                f"Tunnel endpoint lifecycle control is not enabled on the tunnel {outside_ip}; "
                "enable it before applying pending maintenance."
            )
        self._replace(connection, tunnel)
        return tunnel

    def _replace(self, connection: VpnConnection, tunnel: Tunnel) -> None:
        """Replace the tunnel's endpoint: pending maintenance is applied, the tunnel drops
        and, if it was up, comes back after the state delay."""
        was = (tunnel.status, tunnel.status_message, tunnel.accepted_route_count)
        now = _now()
        if tunnel.pending_maintenance:
            tunnel.pending_maintenance = ""
            tunnel.maintenance_auto_applied_after = None
        tunnel.last_maintenance_applied = now
        tunnel.status, tunnel.status_message, tunnel.accepted_route_count = "DOWN", "", 0
        tunnel.revision += 1
        connection.observe()
        tunnel.last_status_change = now
        revision = tunnel.revision
        self._log(connection, tunnel, tunnel_logs.replacement_lines())

        def back() -> None:
            if tunnel.revision != revision or connection.state != "available" or was[0] != "UP":
                return  # something else moved the tunnel meanwhile, or it was not up
            tunnel.status = was[0]
            tunnel.revision += 1
            connection.observe()
            tunnel.status_message, tunnel.accepted_route_count = was[1], was[2]
            self._log(
                connection,
                tunnel,
                tunnel_logs.status_lines(connection.log_facts(tunnel), "UP", was[2]),
            )

        self.lifecycle.call_later(self.lifecycle.delay, back)


def _checked_network_cidrs(options: dict[str, Any]) -> dict[str, Any]:
    for name, version in (
        ("LocalIpv4NetworkCidr", 4),
        ("RemoteIpv4NetworkCidr", 4),
        ("LocalIpv6NetworkCidr", 6),
        ("RemoteIpv6NetworkCidr", 6),
    ):
        if options.get(name) is not None:
            options[name] = check_cidr(options[name], name, version)
    return options


def _invalid_state(connection: VpnConnection) -> ApiError:
    if connection.state == "modifying":
        # AWS applies one modification at a time; the documented code for a resource in
        # the wrong state for the request.
        return ApiError(
            "IncorrectState",
            f"The VPN connection {connection.id} is being modified; wait until its current "
            "modification is complete (state available) before modifying it again.",
        )
    return ApiError(
        "InvalidVpnConnection.InvalidState",
        f"The VPN connection {connection.id} is in the {connection.state} state and cannot "
        "be changed.",
    )


def _require_available(connection: VpnConnection) -> None:
    # AWS only lets an available connection be modified.
    if connection.state != "available":
        raise _invalid_state(connection)
