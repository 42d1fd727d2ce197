"""Reads for troubleshooting: each tunnel's stored diagnosis in words (for the engineer and
for the customer), what it negotiated beside the pack's profile, its recent log events
from CloudWatch Logs (the request page's log panel), and the same as plain data for
`vpn_diagnose`.

The diagnosis and the negotiation are read from what the status refresh stored; only the
log panel asks AWS, when a person opens the request page (never on its polls).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from vpn import aws
from vpn.choices import AwsResourceRole, TunnelStatus
from vpn.diagnosis import BGP, CAUSES_BY_KEY, IKE, REASONS, Cause, LogLine, log_line
from vpn.models import AwsResource, Tunnel, VpnRequest
from vpn.tunnel_profile import NegotiatedRow, negotiated_comparison, tunnel_profile

LOG_KINDS = {IKE: "IKE", BGP: "BGP"}


@dataclass(frozen=True)
class TunnelNegotiation:
    """What a tunnel negotiated when last read up, beside what the pack prescribes."""

    tunnel: Tunnel
    rows: list[NegotiatedRow]
    read_at: datetime | None

    @property
    def drift(self) -> list[NegotiatedRow]:
        """The parameters that differ from the pack's."""
        return [row for row in self.rows if row.drift]

    @property
    def current(self) -> bool:
        """Whether the tunnel is up now (else the reading is from when it last was)."""
        return self.tunnel.status == TunnelStatus.UP


def tunnel_negotiation(*, request: VpnRequest, tunnel: Tunnel) -> TunnelNegotiation:
    """The tunnel's negotiated parameters beside the request's profile."""
    profile = tunnel_profile(request.ike_version)
    return TunnelNegotiation(
        tunnel=tunnel,
        rows=negotiated_comparison(profile=profile, negotiated=tunnel.negotiated),
        read_at=tunnel.negotiated_at,
    )


def negotiated_drift(*, request: VpnRequest, tunnel: Tunnel) -> bool:
    """Whether an up tunnel negotiated something other than its pack prescribes."""
    if tunnel.status != TunnelStatus.UP:
        return False
    return bool(tunnel_negotiation(request=request, tunnel=tunnel).drift)


def drift_phrase(rows: list[NegotiatedRow]) -> str:
    """The drift in a few words: "IKE version ikev1 (the pack: ikev2), Phase 1 DH group 2
    (the pack: 14)"."""
    return ", ".join(f"{row.label} {row.negotiated} (the pack: {row.prescribed})" for row in rows)


@dataclass(frozen=True)
class TunnelDiagnosis:
    """A tunnel in trouble, in words: why it is diagnosed, the cause found (None: no
    known cause), the line that said it, and any drift from the pack it negotiated."""

    tunnel: Tunnel
    reason: str
    cause: Cause | None
    evidence: str
    evidence_kind: str
    evidence_at: datetime | None
    logs_error: str
    diagnosed_at: datetime | None
    drift: list[NegotiatedRow]

    @property
    def reason_label(self) -> str:
        """ "down", "flapping (up and down repeatedly)", "up without routes"."""
        return REASONS.get(self.reason, self.reason)

    @property
    def drift_text(self) -> str:
        """The drift from the pack, in a few words ("" for none)."""
        return drift_phrase(self.drift)


def tunnel_diagnoses(*, request: VpnRequest, tunnels: list[Tunnel]) -> list[TunnelDiagnosis]:
    """The diagnosis of each monitored tunnel that has one, or that negotiated other than
    its pack while up (a drift is noted even on a healthy tunnel), by position."""
    found = []
    for tunnel in sorted(tunnels, key=lambda t: t.position):
        if tunnel.position > request.tunnel_count:
            continue
        stored = tunnel.diagnosis or {}
        drift = tunnel_negotiation(request=request, tunnel=tunnel).drift
        if not stored and not (drift and tunnel.status == TunnelStatus.UP):
            continue
        evidence_at = stored.get("evidence_at")
        found.append(
            TunnelDiagnosis(
                tunnel=tunnel,
                reason=stored.get("reason", ""),
                cause=CAUSES_BY_KEY.get(stored.get("cause", "")),
                evidence=stored.get("evidence", ""),
                evidence_kind=stored.get("evidence_kind", ""),
                evidence_at=datetime.fromisoformat(evidence_at) if evidence_at else None,
                logs_error=stored.get("logs_error", ""),
                diagnosed_at=tunnel.diagnosed_at,
                drift=drift,
            )
        )
    return found


@dataclass(frozen=True)
class NegotiatedTableRow:
    """One parameter of the negotiated table: the pack's value, then each tunnel's."""

    label: str
    prescribed: object
    tunnels: list[NegotiatedRow]


def troubleshooting_context(*, request: VpnRequest, tunnels: list[Tunnel]) -> dict:
    """What the status card shows about trouble: the diagnoses, and for the engineer what
    each tunnel negotiated beside the pack's profile (`negotiations`, one column per
    tunnel read, and `negotiated_rows`, one row per parameter)."""
    monitored = [t for t in sorted(tunnels, key=lambda t: t.position) if t.monitored]
    negotiations = [
        negotiation
        for negotiation in (tunnel_negotiation(request=request, tunnel=t) for t in monitored)
        if negotiation.rows
    ]
    rows = []
    if negotiations:
        for index, first in enumerate(negotiations[0].rows):
            rows.append(
                NegotiatedTableRow(
                    label=first.label,
                    prescribed=first.prescribed,
                    tunnels=[negotiation.rows[index] for negotiation in negotiations],
                )
            )
    return {
        "diagnoses": tunnel_diagnoses(request=request, tunnels=tunnels),
        "negotiations": negotiations,
        "negotiated_rows": rows,
    }


# --- The log panel ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogPanelLine:
    """One log event as the panel shows it: the tunnel's position, and the line."""

    position: int | None
    line: LogLine

    @property
    def states(self) -> str:
        """The states the event reports, in a few words."""
        fields = self.line.fields
        if self.line.kind == BGP:
            return f"BGP {fields['bgp_state']}" if fields.get("bgp_state") else ""
        parts = []
        if "ike_phase1_state" in fields:
            parts.append(f"phase 1 {fields['ike_phase1_state']}")
        if "ike_phase2_state" in fields:
            parts.append(f"phase 2 {fields['ike_phase2_state']}")
        if fields.get("nat_t_detected"):
            parts.append("NAT-T detected")
        return ", ".join(parts)


@dataclass(frozen=True)
class LogPanel:
    """The request page's log panel: the latest events (newest first) under the filters,
    or why there are none (`error`: CloudWatch failed; `note`: nothing to read yet)."""

    lines: list[LogPanelLine]
    tunnel: str
    kind: str
    error: str = ""
    note: str = ""
    since: datetime | None = None


def tunnel_log_panel(*, request: VpnRequest, tunnel: str = "", kind: str = "") -> LogPanel:
    """The request's recent tunnel log events from CloudWatch Logs, newest first, for one
    tunnel (`tunnel`: its position, "" for both) and one kind (IKE, BGP, "" for both).

    A failing CloudWatch call gives the panel an error to show; it never raises.
    """
    tunnel = tunnel if tunnel in ("1", "2") else ""
    kind = kind if kind in LOG_KINDS else ""
    connection = (
        AwsResource.objects.filter(
            request=request, role=AwsResourceRole.VPN_CONNECTION, deleted_at__isnull=True
        )
        .values_list("resource_id", "region")
        .first()
    )
    if connection is None:
        return LogPanel(
            [], tunnel, kind, note="The tunnel logs appear once the VPN connection exists."
        )
    connection_id, region = connection
    positions = {t.outside_ip: t.position for t in request.tunnels.all()}
    since = timezone.now() - timedelta(hours=settings.TUNNEL_LOG_LOOKBACK_HOURS)
    try:
        with aws.acting_for(request.account):
            events = aws.tunnel_log_events(
                region,
                group_name=settings.TUNNEL_LOG_GROUP,
                connection_id=connection_id,
                since=since,
                # Read more than is shown: the filters apply to what was read.
                limit=settings.TUNNEL_LOG_PAGE_EVENTS * 10,
            )
    except aws.AwsNotFoundError:
        return LogPanel(
            [],
            tunnel,
            kind,
            note=f"No tunnel logs in {region} yet: the log group {settings.TUNNEL_LOG_GROUP} "
            "does not exist there.",
            since=since,
        )
    except aws.AwsError as exc:
        return LogPanel(
            [], tunnel, kind, error=f"CloudWatch Logs could not be read: {exc}", since=since
        )
    lines = []
    for event in events:
        line = log_line(
            connection_id=connection_id,
            stream=event.stream,
            message=event.message,
            at=event.timestamp,
        )
        position = positions.get(line.tunnel_ip)
        if tunnel and str(position) != tunnel:
            continue
        if kind and line.kind != kind:
            continue
        lines.append(LogPanelLine(position=position, line=line))
    return LogPanel(lines[: settings.TUNNEL_LOG_PAGE_EVENTS], tunnel, kind, since=since)


# --- Plain data (vpn_diagnose) ----------------------------------------------------------


def request_diagnosis(*, pk: int) -> dict:
    """A request's tunnels with their stored diagnosis and negotiation, as plain data.

    Raises `VpnRequest.DoesNotExist` for an unknown id.
    """
    request = VpnRequest.objects.select_related("customer").get(pk=pk)
    tunnels = list(request.tunnels.order_by("position"))
    diagnoses = {d.tunnel.pk: d for d in tunnel_diagnoses(request=request, tunnels=tunnels)}
    return {
        "reference": request.reference,
        "id": request.pk,
        "customer": request.customer.name,
        "stage": request.stage,
        "tunnels": [
            {
                "position": tunnel.position,
                "outside_ip": tunnel.outside_ip,
                "monitored": tunnel.monitored,
                "status": tunnel.status,
                "status_message": tunnel.status_message,
                "diagnosis": _diagnosis_data(diagnoses.get(tunnel.pk)),
                "negotiated": _negotiation_data(tunnel_negotiation(request=request, tunnel=tunnel)),
            }
            for tunnel in tunnels
        ],
    }


def _diagnosis_data(diagnosis: TunnelDiagnosis | None) -> dict | None:
    if diagnosis is None:
        return None
    cause = diagnosis.cause
    return {
        "reason": diagnosis.reason or None,
        "cause": cause.key if cause else None,
        "title": cause.title if cause else None,
        "explanation": cause.cause if cause else None,
        "fix": cause.fix_engineer if cause else None,
        "customer_explanation": cause.cause_customer if cause else None,
        "customer_fix": cause.fix_customer if cause else None,
        "evidence": diagnosis.evidence or None,
        "evidence_kind": diagnosis.evidence_kind or None,
        "evidence_at": diagnosis.evidence_at.isoformat() if diagnosis.evidence_at else None,
        "logs_error": diagnosis.logs_error or None,
        "diagnosed_at": diagnosis.diagnosed_at.isoformat() if diagnosis.diagnosed_at else None,
        "drift": diagnosis.drift_text or None,
    }


def _negotiation_data(negotiation: TunnelNegotiation) -> dict | None:
    if not negotiation.rows:
        return None
    return {
        "read_at": negotiation.read_at.isoformat() if negotiation.read_at else None,
        "parameters": [
            {
                "parameter": row.key,
                "prescribed": row.prescribed,
                "negotiated": row.negotiated,
                "drift": row.drift,
            }
            for row in negotiation.rows
        ],
        "drift": bool(negotiation.drift),
    }
