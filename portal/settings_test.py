"""Settings for the test suite: the real settings with faster password hashing.

Reads nothing from the environment itself; the database and Redis still come from
`DATABASE_URL` and `REDIS_URL` (PostgreSQL and a real Redis in CI).
"""

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AWS_SANDBOX_STATE_DELAY = 0.0
