"""Pre-shared key rotation: a tunnel gets a new key in AWS, the portal stores it, and the
config pack is issued again so that the customer configures the same key.

AWS's answer is the source of truth: the key stored is the one AWS reports after the
change. Should the process die between the two, rotating again (or any refresh of the
tunnels' options by provisioning) brings them back in step.
"""

import logging
from dataclasses import dataclass

from vpn import aws
from vpn.choices import OPERATIONAL_STAGES, AwsResourceRole
from vpn.models import AwsResource, ConfigPack, VpnRequest
from vpn.services.allocation import psk_generate
from vpn.services.packs import config_pack_render
from vpn.services.provisioning import tunnels_record

logger = logging.getLogger(__name__)


class PskRotateError(Exception):
    """A rotation that cannot be done as asked (wrong stage, no such tunnel)."""


@dataclass(frozen=True)
class PskRotated:
    """What a rotation did: the tunnel, and the pack version issued for the new key."""

    request: VpnRequest
    position: int
    outside_ip: str
    pack: ConfigPack | None


def psk_rotate(*, request_id: int, position: int, actor_label: str = "") -> PskRotated:
    """Give tunnel `position` of a provisioned request a new key, store it and reissue
    the config pack. Raises `PskRotateError`, or the AWS errors of `vpn.aws`."""
    try:
        request = VpnRequest.objects.get(pk=request_id)
    except VpnRequest.DoesNotExist as exc:
        raise PskRotateError(f"No VPN request with id {request_id}.") from exc
    if request.stage not in OPERATIONAL_STAGES:
        raise PskRotateError(
            f"{request.reference} is “{request.get_stage_display()}”: keys can be rotated only "
            "once the VPN is provisioned (waiting for customer, live, degraded or down)."
        )
    tunnel = request.tunnels.filter(position=position).first()
    if tunnel is None:
        raise PskRotateError(f"{request.reference} has no tunnel {position} (only 1 and 2).")
    connection = AwsResource.objects.filter(
        request=request, role=AwsResourceRole.VPN_CONNECTION, deleted_at__isnull=True
    ).first()
    if connection is None:
        raise PskRotateError(f"{request.reference} has no VPN connection recorded.")

    info = aws.vpn_tunnel_psk_set(
        connection.region,
        vpn_connection_id=connection.resource_id,
        outside_ip=tunnel.outside_ip,
        psk=psk_generate(),
    )
    tunnels_record(request=request, connection=info)
    who = f" by {actor_label}" if actor_label else ""
    logger.info("%s: pre-shared key of tunnel %s rotated%s", request.reference, position, who)
    pack = config_pack_render(
        request_id=request.pk, reason=f"Pre-shared key of tunnel {position} rotated{who}"
    )
    return PskRotated(request=request, position=position, outside_ip=tunnel.outside_ip, pack=pack)
