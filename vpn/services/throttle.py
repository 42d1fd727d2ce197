"""Rate limits: counters kept in the Django cache, each over a window that starts at its
key's first hit (not at a boundary of the clock, so two hits a second apart are always
counted together).

Written here rather than taken from django-ratelimit: the public intake pages need two
counters per hit (the client's IP, and the link's token, hashed) checked before the token
is even looked up, with limits read from settings at call time so tests can lower them.
That is a few lines over `cache.add` and `cache.incr`, and spares a dependency.

The cache is Redis (see `CACHES` in portal/settings.py), so every web process counts
against the same limits; `add` and `incr` are atomic there. Only a portal run without any
Redis keeps the counters in its own memory, per process.
"""

import hashlib

from django.core.cache import cache


def throttle_hit(*, scope: str, key: str, limit: int, window: int) -> bool:
    """Count one hit of `key` in `scope`; True when it is over `limit` within `window`
    seconds of the first hit counted.

    Keys are hashed before they reach the cache, so a token never sits in it in clear.
    """
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    cache_key = f"throttle:{scope}:{digest}"
    # The first hit opens the window: the counter expires when it ends.
    if cache.add(cache_key, 1, timeout=window):
        return limit < 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this is the first hit again
        cache.set(cache_key, 1, timeout=window)
        count = 1
    else:
        if count == 1:
            # Redis's INCR recreates a key that expired just before it, with no expiry.
            cache.touch(cache_key, timeout=window)
    return count > limit


def throttle_retry_after(*, window: int) -> int:
    """Seconds after which a refused client may try again (for the Retry-After header):
    the whole window, since the cache does not say how much of it is left."""
    return window
