"""Running the portal in a subprocess with a deployment's environment, and nothing else.

A deployment that forgot a variable, or whose database or Redis is down, is started here
as it would be for real: a fresh Python process whose environment holds only the
variables the test names.
"""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.fernet import Fernet
from django.conf import settings


def production_env(**variables: str) -> dict[str, str]:
    """The variables a deployment must set, and nothing from the test run's environment."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "PSK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": "vpn.example.com",
        **variables,
    }


def run_python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the project's Python with `args` in the project's folder."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def closed_port() -> Iterator[int]:
    """A local TCP port that refuses connections: bound (so nothing else takes it) but
    never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
