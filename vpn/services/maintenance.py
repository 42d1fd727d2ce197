"""AWS's endpoint maintenance on the customer's schedule: what AWS has pending for each
watched tunnel, told once to the engineer and the customer with AWS's deadline, and the
customer's maintenance window.

Every new tunnel has tunnel endpoint lifecycle control (`vpn.tunnel_profile`), so AWS
announces endpoint replacements as pending maintenance and waits until its deadline
(`MaintenanceAutoAppliedAfter`) for the customer to have it applied. `maintenance_refresh`
(a periodic job, every `MAINTENANCE_CHECK_SECONDS`) reads `GetVpnTunnelReplacementStatus`
for every monitored tunnel of the watched requests, keeps one `PendingMaintenance` row per
announcement, and emails each new one once to each recipient through the outbox.

Applying maintenance is a change of the change flow (kind `maintenance`), one tunnel
at a time (the second waits until the first is UP again): "Apply now" on the request
page proposes it (its page states the impact, to confirm), `vpn_maintenance ID --apply`
proposes and applies it (`maintenance_apply`), and `maintenance_refresh` starts it
itself, after reading, for each request whose window contains the moment
(`maintenance_windows_apply`). The change's AWS call is
`vpn.aws.vpn_tunnel_replace(..., apply_pending_maintenance=True)`; at its end it asks AWS
again and clears the rows AWS no longer reports (and any later read would too).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vpn import aws
from vpn.choices import ACTIVE_CHANGE_STATES, OPERATIONAL_STAGES, AwsResourceRole, ChangeKind
from vpn.maintenance_window import Window, window_contains, window_next_start
from vpn.models import (
    AwsResource,
    MaintenanceWindow,
    PendingMaintenance,
    Tunnel,
    VpnChange,
    VpnRequest,
)
from vpn.selectors.maintenance import window_of
from vpn.selectors.requests import REMOVED_STAGES
from vpn.services import changes
from vpn.services.notifications import email_queue, emails_send

logger = logging.getLogger(__name__)

# The outbox key of every maintenance email starts with this, then the row's id and the
# audience: one email per announcement and recipient.
MAINTENANCE_KEY_PREFIX = "maintenance:"
_DESCRIPTION_MAX = PendingMaintenance._meta.get_field("description").max_length


@dataclass
class MaintenanceRun:
    """What one maintenance read did."""

    tunnels_read: int = 0
    announced: int = 0
    cleared: int = 0
    emails_sent: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # tunnel -> AWS's error
    # The maintenance changes started because the customer's window is open.
    started: list[str] = field(default_factory=list)


def _watched_tunnels() -> list[tuple[Tunnel, str, str]]:
    """(tunnel, region, VPN connection id) of every monitored tunnel of a watched request."""
    connections = {
        request_id: (region, resource_id)
        for request_id, region, resource_id in AwsResource.objects.filter(
            role=AwsResourceRole.VPN_CONNECTION,
            deleted_at__isnull=True,
            request__stage__in=OPERATIONAL_STAGES,
        ).values_list("request_id", "region", "resource_id")
    }
    tunnels = Tunnel.objects.filter(request_id__in=connections).select_related("request__account")
    return [
        (tunnel, *connections[tunnel.request_id])
        for tunnel in tunnels.order_by("request_id", "position")
        if tunnel.monitored
    ]


def maintenance_refresh(*, now: datetime | None = None) -> MaintenanceRun:
    """Read every watched tunnel's pending maintenance, record what is new or over, send
    the emails that are due, then start the maintenance change of every request whose
    window contains `now` (the present moment unless given).

    One call per tunnel (AWS answers for one tunnel at a time), which is why this runs on
    its own, seldom schedule rather than with every status refresh: AWS announces
    maintenance days before its deadline. A tunnel whose call fails keeps what was known.
    """
    run = MaintenanceRun()
    for tunnel, region, connection_id in _watched_tunnels():
        try:
            # The call acts in the account the tunnel's request lives in.
            with aws.acting_for(tunnel.request.account):
                reported = aws.vpn_tunnel_replacement_status(
                    region, vpn_connection_id=connection_id, outside_ip=tunnel.outside_ip
                )
        except aws.AwsError as exc:
            logger.warning("Maintenance of %s not read: %s", tunnel, exc)
            run.errors[str(tunnel)] = str(exc)
            continue
        run.tunnels_read += 1
        announced, cleared = tunnel_maintenance_record(tunnel_id=tunnel.pk, reported=reported)
        run.announced += announced
        run.cleared += cleared
    try:
        run.emails_sent = emails_send(key_prefix=MAINTENANCE_KEY_PREFIX)
    except Exception:
        # The outbox keeps them for the next pass (and the minutely sweep).
        logger.exception("Maintenance emails could not be sent; will try again")
    run.started = [
        change.reference for change in maintenance_windows_apply(now=now or timezone.now())
    ]
    logger.info(
        "Maintenance read: %s tunnel(s), %s announced, %s cleared, %s email(s), "
        "started in the window: %s, errors: %s",
        run.tunnels_read,
        run.announced,
        run.cleared,
        run.emails_sent,
        ", ".join(run.started) or "none",
        run.errors or "none",
    )
    return run


def tunnel_maintenance_record(
    *, tunnel_id: int, reported: aws.TunnelMaintenance
) -> tuple[int, int]:
    """Record what AWS reports for one tunnel: open a `PendingMaintenance` row (and queue
    its emails) for new maintenance, update its deadline if AWS moved it, clear it once
    AWS reports none. Returns (announced, cleared): 0 or 1 each."""
    now = timezone.now()
    with transaction.atomic():
        tunnel = Tunnel.objects.select_for_update().select_related("request").get(pk=tunnel_id)
        open_row = PendingMaintenance.objects.filter(tunnel=tunnel, cleared_at__isnull=True).first()
        announced = cleared = 0
        if reported.pending:
            description = reported.pending[:_DESCRIPTION_MAX]
            if open_row is None:
                open_row = PendingMaintenance.objects.create(
                    tunnel=tunnel,
                    description=description,
                    auto_applied_after=reported.auto_applied_after,
                    first_seen_at=now,
                )
                _announce(tunnel.request, tunnel, open_row)
                announced = 1
            elif (open_row.description, open_row.auto_applied_after) != (
                description,
                reported.auto_applied_after,
            ):
                # The same announcement, rescheduled: shown as it stands, not emailed again.
                open_row.description = description
                open_row.auto_applied_after = reported.auto_applied_after
                open_row.save(update_fields=["description", "auto_applied_after"])
        elif open_row is not None:
            open_row.cleared_at = now
            open_row.save(update_fields=["cleared_at"])
            cleared = 1
        Tunnel.objects.filter(pk=tunnel.pk).update(
            maintenance_checked_at=now, maintenance_last_applied=reported.last_applied
        )
    return announced, cleared


def _announce(request: VpnRequest, tunnel: Tunnel, row: PendingMaintenance) -> int:
    """Queue the one email of a new announcement for the owning engineer and the
    customer's contact, with AWS's deadline and, if chosen, the customer's window."""
    window = MaintenanceWindow.objects.filter(request=request).first()
    schedule = window_of(window)
    context = {
        "request": request,
        "tunnel": tunnel,
        "maintenance": row,
        "window": schedule.describe() if schedule else "",
        "next_window": window_next_start(schedule, timezone.now()) if schedule else None,
        "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
    }
    key = f"{MAINTENANCE_KEY_PREFIX}{row.pk}"
    queued = 0
    if request.owner is not None:
        queued += email_queue(
            key=f"{key}:engineer",
            template="maintenance_pending_engineer",
            context=context,
            to=[request.owner.email],
        )
    queued += email_queue(
        key=f"{key}:customer",
        template="maintenance_pending_customer",
        context=context,
        to=[request.customer.contact_email],
    )
    return queued


class MaintenanceWindowInvalid(ValueError):
    """A window that cannot be stored, with the reason in words."""


def maintenance_window_set(
    *,
    request_id: int,
    weekday: int,
    start_hour: int,
    end_hour: int,
    time_zone: str,
    chosen_by: str,
) -> MaintenanceWindow:
    """Store the customer's maintenance window (replacing any earlier one).

    Raises `MaintenanceWindowInvalid` for a window that is no window (an unknown time
    zone, an end at its start) or a VPN that is removed; nothing is written then.
    """
    try:
        Window(weekday, start_hour, end_hour, time_zone)
    except ValueError as exc:
        raise MaintenanceWindowInvalid(str(exc)) from None
    with transaction.atomic():
        request = VpnRequest.objects.select_for_update().get(pk=request_id)
        if request.stage in REMOVED_STAGES:
            raise MaintenanceWindowInvalid(
                f"{request.reference} is {request.get_stage_display().lower()}: it has no "
                "maintenance to schedule."
            )
        window, _ = MaintenanceWindow.objects.update_or_create(
            request=request,
            defaults={
                "weekday": weekday,
                "start_hour": start_hour,
                "end_hour": end_hour,
                "time_zone": time_zone,
                "chosen_by": chosen_by,
            },
        )
    return window


def maintenance_window_clear(*, request_id: int) -> bool:
    """Remove the customer's window: maintenance then waits to be applied by hand or by
    AWS at its deadline. Returns whether there was one."""
    deleted, _ = MaintenanceWindow.objects.filter(request_id=request_id).delete()
    return bool(deleted)


# The label of a maintenance change the customer's window started.
WINDOW_LABEL = "maintenance window"


def maintenance_apply(
    *, request_id: int, label: str, reason: str = "", queue: bool = True
) -> VpnChange:
    """Propose and apply, with its impact confirmed, the maintenance change of a request
    (its tunnels in use with pending maintenance), in the name of `label` (a command, or
    the customer's window). Raises `changes.ChangeRefused`, writing nothing: no pending
    maintenance, a change already under way, a VPN that cannot be changed."""
    with transaction.atomic():
        change = changes.change_propose(
            request_id=request_id,
            kind=ChangeKind.MAINTENANCE,
            values={},
            reason=reason or "AWS's pending endpoint maintenance, applied on our schedule.",
            label=label,
        )
        return changes.change_apply(change_id=change.pk, label=label, confirmed=True, queue=queue)


def maintenance_windows_apply(*, now: datetime) -> list[VpnChange]:
    """Start the maintenance change of every request with pending maintenance on a tunnel
    in use whose customer's window contains `now`, unless a change of it is under way;
    never outside the window. Returns the changes started."""
    request_ids = set(
        PendingMaintenance.objects.filter(
            cleared_at__isnull=True, tunnel__request__stage__in=OPERATIONAL_STAGES
        ).values_list("tunnel__request_id", flat=True)
    )
    busy = set(
        VpnChange.objects.filter(
            request_id__in=request_ids, state__in=ACTIVE_CHANGE_STATES
        ).values_list("request_id", flat=True)
    )
    started = []
    windows = MaintenanceWindow.objects.filter(request_id__in=request_ids - busy)
    for window in windows.order_by("request_id"):
        if not window_contains(window_of(window), now):
            continue
        try:
            change = maintenance_apply(
                request_id=window.request_id,
                label=WINDOW_LABEL,
                reason="AWS's pending endpoint maintenance, in the customer's maintenance window.",
            )
        except changes.ChangeRefused as exc:
            # Pending only on a tunnel not in use, or a change started meanwhile.
            logger.info("Maintenance of request %s not started: %s", window.request_id, exc)
            continue
        started.append(change)
    return started
