"""The customer's pages, reached through an intake link without an account.

One URL per link: while the request waits for the customer's answers it shows the
intake form (save a draft, or submit); afterwards it shows the request's progress, and
once the VPN is built the customer confirms there that their side is configured and
chooses when AWS's maintenance is applied (their maintenance window). Once
the VPN is removed (decommissioning, decommissioned) or the request cancelled, the page
says so and when, and the link serves no pack any more: its keys belong to tunnels that
no longer exist.
Every hit is rate limited per client IP and per link before the token is looked up.
An unknown or malformed token is a 404 and an expired or revoked one a 410, with pages
that say nothing about any request.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from vpn.choices import CUSTOMER_EDITABLE_STAGES, OPERATIONAL_STAGES
from vpn.forms import CustomerIntakeForm, MaintenanceWindowForm, intake_initial
from vpn.maintenance_window import time_zones
from vpn.models import VpnRequest
from vpn.selectors.intake import request_changes_requested, request_region_advice
from vpn.selectors.maintenance import window_of
from vpn.selectors.packs import config_pack_latest
from vpn.selectors.provisioning import request_steps
from vpn.selectors.requests import request_detail, request_removal_reason, request_removed_at
from vpn.selectors.status import tunnel_status_context
from vpn.services import intake
from vpn.services.maintenance import (
    MaintenanceWindowInvalid,
    maintenance_window_clear,
    maintenance_window_set,
)
from vpn.services.packs import config_pack_prepare
from vpn.services.stages import StageMoveError
from vpn.services.throttle import throttle_hit, throttle_retry_after
from vpn.validation import IntakeInvalid
from vpn.views.clients import client_ip
from vpn.views.packs import pack_download_response


def _rate_limited(request: HttpRequest, token: str) -> bool:
    window = settings.INTAKE_RATE_WINDOW_SECONDS
    scope, per_ip, per_token = (
        "intake",
        settings.INTAKE_RATE_LIMIT_PER_IP,
        settings.INTAKE_RATE_LIMIT_PER_TOKEN,
    )
    if request.method == "GET" and request.headers.get("HX-Request") == "true":
        # The status page's own polls count apart, against a budget of four open tabs
        # polling all window long, so that following the status never locks anyone out
        # (each tab at least one poll per window, however slowly the page polls).
        scope = "intake-live"
        polls_per_tab = max(window // max(settings.CUSTOMER_PAGE_POLL_SECONDS, 1), 1)
        per_ip = per_token = 4 * polls_per_tab
    return throttle_hit(
        scope=f"{scope}-ip", key=client_ip(request), limit=per_ip, window=window
    ) or throttle_hit(scope=f"{scope}-token", key=token, limit=per_token, window=window)


def _private(response: HttpResponse) -> HttpResponse:
    """Keep the token out of referrers to other sites, and out of search engines.

    "same-origin", not "no-referrer": with no referrer at all, browsers send
    `Origin: null` on the form's POST, and Django's CSRF check rightly refuses it.
    """
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _link_or_refusal(request: HttpRequest, token: str):
    """The link of a valid token, or the page that refuses it (429, 404 or 410)."""
    if _rate_limited(request, token):
        window = settings.INTAKE_RATE_WINDOW_SECONDS
        response = render(request, "vpn/customer/rate_limited.html", status=429)
        response["Retry-After"] = str(throttle_retry_after(window=window))
        return None, _private(response)
    try:
        return intake.intake_link_resolve(token=token), None
    except intake.IntakeLinkUnknown:
        return None, _private(render(request, "vpn/customer/link_unknown.html", status=404))
    except intake.IntakeLinkGone as exc:
        return None, _private(
            render(request, "vpn/customer/link_gone.html", {"reason": exc.reason}, status=410)
        )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def intake_page(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's form while their answers are wanted; their progress afterwards."""
    link, refusal = _link_or_refusal(request, token)
    if refusal is not None:
        return refusal

    vpn_request = link.request
    if vpn_request.stage in CUSTOMER_EDITABLE_STAGES:
        if request.headers.get("HX-Request") == "true":
            # The status page's poll, and the request was sent back to the customer: the
            # page becomes the form, so the browser reloads it whole.
            return _private(HttpResponse(headers={"HX-Refresh": "true"}))
        return _private(_intake_form(request, token, vpn_request))
    if request.method == "POST":
        if request.POST.get("action") == "confirm":
            _confirm(request, vpn_request)
        elif request.POST.get("action") == "reopen":
            _reopen(request, vpn_request)
        elif request.POST.get("action") == "maintenance_window":
            _window_choose(request, vpn_request, link)
        else:
            messages.info(
                request, "Your answers were already submitted; they can no longer change."
            )
        return redirect(reverse("vpn:intake", args=[token]))
    return _private(_intake_status(request, vpn_request, link, token))


def _confirm(request: HttpRequest, vpn_request: VpnRequest) -> None:
    """The customer says their side is configured: record it and thank them."""
    try:
        intake.request_customer_confirm(request_id=vpn_request.pk)
    except intake.IntakeClosed:
        messages.info(request, "There is nothing to confirm at this stage.")
        return
    messages.success(
        request,
        "Thank you: your engineer has been told. The tunnels come up as soon as AWS reaches "
        "your device; this page shows them.",
    )


def _reopen(request: HttpRequest, vpn_request: VpnRequest) -> None:
    """The customer takes their answers back to change them, before the review."""
    try:
        intake.request_customer_reopen(request_id=vpn_request.pk)
    except StageMoveError:
        messages.info(
            request, "Your engineer has already reviewed your answers: ask them for a change."
        )
        return
    messages.success(
        request,
        "Your answers are open again. Change what you need, then submit them again: your "
        "engineer reviews them once you do.",
    )


def _window_choose(request: HttpRequest, vpn_request: VpnRequest, link) -> None:
    """The customer chooses (or removes) their maintenance window; a bad choice is said
    in a message and changes nothing."""
    if vpn_request.stage not in OPERATIONAL_STAGES:
        messages.info(request, "A maintenance window can be chosen once the VPN is built.")
        return
    form = MaintenanceWindowForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(error for errors in form.errors.values() for error in errors)
        messages.error(request, f"The maintenance window was not changed: {errors}")
        return
    values = form.cleaned_data
    if values["weekday"] is None:
        if maintenance_window_clear(request_id=vpn_request.pk):
            messages.success(
                request,
                "Your maintenance window is removed: AWS's maintenance is applied by your "
                "engineer, or by AWS at its deadline.",
            )
        return
    try:
        window = maintenance_window_set(
            request_id=vpn_request.pk,
            weekday=values["weekday"],
            start_hour=values["start_hour"],
            end_hour=values["end_hour"],
            time_zone=values["time_zone"],
            chosen_by=f"customer link {link.pk}",
        )
    except MaintenanceWindowInvalid as exc:
        messages.error(request, f"The maintenance window was not changed: {exc}")
        return
    messages.success(
        request,
        f"Saved: AWS's maintenance is applied in your window, {window_of(window).describe()}.",
    )


def _intake_form(request: HttpRequest, token: str, vpn_request: VpnRequest) -> HttpResponse:
    here = reverse("vpn:intake", args=[token])
    submit = request.POST.get("action") == "submit"
    if request.method == "POST":
        form = CustomerIntakeForm(request.POST, complete=submit)
        if form.is_valid():
            try:
                if submit:
                    intake.request_submit(
                        request_id=vpn_request.pk,
                        values=form.intake.values,
                        actor_label="customer",
                    )
                    messages.success(request, "Submitted: your answers are with your engineer.")
                else:
                    intake.request_draft_save(request_id=vpn_request.pk, values=form.intake.values)
                    messages.success(
                        request, "Draft saved. Come back to this link any time to finish it."
                    )
            except (intake.IntakeClosed, StageMoveError, IntakeInvalid):
                messages.info(request, "This request can no longer change here.")
            return redirect(here)
    else:
        form = CustomerIntakeForm(
            initial=intake_initial(request=vpn_request, propose_region=True), complete=False
        )
    return render(
        request,
        "vpn/customer/intake_form.html",
        {
            "form": form,
            "vpn_request": vpn_request,
            "changes": request_changes_requested(request=vpn_request),
            "region_advice": request_region_advice(request=vpn_request),
            "action_url": here,
            "for_customer": True,
        },
        status=200,
    )


def _intake_status(request: HttpRequest, vpn_request: VpnRequest, link, token: str) -> HttpResponse:
    vpn_request = request_detail(pk=vpn_request.pk)
    removed_at = request_removed_at(request=vpn_request)
    if removed_at is not None:
        # No steps, tunnels or pack, and no polling: nothing here will change again.
        return render(
            request,
            "vpn/customer/intake_removed.html",
            {
                "vpn_request": vpn_request,
                "removed_at": removed_at,
                "removal_reason": request_removal_reason(request=vpn_request),
                "region_advice": request_region_advice(request=vpn_request),
                "for_customer": True,
            },
        )
    pack = config_pack_latest(request_id=vpn_request.pk)
    context = {
        "vpn_request": vpn_request,
        "steps": request_steps(request=vpn_request),
        "region_advice": request_region_advice(request=vpn_request),
        "link": link,
        "token": token,
        "pack": pack,
        "pack_preparing": pack is None and config_pack_prepare(request=vpn_request),
        "for_customer": True,
        **tunnel_status_context(
            request=vpn_request, chart_window=request.GET.get("chart", ""), for_customer=True
        ),
    }
    if vpn_request.stage in OPERATIONAL_STAGES:
        window = context["maintenance_window"]
        context["window_form"] = MaintenanceWindowForm(
            initial={
                "weekday": window.weekday if window else "",
                "start_hour": window.start_hour if window else 2,
                "end_hour": window.end_hour if window else 5,
                "time_zone": window.time_zone if window else "UTC",
            }
        )
        context["time_zones"] = sorted(time_zones())
    return render(request, "vpn/customer/intake_status.html", context)


@login_not_required
@never_cache
@require_http_methods(["GET"])
def intake_pack(request: HttpRequest, token: str, variant: str) -> HttpResponse:
    """The latest config pack, for the customer (recorded against their link), while
    the VPN exists; once it is removed, a 410 page and nothing served."""
    link, refusal = _link_or_refusal(request, token)
    if refusal is not None:
        return refusal
    removed_at = request_removed_at(request=link.request)
    if removed_at is not None:
        return _private(
            render(
                request,
                "vpn/customer/pack_gone.html",
                {
                    "vpn_request": link.request,
                    "removed_at": removed_at,
                    "removal_reason": request_removal_reason(request=link.request),
                    "token": token,
                },
                status=410,
            )
        )
    response = pack_download_response(
        request,
        vpn_request=link.request,
        variant=variant,
        token_label=f"customer link {link.pk}",
        client_ip=client_ip(request),
        base_template="vpn/customer/base.html",
        back_url=reverse("vpn:intake", args=[token]),
    )
    return _private(response)
