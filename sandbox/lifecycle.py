"""Delayed state changes, evaluated lazily from timestamps.

AWS resources do not become usable at once: a VPN connection is ``pending`` for minutes,
a NAT gateway too. The sandbox imitates that with a configurable delay. Rather than
running timers, it records *when* each change is due and applies every change that has
come due at the start of the next request, so nothing happens behind the caller's back
and an idle sandbox costs nothing.
"""

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any


class Lifecycle:
    """A queue of state changes due at given times, applied by :meth:`run_due`."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic):
        self.delay = delay
        self._clock = clock
        # (due time, tie-breaker, action): the counter keeps actions of equal due time in
        # insertion order and spares heapq from ever comparing two callables.
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()

    def call_later(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` at the first :meth:`run_due` at least ``seconds`` from now."""
        heapq.heappush(self._queue, (self._clock() + seconds, next(self._counter), action))

    def transition(
        self,
        obj: Any,
        start: str,
        end: str,
        on_settled: Callable[[], None] | None = None,
    ) -> None:
        """Put ``obj.state`` in ``start`` now and in ``end`` once the delay has passed.

        The change only happens if nothing else moved the object meanwhile (a connection
        deleted while still ``pending`` must not come back as ``available``).
        ``on_settled`` runs right after the object reaches ``end``.
        """
        obj.state = start

        def settle() -> None:
            if obj.state == start:
                obj.state = end
                if on_settled is not None:
                    on_settled()

        self.call_later(self.delay, settle)

    def run_due(self) -> None:
        """Apply every change whose time has come, oldest first."""
        now = self._clock()
        while self._queue and self._queue[0][0] <= now:
            _, _, action = heapq.heappop(self._queue)
            action()

    def clear(self) -> None:
        """Forget every pending change (used by reset)."""
        self._queue.clear()
