"""Shared set-up for the benchmarks: Django with a throwaway test database, and timing.

Benchmarks print figures; they do not pass or fail. They use the database that
`DATABASE_URL` names (a `test_` copy of it, created and dropped here), so the figures
can be taken on SQLite or PostgreSQL.
"""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The benchmarks run as scripts from anywhere; the project's packages live at the root.
sys.path.insert(0, str(ROOT))


@contextmanager
def django_test_database() -> Iterator[None]:
    """Set Django up with the test settings and a fresh test database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    import django

    django.setup()
    from django.test.utils import setup_test_environment, teardown_test_environment

    # Measure as production runs: DEBUG off (it would also log every query).
    setup_test_environment(debug=False)
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


@contextmanager
def sandbox_process(log: Path | None = None) -> Iterator[str]:
    """The AWS sandbox (state delay 0) in a process of its own, as `make run` serves it,
    so that its work and the benchmark's do not slow each other; yields its base URL.

    Its log (a line per call) goes to `log`, or nowhere."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--state-delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("w") if log is not None else subprocess.DEVNULL,
        text=True,
    )
    try:
        # "AWS sandbox serving ... on http://127.0.0.1:PORT (state delay 0 s)"
        announced = process.stdout.readline()
        if " on " not in announced:
            raise SystemExit("The sandbox did not start" + (f"; see {log}" if log else ""))
        yield announced.split(" on ", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=60)


def timings_ms(action: Callable[[], object], *, repeat: int, warmup: int = 3) -> list[float]:
    """Run `action` `warmup` times unmeasured, then `repeat` times; milliseconds each."""
    for _ in range(warmup):
        action()
    results = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        results.append((time.perf_counter() - start) * 1000)
    return results


def summary(values: list[float]) -> str:
    """Median and p95 of a list of milliseconds, as text."""
    # Inclusive: with few samples the p95 stays within the values measured.
    p95 = (
        statistics.quantiles(values, n=20, method="inclusive")[-1]
        if len(values) >= 2
        else values[0]
    )
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms (n={len(values)})"
