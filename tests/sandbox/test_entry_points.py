"""``python -m sandbox`` and ``manage.py aws_sandbox`` start the same server."""

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from sandbox import server as sandbox_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_command_line_serves_and_logs_each_call():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--state-delay", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Guards against a hung server, not measures of speed: a loaded machine may take tens
    # of seconds to start Python and moto.
    watchdog = threading.Timer(300, process.kill)
    watchdog.start()
    try:
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        ec2 = boto3.client(
            "ec2",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ec2.create_vpc(CidrBlock="10.0.0.0/16")
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=120)
    finally:
        watchdog.cancel()
        process.kill()
    assert process.returncode == 0
    assert "CreateVpc eu-west-1 200" in log
    assert " ms" in log


@pytest.fixture
def started_servers(monkeypatch):
    """Let ``run`` start the real server but return at once instead of serving forever."""
    servers = []
    monkeypatch.setattr(sandbox_server.SandboxServer, "wait", lambda self: servers.append(self))
    return servers


def _django_ready() -> bool:
    try:
        from django.conf import settings

        return settings.configured
    except ImportError:
        return False


@pytest.mark.skipif(not _django_ready(), reason="Django settings are not configured")
def test_management_command(started_servers, settings, capsys):
    from django.core.management import call_command

    settings.AWS_SANDBOX_STATE_DELAY = 7.5
    call_command("aws_sandbox", "--port", "0")
    call_command("aws_sandbox", "--port", "0", "--state-delay", "0.25")
    del settings.AWS_SANDBOX_STATE_DELAY
    call_command("aws_sandbox", "--port", "0")

    delays = [server.app.state.lifecycle.delay for server in started_servers]
    assert delays == [7.5, 0.25, 3.0]
    assert capsys.readouterr().out.count("serving the EC2 API on http://127.0.0.1:") == 3
