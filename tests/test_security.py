"""Security settings and secrets at rest."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from tests.factories import TunnelFactory
from vpn.models import Tunnel


def test_check_deploy_is_clean_with_production_settings():
    # The browser tests' flag for Playwright must not leak into a deployment check.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "PSK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "vpn.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SECRET_KEY", "PSK_ENCRYPTION_KEYS")
    }
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", DJANGO_DEBUG="false")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


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
