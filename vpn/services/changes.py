"""Changes to a live VPN: proposed, confirmed, then applied to AWS one step at a time.

A change is a `VpnChange` record (who asked and why, before and after, who applied it,
each AWS call in a `VpnChangeCall`). `change_propose` checks it against the intake's
rules and records it; `change_apply` says yes to it (a disruptive change only once its
impact, in words, was confirmed) and queues `vpn.jobs.change_advance`, which calls
`change_advance` until the change is over. `change_confirm_tunnel` records that the
customer configured a tunnel that was never up; `change_cancel` drops a proposal, or
stops a change between steps.

**The orchestration is the same for every kind.** A kind's handler (`ChangeHandler`)
plans steps, each the tunnels it changes; `change_advance`, for each step in turn:

1. checks, for a step that would take an UP tunnel down, that every other tunnel in use
   is UP, so that traffic keeps a path (else it waits);
2. runs the handler's `step_apply` (its AWS calls) and records what AWS then reports;
3. when the customer's side changes, queues the config pack version naming the change
   and saying which tunnel already has the new values (`change_pack_issue`, on the
   "packs" queue), which emails the customer;
4. waits, by re-queueing its job (never by sleeping), until AWS reports the step's
   tunnels UP again with a status change after the step. A tunnel never up before the
   change waits for the customer's confirmation instead; a tunnel not back within
   `CHANGE_TUNNEL_WAIT_SECONDS` (counted in checks, one per `PROVISION_POLL_SECONDS`,
   so that the limit holds however fast the checks run) stops the change with a clear
   message, and the next step's tunnels are never touched.

**Adding a kind that acts on one tunnel at a time** (a tunnel endpoint maintenance
through `ReplaceVpnTunnel`, turning on tunnel lifecycle control): subclass
`PerTunnelChange`, implement `clean` (what is proposed), `summary` and `tunnel_apply`
(the AWS calls for one tunnel, through `run.call` so that each is recorded), add the
kind to `vpn.choices.ChangeKind` and to `HANDLERS`, and give its propose and apply
actions a row in `docs/roles.md` and `vpn.permissions.ROLES`. The steps, the waits,
the timeouts, the pack and the emails come from the orchestration unchanged.

No AWS call runs inside a transaction or under a row lock: every AWS call happens in
`change_advance`, and its state is written after it.
"""

import abc
import ipaddress
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from vpn import aws, events
from vpn.choices import (
    ACTIVE_CHANGE_STATES,
    OPERATIONAL_STAGES,
    AwsResourceRole,
    ChangeKind,
    ChangeState,
    Routing,
    TunnelStatus,
)
from vpn.models import (
    AwsResource,
    PendingMaintenance,
    Tunnel,
    TunnelStatusChange,
    VpnChange,
    VpnChangeCall,
    VpnRequest,
)
from vpn.permissions import user_may
from vpn.selectors.packs import config_pack_latest
from vpn.services import allocation, provisioning
from vpn.services.notifications import email_queue, emails_send
from vpn.services.packs import (
    PackNotReady,
    PackParameterError,
    PackRenderConflict,
    config_pack_render,
)
from vpn.tunnel_profile import (
    TUNNEL_OPTIONS,
    tunnel_options_check,
    tunnel_options_modification,
    tunnel_profile,
)
from vpn.validation import IntakeInvalid, customer_ranges_check, gateway_change_check

logger = logging.getLogger(__name__)

# What one run of `change_advance` came to.
ACTED = "acted"  # made its AWS calls: look at the tunnels again later
WAITING = "waiting"  # a tunnel is not back yet, or AWS is still busy: look again later
PAUSED = "paused"  # waits for a person (the customer's confirmation): no job until then
DONE = "done"
FAILED = "failed"
IDLE = "idle"  # nothing to do (no such change, or it is over)
# The outcomes after which the job runs again after PROVISION_POLL_SECONDS.
LOOK_AGAIN = (ACTED, WAITING)

# The plan's phases within a step.
PLAN, ACT, WAIT = "", "act", "wait"
# The longest reason a change may give.
REASON_MAX_LENGTH = 1000
# A tunnel is back once AWS reports it UP with a status change after the step; this
# much earlier still counts, for clocks a little apart and timestamps cut to the second.
STATUS_CLOCK_ALLOWANCE = timedelta(seconds=1)


class ChangeRefused(Exception):
    """A change that cannot be proposed, applied, confirmed or cancelled as asked, in
    words for the person asking; nothing was written."""


@dataclass(frozen=True)
class Impact:
    """What applying a change does to traffic, in words, and whether it is disruptive
    (then whoever applies it confirms, having read it)."""

    words: str
    disruptive: bool


def _max_checks() -> int:
    """Telemetry checks a wait makes before it gives up: the wait's length over the
    interval between checks (counted, not timed, so that it holds however fast the
    checks come)."""
    return max(
        1, math.ceil(settings.CHANGE_TUNNEL_WAIT_SECONDS / max(settings.PROVISION_POLL_SECONDS, 1))
    )


def _minutes(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{seconds // 60} minutes"


def _and(items: list) -> str:
    """ "1", "1 and 2", "1, 2 and 3"."""
    words = [str(item) for item in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _tunnels_words(positions: list[int]) -> str:
    if not positions:
        return "no tunnel"
    return ("tunnel " if len(positions) == 1 else "tunnels ") + _and(positions)


# --- One run of a change: its AWS calls, recorded ----------------------------------------


_SECRET_PARAMETERS = ("PreSharedKey", "psk")


def _redacted(value: object) -> object:
    """Parameters as they are stored: every pre-shared key replaced."""
    if isinstance(value, Mapping):
        return {
            key: "REDACTED" if key in _SECRET_PARAMETERS else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def _outcome(result: object) -> str:
    """What AWS answered, in a line (never a key)."""
    if isinstance(result, aws.VpnConnectionInfo):
        tunnels = ", ".join(f"{t.outside_ip} {t.status}" for t in result.tunnels)
        return f"{result.id} {result.state}; tunnels {tunnels}"
    if isinstance(result, aws.Resource):
        return f"{result.id} {result.state}".strip()
    if isinstance(result, list):
        # Each item in the words it gets alone, not its repr (a page of options).
        return (
            ", ".join(
                _outcome(item)
                if isinstance(item, aws.VpnConnectionInfo | aws.Resource)
                else str(item)
                for item in result
            )
            or "none"
        )
    return "done"


class ChangeRun:
    """What one run of `change_advance` works on: the change, its request and AWS
    connection, and `call`, the door through which handlers make (and record) AWS calls."""

    def __init__(self, change: VpnChange, *, packs_here: bool = False):
        self.change = change
        # Issue the step's config pack in this process rather than on the "packs" queue.
        self.packs_here = packs_here
        self.request = change.request
        connection = self.request.resources.filter(
            role=AwsResourceRole.VPN_CONNECTION, deleted_at__isnull=True
        ).first()
        if connection is None:
            raise ChangeRefused(f"{self.request.reference} has no VPN connection recorded.")
        self.connection_id = connection.resource_id
        self.region = connection.region

    def call(
        self, operation: str, func: Callable[..., object], *, tunnel: int | None = None, **params
    ) -> object:
        """Make one AWS call (`func(region, **params)`) and record it with its outcome."""
        try:
            result = func(self.region, **params)
        except aws.AwsError as exc:
            self._record(operation, tunnel, params, ok=False, outcome=f"{exc.code}: {exc.message}")
            raise
        self._record(operation, tunnel, params, ok=True, outcome=_outcome(result))
        return result

    def _record(self, operation, tunnel, params, *, ok: bool, outcome: str) -> None:
        VpnChangeCall.objects.create(
            change=self.change,
            operation=operation,
            tunnel=tunnel,
            parameters=_redacted(params),
            ok=ok,
            outcome=outcome[:2000],
        )

    def connection(self) -> aws.VpnConnectionInfo:
        """The VPN connection as AWS reports it now, tunnels and telemetry included."""
        found = self.call(
            "DescribeVpnConnections", aws.vpn_connections_describe, ids=[self.connection_id]
        )
        if not found or found[0].state in ("deleting", "deleted"):
            state = found[0].state if found else "gone"
            raise aws.PermanentAwsError(
                "DescribeVpnConnections",
                "InvalidVpnConnectionID.NotFound",
                f"The VPN connection {self.connection_id} is {state} in AWS.",
            )
        return found[0]

    def tunnel(self, position: int) -> Tunnel:
        """The request's tunnel at `position`."""
        return self.request.tunnels.get(position=position)

    def tunnels_record(self, connection: aws.VpnConnectionInfo) -> None:
        """Store the tunnels (keys included) as AWS reports them after a call."""
        provisioning.tunnels_record(request=self.request, connection=connection)


# --- The kinds of change ------------------------------------------------------------------


class ChangeHandler(abc.ABC):
    """One kind of change: what it accepts, what it says, how it is applied.

    `clean` turns what was asked into (before, after) or raises `ChangeRefused`;
    `steps` plans the tunnels each step changes; `step_apply` makes one step's AWS calls
    and writes what changed (True while AWS is still at work, to be run again);
    `finish` runs once after the last step. The orchestration does the rest.
    Every kind defines `clean`, `summary` and `step_apply` (a handler missing one cannot
    be made); the others have defaults.
    """

    kind: ChangeKind
    # Whether the customer's device configuration changes: a pack is issued and emailed.
    customer_side = True
    # Whether a step takes its tunnels down: then each must report a status change since
    # the step before it counts as UP again.
    takes_tunnels_down = True

    @abc.abstractmethod
    def clean(self, request: VpnRequest, values: Mapping[str, object]) -> tuple[dict, dict]:
        """(before, after) of the change asked for on `request`; ChangeRefused if refused."""

    @abc.abstractmethod
    def summary(self, change: VpnChange) -> str:
        """The change in a few words, before → after."""

    def tunnels(self, change: VpnChange) -> list[int]:
        """The tunnels the change's steps change (and wait for)."""
        return []

    def steps(self, run: ChangeRun, telemetry: dict[int, aws.TunnelInfo] | None) -> list[list[int]]:
        """The plan: the tunnels of each step, in order."""
        return [self.tunnels(run.change)]

    @abc.abstractmethod
    def step_apply(self, run: ChangeRun, tunnels: list[int]) -> bool:
        """Make one step's AWS calls; True while AWS still works on them."""

    def finish(self, run: ChangeRun) -> str:
        """After the last step: tidy up; returns a note for the change's message."""
        return ""

    def impact(self, request: VpnRequest, change: VpnChange) -> Impact:
        """What applying the change does to traffic."""
        return Impact("No tunnel drops.", disruptive=False)


class PerTunnelChange(ChangeHandler):
    """A change applied to one tunnel at a time: the extension point for every kind of
    change that acts on a tunnel (see the module's docstring).

    Subclasses implement `tunnel_apply`; the plan takes one step per tunnel, the tunnels
    that are not UP first (changing them costs no traffic) and those not in use last, and
    the orchestration waits after each until its tunnel is UP again.
    """

    @abc.abstractmethod
    def tunnel_apply(self, run: ChangeRun, tunnel: Tunnel) -> None:
        """Make the AWS calls that change `tunnel` (through `run.call`), and store what
        AWS then reports. Raise the errors of `vpn.aws`."""

    def tunnels(self, change: VpnChange) -> list[int]:
        return [1, 2]

    def steps(self, run, telemetry):
        request = run.request
        positions = self.tunnels(run.change)

        def order(position: int) -> tuple:
            used = position <= request.tunnel_count
            up = bool(telemetry) and _is_up(telemetry.get(position))
            return (not used, up, position)

        return [[position] for position in sorted(positions, key=order)]

    def step_apply(self, run, tunnels):
        for position in tunnels:
            self.tunnel_apply(run, run.tunnel(position))
        return False

    def impact(self, request, change):
        touched = self.tunnels(change)
        used = [p for p in touched if p <= request.tunnel_count]
        if not used:
            return Impact(
                f"{_tunnels_words(touched).capitalize()} is not in use: no traffic is affected.",
                disruptive=False,
            )
        if request.tunnel_count == 1:
            return Impact(
                "This VPN has one tunnel: while AWS applies the change to tunnel 1 (a few "
                "minutes), and until the customer's device has the new values, no tunnel "
                "carries traffic. This is an outage: agree a time with the customer first.",
                disruptive=True,
            )
        if len(used) == 1:
            other = 2 if used[0] == 1 else 1
            return Impact(
                f"Tunnel {used[0]} drops for a few minutes while AWS applies it; tunnel {other} "
                "carries the traffic meanwhile.",
                disruptive=True,
            )
        return Impact(
            "One tunnel at a time: the first drops for a few minutes while AWS applies the "
            "change, and the other carries the traffic; the second changes only once the "
            "first is UP again, so that traffic always has a path. A tunnel that does not "
            f"come back within {_minutes(settings.CHANGE_TUNNEL_WAIT_SECONDS)} stops the change "
            "before the other is touched.",
            disruptive=True,
        )


def _positions(value: object) -> list[int]:
    text = str(value).strip().lower()
    if text in ("all", "both"):
        return [1, 2]
    if text in ("1", "2"):
        return [int(text)]
    raise ChangeRefused(f"Rotate the key of tunnel 1, 2 or all, not “{text[:20]}”.")


class RotatePskChange(PerTunnelChange):
    """New pre-shared keys, generated by the portal, one tunnel at a time."""

    kind = ChangeKind.ROTATE_PSK

    def clean(self, request, values):
        positions = _positions(values.get("tunnels", ""))
        return {"tunnels": positions}, {"tunnels": positions, "keys": "new, one per tunnel"}

    def tunnels(self, change):
        return list(change.after["tunnels"])

    def summary(self, change):
        return f"new pre-shared key for {_tunnels_words(self.tunnels(change))}"

    def tunnel_apply(self, run, tunnel):
        connection = run.call(
            "ModifyVpnTunnelOptions",
            aws.vpn_tunnel_options_modify,
            tunnel=tunnel.position,
            vpn_connection_id=run.connection_id,
            outside_ip=tunnel.outside_ip,
            options={"PreSharedKey": allocation.psk_generate()},
        )
        run.tunnels_record(connection)


def _profile_fields(ike_version: str, options: Mapping) -> dict:
    profile = tunnel_profile(ike_version, options)
    return {name: getattr(profile, name) for name in TUNNEL_OPTIONS}


class TunnelOptionsChange(PerTunnelChange):
    """Other IKE/IPsec options (the IKE version among them) for both tunnels, in turn."""

    kind = ChangeKind.TUNNEL_OPTIONS

    def clean(self, request, values):
        try:
            ike_version, options = tunnel_options_check(
                ike_version=request.ike_version, current=request.tunnel_options, wanted=values
            )
        except ValueError as exc:
            raise ChangeRefused(str(exc)) from None
        before = _profile_fields(request.ike_version, request.tunnel_options)
        after = _profile_fields(ike_version, options)
        if before == after:
            raise ChangeRefused("The tunnels already use these options: nothing would change.")
        changed = [name for name in TUNNEL_OPTIONS if before[name] != after[name]]
        return (
            {name: before[name] for name in changed},
            {
                **{name: after[name] for name in changed},
                "profile": {"ike_version": ike_version, "options": options},
            },
        )

    def summary(self, change):
        return "; ".join(
            f"{TUNNEL_OPTIONS[name].label.lower()} {old} → {change.after[name]}"
            for name, old in change.before.items()
        )

    def tunnel_apply(self, run, tunnel):
        wanted = run.change.after["profile"]
        request = run.request
        profile = tunnel_profile(wanted["ike_version"], wanted["options"])
        connection = run.call(
            "ModifyVpnTunnelOptions",
            aws.vpn_tunnel_options_modify,
            tunnel=tunnel.position,
            vpn_connection_id=run.connection_id,
            outside_ip=tunnel.outside_ip,
            options=tunnel_options_modification(profile),
        )
        run.tunnels_record(connection)
        # The pack prints one profile: from the first tunnel changed on, the new one.
        if (request.ike_version, request.tunnel_options) != (
            wanted["ike_version"],
            wanted["options"],
        ):
            request.ike_version, request.tunnel_options = wanted["ike_version"], wanted["options"]
            request.save(update_fields=["ike_version", "tunnel_options", "updated_at"])


class CustomerGatewayChange(ChangeHandler):
    """The customer's device moves to a new public IP (and, with BGP, perhaps a new ASN):
    a new customer gateway, the connection moved onto it, the old one deleted when no
    other VPN uses it.

    `ModifyVpnConnection` keeps AWS's side as it is (the tunnels' outside IPs, pre-shared
    keys, inside addresses and options) and takes both tunnels down at once while AWS
    provisions the new endpoints: one step for both tunnels, an outage to confirm.
    """

    kind = ChangeKind.CUSTOMER_GATEWAY

    def clean(self, request, values):
        gateway = request.resources.filter(
            role=AwsResourceRole.CUSTOMER_GATEWAY, deleted_at__isnull=True
        ).first()
        asn = values.get("asn")
        bgp = request.routing == Routing.BGP
        if asn not in (None, "") and not bgp:
            raise ChangeRefused(
                "Static routing uses no customer ASN: give only the new gateway IP."
            )
        try:
            ip, new_asn = gateway_change_check(
                ip=values.get("ip"),
                asn=asn if asn not in (None, "") else None,
                region=request.region,
            )
        except IntakeInvalid as exc:
            raise ChangeRefused(" ".join(m for msgs in exc.errors.values() for m in msgs)) from None
        new_asn = new_asn if new_asn is not None else (request.bgp_asn if bgp else None)
        if bgp and new_asn == request.amazon_side_asn:
            raise ChangeRefused(
                f"ASN {new_asn} is AWS's own side of these BGP sessions; the customer's ASN "
                "must differ."
            )
        if ip == request.customer_gateway_ip and new_asn == (request.bgp_asn if bgp else None):
            raise ChangeRefused(f"The customer gateway is already {ip}: nothing would change.")
        before = {
            "ip": request.customer_gateway_ip,
            "asn": request.bgp_asn if bgp else None,
            "customer_gateway_id": gateway.resource_id if gateway else "",
        }
        return before, {"ip": ip, "asn": new_asn}

    def summary(self, change):
        words = f"customer gateway {change.before['ip']} → {change.after['ip']}"
        if change.after.get("asn") != change.before.get("asn"):
            words += f", ASN {change.before['asn']} → {change.after['asn']}"
        return words

    def tunnels(self, change):
        return [1, 2]

    def steps(self, run, telemetry):
        return [[1, 2]]  # ModifyVpnConnection takes both tunnels at once

    def step_apply(self, run, tunnels):
        request, change = run.request, run.change
        after = change.after
        gateway = run.call(
            "CreateCustomerGateway",
            aws.customer_gateway_create,
            ip=after["ip"],
            bgp_asn=after["asn"] or provisioning.STATIC_CUSTOMER_ASN,
            request_id=request.pk,
            role=AwsResourceRole.CUSTOMER_GATEWAY.value,
        )
        if gateway.state != "available":
            return True
        change.after = {**after, "customer_gateway_id": gateway.id}
        change.save(update_fields=["after", "updated_at"])
        connection = run.connection()
        if connection.customer_gateway_id != gateway.id:
            connection = run.call(
                "ModifyVpnConnection",
                aws.vpn_connection_customer_gateway_modify,
                vpn_connection_id=run.connection_id,
                customer_gateway_id=gateway.id,
            )
        run.tunnels_record(connection)
        with transaction.atomic():
            request.customer_gateway_ip = after["ip"]
            if request.routing == Routing.BGP:
                request.bgp_asn = after["asn"]
            request.save(update_fields=["customer_gateway_ip", "bgp_asn", "updated_at"])
            AwsResource.objects.update_or_create(
                request=request,
                role=AwsResourceRole.CUSTOMER_GATEWAY,
                defaults={
                    "resource_id": gateway.id,
                    "region": run.region,
                    "state": gateway.state,
                    "details": {"ip": after["ip"]},
                    "deleted_at": None,
                },
            )
        return False

    def finish(self, run):
        old = run.change.before.get("customer_gateway_id")
        new = run.change.after.get("customer_gateway_id")
        if not old or old == new:
            return ""
        holders = sorted(
            holder.request.reference
            for holder in AwsResource.objects.filter(resource_id=old, deleted_at__isnull=True)
            .exclude(request=run.request)
            .select_related("request")
        )
        users = run.call(
            "DescribeVpnConnections",
            aws.customer_gateway_connection_ids,
            customer_gateway_id=old,
        )
        if holders or users:
            return (
                f"The old customer gateway {old} is kept: "
                f"{_and(holders or users)} still use{'s' if len(holders or users) == 1 else ''} it."
            )
        run.call("DeleteCustomerGateway", aws.delete, kind="customer-gateway", resource_id=old)
        return f"The old customer gateway {old} is deleted."

    def impact(self, request, change):
        return Impact(
            "Both tunnels drop at once while AWS moves the connection onto the new customer "
            "gateway (AWS provisions new endpoints: a few minutes), and stay down until the "
            f"device at {change.after['ip']} is configured: this is an outage, and the "
            "one-tunnel-at-a-time guarantee does not hold for this change. AWS keeps its side "
            "as it is (the tunnels' outside IPs, pre-shared keys and inside addresses); only "
            "the customer's address changes. Have the customer configure the new device from "
            "the new pack first.",
            disruptive=True,
        )


class SubnetChange(ChangeHandler):
    """A customer subnet added or removed. Static routing: the VPN connection's static
    routes and the VPC's route table; BGP: the prefixes the customer will advertise (for
    the pack and the route checks). No tunnel is touched."""

    def __init__(self, kind: ChangeKind):
        self.kind = kind
        self.adding = kind == ChangeKind.ADD_SUBNET

    @staticmethod
    def _field(request: VpnRequest) -> str:
        return "static_subnets" if request.routing == Routing.STATIC else "advertised_prefixes"

    def clean(self, request, values):
        text = str(values.get("cidr", "")).strip()
        current = list(getattr(request, self._field(request)))
        try:
            network = str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            network = text
        if self.adding:
            wanted = [*current, text]
        else:
            if network not in current:
                listed = ", ".join(current) or "none"
                raise ChangeRefused(f"{text[:40]} is not one of this VPN's subnets ({listed}).")
            wanted = [subnet for subnet in current if subnet != network]
        try:
            cleaned = customer_ranges_check(
                routing=request.routing, ranges=wanted, vpc_cidr=request.vpc_cidr
            )
        except IntakeInvalid as exc:
            raise ChangeRefused(" ".join(m for msgs in exc.errors.values() for m in msgs)) from None
        cidr = cleaned[-1] if self.adding else network
        return {self._field(request): current}, {self._field(request): cleaned, "cidr": cidr}

    def summary(self, change):
        verb = "add" if self.adding else "remove"
        what = "static route" if "static_subnets" in change.after else "advertised prefix"
        return f"{verb} {what} {change.after['cidr']}"

    def step_apply(self, run, tunnels):
        request, change = run.request, run.change
        cidr = change.after["cidr"]
        if "static_subnets" in change.after:
            routes = run.connection().routes
            table = request.resources.get(
                role=AwsResourceRole.PRIVATE_ROUTE_TABLE, deleted_at__isnull=True
            ).resource_id
            gateway = request.resources.get(
                role=AwsResourceRole.VPN_GATEWAY, deleted_at__isnull=True
            ).resource_id
            if self.adding:
                if cidr not in routes:
                    run.call(
                        "CreateVpnConnectionRoute",
                        aws.vpn_connection_route_create,
                        vpn_connection_id=run.connection_id,
                        cidr=cidr,
                    )
                run.call(
                    "CreateRoute",
                    aws.route_ensure,
                    route_table_id=table,
                    cidr=cidr,
                    target={"GatewayId": gateway},
                )
            else:
                run.call("DeleteRoute", aws.route_delete, route_table_id=table, cidr=cidr)
                if cidr in routes:
                    run.call(
                        "DeleteVpnConnectionRoute",
                        aws.vpn_connection_route_delete,
                        vpn_connection_id=run.connection_id,
                        cidr=cidr,
                    )
        field = next(
            name for name in ("static_subnets", "advertised_prefixes") if name in change.after
        )
        setattr(request, field, change.after[field])
        request.save(update_fields=[field, "updated_at"])
        return False

    def impact(self, request, change):
        cidr = change.after["cidr"]
        if "static_subnets" in change.after:
            if self.adding:
                words = (
                    f"No tunnel drops. AWS routes {cidr} into the tunnels; traffic to it flows "
                    "once the customer's device sends it (a policy-based device needs the new "
                    "range in its selectors: see the new pack)."
                )
            else:
                words = (
                    f"No tunnel drops. AWS stops routing {cidr}: the platform's connectors can "
                    "no longer reach it over this VPN."
                )
        elif self.adding:
            words = (
                f"No tunnel drops, and no AWS call: the customer's device advertises {cidr} "
                "over BGP, and the pack and the route checks expect it."
            )
        else:
            words = (
                f"No tunnel drops, and no AWS call: the pack and the route checks no longer "
                f"expect {cidr} (the customer's device stops advertising it)."
            )
        return Impact(words, disruptive=False)


class NatChange(ChangeHandler):
    """The NAT gateway turned on (public subnet, internet gateway, elastic IP, NAT
    gateway and the private subnet's default route) or off (the same, taken away)."""

    kind = ChangeKind.NAT

    def clean(self, request, values):
        wanted = str(values.get("nat", "")).strip().lower()
        if wanted not in ("on", "off"):
            raise ChangeRefused(f"NAT is “on” or “off”, not “{wanted[:20]}”.")
        on = wanted == "on"
        if on == request.nat_wanted:
            raise ChangeRefused(f"NAT is already {wanted}: nothing would change.")
        return {"nat": request.nat_wanted}, {"nat": on}

    def summary(self, change):
        return "NAT gateway " + ("on" if change.after["nat"] else "off")

    def step_apply(self, run, tunnels):
        request = run.request
        if run.change.after["nat"]:
            if not request.nat_wanted:
                request.nat_wanted = True
                request.save(update_fields=["nat_wanted", "updated_at"])
            return provisioning.step_vpc(request) or provisioning.nat_build(request)
        if provisioning.nat_teardown(request):
            return True
        request.nat_wanted = False
        request.save(update_fields=["nat_wanted", "updated_at"])
        return False

    def impact(self, request, change):
        if change.after["nat"]:
            return Impact(
                "No tunnel drops. The platform's connectors reach public services through a "
                "new NAT gateway, whose public IP the new pack gives (the customer may need to "
                "allow it).",
                disruptive=False,
            )
        return Impact(
            "No tunnel drops, but the platform's connectors lose their way to public "
            "services: the NAT gateway, its public IP and the default route are deleted.",
            disruptive=True,
        )


class TunnelCountChange(ChangeHandler):
    """A one-tunnel VPN gets its second tunnel: AWS always had it, so nothing changes in
    AWS; the customer configures tunnel 2 from the new pack and it is watched from then."""

    kind = ChangeKind.TUNNEL_COUNT

    def clean(self, request, values):
        try:
            wanted = int(str(values.get("tunnels", "")).strip())
        except ValueError:
            wanted = 0
        if wanted != 2:
            raise ChangeRefused(
                "A VPN goes from one tunnel to two only (AWS always has two; going back to "
                "one would give up the failover)."
            )
        if request.tunnel_count == 2:
            raise ChangeRefused("This VPN already uses both tunnels: nothing would change.")
        return {"tunnels": request.tunnel_count}, {"tunnels": 2}

    # Nothing takes tunnel 2 down: it is done once UP, however long it has been.
    takes_tunnels_down = False

    def summary(self, change):
        return "from one tunnel to two"

    def tunnels(self, change):
        return [2]

    def step_apply(self, run, tunnels):
        request = run.request
        request.tunnel_count = 2
        request.save(update_fields=["tunnel_count", "updated_at"])
        return False

    def impact(self, request, change):
        return Impact(
            "No tunnel drops. Tunnel 2 joins the customer's configuration (the new pack), "
            "and is watched and alerted on from then; the change is done once it is UP.",
            disruptive=False,
        )


class MaintenanceChange(PerTunnelChange):
    """AWS's pending endpoint maintenance applied now (`ReplaceVpnTunnel` with
    `ApplyPendingMaintenance`), on the tunnels in use that have some, one at a time.

    Nothing changes on the customer's side (the tunnel keeps its outside IP, key and
    options), so no pack is issued. At the end, AWS is asked again for each replaced
    tunnel, and the `PendingMaintenance` rows it no longer reports are cleared.
    """

    kind = ChangeKind.MAINTENANCE
    customer_side = False

    def clean(self, request, values):
        pending = {
            row.tunnel.position: row.description
            for row in PendingMaintenance.objects.filter(
                tunnel__request=request,
                tunnel__position__lte=request.tunnel_count,
                cleared_at__isnull=True,
            )
            .select_related("tunnel")
            .order_by("tunnel__position")
        }
        if not pending:
            raise ChangeRefused(
                f"AWS reports no pending maintenance on {request.reference}'s tunnels in use: "
                "nothing to apply."
            )
        words = "; ".join(f"tunnel {p}: {d}" for p, d in pending.items())
        return (
            {"pending_maintenance": words},
            {"pending_maintenance": "applied", "tunnels": sorted(pending)},
        )

    def summary(self, change):
        return f"AWS's pending maintenance on {_tunnels_words(change.after['tunnels'])}"

    def tunnels(self, change):
        return list(change.after["tunnels"])

    def tunnel_apply(self, run, tunnel):
        run.call(
            "ReplaceVpnTunnel",
            aws.vpn_tunnel_replace,
            tunnel=tunnel.position,
            vpn_connection_id=run.connection_id,
            outside_ip=tunnel.outside_ip,
            apply_pending_maintenance=True,
        )

    def finish(self, run):
        still = []
        now = timezone.now()
        for position in self.tunnels(run.change):
            tunnel = run.tunnel(position)
            reported = run.call(
                "GetVpnTunnelReplacementStatus",
                aws.vpn_tunnel_replacement_status,
                tunnel=position,
                vpn_connection_id=run.connection_id,
                outside_ip=tunnel.outside_ip,
            )
            Tunnel.objects.filter(pk=tunnel.pk).update(
                maintenance_checked_at=now, maintenance_last_applied=reported.last_applied
            )
            if reported.pending:
                still.append(position)
            else:
                PendingMaintenance.objects.filter(tunnel=tunnel, cleared_at__isnull=True).update(
                    cleared_at=now
                )
        if still:
            return (
                f"AWS still reports maintenance pending on {_tunnels_words(still)} (announced "
                "since): it is shown until a change applies it."
            )
        return "AWS reports no maintenance pending any more."

    def impact(self, request, change):
        base = super().impact(request, change)
        return Impact(
            "AWS replaces the endpoint of each tunnel with pending maintenance; the tunnel "
            "keeps its outside IP, key and options, so the customer's device needs nothing "
            "new. " + base.words,
            disruptive=base.disruptive,
        )


class LifecycleControlChange(PerTunnelChange):
    """Tunnel endpoint lifecycle control turned on for a VPN made before it was the
    default (`ModifyVpnTunnelOptions` with `EnableTunnelLifecycleControl`), one tunnel at
    a time: from then, AWS's endpoint maintenance waits to be applied here, up to its
    deadline. New tunnels have it from their creation (`vpn.tunnel_profile`)."""

    kind = ChangeKind.LIFECYCLE_CONTROL
    customer_side = False

    def clean(self, request, values):
        return {"tunnel_lifecycle_control": "as AWS has it"}, {"tunnel_lifecycle_control": True}

    def summary(self, change):
        return "tunnel lifecycle control on for tunnels 1 and 2"

    def tunnel_apply(self, run, tunnel):
        connection = run.call(
            "ModifyVpnTunnelOptions",
            aws.vpn_tunnel_options_modify,
            tunnel=tunnel.position,
            vpn_connection_id=run.connection_id,
            outside_ip=tunnel.outside_ip,
            options={"EnableTunnelLifecycleControl": True},
        )
        run.tunnels_record(connection)


HANDLERS: dict[str, ChangeHandler] = {
    ChangeKind.ADD_SUBNET: SubnetChange(ChangeKind.ADD_SUBNET),
    ChangeKind.REMOVE_SUBNET: SubnetChange(ChangeKind.REMOVE_SUBNET),
    ChangeKind.CUSTOMER_GATEWAY: CustomerGatewayChange(),
    ChangeKind.ROTATE_PSK: RotatePskChange(),
    ChangeKind.TUNNEL_OPTIONS: TunnelOptionsChange(),
    ChangeKind.NAT: NatChange(),
    ChangeKind.TUNNEL_COUNT: TunnelCountChange(),
    ChangeKind.MAINTENANCE: MaintenanceChange(),
    ChangeKind.LIFECYCLE_CONTROL: LifecycleControlChange(),
}


def change_handler(kind: str) -> ChangeHandler:
    """The handler of a kind of change."""
    return HANDLERS[ChangeKind(kind)]


def change_impact(change: VpnChange) -> Impact:
    """What applying the change does to traffic, in words."""
    return change_handler(change.kind).impact(change.request, change)


def routing_change_refusal(*, request_id: int, routing: str) -> None:
    """Static ↔ BGP: always refused (AWS cannot do it in place), with the way to do it."""
    request = VpnRequest.objects.get(pk=request_id)
    try:
        wanted = Routing(routing)
    except ValueError:
        raise ChangeRefused(f"Routing is “static” or “bgp”, not “{routing[:20]}”.") from None
    if wanted == request.routing:
        raise ChangeRefused(f"{request.reference} already routes {wanted.label.lower()}.")
    raise ChangeRefused(
        f"AWS cannot switch a VPN connection between static routing and BGP in place: "
        f"{request.reference}'s routing was fixed when its connection was created. The way "
        f"is a replacement: make a new request for {request.customer.name} with "
        f"{wanted.label.lower()} routing. It gets a connection of its own (new outside IPs, "
        "keys and pack) and runs beside this one while the customer configures it; once "
        "the customer confirms its tunnels are up, decommission this one."
    )


# --- Proposing, applying, confirming, cancelling --------------------------------------------


def _user_or_none(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _allowed(user: AbstractBaseUser | None, action: str) -> None:
    """Users act under the roles matrix; commands (no user) have a shell on the server."""
    if user is not None and not user_may(user, action):
        raise ChangeRefused("Your account may not do this (see the roles matrix).")


def _under_way(request: VpnRequest, *, exclude: int | None = None) -> VpnChange | None:
    changes = request.changes.filter(state__in=ACTIVE_CHANGE_STATES)
    if exclude is not None:
        changes = changes.exclude(pk=exclude)
    return changes.first()


def _refuse_while_under_way(request: VpnRequest, *, exclude: int | None = None) -> None:
    current = _under_way(request, exclude=exclude)
    if current is not None:
        raise ChangeRefused(
            f"{current.reference} ({current.summary}) is still under way on "
            f"{request.reference}: a second change waits until it ends."
        )


def _operational(request: VpnRequest) -> None:
    if request.stage not in OPERATIONAL_STAGES:
        raise ChangeRefused(
            f"{request.reference} is “{request.get_stage_display()}”: only a provisioned VPN "
            "(waiting for the customer, live, degraded or down) can be changed."
        )


def change_propose(
    *,
    request_id: int,
    kind: str,
    values: Mapping[str, object],
    reason: str,
    user: AbstractBaseUser | None = None,
    label: str = "",
) -> VpnChange:
    """Record a proposed change of `kind` to a provisioned request, checked against the
    intake's rules; raises `ChangeRefused` (nothing written) with the reason in words."""
    try:
        kind = ChangeKind(kind)
    except ValueError:
        raise ChangeRefused(f"“{str(kind)[:40]}” is not a kind of change.") from None
    _allowed(user, f"change_propose_{kind.value}")
    reason = " ".join(str(reason).split())
    if not reason:
        raise ChangeRefused("Say why the change is made: a reason is required, and recorded.")
    if len(reason) > REASON_MAX_LENGTH:
        raise ChangeRefused(
            f"Keep the reason under {REASON_MAX_LENGTH} characters (it has {len(reason)})."
        )
    request = VpnRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise ChangeRefused(f"No VPN request with id {request_id}.")
    _operational(request)
    handler = HANDLERS[kind]
    before, after = handler.clean(request, values)
    change = VpnChange(
        request=request,
        kind=kind,
        reason=reason,
        before=before,
        after=after,
        proposed_by=_user_or_none(user),
        proposed_label="" if _user_or_none(user) else (label or "command"),
    )
    change.summary = handler.summary(change)[:500]
    change.save()
    logger.info("%s %s proposed: %s", request.reference, change.reference, change.summary)
    return change


def _locked_change(change_id: int) -> VpnChange:
    """The change, its request's row locked (changes of one VPN are decided one by one)."""
    change = VpnChange.objects.select_related("request").filter(pk=change_id).first()
    if change is None:
        raise ChangeRefused(f"No change with id {change_id}.")
    VpnRequest.objects.select_for_update().only("pk").get(pk=change.request_id)
    change.refresh_from_db()
    return change


def change_apply(
    *,
    change_id: int,
    user: AbstractBaseUser | None = None,
    label: str = "",
    confirmed: bool = False,
    queue: bool = True,
) -> VpnChange:
    """Start applying a proposed change, or resume a failed one where it stopped.

    A disruptive change needs `confirmed` (its impact was read); no change starts while
    another of the same VPN is under way. Raises `ChangeRefused`, changing nothing. The
    first step runs in `vpn.jobs.change_advance`, queued once this commits (unless
    `queue` is off: the caller runs it, as `vpn_change --sync` does).
    """
    with transaction.atomic():
        change = _locked_change(change_id)
        request = change.request
        _allowed(user, f"change_apply_{change.kind}")
        if change.state not in (ChangeState.PROPOSED, ChangeState.FAILED):
            raise ChangeRefused(
                f"{change.reference} is “{change.get_state_display()}”: only a proposed change "
                "can be applied, or a failed one resumed."
            )
        _operational(request)
        _refuse_while_under_way(request, exclude=change.pk)
        handler = HANDLERS[change.kind]
        impact = handler.impact(request, change)
        if impact.disruptive and not confirmed:
            raise ChangeRefused(f"Confirm the impact to apply {change.reference}: {impact.words}")
        resuming = change.state == ChangeState.FAILED
        if not resuming:
            # The VPN may have changed since the proposal (another change, an edit).
            before, _ = _still_valid(handler, request, change)
            change.before = before
        change.state = ChangeState.APPLYING
        change.progress += 1  # a run of the job from before this no longer writes
        change.checks = 0
        change.transient_errors = 0
        change.impact = impact.words
        change.impact_confirmed = confirmed
        change.applied_by = _user_or_none(user)
        change.applied_label = "" if change.applied_by else (label or "command")
        change.applied_at = change.applied_at or timezone.now()
        change.finished_at = None
        change.message = (
            f"Resumed at step {change.step + 1}." if resuming else "Starting: reading the tunnels."
        )
        try:
            with transaction.atomic():
                change.save()
        except IntegrityError:
            raise ChangeRefused(
                f"Another change of {request.reference} started meanwhile: a second change "
                "waits until it ends."
            ) from None
        if queue:
            events.job_enqueue("vpn.jobs.change_advance", change.pk)
    logger.info(
        "%s %s applied by %s", request.reference, change.reference, change.applied_by_display
    )
    return change


def _still_valid(
    handler: ChangeHandler, request: VpnRequest, change: VpnChange
) -> tuple[dict, dict]:
    """The change checked again against the VPN as it is now; the same values it was
    proposed with, or ChangeRefused."""
    values = _values_of(change)
    try:
        before, after = handler.clean(request, values)
    except ChangeRefused as exc:
        raise ChangeRefused(
            f"{change.reference} no longer applies to {request.reference} as it is now: {exc} "
            "Propose it again if it is still wanted."
        ) from None
    expected = {key: value for key, value in change.after.items() if key != "customer_gateway_id"}
    if after != expected:
        raise ChangeRefused(
            f"{request.reference} changed since {change.reference} was proposed: propose it again."
        )
    return before, after


def _values_of(change: VpnChange) -> dict:
    """What was asked for, from the change's `after` (to check it again)."""
    after = change.after
    match change.kind:
        case ChangeKind.ADD_SUBNET | ChangeKind.REMOVE_SUBNET:
            return {"cidr": after["cidr"]}
        case ChangeKind.CUSTOMER_GATEWAY:
            return {
                "ip": after["ip"],
                "asn": after["asn"] if after["asn"] != change.before.get("asn") else None,
            }
        case ChangeKind.ROTATE_PSK:
            tunnels = after["tunnels"]
            return {"tunnels": "all" if len(tunnels) == 2 else tunnels[0]}
        case ChangeKind.TUNNEL_OPTIONS:
            profile = after["profile"]
            return {"ike_version": profile["ike_version"], **profile["options"]}
        case ChangeKind.NAT:
            return {"nat": "on" if after["nat"] else "off"}
        case ChangeKind.TUNNEL_COUNT:
            return {"tunnels": after["tunnels"]}
        case ChangeKind.MAINTENANCE | ChangeKind.LIFECYCLE_CONTROL:
            return {}  # what they do follows from the VPN itself
    raise LookupError(change.kind)


def change_confirm_tunnel(
    *,
    change_id: int,
    user: AbstractBaseUser | None = None,
    label: str = "",
    queue: bool = True,
) -> VpnChange:
    """Record that the customer has configured the tunnel a change waits for, one that
    was never up before (it has no UP to wait for), and go on with the change (in its
    job, unless `queue` is off)."""
    with transaction.atomic():
        change = _locked_change(change_id)
        _allowed(user, f"change_apply_{change.kind}")
        waiting = confirmation_awaited(change)
        if change.state != ChangeState.WAITING_FOR_TUNNEL or not waiting:
            raise ChangeRefused(
                f"{change.reference} waits for no customer's confirmation now "
                f"(it is “{change.get_state_display()}”)."
            )
        change.confirmed_tunnels = sorted({*change.confirmed_tunnels, *waiting})
        who = (
            (_user_or_none(user) and (user.get_full_name() or user.get_username()))
            or label
            or "command"
        )
        change.message = f"{who} recorded that the customer configured {_tunnels_words(waiting)}."
        change.state = ChangeState.APPLYING
        change.progress += 1
        change.save()
        if queue:
            events.job_enqueue("vpn.jobs.change_advance", change.pk)
    return change


def confirmation_awaited(change: VpnChange) -> list[int]:
    """The never-up tunnels the current step waits on the customer's confirmation for."""
    if change.phase != WAIT or change.step >= len(change.plan):
        return []
    tunnels = change.plan[change.step]
    return [
        t
        for t in tunnels
        if t in change.never_up
        and t not in change.confirmed_tunnels
        and t <= change.request.tunnel_count
    ]


def change_cancel(
    *, change_id: int, user: AbstractBaseUser | None = None, label: str = ""
) -> VpnChange:
    """Drop a proposed change, or stop one that waits for a tunnel (what was changed
    stays changed; the next tunnels are not touched). Raises `ChangeRefused`."""
    with transaction.atomic():
        change = _locked_change(change_id)
        if change.state == ChangeState.PROPOSED:
            _allowed(user, f"change_propose_{change.kind}")
        elif change.state in (ChangeState.WAITING_FOR_TUNNEL, ChangeState.FAILED):
            _allowed(user, f"change_apply_{change.kind}")
        else:
            raise ChangeRefused(
                f"{change.reference} is “{change.get_state_display()}”: it can no longer be "
                "cancelled."
            )
        who = (
            (_user_or_none(user) and (user.get_full_name() or user.get_username()))
            or label
            or "command"
        )
        done = _steps_done(change)
        change.message = f"Cancelled by {who}." + (
            f" {_tunnels_words(done).capitalize()} already had the new values; the rest was not "
            "touched."
            if done
            else ""
        )
        change.state = ChangeState.CANCELLED
        change.progress += 1  # a check of the job under way no longer writes
        change.finished_at = timezone.now()
        change.save()
    return change


def _steps_done(change: VpnChange) -> list[int]:
    """The tunnels the change has already changed."""
    done = [t for step in change.plan[: change.step] for t in step]
    if change.phase == WAIT and change.step < len(change.plan):
        done += change.plan[change.step]
    return done


# --- The orchestration ------------------------------------------------------------------------


def _is_up(info: aws.TunnelInfo | None) -> bool:
    return info is not None and info.status == TunnelStatus.UP


def _telemetry(run: ChangeRun) -> tuple[aws.VpnConnectionInfo, dict[int, aws.TunnelInfo]]:
    """The connection now, and its tunnels by position (matched by outside IP)."""
    connection = run.connection()
    by_ip = {tunnel.outside_ip: tunnel for tunnel in connection.tunnels}
    return connection, {
        tunnel.position: by_ip.get(tunnel.outside_ip) for tunnel in run.request.tunnels.all()
    }


def _never_up(request: VpnRequest, telemetry: dict[int, aws.TunnelInfo]) -> list[int]:
    """The tunnels that have never been UP (in the portal's history or in AWS now)."""
    ever_up = set(
        TunnelStatusChange.objects.filter(
            tunnel__request=request, new_status=TunnelStatus.UP
        ).values_list("tunnel__position", flat=True)
    )
    return sorted(
        tunnel.position
        for tunnel in request.tunnels.all()
        if tunnel.position not in ever_up
        and tunnel.status != TunnelStatus.UP
        and not _is_up(telemetry.get(tunnel.position))
    )


def change_advance(*, change_id: int, packs_here: bool = False) -> str:
    """Move a change on as far as it goes now; returns ACTED or WAITING (run again after
    `PROVISION_POLL_SECONDS`), PAUSED (waits for a person), DONE, FAILED or IDLE.

    A step's config pack is issued by a job on the "packs" queue, or with `packs_here`
    in this process before the change moves on.

    Transient AWS errors are ridden out (`CHANGE_TRANSIENT_ERRORS` in a row) by looking
    again later; a permanent one stops the change with AWS's message.
    """
    change = (
        VpnChange.objects.select_related("request__customer", "request__account")
        .filter(pk=change_id)
        .first()
    )
    if change is None or change.state not in ACTIVE_CHANGE_STATES:
        return IDLE
    if change.state == ChangeState.WAITING_FOR_TUNNEL and confirmation_awaited(change):
        return PAUSED
    if change.request.stage not in OPERATIONAL_STAGES:
        return _fail(
            change,
            f"{change.request.reference} is “{change.request.get_stage_display()}”: the change "
            "stops here.",
        )
    try:
        # Every AWS call of the change acts in the account its request lives in.
        with aws.acting_for(change.request.account):
            return _advance(ChangeRun(change, packs_here=packs_here))
    except aws.TransientAwsError as exc:
        return _transient(change, exc)
    except aws.PermanentAwsError as exc:
        return _fail(change, f"AWS refused it, and the change stops here: {exc}")
    except (ChangeRefused, allocation.AllocationError) as exc:
        return _fail(change, f"The change stops here: {exc}")
    except Exception as exc:
        # A bug or a lost database: the change says so (and can be retried) rather than
        # staying "applying" for ever; the job fails too, for the RQ dashboard.
        _fail(change, f"The change stopped on an unexpected error: {type(exc).__name__}: {exc}")
        raise


def _save(change: VpnChange, progress: int, **fields) -> bool:
    """Write the change's new position, unless another run moved it on meanwhile."""
    fields = {**fields, "progress": progress + 1, "updated_at": timezone.now()}
    written = VpnChange.objects.filter(pk=change.pk, progress=progress).update(**fields)
    for name, value in fields.items():
        setattr(change, name, value)
    if not written:
        logger.warning("%s: moved on by another run meanwhile", change.reference)
    return bool(written)


def _advance(run: ChangeRun) -> str:
    """Plan, then act and wait step by step, until a step has to wait."""
    change, handler = run.change, HANDLERS[run.change.kind]
    while True:
        progress = change.progress
        if change.phase == PLAN:
            telemetry = None
            never_up: list[int] = []
            if handler.tunnels(change):
                _, telemetry = _telemetry(run)
                never_up = _never_up(run.request, telemetry)
            plan = handler.steps(run, telemetry)
            if not _save(change, progress, plan=plan, step=0, phase=ACT, never_up=never_up):
                return IDLE
            continue
        if change.step >= len(change.plan):
            return _done(run, handler)
        tunnels = change.plan[change.step]
        if change.phase == ACT:
            blocked = _path_at_risk(run, tunnels) if tunnels else ""
            if blocked:
                return _wait_or_stop(run, progress, blocked, tunnels)
            acted_at = timezone.now()
            if handler.step_apply(run, tunnels):
                _save(
                    change,
                    progress,
                    message=f"Step {change.step + 1} of {len(change.plan)}: AWS is still at work.",
                    transient_errors=0,
                )
                return WAITING
            pack_note = _pack_issue(run, handler)
            used = [t for t in tunnels if t <= run.request.tunnel_count]
            _save(
                change,
                progress,
                phase=WAIT,
                acted_at=acted_at,
                checks=0,
                transient_errors=0,
                tunnel=tunnels[0] if tunnels else None,
                state=ChangeState.WAITING_FOR_TUNNEL if used else ChangeState.APPLYING,
                message=(
                    f"{_tunnels_words(tunnels).capitalize()} changed in AWS"
                    + (f"; waiting for {_tunnels_words(used)} to be UP again." if used else ".")
                    + pack_note
                ),
            )
            if used and not confirmation_awaited(change):
                return ACTED
            continue
        # WAIT: the step's tunnels in use must be UP again.
        used = [t for t in tunnels if t <= run.request.tunnel_count]
        awaited = confirmation_awaited(change)
        if awaited:
            _save(
                change,
                progress,
                state=ChangeState.WAITING_FOR_TUNNEL,
                tunnel=awaited[0],
                message=(
                    f"{_tunnels_words(awaited).capitalize()} had never been up before this change, "
                    "so there is no UP to wait for: waiting for the customer's confirmation that "
                    "their device has the new values (record it on this change's page)."
                ),
            )
            return PAUSED
        waited = [t for t in used if t not in change.confirmed_tunnels]
        if waited:
            connection, telemetry = _telemetry(run)
            since = change.acted_at if handler.takes_tunnels_down else None
            late = [t for t in waited if not _back(connection, telemetry.get(t), since)]
            if late:
                return _wait_or_stop(run, progress, "", late)
        if not _save(
            change,
            progress,
            step=change.step + 1,
            phase=ACT,
            checks=0,
            state=ChangeState.APPLYING,
            tunnel=None,
            message=(
                f"{_tunnels_words(used).capitalize()} {'is' if len(used) == 1 else 'are'} UP "
                "again with the new values."
                if used
                else change.message
            ),
        ):
            return IDLE


def _back(connection: aws.VpnConnectionInfo, info: aws.TunnelInfo | None, since) -> bool:
    """Whether a tunnel is UP again: AWS has finished modifying the connection, and
    reports the tunnel UP, with a status change after `since` when the step took it down
    then (so that an UP from before AWS took it down does not count)."""
    if connection.state != "available" or not _is_up(info):
        return False
    if since is None:
        return True
    changed = info.last_status_change
    return changed is not None and changed >= since - STATUS_CLOCK_ALLOWANCE


def _path_at_risk(run: ChangeRun, tunnels: list[int]) -> str:
    """Why the step must wait before acting: AWS still modifying the connection, or it
    would take an UP tunnel down while no other tunnel in use is UP ("" if it may act)."""
    connection, telemetry = _telemetry(run)
    if connection.state != "available":
        return f"AWS is still applying a modification to {connection.id} ({connection.state})."
    used = [p for p in range(1, run.request.tunnel_count + 1)]
    taking_down = [t for t in tunnels if t in used and _is_up(telemetry.get(t))]
    others = [p for p in used if p not in tunnels]
    down_others = [p for p in others if not _is_up(telemetry.get(p))]
    if taking_down and others and down_others:
        return (
            f"{_tunnels_words(down_others).capitalize()} is not UP: changing "
            f"{_tunnels_words(taking_down)} now would leave traffic no path, so it waits."
        )
    return ""


def _wait_or_stop(run: ChangeRun, progress: int, reason: str, tunnels: list[int]) -> str:
    """Count one more check of a wait; past the limit, stop the change (the next steps'
    tunnels untouched)."""
    change = run.change
    checks = change.checks + 1
    limit = _max_checks()
    waited = _minutes(settings.CHANGE_TUNNEL_WAIT_SECONDS)
    if checks >= limit:
        if reason:
            message = f"Stopped after {waited} ({checks} checks): {reason}"
        else:
            message = (
                f"Stopped: {_tunnels_words(tunnels)} did not come back UP within {waited} "
                f"({checks} checks) after AWS changed {'it' if len(tunnels) == 1 else 'them'}."
            )
        untouched = [t for step in change.plan[change.step + 1 :] for t in step]
        if change.phase == ACT:
            untouched = [*change.plan[change.step], *untouched]
        if untouched:
            one = len(untouched) == 1
            message += (
                f" {_tunnels_words(untouched).capitalize()} {'was' if one else 'were'} not "
                f"touched and {'keeps' if one else 'keep'} the previous values."
            )
        message += " Check the customer's device against the latest pack; Retry goes on from here."
        return _fail(change, message, checks=checks)
    what = reason or (
        f"Waiting for {_tunnels_words(tunnels)} to be UP again (check {checks} of {limit})."
    )
    _save(
        change,
        progress,
        checks=checks,
        state=ChangeState.WAITING_FOR_TUNNEL,
        tunnel=tunnels[0] if tunnels else None,
        message=what if not reason else f"{reason} (check {checks} of {limit})",
    )
    return WAITING


def _pack_reason(run: ChangeRun, handler: ChangeHandler) -> str:
    """Why the pack is issued: the change, and which tunnel already has the new values."""
    change = run.change
    head = f"{change.reference} ({change.get_kind_display().lower()})"
    done = [t for step in change.plan[: change.step + 1] for t in step]
    rest = [t for step in change.plan[change.step + 1 :] for t in step]
    if not done:
        return f"{head}."
    if rest:
        return (
            f"{head}: {_tunnels_words(done)} already {'has' if len(done) == 1 else 'have'} the "
            f"new values; {_tunnels_words(rest)} gets them once {_tunnels_words(done)} is up again."
        )
    return (
        f"{head}: {_tunnels_words(done)} now {'has' if len(done) == 1 else 'have'} the new values."
    )


def _pack_issue(run: ChangeRun, handler: ChangeHandler) -> str:
    """Issue the pack version that names the change, and email the customer about it:
    on the "packs" queue (a render takes seconds, and holds no change or provisioning
    meanwhile), or here for a change run in this process; returns a note for the
    change's message."""
    if not handler.customer_side:
        return ""
    reason = _pack_reason(run, handler)
    latest = config_pack_latest(request_id=run.request.pk)
    after_version = latest.version if latest else 0
    if run.packs_here:
        return change_pack_issue(
            change_id=run.change.pk, reason=reason, after_version=after_version
        )
    events.job_enqueue(
        "vpn.jobs.change_pack_issue",
        run.change.pk,
        reason,
        after_version,
        job_id=f"change-pack-{run.change.pk}-{run.change.step}-{after_version}",
    )
    return " A config pack with the new values is being issued; the customer gets it by email."


def change_pack_issue(*, change_id: int, reason: str, after_version: int) -> str:
    """Issue the config pack version of a change's step (`after_version` was the latest
    when the step acted), record it on the change and email the customer; returns a note
    saying so, or why no pack was issued.

    Run again (a retried job) it issues and sends nothing twice: the render issues a
    version only for new parameters, and the email's key is the change's and version's.
    """
    change = VpnChange.objects.select_related("request__customer").get(pk=change_id)
    request = change.request
    try:
        pack = config_pack_render(request_id=request.pk, reason=reason)
    except (PackNotReady, PackParameterError, PackRenderConflict) as exc:
        logger.warning("%s: no pack for %s: %s", request.reference, change.reference, exc)
        return f" The config pack could not be issued: {exc}"
    if pack is None:
        # The parameters are those of the latest version: issued after the step acted
        # (by a download that came first, or an earlier run of this job), it is the
        # change's; issued before, the change moved nothing the pack prints.
        pack = config_pack_latest(request_id=request.pk)
        if pack is None or pack.version <= after_version:
            return ""
    with transaction.atomic():
        change = VpnChange.objects.select_for_update().get(pk=change_id)
        if pack.version not in change.pack_versions:
            change.pack_versions = sorted([*change.pack_versions, pack.version])
            VpnChange.objects.filter(pk=change_id).update(pack_versions=change.pack_versions)
    key = f"change:{change.pk}:pack:{pack.version}"
    email_queue(
        key=key,
        template="change_pack_customer",
        context={
            "request": request,
            "change": change,
            "summary": change.summary,
            "pack": pack,
            "reason": reason,
        },
        to=[request.customer.contact_email],
    )
    emails_send(key=key)
    return f" Config pack v{pack.version} issued and sent to the customer."


def _done(run: ChangeRun, handler: ChangeHandler) -> str:
    change = run.change
    progress = change.progress
    note = handler.finish(run)
    _save(
        change,
        progress,
        state=ChangeState.DONE,
        tunnel=None,
        finished_at=timezone.now(),
        message=" ".join(part for part in (f"Done: {change.summary}.", note) if part),
    )
    logger.info("%s %s done", run.request.reference, change.reference)
    return DONE


def _transient(change: VpnChange, exc: aws.AwsError) -> str:
    errors = change.transient_errors + 1
    if errors > settings.CHANGE_TRANSIENT_ERRORS:
        return _fail(
            change, f"AWS kept failing ({errors} times in a row), and the change stops here: {exc}"
        )
    _save(
        change,
        change.progress,
        transient_errors=errors,
        message=f"AWS did not answer clearly ({exc}); trying again shortly.",
    )
    return WAITING


def _fail(change: VpnChange, message: str, **fields) -> str:
    """Stop the change with a message; tell the owning engineer."""
    _save(
        change,
        change.progress,
        state=ChangeState.FAILED,
        finished_at=timezone.now(),
        message=message,
        **fields,
    )
    request = VpnRequest.objects.select_related("owner").get(pk=change.request_id)
    if request.owner is not None and request.owner.email:
        key = f"change:{change.pk}:failed:{change.progress}"
        email_queue(
            key=key,
            template="change_failed_engineer",
            context={
                "request": request,
                "change": change,
                "summary": change.summary,
                "url": settings.PORTAL_BASE_URL.rstrip("/") + change.get_absolute_url(),
            },
            to=[request.owner.email],
        )
        emails_send(key=key)
    logger.warning("%s %s failed: %s", request.reference, change.reference, message)
    return FAILED


def change_run_here(*, change_id: int, sleep: Callable[[float], None]) -> str:
    """Run a change to its end (or to a pause) in this process, for `vpn_change --sync`:
    look again at once after acting, and after `sleep(PROVISION_POLL_SECONDS)` while a
    tunnel is not back yet."""
    while True:
        outcome = change_advance(change_id=change_id, packs_here=True)
        if outcome == WAITING:
            sleep(max(settings.PROVISION_POLL_SECONDS, 1))
        elif outcome != ACTED:
            return outcome
