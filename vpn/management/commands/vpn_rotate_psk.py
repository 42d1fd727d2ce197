"""`python manage.py vpn_rotate_psk ID --tunnel N|all [--confirm]`: a thin alias of
`vpn_change ID --rotate-psk N --sync`.

A new key for tunnel N (or both, one at a time), set in AWS, stored and issued in a new
config pack version, through the same change as the request page's. The tunnel is down
until the customer's device has the new key: agree a time with them first.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    """Rotate pre-shared keys: `vpn_change --rotate-psk`, run here to its end."""

    help = "Give a tunnel of a provisioned VPN a new pre-shared key (vpn_change --rotate-psk)."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--tunnel", required=True, choices=("1", "2", "all"), help="The tunnel: 1, 2 or all."
        )
        parser.add_argument("--reason", default="Pre-shared key rotation (vpn_rotate_psk)")
        parser.add_argument("--confirm", action="store_true", help="Accept the impact printed.")

    def handle(self, *args, request_id: int, tunnel: str, reason: str, confirm: bool, **options):
        """Hand over to vpn_change, which says what it does and fails clearly."""
        arguments = [str(request_id), "--rotate-psk", tunnel, "--reason", reason, "--sync"]
        if confirm:
            arguments.append("--confirm")
        call_command("vpn_change", *arguments, stdout=self.stdout, stderr=self.stderr)
