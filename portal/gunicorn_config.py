"""gunicorn's configuration for the portal's web process (the Procfile's `web`).

gunicorn reads this file itself, before Django starts, so the server's own variables
are read here: `PORT` (8000), `WEB_HOST` (0.0.0.0, every interface, for a load balancer
or a reverse proxy in front), `WEB_CONCURRENCY` (worker processes, 3) and `WEB_THREADS`
(threads per process, 4). Each thread keeps one persistent database connection, so the
web's share of PostgreSQL's connections is at most WEB_CONCURRENCY x WEB_THREADS.
"""

import os

bind = f"{os.environ.get('WEB_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# Threads, not one process per request: pages mostly wait on PostgreSQL and Redis.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request still running after this long is cut off and its worker replaced.
timeout = 60
# On SIGTERM, requests under way get this long to finish before the workers stop.
graceful_timeout = 30
# Behind a load balancer that keeps connections open between requests.
keepalive = 5
# Workers are replaced now and then, so that no slow growth of memory lasts.
max_requests = 2000
max_requests_jitter = 200
# No control socket: nothing uses it, and several servers on one machine would share
# its default path.
control_socket_disable = True

# The access log goes through the same redaction as the portal's own logs: a customer
# link's path holds its token (/intake/<token>/), and would otherwise be printed as is.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "portal.log_redaction.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
