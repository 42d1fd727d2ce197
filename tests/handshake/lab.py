"""Two network namespaces joined by a veth pair, with a charon (and a BIRD) in each.

The customer's namespace holds the customer gateway's public IP, the AWS namespace both
tunnels' outside IPs; each end of the veth pair is created directly in its namespace,
so nothing is added to the host's network namespace but the two namespaces themselves.
Each charon runs with its own `/run` (a tmpfs in the mount namespace `ip netns exec`
makes) and its own strongswan.conf, which loads `kernel-libipsec`: this kernel has no
ESP, so ESP runs in user space over a TUN device, `ipsec0`. kernel-libipsec routes
everything into `ipsec0` from charon's table 220, which would send the IKE packets for
the second tunnel into the first: the lab deletes that table's rule and routes the
tunnels' inside addresses through `ipsec0` itself.

Every wait polls the state against a deadline; a failed wait or check raises an
`AssertionError` carrying the evidence: both sides' `swanctl --list-sas` and the tail
of both charon logs (and BIRD's protocols when BIRD runs).
"""

import itertools
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

CHARON_BINARIES = ("/usr/lib/ipsec/charon", "/usr/libexec/ipsec/charon")
LIBIPSEC_PLUGINS = (
    "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so",
    "/usr/libexec/ipsec/plugins/libstrongswan-kernel-libipsec.so",
)
# kernel-libipsec first: it provides the IPsec backend, kernel-netlink the networking.
# kdf: without it, key derivation fails.
PLUGINS = (
    "kernel-libipsec kernel-netlink socket-default vici random nonce openssl pem pkcs1 "
    "x509 pubkey kdf hmac sha1 sha2 aes gcm"
)
# What swanctl looks for next to swanctl.conf; created empty to keep its output clean.
SWANCTL_DIRS = (
    "conf.d",
    "x509",
    "x509ca",
    "x509ocsp",
    "x509aa",
    "x509ac",
    "x509crl",
    "pubkey",
    "private",
    "rsa",
    "ecdsa",
    "bliss",
    "pkcs8",
    "pkcs12",
)
TUN_DEVICE = "ipsec0"
CHARON_ROUTING_TABLE = 220
WAN_DEVICE = "wan0"
# Generous: the machine may be busy with other work (two cores, shared).
START_SECONDS = 30
LOG_TAIL_LINES = 40

_runs = itertools.count(1)
T = TypeVar("T")


def lab_missing() -> str | None:
    """What this machine lacks to run the lab, or None when it has everything."""
    if os.geteuid() != 0:
        return "root (network namespaces)"
    if shutil.which("ip") is None or _run(["ip", "netns", "list"]).returncode:
        return "ip netns (iproute2)"
    if _charon_binary() is None or shutil.which("swanctl") is None:
        return "strongSwan (charon and swanctl)"
    if not any(os.path.exists(path) for path in LIBIPSEC_PLUGINS):
        return "strongSwan's kernel-libipsec plugin (libcharon-extra-plugins)"
    if not os.path.exists("/dev/net/tun"):
        return "the TUN device /dev/net/tun"
    if shutil.which("ping") is None:
        return "ping (iputils-ping)"
    return None


def bird_missing() -> str | None:
    """What this machine lacks to run BIRD 2, or None."""
    if shutil.which("bird") is None or shutil.which("birdc") is None:
        return "BIRD 2 (bird2)"
    return None


def _charon_binary() -> str | None:
    return next((path for path in CHARON_BINARIES if os.access(path, os.X_OK)), None)


def _run(command: list[str], *, timeout: float = 60, env: dict | None = None):
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def _checked(command: list[str]) -> str:
    result = _run(command)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")
    return result.stdout


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return "(no log)"
    # The lab's own polling fills the log with vici connections: leave them out.
    kept = [line for line in path.read_text(errors="replace").splitlines() if "vici" not in line]
    return "\n".join(kept[-lines:])


# --- What `swanctl --list-sas` says ------------------------------------------------------

_IKE_LINE = re.compile(r"^(?P<name>\S+): #(?P<id>\d+), (?P<state>[A-Z_]+), (?P<version>IKEv\d)")
_CHILD_LINE = re.compile(r"^\s+(?P<name>\S+): #(?P<id>\d+), reqid \d+, (?P<state>[A-Z_]+)")
_PACKETS_IN = re.compile(r"^\s+in\s.*?(?P<packets>\d+) packets")


@dataclass
class ChildSa:
    """A CHILD SA as listed: name, unique id, state and packets received."""

    name: str
    unique_id: int
    state: str
    packets_in: int = 0


@dataclass
class IkeSa:
    """An IKE SA as listed, with its CHILD SAs."""

    name: str
    unique_id: int
    state: str
    version: str
    children: list[ChildSa] = field(default_factory=list)

    @property
    def up(self) -> bool:
        """ESTABLISHED, with at least one CHILD SA and every CHILD SA INSTALLED."""
        return (
            self.state == "ESTABLISHED"
            and bool(self.children)
            and all(child.state == "INSTALLED" for child in self.children)
        )


def parse_list_sas(text: str) -> list[IkeSa]:
    """The IKE SAs (and their CHILD SAs) in `swanctl --list-sas` output."""
    sas: list[IkeSa] = []
    for line in text.splitlines():
        if match := _IKE_LINE.match(line):
            sas.append(
                IkeSa(
                    match["name"], int(match["id"]), match["state"], match["version"], children=[]
                )
            )
        elif (match := _CHILD_LINE.match(line)) and sas:
            sas[-1].children.append(ChildSa(match["name"], int(match["id"]), match["state"]))
        elif (match := _PACKETS_IN.match(line)) and sas and sas[-1].children:
            sas[-1].children[-1].packets_in = int(match["packets"])
    return sas


# --- The pieces: namespaces, charons, BIRDs ----------------------------------------------


@dataclass
class Namespace:
    """A network namespace of the lab's own."""

    name: str

    def ip(self, *args: str) -> str:
        """Run `ip` inside the namespace; raises if it fails."""
        return _checked(["ip", "-n", self.name, *args])

    def exec_command(self, *args: str) -> list[str]:
        """The command line that runs `args` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command inside the namespace; returns its result, whatever it is."""
        return _run(self.exec_command(*args), timeout=timeout)

    def has_device(self, name: str) -> bool:
        """Whether the namespace has a network device of that name."""
        return _run(["ip", "-n", self.name, "link", "show", name]).returncode == 0


@dataclass
class Charon:
    """One charon in a namespace, with its own strongswan.conf, vici socket and log."""

    label: str
    namespace: Namespace
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        """The vici socket (in the test's folder, reachable from any namespace)."""
        return self.folder / "charon.vici"

    @property
    def log(self) -> Path:
        """charon's log file."""
        return self.folder / "charon.log"

    @property
    def env(self) -> dict:
        """The environment pointing charon and swanctl at this charon's strongswan.conf."""
        return {**os.environ, "STRONGSWAN_CONF": str(self.folder / "strongswan.conf")}

    def start(self) -> None:
        """Start charon and wait for its vici socket and its TUN device."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "strongswan.conf").write_text(self._strongswan_conf())
        output = (self.folder / "charon.out").open("wb")
        self.process = subprocess.Popen(
            self.namespace.exec_command(
                "sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$0"', _charon_binary() or ""
            ),
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        deadline = time.monotonic() + START_SECONDS
        while not (self.socket.exists() and self.namespace.has_device(TUN_DEVICE)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"The {self.label} charon did not start (vici socket and {TUN_DEVICE}):\n"
                    f"{_tail(self.folder / 'charon.out')}\n{_tail(self.log)}"
                )
            time.sleep(0.05)
        self.namespace.ip("link", "set", TUN_DEVICE, "up")
        # With the rule, IKE packets for the second peer would follow the first tunnel's
        # 0.0.0.0/1 and 128.0.0.0/1 routes into ipsec0 and loop.
        self.namespace.ip("rule", "del", "table", str(CHARON_ROUTING_TABLE))
        if f"lookup {CHARON_ROUTING_TABLE}" in self.namespace.ip("rule", "show"):
            raise AssertionError(f"The {self.label} side kept charon's routing rule.")

    def _strongswan_conf(self) -> str:
        return f"""charon {{
    load_modular = no
    load = {PLUGINS}
    # kernel-libipsec installs its routes whatever install_routes says, into this
    # table, whose rule `start` deletes: the lab routes through {TUN_DEVICE} itself.
    routing_table = {CHARON_ROUTING_TABLE}
    install_virtual_ip = no
    plugins {{
        vici {{
            socket = unix://{self.socket}
        }}
    }}
    filelog {{
        charon {{
            path = {self.log}
            time_format = %T
            default = 1
            cfg = 2
            flush_line = yes
        }}
    }}
}}
swanctl {{
    load = pem pkcs1 x509 pubkey openssl random
}}
"""

    def swanctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run swanctl against this charon."""
        return _run(
            ["swanctl", *args, "--uri", f"unix://{self.socket}"], env=self.env, timeout=timeout
        )

    def load(self, config: bytes) -> str:
        """Load `config`, byte for byte, as swanctl.conf; return swanctl's output."""
        folder = self.folder / "swanctl"
        for name in SWANCTL_DIRS:
            (folder / name).mkdir(parents=True, exist_ok=True)
        path = folder / "swanctl.conf"
        path.write_bytes(config)
        path.chmod(0o600)
        result = self.swanctl("--load-all", "--clear", "--file", str(path))
        return f"{result.stdout}{result.stderr}exit status {result.returncode}"

    def list_sas(self) -> str:
        """`swanctl --list-sas` as printed."""
        result = self.swanctl("--list-sas", timeout=30)
        return result.stdout + result.stderr

    def sas(self) -> list[IkeSa]:
        """The IKE SAs charon holds now."""
        return parse_list_sas(self.list_sas())

    def log_text(self) -> str:
        """The whole log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Stop charon (by its process id); its TUN device goes with it."""
        if self.process is not None:
            _stop(self.process)


@dataclass
class Bird:
    """One BIRD 2 in a namespace, with its configuration and control socket."""

    label: str
    namespace: Namespace
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        """BIRD's control socket."""
        return self.folder / "bird.ctl"

    def start(self, config: str) -> None:
        """Check the configuration, start BIRD and wait for its control socket."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "bird.conf"
        path.write_text(config)
        check = _run(["bird", "-p", "-c", str(path)])
        if check.returncode:
            raise AssertionError(
                f"The {self.label} BIRD configuration is invalid:\n"
                f"{check.stdout}{check.stderr}\n{config}"
            )
        output = (self.folder / "bird.out").open("wb")
        self.process = subprocess.Popen(
            self.namespace.exec_command(
                "bird",
                "-f",
                "-c",
                str(path),
                "-s",
                str(self.socket),
                "-P",
                str(self.folder / "bird.pid"),
            ),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        deadline = time.monotonic() + START_SECONDS
        while self.birdc("show", "status").returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"The {self.label} BIRD did not start:\n{_tail(self.folder / 'bird.out')}"
                )
            time.sleep(0.05)

    def birdc(self, *args: str) -> subprocess.CompletedProcess:
        """Run a birdc command against this BIRD."""
        return _run(["birdc", "-s", str(self.socket), *args], timeout=30)

    def show(self, *args: str) -> str:
        """What `birdc show ...` prints."""
        result = self.birdc("show", *args)
        return result.stdout + result.stderr

    def stop(self) -> None:
        """Stop BIRD (by its process id)."""
        if self.process is not None:
            _stop(self.process)


class Lab:
    """The two namespaces, their charons and BIRDs; `close` removes everything.

    Names carry the test process's id and a counter, so runs side by side never meet.
    """

    def __init__(self, folder: Path):
        tag = f"{os.getpid()}-{next(_runs)}"
        self.customer_ns = Namespace(f"hs{tag}-customer")
        self.aws_ns = Namespace(f"hs{tag}-aws")
        self.customer = Charon("customer", self.customer_ns, folder / "customer")
        self.aws = Charon("AWS", self.aws_ns, folder / "aws")
        self.birds: list[Bird] = []
        self.folder = folder
        self._created: list[Namespace] = []

    # Building and tearing down

    def build(self, *, customer_ip: str, aws_ips: list[str]) -> None:
        """The namespaces, the veth pair between them with the outside IPs, both charons."""
        for namespace in (self.customer_ns, self.aws_ns):
            _checked(["ip", "netns", "add", namespace.name])
            self._created.append(namespace)
            namespace.ip("link", "set", "lo", "up")
        # Both ends are made inside the namespaces: the host's namespace never sees them.
        self.customer_ns.ip(
            "link",
            "add",
            WAN_DEVICE,
            "type",
            "veth",
            "peer",
            "name",
            WAN_DEVICE,
            "netns",
            self.aws_ns.name,
        )
        for namespace in (self.customer_ns, self.aws_ns):
            namespace.ip("link", "set", WAN_DEVICE, "up")
        self.customer_ns.ip("address", "add", f"{customer_ip}/32", "dev", WAN_DEVICE)
        for aws_ip in aws_ips:
            self.aws_ns.ip("address", "add", f"{aws_ip}/32", "dev", WAN_DEVICE)
            self.customer_ns.ip("route", "add", f"{aws_ip}/32", "dev", WAN_DEVICE)
        self.aws_ns.ip("route", "add", f"{customer_ip}/32", "dev", WAN_DEVICE)
        for aws_ip in aws_ips:
            if not self.ping(self.customer_ns, source=customer_ip, target=aws_ip):
                raise AssertionError(f"The veth pair does not carry {customer_ip} -> {aws_ip}.")
        self.customer.start()
        self.aws.start()

    def add_inside_address(self, namespace: Namespace, address: str, prefixlen: int) -> None:
        """An inside address on the TUN device: its /30 is then routed into the tunnels."""
        namespace.ip("address", "add", f"{address}/{prefixlen}", "dev", TUN_DEVICE)

    def start_bird(self, namespace: Namespace, label: str, config: str) -> Bird:
        """Start a BIRD in `namespace` with `config`."""
        bird = Bird(label, namespace, self.folder / f"bird-{label.lower()}")
        self.birds.append(bird)
        bird.start(config)
        return bird

    def close(self) -> None:
        """Stop every process the lab started and delete its namespaces."""
        for bird in self.birds:
            bird.stop()
        for charon in (self.customer, self.aws):
            charon.stop()
        for namespace in self._created:
            _run(["ip", "netns", "delete", namespace.name])
        self._created.clear()

    # Traffic

    def ping(self, namespace: Namespace, *, source: str, target: str) -> bool:
        """One echo reply from `target`, asked from `source`, within 15 s (one per second)."""
        result = namespace.run(
            "ping", "-n", "-c", "1", "-w", "15", "-I", source, target, timeout=30
        )
        return result.returncode == 0

    # Evidence and waits

    def evidence(self) -> str:
        """What both sides hold and said: `swanctl --list-sas`, log tails, BIRD protocols."""
        parts = []
        for charon in (self.customer, self.aws):
            parts.append(f"--- {charon.label} side: swanctl --list-sas\n{charon.list_sas()}")
        for charon in (self.customer, self.aws):
            parts.append(f"--- {charon.label} side: charon log (tail)\n{_tail(charon.log)}")
        for bird in self.birds:
            parts.append(
                f"--- {bird.label} BIRD: show protocols all\n{bird.show('protocols', 'all')}"
            )
        return "\n".join(parts)

    def fail(self, message: str) -> AssertionError:
        """An assertion error with `message` and the evidence."""
        return AssertionError(f"{message}\n{self.evidence()}")

    def wait_until(self, check: Callable[[], T], *, seconds: float, what: str) -> T:
        """Poll `check` until it returns something truthy; fail with the evidence after
        `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            if result := check():
                return result
            if time.monotonic() > deadline:
                raise self.fail(f"Not within {seconds:g} s: {what}")
            time.sleep(0.1)
