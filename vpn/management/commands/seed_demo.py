"""`python manage.py seed_demo`: demo users and requests in every kind of stage.

Idempotent: users are reset to the demo passwords, requests are created only once.
Requests are walked through the real stage service, so their history is genuine.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from vpn.choices import DeviceVendor, IkeVersion, Routing, Stage, TunnelStatus
from vpn.models import Customer, Tunnel, TunnelStatusChange, VpnRequest
from vpn.permissions import OPS, SOLUTIONS_ENGINEERS
from vpn.services.stages import request_move

DEMO_USERS = (
    # username, password, first name, last name, superuser, group
    ("admin", "admin", "Ada", "Admin", True, OPS),
    ("se", "se", "Sam", "Engineer", False, SOLUTIONS_ENGINEERS),
)

# Paths through the stage machine, ending at the stage each demo request shows.
_PROVISIONED = [
    Stage.SUBMITTED,
    Stage.APPROVED,
    Stage.VPC,
    Stage.VPN_GATEWAY,
    Stage.CONNECTION,
    Stage.ROUTING,
    Stage.AWAITING_CUSTOMER,
]
DEMO_REQUESTS = (
    # customer, org id, region, routing, path, tunnel statuses
    (
        "Northwind Traders",
        "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01",
        "eu-west-2",
        Routing.BGP,
        [*_PROVISIONED, Stage.LIVE],
        ("UP", "UP"),
    ),
    (
        "Contoso Manufacturing",
        "8a2d4c7e-5f31-4b8e-a0c2-9e6f1d3b7a02",
        "us-east-1",
        Routing.STATIC,
        [*_PROVISIONED, Stage.DEGRADED],
        ("UP", "DOWN"),
    ),
    (
        "Fabrikam Health",
        "c91e7b24-6a0d-4f5c-8b13-2d7e9a4c6f03",
        "eu-central-1",
        Routing.BGP,
        [*_PROVISIONED, Stage.DOWN],
        ("DOWN", "DOWN"),
    ),
    (
        "Tailspin Logistics",
        "5b8f2e61-9c4a-4d7b-b2e0-7a1c3f5d8e04",
        "ap-southeast-2",
        Routing.STATIC,
        _PROVISIONED,
        ("DOWN", "DOWN"),
    ),
    (
        "Wide World Importers",
        "e2a7c9d1-3b6f-4e8a-9d05-1f4b7c2e6a05",
        "us-west-2",
        Routing.BGP,
        [
            Stage.SUBMITTED,
            Stage.APPROVED,
            Stage.VPC,
            Stage.VPN_GATEWAY,
            Stage.CONNECTION,
            Stage.FAILED,
        ],
        None,
    ),
    (
        "Adventure Works",
        "7d1b5e93-2c8f-4a6d-b4e1-8c3a9f2d5b06",
        "ca-central-1",
        Routing.STATIC,
        [Stage.SUBMITTED, Stage.APPROVED, Stage.VPC],
        None,
    ),
    (
        "Litware Labs",
        "1c9e3a75-8d2b-4f6e-a7c3-5b0d2e8f4a07",
        "eu-west-1",
        Routing.BGP,
        [Stage.SUBMITTED],
        None,
    ),
    (
        "Proseware Retail",
        "9f4d2b86-7e1a-4c3f-8b5d-3a6e0c9f2d08",
        "sa-east-1",
        Routing.STATIC,
        [Stage.SUBMITTED, Stage.CHANGES_REQUESTED],
        None,
    ),
    ("Margie's Travel", "4e7a1c39-5d8b-4b2e-9f6a-0c3d7e1b5f09", "", Routing.BGP, [], None),
    (
        "Alpine Ski House",
        "b3c8e5f2-1a9d-4e7b-a6c4-2f8d0b3e7c10",
        "eu-north-1",
        Routing.BGP,
        [*_PROVISIONED, Stage.LIVE, Stage.DECOMMISSIONING, Stage.DECOMMISSIONED],
        ("DOWN", "DOWN"),
    ),
)

_NOTES = {
    Stage.CHANGES_REQUESTED: "The subnets 10.0.0.0/16 overlap the platform's range; "
    "please send the actual on-prem ranges.",
    Stage.FAILED: "CreateVpnConnection: VpnConnectionLimitExceeded: maximum number of "
    "VPN connections reached in us-west-2.",
}


class Command(BaseCommand):
    """Create the demo users and demo VPN requests."""

    help = "Create demo users (printing their credentials) and demo VPN requests."

    def handle(self, *args, **options):
        """Create what is missing and print the credentials."""
        users = self._users()
        created = self._requests(owner=users["se"])
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {created} new request(s)."))
        for username, password, *_ in DEMO_USERS:
            self.stdout.write(f"  log in as {username} / {password}")

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

    def _requests(self, *, owner) -> int:
        created = 0
        now = timezone.now()
        for index, (name, org_id, region, routing, path, statuses) in enumerate(DEMO_REQUESTS):
            if Customer.objects.filter(org_id=org_id).exists():
                continue
            with transaction.atomic():
                customer = Customer.objects.create(
                    name=name,
                    org_id=org_id,
                    contact_name="Network Team",
                    contact_email=f"netops{index}@example.com",
                )
                request = VpnRequest.objects.create(
                    customer=customer,
                    owner=owner,
                    region=region,
                    customer_gateway_ip=f"198.51.100.{10 + index}" if path else None,
                    routing=routing,
                    static_subnets=[f"192.168.{index}.0/24", f"10.{100 + index}.0.0/16"]
                    if routing == Routing.STATIC
                    else [],
                    bgp_asn=65000 + index if routing == Routing.BGP else None,
                    advertised_prefixes=[f"10.{100 + index}.0.0/16"]
                    if routing == Routing.BGP
                    else [],
                    ike_version=IkeVersion.IKEV2 if index % 3 else IkeVersion.IKEV1,
                    tunnel_count=1 if index == 3 else 2,
                    nat_wanted=index % 2 == 0,
                    device_vendor=list(DeviceVendor)[index % len(DeviceVendor)],
                )
                for stage in path:
                    if stage == Stage.VPN_GATEWAY:
                        request.vpc_cidr = f"172.31.{index * 4}.0/22"
                        request.amazon_side_asn = 64512 + index
                        request.save(update_fields=["vpc_cidr", "amazon_side_asn"])
                    if stage == Stage.ROUTING and statuses:
                        self._tunnels(request, index, statuses, now)
                    request_move(
                        request_id=request.pk,
                        to_stage=stage,
                        actor=None if stage in (Stage.SUBMITTED, Stage.LIVE) else owner,
                        actor_label="customer" if stage == Stage.SUBMITTED else "system",
                        note=_NOTES.get(stage, ""),
                        follow_ups=False,  # demo history, not work for the jobs
                    )
                if statuses:
                    self._history(request, index, now, ever_up=path[-1] != Stage.AWAITING_CUSTOMER)
            created += 1
        return created

    def _history(self, request, index, now, *, ever_up: bool) -> None:
        """A month of status changes ending at each tunnel's current status, so that the
        demo's uptime figures and timeline charts have something to show. Every change is
        marked as already weighed for alerts: demo history emails nobody."""
        rows = []
        for tunnel in request.tunnels.all():
            created = now - timedelta(days=30)
            tunnel.created_at = created
            tunnel.save(update_fields=["created_at"])
            steps = [(created + timedelta(hours=1), "UNKNOWN", "DOWN")]
            if ever_up:
                steps.append((created + timedelta(days=1), "DOWN", "UP"))
                # A few short outages, different for each request and tunnel.
                for week in range(3):
                    down_at = created + timedelta(
                        days=5 + 7 * week + index % 3, hours=3 * tunnel.position + index
                    )
                    if down_at >= tunnel.last_status_change - timedelta(hours=2):
                        break
                    back_at = down_at + timedelta(minutes=20 + 15 * tunnel.position + 5 * index)
                    steps += [(down_at, "UP", "DOWN"), (back_at, "DOWN", "UP")]
                if tunnel.status == TunnelStatus.DOWN:
                    steps.append((tunnel.last_status_change, "UP", "DOWN"))
            for number, (changed_at, old, new) in enumerate(steps):
                # Outages were alerted, and their ends; the first "up" of all was not.
                outage = (old, new) == ("UP", "DOWN") or (
                    (old, new) == ("DOWN", "UP") and number > 1
                )
                rows.append(
                    TunnelStatusChange(
                        tunnel=tunnel,
                        old_status=old,
                        new_status=new,
                        message="IPSEC IS DOWN" if new == "DOWN" else "",
                        changed_at=changed_at,
                        notified_at=changed_at,
                        alerted=outage and tunnel.monitored,
                    )
                )
        TunnelStatusChange.objects.bulk_create(rows)

    def _tunnels(self, request, index, statuses, now) -> None:
        for position, status in enumerate(statuses, start=1):
            Tunnel.objects.create(
                request=request,
                position=position,
                outside_ip=f"203.0.113.{index * 2 + position}",
                inside_cidr=f"169.254.{10 + index}.{(position - 1) * 4}/30",
                psk=f"demo_{index}_{position}_Pre.shared_key_Xy7",
                status=TunnelStatus(status),
                status_message="" if status == "UP" else "IPSEC IS DOWN",
                last_status_change=now - timedelta(hours=index + position),
                accepted_route_count=2 if status == "UP" else 0,
            )
