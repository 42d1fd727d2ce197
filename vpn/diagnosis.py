"""A diagnosis in words: the one table of known causes of a failing tunnel, and how a
tunnel's log events and status message are read against it.

Each row of `CAUSES` says what AWS's log (IKE or BGP) or status message says, what it
means, and the fix: for the platform's engineer, and in the customer's own terms for
their link. `diagnose` reads a tunnel's recent log events, newest first, then AWS's
status message, and names the first row whose words it finds. `docs/troubleshooting.md`
shows the same table (`causes_markdown`); a test keeps the two in step.

Plain data and pure functions: no database and no AWS here.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime

IKE, BGP, STATUS = "IKE", "BGP", "status"

# Why a tunnel is diagnosed at all.
REASON_DOWN = "down"
REASON_FLAPPING = "flapping"
REASON_NO_ROUTES = "no_routes"
REASONS = {
    REASON_DOWN: "down",
    REASON_FLAPPING: "flapping (up and down repeatedly)",
    REASON_NO_ROUTES: "up without routes",
}


@dataclass(frozen=True)
class Cause:
    """One row of the table: what the log or status message says, and what to do."""

    key: str
    title: str
    kind: str  # where the words are found: IKE or BGP logs (or the status message)
    says: str  # the words, as the docs quote them
    pattern: re.Pattern
    cause: str  # for the engineer
    fix_engineer: str
    cause_customer: str
    fix_customer: str

    def matches(self, text: str) -> bool:
        """Whether a log line or status message says this."""
        return bool(self.pattern.search(text))


CAUSES: tuple[Cause, ...] = (
    Cause(
        key="psk_mismatch",
        title="Pre-shared key mismatch",
        kind=IKE,
        says="`AWS tunnel payload decryption was unsuccessful due to invalid Pre-shared Key` "
        "(IKEv1); `AUTHENTICATION_FAILED` (IKEv2)",
        pattern=re.compile(r"invalid Pre-shared Key|AUTHENTICATION_FAILED", re.IGNORECASE),
        cause="The customer's device and AWS hold different pre-shared keys for this tunnel.",
        fix_engineer="Check that the customer configured the latest pack version (a key "
        "rotation issues a new one) and this tunnel's own key; resend the pack, or rotate the "
        "key (`vpn_rotate_psk`) if it may have been mistyped from an old copy.",
        cause_customer="The pre-shared key on your device does not match this tunnel's.",
        fix_customer="Copy this tunnel's pre-shared key again from the latest configuration "
        "pack (each tunnel has its own key), without spaces, and save the device's "
        "configuration.",
    ),
    Cause(
        key="proposals_refused_by_aws",
        title="No proposal chosen: the customer's proposals",
        kind=IKE,
        says="`No Proposal Match Found by AWS`",
        pattern=re.compile(r"No Proposal Match Found", re.IGNORECASE),
        cause="AWS accepts none of the proposals the customer's device makes (encryption, "
        "integrity, DH group): the tunnel allows only the pack's profile.",
        fix_engineer="Compare the proposals in the log line with the pack's profile and send "
        "the customer the exact values; older proposals (3DES, SHA1, DH group 2) must go.",
        cause_customer="Your device offers encryption settings that AWS does not accept for "
        "this tunnel.",
        fix_customer="Set the IKE (phase 1) and IPsec (phase 2) proposals to exactly the "
        "values of the configuration pack, and remove older ones such as 3DES, SHA1 or DH "
        "group 2.",
    ),
    Cause(
        key="proposals_refused_by_customer",
        title="No proposal chosen: AWS's proposals",
        kind=IKE,
        says="`received NO_PROPOSAL_CHOSEN` from the customer gateway",
        pattern=re.compile(r"received NO_PROPOSAL_CHOSEN", re.IGNORECASE),
        cause="The customer's device accepts none of the proposals AWS makes, usually for "
        "phase 2 (IPsec) or its perfect forward secrecy group.",
        fix_engineer="Ask for the device's phase 2 settings: AWS proposes only the pack's "
        "profile, so the device must allow it, the PFS group included.",
        cause_customer="Your device refuses the encryption settings AWS proposes for the "
        "IPsec (phase 2) part of the tunnel.",
        fix_customer="Allow the configuration pack's phase 2 settings on your device, perfect "
        "forward secrecy with the pack's DH group included.",
    ),
    Cause(
        key="traffic_selectors",
        title="Traffic selectors refused",
        kind=IKE,
        says="`TS_UNACCEPTABLE` (IKEv2), `INVALID_ID_INFORMATION` (IKEv1)",
        pattern=re.compile(r"TS_UNACCEPTABLE|INVALID_ID_INFORMATION"),
        cause="A policy-based device proposes several pairs of subnets; an AWS tunnel carries "
        "one security association, so one pair of traffic selectors.",
        fix_engineer="Advise a route-based (tunnel interface) setup, or a single pair of "
        "selectors: 0.0.0.0/0 to 0.0.0.0/0, or one summarised pair of networks.",
        cause_customer="Your device asks for one tunnel per pair of subnets; an AWS tunnel "
        "takes a single one.",
        fix_customer="Configure the VPN route-based (a tunnel interface), or with a single "
        "policy from any to any (0.0.0.0/0), and route your subnets over it.",
    ),
    Cause(
        key="dpd_timeout",
        title="Dead peer detection timeout",
        kind=IKE,
        says="`Peer is not responsive - Declaring peer dead`",
        pattern=re.compile(r"Peer is not responsive|Declaring peer dead", re.IGNORECASE),
        cause="The customer's device stopped answering AWS's dead peer detection: the device "
        "is down or rebooting, its internet link failed, or UDP 500/4500 is blocked.",
        fix_engineer="Check whether both tunnels dropped (the device or its uplink) or one (a "
        "path or firewall issue); ask the customer, and check the pack's re-initiation "
        "settings for their device.",
        cause_customer="Your device stopped answering AWS: it may be down, restarting or cut "
        "off from the internet, or a firewall blocks the VPN.",
        fix_customer="Check the device and its internet link; allow UDP 500, UDP 4500 and ESP "
        "(IP protocol 50) to and from both AWS addresses; make sure the device starts the "
        "tunnel again after a drop.",
    ),
    Cause(
        key="customer_not_initiating",
        title="The customer's device does not initiate (IKEv1)",
        kind=IKE,
        says="`waiting for the customer gateway ... to initiate`",
        pattern=re.compile(r"waiting for the customer gateway\b.* to initiate", re.IGNORECASE),
        cause="AWS never starts this tunnel (IKEv1, or startup action add) and the customer's "
        "device has not started it, or not again after it dropped.",
        fix_engineer="Point the customer at the pack's re-initiation settings for their "
        "device; a device that speaks IKEv2 can move to it, and AWS then starts the tunnel "
        "itself.",
        cause_customer="AWS waits for your device to start the tunnel, and it has not.",
        fix_customer="Set your device to start the tunnel itself and to start it again when "
        "it drops (the configuration pack's re-initiation settings for your device), then "
        "send some traffic through it.",
    ),
    Cause(
        key="identity_mismatch",
        title="Identity or address mismatch (NAT in front of the device)",
        kind=IKE,
        says="`IKE identity ... does not match` the customer gateway address",
        pattern=re.compile(r"identity \S+.* does not match", re.IGNORECASE),
        cause="The device identifies itself by an address other than the customer gateway "
        "IP, typically its private address behind a NAT (NAT-T detected).",
        fix_engineer="Check that the request's customer gateway IP is the NAT's public "
        "address; the device's IKE identity must be that address.",
        cause_customer="Your device introduces itself with another address than the one we "
        "configured, probably because it sits behind NAT.",
        fix_customer="Set the device's local IKE identity to its public address (your gateway "
        "address in the pack) and keep NAT traversal on.",
    ),
    Cause(
        key="bgp_wrong_asn",
        title="BGP: wrong ASN",
        kind=BGP,
        says="`bad peer AS`",
        pattern=re.compile(r"bad peer AS", re.IGNORECASE),
        cause="The device speaks BGP with another AS number than the customer gateway's.",
        fix_engineer="Compare the ASN in the log line with the request's; if the request's "
        "is wrong, the customer gateway must be replaced.",
        cause_customer="Your device's BGP uses another AS number than the one you gave us.",
        fix_customer="Set your BGP AS number to the one in the configuration pack, and AWS's "
        "(the neighbour's) to the pack's Amazon-side ASN.",
    ),
    Cause(
        key="bgp_hold_timer_expired",
        title="BGP: hold timer expired",
        kind=BGP,
        says="`hold timer expired`",
        pattern=re.compile(r"hold timer expired", re.IGNORECASE),
        cause="The device stopped sending BGP keepalives within the hold time (30 s) while "
        "the tunnel stayed up: packet loss, or a device too busy to answer.",
        fix_engineer="Look for packet loss on the customer's line or an overloaded device; "
        "the pack sets keepalive 10 s and hold time 30 s.",
        cause_customer="Your device's BGP stopped sending keepalives in time.",
        fix_customer="Set BGP keepalive to 10 seconds and the hold time to 30, and check the "
        "device's load and the line's packet loss.",
    ),
    Cause(
        key="bgp_too_many_routes",
        title="BGP: more than 100 routes advertised",
        kind=BGP,
        says="`maximum prefix limit exceeded`",
        pattern=re.compile(r"maximum prefix limit exceeded", re.IGNORECASE),
        cause="The device advertises more than 100 prefixes; AWS accepts at most 100 from a "
        "customer gateway and closes the session above that.",
        fix_engineer="Ask the customer to summarise their prefixes (the intake allows at most "
        "100).",
        cause_customer="Your device advertises more than 100 routes; AWS accepts at most 100 "
        "and closes the session.",
        fix_customer="Advertise summarised prefixes, 100 at most, with aggregate routes or a "
        "prefix-list filter.",
    ),
    Cause(
        key="bgp_no_prefixes",
        title="BGP: no prefixes received",
        kind=BGP,
        says="`0 prefixes received`; status message `0 BGP ROUTES`",
        pattern=re.compile(r"\b0 prefixes received|^0 BGP ROUTES$", re.IGNORECASE),
        cause="The BGP session is up but the device advertises no prefix: AWS has no route "
        "to send traffic back over this tunnel.",
        fix_engineer="Compare with the request's advertised prefixes; the customer must "
        "announce them over BGP.",
        cause_customer="The tunnel and BGP are up, but your device announces no networks to AWS.",
        fix_customer="Announce your networks over BGP (the prefixes in your request), with "
        "network statements or redistribution.",
    ),
    Cause(
        key="bgp_down_ipsec_up",
        title="The tunnel is up but BGP is down",
        kind=BGP,
        says="`no OPEN message received`; status message `IPSEC IS UP` on a tunnel reported down",
        pattern=re.compile(r"no OPEN message received|^IPSEC IS UP$", re.IGNORECASE),
        cause="IPsec is established, but no BGP session runs over it.",
        fix_engineer="Check the device's BGP neighbour: AWS's inside address of this tunnel, "
        "the Amazon-side ASN, and BGP running over the tunnel interface.",
        cause_customer="The encrypted tunnel is up, but the routing (BGP) over it is not.",
        fix_customer="Configure BGP on your device with AWS's inside address of this tunnel "
        "as the neighbour and the pack's ASNs, and give the tunnel interface its inside "
        "address.",
    ),
)

CAUSES_BY_KEY = {cause.key: cause for cause in CAUSES}


@dataclass(frozen=True)
class LogLine:
    """One tunnel log event, read: when, which tunnel (outside IP), its kind (IKE or BGP)
    and what it says; `fields` holds the rest of AWS's JSON (states, NAT-T...)."""

    at: datetime
    tunnel_ip: str
    kind: str
    details: str
    fields: dict


def log_line(*, connection_id: str, stream: str, message: str, at: datetime) -> LogLine:
    """Read one event of a connection's tunnel logs.

    AWS writes one stream per tunnel and kind, named after the connection, the tunnel's
    outside IP and the kind (`vpn-0abc-203.0.113.12-BGP`); events are JSON with a
    `details` field (text-format events are taken whole).
    """
    name = stream.removeprefix(f"{connection_id}-")
    tunnel_ip, _, suffix = name.rpartition("-")
    kind = BGP if suffix.upper() == BGP else IKE
    try:
        fields = json.loads(message)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        fields = {"details": message}
    return LogLine(
        at=at,
        tunnel_ip=str(fields.get("tunnel_ip") or tunnel_ip or name),
        kind=kind,
        details=str(fields.get("details", "")),
        fields={key: value for key, value in fields.items() if key != "details"},
    )


@dataclass(frozen=True)
class Finding:
    """What `diagnose` found: the row (None when no known cause is named), and the line
    or message that said it."""

    cause: Cause | None
    evidence: str
    evidence_kind: str
    evidence_at: datetime | None


def diagnose(*, lines: list[LogLine], status_message: str) -> Finding:
    """Name the cause: the newest log line that says one, else AWS's status message.

    `lines` are one tunnel's recent events; the newest wins, because a tunnel that failed
    for a new reason must not be blamed on an older one.
    """
    for line in sorted(lines, key=lambda line: line.at, reverse=True):
        for cause in CAUSES:
            if cause.matches(line.details):
                return Finding(cause, line.details, line.kind, line.at)
    for cause in CAUSES:
        if status_message and cause.matches(status_message.strip()):
            return Finding(cause, status_message, STATUS, None)
    return Finding(None, "", "", None)


def causes_markdown() -> str:
    """The table as `docs/troubleshooting.md` shows it."""
    rows = [
        "| Cause | What the log or status message says | What it means | Fix (platform "
        "engineer) | Fix (customer) |",
        "|---|---|---|---|---|",
    ]
    for cause in CAUSES:
        cells = [
            f"**{cause.title}** (`{cause.key}`)",
            f"{cause.kind}: {cause.says}",
            cause.cause,
            cause.fix_engineer,
            cause.fix_customer,
        ]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"
