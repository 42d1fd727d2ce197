"""Config pack downloads: served from storage (never rendered again) and recorded.

`pack_download_response` builds the response for any caller: the staff view below, and
the customer's self-service link (which passes its link's label instead of a user).
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views import View

from vpn.models import PackVariant, VpnRequest
from vpn.services.packs import config_pack_download_record
from vpn.views.clients import client_ip as client_ip_of


def pack_download_response(
    http_request: HttpRequest,
    *,
    vpn_request: VpnRequest,
    variant: str,
    version: int | None = None,
    downloaded_by=None,
    token_label: str = "",
    client_ip: str | None = None,
) -> FileResponse:
    """The stored file of one pack variant as an attachment, and a `PackDownload` row.

    `version` None means the latest. Raises Http404 for an unknown variant or version,
    or when the request has no pack yet. The caller has checked access: a redacted
    variant carries no key, a full one does.
    """
    try:
        variant = PackVariant(variant)
    except ValueError:
        raise Http404("No such config pack file.") from None
    packs = vpn_request.config_packs.order_by("-version")
    pack = (packs.filter(version=version) if version is not None else packs).first()
    if pack is None:
        raise Http404("No such config pack version.")
    try:
        stored = pack.file_for(variant).open("rb")
    except FileNotFoundError:
        raise Http404("The config pack file is missing from storage.") from None
    config_pack_download_record(
        pack=pack,
        variant=variant,
        user=downloaded_by,
        token_label=token_label,
        client_ip=client_ip if client_ip is not None else client_ip_of(http_request),
    )
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=pack.download_name(variant),
        content_type=variant.content_type,
    )
    # The full variants hold pre-shared keys: no cache may keep a copy.
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ConfigPackDownloadView(PermissionRequiredMixin, View):
    """A staff download of one version's PDF, redacted PDF, zip or redacted zip.

    The full variants need no more than seeing the request: any engineer who can may
    hand its pack to the customer. Every download is recorded, with who and from where.
    """

    permission_required = "vpn.view_vpnrequest"

    def get(self, request: HttpRequest, pk: int, version: int, variant: str) -> FileResponse:
        """Serve the stored file and record who downloaded it."""
        vpn_request = get_object_or_404(VpnRequest, pk=pk)
        return pack_download_response(
            request,
            vpn_request=vpn_request,
            variant=variant,
            version=version,
            downloaded_by=request.user,
        )
