"""Allocation of what a request's AWS side needs: the VPC CIDR, the Amazon-side ASN,
the tunnels' inside /30s and their pre-shared keys.

The VPC CIDR is unique among live requests by a database constraint; two approvals at
once may pick the same block, and the one that commits second retries with the next.
"""

import ipaddress
import secrets
import string

from django.conf import settings
from django.db import IntegrityError, transaction

from vpn.choices import TERMINAL_STAGES
from vpn.models import VpnRequest

LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
RESERVED_INSIDE_CIDRS = frozenset(
    ipaddress.ip_network(cidr)
    for cidr in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)
_PSK_ALPHABET = string.ascii_letters + string.digits


class AllocationError(Exception):
    """Nothing left to allocate (the pool is exhausted)."""


def vpc_cidr_allocate(*, request_id: int, attempts: int = 50) -> str:
    """The request's VPC CIDR, allocated from the pool on first call.

    The block overlaps none of the customer's subnets or advertised prefixes, the
    platform's reserved ranges, or the VPC of another live request.
    """
    for _ in range(attempts):
        try:
            with transaction.atomic():
                request = VpnRequest.objects.select_for_update().get(pk=request_id)
                if request.vpc_cidr:
                    return request.vpc_cidr
                request.vpc_cidr = str(_free_block(request))
                request.save(update_fields=["vpc_cidr", "updated_at"])
                return request.vpc_cidr
        except IntegrityError:
            # Another approval took the same block and committed first: look again.
            continue
    raise AllocationError("Could not allocate a VPC CIDR: too many concurrent allocations.")


def _free_block(request: VpnRequest) -> ipaddress.IPv4Network:
    avoid = [
        ipaddress.ip_network(cidr, strict=False)
        for cidr in (
            *request.static_subnets,
            *request.advertised_prefixes,
            *settings.PLATFORM_RESERVED_CIDRS,
        )
    ]
    taken = set(
        VpnRequest.objects.exclude(stage__in=TERMINAL_STAGES)
        .exclude(vpc_cidr="")
        .values_list("vpc_cidr", flat=True)
    )
    pool = ipaddress.ip_network(settings.VPC_CIDR_POOL)
    for block in pool.subnets(new_prefix=settings.VPC_PREFIX_LENGTH):
        if str(block) not in taken and not any(block.overlaps(net) for net in avoid):
            return block
    raise AllocationError(
        f"The VPC pool {pool} has no free /{settings.VPC_PREFIX_LENGTH} that avoids the "
        "customer's networks; widen VPC_CIDR_POOL."
    )


def vpc_subnets(vpc_cidr: str) -> tuple[str, str]:
    """The private (connectors) and public (NAT) halves of the VPC."""
    private, public = ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=1)
    return str(private), str(public)


def amazon_asn_allocate(*, request_id: int) -> int:
    """The Amazon-side ASN of the request's VPN gateway, chosen once."""
    with transaction.atomic():
        request = VpnRequest.objects.select_for_update().get(pk=request_id)
        if request.amazon_side_asn is None:
            low, high = settings.AMAZON_ASN_RANGE
            request.amazon_side_asn = next(
                asn for asn in range(low, high + 1) if asn != request.bgp_asn
            )
            request.save(update_fields=["amazon_side_asn", "updated_at"])
        return request.amazon_side_asn


def inside_cidrs_allocate(count: int = 2, *, taken: set[str] = frozenset()) -> list[str]:
    """Distinct random /30s from 169.254.0.0/16, none reserved or in `taken`."""
    chosen: list[str] = []
    while len(chosen) < count:
        block = ipaddress.ip_network(
            (int(LINK_LOCAL.network_address) + 4 * secrets.randbelow(16384), 30)
        )
        cidr = str(block)
        if block not in RESERVED_INSIDE_CIDRS and cidr not in taken and cidr not in chosen:
            chosen.append(cidr)
    return chosen


def psk_generate(length: int = 32) -> str:
    """A pre-shared key by AWS's rule: letters and digits, not starting with 0."""
    first = secrets.choice(_PSK_ALPHABET.replace("0", ""))
    return first + "".join(secrets.choice(_PSK_ALPHABET) for _ in range(length - 1))
