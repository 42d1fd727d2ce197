"""`python manage.py vpn_config_pack ID -o FILE [--redacted] [--zip]`: write a request's
latest config pack (rendering the first version if there is none yet).

The export is recorded as a download, like one from the portal.
"""

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vpn.models import PackVariant, VpnRequest
from vpn.selectors.packs import config_pack_latest
from vpn.services.packs import (
    PackNotReady,
    PackParameterError,
    config_pack_download_record,
    config_pack_render,
)

EXPORT_LABEL = "manage.py vpn_config_pack"


class Command(BaseCommand):
    help = "Write the latest config pack of a VPN request (PDF, or zip of the device files)."

    def add_arguments(self, parser):
        """ID, the output file, and which variant."""
        parser.add_argument("request_id", type=int, help="The request's id (VPN-00042 is 42).")
        parser.add_argument("-o", "--output", required=True, type=Path, help="The file to write.")
        parser.add_argument(
            "--redacted", action="store_true", help="The variant without pre-shared keys."
        )
        parser.add_argument(
            "--zip",
            dest="as_zip",
            action="store_true",
            help="The zip of the attached files (device configurations, parameters).",
        )

    def handle(self, *args, request_id: int, output: Path, redacted: bool, as_zip: bool, **options):
        """Write the file, record the export, say what was written."""
        try:
            vpn_request = VpnRequest.objects.get(pk=request_id)
        except VpnRequest.DoesNotExist:
            raise CommandError(f"No VPN request with id {request_id}.") from None
        if not vpn_request.tunnels.exists():
            raise CommandError(
                f"{vpn_request.reference} has no VPN connection yet (no tunnels): "
                "there is no config pack to write."
            )

        pack = config_pack_latest(request_id=request_id)
        if pack is None:
            try:
                pack = config_pack_render(request_id=request_id, reason=EXPORT_LABEL)
            except (PackNotReady, PackParameterError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Rendered {vpn_request.reference} config pack v{pack.version}.")

        if as_zip:
            variant = PackVariant.REDACTED_ZIP if redacted else PackVariant.ZIP
        else:
            variant = PackVariant.REDACTED_PDF if redacted else PackVariant.PDF
        with pack.file_for(variant).open("rb") as stored:
            content = stored.read()
        try:
            output.write_bytes(content)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from exc
        config_pack_download_record(pack=pack, variant=variant, token_label=EXPORT_LABEL)

        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {vpn_request.reference} config pack v{pack.version} "
                f"({variant.label}, {len(content):,} bytes, "
                f"sha256 {hashlib.sha256(content).hexdigest()[:16]}) to {output}."
            )
        )
        if not redacted:
            self.stdout.write(
                self.style.WARNING("It contains the pre-shared keys: keep it confidential.")
            )
