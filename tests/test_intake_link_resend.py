"""A customer link can be resent (emailed again, with a new address: the portal keeps only
a fingerprint of a token) or extended (a new expiry, same address, and an email saying
until when), from the request page; both land on the request's timeline."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from tests.factories import VpnRequestFactory
from vpn.choices import RequestEventKind, Stage
from vpn.models import IntakeLink, RequestEvent
from vpn.services.intake import (
    IntakeClosed,
    intake_link_create,
    intake_link_extend,
    intake_link_resend,
    intake_link_revoke,
)

pytestmark = pytest.mark.django_db


def _request_with_link(**fields):
    vpn_request = VpnRequestFactory(
        stage=Stage.SUBMITTED, customer__contact_email="jo@northwind.example", **fields
    )
    new = intake_link_create(request_id=vpn_request.pk, send_email=False)
    return vpn_request, new.link, new.token


def test_resend_emails_a_new_address_and_the_old_one_stops(se_client, se):
    vpn_request, link, old_token = _request_with_link()
    expires = link.expires_at
    response = se_client.post(f"/links/{link.pk}/resend/", follow=True)
    html = response.content.decode()
    assert "The link was emailed again to jo@northwind.example." in html
    (email,) = mail.outbox
    assert email.to == ["jo@northwind.example"]
    (new_url,) = [line for line in email.body.splitlines() if "/intake/" in line]
    # The new address is shown once on the page, and works; the old one no longer does.
    assert new_url.strip() in html
    new_token = new_url.strip().rstrip("/").rsplit("/", 1)[1]
    assert Client().get(f"/intake/{new_token}/").status_code == 200
    assert Client().get(f"/intake/{old_token}/").status_code == 404
    link.refresh_from_db()
    assert link.expires_at == expires
    event = RequestEvent.objects.get(request=vpn_request)
    assert (event.kind, event.actor, event.link) == (RequestEventKind.LINK_RESENT, se, link)
    timeline = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert "Customer link resent" in timeline
    assert "To jo@northwind.example" in timeline


def test_extend_gives_a_new_expiry_keeps_the_address_and_tells_the_customer(se_client):
    vpn_request, link, token = _request_with_link()
    IntakeLink.objects.filter(pk=link.pk).update(
        created_at=timezone.now() - timedelta(days=20),
        expires_at=timezone.now() - timedelta(days=1),
    )
    assert Client().get(f"/intake/{token}/").status_code == 410
    day = (timezone.now() + timedelta(days=30)).date()
    response = se_client.post(
        f"/links/{link.pk}/extend/", {"expires_on": day.isoformat()}, follow=True
    )
    assert f"The link works until {day:%-d %B %Y}; jo@northwind.example was told." in (
        response.content.decode()
    )
    link.refresh_from_db()
    assert link.expires_at.date() == day
    assert Client().get(f"/intake/{token}/").status_code == 200  # the same address works again
    (email,) = mail.outbox
    assert f"works until {day:%-d %B %Y}" in email.subject
    assert token not in email.body
    event = RequestEvent.objects.get(request=vpn_request)
    assert event.kind == RequestEventKind.LINK_EXTENDED
    assert "had expired" in event.note
    assert (
        "Customer link extended" in se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    )


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "Choose a new expiry in the future."), (200, "at most 90 days")],
)
def test_extend_refuses_a_past_or_far_expiry(se_client, days, message):
    _, link, _ = _request_with_link()
    expires = link.expires_at
    day = (timezone.now() + timedelta(days=days)).date()
    response = se_client.post(
        f"/links/{link.pk}/extend/", {"expires_on": day.isoformat()}, follow=True
    )
    assert message in response.content.decode()
    link.refresh_from_db()
    assert link.expires_at == expires
    assert not mail.outbox
    assert not RequestEvent.objects.exists()


def test_extend_needs_a_date(se_client):
    _, link, _ = _request_with_link()
    response = se_client.post(f"/links/{link.pk}/extend/", {"expires_on": "soon"}, follow=True)
    assert "Give the new last day as a date." in response.content.decode()


def test_a_revoked_link_is_neither_resent_nor_extended(se):
    _, link, _ = _request_with_link()
    intake_link_revoke(link_id=link.pk)
    with pytest.raises(IntakeClosed, match="revoked"):
        intake_link_resend(link_id=link.pk, actor=se)
    with pytest.raises(IntakeClosed, match="revoked"):
        intake_link_extend(link_id=link.pk, expires_at=timezone.now() + timedelta(days=3), actor=se)
    assert not mail.outbox
    assert not RequestEvent.objects.exists()


def test_an_expired_link_is_extended_not_resent(se):
    _, link, _ = _request_with_link()
    IntakeLink.objects.filter(pk=link.pk).update(
        created_at=timezone.now() - timedelta(days=20),
        expires_at=timezone.now() - timedelta(days=1),
    )
    with pytest.raises(IntakeClosed, match="extend it first"):
        intake_link_resend(link_id=link.pk, actor=se)


def test_the_request_page_offers_resend_and_extend_to_link_holders(se_client, client):
    vpn_request, link, _ = _request_with_link()
    html = se_client.get(f"/requests/{vpn_request.pk}/").content.decode()
    assert f'action="/links/{link.pk}/resend/"' in html
    assert f'action="/links/{link.pk}/extend/"' in html
