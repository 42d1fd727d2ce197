"""What AWS writes to CloudWatch Logs about a tunnel, and the known causes a test can inject.

A tunnel whose ``LogOptions`` enable them sends two kinds of log events: IKE (tunnel
activity: phase 1 and phase 2 negotiation, dead peer detection, NAT traversal) and BGP
(the session over the tunnel and the routes it carries). Each event is one JSON object
in AWS's shape::

    {"event_timestamp": 1735689600, "details": "IPsec SA established",
     "dpd_enabled": true, "nat_t_detected": false, "ike_phase1_state": "established",
     "ike_phase2_state": "established", "tunnel_ip": "203.0.113.12"}

BGP events carry ``bgp_state``, ``peer_ip`` and ``peer_asn`` instead of the IKE states.
Each tunnel writes one log stream per kind, named ``<vpn id>-<outside IP>-IKE`` and
``<vpn id>-<outside IP>-BGP``.

:data:`CAUSES` is the sandbox's list of things that go wrong with a tunnel, each with the
status and status message ``VgwTelemetry`` then reports and the log lines AWS writes for
it; the control API injects them by name. This module is plain Python: the events are
handed to a :class:`LogSink` (the one in ``sandbox.moto_bridge`` stores them in moto's
CloudWatch Logs), so that nothing here touches moto.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

IKE, BGP = "IKE", "BGP"
ESTABLISHED, NEGOTIATING, DOWN = "established", "negotiating", "down"

# arn:aws:logs:<region>:<account>:log-group:<name>, with or without the ":*" that
# DescribeLogGroups appends.
_LOG_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:"
    r"(?P<name>[^:*]+)(:\*)?$"
)


@dataclass(frozen=True)
class LogGroup:
    """A CloudWatch Logs log group, as a tunnel's ``LogOptions`` name it."""

    region: str
    account: str
    name: str


def parse_log_group_arn(arn: Any) -> LogGroup | None:
    """The log group an ARN names; None if it is not a log group ARN."""
    match = _LOG_GROUP_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        return None
    return LogGroup(match["region"], match["account"], match["name"])


class LogSink(Protocol):
    """Where log events go: CloudWatch Logs (moto's, in the running sandbox)."""

    def exists(self, group: LogGroup) -> bool:
        """Whether the log group exists."""

    def put(self, group: LogGroup, stream: str, events: list[tuple[int, str]]) -> None:
        """Append events (milliseconds since the epoch, message) to a stream, creating
        the stream if needed; a group that no longer exists loses them."""


@dataclass(frozen=True)
class TunnelFacts:
    """What a tunnel's log lines mention: its addresses, the ASNs and its IKE version."""

    connection_id: str
    outside_ip: str
    customer_ip: str
    customer_inside_ip: str
    customer_asn: str
    ike_version: str
    bgp: bool
    dpd_enabled: bool


@dataclass(frozen=True)
class LogLine:
    """One log event before it is dated: its kind, what it says and the states it reports."""

    kind: str
    details: str
    phase1: str = ESTABLISHED
    phase2: str = ESTABLISHED
    nat_t_detected: bool = False
    bgp_state: str = ""


def ike(details: str, phase1: str, phase2: str, *, nat_t_detected: bool = False) -> LogLine:
    """An IKE (tunnel activity) line."""
    return LogLine(IKE, details, phase1, phase2, nat_t_detected=nat_t_detected)


def bgp(details: str, state: str) -> LogLine:
    """A BGP line."""
    return LogLine(BGP, details, bgp_state=state)


@dataclass(frozen=True)
class Cause:
    """A known reason for a tunnel to fail, as AWS reports it.

    ``status``, ``message`` and ``accepted_routes`` are what ``VgwTelemetry`` shows once
    it happened; ``lines`` the log lines AWS writes. ``bgp_only`` causes need a
    connection with dynamic (BGP) routing.
    """

    name: str
    summary: str
    status: str
    message: str
    lines: Callable[[TunnelFacts], list[LogLine]]
    bgp_only: bool = False
    accepted_routes: int = 0


def _ipsec_up() -> list[LogLine]:
    return [
        ike("IKE SA established", ESTABLISHED, DOWN),
        ike("IPsec SA established", *[ESTABLISHED] * 2),
    ]


def _other_asn(asn: str) -> str:
    return "65001" if asn != "65001" else "65002"


CAUSES: dict[str, Cause] = {
    cause.name: cause
    for cause in (
        Cause(
            "psk_mismatch",
            "the two ends have different pre-shared keys",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike(
                    "AWS tunnel payload decryption was unsuccessful due to invalid Pre-shared Key",
                    NEGOTIATING,
                    DOWN,
                )
                if t.ike_version == "ikev1"
                else ike(
                    f"IKE_AUTH with the customer gateway {t.customer_ip} failed: "
                    "AUTHENTICATION_FAILED, the pre-shared key does not match",
                    NEGOTIATING,
                    DOWN,
                )
            ],
        ),
        Cause(
            "proposals_refused_by_aws",
            "AWS accepts none of the phase 1 proposals the customer's device makes",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike(
                    "No Proposal Match Found by AWS: the customer gateway proposed "
                    "3DES/SHA1/MODP1024 for phase 1",
                    NEGOTIATING,
                    DOWN,
                )
            ],
        ),
        Cause(
            "proposals_refused_by_customer",
            "the customer's device accepts none of AWS's phase 2 proposals",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike("IKE SA established", ESTABLISHED, NEGOTIATING),
                ike(
                    f"AWS tunnel received NO_PROPOSAL_CHOSEN from the customer gateway "
                    f"{t.customer_ip}: it accepts none of AWS's phase 2 proposals",
                    ESTABLISHED,
                    DOWN,
                ),
            ],
        ),
        Cause(
            "traffic_selectors",
            "a policy-based device proposes several pairs of subnets",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike("IKE SA established", ESTABLISHED, NEGOTIATING),
                ike(
                    "AWS tunnel refused the traffic selectors the customer gateway proposed "
                    "(TS_UNACCEPTABLE): 10.10.0.0/24 and 10.20.0.0/24 to 172.20.0.0/16; a "
                    "tunnel carries one pair of selectors",
                    ESTABLISHED,
                    DOWN,
                ),
            ],
        ),
        Cause(
            "dpd_timeout",
            "the customer's device stopped answering dead peer detection",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike("Peer is not responsive - Declaring peer dead", DOWN, DOWN),
                ike("IKE SA deleted", DOWN, DOWN),
            ],
        ),
        Cause(
            "customer_not_initiating",
            "AWS waits for the customer's device to start IKE, which it never does",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike("IKE SA deleted", DOWN, DOWN),
                ike(
                    f"AWS tunnel is waiting for the customer gateway {t.customer_ip} to initiate "
                    "IKE negotiation (startup action: add)",
                    DOWN,
                    DOWN,
                ),
            ],
        ),
        Cause(
            "identity_mismatch",
            "a NAT in front of the device: it identifies itself by its private address",
            "DOWN",
            "IPSEC IS DOWN",
            lambda t: [
                ike(
                    f"AWS tunnel received the IKE identity 10.0.0.1, which does not match "
                    f"the customer gateway address {t.customer_ip} (NAT-T detected)",
                    NEGOTIATING,
                    DOWN,
                    nat_t_detected=True,
                )
            ],
        ),
        Cause(
            "bgp_wrong_asn",
            "the customer's device speaks BGP with another ASN than the customer gateway's",
            "DOWN",
            "IPSEC IS UP",
            lambda t: [
                *_ipsec_up(),
                bgp(
                    f"BGP notification sent to {t.customer_inside_ip}: OPEN message error, bad "
                    f"peer AS (received {_other_asn(t.customer_asn)}, expected {t.customer_asn})",
                    "idle",
                ),
            ],
            bgp_only=True,
        ),
        Cause(
            "bgp_hold_timer_expired",
            "the BGP session stopped: no keepalive within the hold time",
            "DOWN",
            "IPSEC IS UP",
            lambda t: [
                *_ipsec_up(),
                bgp(
                    f"BGP notification sent to {t.customer_inside_ip}: hold timer expired "
                    "(no keepalive received in 30 seconds)",
                    "idle",
                ),
            ],
            bgp_only=True,
        ),
        Cause(
            "bgp_no_prefixes",
            "the BGP session is up but the customer's device advertises no prefix",
            "UP",
            "0 BGP ROUTES",
            lambda t: [
                *_ipsec_up(),
                bgp(
                    f"BGP session with {t.customer_inside_ip} (AS {t.customer_asn}) established; "
                    "0 prefixes received",
                    ESTABLISHED,
                ),
            ],
            bgp_only=True,
        ),
        Cause(
            "bgp_too_many_routes",
            "the customer's device advertises more than 100 routes",
            "DOWN",
            "IPSEC IS UP",
            lambda t: [
                *_ipsec_up(),
                bgp(
                    f"BGP notification sent to {t.customer_inside_ip}: maximum prefix limit "
                    "exceeded (101 prefixes received, 100 allowed)",
                    "idle",
                ),
            ],
            bgp_only=True,
        ),
        Cause(
            "bgp_down_ipsec_up",
            "the tunnel is up but no BGP session comes up over it",
            "DOWN",
            "IPSEC IS UP",
            lambda t: [
                *_ipsec_up(),
                bgp(
                    f"BGP session with {t.customer_inside_ip} is not established: no OPEN "
                    "message received from the neighbour",
                    "active",
                ),
            ],
            bgp_only=True,
        ),
    )
}


def status_lines(facts: TunnelFacts, status: str, accepted_routes: int) -> list[LogLine]:
    """What AWS writes when a tunnel simply comes up, or goes down, with no known cause."""
    if status == "UP":
        lines = _ipsec_up()
        if facts.bgp:
            lines.append(
                bgp(
                    f"BGP session with {facts.customer_inside_ip} (AS {facts.customer_asn}) "
                    f"established; {accepted_routes} prefixes received",
                    ESTABLISHED,
                )
            )
        return lines
    lines = []
    if facts.bgp:
        lines.append(bgp(f"BGP session with {facts.customer_inside_ip} closed", "idle"))
    lines += [ike("IPsec SA deleted", ESTABLISHED, DOWN), ike("IKE SA deleted", DOWN, DOWN)]
    return lines


def replacement_lines() -> list[LogLine]:
    """What AWS writes when it replaces a tunnel's endpoint (maintenance)."""
    return [
        ike(
            "AWS is replacing the tunnel endpoint; the tunnel is down until the new endpoint "
            "has negotiated again",
            DOWN,
            DOWN,
        )
    ]


def stream_name(connection_id: str, outside_ip: str, kind: str) -> str:
    """The log stream of one tunnel and kind (IKE or BGP)."""
    return f"{connection_id}-{outside_ip}-{kind}"


class TunnelLogWriter:
    """Writes a tunnel's log lines to the log groups its ``LogOptions`` name.

    ``sink`` is set by the server once CloudWatch Logs exists (``sandbox.moto_bridge``);
    without one, lines are dropped, as AWS drops them for a tunnel without logging.
    """

    def __init__(self) -> None:
        self.sink: LogSink | None = None

    def group_exists(self, group: LogGroup) -> bool:
        """Whether CloudWatch Logs has the group (always true without a sink)."""
        return self.sink is None or self.sink.exists(group)

    def write(
        self,
        facts: TunnelFacts,
        log_options: dict[str, Any],
        lines: list[LogLine],
        at: datetime,
    ) -> None:
        """Date the lines at ``at`` (a millisecond apart, in order) and append each to its
        tunnel's stream of its kind, where that kind of logging is enabled."""
        if self.sink is None:
            return
        options = log_options.get("CloudWatchLogOptions", {})
        targets = {
            IKE: (
                options.get("LogEnabled"),
                options.get("LogGroupArn"),
                options.get("LogOutputFormat"),
            ),
            BGP: (
                options.get("BgpLogEnabled"),
                options.get("BgpLogGroupArn"),
                options.get("BgpLogOutputFormat"),
            ),
        }
        start = int(at.timestamp() * 1000)
        batches: dict[str, list[tuple[int, str]]] = {IKE: [], BGP: []}
        for offset, line in enumerate(lines):
            enabled, _, output_format = targets[line.kind]
            if enabled:
                batches[line.kind].append(
                    (start + offset, _render(facts, line, start + offset, output_format or "json"))
                )
        for kind, events in batches.items():
            group = parse_log_group_arn(targets[kind][1])
            if events and group is not None:
                self.sink.put(
                    group, stream_name(facts.connection_id, facts.outside_ip, kind), events
                )


def _render(facts: TunnelFacts, line: LogLine, millis: int, output_format: str) -> str:
    """One event's message, in JSON (AWS's default) or as text."""
    if line.kind == IKE:
        fields: dict[str, Any] = {
            "event_timestamp": millis // 1000,
            "details": line.details,
            "dpd_enabled": facts.dpd_enabled,
            "nat_t_detected": line.nat_t_detected,
            "ike_phase1_state": line.phase1,
            "ike_phase2_state": line.phase2,
            "tunnel_ip": facts.outside_ip,
        }
    else:
        fields = {
            "event_timestamp": millis // 1000,
            "details": line.details,
            "bgp_state": line.bgp_state,
            "peer_ip": facts.customer_inside_ip,
            "peer_asn": facts.customer_asn,
            "tunnel_ip": facts.outside_ip,
        }
    if output_format == "text":
        return " ".join(f"{key}={value}" for key, value in fields.items() if key != "details") + (
            f" details={line.details}"
        )
    return json.dumps(fields)
