"""Rotation of the key that encrypts pre-shared keys at rest.

`PSK_ENCRYPTION_KEYS` lists Fernet keys, newest first: the newest encrypts, every one
decrypts, so the portal reads keys stored under an old key and a new key alike while a
rotation runs. `psk_encryption_rotate` re-encrypts every stored key under the newest one,
in batches, each committed on its own: a run that stops (a crash, a key it cannot
decrypt) keeps what it did, and running it again picks up where it stopped, since a row
already under the newest key is left alone. Rows are locked while a batch rewrites them,
so a pre-shared key changed meanwhile by the portal is never overwritten with its old
value.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models.functions import Cast

from vpn.fields import decrypt_text, encrypted_with_newest_key
from vpn.models import Tunnel

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


class EncryptionKeyUnknown(Exception):
    """A stored key that none of `PSK_ENCRYPTION_KEYS` decrypts: the run stops there."""

    def __init__(self, tunnel: Tunnel, rotated: int):
        self.tunnel = tunnel
        self.rotated = rotated
        super().__init__(
            f"The pre-shared key of {tunnel.request.reference} tunnel {tunnel.position} "
            f"(tunnel id {tunnel.pk}) cannot be decrypted with any key in "
            f"PSK_ENCRYPTION_KEYS: the key it was encrypted with is missing (removed too "
            f"soon?). {rotated} key(s) were re-encrypted before it and are saved. Put the "
            f"missing key back in PSK_ENCRYPTION_KEYS, after the newest, and run the "
            f"command again: it resumes there."
        )


@dataclass(frozen=True)
class EncryptionRotated:
    """What a run did: keys re-encrypted, keys already under the newest key."""

    rotated: int
    already_current: int


def psk_encryption_rotate(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int, int], None] | None = None,
) -> EncryptionRotated:
    """Re-encrypt every stored pre-shared key under the newest of `PSK_ENCRYPTION_KEYS`.

    Batches of `batch_size` tunnels, in id order, each in a transaction of its own;
    `on_batch(rotated, already_current)` is told the running totals after each one.
    Raises EncryptionKeyUnknown at the first key no configured key decrypts (the batches
    before it stay committed).
    """
    if batch_size < 1:
        raise ValueError("The batch size must be at least 1.")
    rotated = already_current = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Tunnel.objects.select_for_update(of=("self",))
                .select_related("request")
                .filter(pk__gt=last_id, psk__isnull=False)
                .order_by("pk")
                # The token as stored: the field itself would decrypt it on reading.
                .annotate(token=Cast("psk", output_field=models.TextField()))
                .defer("psk")[:batch_size]
            )
            if not batch:
                break
            rotated_here = 0
            for tunnel in batch:
                if encrypted_with_newest_key(tunnel.token):
                    already_current += 1
                    continue
                try:
                    plaintext = decrypt_text(tunnel.token)
                except ImproperlyConfigured as exc:
                    raise EncryptionKeyUnknown(tunnel, rotated + rotated_here) from exc
                # Saving the plain text encrypts it under the newest key (the field does).
                Tunnel.objects.filter(pk=tunnel.pk).update(psk=plaintext)
                rotated_here += 1
            last_id = batch[-1].pk
        rotated += rotated_here
        if on_batch is not None:
            on_batch(rotated, already_current)
    logger.info(
        "Encryption key rotation: %s key(s) re-encrypted, %s already under the newest key",
        rotated,
        already_current,
    )
    return EncryptionRotated(rotated=rotated, already_current=already_current)
