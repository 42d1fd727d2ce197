"""The generated swanctl.conf is loaded by a real strongSwan.

A charon of our own runs in fresh mount and network namespaces (its own /run, so no
clash with a system charon's pid file or sockets; no network, so nothing it initiates
leaves the machine), configured through its own strongswan.conf with the vici socket
in a temporary folder. `swanctl --load-all` then loads the generated file; as swanctl
exits 0 even for an invalid file, the checks read its output.
"""

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import timezone

from tests.config_pack_support import connection_request, copies_with_profile
from tests.conftest import service_missing
from vpn.choices import IkeVersion, Routing
from vpn.packs.contract import PackParameterError, PackParameters, pack_copies
from vpn.packs.devices import device_configs

CHARONS = ("/usr/lib/ipsec/charon", "/usr/libexec/ipsec/charon", "/usr/sbin/charon-systemd")
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
PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey kdf hmac sha1 sha2 aes gcm "
    "socket-default kernel-netlink vici"
)
FAILURES = ("invalid config file", "unknown option", "error", "failed", "parsing")


@dataclass(frozen=True)
class Charon:
    """A running charon: its vici URI and environment."""

    uri: str
    env: dict
    log: Path


def _strongswan_conf(socket: Path, log: Path) -> str:
    settings = f"""
    load_modular = no
    load = {PLUGINS}
    install_routes = no
    plugins {{
        vici {{
            socket = unix://{socket}
        }}
    }}
    filelog {{
        charon {{
            path = {log}
            default = 1
            cfg = 2
            flush_line = yes
        }}
    }}
"""
    # charon reads the `charon` section, charon-systemd its own.
    swanctl = "swanctl {\n    load = pem pkcs1 x509 pubkey openssl random\n}\n"
    return f"charon {{{settings}}}\ncharon-systemd {{{settings}}}\n{swanctl}"


@pytest.fixture(scope="module")
def charon(tmp_path_factory):
    """A charon for this module's tests, stopped at the end."""
    binary = next((path for path in CHARONS if os.access(path, os.X_OK)), None)
    if binary is None or shutil.which("swanctl") is None:
        service_missing("strongSwan")
    if (
        shutil.which("unshare") is None
        or subprocess.run(
            ["unshare", "--mount", "--net", "true"], capture_output=True, check=False
        ).returncode
    ):
        service_missing("strongSwan (unshare with mount and network namespaces, as root)")

    workdir = tmp_path_factory.mktemp("charon")
    socket, log = workdir / "charon.vici", workdir / "charon.log"
    conf = workdir / "strongswan.conf"
    conf.write_text(_strongswan_conf(socket, log))
    env = {**os.environ, "STRONGSWAN_CONF": str(conf)}
    process = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--net",
            "sh",
            "-c",
            'mount -t tmpfs tmpfs /run && exec "$0"',
            binary,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120  # a guard against a charon that never starts
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = log.read_text() if log.exists() else ""
            pytest.fail(f"charon did not start:\n{output}")
        time.sleep(0.05)
    yield Charon(uri=f"unix://{socket}", env=env, log=log)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _load(charon: Charon, config: str, folder: Path) -> str:
    """Load `config` as swanctl.conf; return swanctl's whole output."""
    for name in SWANCTL_DIRS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    path = folder / "swanctl.conf"
    path.write_text(config)
    result = subprocess.run(
        ["swanctl", "--load-all", "--clear", "--file", str(path), "--uri", charon.uri],
        env=charon.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.stdout + result.stderr + f"\nexit status {result.returncode}"


def _swanctl_conf(vpn_request, *, redacted: bool = False) -> str:
    full, redacted_copy = pack_copies(
        PackParameters.from_request(vpn_request),
        version=1,
        issued_at=timezone.now(),
        changes=["First version."],
    )
    copy = redacted_copy if redacted else full
    configs = {config.filename: config.text for config in device_configs(copy)}
    return configs["swanctl.conf"]


def _assert_clean(output: str) -> None:
    for failure in FAILURES:
        assert failure not in output.lower(), output
    assert output.endswith("exit status 0"), output


@pytest.mark.django_db
def test_two_tunnels_static_ikev2_load(charon, tmp_path):
    vpn_request = connection_request(routing=Routing.STATIC, ike_version=IkeVersion.IKEV2)
    name = vpn_request.reference.lower()
    output = _load(charon, _swanctl_conf(vpn_request), tmp_path)
    _assert_clean(output)
    assert f"loaded ike secret 'ike-{name}-t1'" in output
    assert f"loaded ike secret 'ike-{name}-t2'" in output
    assert f"loaded connection '{name}-t1'" in output
    assert f"loaded connection '{name}-t2'" in output
    assert "successfully loaded 2 connections" in output

    # What charon holds is this connection: both AWS outside IPs, IKEv2, the profile.
    listing = subprocess.run(
        ["swanctl", "--list-conns", "--uri", charon.uri],
        env=charon.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for tunnel in vpn_request.tunnels.all():
        assert tunnel.outside_ip in listing
    assert f"{name}-t1: IKEv2" in listing and f"{name}-t2: IKEv2" in listing
    # Rekeyed the profile's margin (540 s) before AWS's lifetimes (28,800 s and 3,600 s).
    assert "rekeying every 28260s" in listing
    assert "rekeying every 3060s" in listing


@pytest.mark.django_db
def test_one_tunnel_bgp_ikev1_loads_tunnel_1_only(charon, tmp_path):
    vpn_request = connection_request(
        routing=Routing.BGP, tunnel_count=1, ike_version=IkeVersion.IKEV1
    )
    name = vpn_request.reference.lower()
    output = _load(charon, _swanctl_conf(vpn_request), tmp_path)
    _assert_clean(output)
    assert f"loaded connection '{name}-t1'" in output
    assert f"'{name}-t2'" not in output
    assert "successfully loaded 1 connections" in output


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ike_version", "startup_action", "close_action"),
    [
        # AWS initiates only with IKEv2 and startup action `start`: it restarts the tunnel.
        (IkeVersion.IKEV2, "start", "none"),
        # Otherwise AWS never initiates, and only the customer's side can.
        (IkeVersion.IKEV2, "add", "start"),
        (IkeVersion.IKEV1, "add", "start"),
    ],
)
def test_the_customer_side_starts_again_a_tunnel_aws_will_not(
    charon, tmp_path, ike_version, startup_action, close_action
):
    vpn_request = connection_request(ike_version=ike_version)
    full, _ = copies_with_profile(vpn_request, startup_action=startup_action)
    configs = {config.filename: config.text for config in device_configs(full)}
    config = configs["swanctl.conf"]
    lines = [line.strip() for line in config.splitlines()]
    assert lines.count(f"close_action = {close_action}") == 2, config
    assert lines.count("dpd_action = restart") == 2, config
    assert lines.count("start_action = start") == 2, config
    assert f"startup action {startup_action}" in config
    _assert_clean(_load(charon, config, tmp_path))


@pytest.mark.django_db
def test_the_redacted_configuration_loads_too(charon, tmp_path):
    vpn_request = connection_request()
    config = _swanctl_conf(vpn_request, redacted=True)
    assert "REDACTED_TUNNEL1_PSK" in config
    assert vpn_request.tunnels.get(position=1).psk not in config
    _assert_clean(_load(charon, config, tmp_path))


def test_a_broken_configuration_is_noticed(charon, tmp_path):
    """The harness itself: what the checks above would see if the file were wrong."""
    output = _load(charon, "connections {\n    broken {\n        version = 2\n", tmp_path)
    assert "invalid config file" in output.lower() or "parsing" in output.lower()
    output = _load(charon, "connections {\n x {\n  no_such_option = 1\n }\n}\n", tmp_path)
    assert "unknown option" in output.lower(), output


@pytest.mark.django_db
def test_a_key_that_could_break_out_of_its_quotes_is_refused():
    vpn_request = connection_request()
    tunnel = vpn_request.tunnels.get(position=1)
    tunnel.psk = 'abcdefgh"\n}\nsecrets {'
    tunnel.save()
    with pytest.raises(PackParameterError):
        PackParameters.from_request(vpn_request)
