"""Reads of AWS's endpoint maintenance: what is pending on a request's tunnels (with AWS's
deadline), the customer's window and when it next opens, for the pages and
`vpn_maintenance`."""

from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from vpn.maintenance_window import Window, window_contains, window_next_start
from vpn.models import MaintenanceWindow, PendingMaintenance, Tunnel, VpnRequest


def maintenance_pending_exists():
    """An expression: whether the request (the outer query's row) has maintenance pending
    on a monitored tunnel."""
    return Exists(
        PendingMaintenance.objects.filter(
            tunnel__request=OuterRef("pk"),
            tunnel__position__lte=OuterRef("tunnel_count"),
            cleared_at__isnull=True,
        )
    )


def window_of(window: MaintenanceWindow | None) -> Window | None:
    """The stored window as time, or None."""
    if window is None:
        return None
    return Window(window.weekday, window.start_hour, window.end_hour, window.time_zone)


def maintenance_context(*, request: VpnRequest, tunnels: list[Tunnel]) -> dict:
    """What the status card shows of maintenance: the pending maintenance of the
    monitored tunnels (oldest first), the customer's window and when it next opens."""
    monitored = [tunnel.pk for tunnel in tunnels if tunnel.position <= request.tunnel_count]
    pending = list(
        PendingMaintenance.objects.filter(tunnel_id__in=monitored, cleared_at__isnull=True)
        .select_related("tunnel")
        .order_by("tunnel__position")
    )
    stored = MaintenanceWindow.objects.filter(request=request).first()
    window = window_of(stored)
    now = timezone.now()
    return {
        "pending_maintenance": pending,
        "maintenance_window": stored,
        "maintenance_window_text": window.describe() if window else "",
        "maintenance_window_open": bool(window and window_contains(window, now)),
        "maintenance_next_window": window_next_start(window, now) if window else None,
    }


def request_maintenance(*, pk: int, now: datetime | None = None) -> dict:
    """A request's maintenance as plain data (`vpn_maintenance`): each tunnel's pending
    maintenance and AWS's deadline, when it was last read and last applied, and the
    customer's window. Raises `VpnRequest.DoesNotExist` for an unknown id."""
    now = now or timezone.now()
    request = VpnRequest.objects.select_related("customer").get(pk=pk)
    stored = MaintenanceWindow.objects.filter(request=request).first()
    window = window_of(stored)
    pending = {
        row.tunnel_id: row
        for row in PendingMaintenance.objects.filter(
            tunnel__request=request, cleared_at__isnull=True
        )
    }
    return {
        "reference": request.reference,
        "id": request.pk,
        "customer": request.customer.name,
        "stage": request.stage,
        "window": window.describe() if window else None,
        "window_open_now": bool(window and window_contains(window, now)),
        "next_window_start": window_next_start(window, now).isoformat() if window else None,
        "tunnels": [
            {
                "position": tunnel.position,
                "outside_ip": tunnel.outside_ip,
                "monitored": tunnel.monitored,
                "status": tunnel.status,
                "pending": pending[tunnel.pk].description if tunnel.pk in pending else None,
                "auto_applied_after": _iso(
                    pending[tunnel.pk].auto_applied_after if tunnel.pk in pending else None
                ),
                "announced_at": _iso(
                    pending[tunnel.pk].first_seen_at if tunnel.pk in pending else None
                ),
                "last_applied": _iso(tunnel.maintenance_last_applied),
                "checked_at": _iso(tunnel.maintenance_checked_at),
            }
            for tunnel in request.tunnels.order_by("position")
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
