"""The tests' OpenID provider (tests/oidc_provider) in a process of its own, and the
portal's single sign-on settings pointing at it.

One provider serves the whole session; it knows the portal's client and the users below,
and its control endpoint changes a user's groups between two logins.
"""

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CLIENT_ID = "vpn-portal"
CLIENT_SECRET = "vpn-portal-client-secret"
PROVIDER_PASSWORD = "provider-pass"
# The provider's group names, and how the portal maps them (OIDC_SE_GROUPS, OIDC_OPS_GROUPS).
SE_GROUP = "vpn-engineers"
OPS_GROUP = "platform-ops"
USERS = [
    {
        "username": "sam.sso",
        "password": PROVIDER_PASSWORD,
        "email": "sam@example.com",
        "first_name": "Sam",
        "last_name": "Rivera",
        "groups": [SE_GROUP, "everyone"],
    },
]


@dataclass
class Provider:
    """The running provider: its address and its control endpoint."""

    url: str
    process: subprocess.Popen

    def groups_set(self, username: str, groups: list[str]) -> None:
        """Give the provider's user `username` exactly `groups`."""
        request = urllib.request.Request(
            f"{self.url}/_test/users/{username}/groups",
            data=json.dumps(groups).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def portal_settings(self) -> dict:
        """The portal's settings for single sign-on through this provider."""
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/o/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/o/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/o/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/o/.well-known/jwks.json",
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_SE_GROUPS": [SE_GROUP],
            "OIDC_OPS_GROUPS": [OPS_GROUP],
            "OIDC_PROVIDER_NAME": "Example Corp SSO",
        }


def provider_start(*, redirect_uri: str, folder: Path) -> Provider:
    """Start the provider for a portal whose callback is `redirect_uri`; returns once it
    listens (it prints its port when ready)."""
    config = {
        "database": str(folder / "provider.sqlite3"),
        "client": {"id": CLIENT_ID, "secret": CLIENT_SECRET, "redirect_uri": redirect_uri},
        "users": USERS,
    }
    errors = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider.serve", json.dumps(config)],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    port = process.stdout.readline().strip()
    if not port.isdigit():
        process.wait(timeout=30)
        raise RuntimeError(
            f"The OpenID provider did not start: {(folder / 'provider.log').read_text()}"
        )
    return Provider(url=f"http://127.0.0.1:{port}", process=process)


def provider_stop(provider: Provider) -> None:
    """Stop the provider's process."""
    provider.process.terminate()
    provider.process.wait(timeout=30)
