"""Tunnel status for machines, the "Refresh now" button, and the status card's context.

* `requests/<pk>/status.json`: one request's stored tunnel status as JSON, for engineers'
  scripts (and the same data `manage.py vpn_status --json` prints).
* `status/refresh/`: queue a status refresh now, for one region or all of them.
* `/metrics`: every watched tunnel in Prometheus's text format (up, routes, a drift of
  what it negotiated from the pack, AWS maintenance pending), for a scraper holding
  `METRICS_TOKEN` or for a logged-in engineer.

None of these calls AWS: they read the snapshot the refresh stored, or queue the refresh.
"""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from vpn.choices import TunnelStatus
from vpn.models import StatusRefresh, VpnRequest
from vpn.permissions import RoleRequiredMixin, user_may
from vpn.regions import REGIONS_BY_CODE
from vpn.selectors import status as status_selectors
from vpn.selectors.diagnosis import negotiated_drift
from vpn.services.status import status_refresh_queue
from vpn.services.throttle import throttle_hit

# The "Refresh now" button queues at most one refresh per region in this many seconds.
REFRESH_BUTTON_SECONDS = 10


class RequestStatusJsonView(RoleRequiredMixin, View):
    """One request's tunnel status as JSON (what `status_selectors.request_status` returns)."""

    action = "request_status_view"
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The status, or a JSON 404 (scripts read the body, not an HTML error page)."""
        try:
            response = JsonResponse(status_selectors.request_status(pk=pk))
        except VpnRequest.DoesNotExist:
            response = JsonResponse({"error": "No such VPN request."}, status=404)
        # The status changes with every refresh: a cached copy would mislead a poller.
        response["Cache-Control"] = "no-store"
        return response


class StatusRefreshView(RoleRequiredMixin, View):
    """The "Refresh now" button: queue a status refresh, then go back to the page."""

    action = "status_refresh"
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        """Queue the refresh for the region asked (or every region) and say so."""
        target = self._next_url(request)
        region = request.POST.get("region", "").strip()
        if region and region not in REGIONS_BY_CODE:
            messages.error(request, f"“{region}” is not an AWS region the portal knows.")
            return redirect(target)
        where = region or "every region"
        # One refresh per region every few seconds is plenty: more clicks (or several
        # people clicking) would only ask AWS the same question again.
        if throttle_hit(scope="status-refresh", key=where, limit=1, window=REFRESH_BUTTON_SECONDS):
            messages.info(
                request,
                f"A refresh of {where} was asked for moments ago; "
                "this page updates when it is done.",
            )
            return redirect(target)
        status_refresh_queue(
            trigger=StatusRefresh.Trigger.BUTTON, regions=[region] if region else None
        )
        messages.success(
            request, f"Refreshing tunnel status for {where} now; this page updates when it is done."
        )
        return redirect(target)

    @staticmethod
    def _next_url(request: HttpRequest) -> str:
        """The page to go back to: `next` if it stays on this site, else the dashboard."""
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return target
        return reverse("vpn:dashboard")


# --- Prometheus -------------------------------------------------------------------------


class TunnelStatusCollector:
    """The stored tunnel status as Prometheus gauges, read afresh on each collection.

    Two queries whatever the number of tunnels: the tunnels (with their requests and
    whether maintenance is pending) and the latest refresh run.
    """

    def collect(self) -> Iterator[Metric]:
        """Yield the tunnel gauges and, once a refresh has run, the refresh gauges."""
        labels = ["request", "tunnel", "region", "outside_ip", "monitored"]
        up = GaugeMetricFamily(
            "vpn_tunnel_up", "1 if AWS reports the tunnel up, else 0.", labels=labels
        )
        routes = GaugeMetricFamily(
            "vpn_tunnel_accepted_routes",
            "Routes AWS accepted over the tunnel.",
            labels=labels,
        )
        drift = GaugeMetricFamily(
            "vpn_tunnel_negotiated_drift",
            "1 if the tunnel is up on other parameters than its pack prescribes, else 0.",
            labels=labels,
        )
        maintenance = GaugeMetricFamily(
            "vpn_tunnel_maintenance_pending",
            "1 if AWS has endpoint maintenance pending on the tunnel, else 0.",
            labels=labels,
        )
        drifting = watched = 0
        for tunnel in status_selectors.status_metrics_tunnels():
            watched += 1
            values = [
                tunnel.request.reference,
                str(tunnel.position),
                tunnel.request.region,
                tunnel.outside_ip,
                "true" if tunnel.monitored else "false",
            ]
            up.add_metric(values, 1 if tunnel.status == TunnelStatus.UP else 0)
            routes.add_metric(values, tunnel.accepted_route_count)
            drifted = negotiated_drift(request=tunnel.request, tunnel=tunnel)
            drifting += drifted
            drift.add_metric(values, 1 if drifted else 0)
            maintenance.add_metric(values, 1 if tunnel.maintenance_pending else 0)
        yield up
        yield routes
        yield drift
        yield maintenance
        if watched:  # with no tunnel watched, no count (as no tunnel has a sample)
            yield GaugeMetricFamily(
                "vpn_tunnels_negotiated_drift",
                "Up tunnels that negotiated other parameters than their pack prescribes.",
                value=drifting,
            )

        refresh = status_selectors.status_refresh_latest()
        if refresh is None:
            return  # No run yet: an absent series, rather than a misleading zero.
        yield GaugeMetricFamily(
            "vpn_status_refresh_timestamp_seconds",
            "When the latest tunnel status refresh finished (Unix time).",
            value=refresh.finished_at.timestamp(),
        )
        yield GaugeMetricFamily(
            "vpn_status_refresh_errors",
            "Regions the latest tunnel status refresh could not read.",
            value=len(refresh.errors),
        )


def _bearer_token_valid(request: HttpRequest) -> bool:
    """Whether the request carries `Authorization: Bearer <METRICS_TOKEN>`.

    An empty METRICS_TOKEN turns token access off: an empty token is never accepted.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        return False
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    # Constant-time, so that response times say nothing about the token.
    return hmac.compare_digest(token.encode(), expected.encode())


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics of the tunnels, for the token's holder or a logged-in engineer.

    Open to the middleware's login check, so that a scraper gets a 401 (not a redirect
    to the login page); the view checks access itself.
    """
    # The token first: a scraper then costs no session lookup.
    if not (_bearer_token_valid(request) or user_may(request.user, "metrics_view")):
        response = HttpResponse(
            "Authentication required: a bearer token or a login.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="vpn-portal"'
        return response
    # A registry per request: the collector reads the database when collected, and
    # nothing lingers in the process's global registry.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TunnelStatusCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
