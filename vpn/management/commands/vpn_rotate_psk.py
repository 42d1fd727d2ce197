"""`python manage.py vpn_rotate_psk ID --tunnel N`: give a tunnel a new pre-shared key.

Sets the new key in AWS, stores it (encrypted) and issues a new config pack version, so
that the customer's network team configures the same key from the pack. The tunnel is
down until their device has the new key: agree a time with them first.
"""

from django.core.management.base import BaseCommand, CommandError

from vpn import aws
from vpn.services.packs import PackNotReady, PackParameterError
from vpn.services.psk import PskRotateError, psk_rotate


class Command(BaseCommand):
    """Rotate one tunnel's pre-shared key and reissue the config pack."""

    help = "Give one tunnel of a provisioned VPN a new pre-shared key and reissue its pack."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--tunnel", type=int, required=True, choices=(1, 2), help="The tunnel: 1 or 2."
        )

    def handle(self, *args, request_id: int, tunnel: int, **options):
        """Rotate, then say what was done; fail with AWS's or the portal's reason."""
        try:
            done = psk_rotate(request_id=request_id, position=tunnel, actor_label="vpn_rotate_psk")
        except PskRotateError as exc:
            raise CommandError(str(exc)) from exc
        except aws.AwsError as exc:
            if exc.transient:
                raise CommandError(
                    f"AWS did not answer clearly; the key may or may not have changed: run "
                    f"the command again. {exc}"
                ) from exc
            raise CommandError(f"AWS refused the new key; nothing was changed: {exc}") from exc
        except (PackNotReady, PackParameterError) as exc:
            raise CommandError(
                f"The key was rotated and stored, but the config pack could not be issued: {exc}"
            ) from exc
        reference = done.request.reference
        self.stdout.write(
            f"{reference}: tunnel {tunnel} ({done.outside_ip}) has a new pre-shared key in AWS."
        )
        if done.pack is not None:
            self.stdout.write(
                f"{reference}: config pack version {done.pack.version} issued with the new key."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"{reference}: send the customer the new pack; the tunnel stays down until "
                "their device has the new key."
            )
        )
