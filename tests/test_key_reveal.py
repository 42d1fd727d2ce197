"""Reading pre-shared keys: the full pack reaches staff only through the reveal, which
needs `vpn.reveal_psk` and a reason, and is recorded (who, when, why, which version)
beside the download, and shown on the request page."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.config_pack_support import connection_request, pdf_text
from tests.factories import UserFactory
from vpn.choices import Stage
from vpn.models import ConfigPack, KeyReveal, PackDownload, PackVariant, StageTransition
from vpn.services.packs import KeyRevealRefused, config_pack_render, config_pack_reveal

pytestmark = pytest.mark.django_db

REASON = "The customer's engineer lost the PDF (ticket 4711)"


def _stored_pack(vpn_request, version: int = 1) -> ConfigPack:
    """A stored version with small stand-in files, for tests about access only."""
    pack = ConfigPack(
        request=vpn_request,
        version=version,
        parameters={},
        parameters_hash=f"{version:02d}" * 32,
        changes=[],
    )
    for variant in PackVariant:
        pack.file_for(variant).save(
            pack.download_name(variant), ContentFile(f"{variant} v{version}".encode()), save=False
        )
    pack.save()
    return pack


def _reveal(client, vpn_request, *, follow: bool = False, **data):
    return client.post(
        f"/requests/{vpn_request.pk}/pack/reveal/",
        {"version": "1", "variant": PackVariant.PDF, "reason": REASON, **data},
        follow=follow,
    )


def _nothing_recorded() -> bool:
    return not KeyReveal.objects.exists() and not PackDownload.objects.exists()


def test_a_key_reader_reads_the_real_pack_with_a_reason(ops_client, ops):
    vpn_request = connection_request()
    pack = config_pack_render(request_id=vpn_request.pk, reason="test")

    response = _reveal(ops_client, vpn_request)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store, private"
    assert pack.download_name(PackVariant.PDF) in response["Content-Disposition"]
    text = pdf_text(b"".join(response.streaming_content))
    for psk in vpn_request.tunnels.values_list("psk", flat=True):
        assert psk in text

    reveal = KeyReveal.objects.get()
    assert (reveal.pack, reveal.variant, reveal.user, reveal.reason) == (
        pack,
        PackVariant.PDF,
        ops,
        REASON,
    )
    assert reveal.client_ip == "127.0.0.1"
    # The download record stays, and is the reveal's.
    assert reveal.download == PackDownload.objects.get()
    assert (reveal.download.user, reveal.download.variant) == (ops, PackVariant.PDF)

    # The request page shows who read the keys, when and why.
    html = ops_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    card = html[html.index('id="key-reveals"') :]
    assert REASON.replace("'", "&#x27;") in card
    assert "Kim" in card
    assert "v1" in card


def test_the_zip_is_read_the_same_way(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = _reveal(ops_client, vpn_request, variant=PackVariant.ZIP)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content) == b"zip v1"
    assert KeyReveal.objects.get().variant == PackVariant.ZIP


def test_the_reader_chooses_the_version(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request, version=1)
    second = _stored_pack(vpn_request, version=2)
    response = _reveal(ops_client, vpn_request, version="2")
    assert b"".join(response.streaming_content) == b"pdf v2"
    assert KeyReveal.objects.get().pack == second


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_without_a_reason_nothing_is_served_or_recorded(ops_client, reason):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = _reveal(ops_client, vpn_request, reason=reason)
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{vpn_request.pk}/#key-reveal-form"
    assert _nothing_recorded()
    # Told beside the form (a message at the top of the page would be out of sight), once.
    page = ops_client.get(response["Location"]).content.decode()
    form = page[
        page.index('id="key-reveal-form"') : page.index("</form>", page.index("key-reveal"))
    ]
    assert "Nothing was downloaded. Say why you need the keys: a reason is required" in form
    again = ops_client.get(response["Location"]).content.decode()
    assert "Nothing was downloaded." not in again


def test_a_missing_reason_field_is_refused_too(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = ops_client.post(
        f"/requests/{vpn_request.pk}/pack/reveal/", {"version": "1", "variant": "pdf"}
    )
    assert response.status_code == 302
    assert _nothing_recorded()


def test_an_overlong_reason_is_refused_and_given_back_to_shorten(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request, version=1)
    _stored_pack(vpn_request, version=2)
    reason = "because " * 70
    response = _reveal(
        ops_client, vpn_request, reason=reason, version="1", variant="zip", follow=True
    )
    html = response.content.decode()
    assert "Keep the reason under 500 characters (it has 559)." in html
    assert f'value="{reason}"' in html
    assert '<option value="1" selected>v1</option>' in html
    assert '<option value="zip" selected>Zip with keys</option>' in html
    assert _nothing_recorded()


@pytest.mark.parametrize("variant", [PackVariant.REDACTED_PDF, PackVariant.REDACTED_ZIP])
def test_the_redacted_files_are_not_a_reveal(ops_client, variant):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = _reveal(ops_client, vpn_request, variant=variant, follow=True)
    assert "The redacted files hold no key" in response.content.decode()
    assert _nothing_recorded()


@pytest.mark.parametrize(
    ("version", "variant"),
    [("2", "pdf"), ("0", "pdf"), ("²", "pdf"), ("1e3", "pdf"), ("9" * 30, "pdf"), ("1", "x")],
)
def test_unknown_versions_and_files_are_404(ops_client, version, variant):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert _reveal(ops_client, vpn_request, version=version, variant=variant).status_code == 404
    assert ops_client.post("/requests/999999/pack/reveal/", {"reason": REASON}).status_code == 404
    assert _nothing_recorded()


def test_reveal_is_a_post(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert ops_client.get(f"/requests/{vpn_request.pk}/pack/reveal/").status_code == 405
    assert _nothing_recorded()


def test_a_solutions_engineer_reads_no_keys(se_client, se):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert _reveal(se_client, vpn_request).status_code == 403
    assert _nothing_recorded()
    # The service refuses too, whoever calls it.
    with pytest.raises(KeyRevealRefused, match="key readers"):
        config_pack_reveal(
            pack=ConfigPack.objects.get(), variant=PackVariant.PDF, user=se, reason=REASON
        )
    assert _nothing_recorded()

    html = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert 'id="key-reveal-form"' not in html
    assert "Reading the keys is for key readers (Ops)." in html
    # Every reading is visible to the engineers too: the card lists them.
    assert 'id="key-reveals"' in html


def test_anonymous_visitors_are_sent_to_log_in():
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    response = _reveal(Client(), vpn_request)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert _nothing_recorded()


def test_the_form_is_on_the_pack_card_for_key_readers(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request, version=1)
    _stored_pack(vpn_request, version=2)
    html = ops_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    form = html[
        html.index('id="key-reveal-form"') : html.index("</form>", html.index("key-reveal"))
    ]
    assert f'action="/requests/{vpn_request.pk}/pack/reveal/"' in html
    assert 'name="reason" value="" required maxlength="500"' in form
    assert '<option value="2">v2 (latest)</option>' in form
    assert '<option value="1">v1</option>' in form
    assert 'hx-preserve="true"' in html  # what is typed survives the page's polling
    assert '<option value="pdf">PDF with keys</option>' in form
    assert '<option value="zip">Zip with keys</option>' in form
    assert "Nobody has read the keys from this page." in html


def test_a_superuser_reads_keys_with_a_reason_too(client):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    assert _reveal(client, vpn_request).status_code == 200
    assert KeyReveal.objects.get().user == root


def test_reasons_are_escaped_on_the_page(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    _reveal(ops_client, vpn_request, reason="<script>alert(1)</script> audit")
    html = ops_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; audit" in html
    assert "<script>alert(1)" not in html


def test_keys_of_a_removed_vpn_are_read_only_through_the_reveal(ops_client):
    vpn_request = connection_request()
    _stored_pack(vpn_request)
    StageTransition.objects.create(
        request=vpn_request, from_stage=Stage.LIVE, to_stage=Stage.DECOMMISSIONED, note="test"
    )
    vpn_request.stage = Stage.DECOMMISSIONED
    vpn_request.save()

    html = ops_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "its keys belong to tunnels that are gone or going" in html
    assert ops_client.get(f"/requests/{vpn_request.pk}/pack/1/pdf/").status_code == 403
    assert _nothing_recorded()
    response = _reveal(ops_client, vpn_request)
    assert b"".join(response.streaming_content) == b"pdf v1"
    assert KeyReveal.objects.count() == 1


def test_a_reveal_needs_a_reason_in_the_database_too(ops):
    from django.db import IntegrityError

    vpn_request = connection_request()
    pack = _stored_pack(vpn_request)
    with pytest.raises(IntegrityError):
        KeyReveal.objects.create(pack=pack, variant=PackVariant.PDF, user=ops, reason="")
