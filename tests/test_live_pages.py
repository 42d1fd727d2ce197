"""Live pages without a browser: which regions of each page poll, in which stages, and
what a poll brings back (tests/browser/test_live_pages.py watches them change live)."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.services import intake

pytestmark = pytest.mark.django_db

# Every panel of the engineer's request page that a poll swaps in.
LIVE_PANELS = (
    "live-stage",
    "live-customer",
    "live-connection",
    "links",
    "live-tunnels",
    "live-changes",
    "live-pack",
    "live-activity",
)


class _Ids(HTMLParser):
    """The ids of the elements inside the element with id `outer`."""

    VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self, outer: str):
        super().__init__()
        self.outer, self.depth, self.inside = outer, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        element_id = dict(attrs).get("id")
        if self.depth:
            self.depth += 1
            if element_id:
                self.inside.append(element_id)
        elif element_id == self.outer:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1


def _ids_inside(html: str, outer: str) -> list[str]:
    parser = _Ids(outer)
    parser.feed(html)
    return parser.inside


def _customer(request) -> tuple[Client, str]:
    url = intake.intake_link_create(request_id=request.pk, send_email=False).url
    return Client(), urlsplit(url).path


def test_every_panel_of_the_engineers_page_is_swapped_in_by_the_poll(se_client):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    oob = re.search(r'id="live-progress"[^>]*hx-select-oob="([^"]+)"', html).group(1)
    assert oob.split(",") == [f"#{panel}" for panel in LIVE_PANELS]
    for panel in LIVE_PANELS:
        assert html.count(f'id="{panel}"') == 1, panel
    assert "· updates live" in html


def test_a_poll_brings_the_customers_confirmation_to_the_engineers_page(se_client):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER)
    TunnelFactory(request=request, position=1, status="DOWN")
    page = f"/requests/{request.pk}/"
    assert "not confirmed yet" in se_client.get(page).content.decode()

    intake.request_customer_confirm(request_id=request.pk)

    poll = se_client.get(page, headers={"HX-Request": "true"}).content.decode()
    customer_card = poll[poll.index('id="live-customer"') : poll.index('id="live-connection"')]
    assert "Configured, confirmed" in customer_card


@pytest.mark.parametrize(
    ("stage", "polls"),
    [
        (Stage.SUBMITTED, True),
        (Stage.APPROVED, True),
        (Stage.VPC, True),
        (Stage.AWAITING_CUSTOMER, True),
        (Stage.LIVE, True),
        (Stage.FAILED, True),
        (Stage.DECOMMISSIONED, False),
        (Stage.CANCELLED, False),
    ],
)
def test_the_customers_page_polls_in_every_stage_that_is_not_final(settings, stage, polls):
    settings.CUSTOMER_PAGE_POLL_SECONDS = 15
    request = VpnRequestFactory(stage=stage, failed_stage=Stage.VPC if stage == "failed" else "")
    client, url = _customer(request)
    html = client.get(url).content.decode()
    live = re.search(r'<div id="live-status"([^>]*)>', html).group(1)
    assert ('hx-trigger="every 15s' in live) is polls
    if polls:
        # The whole page is the live region: the answers too (an engineer may edit them
        # while the request awaits review).
        assert "your-answers" in _ids_inside(html, "live-status")
    else:
        # A removed VPN's page says so and holds nothing that could change again.
        assert _ids_inside(html, "live-status") == ["vpn-removed"]


def test_a_poll_after_the_request_was_sent_back_reloads_the_customers_page(se):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, owner=se)
    client, url = _customer(request)
    assert client.get(url).status_code == 200
    intake.request_send_back(request_id=request.pk, actor=se, message="Use your other gateway.")

    poll = client.get(url, headers={"HX-Request": "true"})

    assert poll.status_code == 200
    assert poll["HX-Refresh"] == "true"
    # A plain visit (the reload) shows the form again.
    assert "data-intake-form" in client.get(url).content.decode()
