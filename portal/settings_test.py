"""Settings for the test suite: the real settings with faster password hashing.

Reads nothing from the environment itself; the database and Redis still come from
`DATABASE_URL` and `REDIS_URL` (PostgreSQL and a real Redis in CI).
"""

from urllib.parse import urlsplit, urlunsplit

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_SANDBOX_STATE_DELAY = 0.0

# Tests use their own Redis database, so that a worker started by `make run` on the same
# Redis never takes a test's jobs (and the tests never empty the portal's queue). The
# number goes into the URL's path: redis-py lets a path in the URL win over a `DB` option.
_redis = urlsplit(REDIS_URL)  # noqa: F405
TEST_REDIS_URL = urlunsplit(_redis._replace(path=f"/{TEST_REDIS_DB}"))  # noqa: F405
RQ_QUEUES = {
    "default": {**RQ_QUEUES["default"], "URL": TEST_REDIS_URL, "ASYNC": True},  # noqa: F405
}
