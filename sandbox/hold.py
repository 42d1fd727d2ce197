"""Holding back one answer: the Nth AWS call takes effect, but its caller never hears.

For crash tests: a test arms the hold, lets a worker run until the sandbox holds an
answer, kills the worker there, and releases the hold. The resource then exists in the
sandbox while the portal never learnt its id: exactly the window a crash leaves.

The hold may count only the calls of one action, region or account: a test then holds
one call among several made at once (one region's read of a status refresh, a slow AWS
region) whichever order they arrive in, and sees the others answered meanwhile.
"""

import threading

# How long a held answer waits at most, so a forgotten hold cannot hang a server forever.
MAX_HOLD_SECONDS = 300.0


class CallHold:
    """Counts (and lists) AWS calls that take effect, and holds the answer of the chosen one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._held = threading.Event()
        self._after: int | None = None
        self._scope: dict[str, str | None] = {}
        self._calls = 0
        self._log: list[str] = []
        self.held_action: str | None = None

    def arm(
        self,
        after_calls: int,
        *,
        action: str | None = None,
        region: str | None = None,
        account: str | None = None,
    ) -> None:
        """Hold the answer of the `after_calls`-th call from now (counting only the calls
        of `action`, `region` and `account` where given)."""
        with self._lock:
            self._released.set()  # let any earlier held answer go
            self._released = threading.Event()
            self._held.clear()
            self._after, self._calls, self.held_action = after_calls, 0, None
            self._scope = {"action": action, "region": region, "account": account}
            self._log = []

    def counts(self, action: str, region: str = "-", account: str = "-") -> bool:
        """Count a call that took effect; True if its answer is to be held."""
        with self._lock:
            if self._after is None:
                return False
            call = {"action": action, "region": region, "account": account}
            if any(wanted not in (None, call[name]) for name, wanted in self._scope.items()):
                return False
            self._calls += 1
            self._log.append(action)
            if self._calls == self._after:
                self.held_action = action
                self._held.set()
                return True
            return False

    def wait(self) -> None:
        """Block the held answer until `release` (or the safety timeout)."""
        self._released.wait(MAX_HOLD_SECONDS)

    def wait_held(self, seconds: float) -> None:
        """Block until an answer is held, for at most `seconds` (a long poll)."""
        self._held.wait(seconds)

    def release(self) -> None:
        """Let the held answer go and stop counting."""
        with self._lock:
            self._after = None
            self._released.set()
            self._held.clear()

    def status(self) -> dict:
        """Whether an answer is held, and of which action."""
        with self._lock:
            return {
                "armed": self._after is not None,
                "after_calls": self._after,
                **self._scope,
                "calls": self._calls,
                "held": self.held_action,
                "log": list(self._log),
            }
