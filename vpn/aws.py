"""The portal's only door to AWS: EC2 and CloudWatch Logs clients per region, typed
results, and AWS errors translated into the project's own (transient ones worth retrying,
permanent ones not).

Every resource the portal creates is tagged with the request's id and its role, so a
re-run after a crash finds what already exists instead of creating it twice.
`settings.AWS_ENDPOINT_URL` points the clients at the local sandbox; unset, at AWS.

Accounts: the keys of settings reach the default account; another account (a
`vpn.models.AwsAccount`) is reached by assuming its role with its external id, and its
credentials are cached until shortly before they expire. The cache and the clients are
safe to use from several threads (the status refresh reads its pairs in a pool). Which
account a call acts in is set by `acting_for(account)` around the calls made for one
request (or one account's status read), rather than passed to each of the functions
below: those functions already take the region first, and threading a second argument
through every one of them and every caller would touch each AWS call site for no gain in
clarity. The services that act for a request enter `acting_for` in one place each (their
entry point), and tests/sandbox/test_accounts.py proves that status, changes, maintenance and
decommissioning act in the request's account.
"""

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

TAG_REQUEST = "vpn-portal:request"
TAG_ROLE = "vpn-portal:role"

# Error codes after which the same call may well succeed later.
_TRANSIENT_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
        "IncorrectState",
        "IncorrectInstanceState",
        "DependencyViolation",
    }
)


# CloudWatch Logs names its missing resources this way.
_NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})


class AwsError(Exception):
    """An AWS call that failed; `transient` says whether retrying may help."""

    transient = False

    def __init__(self, operation: str, code: str, message: str):
        self.operation, self.code, self.message = operation, code, message
        super().__init__(f"{operation}: {code}: {message}")


class TransientAwsError(AwsError):
    """Throttling, a server error or a resource in the wrong state: retry later."""

    transient = True


class PermanentAwsError(AwsError):
    """A request AWS refuses as it stands (bad value, quota): needs a person."""


class AwsNotFoundError(PermanentAwsError):
    """The resource does not exist (any more)."""


class AccountRef(Protocol):
    """What reaching an account takes (a `vpn.models.AwsAccount` is one)."""

    account_id: str
    role_arn: str
    external_id: str


# The account the calls of this thread or task act in; None: the default of settings.
_acting: ContextVar[AccountRef | None] = ContextVar("aws_acting_account", default=None)

# Assumed credentials are renewed this long before AWS lets them expire, so that a call
# never starts with credentials about to lapse.
CREDENTIALS_REFRESH_MARGIN = timedelta(minutes=5)
ASSUME_ROLE_SECONDS = 3600
ROLE_SESSION_NAME = "vpn-portal"


@dataclass(frozen=True)
class _Keys:
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None = None
    expires_at: datetime | None = None


_assumed: dict[str, _Keys] = {}
# Held across AssumeRole itself: threads wanting the same account's keys at once assume
# its role once, not once each.
_assumed_lock = threading.Lock()


@contextlib.contextmanager
def acting_for(account: AccountRef | None) -> Iterator[None]:
    """Make every AWS call inside act in `account` (None: the default account)."""
    token = _acting.set(account)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_account_id() -> str | None:
    """The id of the account calls act in now; None for the default account."""
    account = _acting.get()
    return account.account_id if account is not None else None


def _keys(account: AccountRef | None) -> _Keys:
    """The keys for `account`: settings' own, or its role's, assumed again when due."""
    if account is None:
        return _Keys(settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY)
    with _assumed_lock:
        keys = _assumed.get(account.account_id)
        if keys is None or keys.expires_at - CREDENTIALS_REFRESH_MARGIN <= datetime.now(UTC):
            keys = _assume(account)
            _assumed[account.account_id] = keys
        return keys


def _assume(account: AccountRef) -> _Keys:
    answer = _invoke(
        _client("sts", settings.AWS_STS_REGION, _keys(None)),
        "AssumeRole",
        {
            "RoleArn": account.role_arn,
            "RoleSessionName": ROLE_SESSION_NAME,
            "ExternalId": account.external_id,
            "DurationSeconds": ASSUME_ROLE_SECONDS,
        },
    )
    credentials = answer["Credentials"]
    expires_at = credentials["Expiration"]
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return _Keys(
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
        expires_at,
    )


def credentials_forget() -> None:
    """Drop every cached assumed credential (the next call assumes the role again)."""
    with _assumed_lock:
        _assumed.clear()


# Clients are safe to share between threads, but building one is not: a boto3 session
# (the default one included) must not be used by two threads at once, and two threads
# missing the cache together would each build the client. So clients are built one at a
# time, all from one session: it keeps the service models it has loaded, and loading
# EC2's anew costs each client a quarter of a second (20 account-region pairs, 5 s).
_clients_lock = threading.Lock()


def _client(service: str, region: str, keys: _Keys):
    """The shared client of `service` in `region` with `keys`, for the settings of now."""
    with _clients_lock:
        return _client_built(
            service,
            region,
            keys,
            settings.AWS_ENDPOINT_URL,
            settings.AWS_RETRY_MODE,
            settings.AWS_MAX_ATTEMPTS,
            settings.AWS_READ_TIMEOUT_SECONDS,
        )


# Bounded: renewed credentials make new clients, and the old ones must not pile up.
@lru_cache(maxsize=512)
def _client_built(
    service: str,
    region: str,
    keys: _Keys,
    endpoint_url: str | None,
    retry_mode: str,
    max_attempts: int,
    read_timeout: int,
):
    return _session().client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        aws_session_token=keys.session_token,
        config=Config(
            retries={"mode": retry_mode, "max_attempts": max_attempts},
            connect_timeout=5,
            read_timeout=read_timeout,
        ),
    )


@lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    # Only ever called under `_clients_lock`, by `_client_built`.
    return boto3.session.Session()


# Every AWS API the portal calls.
SERVICES = ("ec2", "logs", "sts", "service-quotas")


def models_load() -> None:
    """Load the models of the APIs the portal calls, for the rest of the process.

    botocore reads a service's model the first time a client of it is built (EC2's takes
    a quarter of a second); clients built later, in any region or account, reuse it. A
    worker calls this as it starts, so that its first job does not pay for it.
    """
    for service in SERVICES:
        _client(service, settings.AWS_STS_REGION, _keys(None))


def ec2(region: str):
    """The EC2 client for `region` in the acting account (shared while its keys last)."""
    return _client("ec2", region, _keys(_acting.get()))


def logs(region: str):
    """The CloudWatch Logs client for `region` in the acting account."""
    return _client("logs", region, _keys(_acting.get()))


def _call(region: str, operation: str, **params) -> dict:
    """Call an EC2 operation, translating failures into the project's errors."""
    return _invoke(ec2(region), operation, params)


def _logs_call(region: str, operation: str, **params) -> dict:
    """Call a CloudWatch Logs operation, translating failures into the project's errors."""
    return _invoke(logs(region), operation, params)


def service_quota(region: str, *, service_code: str, quota_code: str) -> float | None:
    """The acting account's applied quota in `region`; None when Service Quotas knows
    no value for it (AWS's default then applies)."""
    client = _client("service-quotas", region, _keys(_acting.get()))
    try:
        answer = _invoke(
            client, "GetServiceQuota", {"ServiceCode": service_code, "QuotaCode": quota_code}
        )
    except AwsNotFoundError:
        return None
    except PermanentAwsError as exc:
        if exc.code in ("NoSuchResourceException", "AccessDeniedException"):
            return None
        raise
    return answer.get("Quota", {}).get("Value")


def _invoke(client, operation: str, params: dict) -> dict:
    method = getattr(client, _snake(operation))
    try:
        return method(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code.endswith(".NotFound") or code.endswith("NotFound") or code in _NOT_FOUND_CODES:
            raise AwsNotFoundError(operation, code, message) from exc
        if code in _TRANSIENT_CODES or status >= 500:
            raise TransientAwsError(operation, code, message) from exc
        raise PermanentAwsError(operation, code, message) from exc
    except BotoCoreError as exc:
        # Connection refused, timeouts, broken responses: the network, not the request.
        raise TransientAwsError(operation, type(exc).__name__, str(exc)) from exc


def _snake(operation: str) -> str:
    out = []
    for index, char in enumerate(operation):
        if char.isupper() and index and not operation[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def tags(request_id: int, role: str) -> list[dict]:
    """The tags of a resource created for a request."""
    return [
        {"Key": TAG_REQUEST, "Value": str(request_id)},
        {"Key": TAG_ROLE, "Value": role},
        {"Key": "Name", "Value": f"vpn-{request_id:05d}-{role}"},
    ]


def _tag_spec(resource_type: str, request_id: int, role: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": tags(request_id, role)}]


def _tag_filters(request_id: int, role: str | None = None) -> list[dict]:
    filters = [{"Name": f"tag:{TAG_REQUEST}", "Values": [str(request_id)]}]
    if role:
        filters.append({"Name": f"tag:{TAG_ROLE}", "Values": [role]})
    return filters


# Typed results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """Any resource: its id and state (empty where AWS has no state)."""

    id: str
    state: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TunnelInfo:
    """One tunnel of a VPN connection, from its options and telemetry. Its repr (in a
    log line, a recorded outcome) leaves the key out: `psk`, and the options that hold it.
    """

    outside_ip: str
    inside_cidr: str
    psk: str = field(repr=False)
    status: str
    status_message: str
    last_status_change: datetime | None
    accepted_route_count: int
    options: dict = field(repr=False)


@dataclass(frozen=True)
class VpnConnectionInfo:
    """A VPN connection with its tunnels (keyed by outside IP) and static routes."""

    id: str
    state: str
    customer_gateway_id: str
    vpn_gateway_id: str
    static_routes_only: bool
    tunnels: tuple[TunnelInfo, ...]
    routes: tuple[str, ...]
    tags: dict


def _tag_dict(raw: list[dict] | None) -> dict:
    return {tag["Key"]: tag["Value"] for tag in raw or []}


def _vpn_connection(raw: dict) -> VpnConnectionInfo:
    options = raw.get("Options", {})
    telemetry = {t["OutsideIpAddress"]: t for t in raw.get("VgwTelemetry", [])}
    tunnels = []
    for tunnel in options.get("TunnelOptions", []):
        ip = tunnel.get("OutsideIpAddress", "")
        seen = telemetry.get(ip, {})
        tunnels.append(
            TunnelInfo(
                outside_ip=ip,
                inside_cidr=tunnel.get("TunnelInsideCidr", ""),
                psk=tunnel.get("PreSharedKey", ""),
                status=seen.get("Status", "UNKNOWN"),
                status_message=seen.get("StatusMessage", ""),
                last_status_change=seen.get("LastStatusChange"),
                accepted_route_count=seen.get("AcceptedRouteCount", 0),
                options=tunnel,
            )
        )
    return VpnConnectionInfo(
        id=raw["VpnConnectionId"],
        state=raw.get("State", ""),
        customer_gateway_id=raw.get("CustomerGatewayId", ""),
        vpn_gateway_id=raw.get("VpnGatewayId", ""),
        static_routes_only=bool(options.get("StaticRoutesOnly")),
        tunnels=tuple(tunnels),
        routes=tuple(
            r["DestinationCidrBlock"]
            for r in raw.get("Routes", [])
            if r.get("State") not in ("deleting", "deleted")
        ),
        tags=_tag_dict(raw.get("Tags")),
    )


# Finding what exists -------------------------------------------------------------------

_GONE = frozenset({"deleted", "deleting", "failed", "detached"})

# role kind -> (Describe operation, result list key, id key, filter for "not gone")
_DESCRIBE = {
    "vpc": ("DescribeVpcs", "Vpcs", "VpcId"),
    "subnet": ("DescribeSubnets", "Subnets", "SubnetId"),
    "route-table": ("DescribeRouteTables", "RouteTables", "RouteTableId"),
    "vpn-gateway": ("DescribeVpnGateways", "VpnGateways", "VpnGatewayId"),
    "customer-gateway": ("DescribeCustomerGateways", "CustomerGateways", "CustomerGatewayId"),
    "vpn-connection": ("DescribeVpnConnections", "VpnConnections", "VpnConnectionId"),
    "internet-gateway": ("DescribeInternetGateways", "InternetGateways", "InternetGatewayId"),
    "elastic-ip": ("DescribeAddresses", "Addresses", "AllocationId"),
    "nat-gateway": ("DescribeNatGateways", "NatGateways", "NatGatewayId"),
}


def _state_of(kind: str, raw: dict) -> str:
    # Route tables, internet gateways and addresses have no state: they exist or not.
    return raw.get("State") or "available"


def find(region: str, kind: str, *, request_id: int, role: str) -> Resource | None:
    """The live resource of `kind` tagged with this request and role, if any."""
    operation, key, id_key = _DESCRIBE[kind]
    if kind == "nat-gateway":
        params = {"Filter": _tag_filters(request_id, role)}
    else:
        params = {"Filters": _tag_filters(request_id, role)}
    for raw in _call(region, operation, **params).get(key, []):
        state = _state_of(kind, raw)
        # Check the tags here too: a filter the endpoint ignores must not hand us
        # another request's resource.
        if state not in _GONE and _is_ours(raw, request_id, role):
            return Resource(id=raw[id_key], state=state, details=raw)
    return None


def _is_ours(raw: dict, request_id: int, role: str | None = None) -> bool:
    found = _tag_dict(raw.get("Tags") or raw.get("TagSet"))
    return found.get(TAG_REQUEST) == str(request_id) and role in (None, found.get(TAG_ROLE))


def describe(region: str, kind: str, resource_id: str) -> Resource | None:
    """One resource by id, or None if it no longer exists (or is being deleted)."""
    operation, key, id_key = _DESCRIBE[kind]
    ids_param = {
        "vpc": "VpcIds",
        "subnet": "SubnetIds",
        "route-table": "RouteTableIds",
        "vpn-gateway": "VpnGatewayIds",
        "customer-gateway": "CustomerGatewayIds",
        "vpn-connection": "VpnConnectionIds",
        "internet-gateway": "InternetGatewayIds",
        "elastic-ip": "AllocationIds",
        "nat-gateway": "NatGatewayIds",
    }[kind]
    try:
        found = _call(region, operation, **{ids_param: [resource_id]}).get(key, [])
    except AwsNotFoundError:
        return None
    for raw in found:
        if raw[id_key] == resource_id:
            return Resource(id=resource_id, state=_state_of(kind, raw), details=raw)
    return None


def tagged_resources(region: str, *, request_id: int) -> dict[str, list[Resource]]:
    """Every live resource tagged with the request, by kind (for audits and tests)."""
    found = {}
    for kind, (operation, key, id_key) in _DESCRIBE.items():
        name = "Filter" if kind == "nat-gateway" else "Filters"
        items = _call(region, operation, **{name: _tag_filters(request_id)}).get(key, [])
        live = [
            Resource(id=raw[id_key], state=_state_of(kind, raw), details=raw)
            for raw in items
            if _state_of(kind, raw) not in _GONE and _is_ours(raw, request_id)
        ]
        if live:
            found[kind] = live
    return found


# Creating ------------------------------------------------------------------------------


def vpc_create(region: str, *, cidr: str, request_id: int, role: str) -> Resource:
    """Create a VPC with DNS support."""
    raw = _call(
        region, "CreateVpc", CidrBlock=cidr, TagSpecifications=_tag_spec("vpc", request_id, role)
    )["Vpc"]
    return Resource(id=raw["VpcId"], state=raw.get("State", "pending"), details=raw)


def subnet_create(region: str, *, vpc_id: str, cidr: str, request_id: int, role: str) -> Resource:
    """Create a subnet in the VPC."""
    raw = _call(
        region,
        "CreateSubnet",
        VpcId=vpc_id,
        CidrBlock=cidr,
        TagSpecifications=_tag_spec("subnet", request_id, role),
    )["Subnet"]
    return Resource(id=raw["SubnetId"], state=raw.get("State", ""), details=raw)


def route_table_create(region: str, *, vpc_id: str, request_id: int, role: str) -> Resource:
    """Create a route table in the VPC."""
    raw = _call(
        region,
        "CreateRouteTable",
        VpcId=vpc_id,
        TagSpecifications=_tag_spec("route-table", request_id, role),
    )["RouteTable"]
    return Resource(id=raw["RouteTableId"], state="available", details=raw)


def route_table_associate(region: str, *, route_table_id: str, subnet_id: str) -> None:
    """Associate the subnet with the route table, unless it already is."""
    table = describe(region, "route-table", route_table_id)
    associated = {
        a.get("SubnetId") for a in (table.details if table else {}).get("Associations", [])
    }
    if subnet_id not in associated:
        _call(region, "AssociateRouteTable", RouteTableId=route_table_id, SubnetId=subnet_id)


def route_ensure(region: str, *, route_table_id: str, cidr: str, target: dict) -> None:
    """Make `cidr` in the route table point at `target` (e.g. {"GatewayId": ...})."""
    table = describe(region, "route-table", route_table_id)
    for route in (table.details if table else {}).get("Routes", []):
        if route.get("DestinationCidrBlock") == cidr:
            if all(route.get(key) == value for key, value in target.items()):
                return
            _call(
                region,
                "ReplaceRoute",
                RouteTableId=route_table_id,
                DestinationCidrBlock=cidr,
                **target,
            )
            return
    _call(region, "CreateRoute", RouteTableId=route_table_id, DestinationCidrBlock=cidr, **target)


def vpn_gateway_create(
    region: str, *, amazon_side_asn: int, request_id: int, role: str
) -> Resource:
    """Create a virtual private gateway with the given Amazon-side ASN."""
    raw = _call(
        region,
        "CreateVpnGateway",
        Type="ipsec.1",
        AmazonSideAsn=amazon_side_asn,
        TagSpecifications=_tag_spec("vpn-gateway", request_id, role),
    )["VpnGateway"]
    return Resource(id=raw["VpnGatewayId"], state=raw.get("State", "pending"), details=raw)


def vpn_gateway_attachment_state(region: str, *, vpn_gateway_id: str, vpc_id: str) -> str:
    """ "attaching", "attached", "detaching", or "" when not attached to that VPC."""
    gateway = describe(region, "vpn-gateway", vpn_gateway_id)
    for attachment in (gateway.details if gateway else {}).get("VpcAttachments", []):
        if attachment.get("VpcId") == vpc_id and attachment.get("State") != "detached":
            return attachment.get("State", "")
    return ""


def vpn_gateway_attach(region: str, *, vpn_gateway_id: str, vpc_id: str) -> None:
    """Attach the gateway to the VPC."""
    _call(region, "AttachVpnGateway", VpnGatewayId=vpn_gateway_id, VpcId=vpc_id)


def customer_gateway_create(
    region: str, *, ip: str, bgp_asn: int, request_id: int, role: str
) -> Resource:
    """Create (or, as AWS does for identical parameters, return) a customer gateway."""
    raw = _call(
        region,
        "CreateCustomerGateway",
        Type="ipsec.1",
        PublicIp=ip,
        BgpAsn=bgp_asn,
        TagSpecifications=_tag_spec("customer-gateway", request_id, role),
    )["CustomerGateway"]
    return Resource(id=raw["CustomerGatewayId"], state=raw.get("State", ""), details=raw)


def vpn_connection_create(
    region: str,
    *,
    customer_gateway_id: str,
    vpn_gateway_id: str,
    static_routes_only: bool,
    tunnel_options: list[dict],
    request_id: int,
    role: str,
) -> VpnConnectionInfo:
    """Create the VPN connection with both tunnels' options set explicitly."""
    raw = _call(
        region,
        "CreateVpnConnection",
        Type="ipsec.1",
        CustomerGatewayId=customer_gateway_id,
        VpnGatewayId=vpn_gateway_id,
        Options={"StaticRoutesOnly": static_routes_only, "TunnelOptions": tunnel_options},
        TagSpecifications=_tag_spec("vpn-connection", request_id, role),
    )["VpnConnection"]
    return _vpn_connection(raw)


def vpn_connections_describe(
    region: str, *, ids: list[str] | None = None, request_id: int | None = None
) -> list[VpnConnectionInfo]:
    """VPN connections by id, or every one the portal tagged (optionally for one request)."""
    if ids is not None:
        params = {"VpnConnectionIds": ids}
    else:
        filters = [{"Name": "tag-key", "Values": [TAG_REQUEST]}]
        if request_id is not None:
            filters = _tag_filters(request_id)
        params = {"Filters": filters}
    raw = _call(region, "DescribeVpnConnections", **params)
    return [_vpn_connection(item) for item in raw.get("VpnConnections", [])]


def vpn_tunnel_options_modify(
    region: str, *, vpn_connection_id: str, outside_ip: str, options: dict
) -> VpnConnectionInfo:
    """Change one tunnel's options (a new pre-shared key among them); AWS takes that
    tunnel down while it applies them, and answers with the whole connection."""
    raw = _call(
        region,
        "ModifyVpnTunnelOptions",
        VpnConnectionId=vpn_connection_id,
        VpnTunnelOutsideIpAddress=outside_ip,
        TunnelOptions=options,
    )["VpnConnection"]
    return _vpn_connection(raw)


def vpn_connection_customer_gateway_modify(
    region: str, *, vpn_connection_id: str, customer_gateway_id: str
) -> VpnConnectionInfo:
    """Move the VPN connection onto another customer gateway (`ModifyVpnConnection`).

    AWS keeps its tunnels' outside IPs and options (keys and inside CIDRs included), and
    takes both tunnels down while it provisions the new endpoints.
    """
    raw = _call(
        region,
        "ModifyVpnConnection",
        VpnConnectionId=vpn_connection_id,
        CustomerGatewayId=customer_gateway_id,
    )["VpnConnection"]
    return _vpn_connection(raw)


def customer_gateway_connection_ids(region: str, *, customer_gateway_id: str) -> list[str]:
    """The VPN connections (not deleted) that use a customer gateway."""
    raw = _call(
        region,
        "DescribeVpnConnections",
        Filters=[{"Name": "customer-gateway-id", "Values": [customer_gateway_id]}],
    )
    return [
        item["VpnConnectionId"]
        for item in raw.get("VpnConnections", [])
        if item.get("State") not in ("deleting", "deleted")
    ]


# Tunnel endpoint lifecycle and negotiation --------------------------------------------


@dataclass(frozen=True)
class TunnelMaintenance:
    """A tunnel's endpoint maintenance (`GetVpnTunnelReplacementStatus`): what is pending
    ("" for nothing), the date after which AWS applies it anyway, and when AWS last
    replaced the endpoint."""

    pending: str
    auto_applied_after: datetime | None
    last_applied: datetime | None


def vpn_tunnel_replacement_status(
    region: str, *, vpn_connection_id: str, outside_ip: str
) -> TunnelMaintenance:
    """The tunnel's pending endpoint maintenance, if any (one call per tunnel: AWS offers
    no way to ask for several at once)."""
    raw = _call(
        region,
        "GetVpnTunnelReplacementStatus",
        VpnConnectionId=vpn_connection_id,
        VpnTunnelOutsideIpAddress=outside_ip,
    ).get("MaintenanceDetails", {})
    return TunnelMaintenance(
        pending=raw.get("PendingMaintenance", ""),
        auto_applied_after=raw.get("MaintenanceAutoAppliedAfter"),
        last_applied=raw.get("LastMaintenanceApplied"),
    )


def vpn_tunnel_replace(
    region: str, *, vpn_connection_id: str, outside_ip: str, apply_pending_maintenance: bool
) -> None:
    """Replace the tunnel's endpoint now (the tunnel drops until it has negotiated
    again); with `apply_pending_maintenance`, the pending maintenance is applied."""
    _call(
        region,
        "ReplaceVpnTunnel",
        VpnConnectionId=vpn_connection_id,
        VpnTunnelOutsideIpAddress=outside_ip,
        ApplyPendingMaintenance=apply_pending_maintenance,
    )


@dataclass(frozen=True)
class NegotiatedParameters:
    """What an up tunnel negotiated (`GetActiveVpnTunnelStatus`); empty values for what
    AWS did not report (nothing at all while the tunnel is down)."""

    ike_version: str
    phase1_encryption: str
    phase1_integrity: str
    phase1_dh_group: int | None
    phase2_encryption: str
    phase2_integrity: str
    phase2_dh_group: int | None
    provisioning_status: str

    def as_dict(self) -> dict:
        """The parameters as plain data, for storing."""
        return {
            "ike_version": self.ike_version,
            "phase1_encryption": self.phase1_encryption,
            "phase1_integrity": self.phase1_integrity,
            "phase1_dh_group": self.phase1_dh_group,
            "phase2_encryption": self.phase2_encryption,
            "phase2_integrity": self.phase2_integrity,
            "phase2_dh_group": self.phase2_dh_group,
        }


def vpn_tunnel_active_status(
    region: str, *, vpn_connection_id: str, outside_ip: str
) -> NegotiatedParameters:
    """What the tunnel negotiated, as AWS reports it now."""
    raw = _call(
        region,
        "GetActiveVpnTunnelStatus",
        VpnConnectionId=vpn_connection_id,
        VpnTunnelOutsideIpAddress=outside_ip,
    ).get("ActiveVpnTunnelStatus", {})
    return NegotiatedParameters(
        ike_version=raw.get("IkeVersion", ""),
        phase1_encryption=raw.get("Phase1EncryptionAlgorithm", ""),
        phase1_integrity=raw.get("Phase1IntegrityAlgorithm", ""),
        phase1_dh_group=raw.get("Phase1DHGroup"),
        phase2_encryption=raw.get("Phase2EncryptionAlgorithm", ""),
        phase2_integrity=raw.get("Phase2IntegrityAlgorithm", ""),
        phase2_dh_group=raw.get("Phase2DHGroup"),
        provisioning_status=raw.get("ProvisioningStatus", ""),
    )


# Tunnel logs (CloudWatch Logs) ---------------------------------------------------------

# The tunnel logs of a connection are read from this many streams per call (AWS's limit).
_STREAMS_PER_CALL = 100
# Events come oldest first, so the newest are on the last page. Callers ask for a short
# time back (an hour or a day of one connection), which takes far fewer pages; this bound
# only keeps a flood of events from becoming an unbounded read.
_LOG_PAGES_MAX = 20


@dataclass(frozen=True)
class LogEvent:
    """One tunnel log event: when, which stream (one per tunnel and kind), and its text."""

    timestamp: datetime
    stream: str
    message: str


def log_group_ensure(region: str, *, name: str, retention_days: int) -> str:
    """Make the log group exist with this retention, idempotently; returns its ARN."""
    try:
        _logs_call(region, "CreateLogGroup", logGroupName=name)
    except PermanentAwsError as exc:
        if exc.code != "ResourceAlreadyExistsException":
            raise
    _logs_call(region, "PutRetentionPolicy", logGroupName=name, retentionInDays=retention_days)
    groups = _logs_call(region, "DescribeLogGroups", logGroupNamePrefix=name).get("logGroups", [])
    for group in groups:
        if group["logGroupName"] == name:
            # Older answers only carry "arn", which ends in ":*".
            return group.get("logGroupArn") or group["arn"].removesuffix(":*")
    raise AwsNotFoundError(
        "DescribeLogGroups", "ResourceNotFoundException", f"No log group {name}."
    )


def tunnel_log_events(
    region: str, *, group_name: str, connection_id: str, since: datetime, limit: int
) -> list[LogEvent]:
    """The latest `limit` log events of a VPN connection's tunnels since `since`, newest
    first: every stream of the group named after the connection (one per tunnel and
    kind), read in two or three calls. `AwsNotFoundError` when the group does not exist."""
    streams: list[str] = []
    params = {"logGroupName": group_name, "logStreamNamePrefix": connection_id}
    while True:
        page = _logs_call(region, "DescribeLogStreams", **params)
        streams += [stream["logStreamName"] for stream in page.get("logStreams", [])]
        if not page.get("nextToken"):
            break
        params["nextToken"] = page["nextToken"]
    events: list[LogEvent] = []
    start = int(since.timestamp() * 1000)
    for first in range(0, len(streams), _STREAMS_PER_CALL):
        names = streams[first : first + _STREAMS_PER_CALL]
        params = {"logGroupName": group_name, "logStreamNames": names, "startTime": start}
        pages = 0
        while True:
            page = _logs_call(region, "FilterLogEvents", **params)
            events += [
                LogEvent(
                    timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC),
                    stream=event["logStreamName"],
                    message=event["message"],
                )
                for event in page.get("events", [])
            ]
            pages += 1
            if not page.get("nextToken") or pages >= _LOG_PAGES_MAX:
                break
            params["nextToken"] = page["nextToken"]
    events.sort(key=lambda event: (event.timestamp, event.stream), reverse=True)
    return events[:limit]


def vpn_connection_route_create(region: str, *, vpn_connection_id: str, cidr: str) -> None:
    """Add a static route to the VPN connection."""
    _call(
        region,
        "CreateVpnConnectionRoute",
        VpnConnectionId=vpn_connection_id,
        DestinationCidrBlock=cidr,
    )


def vpn_connection_route_delete(region: str, *, vpn_connection_id: str, cidr: str) -> None:
    """Remove a static route from the VPN connection (one already gone is fine)."""
    with contextlib.suppress(AwsNotFoundError):
        _call(
            region,
            "DeleteVpnConnectionRoute",
            VpnConnectionId=vpn_connection_id,
            DestinationCidrBlock=cidr,
        )


def route_delete(region: str, *, route_table_id: str, cidr: str) -> None:
    """Remove `cidr` from the route table, if it is there."""
    table = describe(region, "route-table", route_table_id)
    routes = (table.details if table else {}).get("Routes", [])
    if any(route.get("DestinationCidrBlock") == cidr for route in routes):
        with contextlib.suppress(AwsNotFoundError):
            _call(region, "DeleteRoute", RouteTableId=route_table_id, DestinationCidrBlock=cidr)


def route_propagation_enable(region: str, *, route_table_id: str, vpn_gateway_id: str) -> None:
    """Let the route table learn the routes the VPN gateway has (BGP)."""
    _call(
        region, "EnableVgwRoutePropagation", RouteTableId=route_table_id, GatewayId=vpn_gateway_id
    )


def internet_gateway_create(region: str, *, request_id: int, role: str) -> Resource:
    """Create an internet gateway."""
    raw = _call(
        region,
        "CreateInternetGateway",
        TagSpecifications=_tag_spec("internet-gateway", request_id, role),
    )["InternetGateway"]
    return Resource(id=raw["InternetGatewayId"], state="available", details=raw)


def internet_gateway_attach(region: str, *, internet_gateway_id: str, vpc_id: str) -> None:
    """Attach the internet gateway to the VPC, unless it already is."""
    gateway = describe(region, "internet-gateway", internet_gateway_id)
    attached = {a.get("VpcId") for a in (gateway.details if gateway else {}).get("Attachments", [])}
    if vpc_id not in attached:
        _call(region, "AttachInternetGateway", InternetGatewayId=internet_gateway_id, VpcId=vpc_id)


def address_allocate(region: str, *, request_id: int, role: str) -> Resource:
    """Allocate an elastic IP for the NAT gateway."""
    raw = _call(
        region,
        "AllocateAddress",
        Domain="vpc",
        TagSpecifications=_tag_spec("elastic-ip", request_id, role),
    )
    return Resource(
        id=raw["AllocationId"], state="available", details={"PublicIp": raw["PublicIp"]}
    )


def nat_gateway_create(
    region: str, *, subnet_id: str, allocation_id: str, request_id: int, role: str
) -> Resource:
    """Create a public NAT gateway in the subnet, with the elastic IP."""
    raw = _call(
        region,
        "CreateNatGateway",
        SubnetId=subnet_id,
        AllocationId=allocation_id,
        ConnectivityType="public",
        # The same token makes a retried call return the same NAT gateway.
        ClientToken=f"vpn-portal-{request_id}-{role}",
        TagSpecifications=_tag_spec("natgateway", request_id, role),
    )["NatGateway"]
    return Resource(id=raw["NatGatewayId"], state=raw.get("State", "pending"), details=raw)


# Deleting ------------------------------------------------------------------------------


def delete(region: str, kind: str, resource_id: str, **context) -> None:
    """Delete one resource; one that is already gone is fine."""
    operations = {
        "vpn-connection": ("DeleteVpnConnection", {"VpnConnectionId": resource_id}),
        "vpn-gateway": ("DeleteVpnGateway", {"VpnGatewayId": resource_id}),
        "customer-gateway": ("DeleteCustomerGateway", {"CustomerGatewayId": resource_id}),
        "nat-gateway": ("DeleteNatGateway", {"NatGatewayId": resource_id}),
        "elastic-ip": ("ReleaseAddress", {"AllocationId": resource_id}),
        "internet-gateway": ("DeleteInternetGateway", {"InternetGatewayId": resource_id}),
        "subnet": ("DeleteSubnet", {"SubnetId": resource_id}),
        "route-table": ("DeleteRouteTable", {"RouteTableId": resource_id}),
        "vpc": ("DeleteVpc", {"VpcId": resource_id}),
    }
    operation, params = operations[kind]
    with contextlib.suppress(AwsNotFoundError):
        _call(region, operation, **params)


def vpn_gateway_detach(region: str, *, vpn_gateway_id: str, vpc_id: str) -> None:
    """Detach the gateway from the VPC (already detached is fine)."""
    try:
        _call(region, "DetachVpnGateway", VpnGatewayId=vpn_gateway_id, VpcId=vpc_id)
    except PermanentAwsError as exc:
        if exc.code not in ("InvalidVpnGatewayAttachment.NotFound", "InvalidVpnGatewayID.NotFound"):
            raise


def internet_gateway_detach(region: str, *, internet_gateway_id: str, vpc_id: str) -> None:
    """Detach the internet gateway from the VPC (already detached is fine)."""
    try:
        _call(region, "DetachInternetGateway", InternetGatewayId=internet_gateway_id, VpcId=vpc_id)
    except PermanentAwsError as exc:
        if exc.code != "Gateway.NotAttached" and not isinstance(exc, AwsNotFoundError):
            raise


def route_table_disassociate_all(region: str, *, route_table_id: str) -> None:
    """Remove the table's subnet associations (moto needs this before deletion)."""
    table = describe(region, "route-table", route_table_id)
    for association in (table.details if table else {}).get("Associations", []):
        if not association.get("Main") and association.get("RouteTableAssociationId"):
            with contextlib.suppress(AwsNotFoundError):
                _call(
                    region,
                    "DisassociateRouteTable",
                    AssociationId=association["RouteTableAssociationId"],
                )
