"""Changes from the request page: a form per kind, a page per change that says the impact
in words before anything is applied, a confirmation for a disruptive change, Ops alone
applying, a second change refused while one is under way, and live progress."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.config_pack_support import connection_request
from tests.factories import VpnRequestFactory
from vpn.choices import ChangeKind, ChangeState, Stage
from vpn.models import VpnChange
from vpn.services.changes import change_propose

pytestmark = pytest.mark.django_db

CHANGE_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "vpn" / "changes"


def _propose(client, request, kind, **values):
    slug = kind.replace("_", "-")
    return client.post(
        f"/requests/{request.pk}/changes/{slug}/", {"reason": "Ticket 4711", **values}
    )


def _apply(client, change, **data):
    slug = change.kind.replace("_", "-")
    return client.post(f"/changes/{change.pk}/apply/{slug}/", data)


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_request_page_offers_a_form_per_kind(se_client):
    request = connection_request()
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert 'id="live-changes"' in html
    for kind in ChangeKind:
        if kind == ChangeKind.TUNNEL_COUNT:
            assert f'id="change-form-{kind.value}"' not in html  # it has two tunnels already
        elif kind == ChangeKind.MAINTENANCE:
            # "Apply now" where the pending maintenance is shown (none here) proposes it.
            assert f'id="change-form-{kind.value}"' not in html
        else:
            assert f'id="change-form-{kind.value}"' in html
    assert "AWS cannot switch a connection's routing in place" in html
    # The page's polling brings the card in again.
    assert "#live-changes" in re.search(r'hx-select-oob="([^"]+)"', html).group(1)

    draft = VpnRequestFactory(stage=Stage.SUBMITTED)
    html = se_client.get(f"/requests/{draft.pk}/").content.decode()
    assert 'id="change-form-' not in html
    assert "Changes are made once the VPN is provisioned" in html


def test_an_se_proposes_and_only_ops_apply(se_client, client, ops):
    request = connection_request()
    response = _propose(se_client, request, ChangeKind.ADD_SUBNET, cidr="10.99.0.0/24")
    change = VpnChange.objects.get(request=request)
    assert response.status_code == 302 and response["Location"] == change.get_absolute_url()
    assert change.state == ChangeState.PROPOSED
    page = se_client.get(change.get_absolute_url()).content.decode()
    assert "No tunnel drops. AWS routes 10.99.0.0/24 into the tunnels" in page
    assert "Applying it is for Ops" in page and 'id="change-apply-form"' not in page
    assert _apply(se_client, change).status_code == 403
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED

    client.force_login(ops)
    assert 'id="change-apply-form"' in client.get(change.get_absolute_url()).content.decode()
    response = _apply(client, change)
    assert response["Location"] == f"/requests/{request.pk}/#live-changes"
    change.refresh_from_db()
    assert (change.state, change.applied_by) == (ChangeState.APPLYING, ops)
    # While it applies, the request page shows it and follows it closely.
    html = client.get(f"/requests/{request.pk}/").content.decode()
    assert "A second change waits until this one ends." in html
    assert 'hx-trigger="every 3s"' in html


def test_a_disruptive_change_needs_its_impact_confirmed(ops_client):
    request = connection_request()
    _propose(ops_client, request, ChangeKind.ROTATE_PSK, tunnels="all")
    change = VpnChange.objects.get(request=request)
    page = ops_client.get(change.get_absolute_url()).content.decode()
    assert "One tunnel at a time: the first drops for a few minutes" in page
    assert 'name="confirm"' in page

    response = _apply(ops_client, change)
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED
    followed = ops_client.get(response["Location"])
    assert any(
        m.startswith(f"Confirm the impact to apply {change.reference}") for m in _messages(followed)
    )

    _apply(ops_client, change, confirm="on")
    change.refresh_from_db()
    assert change.state == ChangeState.APPLYING and change.impact_confirmed


def test_a_one_tunnel_vpn_says_it_is_an_outage(ops_client):
    request = connection_request(tunnel_count=1)
    _propose(ops_client, request, ChangeKind.TUNNEL_OPTIONS, phase1_encryption="AES128")
    change = VpnChange.objects.get(request=request)
    page = ops_client.get(change.get_absolute_url()).content.decode()
    assert "This VPN has one tunnel" in page and "This is an outage" in page


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        (ChangeKind.ADD_SUBNET, {"cidr": "10.99.0.1/24"}, "has host bits set"),
        (ChangeKind.ADD_SUBNET, {"cidr": "10.99.0.0/24", "reason": "  "}, "a reason is required"),
        (ChangeKind.REMOVE_SUBNET, {"cidr": "10.1.0.0/16"}, "Select a valid choice"),
        (ChangeKind.CUSTOMER_GATEWAY, {"ip": "127.0.0.1"}, "a loopback address"),
        (ChangeKind.TUNNEL_OPTIONS, {"phase2_lifetime_seconds": "900"}, "at least 1080 s"),
        (ChangeKind.TUNNEL_OPTIONS, {}, "nothing would change"),
        (ChangeKind.NAT, {"nat": "off"}, "NAT is already off"),
        (ChangeKind.ROTATE_PSK, {"tunnels": "3"}, "Select a valid choice"),
    ],
)
def test_bad_form_input_shows_the_rule_and_records_nothing(ops_client, kind, values, message):
    request = connection_request()
    response = _propose(ops_client, request, kind, **values)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not VpnChange.objects.exists()


def test_a_second_change_is_refused_from_the_page(ops_client):
    request = connection_request()
    first, second = (
        change_propose(
            request_id=request.pk, kind=ChangeKind.ADD_SUBNET, values={"cidr": cidr}, reason="x"
        )
        for cidr in ("10.98.0.0/24", "10.97.0.0/24")
    )
    _apply(ops_client, first)
    response = _apply(ops_client, second)
    second.refresh_from_db()
    assert second.state == ChangeState.PROPOSED
    followed = ops_client.get(response["Location"])
    assert any("is still under way" in m for m in _messages(followed))


def test_the_change_page_follows_it_live_until_it_ends(ops_client):
    request = connection_request()
    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ADD_SUBNET,
        values={"cidr": "10.96.0.0/24"},
        reason="x",
    )
    _apply(ops_client, change)
    page = ops_client.get(change.get_absolute_url()).content.decode()
    assert 'id="change-live" hx-get=' in page
    # The job finishes it (set here directly: this test is about the page).
    VpnChange.objects.filter(pk=change.pk).update(state=ChangeState.DONE, message="Done: add it.")
    page = ops_client.get(change.get_absolute_url()).content.decode()
    assert '<div id="change-live">' in page and "Done: add it." in page


def test_a_proposal_can_be_cancelled(se_client):
    request = connection_request()
    change = change_propose(
        request_id=request.pk, kind=ChangeKind.NAT, values={"nat": "on"}, reason="x"
    )
    se_client.post(f"/changes/{change.pk}/cancel/")
    change.refresh_from_db()
    assert change.state == ChangeState.CANCELLED
    response = se_client.post(f"/changes/{change.pk}/cancel/", follow=True)
    assert any("can no longer be cancelled" in m for m in _messages(response))


def test_unknown_changes_and_wrong_kinds_are_404(ops_client):
    request = connection_request()
    change = change_propose(
        request_id=request.pk, kind=ChangeKind.NAT, values={"nat": "on"}, reason="x"
    )
    assert ops_client.get("/changes/999999/").status_code == 404
    assert ops_client.post(f"/changes/{change.pk}/apply/add-subnet/").status_code == 404
    assert ops_client.post("/requests/999999/changes/nat/", {"nat": "on"}).status_code == 404


def test_the_change_templates_need_no_inline_style_or_script():
    """The pages keep to a Content-Security-Policy without 'unsafe-inline'."""
    for template in CHANGE_TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\sstyle=|<script|\son[a-z]+=|hx-on", text), template.name
