"""``python -m sandbox`` and ``manage.py aws_sandbox`` start the same server."""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

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


def _serve(argv: list[str], env: dict[str, str]) -> tuple[str, str, int]:
    """Start a sandbox with `argv`, make one call, stop it with SIGINT: (banner, log, rc)."""
    process = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        banner = process.stdout.readline()
        if "http://" in banner:
            # One answered call: the server is serving (and handles SIGINT) by then.
            url = banner.split(" on ", 1)[1].split()[0]
            boto3.client(
                "ec2",
                endpoint_url=url,
                region_name="eu-west-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).describe_vpcs()
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        process.kill()
    return banner, log, process.returncode


@pytest.mark.parametrize(
    ("extra_args", "environment_delay", "expected"),
    [([], "7.5", "7.5"), (["--state-delay", "0.25"], "7.5", "0.25"), ([], None, "3")],
)
def test_management_command_serves_with_the_settings_delay(extra_args, environment_delay, expected):
    """`manage.py aws_sandbox` becomes `python -m sandbox` (it never imports the sandbox),
    with the state delay from `AWS_SANDBOX_STATE_DELAY` unless a flag says otherwise."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("AWS_SANDBOX_STATE_DELAY", "DJANGO_SETTINGS_MODULE")
    }
    env["DJANGO_DEBUG"] = "true"
    if environment_delay is not None:
        env["AWS_SANDBOX_STATE_DELAY"] = environment_delay
    banner, _, returncode = _serve(
        [sys.executable, "manage.py", "aws_sandbox", "--port", str(port), *extra_args], env
    )
    assert f"serving the EC2 and CloudWatch Logs APIs on http://127.0.0.1:{port}" in banner
    assert f"(state delay {expected} s)" in banner
    assert returncode == 0
