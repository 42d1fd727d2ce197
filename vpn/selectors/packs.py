"""Reads of config packs: a request's versions and who downloaded them."""

from django.urls import reverse

from vpn.models import ConfigPack, PackDownload, PackVariant, VpnRequest

# How many downloads the request page lists.
DOWNLOADS_SHOWN = 25


def config_pack_latest(*, request_id: int) -> ConfigPack | None:
    """The request's newest pack version, if any."""
    return ConfigPack.objects.filter(request_id=request_id).order_by("-version").first()


def config_pack_card_context(*, request: VpnRequest) -> dict:
    """What the request page's "Config pack" card shows: the versions, newest first, each
    with its download links (`links`: label, redacted, URL), and the latest downloads."""
    packs = list(request.config_packs.order_by("-version"))
    for pack in packs:
        pack.links = [
            (
                variant.label,
                variant.redacted,
                reverse("vpn:configpack_download", args=[request.pk, pack.version, variant]),
            )
            for variant in PackVariant
        ]
    downloads = (
        PackDownload.objects.filter(pack__request=request)
        .select_related("pack", "user")
        .order_by("-downloaded_at", "-pk")[:DOWNLOADS_SHOWN]
    )
    return {"config_packs": packs, "pack_downloads": downloads}
