"""A removed VPN's customer link: it says the VPN was removed, and when; it shows no
steps, no tunnels and no pack, stops polling, and its pack URLs answer 410. The keys of
the deleted tunnels reach no one but a key reader, through the reveal."""

from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.config_pack_support import connection_request, zip_files
from tests.factories import VpnRequestFactory, ops_user, se_user
from vpn.choices import Routing, Stage
from vpn.models import (
    ConfigPack,
    KeyReveal,
    PackDownload,
    PackVariant,
    StageTransition,
    VpnRequest,
)
from vpn.services.intake import intake_link_create
from vpn.services.stages import request_move

REMOVED_AT = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def _removed(stage: str) -> VpnRequest:
    """A request moved to `stage` on REMOVED_AT (fixtures: the real flow is below)."""
    if stage == Stage.CANCELLED:
        vpn_request = VpnRequestFactory(stage=Stage.SUBMITTED)
        before = Stage.SUBMITTED
    else:
        vpn_request = connection_request()
        before = Stage.LIVE
        _stored_pack(vpn_request)
    transition = StageTransition.objects.create(
        request=vpn_request, from_stage=before, to_stage=stage, note="test"
    )
    StageTransition.objects.filter(pk=transition.pk).update(created_at=REMOVED_AT)
    VpnRequest.objects.filter(pk=vpn_request.pk).update(stage=stage)
    vpn_request.refresh_from_db()
    return vpn_request


def _stored_pack(vpn_request) -> ConfigPack:
    """A stored version with stand-in files (the real ones are rendered further down)."""
    pack = ConfigPack(
        request=vpn_request, version=1, parameters={}, parameters_hash="ef" * 32, changes=[]
    )
    for variant in PackVariant:
        pack.file_for(variant).save(
            pack.download_name(variant), ContentFile(variant.encode()), save=False
        )
    pack.save()
    return pack


def _link(vpn_request) -> str:
    return intake_link_create(request_id=vpn_request.pk, send_email=False).token


def _assert_removed_page(html: str, vpn_request, token: str) -> None:
    """Nothing live and nothing to download: the page is a record."""
    for variant in PackVariant:
        assert f"/intake/{token}/pack/{variant}/" not in html
    assert "Download the PDF" not in html
    assert 'class="steps"' not in html  # no "Done" steps
    assert 'id="live-tunnels"' not in html and "tunnel-status" not in html  # no "Down"
    # No polling; a tab still polling from before swaps in this notice, and stops.
    assert "hx-get" not in html and "hx-trigger" not in html
    assert html.index('id="live-status"') < html.index('id="vpn-removed"')
    assert "This link works until" not in html
    assert 'id="vpn-removed"' in html
    for tunnel in vpn_request.tunnels.all():
        assert tunnel.psk not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stage", "says"),
    [
        (Stage.DECOMMISSIONED, "This VPN was removed"),
        (Stage.DECOMMISSIONING, "This VPN is being removed"),
        (Stage.CANCELLED, "This request was cancelled"),
    ],
)
def test_the_link_says_the_vpn_was_removed_and_when(stage, says):
    vpn_request = _removed(stage)
    token = _link(vpn_request)
    response = Client().get(f"/intake/{token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert says in html
    assert "4 March 2026, 09:30 UTC" in html
    _assert_removed_page(html, vpn_request, token)


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [Stage.DECOMMISSIONED, Stage.DECOMMISSIONING, Stage.CANCELLED])
@pytest.mark.parametrize("variant", list(PackVariant))
def test_the_pack_urls_answer_410_and_serve_nothing(stage, variant):
    vpn_request = _removed(stage)
    token = _link(vpn_request)
    response = Client().get(f"/intake/{token}/pack/{variant}/")
    assert response.status_code == 410
    html = response.content.decode()
    assert "This configuration pack is withdrawn" in html
    assert f"/intake/{token}/" in html
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_an_unknown_variant_of_a_removed_vpn_says_withdrawn_too():
    vpn_request = _removed(Stage.DECOMMISSIONED)
    token = _link(vpn_request)
    assert Client().get(f"/intake/{token}/pack/nonsense/").status_code == 410
    assert not PackDownload.objects.exists()


@pytest.mark.django_db
def test_confirming_on_a_removed_vpn_changes_nothing():
    vpn_request = _removed(Stage.DECOMMISSIONED)
    token = _link(vpn_request)
    response = Client().post(f"/intake/{token}/", {"action": "confirm"}, follow=True)
    assert "There is nothing to confirm at this stage." in response.content.decode()
    vpn_request.refresh_from_db()
    assert vpn_request.customer_confirmed_at is None


@pytest.mark.django_db(transaction=True)
def test_a_vpn_decommissioned_through_the_real_flow(aws_sandbox, run_jobs):
    """Provisioned on the sandbox, downloaded by the customer, then decommissioned by
    the jobs: the link serves nothing more, and only a key reader reads the keys."""
    vpn_request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.30.0/24"],
    )
    request_move(request_id=vpn_request.pk, to_stage=Stage.APPROVED, note="test")
    assert run_jobs() == 0
    vpn_request.refresh_from_db()
    assert vpn_request.stage == Stage.AWAITING_CUSTOMER, vpn_request.failure_message
    assert vpn_request.config_packs.exists()
    keys = list(vpn_request.tunnels.values_list("psk", flat=True))

    customer = Client()
    token = _link(vpn_request)
    live_html = customer.get(f"/intake/{token}/").content.decode()
    assert f"/intake/{token}/pack/pdf/" in live_html
    assert customer.get(f"/intake/{token}/pack/pdf/").status_code == 200
    assert PackDownload.objects.count() == 1

    request_move(request_id=vpn_request.pk, to_stage=Stage.DECOMMISSIONING, note="test")
    assert run_jobs() == 0
    vpn_request.refresh_from_db()
    assert vpn_request.stage == Stage.DECOMMISSIONED, vpn_request.failure_message
    removed = vpn_request.transitions.get(to_stage=Stage.DECOMMISSIONED).created_at

    response = customer.get(f"/intake/{token}/")
    html = response.content.decode()
    assert "This VPN was removed" in html
    assert f"{removed:%-d %B %Y, %H:%M} UTC" in html
    _assert_removed_page(html, vpn_request, token)
    for variant in PackVariant:
        assert customer.get(f"/intake/{token}/pack/{variant}/").status_code == 410
    assert PackDownload.objects.count() == 1

    # Staff: an SE gets no keys by any route; a key reader gets them with a reason.
    version = vpn_request.config_packs.order_by("-version").first().version
    se, ops = Client(), Client()
    se.force_login(se_user(username="se-removed"))
    ops.force_login(ops_user(username="ops-removed"))
    pdf_url = f"/requests/{vpn_request.pk}/pack/{version}/pdf/"
    reveal_url = f"/requests/{vpn_request.pk}/pack/reveal/"
    reveal = {"version": str(version), "variant": "zip", "reason": "Post-mortem of VPN removal"}
    assert se.get(pdf_url).status_code == 403
    assert se.post(reveal_url, reveal).status_code == 403
    assert ops.get(pdf_url).status_code == 403
    assert PackDownload.objects.count() == 1
    response = ops.post(reveal_url, reveal)
    assert response.status_code == 200
    files = zip_files(b"".join(response.streaming_content))
    assert all(any(key.encode() in content for content in files.values()) for key in keys)
    assert KeyReveal.objects.get().reason == "Post-mortem of VPN removal"
