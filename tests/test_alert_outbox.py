"""Tunnel alerts go through the email outbox: claimed in the refresh's transaction, sent
after it, so a mail server refusing the customer's email after the engineer's was sent
never emails the engineer again, and the customer's email follows once it recovers.

The refreshes run as in production, committing their own transactions (no test
transaction around them), against the sandbox and a mail backend that refuses one
chosen address as an SMTP server does.
"""

import pytest

from tests.mail_support import FlakyMailServer, recipients, retries_due
from tests.status_support import bring_live, flip, live_vpn
from vpn.models import Notification, NotificationState, TunnelStatusChange
from vpn.services.notifications import MAX_ATTEMPTS
from vpn.services.status import status_refresh

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "noc@customer.example"


@pytest.fixture(autouse=True)
def no_hold_off(settings):
    """Weigh changes at once."""
    settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0


@pytest.fixture
def mail_server(settings, mailoutbox):
    return FlakyMailServer.installed(settings)


def test_customer_email_failing_after_the_engineers_never_emails_the_engineer_twice(
    postgres, aws_sandbox, se, mail_server, mailoutbox
):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, contact_email=CONTACT))
    mail_server.refused = {CONTACT}

    flip(aws_sandbox, request, 1, "DOWN", message="IPSEC IS DOWN")
    run = status_refresh()
    assert run.alerts_sent == 1
    assert recipients(mailoutbox) == [se.email]
    assert "tunnel 1" in mailoutbox[0].subject
    customer = Notification.objects.get(recipient=CONTACT)
    assert (customer.state, customer.attempts) == (NotificationState.FAILED, 1)
    assert "SMTPRecipientsRefused" in customer.last_error
    # The change was weighed once and for all: the alert is in the outbox, not pending.
    assert not TunnelStatusChange.objects.filter(notified_at__isnull=True).exists()

    # Refreshes before the retry is due email nobody.
    for _ in range(3):
        assert status_refresh().alerts_sent == 0
    assert recipients(mailoutbox) == [se.email]
    assert Notification.objects.get(recipient=CONTACT).attempts == 1

    # Due, but the server still refuses: only the customer's email is tried again.
    retries_due()
    assert status_refresh().alerts_sent == 0
    assert recipients(mailoutbox) == [se.email]
    assert Notification.objects.get(recipient=CONTACT).attempts == 2

    # The server recovers: the customer's email goes out, once.
    mail_server.refused = set()
    retries_due()
    assert status_refresh().alerts_sent == 1
    assert recipients(mailoutbox) == [se.email, CONTACT]
    assert "tunnel 1" in mailoutbox[1].subject
    for _ in range(3):
        retries_due()
        assert status_refresh().alerts_sent == 0
    assert recipients(mailoutbox) == [se.email, CONTACT]

    rows = {row.recipient: row for row in Notification.objects.all()}
    assert set(rows) == {se.email, CONTACT}
    assert {row.state for row in rows.values()} == {NotificationState.SENT}
    assert (rows[se.email].attempts, rows[CONTACT].attempts) == (1, 3)
    assert rows[CONTACT].last_error == ""


def test_recovery_is_alerted_while_the_outage_email_still_waits(
    postgres, aws_sandbox, se, mail_server, mailoutbox
):
    """A later alert is an email of its own: the first one's retry does not hold it up."""
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, contact_email=CONTACT))
    mail_server.refused = {CONTACT}
    flip(aws_sandbox, request, 1, "DOWN")
    status_refresh()
    flip(aws_sandbox, request, 1, "UP")
    assert status_refresh().alerts_sent == 1  # the engineer hears of the recovery
    assert recipients(mailoutbox) == [se.email, se.email]

    mail_server.refused = set()
    retries_due()
    assert status_refresh().alerts_sent == 2  # both customer emails, oldest first
    assert recipients(mailoutbox) == [se.email, se.email, CONTACT, CONTACT]
    assert "down" in mailoutbox[2].subject.lower()
    assert "down" not in mailoutbox[3].subject.lower()


def test_an_email_refused_every_time_is_given_up_and_the_others_still_go(
    postgres, aws_sandbox, se, mail_server, mailoutbox
):
    request = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, contact_email=CONTACT))
    mail_server.refused = {CONTACT}
    flip(aws_sandbox, request, 1, "DOWN")
    for _ in range(MAX_ATTEMPTS + 2):
        status_refresh()
        retries_due()

    customer = Notification.objects.get(recipient=CONTACT)
    assert (customer.state, customer.attempts) == (NotificationState.FAILED, MAX_ATTEMPTS)
    assert customer.next_attempt_at is None  # given up: no sender picks it again
    assert recipients(mailoutbox) == [se.email]
