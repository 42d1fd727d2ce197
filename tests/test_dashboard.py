"""The dashboard: search, filters, pagination, and a query count that does not grow."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.models import Customer, Tunnel, VpnRequest


def _bulk_requests(count: int) -> None:
    """Create `count` more live requests with two tunnels each, in a few queries."""
    start = Customer.objects.count()
    customers = Customer.objects.bulk_create(
        Customer(name=f"Bulk {i}", org_id=f"bulk-{i}") for i in range(start, start + count)
    )
    requests = VpnRequest.objects.bulk_create(
        VpnRequest(customer=customer, stage=Stage.LIVE, region="us-east-1")
        for customer in customers
    )
    Tunnel.objects.bulk_create(
        Tunnel(
            request=request,
            position=position,
            outside_ip=f"203.0.{i // 250}.{i % 250 + position}",
            inside_cidr=f"169.254.{10 + i // 64 % 200}.{i % 64 * 4}/30",
        )
        for i, request in enumerate(requests, start=start)
        for position in (1, 2)
    )


def _queries(client, url="/") -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_query_count_is_the_same_at_10_and_1000_requests(se_client):
    _bulk_requests(10)
    at_10 = _queries(se_client)
    _bulk_requests(990)
    assert VpnRequest.objects.count() == 1000
    at_1000 = _queries(se_client)
    assert at_10 == at_1000
    # And a later page costs no more than the first.
    assert _queries(se_client, "/?page=7") == at_1000


@pytest.mark.django_db
def test_rows_show_customer_region_stage_tunnels_and_owner(se_client, se):
    request = VpnRequestFactory(
        stage=Stage.DEGRADED, owner=se, region="ap-southeast-2", customer__name="Tailspin"
    )
    TunnelFactory(request=request, position=1, status="UP")
    TunnelFactory(request=request, position=2, status="DOWN")
    html = se_client.get("/").content.decode()
    assert "Tailspin" in html
    assert "ap-southeast-2" in html
    assert '<span class="badge orange">Degraded</span>' in html
    assert html.count('class="mark green') == 1
    assert html.count('class="mark red') == 1
    assert request.reference in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("northwind", {"Northwind"}),
        ("NORTH", {"Northwind"}),
        ("org-contoso", {"Contoso"}),
        ("198.51.100.77", {"Contoso"}),
        ("zzz-nothing", set()),
    ],
)
def test_search(se_client, query, expected):
    VpnRequestFactory(customer=CustomerFactory(name="Northwind", org_id="org-northwind"))
    VpnRequestFactory(
        customer=CustomerFactory(name="Contoso", org_id="org-contoso"),
        customer_gateway_ip="198.51.100.77",
    )
    requests = se_client.get("/", {"q": query}).context["requests"]
    assert {r.customer.name for r in requests} == expected


@pytest.mark.django_db
def test_search_by_reference(se_client):
    wanted = VpnRequestFactory()
    VpnRequestFactory()
    requests = se_client.get("/", {"q": wanted.reference.lower()}).context["requests"]
    assert [r.pk for r in requests] == [wanted.pk]


@pytest.mark.django_db
def test_filters_by_stage_group_stage_region_and_owner(se_client, se):
    VpnRequestFactory(stage=Stage.SUBMITTED, region="eu-west-1", owner=se)
    VpnRequestFactory(stage=Stage.DOWN, region="us-east-1")
    VpnRequestFactory(stage=Stage.LIVE, region="us-east-1")

    def stages(**params):
        return sorted(r.stage for r in se_client.get("/", params).context["requests"])

    assert stages(stage="attention") == ["down", "submitted"]
    assert stages(stage="operational") == ["down", "live"]
    assert stages(stage="live") == ["live"]
    assert stages(region="us-east-1") == ["down", "live"]
    assert stages(mine="1") == ["submitted"]
    # Unknown filter values are ignored rather than failing.
    assert len(stages(stage="nonsense", region="")) == 3


@pytest.mark.django_db
def test_pagination_keeps_filters_and_tolerates_bad_page_numbers(se_client, settings):
    _bulk_requests(60)
    response = se_client.get("/", {"stage": "live"})
    assert response.context["is_paginated"]
    assert "stage=live&amp;page=2" in response.content.decode()
    last = se_client.get("/", {"page": "999"})
    assert last.status_code == 200
    assert last.context["page_obj"].number == last.context["paginator"].num_pages
    assert se_client.get("/", {"page": "abc"}).status_code == 200
