"""`python manage.py seed_demo`: demo users, and demo requests that are true in the sandbox.

The demo's VPNs are made as every VPN is: through the stage service and the real
provisioning jobs (run in this process) against the local AWS sandbox, so each one's AWS
resources exist there. Their tunnels go up and down through the sandbox's control API
and the real status refresh reads them; a month of that is replayed, each change dated
in the past, so that uptime, charts and timelines have a history to show. The failed
demo fails through the real flow too (AWS refuses its VPN connection: a quota fault
injected at that step), so retrying it works.

What happens now is then dated back to when the demo says it happened: every record of
the demo customer written during a step (stage moves, resources, packs, history, runs
of the refresh) moves to that step's time, keeping its order.

Idempotent: the users get their demo passwords back; each demo request is made once, and
made again only when the sandbox no longer has its resources (the sandbox keeps nothing
between runs: after a restart the old demo request is deleted, with everything recorded
of it, and made anew). Needs the sandbox running at `AWS_ENDPOINT_URL`.
"""

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from vpn import aws
from vpn.choices import (
    AwsResourceRole,
    DeviceVendor,
    IkeVersion,
    Routing,
    Stage,
    TunnelStatus,
)
from vpn.models import Customer, PendingMaintenance, StatusRefresh, VpnRequest
from vpn.permissions import OPS, SOLUTIONS_ENGINEERS
from vpn.sandbox_control import SandboxControl, SandboxUnavailable
from vpn.services.intake import request_customer_confirm
from vpn.services.maintenance import maintenance_refresh
from vpn.services.provisioning import ROLE_KIND
from vpn.services.stages import request_move
from vpn.services.status import status_refresh

DEMO_USERS = (
    # username, password, first name, last name, superuser, group
    ("admin", "admin", "Ada", "Admin", True, OPS),
    ("se", "se", "Sam", "Engineer", False, SOLUTIONS_ENGINEERS),
)


@dataclass(frozen=True)
class DemoRequest:
    """One demo customer and the story of its request (see `STORY_STAGES`)."""

    name: str
    org_id: str
    region: str
    routing: str
    story: str


DEMO_REQUESTS = tuple(
    DemoRequest(*fields)
    for fields in (
        # customer, org id, region, routing, story
        ("Northwind Traders", "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01", "eu-west-2", "bgp", "live"),
        (
            "Contoso Manufacturing",
            "8a2d4c7e-5f31-4b8e-a0c2-9e6f1d3b7a02",
            "us-east-1",
            "static",
            "degraded",
        ),
        ("Fabrikam Health", "c91e7b24-6a0d-4f5c-8b13-2d7e9a4c6f03", "eu-central-1", "bgp", "down"),
        (
            "Tailspin Logistics",
            "5b8f2e61-9c4a-4d7b-b2e0-7a1c3f5d8e04",
            "ap-southeast-2",
            "static",
            "awaiting",
        ),
        (
            "Wide World Importers",
            "e2a7c9d1-3b6f-4e8a-9d05-1f4b7c2e6a05",
            "us-west-2",
            "bgp",
            "failed",
        ),
        (
            "Adventure Works",
            "7d1b5e93-2c8f-4a6d-b4e1-8c3a9f2d5b06",
            "ca-central-1",
            "static",
            "provisioning",
        ),
        ("Litware Labs", "1c9e3a75-8d2b-4f6e-a7c3-5b0d2e8f4a07", "eu-west-1", "bgp", "submitted"),
        (
            "Proseware Retail",
            "9f4d2b86-7e1a-4c3f-8b5d-3a6e0c9f2d08",
            "sa-east-1",
            "static",
            "changes_requested",
        ),
        ("Margie's Travel", "4e7a1c39-5d8b-4b2e-9f6a-0c3d7e1b5f09", "", "bgp", "draft"),
        (
            "Alpine Ski House",
            "b3c8e5f2-1a9d-4e7b-a6c4-2f8d0b3e7c10",
            "eu-north-1",
            "bgp",
            "decommissioned",
        ),
    )
)

# The stage each story leaves its request in. "provisioning" is approved last and left to
# the RQ worker, which provisions it against the sandbox once the portal runs.
STORY_STAGES = {
    "live": Stage.LIVE,
    "degraded": Stage.DEGRADED,
    "down": Stage.DOWN,
    "awaiting": Stage.AWAITING_CUSTOMER,
    "failed": Stage.FAILED,
    "provisioning": Stage.APPROVED,
    "submitted": Stage.SUBMITTED,
    "changes_requested": Stage.CHANGES_REQUESTED,
    "draft": Stage.DRAFT,
    "decommissioned": Stage.DECOMMISSIONED,
}
# Stories whose VPN has been in service for about a month.
_IN_SERVICE = ("live", "degraded", "down", "decommissioned")

# The failed demo: AWS refuses its VPN connection (step 3) once, as a full quota would.
_FAILING_ACTION = "CreateVpnConnection"

_CHANGES_NOTE = (
    "The subnets 10.0.0.0/16 overlap the platform's range; please send the actual on-prem ranges."
)
_DOWN_MESSAGE = "IPSEC IS DOWN"
# The live demo (Northwind Traders) has endpoint maintenance pending on tunnel 2.
_MAINTENANCE_DEMO = DEMO_REQUESTS[0].org_id
_MAINTENANCE_DEADLINE = timedelta(days=9)


@dataclass(frozen=True)
class _TunnelEvent:
    """A tunnel's status as the sandbox reports it from `at` on."""

    at: datetime
    position: int
    status: str
    message: str = ""


class Command(BaseCommand):
    """Create the demo users and demo VPN requests."""

    help = (
        "Create demo users (printing their credentials) and demo VPN requests, built in the "
        "local AWS sandbox."
    )

    def handle(self, *args, **options):
        """Create what is missing, re-make what the sandbox lost, print the credentials."""
        control = self._sandbox()
        users = self._users()
        self.now = timezone.now()
        # Without a queue, jobs run where they are queued: then this process provisions
        # the demo request meant to be seen provisioning, too.
        worker = settings.RQ_ASYNC
        made, remade, queued = 0, [], []
        with self._seeding(control):
            for index, demo in enumerate(DEMO_REQUESTS):
                customer = Customer.objects.filter(org_id=demo.org_id).first()
                if customer is not None:
                    if self._still_true(customer):
                        continue
                    remade.append(customer.name)
                    _purge(customer)
                request = self._make(demo, index, users, control)
                made += 1
                if demo.story == "provisioning":
                    queued.append(request.pk)
            # Read once more as the portal's periodic refresh will: nothing may change.
            status_refresh(trigger=StatusRefresh.Trigger.COMMAND)
            self._maintenance_announce(control)
            if not worker:
                self._approve_all(queued, users)
        if worker:
            # The worker provisions these against the sandbox, live on the pages.
            self._approve_all(queued, users)
        self._report(made, remade)

    # -- the sandbox -----------------------------------------------------------------------

    def _sandbox(self) -> SandboxControl:
        if not settings.AWS_ENDPOINT_URL:
            raise CommandError(
                "seed_demo builds its VPNs in the local AWS sandbox, and AWS_ENDPOINT_URL is "
                "not set: start the sandbox (`python manage.py aws_sandbox`) and point "
                "AWS_ENDPOINT_URL at it (`make run` does both)."
            )
        control = SandboxControl(settings.AWS_ENDPOINT_URL)
        try:
            control.state_delay()
        except SandboxUnavailable as exc:
            raise CommandError(str(exc)) from exc
        return control

    @contextlib.contextmanager
    def _seeding(self, control: SandboxControl) -> Iterator[None]:
        """Jobs run here, at once, and email nobody; the sandbox settles at once.

        The demo is complete when the command returns, and its month of history is not
        mailed to anyone. Changes already under way in the sandbox keep their delay.
        """
        delay = control.state_delay()
        control.state_delay_set(0)
        try:
            with override_settings(
                RQ_ASYNC=False,
                PROVISION_POLL_SECONDS=0,
                EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
            ):
                yield
        finally:
            control.state_delay_set(delay)

    def _still_true(self, customer: Customer) -> bool:
        """Whether the sandbox still has every AWS resource recorded for the customer's
        requests (false after the sandbox restarted), and none waits for a lost job."""
        for request in customer.requests.all():
            resources = list(request.resources.filter(deleted_at__isnull=True))
            if request.stage == Stage.APPROVED and not resources:
                return False  # its provisioning job went with the previous run
            for resource in resources:
                found = aws.describe(
                    resource.region, ROLE_KIND[resource.role], resource.resource_id
                )
                if found is None or found.state in ("deleting", "deleted"):
                    return False
        return True

    # -- the demo requests -----------------------------------------------------------------

    def _make(self, demo: DemoRequest, index: int, users: dict, control) -> VpnRequest:
        """Create one demo customer's request and play its story."""
        story = demo.story
        began = self.now - _age(story, index)
        with self._dated(demo.org_id, began):
            customer = Customer.objects.create(
                name=demo.name,
                org_id=demo.org_id,
                contact_name="Network Team",
                contact_email=f"netops{index}@example.com",
            )
            request = VpnRequest.objects.create(**_intake(demo, index, customer, users["se"]))
            if story != "draft":
                request_move(
                    request_id=request.pk, to_stage=Stage.SUBMITTED, actor_label="customer"
                )
        if story == "changes_requested":
            with self._dated(demo.org_id, began + timedelta(days=1)):
                request_move(
                    request_id=request.pk,
                    to_stage=Stage.CHANGES_REQUESTED,
                    actor=users["se"],
                    note=_CHANGES_NOTE,
                )
        if story not in _PROVISIONED:
            # The request shown provisioning is approved at the very end.
            return self._checked(request, Stage.SUBMITTED if story == "provisioning" else None)

        if story == "failed":
            control.fault_add(action=_FAILING_ACTION, error="quota", count=1)
        with self._dated(demo.org_id, began + timedelta(hours=3)):
            request_move(request_id=request.pk, to_stage=Stage.APPROVED, actor=users["se"])
        if story == "failed":
            return self._checked(request)

        request.refresh_from_db()
        events = _tunnel_events(request, story, index, began=began, now=self.now)
        confirmed_at = began + timedelta(hours=20)
        for at, changes in itertools.groupby(events, key=lambda event: event.at):
            if story in _IN_SERVICE and confirmed_at and at > confirmed_at:
                with self._dated(demo.org_id, confirmed_at):
                    request_customer_confirm(request_id=request.pk)
                confirmed_at = None
            if story == "decommissioned" and at > self.now - timedelta(days=10):
                break
            self._tunnels_change(request, at, list(changes), control)
        if story == "decommissioned":
            with self._dated(demo.org_id, self.now - timedelta(days=10)):
                request_move(
                    request_id=request.pk,
                    to_stage=Stage.DECOMMISSIONING,
                    actor=users["admin"],
                    note="The customer moved this site to another provider.",
                )
        return self._checked(request)

    def _tunnels_change(
        self, request: VpnRequest, at: datetime, changes: list[_TunnelEvent], control
    ) -> None:
        """Set tunnels' status in the sandbox, dated `at`, and let the real refresh read it
        (as the periodic refresh would have, then)."""
        connection = request.resources.get(role=AwsResourceRole.VPN_CONNECTION)
        routes = (
            len(request.advertised_prefixes)
            if request.routing == Routing.BGP
            else len(request.static_subnets)
        )
        with self._dated(request.customer.org_id, at):
            for change in changes:
                control.tunnel_status_set(
                    vpn_connection_id=connection.resource_id,
                    outside_ip=request.tunnels.get(position=change.position).outside_ip,
                    status=change.status,
                    since=at,
                    message=change.message,
                    accepted_route_count=routes if change.status == TunnelStatus.UP else 0,
                )
            status_refresh(trigger=StatusRefresh.Trigger.SCHEDULE, regions=[request.region])

    def _maintenance_announce(self, control: SandboxControl) -> None:
        """AWS schedules endpoint maintenance on tunnel 2 of the live demo, and the real
        maintenance check reads it: the request page offers Apply now and a window."""
        request = VpnRequest.objects.filter(
            customer__org_id=_MAINTENANCE_DEMO, stage=Stage.LIVE
        ).first()
        if request is None or PendingMaintenance.objects.filter(tunnel__request=request).exists():
            return
        control.tunnel_maintenance_schedule(
            vpn_connection_id=request.resources.get(
                role=AwsResourceRole.VPN_CONNECTION
            ).resource_id,
            outside_ip=request.tunnels.get(position=2).outside_ip,
            auto_applied_after=self.now + _MAINTENANCE_DEADLINE,
            description="Endpoint software update",
        )
        maintenance_refresh(now=self.now)

    def _approve_all(self, request_ids: list[int], users: dict) -> None:
        for request_id in request_ids:
            request_move(request_id=request_id, to_stage=Stage.APPROVED, actor=users["se"])

    def _checked(self, request: VpnRequest, expected: str | None = None) -> VpnRequest:
        """The request, once it is where its story ends (or `expected`); a clear error if
        it is not."""
        request.refresh_from_db()
        expected = expected or STORY_STAGES[_story_of(request)]
        if request.stage != expected:
            why = f": {request.failure_message}" if request.failure_message else ""
            raise CommandError(
                f"Demo request {request.reference} ({request.customer.name}) ended "
                f"“{request.get_stage_display()}” instead of “{Stage(expected).label}”{why}"
            )
        return request

    @contextlib.contextmanager
    def _dated(self, org_id: str, at: datetime) -> Iterator[None]:
        """Date everything the block records for the customer (and every run of the status
        refresh it makes) at `at`, as if it had happened then, keeping its order."""
        mark = timezone.now()
        yield
        _shift(org_id, since=mark, by=at - mark)

    # -- users and report ------------------------------------------------------------------

    def _users(self) -> dict:
        users = {}
        for username, password, first, last, superuser, group in DEMO_USERS:
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@example.com"
            user.is_staff = True
            user.is_superuser = superuser
            user.set_password(password)
            user.save()
            user.groups.add(Group.objects.get(name=group))
            users[username] = user
        return users

    def _report(self, made: int, remade: list[str]) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {made} new request(s)."))
        if remade:
            self.stdout.write(
                "  Made again, as the sandbox no longer had their AWS resources: "
                + ", ".join(remade)
                + "."
            )
        stale = _stale_requests()
        if stale:
            self.stdout.write(
                self.style.WARNING(
                    "  Not demo data, and no longer in the sandbox (it keeps nothing between "
                    "runs): " + ", ".join(stale) + ". Decommission them, or delete the "
                    "database for a fresh start."
                )
            )
        for username, password, *_ in DEMO_USERS:
            self.stdout.write(f"  log in as {username} / {password}")


# Stories that are provisioned in AWS.
_PROVISIONED = ("live", "degraded", "down", "awaiting", "failed", "decommissioned")


def _story_of(request: VpnRequest) -> str:
    return next(d.story for d in DEMO_REQUESTS if d.org_id == request.customer.org_id)


def _age(story: str, index: int) -> timedelta:
    """How long ago the story began."""
    if story in _IN_SERVICE:
        return timedelta(days=31, hours=index)
    return {
        "awaiting": timedelta(days=2),
        "failed": timedelta(days=1, hours=20),
        "provisioning": timedelta(hours=4),
        "submitted": timedelta(days=1),
        "changes_requested": timedelta(days=4),
        "draft": timedelta(hours=6),
    }[story]


def _intake(demo: DemoRequest, index: int, customer: Customer, owner) -> dict:
    """The intake of a demo request: its fields, varied from one request to the next."""
    static = demo.routing == Routing.STATIC
    return {
        "customer": customer,
        "owner": owner,
        "region": demo.region,
        # 192.0.2.0/24: documentation addresses the sandbox never hands out itself.
        "customer_gateway_ip": None if demo.story == "draft" else f"192.0.2.{10 + index}",
        "routing": demo.routing,
        "static_subnets": [f"192.168.{index}.0/24", f"10.{100 + index}.0.0/16"] if static else [],
        "bgp_asn": None if static else 65000 + index,
        "advertised_prefixes": [] if static else [f"10.{100 + index}.0.0/16"],
        "ike_version": IkeVersion.IKEV2 if index % 3 else IkeVersion.IKEV1,
        "tunnel_count": 1 if demo.story == "awaiting" else 2,
        # A NAT gateway for a few: their pack is rendered once the NAT gateway exists.
        "nat_wanted": index % 4 == 0,
        "device_vendor": list(DeviceVendor)[index % len(DeviceVendor)],
    }


def _tunnel_events(
    request: VpnRequest, story: str, index: int, *, began: datetime, now: datetime
) -> list[_TunnelEvent]:
    """The tunnels' status changes of the story, oldest first.

    Both start down once the connection exists. A VPN in service came up a day after it
    began, had a few short outages, different for each request and tunnel, and ends as
    its story says: all up, one tunnel down for three hours, or both down for five.
    """
    provisioned = began + timedelta(hours=3, minutes=10)
    events = [_TunnelEvent(provisioned, p, TunnelStatus.DOWN) for p in (1, 2)]
    if story not in _IN_SERVICE:
        return events
    live_at = began + timedelta(days=1)
    events += [_TunnelEvent(live_at + timedelta(minutes=2 * p), p, TunnelStatus.UP) for p in (1, 2)]
    for week in range(2):
        for position in (1, 2):
            down_at = began + timedelta(
                days=5 + 9 * week + index % 3 + position, hours=3 * position + index
            )
            back_at = down_at + timedelta(minutes=20 + 15 * position + 5 * index)
            events += [
                _TunnelEvent(down_at, position, TunnelStatus.DOWN, _DOWN_MESSAGE),
                _TunnelEvent(back_at, position, TunnelStatus.UP),
            ]
    if story == "degraded":
        events.append(_TunnelEvent(now - timedelta(hours=3), 2, TunnelStatus.DOWN, _DOWN_MESSAGE))
    if story == "down":
        events += [
            _TunnelEvent(now - timedelta(hours=5), 1, TunnelStatus.DOWN, _DOWN_MESSAGE),
            _TunnelEvent(now - timedelta(hours=4, minutes=58), 2, TunnelStatus.DOWN, _DOWN_MESSAGE),
        ]
    return sorted(events, key=lambda event: event.at)


# -- every record of a customer ----------------------------------------------------------


def _records(model, queryset) -> Iterator[tuple[type[models.Model], models.QuerySet]]:
    """`queryset`, then the rows referring to its rows, and theirs: parents first."""
    yield model, queryset
    for relation in model._meta.related_objects:
        if relation.many_to_many:
            continue
        related = relation.related_model
        children = related._default_manager.filter(**{f"{relation.field.name}__in": queryset})
        yield from _records(related, children)


def _customer_records(org_id: str):
    return _records(Customer, Customer.objects.filter(org_id=org_id))


def _shift(org_id: str, *, since: datetime, by: timedelta) -> None:
    """Move every time recorded since `since` for the customer, and every refresh run
    since then, by `by`."""
    dated = [*_customer_records(org_id), (StatusRefresh, StatusRefresh.objects.all())]
    for model, queryset in dated:
        for field in model._meta.concrete_fields:
            if isinstance(field, models.DateTimeField):
                queryset.filter(**{f"{field.name}__gte": since}).update(
                    **{field.name: F(field.name) + by}
                )


def _purge(customer: Customer) -> None:
    """Delete the customer and everything recorded of it (stored files included)."""
    for model, queryset in reversed(list(_customer_records(customer.org_id))):
        files = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        for row in queryset if files else ():
            for field in files:
                getattr(row, field.name).delete(save=False)
        queryset.delete()


def _stale_requests() -> list[str]:
    """References of the requests outside the demo that should have AWS resources but
    whose VPN connection the sandbox does not have."""
    demo = [demo.org_id for demo in DEMO_REQUESTS]
    stale = []
    for request in VpnRequest.objects.exclude(customer__org_id__in=demo).exclude(
        stage__in=(Stage.DECOMMISSIONED, Stage.CANCELLED, *_INTAKE)
    ):
        for resource in request.resources.filter(
            deleted_at__isnull=True, role=AwsResourceRole.VPN_CONNECTION
        ):
            if aws.describe(resource.region, "vpn-connection", resource.resource_id) is None:
                stale.append(request.reference)
    return stale


_INTAKE = (Stage.DRAFT, Stage.SUBMITTED, Stage.CHANGES_REQUESTED, Stage.APPROVED)
