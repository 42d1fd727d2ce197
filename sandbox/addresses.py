"""The public addresses the sandbox hands out, from ranges that are never routed.

Real AWS gives tunnel outside IPs and elastic IPs from its own public space. The sandbox
gives public-looking addresses that can never reach anyone: documentation ranges
(RFC 5737) first, then halves of the benchmarking range (RFC 2544), which is large enough
for the thousands of tunnels a benchmark creates. Each kind has ranges of its own, so an
elastic IP never equals a tunnel's outside IP, and neither ever equals a customer's
gateway: 192.0.2.0/24 is left to customer gateways (the demo's among them).
"""

import ipaddress
from collections.abc import Callable, Iterator

from sandbox.errors import ApiError

TUNNEL_OUTSIDE_RANGES = ("203.0.113.0/24", "198.18.0.0/16")
ELASTIC_IP_RANGES = ("198.51.100.0/24", "198.19.0.0/16")
# Never handed out: what customers' gateways use in the sandbox and in the demo.
CUSTOMER_GATEWAY_RANGE = "192.0.2.0/24"


class AddressPool:
    """Hands out addresses from `ranges` in order, each used by one holder at a time."""

    def __init__(self, ranges: tuple[str, ...], exhausted: Callable[[], ApiError]) -> None:
        self._ranges = ranges
        self._exhausted = exhausted
        self._in_use: set[str] = set()
        self._cursor = self._addresses()

    def _addresses(self) -> Iterator[str]:
        for cidr in self._ranges:
            for address in ipaddress.ip_network(cidr).hosts():
                # Skip .0 and .255 even inside a /16: they read like network addresses.
                if address.packed[-1] not in (0, 255):
                    yield str(address)

    def allocate(self) -> str:
        """The next free address, wrapping around once to reuse released ones."""
        for _ in range(2):
            for address in self._cursor:
                if address not in self._in_use:
                    self._in_use.add(address)
                    return address
            self._cursor = self._addresses()
        raise self._exhausted()

    def release(self, address: str) -> None:
        """Make an address available again."""
        self._in_use.discard(address)


def tunnel_outside_pool() -> AddressPool:
    """The pool of the AWS-side outside addresses of VPN tunnels."""
    return AddressPool(
        TUNNEL_OUTSIDE_RANGES,
        lambda: ApiError("VpnConnectionLimitExceeded", "The sandbox has no outside IP left."),
    )


def elastic_ip_pool() -> AddressPool:
    """The pool of elastic IPs (`AllocateAddress`)."""
    return AddressPool(
        ELASTIC_IP_RANGES,
        lambda: ApiError(
            "AddressLimitExceeded", "The maximum number of addresses has been reached."
        ),
    )
