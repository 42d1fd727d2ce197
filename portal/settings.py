"""Settings of the portal: the only module that reads the environment.

Every value comes from an environment variable (or `.env`), through django-environ.
Debug is off unless `DJANGO_DEBUG=true` (`make run` sets it): without debug,
`DJANGO_SECRET_KEY` and `PSK_ENCRYPTION_KEYS` are mandatory and the HTTPS settings are
on. The other defaults suit development: SQLite, console email, a local Redis.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Development values, committed on purpose so that `make run` works on a fresh clone;
# never used with debug off.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
_DEV_PSK_KEY = "ZGV2LW9ubHktcHNrLWtleS1kby1ub3QtdXNlLTEyMzQ="


def _secret(name: str, *, development_value: str) -> str:
    """The secret in variable `name`; the repository's development value only in debug.

    Without debug a missing (or committed) value stops the portal at start-up, naming the
    variable, rather than letting it encrypt keys with a value anyone can read.
    """
    value = env.str(name, default="").strip()
    if DEBUG:
        return value or development_value
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. It is required unless DJANGO_DEBUG=true (see .env.example)."
        )
    if development_value in value:
        raise ImproperlyConfigured(
            f"{name} holds the development value committed in the repository; "
            "set a secret of your own (see .env.example)."
        )
    return value


SECRET_KEY = _secret("DJANGO_SECRET_KEY", development_value=_DEV_SECRET_KEY)
# Fernet keys, comma-separated; the first encrypts, all decrypt (so keys can be rotated).
PSK_ENCRYPTION_KEYS = [
    key.strip()
    for key in _secret("PSK_ENCRYPTION_KEYS", development_value=_DEV_PSK_KEY).split(",")
    if key.strip()
]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves the static files under runserver too, as it does in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_rq",
    "axes",
    "csp",
    "mozilla_django_oidc",
    "vpn",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after the security headers: no session, no login, no query.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (see below).
    "csp.middleware.CSPMiddleware",
    "portal.security_headers.PermissionsPolicyMiddleware",
    # A NUL or non-UTF-8 byte in a query string, form or cookie is a 400 for every page.
    "portal.middleware.UnreadableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view is marked `login_not_required`.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vpn.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: each web thread and worker keeps its connection for
# DATABASE_CONN_MAX_AGE seconds (0 closes it after every request) instead of opening one
# per request, and checks it before reuse, so a connection the database dropped is
# replaced rather than failing a page. Peak connections = web processes x threads +
# workers + cron: see docs/deploy.md.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database host that does not answer fails a page (and /readyz) within seconds
    # rather than after the system's TCP timeout; `?connect_timeout=` in the URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes refuses a locked-out login before the password is even checked. Staff sign
# in through the company's single sign-on (OpenID Connect) when it is configured, and
# with a local password (break-glass) unless LOCAL_PASSWORD_LOGIN is off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "vpn.sso.StaffOidcBackend",
    "vpn.sso.LocalPasswordBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "vpn:dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Single sign-on (OpenID Connect, mozilla-django-oidc) --------------------------------
# On when OIDC_RP_CLIENT_ID is set; the provider's endpoints and the client's secret are
# then required. Users are matched by the OIDC_USERNAME_CLAIM claim, created at their
# first login, and at every login put in exactly the portal groups that their
# OIDC_GROUPS_CLAIM claim maps to: OIDC_SE_GROUPS (Solutions engineers) and
# OIDC_OPS_GROUPS (Ops) list the provider's group names. A user in none is refused.
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile")
OIDC_USERNAME_CLAIM = env("OIDC_USERNAME_CLAIM", default="preferred_username")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_SE_GROUPS = env.list("OIDC_SE_GROUPS", default=[])
OIDC_OPS_GROUPS = env.list("OIDC_OPS_GROUPS", default=[])
# The login page's button: "Sign in with <this>".
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="single sign-on")
OIDC_USE_PKCE = True
# A provider that does not answer fails the login in seconds, not minutes.
OIDC_TIMEOUT = 10
# mozilla-django-oidc redirects here as is (no URL name).
LOGIN_REDIRECT_URL_FAILURE = "/login/"
if OIDC_RP_CLIENT_ID:
    _oidc_missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if _oidc_missing:
        raise ImproperlyConfigured(
            f"OIDC_RP_CLIENT_ID is set, so single sign-on needs {', '.join(_oidc_missing)} "
            "too (see docs/deploy.md)."
        )
# Break-glass: local passwords. Off, the login page has no password form, a password
# posted to it is refused, and the admin's own login page sends people to the portal's.
LOCAL_PASSWORD_LOGIN = env.bool("LOCAL_PASSWORD_LOGIN", default=True)
if not LOCAL_PASSWORD_LOGIN and not OIDC_RP_CLIENT_ID:
    raise ImproperlyConfigured(
        "LOCAL_PASSWORD_LOGIN is off and single sign-on is not configured "
        "(OIDC_RP_CLIENT_ID): nobody could log in."
    )

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` (run by `make serve`) gathers them here; WhiteNoise serves them.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Hashed names (a changed file gets a new URL, so browsers may keep each one for a year)
# and gzip and Brotli copies made once by collectstatic. With debug on, files are served
# under their plain names straight from the source folders, without collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Queue. With RQ_ASYNC off, jobs run in the web process (used by `make run` when no
# Redis can be had); django-rq enqueues only after the transaction commits. "default"
# holds provisioning and everything else; "packs" the config pack renders (seconds of
# WeasyPrint each), which workers take only when "default" is empty (`vpn.events`).
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
RQ_ASYNC = env.bool("RQ_ASYNC", default=True)
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600, "ASYNC": RQ_ASYNC},
    "packs": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600, "ASYNC": RQ_ASYNC},
}


def _redis_database(url: str, database: int) -> str:
    """Redis URL `url` pointing at database `database` (a path in the URL wins over options)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _redis_target(url: str) -> tuple[str | None, int, str]:
    """The server and database a Redis URL names: (host, port, database)."""
    parts = urlsplit(url)
    return parts.hostname, parts.port or 6379, parts.path.strip("/") or "0"


# Cache. The customer link's rate limits and the login throttling's counters live here,
# so every process must share it: Redis, on a database of its own, never the queue's
# (`cache.clear()` empties its whole database). CACHE_URL names it; by default it is
# database 1 of REDIS_URL's server. Only when there is no Redis at all (RQ_ASYNC=false, as
# `make run` does when no Redis can be had) is it each process's own memory, and the
# limits then count per process.
CACHE_URL = env("CACHE_URL", default="")
if not CACHE_URL and not RQ_ASYNC:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # django-axes warns that counters in memory are not shared: with jobs running in the
    # web process there is only the one process.
    SILENCED_SYSTEM_CHECKS = ["axes.W001"]
elif not CACHE_URL or urlsplit(CACHE_URL).scheme in ("redis", "rediss"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL or _redis_database(REDIS_URL, 1),
            # A stalled Redis must fail a page, not hang it.
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
    if _redis_target(CACHES["default"]["LOCATION"]) == _redis_target(REDIS_URL):
        raise ImproperlyConfigured(
            "The cache would share the queue's Redis database (REDIS_URL), and clearing "
            "the cache would empty the queue: set CACHE_URL to another database."
        )
else:
    CACHES = {"default": env.cache_url("CACHE_URL")}

# AWS. With AWS_ENDPOINT_URL set (the local sandbox), boto3 talks to it instead of AWS.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default=None)
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
# STS is global; its calls (AssumeRole into the accounts of `vpn.models.AwsAccount`) are
# signed for this region.
AWS_STS_REGION = env("AWS_STS_REGION", default="us-east-1")
# Whether placement asks Service Quotas for each account's quotas (off: AWS's defaults and
# the accounts' own overrides).
AWS_READ_SERVICE_QUOTAS = env.bool("AWS_READ_SERVICE_QUOTAS", default=True)
# The id of the account the keys above reach (the default account), as listings name it.
AWS_DEFAULT_ACCOUNT_ID = env("AWS_DEFAULT_ACCOUNT_ID", default="123456789012")
AWS_SANDBOX_STATE_DELAY = env.float("AWS_SANDBOX_STATE_DELAY", default=3.0)
# botocore's retries per call (throttling, server errors), before a step fails:
# AWS_MAX_ATTEMPTS retries after the first try (botocore's `max_attempts`). Adaptive mode
# also slows the client down while AWS throttles it.
AWS_RETRY_MODE = env("AWS_RETRY_MODE", default="adaptive")
AWS_MAX_ATTEMPTS = env.int("AWS_MAX_ATTEMPTS", default=8)
# Seconds a call may wait for AWS's answer before botocore gives the attempt up (and
# retries it).
AWS_READ_TIMEOUT_SECONDS = env.int("AWS_READ_TIMEOUT_SECONDS", default=30)

# Provisioning. Each request's VPC gets a block of this size from the pool.
VPC_CIDR_POOL = env("VPC_CIDR_POOL", default="172.20.0.0/14")
VPC_PREFIX_LENGTH = env.int("VPC_PREFIX_LENGTH", default=24)
# Amazon-side ASNs for VPN gateways (AWS allows 64512-65534 and 4200000000-4294967294).
AMAZON_ASN_RANGE = env.list("AMAZON_ASN_RANGE", cast=int, default=[64512, 65534])
# How often a step waiting for AWS (a VPN connection pending, ...) looks again.
PROVISION_POLL_SECONDS = env.int("PROVISION_POLL_SECONDS", default=10)
# Pauses before RQ runs a step again after a transient failure; then the request fails.
PROVISION_RETRY_INTERVALS = env.list("PROVISION_RETRY_INTERVALS", cast=int, default=[15, 60, 300])

# Changes to live VPNs (vpn.services.changes): how long a change waits for a tunnel it
# changed to be UP again (counted in checks, one per PROVISION_POLL_SECONDS) before it
# stops, leaving the next tunnel untouched; how many transient AWS errors in a row it
# rides out.
CHANGE_TUNNEL_WAIT_SECONDS = env.int("CHANGE_TUNNEL_WAIT_SECONDS", default=1800)
CHANGE_TRANSIENT_ERRORS = env.int("CHANGE_TRANSIENT_ERRORS", default=5)

# Tunnel status (vpn.services.status): how often the periodic refresh asks AWS; how long a
# tunnel must stay down (or back up) before anyone is emailed, so that a flapping tunnel
# sends nothing until it settles; how often open pages poll the stored status.
STATUS_REFRESH_SECONDS = env.int("STATUS_REFRESH_SECONDS", default=60)
TUNNEL_ALERT_HOLD_OFF_SECONDS = env.int("TUNNEL_ALERT_HOLD_OFF_SECONDS", default=120)
STATUS_PAGE_POLL_SECONDS = env.int("STATUS_PAGE_POLL_SECONDS", default=5)
CUSTOMER_PAGE_POLL_SECONDS = env.int("CUSTOMER_PAGE_POLL_SECONDS", default=15)
# Days of refresh runs kept (one row per run, shown as "status as of").
STATUS_REFRESH_KEEP_DAYS = env.int("STATUS_REFRESH_KEEP_DAYS", default=7)
# A refresh reads its (account, region) pairs at once, this many calls at a time; a pair
# that has not answered this long after the refresh began is recorded as failed (under
# the refresh interval, so that a run never overlaps the next).
STATUS_REFRESH_CONCURRENCY = env.int("STATUS_REFRESH_CONCURRENCY", default=20)
STATUS_REFRESH_TIMEOUT_SECONDS = env.int("STATUS_REFRESH_TIMEOUT_SECONDS", default=30)

# Tunnel logs (CloudWatch Logs): every new tunnel sends its IKE and BGP logs to this log
# group, one per region (log groups are regional), made idempotently before the VPN
# connection. The /aws/vendedlogs/ prefix keeps the log resource policy AWS writes for
# vended logs under its size cap however many groups there are. Retention in days: one
# of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365...).
TUNNEL_LOG_GROUP = env("TUNNEL_LOG_GROUP", default="/aws/vendedlogs/vpn-portal/tunnels")
TUNNEL_LOG_RETENTION_DAYS = env.int("TUNNEL_LOG_RETENTION_DAYS", default=30)
# How far back the request page's log panel reads, and how many events it shows.
TUNNEL_LOG_LOOKBACK_HOURS = env.int("TUNNEL_LOG_LOOKBACK_HOURS", default=24)
TUNNEL_LOG_PAGE_EVENTS = env.int("TUNNEL_LOG_PAGE_EVENTS", default=50)

# Diagnosis (vpn.services.diagnosis): a tunnel is flapping once it dropped (went from up
# to down) this many times within the window. A problem tunnel's diagnosis is read again
# (its log events) at once whenever its status changes, and, while it names no cause,
# after DIAGNOSIS_STALE_SECONDS (the logs may tell later).
DIAGNOSIS_FLAP_DROPS = env.int("DIAGNOSIS_FLAP_DROPS", default=3)
DIAGNOSIS_FLAP_WINDOW_SECONDS = env.int("DIAGNOSIS_FLAP_WINDOW_SECONDS", default=3600)
DIAGNOSIS_STALE_SECONDS = env.int("DIAGNOSIS_STALE_SECONDS", default=300)

# AWS endpoint maintenance (vpn.services.maintenance): how often every watched tunnel's
# pending maintenance is read (AWS announces it days ahead; one call per tunnel).
MAINTENANCE_CHECK_SECONDS = env.int("MAINTENANCE_CHECK_SECONDS", default=3600)

# Bearer token that lets a Prometheus server read /metrics without a login; empty: login only.
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# Address ranges the platform uses itself: no customer subnet may overlap them.
PLATFORM_RESERVED_CIDRS = env.list(
    "PLATFORM_RESERVED_CIDRS", default=["10.0.0.0/16", "172.17.0.0/16"]
)

# Email: console in development, SMTP in production (EMAIL_URL=smtp://user:pass@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="VPN portal <vpn-portal@localhost>")
# Base URL used in links sent by email.
PORTAL_BASE_URL = env("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

DASHBOARD_PAGE_SIZE = 25

# Tests that need PostgreSQL or Redis fail, rather than skip, when this is on (CI).
TEST_REQUIRE_SERVICES = env.bool("TEST_REQUIRE_SERVICES", default=False)
# The Redis database the tests use (and empty): never the portal's own.
TEST_REDIS_DB = env.int("TEST_REDIS_DB", default=13)
# The Redis database the tests' cache uses (and empties); neither the portal's nor the above.
TEST_CACHE_REDIS_DB = env.int("TEST_CACHE_REDIS_DB", default=14)

# Logging: one console handler, and every handler redacts customer-link tokens and
# pre-shared keys (portal.log_redaction). LOG_LEVEL=DEBUG opens the portal's own loggers
# and the queue's, never the AWS SDK's below INFO: at DEBUG botocore logs request
# parameters and response bodies, which carry the tunnels' pre-shared keys.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "portal.log_redaction.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Handlers that libraries attach themselves would bypass the redaction: Django's
        # (its console, the runserver access log, mail to ADMINS) and redis-py's. Their
        # records go to the root's handler instead.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "push_response": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "INFO"},
        "boto3": {"level": "INFO"},
        "s3transfer": {"level": "INFO"},
        "urllib3": {"level": "INFO"},
    },
}

# --- Security headers -------------------------------------------------------------------
# Content-Security-Policy (django-csp 4): everything from the portal's own origin, no
# inline script or style anywhere (scripts and styles are static files; htmx is told not
# to inject its indicator style), no eval, no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# No address of the portal (customer links hold tokens) leaves it in a Referer header.
SECURE_REFERRER_POLICY = "same-origin"
# Browser features no page of the portal uses, refused to it and to anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# --- Intake -----------------------------------------------------------------------------
# The engineer's request form and the customer's self-service link (vpn.validation,
# vpn.services.intake, vpn.views.customer).

# Documentation address ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are
# accepted as customer gateway IPs only while AWS is the local sandbox.
AWS_SANDBOX = bool(AWS_ENDPOINT_URL)

# How long a customer's intake link works, in days.
INTAKE_LINK_DAYS = env.int("INTAKE_LINK_DAYS", default=14)

# Rate limits of the public intake pages: at most N requests per window, counted per
# client IP and, separately, per link.
INTAKE_RATE_WINDOW_SECONDS = env.int("INTAKE_RATE_WINDOW_SECONDS", default=600)
INTAKE_RATE_LIMIT_PER_IP = env.int("INTAKE_RATE_LIMIT_PER_IP", default=120)
INTAKE_RATE_LIMIT_PER_TOKEN = env.int("INTAKE_RATE_LIMIT_PER_TOKEN", default=60)
# Proxies in front of the portal that append to X-Forwarded-For; 0 trusts none and
# counts REMOTE_ADDR (a client could otherwise pick its own address).
INTAKE_TRUSTED_PROXY_COUNT = env.int("INTAKE_TRUSTED_PROXY_COUNT", default=0)


# --- Login throttling -------------------------------------------------------------------
# django-axes: after AXES_FAILURE_LIMIT failed logins for one username from one address,
# that pair is locked out for AXES_COOLOFF_MINUTES (counted from the lock-out; attempts
# meanwhile, even with the right password, are refused and do not extend it). The
# counters live in the shared cache above; the address is the one the customer link's
# limits count (vpn.views.clients.client_ip, behind INTAKE_TRUSTED_PROXY_COUNT proxies).
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "vpn.views.clients.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The cache handler keeps no rows, so the admin pages for them would stay empty.
AXES_ENABLE_ADMIN = False

# --- Config packs -----------------------------------------------------------------------
# Every version of every config pack (PDFs and zips, vpn.services.packs) is kept in the
# default storage under MEDIA_ROOT. The full variants hold pre-shared keys: they are
# served only through the audited download views, never from MEDIA_URL by a web server,
# and the files are readable by the portal's own user only.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "media/"
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# WeasyPrint reports every layout step at INFO; only its warnings are worth a log line.
LOGGING["loggers"]["weasyprint.progress"] = {"level": "WARNING"}
