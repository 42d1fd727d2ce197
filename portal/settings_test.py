"""Settings for the test suite: the real settings with faster password hashing.

Reads nothing from the environment itself; the database and Redis still come from
`DATABASE_URL` and `REDIS_URL` (PostgreSQL and a real Redis in CI).
"""

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_SANDBOX_STATE_DELAY = 0.0

# Tests use their own Redis database, so that a worker started by `make run` on the same
# Redis never takes a test's jobs (and the tests never empty the portal's queue).
RQ_QUEUES = {
    "default": {**RQ_QUEUES["default"], "URL": REDIS_URL, "DB": 13, "ASYNC": True},  # noqa: F405
}
