"""What one sandbox server owns besides moto's backends."""

import threading

from sandbox.faults import CallStats, FaultInjector
from sandbox.hold import CallHold
from sandbox.lifecycle import Lifecycle
from sandbox.vpn import VpnRegistry


class SandboxState:
    """The sandbox's own state: delayed changes, VPN records, fault rules, statistics.

    ``lock`` serialises requests: moto's backends are not thread-safe and the sandbox's
    allocations (outside addresses, inside CIDRs) must not race.
    """

    def __init__(self, state_delay: float, deleted_retention: float):
        self.lock = threading.RLock()
        self.lifecycle = Lifecycle(state_delay)
        self.vpn = VpnRegistry(self.lifecycle, deleted_retention)
        self.faults = FaultInjector()
        self.stats = CallStats()
        self.hold = CallHold()

    def reset(self) -> None:
        """Forget everything (moto's backends are reset separately)."""
        self.lifecycle.clear()
        self.vpn = VpnRegistry(self.lifecycle, self.vpn.deleted_retention)
        self.faults.clear()
        self.stats.clear()
        self.hold.release()
