"""Deployment settings: debug is off unless asked for, no committed key is used without it,
and the cache is a Redis database beside the queue's.

Each test starts Django in a subprocess with a clean environment (only what the test
names), as a deployment that forgot a variable would.
"""

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from tests.deploy_support import production_env, run_python

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
DEV_PSK_KEY = "ZGV2LW9ubHktcHNrLWtleS1kby1ub3QtdXNlLTEyMzQ="


def _settings_value(expression: str, env: dict[str, str]) -> str:
    result = run_python(
        "-c",
        f"import django; django.setup(); from django.conf import settings; print({expression})",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_deploy_is_clean_with_debug_unset():
    env = production_env()
    assert "DJANGO_DEBUG" not in env
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "DEBUG", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_debug_is_off_unless_turned_on():
    assert _settings_value("settings.DEBUG", production_env()) == "False"
    assert _settings_value("settings.DEBUG", production_env(DJANGO_DEBUG="true")) == "True"


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "PSK_ENCRYPTION_KEYS"])
def test_without_debug_a_missing_key_stops_the_portal_naming_it(missing):
    env = production_env()
    del env[missing]
    result = run_python("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} is not set" in result.stderr


@pytest.mark.parametrize(
    ("variable", "committed_value"),
    [
        ("DJANGO_SECRET_KEY", DEV_SECRET_KEY),
        ("PSK_ENCRYPTION_KEYS", DEV_PSK_KEY),
        # Even as an old key kept only to decrypt.
        ("PSK_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},{DEV_PSK_KEY}"),
    ],
)
def test_without_debug_the_repositorys_development_keys_are_refused(variable, committed_value):
    result = run_python("manage.py", "check", env=production_env(**{variable: committed_value}))
    assert result.returncode != 0
    assert f"{variable} holds the development value" in result.stderr


def test_debug_uses_the_development_keys_when_none_are_set():
    env = production_env(DJANGO_DEBUG="true")
    del env["DJANGO_SECRET_KEY"], env["PSK_ENCRYPTION_KEYS"]
    assert _settings_value("settings.SECRET_KEY", env) == DEV_SECRET_KEY
    assert _settings_value("settings.PSK_ENCRYPTION_KEYS", env) == f"['{DEV_PSK_KEY}']"


def test_the_test_suite_runs_without_debug_and_with_keys_of_its_own():
    from portal import settings_test

    assert settings_test.DEBUG is False
    assert settings.SECRET_KEY != DEV_SECRET_KEY
    assert DEV_PSK_KEY not in settings.PSK_ENCRYPTION_KEYS


@pytest.mark.parametrize(
    ("variables", "backend", "location"),
    [
        # The cache sits beside the queue, on a database of its own.
        ({"REDIS_URL": "redis://cache.example:6380/0"}, "redis", "redis://cache.example:6380/1"),
        (
            {"REDIS_URL": "redis://queue.example:6379/0", "CACHE_URL": "redis://c.example/4"},
            "redis",
            "redis://c.example/4",
        ),
        # No Redis at all (jobs in the web process): the process's own memory.
        ({"RQ_ASYNC": "false"}, "locmem", ""),
    ],
)
def test_the_cache_is_redis_beside_the_queue(variables, backend, location):
    env = production_env(**variables)
    configured = _settings_value(
        "settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get('LOCATION', '')",
        env,
    )
    assert backend in configured.lower()
    assert location in configured


def test_a_cache_on_the_queues_database_is_refused():
    env = production_env(REDIS_URL="redis://127.0.0.1:6379/2", CACHE_URL="redis://127.0.0.1/2")
    result = run_python("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "The cache would share the queue's Redis database" in result.stderr
