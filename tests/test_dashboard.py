"""The dashboard: search, filters with their errors, sorting by every column,
pagination, the CSV export, and a query count that does not grow."""

import csv
import io
import tracemalloc
from datetime import timedelta

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory, TunnelFactory, UserFactory, VpnRequestFactory
from vpn.choices import OPERATIONAL_STAGES, Routing, Stage
from vpn.models import AwsResource, Customer, Tunnel, VpnRequest
from vpn.selectors.requests import COLUMNS, DEFAULT_SORT
from vpn.selectors.status import with_redundancy_risk


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
def test_a_region_nobody_has_chosen_yet_says_so(se_client):
    VpnRequestFactory(stage=Stage.DRAFT, region="", customer__name="Margie")
    html = se_client.get("/").content.decode()
    assert '<td class="hide-sm" data-label="Region">not chosen yet</td>' in html


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"stage": "nonsense"}, "stage", "There is no stage “nonsense”"),
        ({"region": "mars-north-1"}, "region", "There is no region “mars-north-1”"),
        ({"health": "so-so"}, "health", "There is no tunnel health “so-so”"),
        ({"sort": "colour"}, "sort", "cannot be ordered by “colour”"),
    ],
)
def test_an_unknown_filter_value_is_an_error_on_that_filter(se_client, params, field, message):
    VpnRequestFactory(stage=Stage.SUBMITTED, region="eu-west-1")
    VpnRequestFactory(stage=Stage.LIVE, region="us-east-1")
    response = se_client.get("/", {**params, "q": ""})
    assert response.status_code == 200
    form = response.context["filter"].form
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    # The message sits with its filter, and the list is not filtered by it.
    assert message in html.split(f'name="{field}"', 1)[1].split('class="filter', 1)[0]
    assert len(response.context["requests"]) == 2


@pytest.mark.django_db
def test_a_bad_filter_leaves_the_good_ones_working(se_client):
    VpnRequestFactory(stage=Stage.SUBMITTED, region="eu-west-1")
    VpnRequestFactory(stage=Stage.LIVE, region="us-east-1")
    response = se_client.get("/", {"stage": "nonsense", "region": "us-east-1"})
    assert [r.stage for r in response.context["requests"]] == ["live"]
    assert "stage" in response.context["filter"].form.errors


def _sortable_requests(se):
    """Three requests that differ in every column, none in the same order twice."""
    now = timezone.now()
    rows = [
        (
            "Bravo",
            "us-east-1",
            Stage.LIVE,
            ("UP", "UP"),
            UserFactory(username="zed", first_name="", last_name=""),
            2,
        ),
        ("Charlie", "ap-southeast-2", Stage.SUBMITTED, (), None, 0),
        ("Alpha", "eu-west-1", Stage.DOWN, ("DOWN", "DOWN"), se, 1),
    ]
    made = {}
    for name, region, stage, statuses, owner, age in rows:
        request = VpnRequestFactory(customer__name=name, region=region, stage=stage, owner=owner)
        for position, status in enumerate(statuses, start=1):
            TunnelFactory(request=request, position=position, status=status)
        VpnRequest.objects.filter(pk=request.pk).update(updated_at=now - timedelta(hours=age))
        made[name] = request
    return made


# Each column's natural order of the three requests above (customers' names).
EXPECTED_ORDER = {
    "reference": ["Bravo", "Charlie", "Alpha"],
    "customer": ["Alpha", "Bravo", "Charlie"],
    "region": ["Charlie", "Alpha", "Bravo"],
    "stage": ["Charlie", "Bravo", "Alpha"],
    "health": ["Alpha", "Bravo", "Charlie"],
    "owner": ["Charlie", "Alpha", "Bravo"],  # no owner first, then "Sam Engineer…", "zed"
    "updated": ["Charlie", "Alpha", "Bravo"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("column", list(COLUMNS))
def test_every_column_sorts_both_ways_and_keeps_the_order_in_the_url(se_client, se, column):
    _sortable_requests(se)

    def names(sort):
        response = se_client.get("/", {"sort": sort})
        return [r.customer.name for r in response.context["requests"]], response

    ascending, response = names(column)
    assert ascending == EXPECTED_ORDER[column]
    descending, _ = names(f"-{column}")
    assert descending == list(reversed(EXPECTED_ORDER[column]))
    html = response.content.decode()
    # The sorted column's header reverses it; the others sort by themselves.
    assert f'href="?sort=-{column}"' in html
    assert html.count("aria-sort=") == 1
    for other in set(COLUMNS) - {column}:
        assert f'href="?sort={other}"' in html


@pytest.mark.django_db
def test_sort_links_keep_the_filters_and_filtering_keeps_the_sort(se_client):
    VpnRequestFactory(stage=Stage.LIVE)
    html = se_client.get("/", {"stage": "live", "sort": "-customer"}).content.decode()
    assert 'href="?stage=live&amp;sort=customer"' in html
    assert '<option value="-customer" selected>' in html
    assert "/requests.csv?stage=live&amp;sort=-customer" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("81.2.69", {"Gateway"}),  # part of a gateway IP
        ("2.69.14", {"Gateway"}),  # from an octet inside it
        ("203.0.113", {"Tunnel"}),  # an AWS outside IP of a tunnel
        ("10.66.0.0/16", {"Static"}),  # a customer subnet, as a CIDR
        ("10.77", {"Static", "Vpc"}),  # part of a subnet, and of a VPC CIDR
        ("172.31.0", {"Prefixes"}),  # an advertised prefix
        ("vpc-0abc", {"Vpc"}),  # an AWS resource id
        ("52.14.9.1", {"Vpc"}),  # the NAT's public address
        ("5f0e", {"Org"}),  # part of an org ID
    ],
)
def test_search_finds_addresses_cidrs_aws_ids_and_org_ids(se_client, query, expected):
    VpnRequestFactory(customer__name="Gateway", customer_gateway_ip="81.2.69.142")
    VpnRequestFactory(customer__name="Lookalike", customer_gateway_ip="181.2.69.1")
    TunnelFactory(
        request=VpnRequestFactory(customer__name="Tunnel", stage=Stage.LIVE),
        position=1,
        outside_ip="203.0.113.10",
    )
    VpnRequestFactory(
        customer__name="Static",
        routing=Routing.STATIC,
        static_subnets=["10.66.0.0/16", "10.77.1.0/24"],
        advertised_prefixes=[],
    )
    VpnRequestFactory(customer__name="Prefixes", advertised_prefixes=["172.31.0.0/16"])
    vpc = VpnRequestFactory(customer__name="Vpc", vpc_cidr="10.77.4.0/24")
    AwsResource.objects.create(request=vpc, role="vpc", resource_id="vpc-0abc123", region="x")
    AwsResource.objects.create(
        request=vpc,
        role="elastic_ip",
        resource_id="eipalloc-1",
        region="x",
        details={"PublicIp": "52.14.9.1"},
    )
    VpnRequestFactory(customer__name="Org", customer__org_id="5f0e0d6c-1b7e-4d4b-9a51-6d5c1e7a9b01")
    requests = se_client.get("/", {"q": query}).context["requests"]
    assert {r.customer.name for r in requests} == expected


@pytest.mark.django_db
def test_a_removed_vpn_shows_no_tunnel_health(se_client):
    for stage in (Stage.DECOMMISSIONING, Stage.DECOMMISSIONED):
        gone = VpnRequestFactory(stage=stage)
        TunnelFactory(request=gone, position=1, status="DOWN")
        TunnelFactory(request=gone, position=2, status="DOWN")
    html = se_client.get("/").content.decode()
    assert 'class="mark' not in html
    assert 'class="risk-note' not in html


@pytest.mark.django_db
def test_pagination_keeps_filters_and_tolerates_bad_page_numbers(se_client, settings):
    _bulk_requests(60)
    response = se_client.get("/", {"stage": "live", "page": "2"})
    assert response.context["is_paginated"]
    html = response.content.decode()
    assert "stage=live&amp;page=3" in html
    assert "26\N{EN DASH}50 of 60 · page 2 of 3" in html
    last = se_client.get("/", {"page": "999"})
    assert last.status_code == 200
    assert last.context["page_obj"].number == last.context["paginator"].num_pages
    assert se_client.get("/", {"page": "abc"}).status_code == 200


@pytest.mark.django_db
def test_export_streams_the_filtered_list_as_csv(se_client):
    VpnRequestFactory(customer__name="=HYPERLINK(1)", stage=Stage.LIVE, region="us-east-1")
    VpnRequestFactory(customer__name="Elsewhere", stage=Stage.LIVE, region="eu-west-1")
    gone = VpnRequestFactory(customer__name="Gone", stage=Stage.DECOMMISSIONED, region="us-east-1")
    TunnelFactory(request=gone, position=1, status="DOWN")
    response = se_client.get("/requests.csv", {"region": "us-east-1", "sort": "customer"})
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="vpn-requests-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Reference", "Customer", "Org ID"]
    # A cell a spreadsheet would run as a formula stays text; a removed VPN has no tunnels.
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(1)", "Gone"]
    tunnel_1 = rows[0].index("Tunnel 1")
    assert rows[2][tunnel_1] == ""


def _export_peak_memory(client) -> tuple[int, int]:
    """Export the whole list: how many lines came, and the peak bytes Python held."""
    tracemalloc.start()
    try:
        response = client.get("/requests.csv")
        assert isinstance(response, StreamingHttpResponse)
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        return lines, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
def test_export_of_10000_rows_streams_in_constant_memory(se_client):
    _bulk_requests(1_000)
    _export_peak_memory(se_client)  # first use: imports, caches, connection set-up
    lines, peak_at_1000 = _export_peak_memory(se_client)
    assert lines == 1_001
    _bulk_requests(9_000)
    lines, peak_at_10000 = _export_peak_memory(se_client)
    assert lines == 10_001  # the header and every request
    with CaptureQueriesContext(connection) as queries:
        _export_peak_memory(se_client)
    # One query, read through a cursor a chunk at a time: ten times the rows, about the
    # same memory. Holding 10,000 rows of 15 values would take well over 5 MB more; the
    # margin only absorbs what the allocator and the rest of the process do meanwhile.
    assert len([q for q in queries if "vpn_vpnrequest" in q["sql"]]) == 1
    assert peak_at_10000 < peak_at_1000 * 1.5 + 1_000_000, (peak_at_1000, peak_at_10000)


# Which way each column runs in its natural order, as the header's aria-sort says it.
NATURAL_DIRECTION = {
    "reference": ("ascending", "oldest first"),
    "customer": ("ascending", "A to Z"),
    "region": ("ascending", "A to Z"),
    "stage": ("ascending", "intake first"),
    "health": ("ascending", "worst first"),
    "owner": ("ascending", "A to Z"),
    "updated": ("descending", "latest first"),
}


def _header(html: str, column: str) -> str:
    """The header cell of `column`, from its <th to its </th>."""
    before, after = html.split(f'id="sort-{column}"', 1)
    return before[before.rindex("<th") :] + after.split("</th>", 1)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("column", list(COLUMNS))
def test_the_sorted_header_says_which_way_it_runs(se_client, se, column):
    _sortable_requests(se)
    direction, words = NATURAL_DIRECTION[column]
    header = _header(se_client.get("/", {"sort": column}).content.decode(), column)
    assert f'aria-sort="{direction}"' in header
    assert f'class="sort-link sorted {direction}"' in header  # the arrow's way
    label = COLUMNS[column].label
    assert f'{label} <span class="visually-hidden">(sorted {words})</span>' in header
    # Reversed: the other way, in the column's own words.
    other = "ascending" if direction == "descending" else "descending"
    header = _header(se_client.get("/", {"sort": f"-{column}"}).content.decode(), column)
    assert f'aria-sort="{other}"' in header
    assert f"(sorted {COLUMNS[column].directions[1]})</span>" in header
    assert f'title="Order by {COLUMNS[column].label.lower()}: {words}"' in header


@pytest.mark.django_db
def test_the_default_order_reads_latest_first_with_a_downward_arrow(se_client, se):
    _sortable_requests(se)
    html = se_client.get("/").content.decode()
    header = _header(html, DEFAULT_SORT)
    assert 'aria-sort="descending"' in header
    assert "sort-link sorted descending" in header
    assert "(sorted latest first)</span>" in header
    assert 'title="Order by updated: earliest first"' in header  # what its link does
    for other in set(COLUMNS) - {DEFAULT_SORT}:
        assert "aria-sort" not in _header(html, other)
        assert "visually-hidden" not in _header(html, other)


# --- Pages at any depth -----------------------------------------------------------------


def _page_pks(client, params: dict) -> tuple[list[int], object]:
    response = client.get("/", params)
    assert response.status_code == 200
    return [r.pk for r in response.context["requests"]], response


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sort", ["stage", "-stage", "updated", "-updated", "owner", "health", "-health", "customer"]
)
def test_every_request_is_on_exactly_one_page_in_an_order_with_ties(se_client, sort):
    _bulk_requests(60)
    # Every request alike in customer, stage, owner, health and update time: only the
    # tiebreaker (the reference) orders them.
    VpnRequest.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    Customer.objects.update(name="Same name")
    seen = []
    for number in (1, 2, 3):
        pks, response = _page_pks(se_client, {"sort": sort, "page": number})
        assert response.context["page_obj"].number == number
        assert len(pks) == (25 if number < 3 else 10)
        seen += pks
    assert len(seen) == len(set(seen)) == 60
    assert set(seen) == set(VpnRequest.objects.values_list("pk", flat=True))
    # The pages together are the one order, ties in the reference's order.
    assert seen == sorted(seen, reverse=sort in ("-stage", "updated", "-health"))


@pytest.mark.django_db
def test_pages_of_a_filtered_sorted_list_show_their_page_and_the_total(se_client):
    _bulk_requests(55)
    VpnRequestFactory.create_batch(3, stage=Stage.SUBMITTED)
    by_name = list(
        VpnRequest.objects.filter(stage=Stage.LIVE)
        .order_by("-customer__name", "-pk")
        .values_list("pk", flat=True)
    )
    params = {"stage": "live", "sort": "-customer"}
    pks, response = _page_pks(se_client, {**params, "page": 2})
    assert pks == by_name[25:50]
    html = response.content.decode()
    assert "26\N{EN DASH}50 of 55 · page 2 of 3" in html
    assert "55 requests matching the filters" in html
    # Previous, next, first and last keep the filters and the order.
    for number in (1, 3):
        assert f'href="?stage=live&amp;sort=-customer&amp;page={number}"' in html
    # The headers keep the filters and start again at the first page.
    assert 'href="?stage=live&amp;sort=customer"' in html
    # Past the end: the last page, with its rows.
    pks, response = _page_pks(se_client, {**params, "page": 99})
    assert response.context["page_obj"].number == 3
    assert pks == by_name[50:]
    assert "51\N{EN DASH}55 of 55 · page 3 of 3" in response.content.decode()


@pytest.mark.django_db
def test_the_poll_of_a_page_asks_for_that_page_and_gets_its_rows(se_client):
    _bulk_requests(30)
    params = {"stage": "live", "sort": "customer", "page": "2"}
    pks, response = _page_pks(se_client, params)
    html = response.content.decode()
    assert 'hx-get="/?stage=live&amp;sort=customer&amp;page=2"' in html
    polled = se_client.get("/", params, headers={"HX-Request": "true"})
    assert [r.pk for r in polled.context["requests"]] == pks
    assert len(pks) == 5


@pytest.mark.django_db
@pytest.mark.parametrize("sort", [DEFAULT_SORT, "customer", "-health", "owner"])
def test_a_deep_page_skips_over_the_keys_alone(se_client, sort):
    _bulk_requests(80)
    with CaptureQueriesContext(connection) as queries:
        pks, response = _page_pks(se_client, {"sort": sort, "page": 4})
    assert response.context["page_obj"].number == 4
    assert len(pks) == 5
    # The query that skips the first 75 rows reads their keys, and nothing of the tunnels
    # unless the order needs them; the rows shown are then read by their keys.
    skipping = [q["sql"] for q in queries if "OFFSET 75" in q["sql"]]
    assert len(skipping) == 1
    assert skipping[0].startswith('SELECT "vpn_vpnrequest"."id" AS "pk" FROM ')
    assert ("vpn_tunnel" in skipping[0]) == sort.endswith("health")
    # The total (and the navigation's counts) neither order nor look at the tunnels.
    counting = [q["sql"] for q in queries if "COUNT(*)" in q["sql"]]
    assert counting
    assert not [sql for sql in counting if "vpn_tunnel" in sql or "ORDER BY" in sql]


@pytest.mark.django_db
def test_a_deep_page_costs_the_queries_of_the_first(se_client):
    _bulk_requests(80)
    for sort in ("health", "owner"):
        first = _queries(se_client, f"/?sort={sort}")
        assert _queries(se_client, f"/?sort={sort}&page=4") == first


def _rule(stage: str, tunnel_count: int, statuses: tuple[str, ...]) -> tuple[str, int]:
    """The redundancy risk and health rank, as the spec words them."""
    if stage not in OPERATIONAL_STAGES:
        return "", 3
    up = sum(status == "UP" for status in statuses[:tunnel_count])
    if up == 0:
        return ("", 3) if stage == Stage.AWAITING_CUSTOMER else ("down", 0)
    if tunnel_count == 1 or up < tunnel_count:
        return "high", 1
    return "low", 2


@pytest.mark.django_db
def test_the_health_order_and_filter_follow_the_rule_in_every_case(se_client):
    cases = [
        (stage, count, statuses)
        for stage in (*OPERATIONAL_STAGES, Stage.SUBMITTED, Stage.DECOMMISSIONED)
        for count in (1, 2)
        for statuses in ((), ("UP",), ("DOWN",), ("UP", "UP"), ("UP", "DOWN"), ("DOWN", "UP"))
    ]
    customers = Customer.objects.bulk_create(
        Customer(name=f"Case {i}", org_id=f"case-{i}") for i in range(len(cases))
    )
    requests = VpnRequest.objects.bulk_create(
        VpnRequest(customer=customer, stage=stage, tunnel_count=count, region="us-east-1")
        for customer, (stage, count, _) in zip(customers, cases, strict=True)
    )
    Tunnel.objects.bulk_create(
        Tunnel(
            request=request,
            position=position,
            outside_ip=f"203.0.113.{position}",
            inside_cidr=f"169.254.{index}.{position * 4}/30",
            status=status,
        )
        for index, (request, (_, _, statuses)) in enumerate(zip(requests, cases, strict=True))
        for position, status in enumerate(statuses, start=1)
    )
    expected = {request.pk: _rule(*case) for request, case in zip(requests, cases, strict=True)}
    annotated = with_redundancy_risk(VpnRequest.objects.all())
    assert {r.pk: (r.redundancy_risk, r.health_rank) for r in annotated} == expected
    # The dashboard's order and filter by health agree with it.
    se_client.get("/")  # signed in
    ranks = [
        expected[pk][1]
        for number in (1, 2, 3)
        for pk in _page_pks(se_client, {"sort": "health", "page": number})[0]
    ]
    assert len(ranks) == len(cases)
    assert ranks == sorted(ranks)
    down_or_high = {pk for pk, (risk, _) in expected.items() if risk in ("down", "high")}
    shown = {
        pk
        for number in (1, 2)
        for pk in _page_pks(se_client, {"health": "attention", "page": number})[0]
    }
    assert shown == down_or_high
