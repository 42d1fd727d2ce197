"""Reads of config packs: a request's versions and who downloaded them."""

from vpn.models import ConfigPack


def config_pack_latest(*, request_id: int) -> ConfigPack | None:
    """The request's newest pack version, if any."""
    return ConfigPack.objects.filter(request_id=request_id).order_by("-version").first()
