"""The portal's client of the local AWS sandbox's control API (``/_sandbox/``), for the
demo data: it sets tunnel telemetry, delays and faults there.

Plain HTTP and JSON, like every other talk between the portal and the sandbox: the
portal never imports the sandbox (an import-linter contract), and production, which has
no sandbox, never calls this.
"""

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any


class SandboxUnavailable(Exception):
    """No sandbox answers at the URL, or it refused a control request."""


class SandboxControl:
    """The control API of the sandbox serving at ``url``."""

    def __init__(self, url: str, timeout: float = 30.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"The sandbox's URL must be http(s): {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, payload: dict | None = None) -> dict[str, Any]:
        """One control request; raises `SandboxUnavailable` saying what went wrong."""
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.url + path,
            data=None if payload is None else json.dumps(payload).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise SandboxUnavailable(
                f"The sandbox at {self.url} refused {method} {path}: {error.code} {detail}"
            ) from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SandboxUnavailable(
                f"No AWS sandbox answers at {self.url} ({error}); start it first "
                "(`make run` does, or `python manage.py aws_sandbox`)."
            ) from error

    def state_delay(self) -> float:
        """How long resources stay in their transitional states."""
        return float(self.call("GET", "/_sandbox/state-delay")["seconds"])

    def state_delay_set(self, seconds: float) -> None:
        """Change that delay for what starts from now on."""
        self.call("POST", "/_sandbox/state-delay", {"seconds": seconds})

    def tunnel_status_set(
        self,
        *,
        vpn_connection_id: str,
        outside_ip: str,
        status: str,
        since: datetime | None = None,
        message: str | None = None,
        accepted_route_count: int | None = None,
    ) -> dict[str, Any]:
        """Set one tunnel's telemetry, its status dated `since` (else now, if it changed)."""
        payload: dict[str, Any] = {
            "vpn_connection_id": vpn_connection_id,
            "outside_ip": outside_ip,
            "status": status,
        }
        if since is not None:
            payload["last_status_change"] = since.isoformat()
        if message is not None:
            payload["message"] = message
        if accepted_route_count is not None:
            payload["accepted_route_count"] = accepted_route_count
        return self.call("POST", "/_sandbox/tunnel-status", payload)

    def tunnel_maintenance_schedule(
        self,
        *,
        vpn_connection_id: str,
        outside_ip: str,
        auto_applied_after: datetime,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Schedule endpoint maintenance on one tunnel, applied by AWS at `auto_applied_after`."""
        payload: dict[str, Any] = {
            "vpn_connection_id": vpn_connection_id,
            "outside_ip": outside_ip,
            "auto_applied_after": auto_applied_after.isoformat(),
        }
        if description is not None:
            payload["description"] = description
        return self.call("POST", "/_sandbox/tunnel-maintenance", payload)

    def fault_add(self, *, action: str, error: str, count: int | None = None) -> None:
        """Answer calls of `action` with an `error` ("throttle", "server", "quota")."""
        rule: dict[str, Any] = {"action": action, "error": error}
        if count is not None:
            rule["count"] = count
        self.call("POST", "/_sandbox/faults", rule)
