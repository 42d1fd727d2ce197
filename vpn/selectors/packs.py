"""Reads of config packs: a request's versions, who downloaded them, who read their keys
and why, and what the request page's pack card offers to whom."""

from django.urls import reverse

from vpn.models import ConfigPack, KeyReveal, PackDownload, PackVariant, VpnRequest
from vpn.packs.devices import DeviceNumbering
from vpn.permissions import user_may

# How many downloads and key readings the request page lists.
DOWNLOADS_SHOWN = 25
REVEALS_SHOWN = 25

# The files that hold the keys: read only through the reveal, with a reason.
KEY_VARIANTS = tuple(variant for variant in PackVariant if not variant.redacted)


def config_pack_latest(*, request_id: int) -> ConfigPack | None:
    """The request's newest pack version, if any."""
    return ConfigPack.objects.filter(request_id=request_id).order_by("-version").first()


def config_pack_card_context(*, request: VpnRequest, user) -> dict:
    """What the request page's "Config pack" card shows `user`.

    The versions, newest first, each with its redacted download links (`links`: label
    and URL); for a key reader, where to ask for the full files (`reveal_url`) and which
    files hold keys; where the latest version's device files are issued with other
    numbers (`renumber_url`) and the default numbers; the latest key readings and
    downloads.
    """
    can_reveal = user_may(user, "configpack_reveal")
    packs = list(request.config_packs.order_by("-version"))
    for pack in packs:
        pack.links = [
            (
                variant.label,
                reverse("vpn:configpack_download", args=[request.pk, pack.version, variant]),
            )
            for variant in PackVariant
            if variant.redacted
        ]
    downloads = (
        PackDownload.objects.filter(pack__request=request)
        .select_related("pack", "user")
        .order_by("-downloaded_at", "-pk")[:DOWNLOADS_SHOWN]
    )
    reveals = (
        KeyReveal.objects.filter(pack__request=request)
        .select_related("pack", "user")
        .order_by("-revealed_at", "-pk")[:REVEALS_SHOWN]
    )
    return {
        "config_packs": packs,
        "pack_downloads": downloads,
        "key_reveals": reveals,
        "can_reveal": can_reveal,
        "reveal_url": reverse("vpn:configpack_reveal", args=[request.pk]) if can_reveal else "",
        "key_variants": [(variant.value, variant.label) for variant in KEY_VARIANTS],
        "renumber_url": (
            reverse("vpn:configpack_renumbered", args=[request.pk, packs[0].version])
            if packs
            else ""
        ),
        "default_numbering": DeviceNumbering(),
    }
