"""Config pack downloads: served from storage (never rendered again) and recorded.

* `requests/<pk>/pack/<version>/<variant>/`: a staff download of a redacted file. The
  full files hold the pre-shared keys: asked for here, they are refused with a page
  that says how to read them.
* `requests/<pk>/pack/reveal/`: a key reader (`vpn.reveal_psk`) reads one version's
  full PDF or zip, with a reason; the reading is recorded, then the download starts.
* `requests/<pk>/pack/<version>/device-files/?first_tunnel=N&...`: the latest version's
  redacted zip with the device files numbered as asked, for a device that already uses
  the pack's numbers; bad numbers get a page that says why.

`pack_download_response` builds the response for any caller: the staff view below, and
the customer's self-service link (which passes its link's label instead of a user). A
built VPN whose first version is not rendered yet gets a page saying it is being
prepared, and its rendering is queued (never rendered in the web request).
"""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from vpn.models import ConfigPack, PackVariant, VpnRequest
from vpn.permissions import RoleRequiredMixin, user_may
from vpn.services.packs import (
    REVEAL_REASON_MAX_LENGTH,
    DeviceNumbering,
    KeyRevealRefused,
    PackNotReady,
    PackParameterError,
    RenumberRefused,
    config_pack_download_record,
    config_pack_prepare,
    config_pack_renumbered_zip,
    config_pack_reveal,
)
from vpn.views.clients import client_ip as client_ip_of

# A refused reveal is told inside the pack card, beside its form, when the request page
# loads next: a message at the top of the page would be out of sight.
REVEAL_REFUSAL_SESSION_KEY = "vpn_key_reveal_refused"
# When to ask again for a pack that is being prepared (its render takes seconds).
PREPARING_RETRY_SECONDS = 30


def key_reveal_refusal_pop(http_request: HttpRequest, request_id: int) -> dict | None:
    """The refused reveal to tell on this request's page (once), if any: its message and
    what the form held (version, variant, reason)."""
    refusal = http_request.session.get(REVEAL_REFUSAL_SESSION_KEY)
    if not isinstance(refusal, dict) or refusal.get("request") != request_id:
        return None
    del http_request.session[REVEAL_REFUSAL_SESSION_KEY]
    return refusal


def _variant_or_404(variant: str) -> PackVariant:
    try:
        return PackVariant(variant)
    except ValueError:
        raise Http404("No such config pack file.") from None


def _pack_or_404(vpn_request: VpnRequest, version: int | None) -> ConfigPack:
    """One stored version of the request's pack (None: the latest); Http404 if none."""
    packs = vpn_request.config_packs.order_by("-version")
    pack = (packs.filter(version=version) if version is not None else packs).first()
    if pack is None:
        raise Http404("No such config pack version.")
    return pack


def _open_or_404(pack: ConfigPack, variant: PackVariant):
    try:
        return pack.file_for(variant).open("rb")
    except FileNotFoundError:
        raise Http404("The config pack file is missing from storage.") from None


def _file_response(pack: ConfigPack, variant: PackVariant, stored) -> FileResponse:
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


def pack_download_response(
    http_request: HttpRequest,
    *,
    vpn_request: VpnRequest,
    variant: str,
    version: int | None = None,
    downloaded_by=None,
    token_label: str = "",
    client_ip: str | None = None,
    base_template: str = "base.html",
    back_url: str = "",
) -> HttpResponse:
    """The stored file of one pack variant as an attachment, and a `PackDownload` row.

    `version` None means the latest. A built VPN without a version yet gets a page
    (503, on `base_template`, linking back to `back_url`) that says the pack is being
    prepared, its rendering queued. Raises Http404 for an unknown variant or version,
    or when the request has no pack and none is due. The caller has checked access: a
    redacted variant carries no key, a full one does.
    """
    variant = _variant_or_404(variant)
    if config_pack_prepare(request=vpn_request):
        response = render(
            http_request,
            "vpn/packs/pack_preparing.html",
            {
                "vpn_request": vpn_request,
                "base_template": base_template,
                "back_url": back_url or vpn_request.get_absolute_url(),
            },
            status=503,
        )
        response["Retry-After"] = str(PREPARING_RETRY_SECONDS)
        return response
    pack = _pack_or_404(vpn_request, version)
    stored = _open_or_404(pack, variant)
    config_pack_download_record(
        pack=pack,
        variant=variant,
        user=downloaded_by,
        token_label=token_label,
        client_ip=client_ip if client_ip is not None else client_ip_of(http_request),
    )
    return _file_response(pack, variant, stored)


class ConfigPackDownloadView(RoleRequiredMixin, View):
    """A staff download of one version's redacted PDF or redacted zip, recorded with who
    and from where. The full files are refused here: they are read through the reveal."""

    action = "configpack_download_redacted"
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, pk: int, version: int, variant: str) -> HttpResponse:
        """Serve a redacted file; refuse a full one with a page that says why."""
        vpn_request = get_object_or_404(VpnRequest, pk=pk)
        if not _variant_or_404(variant).redacted:
            pack = _pack_or_404(vpn_request, version)
            return render(
                request,
                "vpn/packs/keys_refused.html",
                {
                    "vpn_request": vpn_request,
                    "pack": pack,
                    "can_reveal": user_may(request.user, "configpack_reveal"),
                    "redacted_url": reverse(
                        "vpn:configpack_download",
                        args=[pk, pack.version, PackVariant.REDACTED_PDF],
                    ),
                },
                status=403,
            )
        return pack_download_response(
            request,
            vpn_request=vpn_request,
            variant=variant,
            version=version,
            downloaded_by=request.user,
        )


def _numbering_from(query) -> DeviceNumbering:
    """The numbers asked for (the defaults for those left out); `PackParameterError` for
    one that is not a whole number in its range."""
    numbers = {}
    for name in DeviceNumbering.LIMITS:
        value = query.get(name, "").strip()
        if not value:
            continue
        # ASCII digits only, and few enough to be a number ("²" is a digit to Python).
        if not (value.isascii() and value.isdigit() and len(value) <= 9):
            raise PackParameterError(DeviceNumbering.out_of_range(name))
        numbers[name] = int(value)
    return DeviceNumbering(**numbers)


class ConfigPackRenumberedView(RoleRequiredMixin, View):
    """The latest version's redacted zip with the device files numbered as asked
    (first tunnel interface, Cisco ISAKMP policy, Cisco IP SLA), recorded like any
    redacted download. Anything it cannot issue gets a page that says why."""

    action = "configpack_download_redacted"
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, pk: int, version: int) -> HttpResponse:
        """Serve the renumbered zip, or say why not (status 400) and record nothing."""
        vpn_request = get_object_or_404(VpnRequest, pk=pk)
        try:
            numbering = _numbering_from(request.GET)
            renumbered = config_pack_renumbered_zip(
                request_id=vpn_request.pk,
                version=version,
                numbering=numbering,
                user=request.user,
                client_ip=client_ip_of(request),
            )
        except (PackParameterError, RenumberRefused, PackNotReady) as exc:
            return render(
                request,
                "vpn/packs/renumber_refused.html",
                {"vpn_request": vpn_request, "message": str(exc)},
                status=400,
            )
        response = HttpResponse(
            renumbered.content, content_type=PackVariant.REDACTED_ZIP.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{renumbered.filename}"'
        response["Cache-Control"] = "no-store, private"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ConfigPackRevealView(RoleRequiredMixin, View):
    """A key reader reads one version's full PDF or zip: the reason is required and
    recorded (who, when, why, which version), then the file is served."""

    action = "configpack_reveal"
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Record the reading and serve the file; without a reason, say so and serve nothing."""
        vpn_request = get_object_or_404(VpnRequest, pk=pk)
        version = request.POST.get("version", "")
        # ASCII digits only, and few enough for the column ("²" is a digit to Python).
        if not (version.isascii() and version.isdigit() and len(version) <= 9):
            raise Http404("No such config pack version.")
        pack = _pack_or_404(vpn_request, int(version))
        variant = _variant_or_404(request.POST.get("variant", ""))
        # Open first: a file missing from storage must not leave a reading on record.
        stored = _open_or_404(pack, variant)
        reason = request.POST.get("reason", "")
        try:
            config_pack_reveal(
                pack=pack,
                variant=variant,
                user=request.user,
                reason=reason,
                client_ip=client_ip_of(request),
            )
        except KeyRevealRefused as exc:
            stored.close()
            request.session[REVEAL_REFUSAL_SESSION_KEY] = {
                "request": vpn_request.pk,
                "message": f"Nothing was downloaded. {exc}",
                "version": pack.version,
                "variant": variant.value,
                # Given back to the form to shorten; more would only bloat the session.
                "reason": reason[: REVEAL_REASON_MAX_LENGTH * 2],
            }
            return redirect(f"{vpn_request.get_absolute_url()}#key-reveal-form")
        return _file_response(pack, variant, stored)
