"""Browser-test harness: Playwright drives the system's Chromium against `live_server`.

Every test here is marked `browser`. Screenshots go to `test-artifacts/screenshots/`
so that a person can look at them after the run.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM
# calls from that thread unless told the loop is not ours to protect.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    """Mark every test in this folder as a browser test."""
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system's Chromium (Playwright's own download is not available)."""
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing

        service_missing(f"Chromium at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-artifacts/screenshots/NAME.png."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """Log `user` (password "pass") in through the real login form."""

    def log_in(user) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pass")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return log_in


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    """A real OpenID provider in a second process, for the whole session (tests/oidc_provider)."""
    from tests.oidc_support import provider_start, provider_stop

    provider = provider_start(
        redirect_uri=f"{live_server.url}/oidc/callback/",
        folder=tmp_path_factory.mktemp("oidc-provider"),
    )
    yield provider
    provider_stop(provider)


@pytest.fixture
def sso(oidc_provider, settings):
    """The portal set up for single sign-on through the tests' provider."""
    for name, value in oidc_provider.portal_settings().items():
        setattr(settings, name, value)
    return oidc_provider
