"""Email notifications, rendered from templates named after what they announce, and the
outbox they go through.

`email_queue` writes an email as one `Notification` row per recipient, inside the
transaction that decides to send it: the email exists exactly when that work commits.
`emails_send` sends the rows that are due once that work has committed, claiming each
with a conditional update first (as Healthchecks' `sendalerts` claims a flip), so two
senders never send the same row. A failed send marks only its own row: it is tried
again after `RETRY_DELAYS`, up to `MAX_ATTEMPTS` in all, then given up (the admin lists
it). Nothing that was sent is ever sent again.

`email_send` sends at once, past the outbox: for emails that carry a secret (an intake
link's token), which must not be stored.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection, send_mail
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from vpn import events
from vpn.choices import CUSTOMER_DECOMMISSION_REASONS, Stage
from vpn.models import Notification, NotificationState, StageTransition, VpnRequest

logger = logging.getLogger(__name__)

# How long a failed email waits before each further attempt: the mail server gets hours
# to come back before the email is given up.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A claim this old belongs to a sender that died while sending: the row may be tried
# again (the email may then arrive twice, rather than never).
CLAIM_TIMEOUT = timedelta(minutes=15)
# Rows one pass sends at most; the rest wait for the next pass.
SEND_BATCH = 500

_ERROR_MAX = Notification._meta.get_field("last_error").max_length


def email_render(*, template: str, context: dict) -> tuple[str, str]:
    """Render `templates/vpn/email/<template>.txt`: its first line is the subject, the
    rest the body. Returns (subject, body)."""
    subject, _, body = render_to_string(f"vpn/email/{template}.txt", context).partition("\n")
    return subject.strip(), body.strip() + "\n"


def email_send(*, template: str, context: dict, to: list[str]) -> int:
    """Send an email now, past the outbox; returns how many were sent (0 or 1)."""
    recipients = [address for address in to if address]
    if not recipients:
        return 0
    subject, body = email_render(template=template, context=context)
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)


def email_queue(*, key: str, template: str, context: dict, to: list[str]) -> int:
    """Put an email in the outbox for each of `to`, at most once per `key` and recipient;
    returns how many rows were written.

    `key` names what the email announces (`"tunnel-alert:42"`): queueing the same key
    again for a recipient writes nothing. The rows become visible to `emails_send` when
    the caller's transaction commits.
    """
    recipients = list(dict.fromkeys(address for address in to if address))
    if not recipients:
        return 0
    subject, body = email_render(template=template, context=context)
    written = 0
    for recipient in recipients:
        _, created = Notification.objects.get_or_create(
            key=key, recipient=recipient, defaults={"subject": subject, "body": body}
        )
        written += created
    return written


def emails_send(*, key: str | None = None, key_prefix: str = "") -> int:
    """Send the outbox emails that are due (only those of `key`, or whose key starts with
    `key_prefix`, when given); returns how many were sent.

    Due: new, failed and past its retry time, or claimed by a sender that died. Each row
    is claimed by a conditional update before it is sent; a row another sender claimed
    first is left to it. Runs where the work that queued the emails has committed (a job,
    the end of the status refresh): a claim is then final the moment it is made.
    """
    now = timezone.now()
    rows = Notification.objects.filter(_due(now))
    if key is not None:
        rows = rows.filter(key=key)
    elif key_prefix:
        rows = rows.filter(key__startswith=key_prefix)
    ids = list(rows.order_by("pk").values_list("pk", flat=True)[:SEND_BATCH])
    if not ids:
        return 0
    connection = get_connection()
    return sum(_send_one(pk, connection=connection) for pk in ids)


def _due(now) -> Q:
    """The rows a sender may claim at `now`."""
    return Q(
        state__in=[NotificationState.PENDING, NotificationState.FAILED],
        next_attempt_at__lte=now,
    ) | Q(
        state=NotificationState.SENDING,
        claimed_at__lt=now - CLAIM_TIMEOUT,
        attempts__lt=MAX_ATTEMPTS,
    )


def _send_one(pk: int, *, connection) -> int:
    """Claim one row and send it; returns 1 if it was sent, 0 if it failed or was taken."""
    claimed_at = timezone.now()
    claimed = Notification.objects.filter(_due(claimed_at), pk=pk).update(
        state=NotificationState.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1
    )
    if claimed != 1:
        return 0  # Another sender got there first, or it is no longer due.
    row = Notification.objects.get(pk=pk)
    # Only this claim may record the outcome (not one that took over a stale claim).
    mine = Notification.objects.filter(pk=pk, claimed_at=claimed_at)
    message = EmailMessage(
        row.subject,
        row.body,
        settings.DEFAULT_FROM_EMAIL,
        [row.recipient],
        connection=connection,
    )
    try:
        message.send()
    except Exception as exc:  # any backend failure: this row alone waits for a retry
        retry = row.attempts < MAX_ATTEMPTS
        mine.update(
            state=NotificationState.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:_ERROR_MAX],
            next_attempt_at=claimed_at + RETRY_DELAYS[row.attempts - 1] if retry else None,
        )
        logger.warning(
            "Email %s to %s failed (attempt %s of %s)%s: %s",
            row.key,
            row.recipient,
            row.attempts,
            MAX_ATTEMPTS,
            "" if retry else "; given up",
            exc,
        )
        return 0
    mine.update(
        state=NotificationState.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
    )
    return 1


def transition_notify(*, transition_id: int) -> int:
    """Tell the owning engineer that a request was submitted (by someone else: the
    customer, a colleague) or has failed; returns how many emails were sent now (a failed
    one is retried from the outbox)."""
    transition = StageTransition.objects.select_related("request__customer", "request__owner").get(
        pk=transition_id
    )
    request = transition.request
    if request.owner is None or transition.to_stage not in (Stage.SUBMITTED, Stage.FAILED):
        return 0
    if transition.to_stage == Stage.SUBMITTED and transition.actor_id == request.owner_id:
        return 0  # The engineer submitted it themselves: it is no news to them.
    key = f"transition:{transition.pk}"
    email_queue(
        key=key,
        template=f"transition_{transition.to_stage}",
        context={
            "request": request,
            "transition": transition,
            "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
        },
        to=[request.owner.email],
    )
    return emails_send(key=key)


def customer_confirmed_notify(*, request_id: int) -> int:
    """Tell the owning engineer that the customer says their side is configured; returns
    how many emails were sent now (a failed one is retried from the outbox)."""
    request = VpnRequest.objects.select_related("customer", "owner").get(pk=request_id)
    if request.owner is None:
        return 0
    key = f"customer-confirmed:{request.pk}"
    email_queue(
        key=key,
        template="customer_confirmed",
        context={
            "request": request,
            "tunnels": request.tunnels.order_by("position"),
            "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
        },
        to=[request.owner.email],
    )
    return emails_send(key=key)


def decommission_notice_queue(*, request: VpnRequest, started_at) -> int:
    """Put the customer's notice that their VPN is being removed, when and why, in the
    outbox (inside the caller's transaction), and send it once that has committed;
    returns how many rows were written (none without a contact address)."""
    written = email_queue(
        key=f"decommission:{request.pk}",
        template="decommission_customer",
        context={
            "request": request,
            "started_at": started_at,
            "reason": CUSTOMER_DECOMMISSION_REASONS.get(request.decommission_reason, ""),
        },
        to=[request.customer.contact_email],
    )
    if written:
        events.job_enqueue("vpn.jobs.emails_send")
    return written
