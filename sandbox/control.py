"""The sandbox's control API: JSON endpoints under ``/_sandbox/``, a path no AWS API uses.

* ``POST /_sandbox/tunnel-status``: set a tunnel's telemetry (UP/DOWN, message, routes,
  and when the status last changed).
* ``POST /_sandbox/tunnel-cause`` ``{"vpn_connection_id", "outside_ip", "cause"}``: make a
  known cause happen on a tunnel (``GET /_sandbox/tunnel-causes`` lists them): its
  status, message and log lines become what AWS reports for it.
* ``POST /_sandbox/tunnel-maintenance``: schedule endpoint maintenance on a tunnel, with
  the date after which AWS applies it anyway.
* ``POST /_sandbox/tunnel-negotiated``: set what an up tunnel negotiated
  (``GetActiveVpnTunnelStatus``), or go back to what its options prescribe.
* ``GET`` and ``POST /_sandbox/state-delay`` ``{"seconds": S}``: how long resources stay
  in their transitional states, from now on.
* ``GET`` and ``POST /_sandbox/answer-time`` ``{"seconds": S}``: how long each AWS
  answer takes to leave after it was served, as AWS's own time to answer; other calls
  are served meanwhile (benchmarks of concurrent callers; 0 by default).
* ``POST /_sandbox/faults``, ``GET`` and ``DELETE`` on the same path: fault injection
  rules (optionally for one ``region`` or ``account``).
* ``POST /_sandbox/reset``: forget everything (moto's backends and the sandbox's state).
* ``GET /_sandbox/stats``: calls per action and injected faults.
* ``POST /_sandbox/hold`` ``{"after_calls": N, "action"?, "region"?, "account"?}``,
  ``GET`` (``?wait=S`` to wait until an answer is held) and ``DELETE``: hold back the
  answer of the Nth AWS call from now (of that action, region and account, if given): it
  takes effect; its caller hears nothing until the release (crash tests, a slow region).
* ``POST /_sandbox/tunnel-hold`` ``{"vpn_connection_id", "outside_ip", "held": true}``:
  hold a tunnel DOWN whatever its status (a customer's device without the new key), or
  (``false``) let it report its own status again.
* ``POST /_sandbox/service-quota`` ``{"account", "region", "service_code", "quota_code",
  "value"}``: the value GetServiceQuota answers for that quota in that account and region.
* ``GET /_sandbox/all-tunnels-down?vpn_connection_id=ID&since=ISO``: whether the
  connection's telemetry has shown every tunnel DOWN at once since that moment, and when.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.faults import call_scope, parse_rule
from sandbox.state import SandboxState
from sandbox.tunnel_logs import CAUSES
from sandbox.vpn import NEGOTIATED_FIELDS

TUNNEL_STATUSES = ("UP", "DOWN")
# What scheduled maintenance is called unless the control request says otherwise.
DEFAULT_MAINTENANCE = "Tunnel endpoint replacement to apply software updates"
# The longest a control request may block (waiting for a held answer).
MAX_WAIT_SECONDS = 30.0


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
            ("POST", "/_sandbox/tunnel-cause"): self.tunnel_cause,
            ("GET", "/_sandbox/tunnel-causes"): self.tunnel_causes,
            ("POST", "/_sandbox/tunnel-maintenance"): self.tunnel_maintenance,
            ("POST", "/_sandbox/tunnel-negotiated"): self.tunnel_negotiated,
            ("GET", "/_sandbox/faults"): self.list_faults,
            ("POST", "/_sandbox/faults"): self.add_fault,
            ("DELETE", "/_sandbox/faults"): self.clear_faults,
            ("POST", "/_sandbox/reset"): self.reset_all,
            ("GET", "/_sandbox/stats"): self.stats,
            ("POST", "/_sandbox/hold"): self.hold_arm,
            ("GET", "/_sandbox/hold"): self.hold_status,
            ("DELETE", "/_sandbox/hold"): self.hold_release,
            ("GET", "/_sandbox/state-delay"): self.state_delay,
            ("POST", "/_sandbox/state-delay"): self.state_delay_set,
            ("GET", "/_sandbox/answer-time"): self.answer_time,
            ("POST", "/_sandbox/answer-time"): self.answer_time_set,
            ("POST", "/_sandbox/tunnel-hold"): self.tunnel_hold,
            ("GET", "/_sandbox/all-tunnels-down"): self.all_tunnels_down,
            ("POST", "/_sandbox/service-quota"): self.service_quota_set,
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
        since = _past_time(payload.get("last_status_change"), "last_status_change")
        try:
            tunnel = self.state.vpn.set_tunnel_status(
                connection_id, outside_ip, status, message, routes, since
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

    def tunnel_hold(self, request: Request) -> Response:
        """Hold a tunnel DOWN, or release it to report its own status again."""
        payload = _body(request)
        connection_id = payload.get("vpn_connection_id")
        outside_ip = payload.get("outside_ip")
        held = payload.get("held")
        if not isinstance(connection_id, str) or not isinstance(outside_ip, str):
            raise ControlError(400, "'vpn_connection_id' and 'outside_ip' must be strings")
        if not isinstance(held, bool):
            raise ControlError(400, "'held' must be true or false")
        try:
            tunnel = self.state.vpn.hold_down(connection_id, outside_ip, held)
        except LookupError:
            raise ControlError(
                404, f"no tunnel {outside_ip} on VPN connection {connection_id}"
            ) from None
        return _json(
            {
                "vpn_connection_id": connection_id,
                "outside_ip": tunnel.outside_ip,
                "held": tunnel.held_down,
                "status": tunnel.reported,
                "last_status_change": tunnel.last_status_change.isoformat(),
            }
        )

    def all_tunnels_down(self, request: Request) -> Response:
        """Whether every tunnel of a connection reported DOWN at once since a moment."""
        connection_id = request.args.get("vpn_connection_id", "")
        since = _past_time(request.args.get("since"), "since")
        if since is None:
            raise ControlError(400, "'since' is required: an ISO 8601 time with its UTC offset")
        connection = self.state.vpn.connections.get(connection_id)
        if connection is None:
            raise ControlError(404, f"no VPN connection {connection_id}")
        periods = connection.all_down_since(since)
        return _json(
            {
                "vpn_connection_id": connection_id,
                "since": since.isoformat(),
                "all_down": bool(periods),
                "periods": [
                    [start.isoformat(), end.isoformat() if end else None] for start, end in periods
                ],
            }
        )

    def tunnel_causes(self, request: Request) -> Response:
        """The causes that can be injected, with what each is and whether it needs BGP."""
        return _json(
            {
                "causes": [
                    {"cause": cause.name, "summary": cause.summary, "bgp_only": cause.bgp_only}
                    for cause in CAUSES.values()
                ]
            }
        )

    def tunnel_cause(self, request: Request) -> Response:
        """Make a known cause happen on a tunnel: status, message and AWS's log lines."""
        payload = _body(request)
        connection_id, outside_ip = _tunnel_named(payload)
        cause = payload.get("cause")
        if cause not in CAUSES:
            raise ControlError(400, f"'cause' must be one of: {', '.join(CAUSES)}")
        try:
            tunnel = self.state.vpn.inject_cause(connection_id, outside_ip, cause)
        except LookupError:
            raise ControlError(
                404, f"no tunnel {outside_ip} on VPN connection {connection_id}"
            ) from None
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        return _json(
            {
                "vpn_connection_id": connection_id,
                "outside_ip": tunnel.outside_ip,
                "cause": cause,
                "status": tunnel.status,
                "message": tunnel.status_message,
                "accepted_route_count": tunnel.accepted_route_count,
                "last_status_change": tunnel.last_status_change.isoformat(),
            }
        )

    def tunnel_maintenance(self, request: Request) -> Response:
        """Schedule endpoint maintenance on a tunnel, applied by AWS after a date."""
        payload = _body(request)
        connection_id, outside_ip = _tunnel_named(payload)
        description = payload.get("description", DEFAULT_MAINTENANCE)
        if not isinstance(description, str) or not description.strip():
            raise ControlError(400, "'description' must be a non-empty string")
        deadline = _time(payload.get("auto_applied_after"), "auto_applied_after")
        if deadline is None or deadline <= datetime.now(UTC):
            raise ControlError(400, "'auto_applied_after' must be a time in the future")
        try:
            tunnel = self.state.vpn.schedule_maintenance(
                connection_id, outside_ip, description.strip(), deadline
            )
        except LookupError:
            raise ControlError(
                404, f"no tunnel {outside_ip} on VPN connection {connection_id}"
            ) from None
        return _json(
            {
                "vpn_connection_id": connection_id,
                "outside_ip": tunnel.outside_ip,
                "pending_maintenance": tunnel.pending_maintenance,
                "auto_applied_after": deadline.isoformat(),
            }
        )

    def tunnel_negotiated(self, request: Request) -> Response:
        """Set what an up tunnel negotiated; ``{"negotiated": null}`` (or no fields) goes
        back to what its options prescribe."""
        payload = _body(request)
        connection_id, outside_ip = _tunnel_named(payload)
        negotiated = payload.get("negotiated")
        if negotiated is not None:
            if not isinstance(negotiated, dict) or set(negotiated) - set(NEGOTIATED_FIELDS):
                raise ControlError(
                    400, f"'negotiated' may hold only: {', '.join(NEGOTIATED_FIELDS)}"
                )
            for name, value in negotiated.items():
                wanted = int if name.endswith("DHGroup") else str
                if isinstance(value, bool) or not isinstance(value, wanted):
                    raise ControlError(400, f"'{name}' must be a {wanted.__name__}")
        try:
            tunnel = self.state.vpn.set_negotiated(connection_id, outside_ip, negotiated)
        except LookupError:
            raise ControlError(
                404, f"no tunnel {outside_ip} on VPN connection {connection_id}"
            ) from None
        return _json(
            {
                "vpn_connection_id": connection_id,
                "outside_ip": tunnel.outside_ip,
                "negotiated": tunnel.negotiated,
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
        """Calls per action, faults injected per action and kind, and the time spent
        answering the calls (`serving_seconds`)."""
        return _json(self.state.stats.snapshot())

    def hold_arm(self, request: Request) -> Response:
        """Hold the answer of the Nth AWS call from now (of an action, region or account,
        if given)."""
        payload = _body(request)
        after_calls = payload.get("after_calls")
        if isinstance(after_calls, bool) or not isinstance(after_calls, int) or after_calls < 1:
            raise ControlError(400, "after_calls must be a whole number of at least 1")
        action = payload.get("action")
        if action is not None and (not isinstance(action, str) or not action):
            raise ControlError(400, "'action' must be an API action name")
        try:
            scope = call_scope(payload)
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        self.state.hold.arm(after_calls, action=action, **scope)
        return _json(self.state.hold.status())

    def hold_status(self, request: Request) -> Response:
        """Whether an answer is being held, and of which action.

        ``?wait=S`` (at most 30) answers as soon as an answer is held, or after S seconds,
        so that a test waits for the held call without a polling loop of its own. The
        waiting itself happens in :meth:`wait`, outside the sandbox's lock.
        """
        _wait_seconds(request)
        return _json(self.state.hold.status())

    def wait(self, request: Request) -> None:
        """Do the waiting a long poll asks for; called without the sandbox's lock held, so
        that the calls it waits for are served meanwhile. Bad values are left for
        :meth:`handle` to refuse."""
        if (request.method, request.path) != ("GET", "/_sandbox/hold"):
            return
        try:
            seconds = _wait_seconds(request)
        except ControlError:
            return
        if seconds:
            self.state.hold.wait_held(seconds)

    def state_delay(self, request: Request) -> Response:
        """How long resources stay in their transitional states."""
        return _json({"seconds": self.state.lifecycle.delay})

    def state_delay_set(self, request: Request) -> Response:
        """Change the delay for the state changes that start from now on.

        With 0, a resource settles at the next call: a script building many resources
        (the demo's) need not wait, and changes already under way keep their time.
        """
        seconds = _body(request).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError(400, "'seconds' must be a number of at least 0")
        self.state.lifecycle.delay = float(seconds)
        return _json({"seconds": self.state.lifecycle.delay})

    def answer_time(self, request: Request) -> Response:
        """How long each AWS answer takes to leave after it was served."""
        return _json({"seconds": self.state.answer_time})

    def answer_time_set(self, request: Request) -> Response:
        """Change that time for the calls that arrive from now on."""
        seconds = _body(request).get("seconds")
        valid = isinstance(seconds, int | float) and not isinstance(seconds, bool)
        if not valid or not 0 <= seconds <= 600:
            raise ControlError(400, "'seconds' must be a number from 0 to 600")
        self.state.answer_time = float(seconds)
        return _json({"seconds": self.state.answer_time})

    def service_quota_set(self, request: Request) -> Response:
        """Set the value GetServiceQuota answers for one quota of one account and region."""
        payload = _body(request)
        names = ("account", "region", "service_code", "quota_code")
        for name in names:
            if not isinstance(payload.get(name), str) or not payload[name]:
                raise ControlError(400, f"'{name}' must be a non-empty string")
        value = payload.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ControlError(400, "'value' must be a number of at least 0")
        self.state.quotas.set(**{name: payload[name] for name in names}, value=value)
        return _json({**{name: payload[name] for name in names}, "value": float(value)})

    def hold_release(self, request: Request) -> Response:
        """Let a held answer go and stop counting."""
        self.state.hold.release()
        return _json(self.state.hold.status())


def _wait_seconds(request: Request) -> float:
    """The ``wait`` query parameter of a long poll, 0 when absent."""
    wait = request.args.get("wait")
    if wait is None:
        return 0.0
    try:
        seconds = float(wait)
    except ValueError:
        raise ControlError(400, "'wait' must be a number of seconds") from None
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise ControlError(400, f"'wait' must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    return seconds


def _tunnel_named(payload: dict[str, Any]) -> tuple[str, str]:
    """The VPN connection id and tunnel outside IP a request names."""
    connection_id = payload.get("vpn_connection_id")
    outside_ip = payload.get("outside_ip")
    if not isinstance(connection_id, str) or not isinstance(outside_ip, str):
        raise ControlError(400, "'vpn_connection_id' and 'outside_ip' must be strings")
    return connection_id, outside_ip


def _time(value: Any, name: str) -> datetime | None:
    """An ISO 8601 time with its UTC offset; None when not given."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ControlError(400, f"'{name}' must be an ISO 8601 time with its UTC offset")
    return moment.astimezone(UTC)


def _past_time(value: Any, name: str) -> datetime | None:
    """An ISO 8601 time with its UTC offset, not in the future; None when not given."""
    moment = _time(value, name)
    if moment is not None and moment > datetime.now(UTC):
        raise ControlError(400, f"'{name}' must not be in the future")
    return moment
