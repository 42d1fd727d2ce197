"""Secrets at rest: pre-shared keys are stored encrypted, and keys can be rotated."""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.factories import TunnelFactory
from vpn.models import Tunnel

PSK = "Secret_psk.For_tunnel_1"


@pytest.mark.django_db
def test_no_psk_is_stored_in_plaintext():
    tunnel = TunnelFactory(psk=PSK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT psk FROM vpn_tunnel WHERE id = %s", [tunnel.pk])
        (raw,) = cursor.fetchone()
    assert raw and PSK not in raw
    assert PSK.encode() not in raw.encode()
    assert Tunnel.objects.get(pk=tunnel.pk).psk == PSK


@pytest.mark.django_db
def test_psks_survive_a_key_rotation(settings):
    tunnel = TunnelFactory(psk=PSK)
    old_keys = list(settings.PSK_ENCRYPTION_KEYS)
    settings.PSK_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    assert Tunnel.objects.get(pk=tunnel.pk).psk == PSK

    # Re-saving encrypts with the new key; the old key is then no longer needed.
    Tunnel.objects.get(pk=tunnel.pk).save()
    settings.PSK_ENCRYPTION_KEYS = settings.PSK_ENCRYPTION_KEYS[:1]
    assert Tunnel.objects.get(pk=tunnel.pk).psk == PSK
