"""CSV export benchmark: the dashboard's list of 10,000 requests as a streamed CSV.

Prints rows per second and the peak memory Python allocated while the response was
consumed, at 2,500 and at 10,000 rows: the export reads the database in chunks and
writes row by row, so the peak stays flat as the list grows. Run:
`python bench/bench_export.py` (or `make bench`).
"""

import time
import tracemalloc

from bench_dashboard import seed
from harness import django_test_database

SIZES = (2_500, 10_000)


def export(client, url: str) -> tuple[int, float, int]:
    """Consume one export: its rows, the seconds it took, and the peak bytes allocated."""
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, seconds, peak


def main() -> None:
    """Seed each size, then time the export without tracing and trace its memory."""
    with django_test_database():
        from django.db import connection
        from django.test import Client

        from tests.factories import se_user
        from vpn.models import Customer, Tunnel, VpnRequest

        client = Client()
        client.force_login(se_user(username="bench"))
        print(f"Database: {connection.vendor}")
        for size in SIZES:
            Tunnel.objects.all().delete()
            VpnRequest.objects.all().delete()
            Customer.objects.all().delete()
            seed(size)
            client.get("/requests.csv")  # warm up: the first request of a size is slower
            # Time apart from the tracing, which slows Python down.
            start = time.perf_counter()
            response = client.get("/requests.csv")
            rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
            seconds = time.perf_counter() - start
            _, _, peak = export(client, "/requests.csv")
            print(
                f"export of {rows:,} rows: {seconds:.2f} s, {rows / seconds:,.0f} rows/s; "
                f"peak memory {peak / 1_048_576:.1f} MiB"
            )


if __name__ == "__main__":
    main()
