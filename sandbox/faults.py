"""Fault injection and call statistics.

Tests and demos need to see how the portal copes with throttling, AWS-side failures and
used-up quotas.
A fault rule names an action (or ``*``), the kind of error, a rate and optionally how
many times it may fire, and the region or account it is limited to. Statistics count
every API call and every injected fault.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError, internal_error, quota_exceeded, throttled

# Each kind makes the error for the action it answers: throttling and server errors are
# transient (worth a retry), a quota error is permanent (the call is refused as it stands).
FAULT_KINDS = {
    "throttle": lambda action: throttled(),
    "server": lambda action: internal_error(),
    "quota": quota_exceeded,
}

# Floating-point sums drift (0.1 added ten times is 0.9999999999999999); the rule must
# still fire on the tenth call.
_EPSILON = 1e-9


@dataclass
class FaultRule:
    """Inject ``error`` into a share ``rate`` of the calls to ``action``.

    Injection is deterministic rather than random: each matching call adds ``rate`` to an
    accumulator, and the call that brings it to 1 fails and takes 1 away. A rate of 0.3
    thus fails exactly 3 calls in 10 and never two in a row, so a client with retries
    always gets through and tests built on it cannot be flaky.
    """

    action: str
    error: str
    rate: float = 1.0
    count: int | None = None  # how many more times it may fire; None for no limit
    region: str | None = None  # None: every region
    account: str | None = None  # None: every account
    _accumulated: float = 0.0

    def matches(self, action: str, region: str = "-", account: str = "-") -> bool:
        """Whether this rule applies to a call of ``action`` in ``region`` and ``account``."""
        return (
            self.action in ("*", action)
            and self.region in (None, region)
            and self.account in (None, account)
        )

    def fires(self) -> bool:
        """Account for one matching call; true if this call gets the error."""
        if self.count is not None and self.count <= 0:
            return False
        self._accumulated += self.rate
        if self._accumulated < 1 - _EPSILON:
            return False
        self._accumulated -= 1
        if self.count is not None:
            self.count -= 1
        return True

    def describe(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return {
            "action": self.action,
            "error": self.error,
            "rate": self.rate,
            "count": self.count,
            "region": self.region,
            "account": self.account,
        }


def parse_rule(payload: Any) -> FaultRule:
    """Build a rule from the control API's JSON, or raise ``ValueError`` saying what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    action = payload.get("action")
    if not isinstance(action, str) or not action:
        raise ValueError("'action' must be an API action name or '*'")
    error = payload.get("error")
    if error not in FAULT_KINDS:
        raise ValueError("'error' must be one of: " + ", ".join(sorted(FAULT_KINDS)))
    rate = payload.get("rate", 1.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError("'rate' must be a number between 0 and 1")
    count = payload.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError("'count' must be a non-negative integer")
    scope = call_scope(payload)
    return FaultRule(action=action, error=error, rate=float(rate), count=count, **scope)


def call_scope(payload: dict) -> dict[str, str | None]:
    """The optional ``region`` and ``account`` a rule or a hold is limited to, or raise
    ``ValueError``."""
    scope = {}
    for name in ("region", "account"):
        value = payload.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"'{name}' must be a non-empty string")
        scope[name] = value
    return scope


class FaultInjector:
    """The active fault rules, consulted once per API call."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Activate a rule (rules are consulted in the order they were added)."""
        self.rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def pick(
        self, action: str, region: str = "-", account: str = "-"
    ) -> tuple[str, ApiError] | None:
        """The fault to answer this call with, as (kind, error), or None to let it through."""
        for rule in self.rules:
            if rule.matches(action, region, account) and rule.fires():
                return rule.error, FAULT_KINDS[rule.error](action)
        return None


class CallStats:
    """How many calls of each action arrived, how many got an injected fault, and how long
    the sandbox took to answer them all (its own serving time, without HTTP)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.faults: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.serving_seconds = 0.0

    def record_call(self, action: str) -> None:
        """Count one incoming call."""
        self.calls[action] += 1

    def record_served(self, seconds: float) -> None:
        """Add the time one call took to answer (the calls are answered one at a time)."""
        self.serving_seconds += seconds

    def record_fault(self, action: str, kind: str) -> None:
        """Count one injected fault."""
        self.faults[action][kind] += 1

    def clear(self) -> None:
        """Start counting from zero."""
        self.calls.clear()
        self.faults.clear()
        self.serving_seconds = 0.0

    def snapshot(self) -> dict[str, Any]:
        """The statistics as the control API returns them."""
        return {
            "calls": dict(self.calls),
            "faults": {action: dict(kinds) for action, kinds in self.faults.items()},
            "serving_seconds": round(self.serving_seconds, 6),
        }
