"""The sandbox's control API: JSON endpoints under ``/_sandbox/``, a path no AWS API uses.

* ``POST /_sandbox/tunnel-status``: set a tunnel's telemetry (UP/DOWN, message, routes).
* ``POST /_sandbox/faults``, ``GET`` and ``DELETE`` on the same path: fault injection rules.
* ``POST /_sandbox/reset``: forget everything (moto's backends and the sandbox's state).
* ``GET /_sandbox/stats``: calls per action and injected faults.
* ``POST /_sandbox/hold`` ``{"after_calls": N}``, ``GET`` and ``DELETE``: hold back the
  answer of the Nth AWS call from now (it takes effect; its caller never hears), for
  crash tests.
"""

import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.faults import parse_rule
from sandbox.state import SandboxState

TUNNEL_STATUSES = ("UP", "DOWN")


class ControlError(Exception):
    """A control API request that cannot be honoured: an HTTP status and a reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _body(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ControlError(400, "the body must be a JSON object")
    return payload


class ControlApi:
    """Answers the ``/_sandbox/`` requests of one sandbox."""

    def __init__(self, state: SandboxState, reset: Callable[[], None]):
        self.state = state
        self.reset = reset
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("POST", "/_sandbox/tunnel-status"): self.tunnel_status,
            ("GET", "/_sandbox/faults"): self.list_faults,
            ("POST", "/_sandbox/faults"): self.add_fault,
            ("DELETE", "/_sandbox/faults"): self.clear_faults,
            ("POST", "/_sandbox/reset"): self.reset_all,
            ("GET", "/_sandbox/stats"): self.stats,
            ("POST", "/_sandbox/hold"): self.hold_arm,
            ("GET", "/_sandbox/hold"): self.hold_status,
            ("DELETE", "/_sandbox/hold"): self.hold_release,
        }

    def handle(self, request: Request) -> Response:
        """Route a request to its handler; errors become JSON ``{"error": ...}`` answers."""
        handler = self.routes.get((request.method, request.path))
        try:
            if handler is None:
                known_path = any(path == request.path for _, path in self.routes)
                raise ControlError(405 if known_path else 404, "no such control endpoint")
            return handler(request)
        except ControlError as error:
            return _json({"error": error.message}, status=error.status)

    def tunnel_status(self, request: Request) -> Response:
        """Set one tunnel's status as its ``VgwTelemetry`` will report it."""
        payload = _body(request)
        connection_id = payload.get("vpn_connection_id")
        outside_ip = payload.get("outside_ip")
        status = payload.get("status")
        message = payload.get("message")
        routes = payload.get("accepted_route_count")
        if not isinstance(connection_id, str) or not isinstance(outside_ip, str):
            raise ControlError(400, "'vpn_connection_id' and 'outside_ip' must be strings")
        if status not in TUNNEL_STATUSES:
            raise ControlError(400, "'status' must be UP or DOWN")
        if message is not None and not isinstance(message, str):
            raise ControlError(400, "'message' must be a string")
        if routes is not None and (
            isinstance(routes, bool) or not isinstance(routes, int) or routes < 0
        ):
            raise ControlError(400, "'accepted_route_count' must be a non-negative integer")
        try:
            tunnel = self.state.vpn.set_tunnel_status(
                connection_id, outside_ip, status, message, routes
            )
        except LookupError:
            raise ControlError(
                404, f"no tunnel {outside_ip} on VPN connection {connection_id}"
            ) from None
        return _json(
            {
                "vpn_connection_id": connection_id,
                "outside_ip": tunnel.outside_ip,
                "status": tunnel.status,
                "message": tunnel.status_message,
                "accepted_route_count": tunnel.accepted_route_count,
                "last_status_change": tunnel.last_status_change.isoformat(),
            }
        )

    def list_faults(self, request: Request) -> Response:
        """The active fault rules."""
        return _json({"rules": [rule.describe() for rule in self.state.faults.rules]})

    def add_fault(self, request: Request) -> Response:
        """Add a fault rule."""
        try:
            rule = parse_rule(_body(request))
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        self.state.faults.add(rule)
        return _json({"rules": [rule.describe() for rule in self.state.faults.rules]}, 201)

    def clear_faults(self, request: Request) -> Response:
        """Remove every fault rule."""
        self.state.faults.clear()
        return _json({"rules": []})

    def reset_all(self, request: Request) -> Response:
        """Forget all resources, fault rules and statistics."""
        self.reset()
        return _json({"reset": True})

    def stats(self, request: Request) -> Response:
        """Calls per action and faults injected per action and kind."""
        return _json(self.state.stats.snapshot())

    def hold_arm(self, request: Request) -> Response:
        """Hold the answer of the Nth AWS call from now."""
        after_calls = _body(request).get("after_calls")
        if isinstance(after_calls, bool) or not isinstance(after_calls, int) or after_calls < 1:
            raise ControlError(400, "after_calls must be a whole number of at least 1")
        self.state.hold.arm(after_calls)
        return _json(self.state.hold.status())

    def hold_status(self, request: Request) -> Response:
        """Whether an answer is being held, and of which action."""
        return _json(self.state.hold.status())

    def hold_release(self, request: Request) -> Response:
        """Let a held answer go and stop counting."""
        self.state.hold.release()
        return _json(self.state.hold.status())
