"""Provisioning benchmark against the local AWS sandbox (state delay 0), served by a
process of its own as `make run` serves it.

Prints, for each mode (static with NAT, BGP without NAT, one tunnel): the AWS calls one
provisioning makes, its time and the config pack versions rendered, run step by step in
this process (the pack included). Then 50 requests through 2 real RQ worker processes,
as the Procfile runs them (`worker` on the "default" queue; `packs`, the config packs'
worker, after them):

- the sandbox's own rate: the calls the 50 provisionings made over the time the sandbox
  spent answering them (it answers one call at a time: the most it can serve);
- the provisioning rate: the same calls over the time from the first approval (the
  workers already listening, as in production, where they run all along) until all 50
  requests wait for the customer, with the renders left on the "packs" queue;
- the second as a percentage of the first, and of the rate one boto3 client gets making
  describes back to back (the client's own cost per call included);
- then the time the packs worker takes to render the 50 queued packs, one version each.

The worker part needs PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`), which separate
processes can share. Run: `python bench/bench_provisioning.py` (or `make bench`).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from harness import ROOT, django_test_database, sandbox_process

# A Redis database of the benchmark's own (see portal/settings_test.py).
os.environ.setdefault("TEST_REDIS_DB", "12")

WORKERS = 2
REQUESTS = 50


def _stats(sandbox_url: str) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{sandbox_url}/_sandbox/stats") as response:
        return json.loads(response.read())


def _calls(sandbox_url: str) -> int:
    return sum(_stats(sandbox_url)["calls"].values())


def _procfile_command(process: str) -> list[str]:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    command = procfile[process].split()
    assert command[:3] == ["python", "manage.py", "rqworker"], command
    return [sys.executable, *command[1:]]


def _workers(process: str, count: int, env: dict) -> float:
    """Run `count` of the Procfile's `process` workers in burst mode until their queue is
    empty; the seconds they took."""
    started = time.perf_counter()
    workers = [
        subprocess.Popen(
            [*_procfile_command(process), "--burst"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    for worker in workers:
        worker.wait()
    return time.perf_counter() - started


@contextmanager
def _listening_workers(process: str, count: int, env: dict, queue) -> Iterator[None]:
    """`count` of the Procfile's `process` workers, started and listening on `queue` (as
    in production, where they run all along) until the block ends; then a warm stop."""
    from rq import Worker

    workers = [
        subprocess.Popen(
            _procfile_command(process),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        while len(Worker.all(queue=queue)) < count:  # started: Django set up, RQ listening
            if any(worker.poll() is not None for worker in workers):
                raise RuntimeError(f"a {process} worker ended before it listened")
            time.sleep(0.1)
        yield
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown
        for worker in workers:
            worker.wait()


def main() -> None:
    """Measure each mode in process, then many requests through worker processes."""
    with sandbox_process() as sandbox_url, django_test_database():
        from django.conf import settings
        from django.db import connection

        settings.AWS_ENDPOINT_URL = sandbox_url
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
            before, started = _calls(sandbox_url), time.perf_counter()
            request_move(request_id=request.pk, to_stage=Stage.APPROVED)
            elapsed = time.perf_counter() - started
            request.refresh_from_db()
            print(
                f"{label}: {_calls(sandbox_url) - before} AWS calls, {elapsed:.2f} s with "
                f"{request.config_packs.count()} config pack version(s) rendered "
                f"(ended “{request.get_stage_display()}”)"
            )
        if connection.vendor != "postgresql":
            print("50 requests through 2 workers: skipped (needs DATABASE_URL on PostgreSQL)")
            return
        _through_workers(sandbox_url, connection)
        _through_faults(sandbox_url)


def _through_workers(sandbox_url: str, connection) -> None:
    import django_rq
    from django.conf import settings

    from tests.factories import VpnRequestFactory
    from vpn.choices import Stage
    from vpn.models import ConfigPack, VpnRequest
    from vpn.services.stages import request_move

    settings.RQ_ASYNC = True
    queue, packs = django_rq.get_queue("default"), django_rq.get_queue("packs")
    queue.connection.flushdb()
    requests = [
        VpnRequestFactory(stage=Stage.SUBMITTED, region=("us-east-1", "eu-west-2")[i % 2])
        for i in range(REQUESTS)
    ]
    ids = [r.pk for r in requests]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "AWS_ENDPOINT_URL": sandbox_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PROVISION_POLL_SECONDS": "0",
    }
    ended = (Stage.AWAITING_CUSTOMER, Stage.FAILED)
    with _listening_workers("worker", WORKERS, env, queue):
        before = _stats(sandbox_url)
        started = time.perf_counter()
        for request in requests:
            request_move(request_id=request.pk, to_stage=Stage.APPROVED)  # queues its job
        while VpnRequest.objects.filter(pk__in=ids, stage__in=ended).count() < REQUESTS:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        after = _stats(sandbox_url)
    calls = sum(after["calls"].values()) - sum(before["calls"].values())
    serving = after["serving_seconds"] - before["serving_seconds"]
    done = VpnRequest.objects.filter(pk__in=ids, stage=Stage.AWAITING_CUSTOMER).count()
    sandbox_rate, portal_rate = calls / serving, calls / elapsed
    print(
        f"{REQUESTS} requests (BGP) through {WORKERS} workers: {elapsed:.1f} s, {done} "
        f"provisioned, {REQUESTS - done} failed or unfinished; {calls} AWS calls"
    )
    print(
        f"  sandbox's own rate: {sandbox_rate:.0f} calls/s ({serving:.1f} s answering); "
        f"through the workers: {portal_rate:.0f} calls/s = "
        f"{100 * portal_rate / sandbox_rate:.0f} % of the sandbox's"
    )
    client_rate = _back_to_back_rate(sandbox_url, ids[:10])
    print(
        f"  one client's calls back to back (describes of 10 requests' resources): "
        f"{client_rate:.0f} calls/s; the workers reach {100 * portal_rate / client_rate:.0f} %"
    )
    queued = packs.count
    rendering = _workers("packs", 1, env)
    versions = ConfigPack.objects.filter(request_id__in=ids).count()
    once = ConfigPack.objects.filter(request_id__in=ids, version=1).count()
    print(
        f"  packs queue: {queued} renders queued, drained by 1 packs worker in "
        f"{rendering:.1f} s; {versions} config pack versions rendered ({once} requests "
        "with v1)"
    )
    queue.connection.flushdb()


def _back_to_back_rate(sandbox_url: str, request_ids: list[int], rounds: int = 4) -> float:
    """Calls per second one boto3 client gets from the sandbox, making describes of the
    given requests' resources one after the other (no portal code in between)."""
    import boto3

    from vpn.choices import AwsResourceRole as Role
    from vpn.models import AwsResource

    calls = []
    for resource in AwsResource.objects.filter(request_id__in=request_ids):
        ec2 = boto3.client(
            "ec2",
            endpoint_url=sandbox_url,
            region_name=resource.region,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        describe = {
            Role.VPC: lambda c=ec2, i=resource.resource_id: c.describe_vpcs(VpcIds=[i]),
            Role.PRIVATE_SUBNET: lambda c=ec2, i=resource.resource_id: c.describe_subnets(
                SubnetIds=[i]
            ),
            Role.VPN_GATEWAY: lambda c=ec2, i=resource.resource_id: c.describe_vpn_gateways(
                VpnGatewayIds=[i]
            ),
            Role.CUSTOMER_GATEWAY: lambda c=ec2, i=resource.resource_id: (
                c.describe_customer_gateways(CustomerGatewayIds=[i])
            ),
            Role.VPN_CONNECTION: lambda c=ec2, i=resource.resource_id: c.describe_vpn_connections(
                VpnConnectionIds=[i]
            ),
        }.get(resource.role)
        if describe is not None:
            describe()  # the client's first call loads its models: not measured
            calls.append(describe)
    started = time.perf_counter()
    for _ in range(rounds):
        for call in calls:
            call()
    return rounds * len(calls) / (time.perf_counter() - started)


def _through_faults(sandbox_url: str) -> None:
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
            f"{sandbox_url}/_sandbox/faults",
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
