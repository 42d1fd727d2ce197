"""What one sandbox server owns besides moto's backends."""

import threading
import time
from collections.abc import Callable

from sandbox.addresses import elastic_ip_pool
from sandbox.faults import CallStats, FaultInjector
from sandbox.hold import CallHold
from sandbox.lifecycle import Lifecycle
from sandbox.quotas import QuotaBook
from sandbox.tunnel_logs import TunnelLogWriter
from sandbox.vpn import VpnRegistry


class SandboxState:
    """The sandbox's own state: delayed changes, VPN records, elastic IPs, fault rules,
    statistics, Service Quotas values, and the writer of tunnel log events (its sink,
    CloudWatch Logs, is set by the server).

    ``lock`` serialises requests: moto's backends are not thread-safe and the sandbox's
    allocations (outside addresses, inside CIDRs) must not race.
    """

    def __init__(
        self,
        state_delay: float,
        deleted_retention: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.lock = threading.RLock()
        self.state_delay = state_delay  # as started; a reset goes back to it
        self.lifecycle = Lifecycle(state_delay, clock)
        self.tunnel_logs = TunnelLogWriter()
        self.vpn = VpnRegistry(self.lifecycle, deleted_retention, self.tunnel_logs)
        self.elastic_ips = elastic_ip_pool()
        self.faults = FaultInjector()
        self.stats = CallStats()
        self.hold = CallHold()
        self.quotas = QuotaBook()
        # Seconds each AWS answer takes to leave, as AWS's own serving time would: waited
        # outside the lock, so other calls are served meanwhile (0: answers leave at once).
        self.answer_time = 0.0

    def reset(self) -> None:
        """Forget everything, a changed delay included (moto's backends are reset
        separately)."""
        self.lifecycle.clear()
        self.lifecycle.delay = self.state_delay
        self.vpn = VpnRegistry(self.lifecycle, self.vpn.deleted_retention, self.tunnel_logs)
        self.elastic_ips = elastic_ip_pool()
        self.faults.clear()
        self.stats.clear()
        self.hold.release()
        self.quotas.clear()
        self.answer_time = 0.0
