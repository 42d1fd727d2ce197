"""Choices of the VPN app as plain data: stages with their colours, the transition
table, the five setup steps, tunnel statuses and the other enumerations.

Nothing here imports Django models; the stage service (`vpn.services.stages`) is the
only code that reads `STAGE_TRANSITIONS` to move a request.
"""

from django.db import models


class Stage(models.TextChoices):
    """Where a VPN request is in its life."""

    DRAFT = "draft", "Intake in progress"
    SUBMITTED = "submitted", "Awaiting review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    VPC = "vpc", "Creating VPC"
    VPN_GATEWAY = "vpn_gateway", "Creating VPN gateway"
    CONNECTION = "connection", "Connecting gateways"
    ROUTING = "routing", "Attaching and routing"
    NAT = "nat", "Creating NAT gateway"
    AWAITING_CUSTOMER = "awaiting_customer", "Waiting for customer"
    LIVE = "live", "Live"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    FAILED = "failed", "Failed"
    DECOMMISSIONING = "decommissioning", "Decommissioning"
    DECOMMISSIONED = "decommissioned", "Decommissioned"
    CANCELLED = "cancelled", "Cancelled"


# Colour of each stage's badge (a class in static/css/portal.css).
STAGE_COLOURS = {
    Stage.DRAFT: "grey",
    Stage.SUBMITTED: "blue",
    Stage.CHANGES_REQUESTED: "orange",
    Stage.APPROVED: "teal",
    Stage.VPC: "indigo",
    Stage.VPN_GATEWAY: "indigo",
    Stage.CONNECTION: "indigo",
    Stage.ROUTING: "indigo",
    Stage.NAT: "indigo",
    Stage.AWAITING_CUSTOMER: "yellow",
    Stage.LIVE: "green",
    Stage.DEGRADED: "orange",
    Stage.DOWN: "red",
    Stage.FAILED: "red",
    Stage.DECOMMISSIONING: "grey",
    Stage.DECOMMISSIONED: "dark",
    Stage.CANCELLED: "dark",
}

# The provisioning stages, in the order of the five setup steps.
PROVISIONING_STAGES = (Stage.VPC, Stage.VPN_GATEWAY, Stage.CONNECTION, Stage.ROUTING, Stage.NAT)
# Stages in which the VPN exists and its tunnels are watched.
OPERATIONAL_STAGES = (Stage.AWAITING_CUSTOMER, Stage.LIVE, Stage.DEGRADED, Stage.DOWN)
# Stages from which a request may be decommissioned: its VPN exists, or building it failed.
DECOMMISSIONABLE_STAGES = (*OPERATIONAL_STAGES, Stage.FAILED)
# Stages from which nothing moves on.
TERMINAL_STAGES = (Stage.DECOMMISSIONED, Stage.CANCELLED)
# Stages still waiting for the customer's or the engineer's input.
INTAKE_STAGES = (Stage.DRAFT, Stage.SUBMITTED, Stage.CHANGES_REQUESTED)
# Stages in which the customer may still change their answers.
CUSTOMER_EDITABLE_STAGES = (Stage.DRAFT, Stage.CHANGES_REQUESTED)
# Stages in which an engineer may still edit the intake (before approval).
ENGINEER_EDITABLE_STAGES = (Stage.DRAFT, Stage.SUBMITTED, Stage.CHANGES_REQUESTED)

# The only allowed moves: stage -> stages it may go to.
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.DRAFT: frozenset({Stage.SUBMITTED, Stage.CANCELLED}),
    # Back to draft: the customer reopens their answers while they wait for review.
    Stage.SUBMITTED: frozenset(
        {Stage.APPROVED, Stage.CHANGES_REQUESTED, Stage.DRAFT, Stage.CANCELLED}
    ),
    Stage.CHANGES_REQUESTED: frozenset({Stage.SUBMITTED, Stage.CANCELLED}),
    Stage.APPROVED: frozenset({Stage.VPC, Stage.CANCELLED}),
    Stage.VPC: frozenset({Stage.VPN_GATEWAY, Stage.FAILED}),
    Stage.VPN_GATEWAY: frozenset({Stage.CONNECTION, Stage.FAILED}),
    Stage.CONNECTION: frozenset({Stage.ROUTING, Stage.FAILED}),
    Stage.ROUTING: frozenset({Stage.NAT, Stage.AWAITING_CUSTOMER, Stage.FAILED}),
    Stage.NAT: frozenset({Stage.AWAITING_CUSTOMER, Stage.FAILED}),
    Stage.AWAITING_CUSTOMER: frozenset(
        {Stage.LIVE, Stage.DEGRADED, Stage.DOWN, Stage.DECOMMISSIONING}
    ),
    Stage.LIVE: frozenset({Stage.DEGRADED, Stage.DOWN, Stage.DECOMMISSIONING}),
    Stage.DEGRADED: frozenset({Stage.LIVE, Stage.DOWN, Stage.DECOMMISSIONING}),
    Stage.DOWN: frozenset({Stage.LIVE, Stage.DEGRADED, Stage.DECOMMISSIONING}),
    # A failed request resumes at the step that failed, or is torn down.
    Stage.FAILED: frozenset({*PROVISIONING_STAGES, Stage.DECOMMISSIONING}),
    Stage.DECOMMISSIONING: frozenset({Stage.DECOMMISSIONED, Stage.FAILED}),
    Stage.DECOMMISSIONED: frozenset(),
    Stage.CANCELLED: frozenset(),
}


# The order of the stages in a request's life: the dashboard sorts its Stage column by it.
STAGE_ORDER = {stage: rank for rank, stage in enumerate(Stage)}


class RequestOrigin(models.TextChoices):
    """How a request began: the first line of its timeline names it."""

    ENGINEER = "engineer", "Created by an engineer"
    INVITATION = "invitation", "Invitation sent to the customer"
    COMMAND = "command", "Created from the command line"


class DecommissionReason(models.TextChoices):
    """Why a VPN is removed, as the engineer picks it (required to decommission)."""

    CUSTOMER_REQUEST = "customer_request", "The customer asked for it"
    CONTRACT_ENDED = "contract_ended", "The customer's contract ended"
    REPLACED = "replaced", "Replaced by a new VPN"
    NOT_USED = "not_used", "Not used any more"
    BUILD_ABANDONED = "build_abandoned", "The build failed and is abandoned"
    OTHER = "other", "Another reason (say which to the customer)"


# The same reasons as the customer reads them, on their link and in their email: the end
# of the sentence "It was removed on <date>, …".
CUSTOMER_DECOMMISSION_REASONS = {
    DecommissionReason.CUSTOMER_REQUEST: "at your organisation's request",
    DecommissionReason.CONTRACT_ENDED: "because the service for your organisation has ended",
    DecommissionReason.REPLACED: "because a new VPN replaces it: your solutions engineer "
    "sends you the new one's details",
    DecommissionReason.NOT_USED: "because it was no longer used",
    DecommissionReason.BUILD_ABANDONED: "because the platform could not finish building it",
    DecommissionReason.OTHER: "for the reason your solutions engineer gives below",
}


class RequestEventKind(models.TextChoices):
    """What happened to a request besides its stage moves (each is a timeline line)."""

    LINK_RESENT = "link_resent", "Customer link resent"
    LINK_EXTENDED = "link_extended", "Customer link extended"
    ANSWERS_CHANGED = "answers_changed", "Customer changed their answers"


class SetupStep(models.IntegerChoices):
    """The five setup steps of the source document, shown as the progress bar."""

    VPC = 1, "Platform VPC"
    VPN_GATEWAY = 2, "VPN gateway"
    CONNECTION = 3, "Point the gateways at each other"
    ROUTING = 4, "Attach and route"
    NAT = 5, "NAT gateway"


# The stage during which each setup step runs.
STEP_STAGES = dict(zip(SetupStep, PROVISIONING_STAGES, strict=True))


class Routing(models.TextChoices):
    """How routes are exchanged over the tunnels."""

    STATIC = "static", "Static"
    BGP = "bgp", "Dynamic (BGP)"


class IkeVersion(models.TextChoices):
    """The IKE version both sides use."""

    IKEV1 = "ikev1", "IKEv1"
    IKEV2 = "ikev2", "IKEv2"


class TunnelStatus(models.TextChoices):
    """A tunnel's state as AWS's telemetry reports it."""

    UNKNOWN = "UNKNOWN", "Unknown"
    UP = "UP", "Up"
    DOWN = "DOWN", "Down"


TUNNEL_STATUS_COLOURS = {
    TunnelStatus.UNKNOWN: "grey",
    TunnelStatus.UP: "green",
    TunnelStatus.DOWN: "red",
}


class DeviceVendor(models.TextChoices):
    """Customer devices the config pack carries a configuration for."""

    STRONGSWAN = "strongswan", "strongSwan (swanctl)"
    CISCO_IOS = "cisco_ios", "Cisco IOS (VTI)"
    JUNIPER_SRX = "juniper_srx", "Juniper SRX"
    PALO_ALTO = "palo_alto", "Palo Alto PAN-OS"
    FORTINET = "fortinet", "Fortinet FortiGate"
    GENERIC = "generic", "Other / generic"


class AwsResourceRole(models.TextChoices):
    """What an AWS resource is for in one request; one resource per request and role."""

    VPC = "vpc", "VPC"
    PRIVATE_SUBNET = "private_subnet", "Private subnet"
    PRIVATE_ROUTE_TABLE = "private_route_table", "Private route table"
    PUBLIC_SUBNET = "public_subnet", "Public subnet"
    PUBLIC_ROUTE_TABLE = "public_route_table", "Public route table"
    VPN_GATEWAY = "vpn_gateway", "VPN gateway"
    CUSTOMER_GATEWAY = "customer_gateway", "Customer gateway"
    VPN_CONNECTION = "vpn_connection", "VPN connection"
    INTERNET_GATEWAY = "internet_gateway", "Internet gateway"
    ELASTIC_IP = "elastic_ip", "Elastic IP"
    NAT_GATEWAY = "nat_gateway", "NAT gateway"


# The setup step that creates each kind of resource (for grouping on the detail page).
ROLE_STEPS = {
    AwsResourceRole.VPC: SetupStep.VPC,
    AwsResourceRole.PRIVATE_SUBNET: SetupStep.VPC,
    AwsResourceRole.PRIVATE_ROUTE_TABLE: SetupStep.VPC,
    AwsResourceRole.PUBLIC_SUBNET: SetupStep.VPC,
    AwsResourceRole.PUBLIC_ROUTE_TABLE: SetupStep.VPC,
    AwsResourceRole.VPN_GATEWAY: SetupStep.VPN_GATEWAY,
    AwsResourceRole.CUSTOMER_GATEWAY: SetupStep.CONNECTION,
    AwsResourceRole.VPN_CONNECTION: SetupStep.CONNECTION,
    AwsResourceRole.INTERNET_GATEWAY: SetupStep.NAT,
    AwsResourceRole.ELASTIC_IP: SetupStep.NAT,
    AwsResourceRole.NAT_GATEWAY: SetupStep.NAT,
}
# Stages in which jobs are working on the request: its page follows them live.
BUSY_STAGES = (Stage.APPROVED, *PROVISIONING_STAGES, Stage.DECOMMISSIONING)


class RedundancyRisk(models.TextChoices):
    """How exposed a working VPN is to the loss of a tunnel."""

    LOW = "low", "Low"  # every monitored tunnel up
    HIGH = "high", "High"  # one tunnel up: a one-tunnel setup, or a tunnel down
    DOWN = "down", "Down"  # no tunnel up


RISK_COLOURS = {
    RedundancyRisk.LOW: "green",
    RedundancyRisk.HIGH: "orange",
    RedundancyRisk.DOWN: "red",
}


class ChangeKind(models.TextChoices):
    """What a change to a live VPN changes (see `vpn.services.changes`, one handler each)."""

    ADD_SUBNET = "add_subnet", "Add a subnet"
    REMOVE_SUBNET = "remove_subnet", "Remove a subnet"
    CUSTOMER_GATEWAY = "customer_gateway", "New customer gateway"
    ROTATE_PSK = "rotate_psk", "Rotate pre-shared keys"
    TUNNEL_OPTIONS = "tunnel_options", "Tunnel options"
    NAT = "nat", "NAT gateway on or off"
    TUNNEL_COUNT = "tunnel_count", "From one tunnel to two"
    MAINTENANCE = "maintenance", "AWS's pending maintenance"
    LIFECYCLE_CONTROL = "lifecycle_control", "Tunnel lifecycle control on"


class ChangeState(models.TextChoices):
    """Where a change stands: proposed, then applied tunnel by tunnel, then over."""

    PROPOSED = "proposed", "Proposed"
    APPLYING = "applying", "Applying"
    WAITING_FOR_TUNNEL = "waiting_for_tunnel", "Waiting for a tunnel"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


CHANGE_STATE_COLOURS = {
    ChangeState.PROPOSED: "blue",
    ChangeState.APPLYING: "indigo",
    ChangeState.WAITING_FOR_TUNNEL: "yellow",
    ChangeState.DONE: "green",
    ChangeState.FAILED: "red",
    ChangeState.CANCELLED: "dark",
}
# A change in one of these states is under way: no second change of the same VPN starts.
ACTIVE_CHANGE_STATES = (ChangeState.APPLYING, ChangeState.WAITING_FOR_TUNNEL)
# States from which nothing moves on.
FINISHED_CHANGE_STATES = (ChangeState.DONE, ChangeState.FAILED, ChangeState.CANCELLED)
