"""Settings for the test suite: the production settings, with test keys and faster hashing.

Debug stays off, as in production, so the tests exercise the settings a deployment runs.
Two things differ: the keys are the suite's own (set here, before the real settings read
them, so the repository's development keys are not used outside debug either), and the
HTTPS-only settings are off, because the test client and the browser tests' live server
speak plain HTTP. The database and Redis still come from `DATABASE_URL` and `REDIS_URL`
(PostgreSQL and a real Redis in CI).
"""

import os
from urllib.parse import urlsplit, urlunsplit

# Keys for test data only: made up for the suite, never a deployment's.
os.environ["DJANGO_SECRET_KEY"] = "test-suite-secret-key-signing-nothing-outside-the-tests"  # noqa: S105
os.environ["PSK_ENCRYPTION_KEYS"] = "ZmVybmV0LWtleS1vZi10aGUtdGVzdC1zdWl0ZS1vayE="

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_SANDBOX_STATE_DELAY = 0.0

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
    "default": {**RQ_QUEUES["default"], "URL": TEST_REDIS_URL, "ASYNC": True},  # noqa: F405
}
