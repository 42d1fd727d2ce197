"""Load benchmark: the production processes under 50 concurrent clients for 60 seconds.

The portal runs as `make serve` runs it: gunicorn (the Procfile's `web`, with its own
configuration, debug off, static files from WhiteNoise after a collectstatic), an RQ
worker and RQ's cron scheduler, against PostgreSQL (a throwaway `test_` copy of the
database `DATABASE_URL` names), with 1,000 requests whose VPN connections exist in a
local AWS sandbox, a process of its own (the set-up runs the first tunnel status refresh,
and the cron's refresh reads them again every 10 s meanwhile).

50 clients, each with its own keep-alive connection, then use the portal as people do,
one request after another with no pause (so the figures are the server's capacity, not
people's reading time):

- 20 engineers open the dashboard, a request's page, then poll that page as the open
  page does (htmx requests) and poll the dashboard again;
- 25 customers open their link's status page and poll it;
- 5 monitors read a request's status JSON (logged in) and Prometheus `/metrics` (bearer
  token).

Every client speaks as a browser behind the TLS-terminating proxy would
(`X-Forwarded-Proto: https`, its own `X-Forwarded-For` address). Since the clients send
their polls back to back, far faster than a page polls, the customer link's rate limits
are raised for the run. It prints the requests per second, p50/p95/p99 per kind of
page, the errors (anything but a 200, expected 0) and the peak number of connections
to the database (sampled from `pg_stat_activity`).

Run: `python bench/bench_load.py` (or `make bench`); it needs `DATABASE_URL` on
PostgreSQL and a Redis at `REDIS_URL` (it uses the databases `TEST_REDIS_DB` and
`TEST_CACHE_REDIS_DB`, 10 and 11 by default, and empties them). `BENCH_PORT` picks the
server's port (a free one by default). About three minutes.
"""

import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from harness import ROOT, django_test_database, sandbox_process

os.environ.setdefault("TEST_REDIS_DB", "10")
os.environ.setdefault("TEST_CACHE_REDIS_DB", "11")

DURATION_SECONDS = 60
ENGINEERS, CUSTOMERS, MONITORS = 20, 25, 5
METRICS_TOKEN = "bench-load-metrics-token"
STATUS_REFRESH_SECONDS = 10


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(sandbox_url: str) -> tuple[list[int], list[str]]:
    """1,000 requests with their connections in the sandbox and their tunnels UP; returns
    the request ids and the customers' link paths."""
    from bench_status import Control, create_connections, record_tunnels, seed_database
    from django.conf import settings

    from vpn.services.intake import intake_link_create

    settings.AWS_ENDPOINT_URL = sandbox_url
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
    requests = seed_database()
    addresses = record_tunnels(create_connections(requests))
    control = Control(sandbox_url)
    for connection_id, outside_ip in addresses:
        control.tunnel_status(connection_id, outside_ip, "UP")
    control.close()
    # The first refresh (every tunnel UNKNOWN -> UP, every request to live) happens once
    # in a portal's life; the run measures the steady state the cron then keeps.
    from vpn.services.status import status_refresh

    status_refresh(trigger="bench")
    links = [
        urlsplit(intake_link_create(request_id=r.pk, send_email=False).url).path
        for r in requests[:CUSTOMERS]
    ]
    return [r.pk for r in requests], links


def staff_sessions(count: int) -> list[str]:
    """Session keys of `count` logged-in solutions engineers, as a login would store them."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tests.factories import se_user

    keys = []
    for index in range(count):
        user = se_user(username=f"bench-se-{index}")
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "vpn.sso.LocalPasswordBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def server_env(connection, port: int, sandbox_url: str) -> dict[str, str]:
    """Production's environment for the processes, pointed at the benchmark's services."""
    from django.conf import settings

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        # The suite's keys: the sessions and the stored keys were made with them.
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PSK_ENCRYPTION_KEYS": ",".join(settings.PSK_ENCRYPTION_KEYS),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}"
            f"@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": settings.TEST_REDIS_URL,
        "CACHE_URL": settings.TEST_CACHE_URL,
        "PORT": str(port),
        "WEB_HOST": "127.0.0.1",
        "STATIC_ROOT": str(ROOT / ".run" / "bench-static"),
        "AWS_ENDPOINT_URL": sandbox_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "STATUS_REFRESH_SECONDS": str(STATUS_REFRESH_SECONDS),
        "METRICS_TOKEN": METRICS_TOKEN,
        "INTAKE_TRUSTED_PROXY_COUNT": "1",
        "INTAKE_RATE_LIMIT_PER_IP": "1000000",
        "INTAKE_RATE_LIMIT_PER_TOKEN": "1000000",
        "EMAIL_URL": "consolemail://",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }


def procfile() -> dict[str, list[str]]:
    """The Procfile's commands, by process name."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: command.split() for name, command in (line.split(": ", 1) for line in lines)}


def start_processes(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen]:
    """collectstatic, then the Procfile's web, worker and cron."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    processes = {}
    for name, command in procfile().items():
        if command[0] == "python":
            command = [sys.executable, *command[1:]]
        elif command[0] == "gunicorn":
            command = [sys.executable, "-m", "gunicorn", *command[1:]]
        log = (logs / f"bench-load-{name}.log").open("w")
        processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return processes


def wait_ready(base: str, processes: dict[str, subprocess.Popen]) -> None:
    """Wait (two minutes at most) until /readyz answers 200."""
    import httpx

    for _ in range(240):
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"The {name} process ended; see .run/bench-load-{name}.log")
        try:
            if httpx.get(f"{base}/readyz", headers=PROXY_HEADERS, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("The portal did not become ready; see .run/bench-load-web.log")


PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
POLL_HEADERS = {"HX-Request": "true"}


class Results:
    """Each kind of request's durations, and the failures, from every client thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def record(self, kind: str, started: float, outcome: str | None) -> None:
        """One request of `kind`; `outcome` is None for a 200, else what went wrong."""
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.durations[kind].append(elapsed)
            if outcome is not None:
                self.errors[kind].append(outcome)


def client_loop(base: str, deadline: float, results: Results, steps, headers: dict) -> None:
    """One client: its steps (kind, path, extra headers) over and over until the deadline."""
    import httpx

    with httpx.Client(base_url=base, headers={**PROXY_HEADERS, **headers}, timeout=30) as http:
        while time.perf_counter() < deadline:
            for kind, path, extra in steps:
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    response = http.get(path, headers=extra)
                    outcome = None if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                results.record(kind, started, outcome)


def clients(request_ids: list[int], links: list[str], sessions: list[str]):
    """Each client's steps and headers: engineers, customers, monitors."""
    made = []
    for index, session in enumerate(sessions):
        page = f"/requests/{request_ids[(index * 37) % len(request_ids)]}/"
        steps = [("dashboard", "/", {}), ("request page", page, {})]
        steps += [("request page poll", page, POLL_HEADERS)] * 5
        steps += [("dashboard poll", "/", POLL_HEADERS)]
        made.append(
            (steps, {"Cookie": f"sessionid={session}", "X-Forwarded-For": f"192.0.2.{index + 1}"})
        )
    for index, link in enumerate(links):
        steps = [("customer page", link, {})] + [("customer poll", link, POLL_HEADERS)] * 5
        made.append((steps, {"X-Forwarded-For": f"198.51.100.{index + 1}"}))
    for index in range(MONITORS):
        request_id = request_ids[(index * 101) % len(request_ids)]
        steps = [
            ("status JSON", f"/requests/{request_id}/status.json", {}),
            ("metrics", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}),
        ]
        made.append(
            (
                steps,
                {
                    "Cookie": f"sessionid={sessions[index]}",
                    "X-Forwarded-For": f"203.0.113.{index + 1}",
                },
            )
        )
    return made


def connections_sampler(database: str, stop: threading.Event, peak: list[int]) -> None:
    """Sample the database's connections from pg_stat_activity until `stop` is set."""
    from django.db import connections

    try:
        with connections["default"].cursor() as cursor:
            while not stop.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]
                )
                peak[0] = max(peak[0], cursor.fetchone()[0])
                stop.wait(0.25)
    finally:
        connections["default"].close()


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile (0-100) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share / 100 * len(ordered)) - 1))]


def report(results: Results, elapsed: float, peak: int, refreshes: int) -> None:
    """Print the figures."""
    total = sum(len(values) for values in results.durations.values())
    errors = sum(len(values) for values in results.errors.values())
    print(
        f"{total:,} requests in {elapsed:.1f} s: {total / elapsed:.0f} requests/s; errors: {errors}"
    )
    print(f"{'kind':<20}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, values in sorted(results.durations.items()):
        print(
            f"{kind:<20}{len(values):>8}{statistics.median(values):>9.0f}"
            f"{percentile(values, 95):>9.0f}{percentile(values, 99):>9.0f}"
            f"{len(results.errors.get(kind, [])):>8}"
        )
    for kind, outcomes in results.errors.items():
        print(f"  errors of {kind}: {sorted(set(outcomes))}")
    print(f"peak database connections (pg_stat_activity, all processes): {peak}")
    print(f"tunnel status refreshes run by the worker meanwhile: {refreshes}")


def main() -> None:
    """Seed, start the processes, load them for 60 s, print, stop."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logs = ROOT / ".run"
    logs.mkdir(exist_ok=True)
    with sandbox_process(logs / "bench-load-sandbox.log") as sandbox_url, django_test_database():
        from django.db import connection

        if connection.vendor != "postgresql":
            print("skipped: needs DATABASE_URL on PostgreSQL")
            return
        import django_rq

        from vpn.models import StatusRefresh

        django_rq.get_queue("default").connection.flushdb()
        started = time.perf_counter()
        request_ids, links = seed(sandbox_url)
        sessions = staff_sessions(ENGINEERS)
        print(
            f"Set-up: {len(request_ids):,} requests with 2 tunnels each in the sandbox, "
            f"{len(links)} customer links, {len(sessions)} engineers: "
            f"{time.perf_counter() - started:.0f} s"
        )
        port = int(os.environ.get("BENCH_PORT") or free_port())
        env = server_env(connection, port, sandbox_url)
        processes = start_processes(env, logs)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, processes)
            refreshes_before = StatusRefresh.objects.count()
            print(
                f"gunicorn (WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', 3)} processes x "
                f"WEB_THREADS={env.get('WEB_THREADS', 4)} threads), 1 RQ worker, cron "
                f"(status refresh every {STATUS_REFRESH_SECONDS} s); "
                f"{ENGINEERS + CUSTOMERS + MONITORS} clients for {DURATION_SECONDS} s"
            )
            results, stop, peak = Results(), threading.Event(), [0]
            sampler = threading.Thread(
                target=connections_sampler,
                args=(connection.settings_dict["NAME"], stop, peak),
            )
            sampler.start()
            deadline = time.perf_counter() + DURATION_SECONDS
            threads = [
                threading.Thread(target=client_loop, args=(base, deadline, results, steps, headers))
                for steps, headers in clients(request_ids, links, sessions)
            ]
            load_started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - load_started
            stop.set()
            sampler.join()
            report(results, elapsed, peak[0], StatusRefresh.objects.count() - refreshes_before)
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            for process in processes.values():
                process.wait(timeout=60)
            connection.close()


if __name__ == "__main__":
    main()
