"""Who is asking: the client's address, as far as the portal's proxies can be trusted.

One rule for every use: the customer link's rate limits, the download records and the
login throttling (`AXES_CLIENT_IP_CALLABLE`) all count the same address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the address the last trusted proxy saw.

    Only a well-formed IP address is taken from `X-Forwarded-For`; anything else there
    (a name, a port, garbage) is ignored and REMOTE_ADDR counts instead, so the header
    can neither break a page nor be used to pick a counter of its own.
    """
    proxies = settings.INTAKE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies > 0 and hops:
        # Each trusted proxy appends the address it saw; anything further left was
        # written by the client and may be forged.
        address = _ip_or_none(hops[max(len(hops) - proxies, 0)])
        if address is not None:
            return address
    return request.META.get("REMOTE_ADDR", "")


def _ip_or_none(text: str) -> str | None:
    """`text` as a normalised IP address, or None if it is not exactly one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A zone ("fe80::1%eth0") names an interface of the proxy, not a client.
    if getattr(address, "scope_id", None):
        return None
    return str(address)
