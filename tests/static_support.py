"""Static files as production serves them: collected once per session with production's
storage (hashed names, gzip and Brotli copies), then served by WhiteNoise from that
folder, with debug off.

The suite itself runs with plain names and no collectstatic (portal/settings_test.py);
the tests that check serving, and the browser's CSP walk, switch to this.
"""

import pytest
from django.core.management import call_command
from django.test.utils import override_settings

from portal import settings as production_settings


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A folder holding `collectstatic`'s output under production's storage."""
    folder = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=folder, STORAGES=production_settings.STORAGES):
        call_command("collectstatic", interactive=False, verbosity=0)
    return folder


@pytest.fixture
def production_static(settings, collected_static):
    """Static files served by WhiteNoise from the collected folder, as in production."""
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = production_settings.STORAGES
    settings.WHITENOISE_USE_FINDERS = False
    return collected_static
