"""Request pages for solutions engineers and ops (login is required by middleware): the
dashboard, a request's page, the intake form to create or edit a request, and the
request's actions (retry, decommission)."""

import csv
import json
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import DetailView, FormView, ListView, View
from django.views.generic.detail import SingleObjectMixin

from vpn.choices import (
    BUSY_STAGES,
    DECOMMISSIONABLE_STAGES,
    ENGINEER_EDITABLE_STAGES,
    INTAKE_STAGES,
    Stage,
)
from vpn.forms import DecommissionForm, RequestForm, SendBackForm, intake_initial
from vpn.models import VpnRequest
from vpn.permissions import RoleRequiredMixin
from vpn.selectors import diagnosis as diagnosis_selectors
from vpn.selectors import intake as intake_selectors
from vpn.selectors import packs as pack_selectors
from vpn.selectors import provisioning as provisioning_selectors
from vpn.selectors import requests as request_selectors
from vpn.selectors import status as status_selectors
from vpn.services import intake
from vpn.services.intake import NewLink
from vpn.services.packs import config_pack_prepare
from vpn.services.stages import (
    StageMoveError,
    request_decommission_start,
    request_retry,
)
from vpn.validation import IntakeInvalid
from vpn.views.changes import CHANGE_POLL_SECONDS, changes_card_context
from vpn.views.packs import key_reveal_refusal_pop


class DashboardView(RoleRequiredMixin, ListView):
    """Every request with its stage and tunnels: searchable, filterable, sortable by each
    column (kept in the URL), paged, and exported as CSV with the same query string."""

    action = "dashboard_view"
    template_name = "vpn/requests/dashboard.html"
    context_object_name = "requests"
    paginate_by = settings.DASHBOARD_PAGE_SIZE

    def get_queryset(self):
        """The search box, the filters and the order from the query string."""
        self.filterset = request_selectors.request_filter(
            params=self.request.GET, user=self.request.user
        )
        return self.filterset.qs

    def paginate_queryset(self, queryset, page_size):
        """Count and cut the page from the list's keys, then load that page's rows alone
        (a deep page costs what the first does). A page number past the end shows the
        last page, rather than an error."""
        paginator = self.get_paginator(request_selectors.request_keys(queryset), page_size)
        page = paginator.get_page(self.request.GET.get("page"))
        page.object_list = request_selectors.request_rows(pks=list(page.object_list))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        """Add the filter form, the sortable headers and the links that keep the query."""
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        sort = self.filterset.sort_value
        context.update(
            filter=self.filterset,
            filters_active=self.filterset.active,
            columns=_sort_headers(query, sort),
            removed_stages=request_selectors.REMOVED_STAGES,
            query_string=query.urlencode(),
            poll_seconds=settings.STATUS_PAGE_POLL_SECONDS,
            status_refresh=status_selectors.status_refresh_latest(),
        )
        return context


def _sort_headers(query, sort: str) -> list[dict]:
    """Each column's header: its link sorts by it, or reverses the order it already has;
    the sorted one says which way it runs (`sorted`, ARIA's word, and `sorted_words`)."""
    headers = []
    for key, column in request_selectors.COLUMNS.items():
        linked = query.copy()
        linked["sort"] = f"-{key}" if sort == key else key
        is_sorted = sort in (key, f"-{key}")
        reverse = sort.startswith("-")
        headers.append(
            {
                "key": key,
                "label": column.label,
                "hide_small": column.hide_small,
                "url": f"?{linked.urlencode()}",
                "sorted": column.aria_sort(reverse=reverse) if is_sorted else "",
                "sorted_words": column.directions[reverse] if is_sorted else "",
                # What the link does: the natural order, or its reverse once in it.
                "link_words": column.directions[sort == key],
            }
        )
    return headers


class _Echo:
    """A file-like object whose `write` hands back what it is given, for `csv.writer`."""

    def write(self, value: str) -> str:
        return value


# Cells a spreadsheet would run as a formula start with one of these: such a cell is
# written with a leading apostrophe, so that it stays text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value


class DashboardExportView(RoleRequiredMixin, View):
    """The dashboard's current list (same search, filters and order) as a CSV file,
    streamed row by row: memory stays flat however many requests match."""

    action = "dashboard_export"
    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        """Stream the rows; a filter value the dashboard does not know is left out, as
        there (the dashboard shows the error)."""
        filterset = request_selectors.request_filter(params=request.GET, user=request.user)
        writer = csv.writer(_Echo())
        rows = request_selectors.request_export_rows(filterset.qs)
        response = StreamingHttpResponse(
            (writer.writerow([_csv_safe(value) for value in row]) for row in rows),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="vpn-requests-{stamp}.csv"'
        return response


class RequestDetailView(RoleRequiredMixin, DetailView):
    """One request: its setup steps, intake, tunnels (with their diagnosis, negotiation,
    maintenance and recent log events), AWS resources and history."""

    action = "request_view"
    template_name = "vpn/requests/request_detail.html"
    context_object_name = "vpn_request"

    def get_object(self, queryset=None) -> VpnRequest:
        """Load the request with what the page shows."""
        try:
            return request_selectors.request_detail(pk=self.kwargs["pk"])
        except VpnRequest.DoesNotExist as exc:
            raise Http404("No such VPN request.") from exc

    def get_context_data(self, **kwargs):
        """Add the progress bar, the history, and what the review needs."""
        context = super().get_context_data(**kwargs)
        vpn_request = self.object
        context["steps"] = provisioning_selectors.request_steps(request=vpn_request)
        context["timeline"] = request_selectors.request_timeline(request=vpn_request)
        context["resources"] = sorted(vpn_request.resources.all(), key=lambda r: (r.step, r.pk))
        context["live"] = vpn_request.stage in BUSY_STAGES
        context.update(
            status_selectors.tunnel_status_context(
                request=vpn_request, chart_window=self.request.GET.get("chart", "")
            )
        )
        context.update(
            actions=request_selectors.request_actions(request=vpn_request, user=self.request.user),
            duplicates=intake_selectors.request_duplicates(request=vpn_request),
            conflicts=(
                intake_selectors.request_conflicts(request=vpn_request)
                if vpn_request.stage in INTAKE_STAGES
                else []
            ),
            region_advice=intake_selectors.request_region_advice(request=vpn_request),
            intake_links=intake_selectors.request_intake_links(request=vpn_request),
            new_link=new_link_shown(self.request, vpn_request.pk),
            send_back_form=SendBackForm(),
            link_extend_default=timezone.now() + timedelta(days=settings.INTAKE_LINK_DAYS),
        )
        context.update(
            pack_selectors.config_pack_card_context(request=vpn_request, user=self.request.user),
            reveal_refusal=key_reveal_refusal_pop(self.request, vpn_request.pk),
        )
        context["pack_preparing"] = not context["config_packs"] and config_pack_prepare(
            request=vpn_request
        )
        context.update(changes_card_context(vpn_request=vpn_request, user=self.request.user))
        if context["change_under_way"] is not None and context["poll_seconds"]:
            # A change under way: the page follows it as closely as it follows the jobs.
            context["poll_seconds"] = min(context["poll_seconds"], CHANGE_POLL_SECONDS)
        # The log panel asks CloudWatch Logs: when a person opens the page, not on its
        # polls (which swap in other regions of the page and leave the panel as it is).
        if self.request.headers.get("HX-Request") != "true":
            context["tunnel_logs"] = diagnosis_selectors.tunnel_log_panel(
                request=vpn_request,
                tunnel=self.request.GET.get("log_tunnel", ""),
                kind=self.request.GET.get("log_kind", ""),
            )
        return context

    def render_to_response(self, context, **response_kwargs):
        """Show a new link once: the cookie that carried it is dropped."""
        response = super().render_to_response(context, **response_kwargs)
        if context["new_link"] is not None:
            response.delete_cookie(NEW_LINK_COOKIE, path=self.request.path)
        return response


# --- A new customer link, shown once on the request page --------------------------------

# A new link's URL travels to the request page in this short-lived signed cookie,
# scoped to that page, so that the token is never stored on the server.
NEW_LINK_COOKIE = "vpn_new_intake_link"
NEW_LINK_COOKIE_SALT = "vpn.intake.new-link"


def new_link_remember(response: HttpResponse, request: HttpRequest, new: NewLink) -> None:
    """Carry a new link's URL to its request's page, to be shown there once."""
    response.set_signed_cookie(
        NEW_LINK_COOKIE,
        json.dumps(
            {
                "request": new.link.request_id,
                "url": new.url,
                "emailed": new.emailed,
                "expires": f"{timezone.localtime(new.link.expires_at):%-d %B %Y, %H:%M}",
            }
        ),
        salt=NEW_LINK_COOKIE_SALT,
        max_age=300,
        path=reverse("vpn:request_detail", args=[new.link.request_id]),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


def new_link_shown(request: HttpRequest, request_id: int) -> dict | None:
    """The new link the cookie carries for this request's page, if any."""
    try:
        value = json.loads(
            request.get_signed_cookie(NEW_LINK_COOKIE, salt=NEW_LINK_COOKIE_SALT, max_age=300)
        )
    except (KeyError, signing.BadSignature, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("request") == request_id else None


# --- Create and edit --------------------------------------------------------------------


def _duplicates_warn(http_request: HttpRequest, vpn_request: VpnRequest) -> None:
    duplicates = list(intake_selectors.request_duplicates(request=vpn_request))
    if duplicates:
        references = ", ".join(duplicate.reference for duplicate in duplicates)
        messages.warning(
            http_request,
            f"Possible duplicate: {references} is also open for this org and gateway IP.",
        )


class RequestCreateView(RoleRequiredMixin, FormView):
    """The engineer fills in every field and submits the request, or saves a draft."""

    action = "request_create"
    template_name = "vpn/intake/request_form.html"
    form_class = RequestForm
    initial = {"routing": "bgp", "ike_version": "ikev2", "tunnels": "2", "device": "generic"}

    def get_form_kwargs(self):
        """A draft may be incomplete; a submission may not."""
        kwargs = super().get_form_kwargs()
        kwargs["complete"] = self.request.POST.get("action") != "draft"
        return kwargs

    def form_valid(self, form):
        """Create the request, then show it."""
        submit = self.request.POST.get("action") != "draft"
        vpn_request = intake.request_create(
            values=form.intake.values, owner=self.request.user, submit=submit
        )
        if submit:
            messages.success(self.request, f"{vpn_request.reference} is in the review queue.")
        else:
            messages.success(self.request, f"{vpn_request.reference} is saved as a draft.")
        _duplicates_warn(self.request, vpn_request)
        return redirect(vpn_request)

    def get_context_data(self, **kwargs):
        """Name the page."""
        return super().get_context_data(title="New VPN request", **kwargs)


class RequestUpdateView(RoleRequiredMixin, FormView):
    """The engineer edits a request before approval: fixes, or a region override."""

    action = "request_update"
    template_name = "vpn/intake/request_form.html"
    form_class = RequestForm

    def dispatch(self, request, *args, **kwargs):
        """Load the request; refuse once it is past review."""
        if not self.has_permission():
            return self.handle_no_permission()
        try:
            self.vpn_request = request_selectors.request_detail(pk=kwargs["pk"])
        except VpnRequest.DoesNotExist as exc:
            raise Http404("No such VPN request.") from exc
        if self.vpn_request.stage not in ENGINEER_EDITABLE_STAGES:
            messages.error(
                request,
                f"{self.vpn_request.reference} is “{self.vpn_request.get_stage_display()}”; "
                "its intake can no longer be edited.",
            )
            return redirect(self.vpn_request)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        """The stored intake."""
        return intake_initial(request=self.vpn_request)

    def get_form_kwargs(self):
        """A submitted request must stay complete; a draft may be saved incomplete."""
        kwargs = super().get_form_kwargs()
        kwargs["complete"] = (
            self.vpn_request.stage == Stage.SUBMITTED or self.request.POST.get("action") == "submit"
        )
        return kwargs

    def form_valid(self, form):
        """Save, and submit when asked."""
        try:
            intake.request_update(
                request_id=self.vpn_request.pk, values=form.intake.values, actor=self.request.user
            )
            if self.request.POST.get("action") == "submit":
                intake.request_submit(request_id=self.vpn_request.pk, actor=self.request.user)
                messages.success(
                    self.request, f"{self.vpn_request.reference} is in the review queue."
                )
            else:
                messages.success(self.request, f"{self.vpn_request.reference} is saved.")
        except (intake.IntakeClosed, StageMoveError, IntakeInvalid) as exc:
            messages.error(self.request, refusal_message(exc))
        self.vpn_request.refresh_from_db()
        _duplicates_warn(self.request, self.vpn_request)
        return redirect(self.vpn_request)

    def get_context_data(self, **kwargs):
        """The request being edited, and whether it looks like a duplicate."""
        return super().get_context_data(
            title=f"Edit {self.vpn_request.reference}",
            vpn_request=self.vpn_request,
            duplicates=intake_selectors.request_duplicates(request=self.vpn_request),
            region_advice=intake_selectors.request_region_advice(request=self.vpn_request),
            **kwargs,
        )


# --- Actions on a request ---------------------------------------------------------------


class RequestActionView(RoleRequiredMixin, SingleObjectMixin, View):
    """Base of the request page's buttons: POST only, on one request, then back to its page.

    Each subclass names its `action` of the roles matrix.
    """

    model = VpnRequest
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        """Run the action; report a refusal as a message, never as an error page."""
        self.object = self.get_object()
        try:
            self.act(self.object)
        except (intake.IntakeClosed, StageMoveError, IntakeInvalid) as exc:
            messages.error(request, refusal_message(exc))
        return redirect(_back_to(request) or self.object)

    def act(self, vpn_request: VpnRequest) -> None:
        """What the button does: each subclass says."""
        raise ImproperlyConfigured(f"{type(self).__name__} must define act().")


def _back_to(request: HttpRequest) -> str:
    """The page of this site the button asked to come back to (`next`), if any: the
    review queue's buttons come back to the queue."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else ""


def refusal_message(exc: Exception) -> str:
    """A refused action in words for the engineer."""
    return exc.for_engineer() if isinstance(exc, IntakeInvalid) else str(exc)


# --- Provisioning: retry, decommission --------------------------------------------------


class RequestRetryView(RequestActionView):
    """Resume a failed request at the step where it stopped."""

    action = "request_retry"

    def act(self, vpn_request):
        """Retry through the stage service; the step's job starts on commit."""
        request_retry(request_id=vpn_request.pk, actor=self.request.user)
        messages.success(self.request, f"{vpn_request.reference}: retrying the failed step.")


class RequestDecommissionView(RoleRequiredMixin, DetailView):
    """Ask why, and for confirmation; then delete every AWS resource of the request and
    tell the customer."""

    action = "request_decommission"
    template_name = "vpn/requests/request_decommission.html"
    context_object_name = "vpn_request"
    model = VpnRequest

    def get_context_data(self, **kwargs):
        """What will be deleted, and the reason form."""
        context = super().get_context_data(**kwargs)
        context["resources"] = sorted(
            self.object.resources.filter(deleted_at__isnull=True), key=lambda r: (-r.step, -r.pk)
        )
        context["allowed"] = self.object.stage in DECOMMISSIONABLE_STAGES
        context.setdefault("form", DecommissionForm())
        return context

    def post(self, request, *args, **kwargs):
        """Start decommissioning for the reason given (the teardown job and the
        customer's email go once the transaction commits); without one, ask again."""
        self.object = vpn_request = self.get_object()
        form = DecommissionForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        try:
            request_decommission_start(
                request_id=vpn_request.pk,
                reason=form.cleaned_data["reason"],
                message=form.cleaned_data["message"],
                actor=request.user,
            )
        except StageMoveError as exc:
            messages.error(request, str(exc))
        else:
            contact = vpn_request.customer.contact_email
            messages.success(
                request,
                f"{vpn_request.reference}: decommissioning started"
                + (f"; {contact} is emailed why." if contact else "."),
            )
        return redirect(vpn_request)
