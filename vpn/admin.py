"""Django admin for ops: every model, writing nothing the services do not.

- A request's intake is edited only before approval, judged by the intake rules and
  saved by `vpn.services.intake.request_update`, like the page's edit. Once approved,
  everything AWS or the config pack knows about is read-only.
- Records the services write (tunnels, status changes, AWS resources, transitions,
  links, packs, downloads, refreshes) can be read, never added, changed or deleted.
- Each action calls the service the page's button calls. Nothing is deleted here: a
  VPN is decommissioned.
- The RQ dashboard, which django-rq mounts in the admin, is for Ops and superusers.
"""

import re
from functools import wraps

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import construct_change_message
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

from vpn.admin_forms import AwsAccountAddForm, CustomerAdminForm, VpnRequestAdminForm
from vpn.choices import ENGINEER_EDITABLE_STAGES, STAGE_COLOURS, Stage
from vpn.forms import DecommissionForm
from vpn.models import (
    AwsAccount,
    AwsResource,
    ConfigPack,
    Customer,
    IntakeLink,
    KeyReveal,
    MaintenanceWindow,
    Notification,
    PackDownload,
    PendingMaintenance,
    RequestEvent,
    StageTransition,
    StatusRefresh,
    StepRetry,
    Tunnel,
    TunnelStatusChange,
    VpnChange,
    VpnChangeCall,
    VpnRequest,
)
from vpn.permissions import permission_for
from vpn.services.aws_accounts import aws_account_add, aws_account_enable
from vpn.services.intake import (
    IntakeClosed,
    customer_upsert,
    intake_link_revoke,
    request_approve,
    request_update,
)
from vpn.services.stages import (
    StageMoveError,
    request_decommission_start,
    request_move,
    request_retry,
)
from vpn.validation import IntakeInvalid

admin.site.site_header = "VPN onboarding administration"
admin.site.site_title = "VPN onboarding admin"
admin.site.index_title = "Administration"

# The permission each action needs, as on the request page.
APPROVE_PERMISSION = "vpn.approve_vpnrequest"
OPERATE_PERMISSION = "vpn.operate_vpnrequest"
LINK_REVOKE_PERMISSION = "vpn.change_vpnrequest"
ACCOUNT_ADD_PERMISSION = permission_for("awsaccount_add")
ACCOUNT_MANAGE_PERMISSION = permission_for("awsaccount_placement")

# Set on the HTTP request when the service refused a save the form had accepted (the
# request moved on in between), so that the admin reports it instead of a success.
_REFUSED = "_vpn_admin_refusal"


# --- Records written by the services ----------------------------------------------------


class RecordAdmin(admin.ModelAdmin):
    """A model whose rows only services write: listed and shown, never added, changed
    or deleted by hand (the change page has no Save button)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecordInline(admin.TabularInline):
    """An inline listing rows written by services."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TunnelInline(RecordInline):
    model = Tunnel
    fields = ("position", "outside_ip", "inside_cidr", "status", "last_status_change")
    readonly_fields = fields


class AwsResourceInline(RecordInline):
    model = AwsResource
    fields = ("role", "resource_id", "region", "state", "created_at", "deleted_at")
    readonly_fields = fields


class StageTransitionInline(RecordInline):
    model = StageTransition
    fields = ("created_at", "from_stage", "to_stage", "actor", "actor_label", "note")
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = False


# --- Actions on requests, through the services the page's buttons call ---------------


def _report(modeladmin, http_request, done: int, verb: str) -> None:
    if done:
        modeladmin.message_user(
            http_request, f"{done} request{'s' if done != 1 else ''} {verb}.", messages.SUCCESS
        )


def _refusal(exc: Exception) -> str:
    """A service's refusal in words for the engineer (the intake's errors field by field)."""
    return exc.for_engineer() if isinstance(exc, IntakeInvalid) else str(exc)


def _each(modeladmin, http_request, queryset, act, *, verb: str) -> None:
    """Run `act(request)` on each selected request, reporting every refusal."""
    done = 0
    for vpn_request in queryset.order_by("pk"):
        try:
            refusal = act(vpn_request)
        except IntakeInvalid as exc:
            refusal = f"{vpn_request.reference}: {_refusal(exc)}"
        except (IntakeClosed, StageMoveError) as exc:
            refusal = str(exc)
        if refusal:
            modeladmin.message_user(http_request, refusal, messages.ERROR)
        else:
            done += 1
    _report(modeladmin, http_request, done, verb)


@admin.action(description="Approve submitted requests", permissions=["approve"])
def move_to_approved(modeladmin, http_request, queryset):
    """Approve each submitted request whose intake still passes every rule
    (`request_approve`, as the review page's Approve button)."""

    def approve(vpn_request: VpnRequest) -> str:
        if vpn_request.stage != Stage.SUBMITTED:
            return (
                f"{vpn_request.reference} is “{vpn_request.get_stage_display()}”: only a "
                "submitted request can be approved."
            )
        request_approve(request_id=vpn_request.pk, actor=http_request.user)
        return ""

    _each(modeladmin, http_request, queryset, approve, verb="approved")


@admin.action(description="Cancel requests not yet provisioned", permissions=["operate"])
def move_to_cancelled(modeladmin, http_request, queryset):
    """Close requests that never reached AWS, through the stage service."""

    def cancel(vpn_request: VpnRequest) -> str:
        request_move(
            request_id=vpn_request.pk,
            to_stage=Stage.CANCELLED,
            from_stage=vpn_request.stage,
            actor=http_request.user,
            note="Cancelled from the admin",
        )
        return ""

    _each(modeladmin, http_request, queryset, cancel, verb="cancelled")


@admin.action(description="Retry failed requests from the failed step", permissions=["operate"])
def retry_failed(modeladmin, http_request, queryset):
    """Resume each failed request where it stopped (`request_retry`, as the page)."""

    def retry(vpn_request: VpnRequest) -> str:
        request_retry(request_id=vpn_request.pk, actor=http_request.user)
        return ""

    _each(modeladmin, http_request, queryset, retry, verb="retried")


@admin.action(description="Start decommissioning…", permissions=["operate"])
def move_to_decommissioning(modeladmin, http_request, queryset):
    """Delete each request's AWS resources and tell its customer why, as the page's
    Decommission button does (`request_decommission_start`): a page first asks for the
    reason, then the action runs with it."""
    form = DecommissionForm(http_request.POST if "apply" in http_request.POST else None)
    if not form.is_valid():
        return TemplateResponse(
            http_request,
            "admin/vpn/vpnrequest/decommission_reason.html",
            {
                **modeladmin.admin_site.each_context(http_request),
                "title": "Why are these VPNs decommissioned?",
                "opts": modeladmin.model._meta,
                "form": form,
                "requests": queryset.select_related("customer").order_by("pk"),
                "action": "move_to_decommissioning",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def decommission(vpn_request: VpnRequest) -> str:
        request_decommission_start(
            request_id=vpn_request.pk,
            reason=form.cleaned_data["reason"],
            message=form.cleaned_data["message"],
            actor=http_request.user,
        )
        return ""

    _each(modeladmin, http_request, queryset, decommission, verb="being decommissioned")
    return None


# --- Customers and requests --------------------------------------------------------------


class ServiceSavedAdmin(admin.ModelAdmin):
    """A model admin whose saves go through a service (`service_save`), never
    `Model.save`, and which deletes nothing."""

    def has_delete_permission(self, request, obj=None):
        return False  # a customer or a request is closed by decommissioning, not deleted

    def save_model(self, request, obj, form, change):
        """Save through the service; a refusal is reported, not raised."""
        try:
            saved = self.service_save(request, obj, form, change)
        except (IntakeClosed, IntakeInvalid, StageMoveError) as exc:
            setattr(request, _REFUSED, _refusal(exc))
            return
        # The admin goes on with `obj` (its messages and redirects): give it the saved row.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def service_save(self, request, obj, form, change):
        """Write the form's accepted values through a service; returns the saved row."""
        raise ImproperlyConfigured(f"{type(self).__name__} must define service_save().")

    def save_related(self, request, form, formsets, change):
        """Nothing related is saved here: the inlines list service records."""

    def construct_change_message(self, request, form, formsets, add=False):
        """The history names the fields changed (the inlines are never saved)."""
        return construct_change_message(form, [], add)

    def log_change(self, request, obj, message):
        """Record the change in the admin's history, unless the service refused it."""
        if not hasattr(request, _REFUSED):
            super().log_change(request, obj, message)

    def response_change(self, request, obj):
        """Back to the form with the service's refusal, or on as usual."""
        refusal = getattr(request, _REFUSED, None)
        if refusal is None:
            return super().response_change(request, obj)
        self.message_user(request, f"Nothing was saved: {refusal}", messages.ERROR)
        return HttpResponseRedirect(request.path)


@admin.register(Customer)
class CustomerAdmin(ServiceSavedAdmin):
    """Customers: their name and contact (not AWS data) may be edited, judged like the
    intake; they are saved by `customer_upsert`, the intake's customer writer."""

    form = CustomerAdminForm
    list_display = ("name", "org_id", "contact_name", "contact_email", "created_at")
    search_fields = ("name", "org_id", "contact_name", "contact_email")
    fields = ("name", "org_id", "contact_name", "contact_email", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        """The org ID is the customer's identity: given once, when added."""
        readonly = ("created_at", "updated_at")
        return readonly if obj is None else ("org_id", *readonly)

    def service_save(self, request, obj, form, change):
        """Save through `customer_upsert`, keyed by the org ID."""
        values = form.intake.values
        return customer_upsert(
            org_id=values["org_id"],
            name=values["customer_name"],
            contact_name=values["contact_name"],
            contact_email=values["contact_email"],
        )


_REQUEST_DATES = ("created_at", "updated_at", "submitted_at", "customer_confirmed_at")
_ALLOCATED = ("vpc_cidr", "amazon_side_asn")


@admin.register(VpnRequest)
class VpnRequestAdmin(ServiceSavedAdmin):
    """VPN requests. Before approval the intake may be edited (judged by the intake
    rules, saved by `request_update`); after it, the request is read-only here and
    changes only through its actions."""

    form = VpnRequestAdminForm
    list_display = ("reference", "customer_name", "region_code", "stage_badge", "owner", "updated")
    list_display_links = ("reference",)
    list_filter = (
        "stage",
        ("region", admin.AllValuesFieldListFilter),
        "routing",
        "tunnel_count",
        "nat_wanted",
    )
    search_fields = ("customer__name", "customer__org_id", "customer_gateway_ip", "region")
    list_select_related = ("customer", "owner")
    date_hierarchy = "created_at"
    inlines = (TunnelInline, AwsResourceInline, StageTransitionInline)
    actions = (move_to_approved, move_to_cancelled, retry_failed, move_to_decommissioning)

    def has_add_permission(self, request):
        """New requests start on the portal's own form (or a customer invitation)."""
        return False

    def get_inline_instances(self, request, obj=None):
        """Only the records the request has (an empty table says nothing)."""
        return [
            inline
            for inline in super().get_inline_instances(request, obj)
            if obj is not None and inline.get_queryset(request).filter(request=obj).exists()
        ]

    def has_change_permission(self, request, obj=None):
        """The intake can be edited until the request is approved."""
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.stage in ENGINEER_EDITABLE_STAGES)

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm(OPERATE_PERMISSION)

    def get_fieldsets(self, request, obj=None):
        """The request by topic; CIDR lists shown one per line when read-only."""
        editable = obj is not None and self.has_change_permission(request, obj)
        subnets = ("static_subnets", "advertised_prefixes") if editable else ("subnets", "prefixes")
        failure = ("stage_failure",) if obj is not None and obj.stage == Stage.FAILED else ()
        return (
            (None, {"fields": ("customer", "owner", "stage_badge", *failure)}),
            ("Location", {"fields": ("region", "location_city", "location_country")}),
            ("Customer gateway", {"fields": ("customer_gateway_ip", "device_vendor")}),
            ("Routing", {"fields": ("routing", "bgp_asn", subnets[1], subnets[0])}),
            ("Tunnels", {"fields": ("ike_version", "tunnel_count", "nat_wanted")}),
            ("Allocated by provisioning", {"fields": _ALLOCATED}),
            ("Dates", {"fields": _REQUEST_DATES, "classes": ("collapse",)}),
        )

    def get_readonly_fields(self, request, obj=None):
        """Who the request is for, its stage and what provisioning chose are never
        edited here; the intake is read-only unless the request may still change."""
        readonly = (
            "customer",
            "owner",
            "stage_badge",
            "stage_failure",
            *_ALLOCATED,
            *_REQUEST_DATES,
        )
        if obj is not None and self.has_change_permission(request, obj):
            return readonly
        return (*readonly, *VpnRequestAdminForm.Meta.fields, "subnets", "prefixes")

    def service_save(self, request, obj, form, change):
        """Save through `request_update`, exactly as the page's edit saves."""
        return request_update(request_id=obj.pk, values=form.intake.values, actor=request.user)

    @admin.display(description="Reference", ordering="pk")
    def reference(self, obj: VpnRequest) -> str:
        return obj.reference

    @admin.display(description="Customer", ordering="customer__name")
    def customer_name(self, obj: VpnRequest) -> str:
        return format_html('<span title="{}">{}</span>', obj.customer.org_id, obj.customer.name)

    @admin.display(description="Region", ordering="region")
    def region_code(self, obj: VpnRequest) -> str:
        if not obj.region:
            return "not chosen yet"  # e.g. an invitation the customer has not answered yet
        return format_html('<span title="{}">{}</span>', obj.get_region_display(), obj.region)

    @admin.display(description="Stage", ordering="stage")
    def stage_badge(self, obj: VpnRequest) -> str:
        return format_html(
            '<span class="stage-badge {}">{}</span>',
            STAGE_COLOURS[obj.stage],
            obj.get_stage_display(),
        )

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, obj: VpnRequest) -> str:
        """A compact date (the year only when it is not this one), in full on hover."""
        when = timezone.localtime(obj.updated_at)
        shape = "j M H:i" if when.year == timezone.localtime().year else "j M Y"
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            when.isoformat(),
            dateformat.format(when, "j F Y, H:i:s"),
            dateformat.format(when, shape),
        )

    @admin.display(description="Failure")
    def stage_failure(self, obj: VpnRequest) -> str:
        if obj.stage != Stage.FAILED:
            return "—"
        return (
            f"{Stage(obj.failed_stage).label}: {obj.failure_message}"
            if obj.failed_stage
            else obj.failure_message
        )

    @admin.display(description="Static subnets")
    def subnets(self, obj: VpnRequest) -> str:
        return _lines(obj.static_subnets)

    @admin.display(description="Advertised prefixes")
    def prefixes(self, obj: VpnRequest) -> str:
        return _lines(obj.advertised_prefixes)

    def changelist_view(self, request, extra_context=None):
        """Point to the portal's form for new requests (the admin adds none)."""
        extra_context = {"new_request_url": reverse("vpn:request_create"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra_context)


def _lines(cidrs: list[str]) -> str:
    """A list of CIDRs, one per line."""
    if not cidrs:
        return "—"
    return format_html_join(
        mark_safe("<br>"), '<span class="mono">{}</span>', ((c,) for c in cidrs)
    )


# --- Records -----------------------------------------------------------------------------


@admin.register(Tunnel)
class TunnelAdmin(RecordAdmin):
    list_display = ("__str__", "request", "position", "inside_cidr", "status", "last_status_change")
    list_filter = ("status",)
    search_fields = ("outside_ip", "request__customer__name", "request__customer__org_id")
    list_select_related = ("request__customer",)
    # The PSK is never shown here: it is revealed only through the audited reveal.
    fields = (
        "request",
        "position",
        "outside_ip",
        "inside_cidr",
        "status",
        "status_message",
        "last_status_change",
        "accepted_route_count",
        "negotiated",
        "negotiated_at",
        "diagnosis",
        "diagnosed_at",
        "maintenance_checked_at",
        "maintenance_last_applied",
        "created_at",
        "updated_at",
    )


@admin.register(PendingMaintenance)
class PendingMaintenanceAdmin(RecordAdmin):
    """AWS's endpoint maintenance as the maintenance read found it, open or cleared."""

    list_display = ("tunnel", "description", "auto_applied_after", "first_seen_at", "cleared_at")
    search_fields = ("tunnel__outside_ip", "tunnel__request__customer__name", "description")
    list_select_related = ("tunnel__request__customer",)
    date_hierarchy = "first_seen_at"


@admin.register(AwsAccount)
class AwsAccountAdmin(RecordAdmin):
    """The AWS accounts placement may use. Ops add one (the form is judged by the accounts
    service's check, and the service records it) and turn placement in it off or on with
    the actions, as `manage.py vpn_accounts` does; a recorded account is never edited by
    hand (its requests live in it)."""

    list_display = ("name", "account_id", "role_arn", "regions", "quota_overrides", "enabled")
    list_filter = ("enabled",)
    search_fields = ("name", "account_id")
    exclude = ("external_id",)
    actions = ("disable_placement", "enable_placement")

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm(ACCOUNT_ADD_PERMISSION)

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm(ACCOUNT_MANAGE_PERMISSION)

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The add form; a recorded account is shown read only."""
        if obj is None:
            kwargs["form"] = AwsAccountAddForm
            kwargs["fields"] = None  # the form's own fields, quotas included
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": list(AwsAccountAddForm(None).fields)})]
        return super().get_fieldsets(request, obj)

    def get_exclude(self, request, obj=None):
        return () if obj is None else self.exclude

    def save_model(self, request, obj, form, change):
        """Record the account through the accounts service (`aws_account_add`)."""
        account = aws_account_add(**form.account_fields())
        obj.pk = account.pk

    @admin.action(description="Stop placement in the selected accounts", permissions=["manage"])
    def disable_placement(self, request, queryset):
        """New requests no longer go there; its requests stay (`aws_account_enable`)."""
        self._placement(request, queryset, enabled=False)

    @admin.action(description="Let placement use the selected accounts", permissions=["manage"])
    def enable_placement(self, request, queryset):
        """Placement may choose the accounts again (`aws_account_enable`)."""
        self._placement(request, queryset, enabled=True)

    def _placement(self, request, queryset, *, enabled: bool) -> None:
        accounts = [
            aws_account_enable(account_id=account.account_id, enabled=enabled)
            for account in queryset
        ]
        verb = "may use" if enabled else "no longer uses"
        names = ", ".join(str(account) for account in accounts)
        self.message_user(request, f"Placement {verb} {names}.", messages.SUCCESS)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(RecordAdmin):
    """The customers' maintenance windows, as they chose them on their link."""

    list_display = ("request", "weekday", "start_hour", "end_hour", "time_zone", "chosen_by")
    list_filter = ("weekday", "time_zone")
    search_fields = ("request__customer__name", "time_zone")
    list_select_related = ("request__customer",)


@admin.register(TunnelStatusChange)
class TunnelStatusChangeAdmin(RecordAdmin):
    list_display = ("tunnel", "old_status", "new_status", "changed_at", "notified_at", "alerted")
    list_filter = ("new_status", "alerted")
    search_fields = ("tunnel__outside_ip", "tunnel__request__customer__name")
    list_select_related = ("tunnel__request__customer",)


@admin.register(StatusRefresh)
class StatusRefreshAdmin(RecordAdmin):
    """The runs of the tunnel status refresh."""

    list_display = (
        "started_at",
        "trigger",
        "aws_calls",
        "requests_seen",
        "tunnels_changed",
        "requests_moved",
        "alerts_sent",
        "failed_regions",
    )
    list_filter = ("trigger",)
    date_hierarchy = "started_at"

    @admin.display(description="Failed regions")
    def failed_regions(self, obj: StatusRefresh) -> str:
        """The regions AWS could not be read in, if any."""
        return ", ".join(sorted(obj.errors)) or "—"


@admin.register(AwsResource)
class AwsResourceAdmin(RecordAdmin):
    list_display = ("resource_id", "role", "request", "region", "state", "created_at", "deleted_at")
    list_filter = ("role", "region", "state")
    search_fields = ("resource_id", "request__customer__name")
    list_select_related = ("request__customer",)


@admin.register(StageTransition)
class StageTransitionAdmin(RecordAdmin):
    list_display = ("request", "from_stage", "to_stage", "actor_display", "created_at")
    list_filter = ("to_stage", "from_stage")
    search_fields = ("request__customer__name", "note")
    list_select_related = ("request__customer", "actor")


@admin.register(RequestEvent)
class RequestEventAdmin(RecordAdmin):
    """Links resent or extended, and the customer's changes to submitted answers."""

    list_display = ("request", "kind", "actor_display", "created_at")
    list_filter = ("kind",)
    search_fields = ("request__customer__name", "note")
    list_select_related = ("request__customer", "actor")


@admin.register(IntakeLink)
class IntakeLinkAdmin(RecordAdmin):
    """Customer links (only the token's hash exists), revoked through the intake service."""

    list_display = ("request", "created_by", "created_at", "expires_at", "revoked_at", "status")
    list_filter = ("revoked_at",)
    search_fields = ("request__customer__name", "request__customer__org_id")
    list_select_related = ("request__customer", "created_by")
    actions = ("revoke",)

    @admin.action(description="Revoke the selected links", permissions=["revoke"])
    def revoke(self, request, queryset):
        """Stop the links from working (`intake_link_revoke`, as the page)."""
        for link in queryset:
            intake_link_revoke(link_id=link.pk, actor=request.user)
        self.message_user(request, f"{queryset.count()} link(s) revoked.", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm(LINK_REVOKE_PERMISSION)


@admin.register(ConfigPack)
class ConfigPackAdmin(RecordAdmin):
    list_display = ("request", "version", "created_at", "hash_prefix", "reason")
    list_select_related = ("request__customer",)
    search_fields = ("request__customer__name", "parameters_hash")
    # No file links: packs are served only through the audited download views.
    fields = (
        "request",
        "version",
        "created_at",
        "parameters_hash",
        "changes",
        "reason",
        "parameters",
    )


@admin.register(PackDownload)
class PackDownloadAdmin(RecordAdmin):
    list_display = ("pack", "variant", "downloaded_by_display", "client_ip", "downloaded_at")
    list_filter = ("variant",)
    list_select_related = ("pack__request__customer", "user")


@admin.register(KeyReveal)
class KeyRevealAdmin(RecordAdmin):
    """Every reading of pre-shared keys by staff: who, when, why, which version."""

    list_display = ("revealed_at", "pack", "variant", "user", "client_ip", "reason")
    list_filter = ("variant",)
    search_fields = ("reason", "user__username", "pack__request__customer__name")
    list_select_related = ("pack__request__customer", "user")
    date_hierarchy = "revealed_at"


class VpnChangeCallInline(RecordInline):
    model = VpnChangeCall
    fields = ("called_at", "operation", "tunnel", "ok", "outcome")
    readonly_fields = fields


@admin.register(VpnChange)
class VpnChangeAdmin(RecordAdmin):
    """Changes to live VPNs with each AWS call they made: a record, written by the change
    service and applied from the request page or `vpn_change`, never edited here."""

    list_display = ("__str__", "request", "summary", "state", "created_at", "finished_at")
    list_filter = ("kind", "state")
    search_fields = ("summary", "reason", "request__customer__name", "message")
    list_select_related = ("request__customer",)
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "request",
        "kind",
        "summary",
        "reason",
        "before",
        "after",
        "state",
        "message",
        "proposed_by",
        "proposed_label",
        "applied_by",
        "applied_label",
        "impact",
        "impact_confirmed",
        "plan",
        "step",
        "phase",
        "tunnel",
        "never_up",
        "confirmed_tunnels",
        "checks",
        "pack_versions",
        "created_at",
        "applied_at",
        "finished_at",
    )
    inlines = (VpnChangeCallInline,)


@admin.register(VpnChangeCall)
class VpnChangeCallAdmin(RecordAdmin):
    """Each AWS call a change made, and what AWS answered (keys never recorded)."""

    list_display = ("called_at", "change", "operation", "tunnel", "ok", "outcome")
    list_filter = ("operation", "ok")
    search_fields = ("operation", "outcome", "change__request__customer__name")
    list_select_related = ("change__request",)
    date_hierarchy = "called_at"


@admin.register(StepRetry)
class StepRetryAdmin(RecordAdmin):
    """The transient AWS errors after which RQ ran a step again, as the timeline shows them."""

    list_display = ("failed_at", "request", "stage", "attempt", "attempts", "retry_at", "error")
    list_filter = ("stage",)
    search_fields = ("error", "request__customer__name", "job_id")
    list_select_related = ("request__customer",)
    date_hierarchy = "failed_at"


@admin.register(Notification)
class NotificationAdmin(RecordAdmin):
    """The email outbox: what was sent, what waits for a retry, what was given up. A
    record written and sent by the services, never edited by hand."""

    list_display = ("created_at", "recipient", "subject", "state", "attempts", "sent_at")
    list_filter = ("state",)
    search_fields = ("recipient", "subject", "key")
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "key",
        "recipient",
        "subject",
        "body",
        "state",
        "attempts",
        "last_error",
        "created_at",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
    )


# --- The RQ dashboard ----------------------------------------------------------------


def rq_dashboard_allowed(user) -> bool:
    """Whether a user may use the RQ dashboard: Ops (who operate requests) and superusers.

    The dashboard can empty queues and requeue or delete jobs, so solutions engineers,
    though staff, do not get it.
    """
    return bool(user.is_active and user.is_staff and user.has_perm(OPERATE_PERMISSION))


# django-rq's templates carry a few inline attributes: onclick handlers on a job's result
# rows, a style on the confirmation page's buttons. The Content-Security-Policy refuses
# them (the browser reports each one), and static files do their work instead
# (js/admin-rq-rows.js, css/admin-rq.css), so they are taken out of the dashboard's pages.
# Text on those pages is escaped by the templates, so an attribute's `="` can only be
# markup.
_INLINE_ATTRIBUTE = re.compile(rb'\s(?:on[a-z]+|style)="[^"]*"')


def _without_inline_attributes(response):
    """The dashboard's HTML page without its inline handlers and styles."""
    if not response.streaming and response.get("Content-Type", "").startswith("text/html"):
        response.content = _INLINE_ATTRIBUTE.sub(b"", response.content)
    return response


def _rq_guarded(view):
    """Refuse the dashboard's view to staff who may not use it (403). Anyone else goes
    on to django-rq's own checks: the admin login, or the API's bearer token. Pages go
    out without inline attributes (above)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.is_staff and not rq_dashboard_allowed(user):
            raise PermissionDenied
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        return _without_inline_attributes(response)

    return guarded


class RqDashboardAdmin(QueueAdmin):
    """django-rq's dashboard in the admin, for Ops and superusers only: its link on the
    admin index shows only to them, and every one of its views refuses anyone else."""

    def has_module_permission(self, request) -> bool:
        return rq_dashboard_allowed(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return rq_dashboard_allowed(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return rq_dashboard_allowed(request.user)

    def get_urls(self):
        """django-rq's URLs, each one guarded."""
        return [
            URLPattern(url.pattern, _rq_guarded(url.callback), url.default_args, url.name)
            for url in super().get_urls()
        ]


# django-rq's app names itself only by its label, which the admin would show as "DJANGO_RQ".
apps.get_app_config("django_rq").verbose_name = "Background jobs"
if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
admin.site.register(Dashboard, RqDashboardAdmin)
