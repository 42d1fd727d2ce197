"""Dashboard benchmark: 10,000 requests with two tunnels each.

Prints the SQL queries per dashboard page and the median server time per page, beside
the median of a minimal Django view (the health check) measured in the same run, and
their ratio. Run: `python bench/bench_dashboard.py` (or `make bench`).
"""

import statistics

from harness import django_test_database, summary, timings_ms

REQUESTS = 10_000


def seed(count: int) -> None:
    """Create `count` requests across stages and regions, with tunnels, in bulk."""
    from vpn.choices import Stage
    from vpn.models import Customer, Tunnel, VpnRequest

    stages = [Stage.LIVE, Stage.DEGRADED, Stage.DOWN, Stage.SUBMITTED, Stage.AWAITING_CUSTOMER]
    regions = ["us-east-1", "eu-west-2", "ap-southeast-2"]
    customers = Customer.objects.bulk_create(
        (Customer(name=f"Customer {i}", org_id=f"org-{i:06d}") for i in range(count)),
        batch_size=2000,
    )
    requests = VpnRequest.objects.bulk_create(
        (
            VpnRequest(customer=c, stage=stages[i % len(stages)], region=regions[i % 3])
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
    """Seed, then measure the dashboard and the minimal view."""
    with django_test_database():
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tests.factories import se_user

        seed(REQUESTS)
        client = Client()
        client.force_login(se_user(username="bench"))

        def page(url):
            def get():
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            return get

        pages = {
            "dashboard, first page": "/",
            "dashboard, page 200": "/?page=200",
            "dashboard, search": "/?q=Customer+42",
            "dashboard, stage filter": "/?stage=attention",
        }
        minimal = timings_ms(page("/healthz"), repeat=200)
        print(f"Database: {connection.vendor}; {REQUESTS:,} requests, {2 * REQUESTS:,} tunnels")
        print(f"minimal view (/healthz): {summary(minimal)}")
        for label, url in pages.items():
            with CaptureQueriesContext(connection) as queries:
                page(url)()
            # Count now: every request clears the connection's query log.
            query_count = len(queries)
            times = timings_ms(page(url), repeat=40)
            ratio = statistics.median(times) / statistics.median(minimal)
            print(
                f"{label}: {query_count} SQL queries; {summary(times)}; "
                f"{ratio:.1f}x the minimal view"
            )


if __name__ == "__main__":
    main()
