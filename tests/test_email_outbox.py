"""The email outbox itself: an email exists only if the work that queued it committed, is
queued once per key and recipient, is claimed before it is sent (two senders never send
the same row), is retried alone when it fails, and is read-only in the admin."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import VpnRequestFactory
from tests.mail_support import FlakyMailServer, recipients, retries_due
from vpn import jobs
from vpn.choices import Stage
from vpn.models import Notification, NotificationState, VpnRequest
from vpn.services.notifications import CLAIM_TIMEOUT, email_queue, emails_send
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db

FIRST, SECOND = "first@example.com", "second@example.com"


@pytest.fixture
def mail_server(settings, mailoutbox):
    return FlakyMailServer.installed(settings)


@pytest.fixture(autouse=True)
def vpn_request(se):
    """The request the test emails announce things about."""
    return VpnRequestFactory(owner=se, customer__name="Acme")


def _queue(*, key: str = "test:1", to=(FIRST, SECOND)) -> int:
    """Queue a real template's email about the test's request."""
    request = VpnRequest.objects.get()
    return email_queue(
        key=key,
        template="customer_confirmed",
        context={"request": request, "tunnels": [], "url": "https://portal.example/r/1/"},
        to=list(to),
    )


def test_an_email_is_queued_once_per_key_and_recipient(mail_server, mailoutbox):
    assert _queue() == 2
    assert _queue() == 0  # the same announcement again writes nothing
    assert _queue(key="test:2", to=(FIRST,)) == 1
    row = Notification.objects.filter(key="test:1").first()
    assert row.subject.endswith("the customer has configured their side")
    assert "Acme" in row.subject
    assert row.body.endswith("VPN onboarding portal\n")

    assert emails_send() == 3
    assert recipients(mailoutbox) == [FIRST, SECOND, FIRST]
    assert emails_send() == 0  # nothing is ever sent twice
    assert len(mailoutbox) == 3


def test_work_rolled_back_leaves_no_email(mail_server, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue()
        raise RuntimeError("the work that announced it failed")
    assert not Notification.objects.exists()
    assert emails_send() == 0
    assert mailoutbox == []


def test_a_failed_email_is_retried_alone_when_due(mail_server, mailoutbox):
    _queue()
    mail_server.refused = {FIRST}
    assert emails_send() == 1
    assert recipients(mailoutbox) == [SECOND]
    failed = Notification.objects.get(recipient=FIRST)
    assert (failed.state, failed.attempts) == (NotificationState.FAILED, 1)
    assert failed.next_attempt_at > timezone.now()

    assert emails_send() == 0  # not due yet
    mail_server.refused = set()
    retries_due()
    assert emails_send() == 1
    assert recipients(mailoutbox) == [SECOND, FIRST]
    assert Notification.objects.get(recipient=FIRST).attempts == 2
    assert Notification.objects.get(recipient=SECOND).attempts == 1


def test_a_key_limits_what_is_sent(mail_server, mailoutbox):
    _queue(key="test:1", to=(FIRST,))
    _queue(key="test:10", to=(SECOND,))
    assert emails_send(key="test:1") == 1
    assert recipients(mailoutbox) == [FIRST]
    assert emails_send(key_prefix="other:") == 0
    assert emails_send(key_prefix="test:") == 1


def test_a_claim_whose_sender_died_is_taken_over_and_a_live_one_is_not(mail_server, mailoutbox):
    _queue()
    now = timezone.now()
    Notification.objects.filter(recipient=FIRST).update(
        state=NotificationState.SENDING,
        attempts=1,
        claimed_at=now - CLAIM_TIMEOUT - timedelta(minutes=1),
    )
    Notification.objects.filter(recipient=SECOND).update(
        state=NotificationState.SENDING, attempts=1, claimed_at=now
    )
    assert emails_send() == 1
    assert recipients(mailoutbox) == [FIRST]
    assert Notification.objects.get(recipient=FIRST).attempts == 2
    assert Notification.objects.get(recipient=SECOND).state == NotificationState.SENDING


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_email_once(postgres, mail_server, mailoutbox):
    """A second sender starts while the first is sending (its own connection, as another
    worker): the row the first claimed is not sent again, the other row is sent once."""
    _queue()
    second_sender: dict[str, int] = {}

    def another_worker() -> None:
        try:
            second_sender["sent"] = emails_send()
        finally:
            connection.close()

    def start_another_worker() -> None:
        worker = threading.Thread(target=another_worker)
        worker.start()
        worker.join()

    mail_server.while_sending = start_another_worker
    first_sender = emails_send()

    # The second sender took the row the first had not claimed yet; each row once.
    assert (first_sender, second_sender["sent"]) == (1, 1)
    assert sorted(recipients(mailoutbox)) == [FIRST, SECOND]
    assert set(Notification.objects.values_list("state", "attempts")) == {
        (NotificationState.SENT, 1)
    }


def test_transition_emails_go_through_the_outbox(se, vpn_request, mail_server, mailoutbox):
    """The engineer's "submitted" email: a failure is retried by the periodic sender, and
    the job running twice emails once."""
    request = vpn_request
    transition = request_move(request_id=request.pk, to_stage=Stage.SUBMITTED, follow_ups=False)
    mail_server.refused = {se.email}
    jobs.transition_notify(transition.pk)
    assert mailoutbox == []

    mail_server.refused = set()
    retries_due()
    jobs.emails_send()  # the periodic sweep (vpn.cron)
    jobs.transition_notify(transition.pk)  # a job run again queues nothing new
    assert recipients(mailoutbox) == [se.email]
    assert "ready for review" in mailoutbox[0].subject


def test_the_outbox_is_read_only_in_the_admin(client, ops):
    ops.is_superuser = True
    ops.save()
    client.force_login(ops)
    _queue(to=(FIRST,))
    row = Notification.objects.get()
    base = "/admin/vpn/notification/"

    assert client.get(base).status_code == 200
    page = client.get(f"{base}{row.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert FIRST in html
    assert "<textarea" not in html and 'name="recipient"' not in html
    assert client.post(f"{base}{row.pk}/change/", {"recipient": SECOND}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Notification.objects.get().recipient == FIRST
