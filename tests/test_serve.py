"""`make serve`: it refuses to start without the variables production needs, naming every
one that is missing, and its settings pass `check --deploy`; the Procfile's web process
is gunicorn with a configuration it accepts.
"""

import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.deploy_support import production_env, run_python

SERVE = Path(settings.BASE_DIR) / "scripts" / "serve.sh"


def _required_variables() -> list[str]:
    """The names in serve.sh's REQUIRED list."""
    block = re.search(r"^REQUIRED=\((.*?)^\)", SERVE.read_text(), re.M | re.S).group(1)
    return re.findall(r"^\s*([A-Z_]+)", block, re.M)


def _serve_env() -> dict[str, str]:
    """Every variable make serve requires, with values a deployment could have."""
    return production_env(
        DJANGO_DEBUG="false",
        DATABASE_URL="postgres://portal@db.example.internal:5432/portal",
        REDIS_URL="redis://redis.example.internal:6379/0",
        PORTAL_BASE_URL="https://vpn.example.com",
        EMAIL_URL="smtp+tls://portal:secret@smtp.example.com:587",
    )


def test_serve_requires_what_production_needs():
    assert set(_required_variables()) >= {
        "DJANGO_SECRET_KEY",
        "PSK_ENCRYPTION_KEYS",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
    }
    assert set(_required_variables()) <= set(_serve_env())


def test_serve_names_every_missing_variable_and_starts_nothing():
    if (Path(settings.BASE_DIR) / ".env").exists():
        pytest.skip("a .env file in the checkout sets variables for make serve")

    result = subprocess.run(
        ["bash", str(SERVE)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "these variables are not set" in result.stderr
    for name in _required_variables():
        assert f"  {name}\n" in result.stderr
    assert "started" not in result.stdout


def test_check_deploy_is_clean_under_serves_settings():
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "DEBUG", env=_serve_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_procfile_runs_gunicorn_with_a_configuration_it_accepts():
    procfile = dict(
        line.split(":", 1)
        for line in (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
    )
    assert procfile.keys() == {"web", "worker", "packs", "cron"}
    web = procfile["web"].split()
    assert web[0] == "gunicorn"
    result = run_python("-m", "gunicorn", "--check-config", *web[1:], env=_serve_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rqworker default --with-scheduler" in procfile["worker"]
    # Config packs render on a worker of their own: none holds a provisioning step up.
    assert procfile["packs"].split()[-2:] == ["rqworker", "packs"]
