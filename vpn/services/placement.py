"""Placement: which AWS account a request's resources go to, chosen at approval.

Each approved request takes one virtual private gateway, one customer gateway and one VPN
connection in its region. An account has room when every one of those quotas leaves at
least one free. The quotas come from the account's Service Quotas (GetServiceQuota), an
account's own overrides replacing them, and AWS's documented defaults when neither says;
the usage comes from the portal's own records (its placed requests that are not closed),
so that placement never waits for AWS to count, and a request never reaches step 2 to
hear AWS refuse it.

Among the accounts with room, the one with the most room left takes the request, so that
requests spread evenly and each account keeps headroom for changes.
"""

import logging
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from vpn import aws
from vpn.choices import INTAKE_STAGES, TERMINAL_STAGES
from vpn.models import AwsAccount, VpnRequest
from vpn.regions import REGION_CHOICES
from vpn.services.stages import StageMoveError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quota:
    """One per-region quota a request uses one of."""

    name: str
    label: str
    service_code: str
    quota_code: str
    default: int


# AWS's documented defaults; the codes are those of Service Quotas' "ec2" service.
QUOTAS = (
    Quota("vpn_gateways", "virtual private gateways per region", "ec2", "L-7029FAB6", 5),
    Quota("vpn_connections", "VPN connections per region", "ec2", "L-3E6EC3A3", 50),
    Quota("customer_gateways", "customer gateways per region", "ec2", "L-4FB7FF5D", 50),
)
QUOTAS_BY_NAME = {quota.name: quota for quota in QUOTAS}

# Serialises placements: two approvals at once must not both take an account's last room.
_PLACEMENT_LOCK = 0x76706E_0017


class NoRoom(StageMoveError):
    """No account has room for the request in its region; the message names the quota
    (a refused move: the pages show it like any other)."""


@dataclass(frozen=True)
class Room:
    """One account's quotas, usage and room in one region."""

    account: AwsAccount | None  # None: the default account of settings
    region: str
    limits: dict[str, int]
    used: int

    @property
    def placing(self) -> bool:
        """Whether placement may put new requests in this account."""
        return self.account is None or self.account.enabled

    @property
    def label(self) -> str:
        """The account as the pages and commands name it."""
        if self.account is None:
            return f"default ({settings.AWS_DEFAULT_ACCOUNT_ID})"
        return str(self.account)

    @property
    def free(self) -> int:
        """How many more requests fit (the tightest quota decides)."""
        return min(self.limits.values()) - self.used

    def full_quota(self) -> Quota:
        """The quota that is used up (the tightest one)."""
        name = min(self.limits, key=self.limits.get)
        return QUOTAS_BY_NAME[name]


def accounts_for(region: str) -> list[AwsAccount | None]:
    """The accounts that may hold a request in `region`: the default, then the enabled
    accounts that list the region."""
    rows = [row for row in AwsAccount.objects.filter(enabled=True) if region in row.regions]
    return [None, *rows]


def limits_read(account: AwsAccount | None, region: str) -> dict[str, int]:
    """Each quota's limit for `account` in `region`: its override, else Service Quotas
    (with `AWS_READ_SERVICE_QUOTAS`), else AWS's default (also when Service Quotas cannot
    be read)."""
    overrides = account.quota_overrides if account is not None else {}
    limits = {}
    with aws.acting_for(account):
        for quota in QUOTAS:
            if quota.name in overrides:
                limits[quota.name] = int(overrides[quota.name])
                continue
            if not settings.AWS_READ_SERVICE_QUOTAS:
                limits[quota.name] = quota.default
                continue
            try:
                value = aws.service_quota(
                    region, service_code=quota.service_code, quota_code=quota.quota_code
                )
            except aws.AwsError as exc:
                logger.warning("Quota %s of %s not read: %s", quota.name, account, exc)
                value = None
            limits[quota.name] = int(value) if value is not None else quota.default
    return limits


def usage(region: str) -> Counter:
    """Requests holding resources in `region`, by account id (None: the default)."""
    placed = (
        VpnRequest.objects.filter(region=region)
        .exclude(stage__in=(*INTAKE_STAGES, *TERMINAL_STAGES))
        .values_list("account_id", flat=True)
    )
    return Counter(placed)


def rooms(region: str, *, disabled_too: bool = False) -> list[Room]:
    """Every candidate account's room in `region`; with `disabled_too`, also that of the
    accounts placement no longer uses (they keep the requests placed before)."""
    used = usage(region)
    accounts = accounts_for(region)
    if disabled_too:
        accounts += [
            row for row in AwsAccount.objects.filter(enabled=False) if region in row.regions
        ]
    return [
        Room(account, region, limits_read(account, region), used[account.pk if account else None])
        for account in accounts
    ]


def account_choose(request: VpnRequest) -> AwsAccount | None:
    """Pick the account for `request` (inside the approval's transaction); NoRoom when
    none has room. On PostgreSQL, takes a lock held until the transaction ends, so that
    two approvals at once never both count the same last place; SQLite, the embedded
    default, lets one transaction write at a time and has no such lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PLACEMENT_LOCK])
    candidates = rooms(request.region)
    with_room = [room for room in candidates if room.free > 0]
    if not with_room:
        quotas = sorted({room.full_quota().label for room in candidates})
        raise NoRoom(
            f"No AWS account has room in {request.region}: {' and '.join(quotas)} "
            f"are all used ({len(candidates)} account(s)). Raise the quota or add an account."
        )
    # The most room first; among equals the one listed first (the default, then by name).
    return max(with_room, key=lambda room: room.free).account


def all_rooms() -> list[Room]:
    """Room in every region that holds requests or that an account lists, disabled
    accounts included (for `vpn_accounts`), in the order of the regions' list."""
    placed = set(
        VpnRequest.objects.exclude(stage__in=(*INTAKE_STAGES, *TERMINAL_STAGES))
        .values_list("region", flat=True)
        .distinct()
    )
    listed = {region for account in AwsAccount.objects.all() for region in account.regions}
    wanted = placed | listed
    return [
        room
        for code, _ in REGION_CHOICES
        if code in wanted
        for room in rooms(code, disabled_too=True)
    ]
