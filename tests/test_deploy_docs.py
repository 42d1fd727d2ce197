"""Every variable the portal reads is in `.env.example` and in docs/deploy.md's table,
and neither lists one the portal does not read."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# env("NAME"...), env.int("NAME"...), _secret("NAME"...), os.environ.get("NAME"...).
_READ = re.compile(
    r"""(?:\benv(?:\.\w+)?|_secret|os\.environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def _variables_read() -> set[str]:
    names = set()
    for module in ("portal/settings.py", "portal/gunicorn_config.py"):
        names |= set(_READ.findall((ROOT / module).read_text()))
    return names


def test_the_settings_read_the_variables_we_expect():
    read = _variables_read()
    assert {"DJANGO_SECRET_KEY", "PSK_ENCRYPTION_KEYS", "OIDC_RP_CLIENT_ID", "PORT"} <= read


def test_env_example_lists_every_variable_and_no_other():
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", text, re.M))
    assert listed == _variables_read()


def test_deploy_doc_describes_every_variable_and_no_other():
    text = (ROOT / "docs" / "deploy.md").read_text()
    table = text.split("## Every variable", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    described = {
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }
    assert described == _variables_read()
