"""Config packs: a new version whenever the connection's parameters change, the
record of every download, and the audited reading of keys.

`config_pack_render` issues a version after anything the pack prints changes: for
provisioning it runs as a job of the "packs" queue, queued once by
`config_pack_render_queue` after the last step that sets the pack's parameters; a change
to a live VPN calls it in its own job. It compares the parameters' hash with the latest
version and renders only when they differ: the full PDF, the redacted PDF, and the same
two as zips of the attached files, all kept in the default storage. Downloads are served
from there and never rendered again; `config_pack_prepare` queues the first version for
a page that finds none (its job lost), and the page says the pack is being prepared.

`config_pack_reveal` records a reading of keys by staff (the full PDF or zip): who,
when, why and which version, beside the download itself. Without a reason nothing is
recorded and nothing is served.

`config_pack_renumbered_zip` gives the latest version's redacted files with other
interface and policy numbers, for a device that already uses the pack's: the one
download that is rendered on demand, from the same parameters as the stored version.
"""

import logging
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from vpn import events, pdf
from vpn.choices import OPERATIONAL_STAGES
from vpn.models import ConfigPack, KeyReveal, PackDownload, PackVariant, Tunnel, VpnRequest
from vpn.packs.contract import (
    PackCopy,
    PackNotReady,
    PackParameterError,
    PackParameters,
    pack_copies,
)
from vpn.packs.devices import DeviceNumbering
from vpn.packs.document import (
    DOCUMENT_TEMPLATE,
    document_context,
    files_zip,
    pack_files,
    zip_folder,
)
from vpn.permissions import user_may
from vpn.selectors.packs import config_pack_latest

__all__ = [
    "DeviceNumbering",
    "KeyRevealRefused",
    "PackNotReady",
    "PackParameterError",
    "PackRenderConflict",
    "RenumberRefused",
    "config_pack_download_record",
    "config_pack_prepare",
    "config_pack_preview",
    "config_pack_render",
    "config_pack_render_queue",
    "config_pack_renumbered_zip",
    "config_pack_reveal",
]

logger = logging.getLogger(__name__)

# Attempts when another process issues a version of the same request meanwhile.
_RENDER_ATTEMPTS = 3
# The longest reason a reading of keys may give.
REVEAL_REASON_MAX_LENGTH = 500


class PackRenderConflict(Exception):
    """Other processes kept issuing versions of the same pack while this one rendered."""


class KeyRevealRefused(Exception):
    """A reading of keys that is not allowed or not explained; nothing was recorded."""


class RenumberRefused(Exception):
    """Device files with other numbers that cannot be issued; nothing was recorded."""


@dataclass(frozen=True)
class RenumberedZip:
    """The latest version's redacted files with other numbers: a name and the zip."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class RenderedVariant:
    """One variant (full or redacted) of a version: its PDF and its zip."""

    pdf: bytes
    zip: bytes
    fetched: tuple[str, ...]
    refused: tuple[str, ...]


def _request_for_pack(request_id: int) -> VpnRequest:
    return (
        VpnRequest.objects.select_related("customer")
        .prefetch_related(
            Prefetch("tunnels", queryset=Tunnel.objects.order_by("position")), "resources"
        )
        .get(pk=request_id)
    )


def config_pack_render_queue(*, request_id: int, reason: str) -> bool:
    """Queue the rendering of the connection's current parameters on the "packs" queue,
    unless the latest version has them; returns whether a render is due.

    The job's id is the request's and the parameters' hash: asked twice for the same
    parameters (provisioning, then a download before the worker got to it), RQ holds one
    job, and `config_pack_render` itself renders nothing for a hash already issued. A
    connection not ready for a pack, or with a value unfit for it, queues nothing (the
    reason is logged).
    """
    vpn_request = _request_for_pack(request_id)
    try:
        digest = PackParameters.from_request(vpn_request).sha256()
    except (PackNotReady, PackParameterError) as exc:
        logger.warning("%s: no config pack queued: %s", vpn_request.reference, exc)
        return False
    latest = config_pack_latest(request_id=request_id)
    if latest is not None and latest.parameters_hash == digest:
        return False
    events.job_enqueue(
        "vpn.jobs.request_pack_render",
        request_id,
        reason,
        job_id=f"pack-render-{request_id}-{digest[:32]}",
    )
    return True


def config_pack_prepare(*, request: VpnRequest) -> bool:
    """Whether the pack of a built VPN (an operational stage) is being prepared: no
    version exists yet, and its rendering is queued (here, if nothing queued it yet).

    For the pages that offer the pack: they say it is being prepared instead of offering
    nothing, and never render it in the web request themselves.
    """
    if request.stage not in OPERATIONAL_STAGES or request.config_packs.exists():
        return False
    return config_pack_render_queue(request_id=request.pk, reason="First download")


def config_pack_render(*, request_id: int, reason: str = "") -> ConfigPack | None:
    """Issue a new pack version if the connection's parameters changed; else None.

    Raises `VpnRequest.DoesNotExist`, `PackNotReady` before the VPN connection exists,
    and `PackParameterError` for a stored value unfit for the pack. Rendering (a few
    seconds) runs outside any transaction; the version is then written under the
    request's row lock, and rendered again if another process issued one meanwhile.
    """
    for _ in range(_RENDER_ATTEMPTS):
        vpn_request = _request_for_pack(request_id)
        parameters = PackParameters.from_request(vpn_request)
        digest = parameters.sha256()
        latest = config_pack_latest(request_id=request_id)
        if latest is not None and latest.parameters_hash == digest:
            return None
        version = latest.version + 1 if latest else 1
        changes = parameters.changes_since(latest.parameters if latest else None)
        issued_at = timezone.now()
        full, redacted = (
            _render_variant(copy)
            for copy in pack_copies(
                parameters,
                version=version,
                issued_at=issued_at,
                changes=changes,
                reason=reason[:200],
            )
        )
        with transaction.atomic():
            VpnRequest.objects.select_for_update().only("pk").get(pk=request_id)
            current = config_pack_latest(request_id=request_id)
            if (current.version if current else 0) != version - 1:
                continue
            pack = ConfigPack(
                request_id=request_id,
                version=version,
                parameters=parameters.for_storage(),
                parameters_hash=digest,
                changes=changes,
                reason=reason[:200],
                created_at=issued_at,
            )
            pack.request = vpn_request
            for variant, content in (
                (PackVariant.PDF, full.pdf),
                (PackVariant.ZIP, full.zip),
                (PackVariant.REDACTED_PDF, redacted.pdf),
                (PackVariant.REDACTED_ZIP, redacted.zip),
            ):
                pack.file_for(variant).save(
                    pack.download_name(variant), ContentFile(content), save=False
                )
            pack.save()
        logger.info(
            "Issued %s config pack v%s (%s): %s",
            vpn_request.reference,
            version,
            digest[:12],
            "; ".join(changes),
        )
        return pack
    raise PackRenderConflict(
        f"Could not issue a config pack for request {request_id}: versions kept changing."
    )


def _render_variant(copy: PackCopy) -> RenderedVariant:
    """The PDF (device configurations and parameters attached) and the zip of one copy."""
    configs, files = pack_files(copy)
    rendered = pdf.template_to_pdf(
        template_name=DOCUMENT_TEMPLATE,
        context=document_context(copy, configs=configs, files=files),
        attachments=tuple(
            pdf.PdfAttachment(name=file.name, content=file.content, description=file.description)
            for file in files
        ),
        created=copy.issued_at,
    )
    if rendered.refused:
        # The templates refer to static files only; anything else is a bug to fix.
        logger.warning("The config pack refers to non-static URLs: %s", rendered.refused)
    return RenderedVariant(
        pdf=rendered.content,
        zip=files_zip(files, folder=zip_folder(copy), issued_at=copy.issued_at),
        fetched=tuple(rendered.fetched),
        refused=tuple(rendered.refused),
    )


def config_pack_preview(*, request_id: int, redacted: bool = False) -> RenderedVariant:
    """Render the pack as the next version would be, without storing anything."""
    vpn_request = _request_for_pack(request_id)
    parameters = PackParameters.from_request(vpn_request)
    latest = config_pack_latest(request_id=request_id)
    full, redacted_copy = pack_copies(
        parameters,
        version=latest.version + 1 if latest else 1,
        issued_at=timezone.now(),
        changes=parameters.changes_since(latest.parameters if latest else None),
    )
    return _render_variant(redacted_copy if redacted else full)


def config_pack_download_record(
    *,
    pack: ConfigPack,
    variant: str,
    user: AbstractBaseUser | None = None,
    token_label: str = "",
    client_ip: str | None = None,
) -> PackDownload:
    """Record one download of a pack file: the audit trail shown on the detail page."""
    return PackDownload.objects.create(
        pack=pack,
        variant=PackVariant(variant),
        user=user if user is not None and user.is_authenticated else None,
        token_label=token_label[:100],
        client_ip=client_ip or None,
    )


def config_pack_reveal(
    *,
    pack: ConfigPack,
    variant: str,
    user: AbstractBaseUser,
    reason: str,
    client_ip: str | None = None,
) -> KeyReveal:
    """Record that `user` reads the keys of one version's full PDF or zip, and why.

    Writes the `KeyReveal` and the file's `PackDownload` together. Raises
    `KeyRevealRefused`, recording nothing, for a user the roles matrix does not let
    read keys, a blank or overlong reason, or a variant that holds no key.
    """
    if not user_may(user, "configpack_reveal"):
        raise KeyRevealRefused("Reading pre-shared keys is for key readers (Ops).")
    try:
        variant = PackVariant(variant)
    except ValueError:
        raise KeyRevealRefused(f"“{variant}” is not a file of the config pack.") from None
    if variant.redacted:
        raise KeyRevealRefused("The redacted files hold no key: download them directly.")
    reason = " ".join(reason.split())
    if not reason:
        raise KeyRevealRefused(
            "Say why you need the keys: a reason is required, and recorded with the reading."
        )
    if len(reason) > REVEAL_REASON_MAX_LENGTH:
        raise KeyRevealRefused(
            f"Keep the reason under {REVEAL_REASON_MAX_LENGTH} characters (it has {len(reason)})."
        )
    with transaction.atomic():
        download = config_pack_download_record(
            pack=pack, variant=variant, user=user, client_ip=client_ip
        )
        reveal = KeyReveal.objects.create(
            pack=pack,
            variant=variant,
            user=user,
            reason=reason,
            download=download,
            client_ip=client_ip or None,
        )
    logger.info(
        "%s config pack v%s: keys read by %s (%s)",
        pack.request.reference,
        pack.version,
        user.get_username(),
        variant.label,
    )
    return reveal


def config_pack_renumbered_zip(
    *,
    request_id: int,
    version: int,
    numbering: DeviceNumbering,
    user: AbstractBaseUser | None = None,
    client_ip: str | None = None,
) -> RenumberedZip:
    """The redacted zip of `version` with the device files numbered by `numbering`.

    Only the latest version, and only while the connection still has its parameters
    (the same hash): the files are rendered again, and must say what that version
    says. The download is recorded as one of the version's redacted zip. Raises
    `RenumberRefused`, recording nothing, for an older version or one about to be
    replaced, and `PackNotReady` before the VPN connection exists.
    """
    vpn_request = _request_for_pack(request_id)
    latest = config_pack_latest(request_id=request_id)
    if latest is None or latest.version != version:
        newest = f"v{latest.version}" if latest else "none yet"
        raise RenumberRefused(
            f"Only the latest version ({newest}) is issued with other numbers: "
            "older ones describe settings the connection no longer has."
        )
    parameters = PackParameters.from_request(vpn_request)
    if parameters.sha256() != latest.parameters_hash:
        raise RenumberRefused(
            f"The connection changed since v{version}: the next version is being issued. "
            "Ask again once it is on this page."
        )
    copy = PackCopy(
        parameters=parameters.redacted_copy(),
        version=latest.version,
        issued_at=latest.created_at,
        parameters_sha256=latest.parameters_hash,
        changes=tuple(latest.changes),
    )
    _, files = pack_files(copy, numbering)
    folder = f"{zip_folder(copy)}-tunnel{numbering.first_tunnel}"
    content = files_zip(files, folder=folder, issued_at=copy.issued_at)
    config_pack_download_record(
        pack=latest, variant=PackVariant.REDACTED_ZIP, user=user, client_ip=client_ip
    )
    return RenumberedZip(filename=f"{folder}.zip", content=content)
