"""Pages reachable without logging in."""

from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

# The portal's icon: pages link it from the static files; /favicon.ico answers with it
# for browsers and tools that ask there regardless.
FAVICON = "favicon.svg"


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: answers once the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain")


@cache
def _favicon() -> bytes | None:
    """The icon's bytes, read once per process."""
    path = finders.find(FAVICON)
    return Path(path).read_bytes() if path else None


@login_not_required
@cache_control(public=True, max_age=86400)
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """The portal's icon (an SVG), for `/favicon.ico`."""
    content = _favicon()
    if content is None:
        raise Http404("No icon.")
    return HttpResponse(content, content_type="image/svg+xml")
