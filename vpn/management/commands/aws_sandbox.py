"""``manage.py aws_sandbox``: serve the local AWS sandbox for development and demos.

The portal talks to the sandbox only over HTTP (boto3 with ``endpoint_url``) and never
imports it: this command replaces itself with ``python -m sandbox`` (same process, so a
process manager's signals reach the server), taking its default state delay from the
``AWS_SANDBOX_STATE_DELAY`` setting.
"""

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    """Serve the EC2 API sandbox in the foreground until interrupted."""

    help = "Serve the local AWS sandbox (EC2 API with VPN emulation) until interrupted."

    def add_arguments(self, parser):
        """The same flags as ``python -m sandbox``."""
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=5055, help="port to listen on")
        parser.add_argument(
            "--state-delay",
            type=float,
            default=None,
            metavar="SECONDS",
            help="how long resources stay pending/deleting (default: AWS_SANDBOX_STATE_DELAY)",
        )

    def handle(self, *args, host, port, state_delay, **options):
        """Serve until interrupted (the sandbox announces its URL on stdout)."""
        if state_delay is None:
            state_delay = settings.AWS_SANDBOX_STATE_DELAY
        self.stdout.flush()
        argv = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port)]
        argv += ["--state-delay", str(state_delay)]
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter and module
