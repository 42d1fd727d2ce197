"""The portal's periodic jobs, for RQ's cron scheduler: `python manage.py rqcron vpn.cron`.

The tunnel status refresh runs every `STATUS_REFRESH_SECONDS`. A run that has waited in
the queue for a whole interval is dropped (its `ttl`): the next one is due anyway, and a
backlog of refreshes would only ask AWS the same question several times.

The email outbox is swept every minute: an email whose send failed is tried again once
it is due for a retry (alerts are also sent, and retried, by each refresh).

AWS's pending endpoint maintenance is read every `MAINTENANCE_CHECK_SECONDS` (an hour):
one call per tunnel, for news AWS gives days ahead. The same job then applies it for the
requests whose customer's window is open (a window is at least an hour, so a read falls
inside it).
"""

from django.conf import settings
from rq import cron

from vpn import jobs

EMAILS_SEND_SECONDS = 60

cron.register(
    jobs.status_refresh,
    "default",
    interval=settings.STATUS_REFRESH_SECONDS,
    ttl=settings.STATUS_REFRESH_SECONDS,
    job_timeout=max(settings.STATUS_REFRESH_SECONDS * 5, 300),
)
cron.register(
    jobs.emails_send,
    "default",
    interval=EMAILS_SEND_SECONDS,
    ttl=EMAILS_SEND_SECONDS,
)
cron.register(
    jobs.maintenance_refresh,
    "default",
    interval=settings.MAINTENANCE_CHECK_SECONDS,
    ttl=settings.MAINTENANCE_CHECK_SECONDS,
    job_timeout=max(settings.MAINTENANCE_CHECK_SECONDS, 600),
)
