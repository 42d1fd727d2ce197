"""Settings for the test suite: the production settings, with test keys and faster hashing.

Debug stays off, as in production, so the tests exercise the settings a deployment runs.
Two things differ: the keys are the suite's own (set here, before the real settings read
them, so the repository's development keys are not used outside debug either), and the
HTTPS-only settings are off, because the test client and the browser tests' live server
speak plain HTTP. The database and Redis still come from `DATABASE_URL` and `REDIS_URL`
(PostgreSQL and a real Redis in CI); the queue and the cache each use a Redis database of
the tests' own (`TEST_REDIS_DB`, `TEST_CACHE_REDIS_DB`).
"""

import os
from urllib.parse import urlsplit, urlunsplit

import redis
from django.core.exceptions import ImproperlyConfigured

# Keys for test data only: made up for the suite, never a deployment's.
os.environ["DJANGO_SECRET_KEY"] = "test-suite-secret-key-signing-nothing-outside-the-tests"  # noqa: S105
os.environ["PSK_ENCRYPTION_KEYS"] = "ZmVybmV0LWtleS1vZi10aGUtdGVzdC1zdWl0ZS1vayE="

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files under their plain names, so that the suite needs no collectstatic. The
# tests of static serving and the browser's CSP walk switch to the production storage
# (tests/static_support.py), after a collectstatic of their own.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_SANDBOX_STATE_DELAY = 0.0
# Only the tests of placement turn this on: the others approve without any AWS call (and
# count the calls of provisioning alone).
AWS_READ_SERVICE_QUOTAS = False

# Plain HTTP in tests: no redirect to HTTPS, and cookies a browser sends over HTTP.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Tests use their own Redis database, so that a worker started by `make run` on the same
# Redis never takes a test's jobs (and the tests never empty the portal's queue). The
# number goes into the URL's path: redis-py lets a path in the URL win over a `DB` option.
_redis = urlsplit(REDIS_URL)  # noqa: F405
TEST_REDIS_URL = urlunsplit(_redis._replace(path=f"/{TEST_REDIS_DB}"))  # noqa: F405
RQ_QUEUES = {
    name: {**queue, "URL": TEST_REDIS_URL, "ASYNC": True}
    for name, queue in RQ_QUEUES.items()  # noqa: F405
}

# The cache (rate limits, login throttling) on a Redis database of the tests' own too:
# the tests clear it before and after each test. Without a Redis that answers (a machine
# without one, services not required) it is in memory, and the tests that need it shared
# skip.
if TEST_CACHE_REDIS_DB == TEST_REDIS_DB:  # noqa: F405
    raise ImproperlyConfigured("TEST_CACHE_REDIS_DB must differ from TEST_REDIS_DB (the queue's).")
TEST_CACHE_URL = urlunsplit(_redis._replace(path=f"/{TEST_CACHE_REDIS_DB}"))  # noqa: F405


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


if TEST_REQUIRE_SERVICES or _redis_answers(TEST_CACHE_URL):  # noqa: F405
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_CACHE_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
