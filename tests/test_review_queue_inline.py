"""The review queue approves and sends back in place, through the same services and checks
as the request page, and warns (there and on the request page) when a gateway IP is
already used by another open request (any customer's), or a subnet by another open
request of the same customer."""

import pytest
from django.core import mail

from tests.factories import CustomerFactory, VpnRequestFactory
from tests.intake_data import PUBLIC_IP
from vpn.choices import Routing, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_aws(settings):
    settings.AWS_SANDBOX = False


def _submitted(**fields):
    fields.setdefault("customer_gateway_ip", PUBLIC_IP)
    return VpnRequestFactory(stage=Stage.SUBMITTED, **fields)


def test_approve_from_the_queue_comes_back_to_it(se_client):
    waiting = _submitted()
    queue = se_client.get("/review/").content.decode()
    assert f'action="/requests/{waiting.pk}/approve/"' in queue
    response = se_client.post(f"/requests/{waiting.pk}/approve/", {"next": "/review/"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    waiting.refresh_from_db()
    assert waiting.stage == Stage.APPROVED


def test_approve_from_the_queue_refuses_what_the_page_refuses(se_client):
    private = _submitted(customer_gateway_ip="10.1.2.3")
    response = se_client.post(f"/requests/{private.pk}/approve/", {"next": "/review/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/review/"
    assert "The intake breaks a rule; edit it first." in response.content.decode()
    private.refresh_from_db()
    assert private.stage == Stage.SUBMITTED


def test_send_back_from_the_queue_emails_the_customer(se_client):
    waiting = _submitted(customer__contact_email="jo@northwind.example")
    response = se_client.post(
        f"/requests/{waiting.pk}/send-back/",
        {"message": "Please add your second subnet.", "next": "/review/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/review/"
    assert "jo@northwind.example was emailed" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.stage == Stage.CHANGES_REQUESTED
    (email,) = mail.outbox
    assert "Please add your second subnet." in email.body
    # Without a message, nothing moves, as on the request page.
    other = _submitted()
    se_client.post(f"/requests/{other.pk}/send-back/", {"message": " ", "next": "/review/"})
    other.refresh_from_db()
    assert other.stage == Stage.SUBMITTED


def test_a_next_page_elsewhere_is_ignored(se_client):
    waiting = _submitted()
    response = se_client.post(
        f"/requests/{waiting.pk}/approve/", {"next": "https://elsewhere.example/"}
    )
    assert response["Location"] == f"/requests/{waiting.pk}/"


def test_a_gateway_ip_of_another_customer_is_warned_about(se_client):
    live = VpnRequestFactory(
        stage=Stage.LIVE, customer=CustomerFactory(name="Contoso"), customer_gateway_ip=PUBLIC_IP
    )
    waiting = _submitted(customer=CustomerFactory(name="Northwind"))
    warning = f"Gateway IP {PUBLIC_IP}: also in"
    queue = se_client.get("/review/").content.decode()
    assert warning in queue
    assert f"{live.reference}</a> (another customer, Contoso, live)" in queue
    page = se_client.get(f"/requests/{waiting.pk}/").content.decode()
    assert "Check before approving: already in use." in page
    assert warning in page
    # A closed request's address is free again.
    live.stage = Stage.DECOMMISSIONED
    live.save()
    assert warning not in se_client.get("/review/").content.decode()


def test_an_overlapping_subnet_is_warned_about(se_client):
    northwind = CustomerFactory(name="Northwind")
    other = VpnRequestFactory(
        stage=Stage.AWAITING_CUSTOMER,
        customer=northwind,
        customer_gateway_ip="52.94.12.99",
        routing=Routing.STATIC,
        static_subnets=["10.20.0.0/16"],
        advertised_prefixes=[],
    )
    waiting = _submitted(
        customer=northwind,
        routing=Routing.STATIC,
        static_subnets=["10.20.5.0/24", "192.168.7.0/24"],
        advertised_prefixes=[],
    )
    # Another customer's overlapping private range is theirs alone, in its own VPC.
    unrelated = _submitted(
        customer_gateway_ip="52.94.12.77",
        routing=Routing.STATIC,
        static_subnets=["10.20.0.0/24"],
        advertised_prefixes=[],
    )
    queue = se_client.get("/review/")
    rows = {row.pk: row.conflicts for row in queue.context["requests"]}
    assert [c.what for c in rows[waiting.pk]] == ["Subnet 10.20.5.0/24 overlaps 10.20.0.0/16"]
    assert rows[waiting.pk][0].other == other
    assert rows[unrelated.pk] == []
    assert "(the same customer, waiting for customer)" in queue.content.decode()


def test_the_approval_check_speaks_in_the_engineer_voice(se_client):
    # Stored before the platform's ranges grew to cover it: approval checks again.
    clashing = _submitted(routing=Routing.STATIC, static_subnets=["10.0.5.0/24"], bgp_asn=None)
    response = se_client.post(
        f"/requests/{clashing.pk}/approve/", {"next": "/review/"}, follow=True
    )
    html = response.content.decode()
    assert "route another range (or NAT it on the customer&#x27;s side)." in html
    assert "your side" not in html
    clashing.refresh_from_db()
    assert clashing.stage == Stage.SUBMITTED
