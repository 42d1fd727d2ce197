"""The sandbox's HTTP server: a WSGI wrapper around moto with faults, DryRun and logging.

Every AWS call goes through :class:`SandboxApp`, which applies due state changes, counts
the call, answers it with an injected fault or a DryRun error when it should, and
otherwise hands it to moto (with the sandbox's EC2 API in place of moto's; other
services, CloudWatch Logs among them, are moto's own, found from the request's
signature). Requests to ``/_sandbox/`` go to the control API.

From tests::

    server = SandboxServer(port=0, state_delay=0.0)
    url = server.start()   # "http://127.0.0.1:<free port>", served from a thread
    ...
    server.stop()
"""

import io
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from cheroot import wsgi
from werkzeug.wrappers import Request, Response

from sandbox.control import ControlApi
from sandbox.errors import ApiError, dry_run
from sandbox.moto_bridge import account_of, build_moto_app, reset_moto
from sandbox.state import SandboxState

log = logging.getLogger("sandbox")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
DEFAULT_STATE_DELAY = 3.0
# Calls served at once: a status refresh reads up to 20 pairs side by side, and each
# held call or long poll keeps a thread until it is answered.
SERVING_THREADS = 64
# AWS lists deleted VPN connections for a while (about an hour) before they vanish.
DEFAULT_DELETED_RETENTION = 3600.0
# How often, in seconds, Python lets another thread of the sandbox's process run (its
# default is 5 ms). moto's work on one call holds the interpreter; a thread whose answer
# is ready, or whose call just arrived, would wait up to the whole interval behind it, a
# delay of the sandbox's own making (AWS answers each call on its own). A process that
# only serves the sandbox hands over sooner.
SWITCH_INTERVAL = 0.0005

_CREDENTIAL_REGION = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/")
_CREDENTIAL_KEY = re.compile(r"Credential=([^/,]+)/")


@dataclass
class ApiCall:
    """What the wrapper needs to know about an incoming AWS request."""

    action: str
    region: str
    dry_run: bool
    json_protocol: bool = False  # CloudWatch Logs; EC2 speaks the query protocol
    account: str = "-"  # the account the caller's keys act in

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> "ApiCall":
        """Read action, region and DryRun, leaving the body in place for moto."""
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
            params.update(parse_qs(body.decode("utf-8", errors="replace")))
        action = params.get("Action", [""])[0]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not action:
            # JSON protocols name the action in a header ("Service.Action").
            action = target.rpartition(".")[2] or "-"
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        match = _CREDENTIAL_REGION.search(authorization)
        region = match.group(1) if match else "-"
        key = _CREDENTIAL_KEY.search(authorization)
        dry_run = params.get("DryRun", ["false"])[0].lower() == "true"
        return cls(
            action=action,
            region=region,
            dry_run=dry_run,
            json_protocol=bool(target),
            account=account_of(key.group(1)) if key else "-",
        )


class SandboxApp:
    """The WSGI application of one sandbox."""

    def __init__(
        self,
        state_delay: float,
        deleted_retention: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.state = SandboxState(state_delay, deleted_retention, clock)
        self.control = ControlApi(self.state, self.reset)
        self.moto = build_moto_app(self.state)

    def reset(self) -> None:
        """Clear moto's backends and the sandbox's own state."""
        reset_moto()
        self.state.reset()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        control = Request(environ) if path.startswith("/_sandbox/") else None
        if control is not None:
            # A long poll waits before taking the lock: the calls it waits for need it.
            self.control.wait(control)
        with self.state.lock:
            # State changes are applied lazily, before anything can observe them.
            self.state.lifecycle.run_due()
            if control is not None:
                return self.control.handle(control)(environ, start_response)
            if path.startswith("/moto-api"):
                return self._moto_api(environ, start_response)
            answer_time = self.state.answer_time
            body, held = self._aws_call(environ, start_response)
        if held:
            # Outside the lock: the sandbox keeps serving (and can be told to release).
            self.state.hold.wait()
        if answer_time:
            # AWS's own time to answer, outside the lock as well: calls overlap as they
            # would against AWS, where the sandbox alone would serve them one at a time.
            time.sleep(answer_time)
        return body

    def _moto_api(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        # moto's own endpoints pass through; its reset must clear the sandbox's state too,
        # or VPN records would outlive the moto resources they describe.
        if environ.get("PATH_INFO") == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
            self.state.reset()
        return self.moto(environ, start_response)

    def _aws_call(
        self, environ: dict[str, Any], start_response: Callable
    ) -> tuple[Iterable[bytes], bool]:
        """Answer one AWS call; also says whether its answer is to be held back."""
        started = time.perf_counter()
        held = False
        call = ApiCall.from_environ(environ)
        self.state.stats.record_call(call.action)
        error = self._refusal(call)
        if error is not None:
            if call.json_protocol:
                response = Response(
                    error.to_json(), status=error.status, mimetype="application/x-amz-json-1.1"
                )
            else:
                response = Response(error.to_xml(), status=error.status, mimetype="text/xml")
            body = response(environ, start_response)
            status = error.status
        elif call.action == "GetServiceQuota":
            body, status = self._service_quota(call, environ, start_response)
        else:
            captured: dict[str, int] = {}

            def capturing_start_response(status_line: str, headers: Any, exc_info: Any = None):
                captured["status"] = int(status_line.split()[0])
                return start_response(status_line, headers, exc_info)

            app_iter = self.moto(environ, capturing_start_response)
            try:
                # Drain inside the lock: moto's models must not change while serialising.
                body = [b"".join(app_iter)]
            finally:
                if hasattr(app_iter, "close"):
                    app_iter.close()
            status = captured.get("status", 0)
            held = status < 400 and self.state.hold.counts(call.action, call.region, call.account)
        elapsed = time.perf_counter() - started
        self.state.stats.record_served(elapsed)
        log.info(
            "%s %s %s %.1f ms%s", call.action, call.region, status, elapsed * 1000, " (held)" * held
        )
        return body, held

    def _service_quota(
        self, call: ApiCall, environ: dict[str, Any], start_response: Callable
    ) -> tuple[Iterable[bytes], int]:
        """Answer GetServiceQuota from the sandbox's own values, in the caller's account."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            payload, status = (
                self.state.quotas.answer(account=call.account, region=call.region, body=body),
                200,
            )
        except ApiError as error:
            payload, status = error.to_json(), error.status
        response = Response(payload, status=status, mimetype="application/x-amz-json-1.1")
        return response(environ, start_response), status

    def _refusal(self, call: ApiCall) -> ApiError | None:
        """The error to answer instead of running the call, if any."""
        fault = self.state.faults.pick(call.action, call.region, call.account)
        if fault is not None:
            kind, error = fault
            self.state.stats.record_fault(call.action, kind)
            return error
        if call.dry_run:
            # AWS checks permissions only; the sandbox grants everything.
            return dry_run()
        return None


class SandboxServer:
    """A sandbox served over HTTP from a background thread.

    ``port=0`` picks a free port. ``state_delay`` is how long resources stay in their
    transitional states (``pending``, ``deleting``, ``attaching``...); ``deleted_retention``
    how long deleted VPN connections stay listed. ``clock`` (seconds, monotonic) measures
    both; a test can pass a clock it moves forward itself.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        state_delay: float = 0.0,
        deleted_retention: float = DEFAULT_DELETED_RETENTION,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.host = host
        self.port = port
        self.app = SandboxApp(state_delay, deleted_retention, clock)
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give boto3 as ``endpoint_url``."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self._server.bind_addr[1]}"

    def start(self) -> str:
        """Start serving in a background thread and return the base URL."""
        # Cheroot keeps connections open between calls, as AWS's endpoints do: a client
        # then pays for one connection, not one per call. Its threads serve the calls
        # that wait outside the lock (held, or taking AWS's answer time) side by side.
        self._server = wsgi.Server(
            (self.host, self.port), self.app, numthreads=SERVING_THREADS, server_name="sandbox"
        )
        self._server.prepare()  # binds the port, so that `url` knows it
        self._thread = threading.Thread(target=self._server.serve, name="aws-sandbox", daemon=True)
        self._thread.start()
        return self.url

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C interrupts the wait)."""
        while self._thread is not None and self._thread.is_alive():
            # A join with a timeout keeps the main thread responsive to KeyboardInterrupt.
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "SandboxServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _ensure_console_logging() -> None:
    # Show one line per call on the console unless the host program configured logging.
    log.setLevel(logging.INFO)
    if not log.hasHandlers():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        log.addHandler(handler)


def _print(line: str) -> None:
    # Flushed, so that a parent process reading a pipe sees the URL at once.
    print(line, flush=True)


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    state_delay: float = DEFAULT_STATE_DELAY,
    announce: Callable[[str], object] = _print,
) -> None:
    """Serve the sandbox in the foreground until interrupted (the CLI's entry point)."""
    _ensure_console_logging()
    sys.setswitchinterval(SWITCH_INTERVAL)
    server = SandboxServer(host=host, port=port, state_delay=state_delay)
    url = server.start()
    try:
        # Announced inside the try: a Ctrl-C that follows at once still stops it cleanly.
        announce(
            f"AWS sandbox serving the EC2 and CloudWatch Logs APIs on {url} "
            f"(state delay {state_delay:g} s)"
        )
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
