"""`python manage.py vpn_rotate_encryption_key`: re-encrypt every stored pre-shared key
under the newest of `PSK_ENCRYPTION_KEYS`.

Put the new key first in `PSK_ENCRYPTION_KEYS`, keep the old ones after it, restart every
process (they then read both), and run this. It commits as it goes and is safe to run
again: a second run resumes where a stopped one ended, and a run with nothing left to do
changes nothing. Once it reports every key under the newest key, the old keys can leave
`PSK_ENCRYPTION_KEYS` (docs/deploy.md, "Rotating the encryption key").
"""

from django.core.management.base import BaseCommand, CommandError

from vpn.services.encryption import (
    DEFAULT_BATCH_SIZE,
    EncryptionKeyUnknown,
    psk_encryption_rotate,
)


class Command(BaseCommand):
    """Re-encrypt the stored pre-shared keys under the newest encryption key."""

    help = "Re-encrypt every stored pre-shared key under the newest of PSK_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Tunnels per committed batch (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, batch_size: int, **options):
        """Rotate, printing progress per batch; fail naming a key that cannot be read."""
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(rotated: int, already_current: int) -> None:
            self.stdout.write(f"  {rotated} re-encrypted, {already_current} already current")

        try:
            done = psk_encryption_rotate(batch_size=batch_size, on_batch=progress)
        except EncryptionKeyUnknown as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Every stored pre-shared key is under the newest key: {done.rotated} "
            f"re-encrypted, {done.already_current} already were."
        )
