"""Who is asking: the client's address, as far as the portal's proxies can be trusted."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the address the last trusted proxy saw."""
    proxies = settings.INTAKE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies > 0 and hops:
        # Each trusted proxy appends the address it saw; anything further left was
        # written by the client and may be forged.
        return hops[max(len(hops) - proxies, 0)]
    return request.META.get("REMOTE_ADDR", "")
