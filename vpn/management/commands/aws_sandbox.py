"""``manage.py aws_sandbox``: serve the local AWS sandbox for development and demos.

The portal talks to the sandbox only over HTTP (boto3 with ``endpoint_url``); this
command is a convenience that starts the same server as ``python -m sandbox``, taking its
default state delay from the ``AWS_SANDBOX_STATE_DELAY`` setting.
"""

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
        """Serve until interrupted, announcing the URL on stdout."""
        # Imported here: the sandbox pulls in moto, which the portal itself never needs.
        from sandbox.server import run

        if state_delay is None:
            state_delay = getattr(settings, "AWS_SANDBOX_STATE_DELAY", 3.0)
        run(host=host, port=port, state_delay=state_delay, announce=self.stdout.write)
