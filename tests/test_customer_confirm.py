"""The customer confirms, through their link, that their side is configured: recorded
once, the engineer emailed once (by a real RQ job), shown on both pages."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.models import VpnRequest
from vpn.services import intake

pytestmark = pytest.mark.django_db(transaction=True)


def _link(request) -> tuple[Client, str]:
    url = intake.intake_link_create(request_id=request.pk, send_email=False).url
    return Client(), urlsplit(url).path


def test_customer_confirms_once_and_the_engineer_hears_of_it(se, mailoutbox, run_jobs):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER, owner=se)
    TunnelFactory(request=request, position=1, status="DOWN")
    TunnelFactory(request=request, position=2, status="DOWN")
    client, url = _link(request)
    assert "Our side is configured" in client.get(url).content.decode()

    response = client.post(url, {"action": "confirm"}, follow=True)
    again = client.post(url, {"action": "confirm"}, follow=True)
    assert run_jobs() == 0

    html = response.content.decode()
    assert "your engineer has been told" in html
    assert "Our side is configured" not in again.content.decode()
    assert "You confirmed on" in again.content.decode()
    stored = VpnRequest.objects.get(pk=request.pk)
    assert stored.customer_confirmed_at is not None
    assert stored.stage == Stage.AWAITING_CUSTOMER  # it goes live when its tunnels are up
    (message,) = mailoutbox
    assert message.to == [se.email]
    assert "has configured their side" in message.subject
    assert "Tunnel 1" in message.body and "Down" in message.body


def test_staff_page_shows_the_confirmation(se_client, se):
    request = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER, owner=se)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "not confirmed yet" in html
    intake.request_customer_confirm(request_id=request.pk)
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "Configured, confirmed" in html
    assert "Customer confirmed their side is configured" in html


@pytest.mark.parametrize("stage", [Stage.SUBMITTED, Stage.VPC, Stage.DECOMMISSIONED])
def test_nothing_to_confirm_before_the_vpn_exists_or_once_closed(stage, mailoutbox, run_jobs):
    request = VpnRequestFactory(stage=stage)
    client, url = _link(request)
    assert "Our side is configured" not in client.get(url).content.decode()

    response = client.post(url, {"action": "confirm"}, follow=True)

    assert run_jobs() == 0
    assert "nothing to confirm" in response.content.decode()
    assert VpnRequest.objects.get(pk=request.pk).customer_confirmed_at is None
    assert mailoutbox == []
