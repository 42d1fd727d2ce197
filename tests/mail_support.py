"""A mail server for the outbox tests that fails the way SMTP servers do, on demand.

`FlakyMailServer` is a Django email backend: it refuses every message to the addresses
in `refused` (with `SMTPRecipientsRefused`, as Django's SMTP backend raises when the
server answers 550) and delivers the others to `django.core.mail.outbox`, as the
test backend does. `while_sending`, when set, runs once in the middle of the next send,
to let a test start a second sender at that very moment.
"""

import smtplib
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar

from django.core.mail.backends import locmem
from django.utils import timezone

from vpn.models import Notification


class FlakyMailServer(locmem.EmailBackend):
    """Refuses mail to `refused`, delivers the rest to the test outbox."""

    refused: ClassVar[set[str]] = set()
    while_sending: ClassVar[Callable[[], None] | None] = None

    def send_messages(self, messages):
        """Deliver each message, or raise as SMTP does for a refused recipient."""
        hook, FlakyMailServer.while_sending = FlakyMailServer.while_sending, None
        if hook is not None:
            hook()
        for message in messages:
            bad = sorted(set(message.recipients()) & self.refused)
            if bad:
                raise smtplib.SMTPRecipientsRefused(
                    {address: (550, b"5.1.1 Mailbox unavailable") for address in bad}
                )
        return super().send_messages(messages)

    @classmethod
    def installed(cls, settings) -> type["FlakyMailServer"]:
        """Make this the portal's email backend (through pytest-django's `settings`),
        refusing nobody yet; returns the class, to steer it."""
        settings.EMAIL_BACKEND = f"{cls.__module__}.{cls.__qualname__}"
        cls.refused = set()
        cls.while_sending = None
        return cls


def recipients(messages) -> list[str]:
    """Who each message went to, in order (outbox emails have one recipient each)."""
    assert all(len(message.to) == 1 for message in messages)
    return [message.to[0] for message in messages]


def retries_due() -> None:
    """Time passes until every waiting retry is due (without sleeping)."""
    Notification.objects.exclude(next_attempt_at=None).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
