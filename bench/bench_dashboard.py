"""Dashboard benchmark: 10,000 requests with two tunnels each.

Prints, for the default order, each column's order and a filtered and sorted list, the
SQL queries per page and the median server time of the first page, a middle page and the
last page, with the ratio of the slower of the deeper pages to the first; then the search
and a filter, beside the median of a minimal Django view (the health check) measured in
the same run. Run: `python bench/bench_dashboard.py` (or `make bench`).
"""

import statistics

from harness import django_test_database, summary, timings_ms

REQUESTS = 10_000
# Timings per page: each order's three pages are measured this many times.
REPEAT = 15


def seed(count: int) -> None:
    """Create `count` requests across stages, regions and owners, with tunnels, in bulk."""
    from django.contrib.auth import get_user_model

    from vpn.choices import Stage
    from vpn.models import Customer, Tunnel, VpnRequest

    stages = [Stage.LIVE, Stage.DEGRADED, Stage.DOWN, Stage.SUBMITTED, Stage.AWAITING_CUSTOMER]
    regions = ["us-east-1", "eu-west-2", "ap-southeast-2"]
    # A few owners, and requests without one: the owner order has long runs of ties.
    owners = [None] + [
        get_user_model().objects.create(username=f"owner{i}", first_name=name, last_name="Ng")
        for i, name in enumerate(("Ada", "Bo", "Cy", "Di"))
    ]
    customers = Customer.objects.bulk_create(
        (Customer(name=f"Customer {i}", org_id=f"org-{i:06d}") for i in range(count)),
        batch_size=2000,
    )
    requests = VpnRequest.objects.bulk_create(
        (
            VpnRequest(
                customer=c,
                stage=stages[i % len(stages)],
                region=regions[i % 3],
                owner=owners[i % len(owners)],
            )
            for i, c in enumerate(customers)
        ),
        batch_size=2000,
    )
    Tunnel.objects.bulk_create(
        (
            Tunnel(
                request=r,
                position=p,
                outside_ip=f"10.{p}.{i // 256 % 256}.{i % 256}",
                inside_cidr=f"169.254.{10 + i // 64 % 200}.{i % 64 * 4}/30",
                status="UP" if (i + p) % 4 else "DOWN",
            )
            for i, r in enumerate(requests)
            for p in (1, 2)
        ),
        batch_size=4000,
    )


def main() -> None:
    """Seed, then measure the dashboard's pages in every order, and the minimal view."""
    with django_test_database():
        from django.conf import settings
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tests.factories import se_user
        from vpn.selectors.requests import COLUMNS

        seed(REQUESTS)
        client = Client()
        client.force_login(se_user(username="bench"))

        def page(url):
            def get():
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            return get

        def measure(url) -> tuple[int, list[float]]:
            with CaptureQueriesContext(connection) as queries:
                page(url)()
            # Count now: every request clears the connection's query log.
            return len(queries), timings_ms(page(url), repeat=REPEAT)

        last = -(-REQUESTS // settings.DASHBOARD_PAGE_SIZE)
        middle = last // 2
        minimal = timings_ms(page("/healthz"), repeat=200)
        print(f"Database: {connection.vendor}; {REQUESTS:,} requests, {2 * REQUESTS:,} tunnels")
        print(f"minimal view (/healthz): {summary(minimal)}")
        print(
            f"Median server time per page ({settings.DASHBOARD_PAGE_SIZE} rows, n={REPEAT}): "
            f"page 1, page {middle}, page {last}; deepest / first = the slower of the two "
            "deeper pages over page 1"
        )
        orders = {"default": ""} | {key: f"sort={key}&" for key in COLUMNS}
        orders |= {"-customer": "sort=-customer&", "-health": "sort=-health&"}
        # Filters and an order together (fewer pages: the deeper two are its last page).
        orders["filtered"] = "stage=operational&health=attention&sort=customer&"
        worst = 0.0
        for label, query in orders.items():
            urls = [f"/?{query}page={number}" for number in (1, middle, last)]
            counts = set()
            for url in urls:
                with CaptureQueriesContext(connection) as queries:
                    page(url)()
                counts.add(len(queries))
            # The three pages in turn, round after round: a change in the machine's load
            # weighs on each of them alike.
            times = [[] for _ in urls]
            for _ in range(REPEAT):
                for index, url in enumerate(urls):
                    times[index] += timings_ms(page(url), repeat=1, warmup=0)
            medians = [statistics.median(values) for values in times]
            ratio = max(medians[1:]) / medians[0]
            worst = max(worst, ratio)
            print(
                f"  order {label:<10} {medians[0]:6.1f} ms {medians[1]:6.1f} ms "
                f"{medians[2]:6.1f} ms  deepest/first {ratio:4.2f}  "
                f"SQL queries per page {'/'.join(map(str, sorted(counts)))}"
            )
        print(f"  worst deepest/first over every order: {worst:.2f}")
        pages = {
            "search": "/?q=Customer+42",
            "stage filter": "/?stage=attention",
        }
        for label, url in pages.items():
            count, times = measure(url)
            ratio = statistics.median(times) / statistics.median(minimal)
            print(
                f"dashboard, {label}: {count} SQL queries; {summary(times)}; "
                f"{ratio:.1f}x the minimal view"
            )


if __name__ == "__main__":
    main()
