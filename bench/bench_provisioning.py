"""Provisioning benchmark against the local AWS sandbox (state delay 0).

Prints, for each mode (static with NAT, BGP without NAT, one tunnel): the AWS calls one
provisioning makes and its time, run step by step in this process; then 50 requests
through 2 real RQ worker processes: total time and failures. The worker part needs
PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`), which separate processes can share.
Run: `python bench/bench_provisioning.py` (or `make bench`).
"""

import os
import subprocess
import sys
import time

from harness import ROOT, django_test_database

# A Redis database of the benchmark's own (see portal/settings_test.py).
os.environ.setdefault("TEST_REDIS_DB", "12")

WORKERS = 2
REQUESTS = 50


def _calls(sandbox) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/stats") as response:
        return sum(json.loads(response.read())["calls"].values())


def main() -> None:
    """Measure each mode in process, then many requests through worker processes."""
    from sandbox.server import SandboxServer

    sandbox = SandboxServer(port=0, state_delay=0.0)
    sandbox.start()
    try:
        with django_test_database():
            from django.conf import settings
            from django.db import connection

            settings.AWS_ENDPOINT_URL = sandbox.url
            settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
            # Without a queue every job (each step, then the config pack) runs right here.
            settings.RQ_ASYNC = False
            settings.PROVISION_POLL_SECONDS = 0

            from tests.factories import VpnRequestFactory
            from vpn.choices import Routing, Stage
            from vpn.services.stages import request_move

            modes = {
                "static routing with NAT": dict(
                    routing=Routing.STATIC, static_subnets=["192.168.1.0/24"], nat_wanted=True
                ),
                "BGP without NAT": dict(routing=Routing.BGP, nat_wanted=False),
                "one tunnel (BGP)": dict(routing=Routing.BGP, tunnel_count=1),
            }
            print(f"Database: {connection.vendor}; sandbox state delay 0 s")
            for label, fields in modes.items():
                request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", **fields)
                before, started = _calls(sandbox), time.perf_counter()
                request_move(request_id=request.pk, to_stage=Stage.APPROVED)
                elapsed = time.perf_counter() - started
                request.refresh_from_db()
                print(
                    f"{label}: {_calls(sandbox) - before} AWS calls, {elapsed:.2f} s with "
                    f"{request.config_packs.count()} config pack version(s) rendered "
                    f"(ended “{request.get_stage_display()}”)"
                )
            if connection.vendor != "postgresql":
                print("50 requests through 2 workers: skipped (needs DATABASE_URL on PostgreSQL)")
                return
            _through_workers(sandbox, connection)
            _through_faults(sandbox)
    finally:
        sandbox.stop()


def _through_workers(sandbox, connection) -> None:
    import django_rq
    from django.conf import settings

    from tests.factories import VpnRequestFactory
    from vpn.choices import Stage
    from vpn.models import VpnRequest
    from vpn.services.stages import request_move

    settings.RQ_ASYNC = True
    queue = django_rq.get_queue("default")
    queue.connection.flushdb()
    requests = [
        VpnRequestFactory(stage=Stage.SUBMITTED, region=("us-east-1", "eu-west-2")[i % 2])
        for i in range(REQUESTS)
    ]
    for request in requests:
        request_move(request_id=request.pk, to_stage=Stage.APPROVED)  # queues its first job
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PROVISION_POLL_SECONDS": "0",
    }
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default", "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.wait()
    elapsed = time.perf_counter() - started
    stages = list(
        VpnRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list("stage", flat=True)
    )
    done = stages.count(Stage.AWAITING_CUSTOMER)
    packs = sum(
        r.config_packs.count() for r in VpnRequest.objects.filter(pk__in=[r.pk for r in requests])
    )
    print(
        f"{REQUESTS} requests (BGP) through {WORKERS} workers: {elapsed:.1f} s in all, "
        f"{done} provisioned, {REQUESTS - done} failed or unfinished; "
        f"{packs} config packs rendered"
    )
    queue.connection.flushdb()


def _through_faults(sandbox) -> None:
    """20 requests while the sandbox throttles 30 % of calls and fails 5 %."""
    import json
    import urllib.request

    from django.conf import settings

    from tests.factories import VpnRequestFactory
    from vpn.choices import Stage
    from vpn.models import VpnRequest
    from vpn.services.stages import request_move

    def control(method: str, payload: dict | None = None) -> None:
        data = json.dumps(payload).encode() if payload else None
        request = urllib.request.Request(
            f"{sandbox.url}/_sandbox/faults",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request).close()

    settings.RQ_ASYNC = False
    # Adaptive mode would slow the client to a crawl under sustained throttling.
    settings.AWS_RETRY_MODE = "standard"
    control("POST", {"action": "*", "error": "throttle", "rate": 0.3})
    control("POST", {"action": "*", "error": "server", "rate": 0.05})
    requests = [VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1") for _ in range(20)]
    started = time.perf_counter()
    for request in requests:
        request_move(request_id=request.pk, to_stage=Stage.APPROVED)
    elapsed = time.perf_counter() - started
    control("DELETE")
    stages = VpnRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
        "stage", flat=True
    )
    done = list(stages).count(Stage.AWAITING_CUSTOMER)
    print(
        f"20 requests with 30 % throttling and 5 % server errors: {done} provisioned, "
        f"{20 - done} failed, {elapsed:.1f} s (config packs included)"
    )


if __name__ == "__main__":
    main()
