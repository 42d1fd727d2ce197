"""Login throttling (django-axes): a username is locked at one address after N failures,
with a clear page, and the counters live in the shared Redis cache, seen by every process.
"""

import os
import subprocess
import sys

import pytest
import redis
from axes.helpers import get_client_cache_keys
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory

from tests.conftest import service_missing
from vpn.services.throttle import throttle_hit

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-7"
# One window for all of the test's hits, whatever the clock says (a fixed window's
# bucket is time // window).
FOREVER = 10**9


@pytest.fixture(autouse=True)
def shared_cache():
    """Require the cache to be Redis, as it is in CI (settings_test.py)."""
    if settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        service_missing("Redis for the cache")


@pytest.fixture
def user(se):
    se.set_password(PASSWORD)
    se.save()
    return se


def _login(client: Client, username: str, password: str, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _counter_key(username: str, address: str) -> str:
    """The cache key of axes' failure counter for a username at an address."""
    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    (key,) = get_client_cache_keys(request, {"username": username})
    return key


def test_thirty_wrong_passwords_lock_the_user_at_that_address(user):
    limit = settings.AXES_FAILURE_LIMIT
    client = Client(REMOTE_ADDR="192.0.2.10")

    responses = [_login(client, user.username, f"wrong-{n}") for n in range(30)]

    statuses = [response.status_code for response in responses]
    # The form again, with its error, until the limit; the lockout page from then on.
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)
    assert "Please enter a correct username and password" in responses[0].content.decode()
    page = " ".join(responses[-1].content.decode().split())
    assert "Too many failed logins." in page
    assert f"After {limit} wrong passwords for “{user.username}” from this address" in page
    assert "logging in is locked for 15 minutes" in page
    assert "even the right password is refused" in page

    # The right password is refused too; the admin's login checks no password at all (it
    # leads to the portal's login page).
    refused = _login(client, user.username, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins." in refused.content.decode()
    admin = client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    assert admin.status_code == 302 and admin["Location"] == "/login/"
    assert not _logged_in(client)

    # Locked for that user at that address only.
    elsewhere = Client(REMOTE_ADDR="192.0.2.11")
    assert _login(elsewhere, user.username, PASSWORD).status_code == 302
    assert _logged_in(elsewhere)


def test_the_lock_lasts_the_cool_off_and_then_the_right_password_works(user):
    client = Client(REMOTE_ADDR="192.0.2.20")
    for n in range(settings.AXES_FAILURE_LIMIT + 3):
        _login(client, user.username, f"wrong-{n}")
    key = _counter_key(user.username, "192.0.2.20")
    assert cache.get(key) == settings.AXES_FAILURE_LIMIT  # attempts while locked don't count

    # The lock is the counter, and Redis drops it when the cool-off ends.
    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    cool_off = settings.AXES_COOLOFF_TIME.total_seconds()
    assert cool_off - 60 < raw.ttl(cache.make_key(key)) <= cool_off
    assert _login(client, user.username, PASSWORD).status_code == 429

    cache.delete(key)  # what the key's expiry does at the end of the cool-off
    assert _login(client, user.username, PASSWORD).status_code == 302
    assert _logged_in(client)


def test_another_user_at_the_same_address_is_not_locked(user, ops):
    ops.set_password(PASSWORD)
    ops.save()
    client = Client(REMOTE_ADDR="192.0.2.30")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(client, user.username, f"wrong-{n}")
    assert _login(client, user.username, PASSWORD).status_code == 429
    assert _login(client, ops.username, PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_locked(user, settings):
    settings.INTAKE_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, user.username, f"wrong-{n}")
    assert _login(attacker, user.username, PASSWORD).status_code == 429

    colleague = Client(HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy)
    assert _login(colleague, user.username, PASSWORD).status_code == 302


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        forger = Client(REMOTE_ADDR="192.0.2.40", HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}")
        _login(forger, user.username, f"wrong-{n}")
    forger = Client(REMOTE_ADDR="192.0.2.40", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert _login(forger, user.username, PASSWORD).status_code == 429


def _in_another_process(code: str, *args: str) -> str:
    """Run `code` with Django set up in a separate Python process; its output."""
    result = subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{code}", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_counters_are_shared_across_processes(user):
    client = Client(REMOTE_ADDR="192.0.2.50")
    for n in range(2):
        _login(client, user.username, f"wrong-{n}")
    key = _counter_key(user.username, "192.0.2.50")

    # Another process sees this one's failures...
    read = "import sys\nfrom django.core.cache import cache\nprint(cache.get(sys.argv[1]))"
    assert _in_another_process(read, key) == "2"

    # ...and this one counts the customer link's hits made by another.
    hit = (
        "from vpn.services.throttle import throttle_hit\n"
        f"print(throttle_hit(scope='intake-ip', key='198.51.100.7', limit=1, window={FOREVER}))"
    )
    assert _in_another_process(hit) == "False"
    assert throttle_hit(scope="intake-ip", key="198.51.100.7", limit=1, window=FOREVER) is True
