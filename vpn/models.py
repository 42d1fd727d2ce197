"""Models of the VPN app: customers, their VPN requests, the tunnels and AWS resources
that provisioning creates, the audit trail of stage transitions and tunnel flips, the
retries of setup steps, AWS's endpoint maintenance and the customer's window for it, the
outbox of emails, and the changes made to live VPNs.

The stage of a request is written only by `vpn.services.stages.request_move`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from vpn.choices import (
    CHANGE_STATE_COLOURS,
    RISK_COLOURS,
    ROLE_STEPS,
    STAGE_COLOURS,
    STEP_STAGES,
    TUNNEL_STATUS_COLOURS,
    AwsResourceRole,
    ChangeKind,
    ChangeState,
    DecommissionReason,
    DeviceVendor,
    IkeVersion,
    RedundancyRisk,
    RequestEventKind,
    RequestOrigin,
    Routing,
    Stage,
    TunnelStatus,
)
from vpn.fields import EncryptedTextField
from vpn.regions import REGION_CHOICES

ASN_MAX = 4_294_967_295


class Customer(models.Model):
    """A customer of the platform, identified by its platform organisation ID."""

    name = models.CharField(max_length=200)
    org_id = models.CharField(
        "platform org ID", max_length=64, unique=True, help_text="The customer's org ID."
    )
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.org_id})"


class AwsAccount(models.Model):
    """An AWS account the portal may build VPNs in, reached by assuming a role.

    The account given by settings (its keys) is the default and has no row: a request
    whose `account` is empty lives there. Quota overrides, when set, replace what Service
    Quotas answers (for an account whose quotas cannot be read, or to keep headroom).
    """

    account_id = models.CharField("AWS account id", max_length=12, unique=True)
    name = models.CharField(max_length=100, unique=True)
    role_arn = models.CharField("role ARN", max_length=2048)
    external_id = models.CharField("external id", max_length=1224)
    regions = models.JSONField(default=list, help_text="The regions it may use.")
    # {"vpn_gateways": 10, ...}: a quota name of `vpn.services.placement.QUOTAS` -> limit.
    quota_overrides = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True, help_text="Placement picks enabled ones only.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class VpnRequest(models.Model):
    """One customer's request for a site-to-site VPN, from intake to decommissioning.

    Intake fields may be empty while the request is a draft; the intake form enforces
    AWS's rules before a request can be submitted.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="requests")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vpn_requests",
        help_text="The solutions engineer responsible for this request.",
    )
    stage = models.CharField(max_length=32, choices=Stage.choices, default=Stage.DRAFT)
    # Where a failed request stopped, so that a retry resumes there.
    failed_stage = models.CharField(max_length=32, choices=Stage.choices, blank=True)
    failure_message = models.TextField(blank=True)

    # Intake.
    region = models.CharField("AWS region", max_length=32, choices=REGION_CHOICES, blank=True)
    # Where its resources live, chosen at approval; empty: the default account of settings.
    account = models.ForeignKey(
        AwsAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    location_city = models.CharField(max_length=100, blank=True)
    location_country = models.CharField(max_length=100, blank=True)
    customer_gateway_ip = models.GenericIPAddressField(
        "customer gateway IP", protocol="IPv4", null=True, blank=True
    )
    # Empty while nobody has chosen (an invitation's draft): the pages say "not chosen yet".
    routing = models.CharField(
        max_length=8, choices=Routing.choices, default=Routing.BGP, blank=True
    )
    static_subnets = models.JSONField(default=list, blank=True)
    bgp_asn = models.BigIntegerField("customer BGP ASN", null=True, blank=True)
    advertised_prefixes = models.JSONField(default=list, blank=True)
    ike_version = models.CharField(
        "IKE version", max_length=8, choices=IkeVersion.choices, default=IkeVersion.IKEV2
    )
    # The tunnel options changed since provisioning, over the IKE version's profile
    # (`vpn.tunnel_profile`): what both tunnels use once a tunnel options change is done.
    tunnel_options = models.JSONField(default=dict, blank=True)
    tunnel_count = models.PositiveSmallIntegerField(default=2)
    nat_wanted = models.BooleanField("NAT gateway wanted", default=False)
    device_vendor = models.CharField(
        max_length=32, choices=DeviceVendor.choices, default=DeviceVendor.GENERIC
    )

    # How the request began (empty for requests older than the record of it).
    origin = models.CharField(max_length=16, choices=RequestOrigin.choices, blank=True)
    # Why it was decommissioned, and what the engineer told the customer about it.
    decommission_reason = models.CharField(
        max_length=32, choices=DecommissionReason.choices, blank=True
    )
    decommission_message = models.TextField("message to the customer", blank=True)

    # What provisioning allocated.
    vpc_cidr = models.CharField("VPC CIDR", max_length=18, blank=True)
    amazon_side_asn = models.BigIntegerField("Amazon-side ASN", null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    customer_confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "VPN request"
        permissions = [
            ("approve_vpnrequest", "Can approve VPN requests"),
            ("operate_vpnrequest", "Can retry, decommission and change the stage of requests"),
            ("reveal_psk", "Can reveal pre-shared keys"),
        ]
        indexes = [
            models.Index(fields=["stage", "-updated_at"], name="vpnrequest_stage_updated"),
            models.Index(fields=["-updated_at"], name="vpnrequest_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="vpnrequest_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(routing__in=[*Routing.values, ""]), name="vpnrequest_routing_valid"
            ),
            models.CheckConstraint(
                condition=Q(decommission_reason__in=[*DecommissionReason.values, ""]),
                name="vpnrequest_decommission_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(ike_version__in=IkeVersion.values), name="vpnrequest_ike_valid"
            ),
            models.CheckConstraint(
                condition=Q(tunnel_count__in=(1, 2)), name="vpnrequest_tunnel_count_1_or_2"
            ),
            models.CheckConstraint(
                condition=Q(bgp_asn__isnull=True) | Q(bgp_asn__gte=1, bgp_asn__lte=ASN_MAX),
                name="vpnrequest_bgp_asn_range",
            ),
            models.CheckConstraint(
                condition=Q(amazon_side_asn__isnull=True)
                | Q(amazon_side_asn__gte=64512, amazon_side_asn__lte=65534)
                | Q(amazon_side_asn__gte=4_200_000_000, amazon_side_asn__lte=4_294_967_294),
                name="vpnrequest_amazon_asn_range",
            ),
            models.CheckConstraint(
                condition=Q(failed_stage="") | Q(stage=Stage.FAILED),
                name="vpnrequest_failed_stage_only_when_failed",
            ),
            # Live requests never share a VPC block (decommissioned ones free theirs).
            models.UniqueConstraint(
                fields=["vpc_cidr"],
                condition=~Q(vpc_cidr="") & ~Q(stage__in=(Stage.DECOMMISSIONED, Stage.CANCELLED)),
                name="vpnrequest_vpc_cidr_unique_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.customer.name}"

    def get_absolute_url(self) -> str:
        """The staff detail page."""
        return reverse("vpn:request_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """The short reference engineers and customers quote."""
        return f"VPN-{self.pk:05d}" if self.pk else "VPN-new"

    @property
    def stage_colour(self) -> str:
        """The badge colour of the current stage."""
        return STAGE_COLOURS[self.stage]

    # `redundancy_risk` itself is annotated by `vpn.selectors.with_redundancy_risk`.
    @property
    def redundancy_risk_label(self) -> str:
        """The redundancy risk in words ("" where it does not apply)."""
        risk = getattr(self, "redundancy_risk", "")
        return RedundancyRisk(risk).label if risk else ""

    @property
    def redundancy_risk_colour(self) -> str:
        """The badge colour of the redundancy risk."""
        return RISK_COLOURS.get(getattr(self, "redundancy_risk", ""), "grey")


class Tunnel(models.Model):
    """One of the two IPsec tunnels of a request's VPN connection.

    AWS can list tunnels in either order, so a tunnel is identified by its AWS outside
    IP; `position` is the order in which it was configured (1 or 2). In a one-tunnel
    setup, tunnel 2 exists in AWS but is not monitored.
    """

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="tunnels")
    position = models.PositiveSmallIntegerField()
    outside_ip = models.GenericIPAddressField("AWS outside IP", protocol="IPv4")
    inside_cidr = models.CharField("inside CIDR", max_length=18)
    psk = EncryptedTextField("pre-shared key", null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=TunnelStatus.choices, default=TunnelStatus.UNKNOWN
    )
    status_message = models.CharField(max_length=500, blank=True)
    last_status_change = models.DateTimeField(null=True, blank=True)
    accepted_route_count = models.PositiveIntegerField(default=0)
    # What the tunnel negotiated when last read up (`GetActiveVpnTunnelStatus`, by the
    # keys of `vpn.tunnel_profile.TunnelProfile.negotiable`), and when that was read.
    negotiated = models.JSONField(default=dict, blank=True)
    negotiated_at = models.DateTimeField(null=True, blank=True)
    # Why a tunnel that is down, flapping or without routes is so, in the words of
    # `vpn.diagnosis` (empty while it is healthy), and when that was read from its logs.
    diagnosis = models.JSONField(default=dict, blank=True)
    diagnosed_at = models.DateTimeField(null=True, blank=True)
    # When AWS's endpoint maintenance status was last read, and when AWS last replaced
    # the tunnel's endpoint.
    maintenance_checked_at = models.DateTimeField(null=True, blank=True)
    maintenance_last_applied = models.DateTimeField(null=True, blank=True)
    # Where uptime figures start: before it existed, a tunnel was neither up nor down.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # By the request's id, not "request": that would follow the request's own
        # ordering, through a join, on every read of one request's rows.
        ordering = ["-request_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "outside_ip"], name="tunnel_unique_outside_ip"
            ),
            models.UniqueConstraint(fields=["request", "position"], name="tunnel_unique_position"),
            models.CheckConstraint(condition=Q(position__in=(1, 2)), name="tunnel_position_1_or_2"),
            models.CheckConstraint(
                condition=Q(status__in=TunnelStatus.values), name="tunnel_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Tunnel {self.position} ({self.outside_ip})"

    @property
    def monitored(self) -> bool:
        """Whether this tunnel counts for health and alerts."""
        return self.position <= self.request.tunnel_count

    @property
    def status_colour(self) -> str:
        """The colour of the status mark."""
        return TUNNEL_STATUS_COLOURS[self.status]


class TunnelStatusChange(models.Model):
    """A change of a tunnel's status: the history behind uptime figures and alerts."""

    tunnel = models.ForeignKey(Tunnel, on_delete=models.PROTECT, related_name="status_changes")
    old_status = models.CharField(max_length=8, choices=TunnelStatus.choices)
    new_status = models.CharField(max_length=8, choices=TunnelStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(db_index=True)
    # Set once the change has been weighed for an alert (sent, or decided against).
    notified_at = models.DateTimeField(null=True, blank=True)
    # Whether the engineer and the customer's contact were emailed about this change.
    alerted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["tunnel", "-changed_at"], name="tunnelchange_tunnel_changed"),
            # The alert pass looks only at changes not yet weighed.
            models.Index(
                fields=["tunnel"],
                condition=Q(notified_at__isnull=True),
                name="tunnelchange_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(new_status__in=TunnelStatus.values)
                & Q(old_status__in=TunnelStatus.values)
                & ~Q(old_status=models.F("new_status")),
                name="tunnelchange_is_a_change",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tunnel}: {self.old_status} → {self.new_status}"


class PendingMaintenance(models.Model):
    """Endpoint maintenance AWS has scheduled on a tunnel, as the maintenance check saw it.

    One row per announcement: open while AWS reports the maintenance pending, cleared
    (`cleared_at`) once it no longer does, because it was applied (on the customer's
    schedule, by hand, or by AWS itself after `auto_applied_after`). The engineer and the
    customer's contact are emailed once per row.
    """

    tunnel = models.ForeignKey(Tunnel, on_delete=models.PROTECT, related_name="maintenances")
    description = models.CharField(max_length=500, help_text="What AWS says is pending.")
    auto_applied_after = models.DateTimeField(
        null=True, blank=True, help_text="After this, AWS applies the maintenance itself."
    )
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        verbose_name = "pending maintenance"
        verbose_name_plural = "pending maintenance"
        constraints = [
            models.UniqueConstraint(
                fields=["tunnel"],
                condition=Q(cleared_at__isnull=True),
                name="pendingmaintenance_one_open_per_tunnel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tunnel}: {self.description}"


class MaintenanceWindow(models.Model):
    """When the customer wants AWS's endpoint maintenance applied: one weekday, from one
    hour to another on their own clock (`time_zone`); a window whose end is not after its
    start ends the next day. See `vpn.maintenance_window`."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    request = models.OneToOneField(
        VpnRequest, on_delete=models.PROTECT, related_name="maintenance_window"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_hour = models.PositiveSmallIntegerField(help_text="From this hour (0-23).")
    end_hour = models.PositiveSmallIntegerField(help_text="To this hour (1-24).")
    time_zone = models.CharField(max_length=64, help_text="An IANA time zone: Europe/Paris.")
    chosen_by = models.CharField(max_length=100, help_text="Who chose it last.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "maintenance window"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="maintenancewindow_weekday"
            ),
            models.CheckConstraint(
                condition=Q(start_hour__gte=0, start_hour__lte=23),
                name="maintenancewindow_start_hour",
            ),
            models.CheckConstraint(
                condition=Q(end_hour__gte=1, end_hour__lte=24)
                & ~Q(end_hour=models.F("start_hour")),
                name="maintenancewindow_end_hour",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.request.reference}: {self.get_weekday_display()} "
            f"{self.start_hour:02d}:00-{self.end_hour:02d}:00 {self.time_zone}"
        )


class StatusRefresh(models.Model):
    """One run of the tunnel status refresh: what it asked AWS, what changed, what failed.

    The pages show the latest run as "status as of", and warn when the run could not
    reach AWS in a request's region (its tunnels then keep their last known status).
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        BUTTON = "button", "Refresh button"
        COMMAND = "command", "Command"

    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    regions = models.JSONField(default=list, help_text="The regions asked.")
    aws_calls = models.PositiveIntegerField(default=0)
    # Calls for what only some tunnels need: what an up tunnel negotiated, and the log
    # events of a tunnel that is down or flapping (see vpn.services.diagnosis).
    detail_calls = models.PositiveIntegerField(default=0)
    requests_seen = models.PositiveIntegerField(default=0)
    tunnels_changed = models.PositiveIntegerField(default=0)
    requests_moved = models.PositiveIntegerField(default=0)
    alerts_sent = models.PositiveIntegerField(default=0)
    # Region -> the error AWS gave; those regions' tunnels were left as they were.
    errors = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        verbose_name_plural = "status refreshes"

    def __str__(self) -> str:
        return f"Status refresh at {self.started_at:%Y-%m-%d %H:%M:%S}"


class AwsResource(models.Model):
    """An AWS resource created for a request, recorded the moment it exists.

    Every resource belongs to one request, except a customer gateway: two VPNs from the
    same customer device share it (AWS answers a second CreateCustomerGateway for the
    same address and ASN with the first gateway). Decommissioning one of them then only
    releases it (state "released"); the last one deletes it.
    """

    RELEASED = "released"

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="resources")
    role = models.CharField(max_length=32, choices=AwsResourceRole.choices)
    resource_id = models.CharField("AWS ID", max_length=64, db_index=True)
    region = models.CharField(max_length=32)
    state = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-request_id", "created_at"]  # no join (see Tunnel)
        verbose_name = "AWS resource"
        constraints = [
            models.UniqueConstraint(fields=["request", "role"], name="awsresource_one_per_role"),
            models.UniqueConstraint(
                fields=["request", "resource_id"], name="awsresource_id_once_per_request"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.resource_id}"

    @property
    def step(self) -> int:
        """The number of the setup step that creates this kind of resource."""
        return ROLE_STEPS[self.role].value


class StageTransition(models.Model):
    """One move of a request from a stage to another: who, when and why."""

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="transitions")
    from_stage = models.CharField(max_length=32, choices=Stage.choices)
    to_stage = models.CharField(max_length=32, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who moved it when no user did: "customer", "system", a job's name.
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.request.reference}: {self.from_stage} → {self.to_stage}"

    @property
    def actor_display(self) -> str:
        """The user's name, or the label of what moved the request."""
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_label or "system"


class IntakeLink(models.Model):
    """A customer's self-service link to one request's intake form and status page.

    Only the SHA-256 hash of the link's token is stored: the token itself is shown to
    the engineer and emailed to the contact once, when the link is made, and a leaked
    database gives no working links. A link stops working when it expires or is revoked.
    """

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="intake_links")
    token_hash = models.CharField(max_length=64, help_text="SHA-256 of the token, in hex.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="intakelink_unique_token_hash"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="intakelink_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Intake link for {self.request.reference} (expires {self.expires_at:%Y-%m-%d})"

    @property
    def status(self) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def status_colour(self) -> str:
        """The badge colour of the link's status."""
        return {"active": "green", "expired": "grey", "revoked": "dark"}[self.status]


class PackVariant(models.TextChoices):
    """The files of a config pack version; the redacted ones carry no pre-shared key."""

    PDF = "pdf", "PDF"
    REDACTED_PDF = "redacted_pdf", "Redacted PDF"
    ZIP = "zip", "Zip"
    REDACTED_ZIP = "redacted_zip", "Redacted zip"

    @property
    def redacted(self) -> bool:
        """Whether this variant leaves the pre-shared keys out."""
        return self in (PackVariant.REDACTED_PDF, PackVariant.REDACTED_ZIP)

    @property
    def content_type(self) -> str:
        """The media type the file is served with."""
        if self in (PackVariant.ZIP, PackVariant.REDACTED_ZIP):
            return "application/zip"
        return "application/pdf"


def config_pack_upload_to(pack: "ConfigPack", filename: str) -> str:
    """Store each request's packs in a folder of their own."""
    return f"config-packs/{pack.request_id}/{filename}"


class ConfigPack(models.Model):
    """One version of a request's config pack: the PDF for the customer's network team,
    its redacted twin, and the same device configurations as zips.

    A new version is made only when the parameters change (see
    `vpn.services.packs.config_pack_render`). `parameters` holds them with the
    pre-shared keys redacted; `parameters_hash` is the SHA-256 of the full parameters
    (keys included), so a rotated key makes a new version. Files live in the default
    storage and are served from there, never rendered again.
    """

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="config_packs")
    version = models.PositiveIntegerField()
    parameters = models.JSONField(help_text="Every value of the pack, pre-shared keys redacted.")
    parameters_hash = models.CharField("SHA-256 of the parameters", max_length=64)
    changes = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    pdf = models.FileField("PDF", upload_to=config_pack_upload_to, max_length=255)
    redacted_pdf = models.FileField("redacted PDF", upload_to=config_pack_upload_to, max_length=255)
    zip = models.FileField(upload_to=config_pack_upload_to, max_length=255)
    redacted_zip = models.FileField("redacted zip", upload_to=config_pack_upload_to, max_length=255)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-request_id", "-version"]  # no join (see Tunnel)
        verbose_name = "config pack"
        constraints = [
            models.UniqueConstraint(
                fields=["request", "version"], name="configpack_unique_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="configpack_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference} config pack v{self.version}"

    @property
    def hash_prefix(self) -> str:
        """The first characters of the hash, enough to tell versions apart."""
        return self.parameters_hash[:12]

    def file_for(self, variant: str):
        """The stored file of one variant."""
        return getattr(self, PackVariant(variant).value)

    def download_name(self, variant: str) -> str:
        """The file name a download is offered under."""
        variant = PackVariant(variant)
        suffix = "-redacted" if variant.redacted else ""
        extension = "zip" if variant.content_type == "application/zip" else "pdf"
        return f"{self.request.reference}-config-pack-v{self.version}{suffix}.{extension}"


class PackDownload(models.Model):
    """One download of a config pack file: which version and variant, by whom, from where.

    Staff downloads name the user; customer downloads (through their self-service
    link) and command-line exports carry a label instead.
    """

    pack = models.ForeignKey(ConfigPack, on_delete=models.PROTECT, related_name="downloads")
    variant = models.CharField(max_length=16, choices=PackVariant.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    token_label = models.CharField(max_length=100, blank=True)
    client_ip = models.GenericIPAddressField("client IP", null=True, blank=True)
    downloaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(variant__in=PackVariant.values), name="packdownload_variant_valid"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(token_label=""),
                name="packdownload_user_or_label",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pack} {self.variant} by {self.downloaded_by_display}"

    @property
    def downloaded_by_display(self) -> str:
        """The user's name, or the label of the link or tool that downloaded."""
        if self.user_id:
            return self.user.get_full_name() or self.user.get_username()
        return self.token_label


class NotificationState(models.TextChoices):
    """Where an outbox email stands: pending and failed ones are still to be sent."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One email to one recipient, written in the transaction that decides to send it
    and sent after that transaction has committed: the outbox.

    The sender claims a row (pending, or failed and due for a retry) with a conditional
    update before sending it, so two workers never send the same row, and a failed send
    marks only its own row for a later retry. `key` names what the email announces; one
    row per key and recipient, so announcing the same thing twice sends nothing twice.
    """

    key = models.CharField(max_length=200, help_text="What the email announces.")
    recipient = models.EmailField()
    subject = models.CharField(max_length=998)  # the longest line RFC 5322 allows
    body = models.TextField()
    state = models.CharField(
        max_length=8, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the latest attempt claimed the row (a claim long past means its sender died).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When the row may next be tried; empty once sent, or given up after the last attempt.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "recipient"], name="notification_once_per_recipient"
            ),
            models.CheckConstraint(
                condition=Q(state__in=NotificationState.values),
                name="notification_state_valid",
            ),
        ]
        indexes = [
            # The sender looks only at rows still to be sent.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=[NotificationState.PENDING, NotificationState.FAILED]),
                name="notification_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient} ({self.state})"


class KeyReveal(models.Model):
    """One reading of pre-shared keys by staff: the full pack (PDF or zip) of one
    version, by whom, when, from where and why.

    Written by `vpn.services.packs.config_pack_reveal` with the `PackDownload` of the
    same file; a reveal without a reason is never written.
    """

    pack = models.ForeignKey(ConfigPack, on_delete=models.PROTECT, related_name="reveals")
    variant = models.CharField(max_length=16, choices=PackVariant.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    download = models.OneToOneField(
        PackDownload, on_delete=models.PROTECT, related_name="reveal", null=True, blank=True
    )
    client_ip = models.GenericIPAddressField("client IP", null=True, blank=True)
    revealed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-revealed_at", "-id"]
        verbose_name = "key reveal"
        constraints = [
            models.CheckConstraint(
                condition=Q(variant__in=(PackVariant.PDF, PackVariant.ZIP)),
                name="keyreveal_full_variant_only",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="keyreveal_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.pack} {self.variant} keys read by {self.revealed_by_display}"

    @property
    def revealed_by_display(self) -> str:
        """The user's name."""
        return self.user.get_full_name() or self.user.get_username()


class StepRetry(models.Model):
    """A failed run of a setup step (or of the teardown) that RQ will run again: the
    transient AWS error, which attempt failed, and when the next one starts.

    Written by the job's failure callback on every failure that has a retry left (RQ
    calls it before scheduling the retry); cleared (`cleared_at`) once the step runs
    through, or stops at its step for good. The request page shows the uncleared one;
    the timeline lists them all.
    """

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="step_retries")
    stage = models.CharField(max_length=32, choices=Stage.choices)
    job_id = models.CharField("RQ job ID", max_length=64)
    attempt = models.PositiveSmallIntegerField(help_text="The attempt that failed, from 1.")
    attempts = models.PositiveSmallIntegerField(help_text="How many attempts in all.")
    error = models.TextField()
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)
    retry_at = models.DateTimeField(help_text="When RQ runs the step again.")
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-failed_at", "-id"]
        verbose_name = "step retry"
        verbose_name_plural = "step retries"
        constraints = [
            models.UniqueConstraint(
                fields=["job_id", "attempt"], name="stepretry_once_per_attempt"
            ),
            models.CheckConstraint(
                condition=Q(attempt__gte=1) & Q(attempt__lt=models.F("attempts")),
                name="stepretry_attempt_has_a_retry_left",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="stepretry_stage_valid"
            ),
        ]
        indexes = [
            # The request page looks only at a request's retries still waiting.
            models.Index(
                fields=["request"],
                condition=Q(cleared_at__isnull=True),
                name="stepretry_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference}: {self.stage} attempt {self.attempt} of {self.attempts}"

    @property
    def due(self) -> bool:
        """Whether the time for the next attempt has come (it runs when a worker is free)."""
        return self.retry_at <= timezone.now()

    @property
    def step_label(self) -> str:
        """What was being done, in words: "Step 2 (VPN gateway)", or "Decommissioning"."""
        for step, stage in STEP_STAGES.items():
            if stage == self.stage:
                return f"Step {step.value} ({step.label})"
        return Stage(self.stage).label


class RequestEvent(models.Model):
    """Something that happened to a request besides a stage move, for its timeline: a
    customer link resent or extended, the customer's change of answers they had already
    submitted (`changes`: each field's label, before and after)."""

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32, choices=RequestEventKind.choices)
    link = models.ForeignKey(
        IntakeLink, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who did it when no user did: "customer", a command's name.
    actor_label = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "request event"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RequestEventKind.values), name="requestevent_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request.reference}: {self.get_kind_display()}"

    @property
    def actor_display(self) -> str:
        """The user's name, or the label of who did it."""
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_label or "system"


class VpnChange(models.Model):
    """One change to a live VPN: who asked and why, what changes (before and after), who
    applied it, how far it got, and each AWS call it made (`VpnChangeCall`).

    Written only by `vpn.services.changes`. A change is proposed, then applied one step
    at a time (a step is one tunnel for most kinds), waiting after each step until the
    tunnels it touched are UP again; `plan` lists the steps' tunnels, `step` the one
    under way. At most one change of a request is applying at a time (a constraint).
    """

    request = models.ForeignKey(VpnRequest, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=32, choices=ChangeKind.choices)
    reason = models.TextField(help_text="Why the change is made.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=500, help_text="The change in words, before → after.")
    state = models.CharField(
        max_length=24, choices=ChangeState.choices, default=ChangeState.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who proposed or applied it when no user did: a command's name.
    proposed_label = models.CharField(max_length=100, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_label = models.CharField(max_length=100, blank=True)
    # What the person applying was told of the impact, and whether they confirmed it.
    impact = models.TextField(blank=True)
    impact_confirmed = models.BooleanField(default=False)
    # The steps: each the tunnel positions it changes ([] for none, [1, 2] for both).
    plan = models.JSONField(default=list, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    # Within the step: "act" (its AWS calls are next) or "wait" (for its tunnels).
    phase = models.CharField(max_length=8, blank=True)
    tunnel = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The tunnel being changed or waited for."
    )
    # Tunnels never up before the change: they wait for the customer's confirmation.
    never_up = models.JSONField(default=list, blank=True)
    confirmed_tunnels = models.JSONField(default=list, blank=True)
    # When the current step's AWS calls were made: a tunnel is back once AWS reports it
    # UP with a status change after that moment.
    acted_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0, help_text="Telemetry checks in this wait.")
    transient_errors = models.PositiveSmallIntegerField(default=0)
    # Bumped by every advance, so that two runs of the same job never both move it on.
    progress = models.PositiveIntegerField(default=0)
    pack_versions = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "VPN change"
        permissions = [("apply_vpnchange", "Can apply changes to live VPNs")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ChangeKind.values), name="vpnchange_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=ChangeState.values), name="vpnchange_state_valid"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="vpnchange_reason_required"),
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(state__in=(ChangeState.APPLYING, ChangeState.WAITING_FOR_TUNNEL)),
                name="vpnchange_one_under_way_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        """The change's page."""
        return reverse("vpn:change_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """The short name pages, packs and emails give the change."""
        return f"CHG-{self.pk:05d}" if self.pk else "CHG-new"

    @property
    def state_colour(self) -> str:
        """The badge colour of the state."""
        return CHANGE_STATE_COLOURS[self.state]

    @property
    def proposed_by_display(self) -> str:
        """The proposer's name, or the command's."""
        return _who(self.proposed_by, self.proposed_label)

    @property
    def applied_by_display(self) -> str:
        """Who applied it ("" while nobody has)."""
        if self.applied_by_id is None and not self.applied_label:
            return ""
        return _who(self.applied_by, self.applied_label)


def _who(user, label: str) -> str:
    if user is not None:
        return user.get_full_name() or user.get_username()
    return label or "system"


class VpnChangeCall(models.Model):
    """One AWS call a change made, and its outcome; pre-shared keys are never stored."""

    change = models.ForeignKey(VpnChange, on_delete=models.PROTECT, related_name="calls")
    operation = models.CharField(max_length=64)
    tunnel = models.PositiveSmallIntegerField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField()
    outcome = models.TextField(blank=True, help_text="What AWS answered, in a line.")
    called_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["change", "called_at", "id"]
        verbose_name = "VPN change call"

    def __str__(self) -> str:
        return f"{self.change.reference}: {self.operation} ({'ok' if self.ok else 'failed'})"
