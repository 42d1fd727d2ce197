"""Django admin for ops: every model, with the stage read-only and changed only by
actions that go through the stage service."""

from django.contrib import admin, messages

from vpn.choices import Stage
from vpn.models import (
    AwsResource,
    ConfigPack,
    Customer,
    IntakeLink,
    Notification,
    PackDownload,
    StageTransition,
    StatusRefresh,
    Tunnel,
    TunnelStatusChange,
    VpnRequest,
)
from vpn.services.intake import intake_link_revoke
from vpn.services.stages import StageMoveError, request_move, request_retry


class ReadOnlyInline(admin.TabularInline):
    """An inline that lists rows written by services, never edited by hand."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TunnelInline(ReadOnlyInline):
    model = Tunnel
    fields = ("position", "outside_ip", "inside_cidr", "status", "last_status_change")
    readonly_fields = fields


class AwsResourceInline(ReadOnlyInline):
    model = AwsResource
    fields = ("role", "resource_id", "region", "state", "created_at", "deleted_at")
    readonly_fields = fields


class StageTransitionInline(ReadOnlyInline):
    model = StageTransition
    fields = ("created_at", "from_stage", "to_stage", "actor", "actor_label", "note")
    readonly_fields = fields
    ordering = ("-created_at",)
    show_change_link = False


def _apply(modeladmin, http_request, queryset, move) -> None:
    """Run `move(request)` for each selected request and report each outcome."""
    moved = 0
    for vpn_request in queryset.order_by("pk"):
        try:
            move(vpn_request)
        except StageMoveError as exc:
            modeladmin.message_user(http_request, str(exc), messages.ERROR)
        else:
            moved += 1
    if moved:
        modeladmin.message_user(
            http_request, f"{moved} request{'s' if moved != 1 else ''} moved.", messages.SUCCESS
        )


def _move_action(to_stage: Stage, description: str, permission: str):
    def action(modeladmin, http_request, queryset):
        _apply(
            modeladmin,
            http_request,
            queryset,
            lambda vpn_request: request_move(
                request_id=vpn_request.pk,
                to_stage=to_stage,
                actor=http_request.user,
                note=f"Admin action: {description}",
            ),
        )

    action.__name__ = f"move_to_{to_stage.value}"
    return admin.action(description=description, permissions=[permission])(action)


@admin.action(description="Retry failed requests from the failed step", permissions=["operate"])
def retry_failed(modeladmin, http_request, queryset):
    """Resume each failed request where it stopped."""
    _apply(
        modeladmin,
        http_request,
        queryset,
        lambda vpn_request: request_retry(request_id=vpn_request.pk, actor=http_request.user),
    )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "org_id", "contact_name", "contact_email", "created_at")
    search_fields = ("name", "org_id", "contact_name", "contact_email")
    readonly_fields = ("created_at", "updated_at")


@admin.register(VpnRequest)
class VpnRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "customer", "region", "stage", "routing", "owner", "updated_at")
    list_filter = ("stage", "region", "routing", "ike_version", "nat_wanted", "tunnel_count")
    search_fields = ("customer__name", "customer__org_id", "customer_gateway_ip")
    list_select_related = ("customer", "owner")
    autocomplete_fields = ("customer",)
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "stage",
        "failed_stage",
        "failure_message",
        "vpc_cidr",
        "amazon_side_asn",
        "created_at",
        "updated_at",
        "submitted_at",
        "customer_confirmed_at",
    )
    inlines = (TunnelInline, AwsResourceInline, StageTransitionInline)
    actions = (
        _move_action(Stage.APPROVED, "Approve submitted requests", "approve"),
        _move_action(Stage.CANCELLED, "Cancel requests not yet provisioned", "operate"),
        retry_failed,
        _move_action(Stage.DECOMMISSIONING, "Start decommissioning", "operate"),
    )

    @admin.display(description="Reference", ordering="pk")
    def reference(self, obj: VpnRequest) -> str:
        return obj.reference

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("vpn.approve_vpnrequest")

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("vpn.operate_vpnrequest")


@admin.register(Tunnel)
class TunnelAdmin(admin.ModelAdmin):
    list_display = ("__str__", "request", "position", "inside_cidr", "status", "last_status_change")
    list_filter = ("status",)
    search_fields = ("outside_ip", "request__customer__name", "request__customer__org_id")
    list_select_related = ("request__customer",)
    # The PSK is never shown here: it is revealed only through the audited reveal.
    exclude = ("psk",)
    readonly_fields = (
        "request",
        "position",
        "outside_ip",
        "inside_cidr",
        "status",
        "status_message",
        "last_status_change",
        "accepted_route_count",
        "updated_at",
    )


@admin.register(TunnelStatusChange)
class TunnelStatusChangeAdmin(admin.ModelAdmin):
    list_display = ("tunnel", "old_status", "new_status", "changed_at", "notified_at", "alerted")
    list_filter = ("new_status", "alerted")
    search_fields = ("tunnel__outside_ip", "tunnel__request__customer__name")
    list_select_related = ("tunnel__request__customer",)
    readonly_fields = (
        "tunnel",
        "old_status",
        "new_status",
        "message",
        "changed_at",
        "notified_at",
        "alerted",
    )


@admin.register(StatusRefresh)
class StatusRefreshAdmin(admin.ModelAdmin):
    """The runs of the tunnel status refresh: a record, not something to edit."""

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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Failed regions")
    def failed_regions(self, obj: StatusRefresh) -> str:
        """The regions AWS could not be read in, if any."""
        return ", ".join(sorted(obj.errors)) or "—"


@admin.register(AwsResource)
class AwsResourceAdmin(admin.ModelAdmin):
    list_display = ("resource_id", "role", "request", "region", "state", "created_at", "deleted_at")
    list_filter = ("role", "region", "state")
    search_fields = ("resource_id", "request__customer__name")
    list_select_related = ("request__customer",)
    readonly_fields = ("request", "role", "resource_id", "region", "created_at", "updated_at")


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    list_display = ("request", "from_stage", "to_stage", "actor_display", "created_at")
    list_filter = ("to_stage", "from_stage")
    search_fields = ("request__customer__name", "note")
    list_select_related = ("request__customer", "actor")
    readonly_fields = (
        "request",
        "from_stage",
        "to_stage",
        "actor",
        "actor_label",
        "note",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntakeLink)
class IntakeLinkAdmin(admin.ModelAdmin):
    """Customer links: read-only (only the token's hash exists); revoked by an action
    that goes through the intake service."""

    list_display = ("request", "created_by", "created_at", "expires_at", "revoked_at", "status")
    list_filter = ("revoked_at",)
    search_fields = ("request__customer__name", "request__customer__org_id")
    list_select_related = ("request__customer", "created_by")
    readonly_fields = (
        "request",
        "token_hash",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    actions = ["revoke"]

    @admin.action(description="Revoke the selected links", permissions=["change"])
    def revoke(self, request, queryset):
        """Stop the links from working."""
        for link in queryset:
            intake_link_revoke(link_id=link.pk, actor=request.user)
        self.message_user(request, f"{queryset.count()} link(s) revoked.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False  # links are made by the intake service, which knows the token

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConfigPack)
class ConfigPackAdmin(admin.ModelAdmin):
    list_display = ("request", "version", "created_at", "hash_prefix", "reason")
    list_select_related = ("request__customer",)
    search_fields = ("request__customer__name", "parameters_hash")
    # No file links: packs are served only through the audited download views.
    fields = readonly_fields = (
        "request",
        "version",
        "created_at",
        "parameters_hash",
        "changes",
        "reason",
        "parameters",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PackDownload)
class PackDownloadAdmin(admin.ModelAdmin):
    list_display = ("pack", "variant", "downloaded_by_display", "client_ip", "downloaded_at")
    list_filter = ("variant",)
    list_select_related = ("pack__request__customer", "user")
    readonly_fields = ("pack", "variant", "user", "token_label", "client_ip", "downloaded_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
