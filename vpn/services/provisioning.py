"""The five setup steps on AWS, and the teardown, as idempotent services.

Each step finds what already exists (by the id recorded in `AwsResource`, else by the
request's tags) and creates only what is missing, recording every resource the moment
AWS returns it. A step that must wait for AWS returns `WAITING` and is run again later
by its job; no AWS call runs inside a transaction or under a row lock. Permanent AWS
errors stop the request at its step (stage `failed`, with AWS's message); transient ones
propagate so that the job is retried. Each retry RQ will make is recorded
(`provision_retry_record`, a `StepRetry` the request page and its timeline show) and
cleared once the step runs through or stops for good.
"""

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vpn import aws
from vpn.choices import PROVISIONING_STAGES, AwsResourceRole, Routing, SetupStep, Stage
from vpn.models import AwsResource, StepRetry, Tunnel, VpnRequest
from vpn.services import allocation, packs
from vpn.services.stages import StageMoveError, request_move
from vpn.tunnel_profile import tunnel_profile

logger = logging.getLogger(__name__)

DONE, WAITING, FAILED, IDLE = "done", "waiting", "failed", "idle"
ACTOR = "provisioning"
# What the API calls each role's resource.
ROLE_KIND = {
    AwsResourceRole.VPC: "vpc",
    AwsResourceRole.PRIVATE_SUBNET: "subnet",
    AwsResourceRole.PUBLIC_SUBNET: "subnet",
    AwsResourceRole.PRIVATE_ROUTE_TABLE: "route-table",
    AwsResourceRole.PUBLIC_ROUTE_TABLE: "route-table",
    AwsResourceRole.VPN_GATEWAY: "vpn-gateway",
    AwsResourceRole.CUSTOMER_GATEWAY: "customer-gateway",
    AwsResourceRole.VPN_CONNECTION: "vpn-connection",
    AwsResourceRole.INTERNET_GATEWAY: "internet-gateway",
    AwsResourceRole.ELASTIC_IP: "elastic-ip",
    AwsResourceRole.NAT_GATEWAY: "nat-gateway",
}
# The customer gateway API wants an ASN even for static routing; 65000 is the usual one.
STATIC_CUSTOMER_ASN = 65000


def provision_advance(*, request_id: int) -> str:
    """Run the request's setup steps from its current stage, one after the other, for as
    long as AWS makes each step's resources ready at once.

    A step that is done moves the request on and the next step runs here, in the same
    job: a job per step would cost the portal a queue round trip per step and AWS
    nothing. Returns DONE (provisioning has ended: the request waits for the customer),
    WAITING (AWS is still busy: run again later, with no worker held meanwhile), FAILED
    (stopped at a step) or IDLE (nothing to do, or another job moved it on first).
    """
    request = VpnRequest.objects.select_related("account").filter(pk=request_id).first()
    if request is None:
        logger.warning("Provisioning job for request %s, which does not exist: ignored", request_id)
        return IDLE
    outcome, request = _step_run(request)
    if outcome != FAILED:
        # The step ran through (AWS may still be busy): an earlier error is over.
        _retries_clear(request_id)
    while outcome == _NEXT:
        outcome, request = _step_run(request)
    return outcome


# What `_step_run` returns when it moved the request into another setup step.
_NEXT = "next"


def _step_run(request: VpnRequest) -> tuple[str, VpnRequest]:
    """Run the step of the request's current stage, and move it on when done; returns
    the outcome and the request as the move left it (the next step starts from it)."""
    if request.stage == Stage.APPROVED:
        return _move(request, Stage.VPC, from_stage=Stage.APPROVED)
    if request.stage not in PROVISIONING_STAGES:
        return IDLE, request  # moved on meanwhile: nothing waits for this job
    stage = Stage(request.stage)
    step = SetupStep(PROVISIONING_STAGES.index(stage) + 1)
    try:
        # Every AWS call of the step acts in the account the request was placed in.
        with aws.acting_for(request.account), _resources_read_once(request):
            waiting = STEPS[stage](request)
    except (aws.PermanentAwsError, allocation.AllocationError) as exc:
        logger.warning("%s failed at %s: %s", request.reference, stage.label, exc)
        provision_fail(
            request_id=request.pk, stage=stage, message=f"Step {step.value} ({step.label}): {exc}"
        )
        return FAILED, request
    if waiting:
        return WAITING, request
    return _move(request, _next_stage(request, stage), from_stage=stage)


def provision_fail(*, request_id: int, stage: str, message: str) -> None:
    """Stop a request at `stage` with a message for the engineer (if still there)."""
    # If it moved on meanwhile (or already failed), there is nothing to stop.
    with contextlib.suppress(StageMoveError):
        request_move(
            request_id=request_id,
            to_stage=Stage.FAILED,
            from_stage=stage,
            actor_label=ACTOR,
            note=message,
        )
    _retries_clear(request_id)  # no retry waits any more: the failure says it all


def provision_retry_record(
    *,
    request_id: int,
    job_id: str,
    attempt: int,
    attempts: int,
    error: str,
    retry_in_seconds: int,
) -> StepRetry | None:
    """Record that attempt `attempt` of `attempts` of the request's current step failed
    with a transient `error`, and that RQ runs it again in `retry_in_seconds`; returns the
    record (None for a request that no longer exists).

    Called once per failed attempt (the job's failure callback); recording the same
    attempt of the same job twice keeps the first record.
    """
    stage = VpnRequest.objects.filter(pk=request_id).values_list("stage", flat=True).first()
    if stage is None:
        return None
    now = timezone.now()
    retry, _ = StepRetry.objects.get_or_create(
        job_id=job_id,
        attempt=attempt,
        defaults={
            "request_id": request_id,
            "stage": stage,
            "attempts": attempts,
            "error": error,
            "failed_at": now,
            "retry_at": now + timedelta(seconds=retry_in_seconds),
        },
    )
    logger.warning(
        "Request %s, %s: attempt %s of %s failed, retrying in %s s: %s",
        request_id,
        stage,
        attempt,
        attempts,
        retry_in_seconds,
        error,
    )
    return retry


def _retries_clear(request_id: int) -> None:
    """The request's step ran through or stopped for good: no retry waits any more."""
    StepRetry.objects.filter(request_id=request_id, cleared_at__isnull=True).update(
        cleared_at=timezone.now()
    )


def _next_stage(request: VpnRequest, stage: Stage) -> Stage:
    if stage == Stage.ROUTING and not request.nat_wanted:
        return Stage.AWAITING_CUSTOMER
    if stage == Stage.NAT:
        return Stage.AWAITING_CUSTOMER
    return PROVISIONING_STAGES[PROVISIONING_STAGES.index(stage) + 1]


def _move(request: VpnRequest, to_stage: Stage, *, from_stage: Stage) -> tuple[str, VpnRequest]:
    """Move the request on; _NEXT when the stage entered is a step for the caller to
    run (no job is queued for it), DONE when provisioning has ended, IDLE when another
    job moved it first. Also returns the request as read under the move's lock."""
    try:
        transition = request_move(
            request_id=request.pk,
            to_stage=to_stage,
            from_stage=from_stage,
            actor_label=ACTOR,
            step_job=False,
        )
    except StageMoveError:
        # A second job for the same step lost the race: the first one goes on.
        logger.info("%s: already moved past %s", request.reference, from_stage)
        return IDLE, request
    moved = transition.request
    if moved.account_id == request.account_id:
        moved.account = request.account  # read with the request just now: not again
    return (_NEXT if to_stage in PROVISIONING_STAGES else DONE), moved


# Resources -----------------------------------------------------------------------------


# The live resources of the request whose step runs now, by role. A step looks up to
# five of them up; they are read in one query when it starts, and `_record` keeps them
# current. Only `_step_run` sets this: changes and the teardown read the database.
_step_resources: ContextVar[tuple[int, dict[str, AwsResource]] | None] = ContextVar(
    "step_resources", default=None
)


@contextlib.contextmanager
def _resources_read_once(request: VpnRequest) -> Iterator[None]:
    live = AwsResource.objects.filter(request_id=request.pk, deleted_at__isnull=True)
    token = _step_resources.set((request.pk, {r.role: r for r in live}))
    try:
        yield
    finally:
        _step_resources.reset(token)


def _recorded(request: VpnRequest, role: str) -> AwsResource | None:
    """The request's live resource of `role`, as recorded, if any."""
    step = _step_resources.get()
    if step is not None and step[0] == request.pk:
        return step[1].get(role)
    return AwsResource.objects.filter(
        request_id=request.pk, role=role, deleted_at__isnull=True
    ).first()


def _recorded_id(request: VpnRequest, role: str) -> str | None:
    """The AWS id recorded for the request's live resource of `role`, if any."""
    recorded = _recorded(request, role)
    return recorded.resource_id if recorded is not None else None


def _record(request: VpnRequest, role: str, resource: aws.Resource, **details) -> None:
    """Write down a resource the moment it exists in AWS: the role's row, inserted or
    brought up to date in one statement."""
    row = AwsResource(
        request=request,
        role=role,
        resource_id=resource.id,
        region=request.region,
        state=resource.state,
        details=details,
        deleted_at=None,
    )
    AwsResource.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["request", "role"],
        update_fields=["resource_id", "region", "state", "details", "updated_at", "deleted_at"],
    )
    step = _step_resources.get()
    if step is not None and step[0] == request.pk:
        step[1][role] = row


def _ensure(
    request: VpnRequest, role: str, create: Callable[[], aws.Resource], **details
) -> aws.Resource:
    """The resource for `role`: the recorded one, else one tagged for us, else a new one
    (recorded again only when AWS says something the record does not)."""
    kind = ROLE_KIND[role]
    recorded = _recorded(request, role)
    found = aws.describe(request.region, kind, recorded.resource_id) if recorded else None
    if found is None:
        found = aws.find(request.region, kind, request_id=request.pk, role=role)
    if found is None:
        found = create()
    if recorded is None or (
        (recorded.resource_id, recorded.region, recorded.state, recorded.details)
        != (found.id, request.region, found.state, details)
    ):
        _record(request, role, found, **details)
    return found


def _id(request: VpnRequest, role: str) -> str:
    recorded_id = _recorded_id(request, role)
    if recorded_id is None:
        raise aws.PermanentAwsError(role, "MissingResource", f"No {role} is recorded.")
    return recorded_id


# The five steps (each returns True while it waits for AWS) -------------------------------


def step_vpc(request: VpnRequest) -> bool:
    """Step 1: the VPC and its subnets (a public one too when NAT is wanted)."""
    region, pk = request.region, request.pk
    cidr = allocation.vpc_cidr_allocate(request_id=pk)
    vpc = _ensure(
        request,
        AwsResourceRole.VPC,
        lambda: aws.vpc_create(region, cidr=cidr, request_id=pk, role="vpc"),
    )
    if vpc.state != "available":
        return True
    private_cidr, public_cidr = allocation.vpc_subnets(cidr)
    halves = [(AwsResourceRole.PRIVATE_SUBNET, AwsResourceRole.PRIVATE_ROUTE_TABLE, private_cidr)]
    if request.nat_wanted:
        halves.append(
            (AwsResourceRole.PUBLIC_SUBNET, AwsResourceRole.PUBLIC_ROUTE_TABLE, public_cidr)
        )
    for subnet_role, table_role, subnet_cidr in halves:
        subnet = _ensure(
            request,
            subnet_role,
            lambda c=subnet_cidr, r=subnet_role: aws.subnet_create(
                region, vpc_id=vpc.id, cidr=c, request_id=pk, role=r
            ),
            cidr=subnet_cidr,
        )
        table = _ensure(
            request,
            table_role,
            lambda r=table_role: aws.route_table_create(
                region, vpc_id=vpc.id, request_id=pk, role=r
            ),
        )
        aws.route_table_associate(region, route_table_id=table.id, subnet_id=subnet.id)
    return False


def step_vpn_gateway(request: VpnRequest) -> bool:
    """Step 2: the virtual private gateway, with its Amazon-side ASN."""
    asn = allocation.amazon_asn_allocate(request_id=request.pk)
    gateway = _ensure(
        request,
        AwsResourceRole.VPN_GATEWAY,
        lambda: aws.vpn_gateway_create(
            request.region, amazon_side_asn=asn, request_id=request.pk, role="vpn_gateway"
        ),
    )
    return gateway.state != "available"


def step_connection(request: VpnRequest) -> bool:
    """Step 3: the customer gateway and the VPN connection, tunnels recorded by IP.

    Every tunnel gets lifecycle control (AWS's endpoint maintenance waits to be applied)
    and sends its IKE and BGP logs to the region's log group, which is ensured first.
    """
    region, pk = request.region, request.pk
    customer_gateway = _ensure(
        request,
        AwsResourceRole.CUSTOMER_GATEWAY,
        lambda: aws.customer_gateway_create(
            region,
            ip=request.customer_gateway_ip,
            bgp_asn=request.bgp_asn or STATIC_CUSTOMER_ASN,
            request_id=pk,
            role="customer_gateway",
        ),
    )
    profile = tunnel_profile(request.ike_version, request.tunnel_options)

    def create_connection() -> aws.Resource:
        # The region's log group first: AWS refuses tunnels that log to a missing one.
        log_group_arn = aws.log_group_ensure(
            region,
            name=settings.TUNNEL_LOG_GROUP,
            retention_days=settings.TUNNEL_LOG_RETENTION_DAYS,
        )
        inside = allocation.inside_cidrs_allocate(2)
        created = aws.vpn_connection_create(
            region,
            customer_gateway_id=customer_gateway.id,
            vpn_gateway_id=_id(request, AwsResourceRole.VPN_GATEWAY),
            static_routes_only=request.routing == Routing.STATIC,
            tunnel_options=[
                profile.aws_options(
                    inside_cidr=cidr, psk=allocation.psk_generate(), log_group_arn=log_group_arn
                )
                for cidr in inside
            ],
            request_id=pk,
            role="vpn_connection",
        )
        return aws.Resource(id=created.id, state=created.state)

    connection = _ensure(request, AwsResourceRole.VPN_CONNECTION, create_connection)
    if connection.state != "available":
        return True
    (info,) = aws.vpn_connections_describe(region, ids=[connection.id])
    tunnels_record(request=request, connection=info)
    if not request.nat_wanted:
        # The last step that sets what the pack prints; with NAT, step 5 queues it.
        _pack_render(request, reason="VPN connection created")
    return False


def tunnels_record(*, request: VpnRequest, connection: aws.VpnConnectionInfo) -> None:
    """Store each tunnel by its outside IP, as `DescribeVpnConnections` reports it."""
    with transaction.atomic():
        known = {
            t.outside_ip: t for t in Tunnel.objects.select_for_update().filter(request=request)
        }
        free_positions = [p for p in (1, 2) if p not in {t.position for t in known.values()}]
        for info in connection.tunnels:
            tunnel = known.get(info.outside_ip)
            if tunnel is None:
                tunnel = Tunnel(
                    request=request, outside_ip=info.outside_ip, position=free_positions.pop(0)
                )
            tunnel.inside_cidr = info.inside_cidr
            tunnel.psk = info.psk
            tunnel.save()


def step_routing(request: VpnRequest) -> bool:
    """Step 4: attach the gateway; static routes, or route propagation for BGP."""
    region = request.region
    vpc_id = _id(request, AwsResourceRole.VPC)
    gateway_id = _id(request, AwsResourceRole.VPN_GATEWAY)
    state = aws.vpn_gateway_attachment_state(region, vpn_gateway_id=gateway_id, vpc_id=vpc_id)
    if not state:
        aws.vpn_gateway_attach(region, vpn_gateway_id=gateway_id, vpc_id=vpc_id)
        state = aws.vpn_gateway_attachment_state(region, vpn_gateway_id=gateway_id, vpc_id=vpc_id)
    if state != "attached":
        return True
    table_id = _id(request, AwsResourceRole.PRIVATE_ROUTE_TABLE)
    if request.routing == Routing.STATIC:
        connection_id = _id(request, AwsResourceRole.VPN_CONNECTION)
        (info,) = aws.vpn_connections_describe(region, ids=[connection_id])
        for cidr in request.static_subnets:
            if cidr not in info.routes:
                aws.vpn_connection_route_create(region, vpn_connection_id=connection_id, cidr=cidr)
            aws.route_ensure(
                region, route_table_id=table_id, cidr=cidr, target={"GatewayId": gateway_id}
            )
    else:
        aws.route_propagation_enable(region, route_table_id=table_id, vpn_gateway_id=gateway_id)
    return False


def step_nat(request: VpnRequest) -> bool:
    """Step 5: internet gateway, elastic IP, NAT gateway, default route of the private subnet."""
    if nat_build(request):
        return True
    _pack_render(request, reason="NAT gateway created")
    return False


def nat_build(request: VpnRequest) -> bool:
    """The NAT's resources and the private subnet's default route through it (step 5, and
    a change that turns NAT on); True while AWS still creates the NAT gateway."""
    region, pk = request.region, request.pk
    vpc_id = _id(request, AwsResourceRole.VPC)
    internet_gateway = _ensure(
        request,
        AwsResourceRole.INTERNET_GATEWAY,
        lambda: aws.internet_gateway_create(region, request_id=pk, role="internet_gateway"),
    )
    aws.internet_gateway_attach(region, internet_gateway_id=internet_gateway.id, vpc_id=vpc_id)
    aws.route_ensure(
        region,
        route_table_id=_id(request, AwsResourceRole.PUBLIC_ROUTE_TABLE),
        cidr="0.0.0.0/0",
        target={"GatewayId": internet_gateway.id},
    )
    address = _ensure(
        request,
        AwsResourceRole.ELASTIC_IP,
        lambda: aws.address_allocate(region, request_id=pk, role="elastic_ip"),
    )
    public_ip = address.details.get("PublicIp", "")
    _record(request, AwsResourceRole.ELASTIC_IP, address, public_ip=public_ip)
    nat = _ensure(
        request,
        AwsResourceRole.NAT_GATEWAY,
        lambda: aws.nat_gateway_create(
            region,
            subnet_id=_id(request, AwsResourceRole.PUBLIC_SUBNET),
            allocation_id=address.id,
            request_id=pk,
            role="nat_gateway",
        ),
        public_ip=public_ip,
    )
    if nat.state != "available":
        return True
    aws.route_ensure(
        region,
        route_table_id=_id(request, AwsResourceRole.PRIVATE_ROUTE_TABLE),
        cidr="0.0.0.0/0",
        target={"NatGatewayId": nat.id},
    )
    return False


STEPS: dict[str, Callable[[VpnRequest], bool]] = {
    Stage.VPC: step_vpc,
    Stage.VPN_GATEWAY: step_vpn_gateway,
    Stage.CONNECTION: step_connection,
    Stage.ROUTING: step_routing,
    Stage.NAT: step_nat,
}


def _pack_render(request: VpnRequest, *, reason: str) -> None:
    """Queue the config pack, once its parameters are complete: after the VPN connection,
    or after the NAT gateway (whose public IP it prints) when NAT is wanted. Rendering
    takes seconds: it runs on the "packs" queue, never in the step."""
    packs.config_pack_render_queue(request_id=request.pk, reason=reason)


# Teardown ------------------------------------------------------------------------------

# Dependency order: what uses a resource goes before it.
TEARDOWN_ORDER = (
    AwsResourceRole.VPN_CONNECTION,
    AwsResourceRole.VPN_GATEWAY,
    AwsResourceRole.CUSTOMER_GATEWAY,
    AwsResourceRole.NAT_GATEWAY,
    AwsResourceRole.ELASTIC_IP,
    AwsResourceRole.INTERNET_GATEWAY,
    AwsResourceRole.PUBLIC_SUBNET,
    AwsResourceRole.PRIVATE_SUBNET,
    AwsResourceRole.PUBLIC_ROUTE_TABLE,
    AwsResourceRole.PRIVATE_ROUTE_TABLE,
    AwsResourceRole.VPC,
)


def decommission_advance(*, request_id: int) -> str:
    """Delete the request's AWS resources in dependency order; DONE when none is left.

    Idempotent: what is already gone is fine, and resources found only by their tags
    (created just before a crash, never recorded) are deleted too.
    """
    request = VpnRequest.objects.select_related("account").filter(pk=request_id).first()
    if request is None or request.stage != Stage.DECOMMISSIONING:
        return IDLE
    try:
        with aws.acting_for(request.account):
            for role in TEARDOWN_ORDER:
                if _teardown(request, role):
                    _retries_clear(request.pk)
                    return WAITING
    except aws.PermanentAwsError as exc:
        provision_fail(
            request_id=request.pk, stage=Stage.DECOMMISSIONING, message=f"Decommissioning: {exc}"
        )
        return FAILED
    _retries_clear(request.pk)
    _move(request, Stage.DECOMMISSIONED, from_stage=Stage.DECOMMISSIONING)
    return DONE


# What NAT adds to a VPC, in the order it is taken away again (a change that turns NAT off).
NAT_ROLES = (
    AwsResourceRole.NAT_GATEWAY,
    AwsResourceRole.ELASTIC_IP,
    AwsResourceRole.INTERNET_GATEWAY,
    AwsResourceRole.PUBLIC_SUBNET,
    AwsResourceRole.PUBLIC_ROUTE_TABLE,
)


def nat_teardown(request: VpnRequest) -> bool:
    """Take NAT away from the VPC: the private subnet's default route first (so that no
    route points at a NAT gateway being deleted), then NAT's resources in dependency
    order; True while AWS still deletes one. Idempotent, like the teardown."""
    private_table_id = _recorded_id(request, AwsResourceRole.PRIVATE_ROUTE_TABLE)
    if private_table_id is not None:
        aws.route_delete(request.region, route_table_id=private_table_id, cidr="0.0.0.0/0")
    return any(_teardown(request, role) for role in NAT_ROLES)


def _teardown(request: VpnRequest, role: str) -> bool:
    """Delete every resource of `role`; True while AWS is still deleting one."""
    region, kind = request.region, ROLE_KIND[role]
    mine = list(request.resources.filter(role=role))
    ids = {r.resource_id for r in mine if r.deleted_at is None}
    # A shared gateway this request let go of may still carry its tags: not to delete.
    released = {r.resource_id for r in mine if r.state == AwsResource.RELEASED}
    while (
        found := aws.find(region, kind, request_id=request.pk, role=role)
    ) and found.id not in ids | released:
        ids.add(found.id)
    still_deleting = False
    for resource_id in sorted(ids):
        if role == AwsResourceRole.CUSTOMER_GATEWAY and _release_if_shared(request, resource_id):
            continue
        current = aws.describe(region, kind, resource_id)
        if current is not None and current.state not in ("deleted", "deleting"):
            _detach(request, role, current)
            aws.delete(region, kind, resource_id)
            current = aws.describe(region, kind, resource_id)
        if current is not None and current.state == "deleting":
            still_deleting = True
            continue
        AwsResource.objects.filter(request=request, resource_id=resource_id).update(
            state="deleted", deleted_at=timezone.now()
        )
    return still_deleting


def _release_if_shared(request: VpnRequest, resource_id: str) -> bool:
    """Let go of a customer gateway another request still uses; True if it was let go.

    The holders' rows are locked while one decides, so of two requests decommissioned
    at once exactly one is the last holder, and deletes the gateway (after the lock).
    """
    with transaction.atomic():
        holders = list(
            AwsResource.objects.select_for_update().filter(
                resource_id=resource_id, deleted_at__isnull=True
            )
        )
        if all(holder.request_id == request.pk for holder in holders):
            return False
        AwsResource.objects.filter(request=request, resource_id=resource_id).update(
            state=AwsResource.RELEASED, deleted_at=timezone.now()
        )
    logger.info(
        "%s: customer gateway %s left to the other VPNs using it", request.reference, resource_id
    )
    return True


def _detach(request: VpnRequest, role: str, current: aws.Resource) -> None:
    """Detach a gateway from its VPC, or a route table from its subnets, so that AWS
    lets it be deleted.

    The deletion follows at once. While a detachment completes (a VPN gateway stays
    "detaching" for a while) AWS refuses it with IncorrectState or DependencyViolation,
    which `vpn.aws` counts as transient: the job is retried, and deletes it then.
    """
    region = request.region
    if role == AwsResourceRole.VPN_GATEWAY:
        for attachment in current.details.get("VpcAttachments", []):
            if attachment.get("State") in ("attached", "attaching"):
                aws.vpn_gateway_detach(
                    region, vpn_gateway_id=current.id, vpc_id=attachment["VpcId"]
                )
    elif role == AwsResourceRole.INTERNET_GATEWAY:
        for attachment in current.details.get("Attachments", []):
            aws.internet_gateway_detach(
                region, internet_gateway_id=current.id, vpc_id=attachment["VpcId"]
            )
    elif role in (AwsResourceRole.PUBLIC_ROUTE_TABLE, AwsResourceRole.PRIVATE_ROUTE_TABLE):
        aws.route_table_disassociate_all(region, route_table_id=current.id)
