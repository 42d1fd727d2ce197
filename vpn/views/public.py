"""Pages reachable without logging in: liveness, readiness and the icon."""

import logging
from functools import cache
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

# The portal's icon: pages link it from the static files; /favicon.ico answers with it
# for browsers and tools that ask there regardless.
FAVICON = "favicon.svg"


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. It asks nothing of the database or Redis, so that an
    outage of either does not get every web process restarted (readiness says that)."""
    return HttpResponse("ok\n", content_type="text/plain")


logger = logging.getLogger(__name__)

# Seconds a readiness probe waits for Redis: a stalled server must fail the probe, not
# hold it past the load balancer's own timeout.
REDIS_PROBE_TIMEOUT = 3


def _database_problem() -> str:
    """Why the database does not answer, or "" when it does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("Readiness: the database does not answer: %s", exc)
        return f"the database does not answer ({type(exc).__name__})"
    return ""


def _redis_problem(what: str, url: str) -> str:
    """Why the Redis at `url` does not answer, or "" when it does."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_PROBE_TIMEOUT, socket_timeout=REDIS_PROBE_TIMEOUT
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        logger.warning("Readiness: the %s's Redis does not answer: %s", what, exc)
        return f"the {what}'s Redis does not answer ({type(exc).__name__})"
    finally:
        client.close()
    return ""


def _redis_targets() -> list[tuple[str, str]]:
    """The Redis servers the portal needs: the queue's and the cache's, when they are Redis."""
    targets = []
    queue = settings.RQ_QUEUES["default"]
    if queue.get("ASYNC", True):
        targets.append(("queue", queue["URL"]))
    cache_config = settings.CACHES["default"]
    if cache_config["BACKEND"].endswith("RedisCache"):
        targets.append(("cache", cache_config["LOCATION"]))
    return targets


@login_not_required
@never_cache
@require_GET
def ready(request: HttpRequest) -> HttpResponse:
    """Readiness for load balancers: 200 when the database and Redis answer, otherwise
    503 with the reasons (details go to the log, not to the public page)."""
    problems = [_database_problem()]
    problems += [_redis_problem(what, url) for what, url in _redis_targets()]
    problems = [problem for problem in problems if problem]
    if problems:
        return JsonResponse({"ready": False, "problems": problems}, status=503)
    return JsonResponse({"ready": True, "problems": []})


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
