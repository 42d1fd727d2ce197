"""Model fields of the VPN app: a text field encrypted at rest.

Pre-shared keys are stored as Fernet tokens made with the first key of the
`PSK_ENCRYPTION_KEYS` setting; every key in that list can decrypt, so a key can be
rotated by putting a new one first and re-encrypting the rows
(`python manage.py vpn_rotate_encryption_key`, vpn.services.encryption).
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("PSK_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PSK_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def encrypt_text(plaintext: str) -> str:
    """Encrypt `plaintext` with the current key; returns the token as text."""
    return _fernet(tuple(settings.PSK_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    """Decrypt a token made by `encrypt_text` with any of the configured keys."""
    try:
        return _fernet(tuple(settings.PSK_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with any key in PSK_ENCRYPTION_KEYS."
        ) from exc


def encrypted_with_newest_key(token: str) -> bool:
    """Whether `token` was made with the first (newest) key of `PSK_ENCRYPTION_KEYS`."""
    newest = _fernet(tuple(settings.PSK_ENCRYPTION_KEYS[:1]))
    try:
        newest.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text field whose value is encrypted in the database and plain in Python."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        """Decrypt what the database holds."""
        return None if value is None else decrypt_text(value)

    def get_prep_value(self, value):
        """Encrypt before the value reaches the database."""
        value = super().get_prep_value(value)
        return None if value in (None, "") else encrypt_text(value)
