"""Tunnel status refresh benchmark, on the local sandbox: two scenarios.

`vpn.services.status.status_refresh` asks AWS once per (account, region) pair for every
VPN connection the portal tagged, all pairs at once (a pool of threads), and writes only
what changed. This prints, per refresh, the AWS calls it made (the sandbox's
`DescribeVpnConnections` count before and after: it must equal the number of pairs) and
the size of the answers, the SQL queries it ran (`CaptureQueriesContext`, by statement
kind), its wall time beside the describe calls (each timed on its own, from botocore's
`before-call` to its `after-call`: the slowest, and all together) and the process's CPU
time (`time.process_time`, every thread included).

`python bench/bench_status.py`: 1,000 live requests in 3 regions of the default account,
the sandbox in the same process (so its serving time is read from its log, and the CPU
time includes it):

(a) the first refresh: every tunnel UNKNOWN -> UP (2,000 tunnel changes, 1,000 requests
    moved from awaiting customer to live);
(b) the steady state, nothing changed: the refresh the scheduler runs every minute,
    repeated (median and p95: the headline figure);
(c) 5 % of the requests lose one tunnel: 50 changes, 50 moves to degraded, and the alerts
    (hold-off 0 s, so they go out in the same refresh) to the locmem outbox, and the
    diagnosis of the 50 down tunnels (their log events: the calls for tunnel details);

Between (a) and (b) the refreshes catch up on what the 2,000 new tunnels negotiated
(`GetActiveVpnTunnelStatus`, one call per tunnel once it is up; a refresh makes at most
20 per region, so the benchmark lifts that cap to get there in one go): reported on its
own, as the steady state makes no such call. Then the process's peak RSS (the sandbox
included). The set-up bypasses provisioning: customers and requests are bulk-created in
the database; one customer gateway (its own address, ASN 65000) and one VPN connection
(tagged as the portal tags them) per request are created with boto3 (state delay 0); one
VPN gateway per region serves all of that region's connections (the sandbox has no
per-gateway quota, unlike AWS); the tunnels are read back with one
`DescribeVpnConnections` per region and bulk-created, then all set UP through the
sandbox's control API. About a minute.

`python bench/bench_status.py --pairs`: 10,000 requests awaiting their customer in 4
accounts (the default one and three reached by AssumeRole) x 5 regions = 20 pairs of
500 connections, the sandbox in a process of its own (`python -m sandbox`), so that the
CPU time is the portal's own. (a) the first refresh (20,000 tunnels UNKNOWN -> DOWN), then
(b) the steady state: calls per refresh (= 20), wall time (median, p95), the slowest
describe call of the same refresh and the ratio wall / slowest, and the portal's CPU
time. The tunnels stay DOWN and their details are not read (the caps are set to 0): the
default scenario measures those. The connections are created by 4 worker processes
(`--create-worker`: boto3's own work per call outweighs the sandbox's), one VPN gateway
and one customer gateway per pair, and recorded in bulk from the creation answers.
Several minutes: the sandbox serves one call at a time, and moto takes seconds to
serialise 500 connections.

`python bench/bench_status.py --answer-time`: the same 20 pairs with 10 connections
each, every AWS answer leaving the sandbox 2 s after it was served (the sandbox's
answer-time control: AWS's own time to answer, during which it serves other calls), read
with a pool of 1 thread, of 8, and of one thread per pair (the default, 20): wall time
against the slowest single describe. About three minutes.

All: SQLite by default; set `DATABASE_URL` for PostgreSQL.
"""

import contextlib
import http.client
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness import ROOT, django_test_database, sandbox_process, summary

# A Redis database of the benchmark's own (see portal/settings_test.py); nothing here
# queues jobs, but a stray enqueue must never reach the portal's queue.
os.environ.setdefault("TEST_REDIS_DB", "10")

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
REQUESTS = 1_000
STEADY_REPEAT = 5
DOWN_SHARE = 20  # every 20th request (5 %) loses its first tunnel in scenario (c)
CUSTOMER_ASN = 65000
AMAZON_ASN = 64512


def customer_gateway_ip(index: int) -> str:
    """A unique customer gateway address for request number `index`.

    The sandbox accepts any well-formed IPv4 address for a customer gateway (it checks
    the format only, and returns the existing gateway for a repeated address and ASN).
    The documentation ranges hold too few addresses for 1,000 gateways, and the sandbox
    hands out tunnel outside IPs from 203.0.113.0/24, 198.51.100.0/24 and then the
    bottom of 198.18.0.0/15; the top half of that benchmarking range (198.19.0.0/16)
    stays clear of them.
    """
    return f"198.19.{index // 250}.{index % 250 + 1}"


class Control:
    """The sandbox's control API over one keep-alive HTTP connection."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def call(self, method: str, path: str, payload: dict | None = None) -> dict:
        """One JSON request; raises on an HTTP error."""
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The sandbox closes a keep-alive connection left idle for longer than its
            # timeout (a long refresh between two control calls): open it again.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        data = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data!r}")
        return json.loads(data)

    def describe_calls(self) -> int:
        """How many `DescribeVpnConnections` calls the sandbox has served so far."""
        return self.call("GET", "/_sandbox/stats")["calls"].get("DescribeVpnConnections", 0)

    def tunnel_status(
        self,
        connection_id: str,
        outside_ip: str,
        status: str,
        message: str | None = None,
        routes: int | None = None,
    ) -> None:
        """Set one tunnel's telemetry."""
        payload = {"vpn_connection_id": connection_id, "outside_ip": outside_ip, "status": status}
        if message is not None:
            payload["message"] = message
        if routes is not None:
            payload["accepted_route_count"] = routes
        self.call("POST", "/_sandbox/tunnel-status", payload)

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def seed_database() -> list:
    """Bulk-create one engineer, 1,000 customers and their requests (awaiting customer)."""
    from django.contrib.auth import get_user_model

    from vpn.choices import Routing, Stage
    from vpn.models import Customer, VpnRequest

    owner = get_user_model().objects.create_user(
        "bench-engineer", email="engineer@example.com", first_name="Bench", is_staff=True
    )
    customers = Customer.objects.bulk_create(
        (
            Customer(
                name=f"Customer {i}",
                org_id=f"bench-org-{i:05d}",
                contact_name="Network Team",
                contact_email=f"netops{i}@example.com",
            )
            for i in range(REQUESTS)
        ),
        batch_size=500,
    )
    return VpnRequest.objects.bulk_create(
        (
            VpnRequest(
                customer=customer,
                owner=owner,
                stage=Stage.AWAITING_CUSTOMER,
                region=REGIONS[i % len(REGIONS)],
                location_city="Lyon",
                location_country="France",
                customer_gateway_ip=customer_gateway_ip(i),
                routing=Routing.BGP,
                bgp_asn=CUSTOMER_ASN,
                advertised_prefixes=[f"10.{i // 250}.{i % 250}.0/24"],
                tunnel_count=2,
                amazon_side_asn=AMAZON_ASN,
            )
            for i, customer in enumerate(customers)
        ),
        batch_size=500,
    )


def create_connections(requests: list) -> dict[int, str]:
    """Create each request's customer gateway and tagged VPN connection in the sandbox.

    Records both as `AwsResource` rows (in bulk); returns request id -> connection id.
    """
    from vpn import aws
    from vpn.choices import AwsResourceRole
    from vpn.models import AwsResource

    gateways = {
        region: aws.ec2(region).create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=AMAZON_ASN)[
            "VpnGateway"
        ]["VpnGatewayId"]
        for region in REGIONS
    }
    resources, connections = [], {}
    for request in requests:
        client = aws.ec2(request.region)
        role = AwsResourceRole.CUSTOMER_GATEWAY
        customer_gateway = client.create_customer_gateway(
            Type="ipsec.1",
            PublicIp=request.customer_gateway_ip,
            BgpAsn=CUSTOMER_ASN,
            TagSpecifications=[
                {"ResourceType": "customer-gateway", "Tags": aws.tags(request.pk, role)}
            ],
        )["CustomerGateway"]["CustomerGatewayId"]
        role = AwsResourceRole.VPN_CONNECTION
        connection = client.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=customer_gateway,
            VpnGatewayId=gateways[request.region],
            Options={"StaticRoutesOnly": False},
            TagSpecifications=[
                {"ResourceType": "vpn-connection", "Tags": aws.tags(request.pk, role)}
            ],
        )["VpnConnection"]["VpnConnectionId"]
        connections[request.pk] = connection
        resources += [
            AwsResource(
                request=request,
                role=AwsResourceRole.CUSTOMER_GATEWAY,
                resource_id=customer_gateway,
                region=request.region,
                state="available",
            ),
            AwsResource(
                request=request,
                role=AwsResourceRole.VPN_CONNECTION,
                resource_id=connection,
                region=request.region,
                state="available",
            ),
        ]
    AwsResource.objects.bulk_create(resources, batch_size=500)
    return connections


def record_tunnels(connections: dict[int, str]) -> list[tuple[str, str]]:
    """Bulk-create the tunnels from one describe per region, as provisioning records them.

    Returns (connection id, outside IP) of every tunnel, in request and position order.
    """
    from vpn import aws
    from vpn.models import Tunnel

    by_connection = {}
    for region in REGIONS:
        for info in aws.vpn_connections_describe(region):
            by_connection[info.id] = info
    tunnels, addresses = [], []
    for request_id, connection_id in connections.items():
        for position, info in enumerate(by_connection[connection_id].tunnels, start=1):
            tunnels.append(
                Tunnel(
                    request_id=request_id,
                    position=position,
                    outside_ip=info.outside_ip,
                    inside_cidr=info.inside_cidr,
                    psk=info.psk,
                )
            )
            addresses.append((connection_id, info.outside_ip))
    Tunnel.objects.bulk_create(tunnels, batch_size=500)
    return addresses


class AwsMeter(logging.Handler):
    """What the refresh's `DescribeVpnConnections` calls cost, as the portal sees them.

    The refresh makes them from several threads at once, so each call is timed on its
    own (botocore's per-call `context` carries its start) and kept in a list:

    * `calls`: (seconds, answer bytes) of each call, from botocore's `before-call` to
      its `after-call` event (the request, AWS serving it, botocore parsing the answer);
    * `served_ms`: the in-process sandbox's own serving time, from its log records
      ("action region status elapsed ms"); taking them here, unpropagated, keeps them off
      the console.
    """

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[float, int]] = []  # list.append is atomic across threads
        self.served_ms = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        """Add up the serving time of each `DescribeVpnConnections` the sandbox logs."""
        if record.args and record.args[0] == "DescribeVpnConnections":
            self.served_ms += record.args[3]

    def calling(self, context, **kwargs) -> None:
        """botocore hook: a call starts."""
        context["bench_started"] = time.perf_counter()

    def received(self, http_response, context, **kwargs) -> None:
        """botocore hook: a call's answer is parsed; keep its time and size."""
        self.calls.append(
            (time.perf_counter() - context["bench_started"], len(http_response.content))
        )

    def install(self, regions, accounts=(None,), *, sandbox_log: bool = True) -> None:
        """Listen to the portal's EC2 client of each account and region (and to the
        sandbox's log, when it runs in this process)."""
        from vpn import aws

        if sandbox_log:
            log = logging.getLogger("sandbox")
            log.addHandler(self)
            log.setLevel(logging.INFO)
            log.propagate = False
        for account in accounts:
            with aws.acting_for(account):
                for region in regions:
                    events = aws.ec2(region).meta.events
                    events.register("before-call.ec2.DescribeVpnConnections", self.calling)
                    events.register("after-call.ec2.DescribeVpnConnections", self.received)

    def snapshot(self) -> tuple[int, float]:
        """Where the running records stand."""
        return len(self.calls), self.served_ms


def refresh(
    control: Control, meter: AwsMeter, label: str, *, quiet: bool = False, pairs: int = len(REGIONS)
) -> dict:
    """Run one status refresh, measured; print a few lines about it unless `quiet`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from vpn.services.status import status_refresh

    # Django keeps the last 9,000 queries only, and CaptureQueriesContext counts by
    # index into that log: once it is full, every capture comes out empty. Unbounded
    # and emptied for each refresh, it counts them all.
    connection.queries_log = deque()
    calls_before = control.describe_calls()
    timed_before, served_before = meter.snapshot()
    with CaptureQueriesContext(connection) as queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = status_refresh(trigger="command")
        elapsed_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu_started) * 1000
    timed = meter.calls[timed_before:]
    kinds = Counter(query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries)
    figures = {
        "calls": control.describe_calls() - calls_before,
        "queries": len(queries.captured_queries),
        "kinds": kinds,
        "ms": elapsed_ms,
        "cpu_ms": cpu_ms,
        "aws_ms": sum(seconds for seconds, _ in timed) * 1000,
        "slowest_ms": max((seconds for seconds, _ in timed), default=0.0) * 1000,
        "served_ms": meter.served_ms - served_before,
        "bytes": sum(size for _, size in timed),
        "run": run,
        "pairs": pairs,
    }
    if not quiet:
        print(f"{label}:")
        for line in describe(figures):
            print(f"  {line}")
        print(f"  {outcome(run)}")
    return figures


def describe(figures: dict) -> list[str]:
    """AWS calls, SQL queries by kind and wall time of one measured refresh, as lines."""
    return [
        f"AWS: {figures['calls']} DescribeVpnConnections call(s) for {figures['pairs']} "
        "(account, region) pairs, "
        f"{figures['bytes'] / 1e6:.1f} MB of answers",
        f"SQL: {figures['queries']} queries ({kinds_text(figures['kinds'])})",
        f"wall time {figures['ms']:.0f} ms; the describe calls, made at once: "
        f"{figures['aws_ms']:.0f} ms together, the slowest {figures['slowest_ms']:.0f} ms "
        + (
            f"(the sandbox serving them: {figures['served_ms']:.0f} ms)"
            * bool(figures["served_ms"])
        )
        + f"; CPU time of the process {figures['cpu_ms']:.0f} ms",
        f"tunnel details: {figures['run'].detail_calls} call(s) (what up tunnels negotiated, "
        "the log events of tunnels in trouble)",
    ]


def kinds_text(kinds: Counter) -> str:
    """Statement counts by kind ("5 SELECT, 4 BEGIN..."), as text."""
    return ", ".join(f"{count} {kind}" for kind, count in kinds.most_common()) or "none"


def outcome(run) -> str:
    """What the refresh recorded about itself, as text."""
    return (
        f"recorded: {run.requests_seen} requests seen, {run.tunnels_changed} tunnel "
        f"changes, {run.requests_moved} stage moves, {run.alerts_sent} alert email(s), "
        f"errors: {run.errors or 'none'}"
    )


def peak_rss_mb() -> float:
    """The process's peak resident set size in MB (Linux gives KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    """Set up 1,000 requests awaiting their customer, then measure the three scenarios."""
    from sandbox.server import SandboxServer

    # One summary line per refresh at INFO; the figures below say the same.
    logging.getLogger("vpn.services.status").setLevel(logging.WARNING)

    sandbox = SandboxServer(port=0, state_delay=0.0)
    sandbox.start()
    control = Control(sandbox.url)
    try:
        with django_test_database():
            from django.conf import settings
            from django.core import mail
            from django.db import connection

            from vpn.choices import Stage
            from vpn.models import VpnRequest

            settings.AWS_ENDPOINT_URL = sandbox.url
            settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
            settings.TUNNEL_ALERT_HOLD_OFF_SECONDS = 0
            settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
            mail.outbox = []
            meter = AwsMeter()
            meter.install(REGIONS)

            print(
                f"Database: {connection.vendor}; sandbox in process, state delay 0 s; "
                f"{REQUESTS} requests with 2 tunnels each across {', '.join(REGIONS)}"
            )
            print()
            print("Set-up (not part of the figures):")
            started = time.perf_counter()
            requests = seed_database()
            seeded = time.perf_counter()
            connections = create_connections(requests)
            created = time.perf_counter()
            addresses = record_tunnels(connections)
            recorded = time.perf_counter()
            for connection_id, outside_ip in addresses:
                # A live BGP tunnel carries the customer's routes (one without any is
                # diagnosed as a problem).
                control.tunnel_status(connection_id, outside_ip, "UP", routes=1)
            up = time.perf_counter()
            print(f"  customers and requests, bulk-created: {seeded - started:.1f} s")
            print(
                f"  {len(connections)} customer gateways + {len(connections)} VPN connections "
                f"through boto3 (1 VPN gateway per region): {created - seeded:.1f} s"
            )
            print(
                f"  {len(addresses)} tunnels read back (1 describe per region) and "
                f"bulk-created: {recorded - created:.1f} s"
            )
            print(
                f"  {len(addresses)} tunnels set UP through the control API: {up - recorded:.1f} s"
            )
            print()

            first = refresh(control, meter, "(a) first refresh: every tunnel UNKNOWN -> UP")
            live = VpnRequest.objects.filter(stage=Stage.LIVE).count()
            print(f"  requests now live: {live} of {REQUESTS}")
            print()

            from vpn.services import diagnosis

            capped = diagnosis.NEGOTIATED_READS_PER_REGION
            diagnosis.NEGOTIATED_READS_PER_REGION = 2 * REQUESTS
            catching_up = []
            while not catching_up or catching_up[-1]["run"].detail_calls:
                catching_up.append(refresh(control, meter, "", quiet=True))
            diagnosis.NEGOTIATED_READS_PER_REGION = capped
            print(
                f"(a') catching up on what the tunnels negotiated (no cap): "
                f"{len(catching_up)} refreshes, "
                f"{sum(f['run'].detail_calls for f in catching_up)} calls for tunnel details, "
                f"wall time {summary([f['ms'] for f in catching_up])}"
            )
            print()

            steady = [refresh(control, meter, "", quiet=True) for _ in range(STEADY_REPEAT)]
            print(f"(b) steady state, nothing changed ({STEADY_REPEAT} refreshes):")
            print(
                f"  AWS: DescribeVpnConnections calls per refresh: "
                f"{'/'.join(str(n) for n in sorted({f['calls'] for f in steady}))}, "
                f"{statistics.median(f['bytes'] for f in steady) / 1e6:.1f} MB of answers"
            )
            print(
                f"  SQL: queries per refresh: "
                f"{'/'.join(str(n) for n in sorted({f['queries'] for f in steady}))} "
                f"({kinds_text(steady[-1]['kinds'])})"
            )
            print(
                f"  calls for tunnel details per refresh: "
                f"{'/'.join(str(n) for n in sorted({f['run'].detail_calls for f in steady}))}"
            )
            print(f"  wall time: {summary([f['ms'] for f in steady])}")
            print(f"    the slowest describe call: {summary([f['slowest_ms'] for f in steady])}")
            print(f"    the describe calls together: {summary([f['aws_ms'] for f in steady])}")
            print(f"      the sandbox serving them: {summary([f['served_ms'] for f in steady])}")
            print(f"    CPU time (sandbox included): {summary([f['cpu_ms'] for f in steady])}")
            changed = sum(f["run"].tunnels_changed for f in steady)
            print(f"  tunnel changes recorded over the {STEADY_REPEAT} refreshes: {changed}")
            print()

            losing = list(connections.values())[::DOWN_SHARE]
            first_tunnel = dict(addresses[::2])  # connection id -> its tunnel 1 address
            for connection_id in losing:
                control.tunnel_status(
                    connection_id, first_tunnel[connection_id], "DOWN", "IKE negotiation failed"
                )
            outbox_before = len(mail.outbox)
            outage = refresh(
                control,
                meter,
                f"(c) {len(losing)} requests ({100 // DOWN_SHARE} %) lose tunnel 1",
            )
            emails = len(mail.outbox) - outbox_before
            degraded = VpnRequest.objects.filter(stage=Stage.DEGRADED).count()
            print(
                f"  emails in the outbox: {emails} (the engineer and the customer's contact, "
                f"per tunnel); requests now degraded: {degraded}"
            )
            print()
            for label, figures in (("(a)", first), ("(c)", outage)):
                changes = max(figures["run"].tunnels_changed, 1)
                print(
                    f"{label} per tunnel change: {figures['queries'] / changes:.1f} SQL queries, "
                    f"{figures['ms'] / changes:.2f} ms of wall time"
                )
            print(f"Peak RSS of the process (the sandbox included): {peak_rss_mb():.0f} MB")
    finally:
        control.close()
        sandbox.stop()


# The --pairs scenario ------------------------------------------------------------------

PAIR_ACCOUNTS = ("111111111111", "222222222222", "333333333333")  # and the default one
PAIR_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
PAIR_CONNECTIONS = int(os.environ.get("BENCH_PAIR_CONNECTIONS", 10_000))
PAIR_STEADY_REPEAT = 3
CREATE_WORKERS = 4


def pairs_main(measure=None) -> None:
    """10,000 connections in 4 accounts x 5 regions, the sandbox in a process of its own
    (or `measure` run against that sandbox instead)."""
    logging.getLogger("vpn.services.status").setLevel(logging.WARNING)
    with sandbox_process() as url:
        control = Control(url)
        with django_test_database():
            (measure or pairs_measure)(url, control)
        control.close()


def pairs_measure(url: str, control: Control) -> None:
    """Set the pairs up, then measure the first refresh and the steady state."""
    from django.conf import settings
    from django.db import connection

    from vpn.models import AwsAccount
    from vpn.services import diagnosis

    settings.AWS_ENDPOINT_URL = url
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
    # Tunnel details are measured by the default scenario; here every tunnel stays DOWN
    # (waiting for its customer), and diagnosing 20,000 of them would be its own study.
    diagnosis.DIAGNOSED_CONNECTIONS_PER_REGION = 0
    diagnosis.NEGOTIATED_READS_PER_REGION = 0
    # The sandbox serves one call at a time and takes seconds per pair: with the default
    # timeout, the pairs queued behind the others would be given up.
    settings.STATUS_REFRESH_TIMEOUT_SECONDS = 600
    # Nor may botocore give a queued call up and send it again: the calls per refresh
    # would exceed the pairs for a reason of the sandbox's, not the portal's.
    settings.AWS_READ_TIMEOUT_SECONDS = 600
    accounts = [None] + [
        AwsAccount.objects.create(
            name=f"bench-{account_id}",
            account_id=account_id,
            role_arn=f"arn:aws:iam::{account_id}:role/vpn-portal",
            external_id=f"bench-{account_id}",
            regions=list(PAIR_REGIONS),
        )
        for account_id in PAIR_ACCOUNTS
    ]
    pairs = [(account, region) for account in accounts for region in PAIR_REGIONS]
    concurrency = settings.STATUS_REFRESH_CONCURRENCY
    print(
        f"Database: {connection.vendor}; sandbox in a process of its own, state delay 0 s; "
        f"{PAIR_CONNECTIONS} requests (2 tunnels each) in {len(accounts)} accounts x "
        f"{len(PAIR_REGIONS)} regions = {len(pairs)} pairs; STATUS_REFRESH_CONCURRENCY "
        f"{concurrency}"
    )
    print()
    print("Set-up (not part of the figures):")
    started = time.perf_counter()
    requests = pairs_seed(pairs)
    seeded = time.perf_counter()
    created = pairs_create(url, pairs, requests)
    done = time.perf_counter()
    print(f"  customers and requests, bulk-created: {seeded - started:.1f} s")
    print(
        f"  {created} VPN connections through boto3 ({CREATE_WORKERS} processes; one VPN "
        f"gateway and one customer gateway per pair), tunnels bulk-created: {done - seeded:.1f} s"
    )
    print()
    meter = AwsMeter()
    meter.install(PAIR_REGIONS, accounts, sandbox_log=False)
    first = refresh(
        control, meter, "(a) first refresh: every tunnel UNKNOWN -> DOWN", pairs=len(pairs)
    )
    print()
    steady = [
        refresh(control, meter, "", quiet=True, pairs=len(pairs)) for _ in range(PAIR_STEADY_REPEAT)
    ]
    print(f"(b) steady state, nothing changed ({PAIR_STEADY_REPEAT} refreshes):")
    print(
        f"  AWS: DescribeVpnConnections calls per refresh: "
        f"{'/'.join(str(n) for n in sorted({f['calls'] for f in steady}))} "
        f"(pairs: {len(pairs)}), {statistics.median(f['bytes'] for f in steady) / 1e6:.1f} MB "
        "of answers"
    )
    print(f"  wall time: {summary([f['ms'] for f in steady])}")
    print(
        f"  the slowest describe call (waiting in the sandbox's queue included): "
        f"{summary([f['slowest_ms'] for f in steady])}"
    )
    print(f"  the describe calls together: {summary([f['aws_ms'] for f in steady])}")
    alone = pairs_read_alone(pairs)
    slowest_alone = max(alone)
    print(
        f"  each pair's describe alone, one after another (the same call, parsed the same "
        f"way): the slowest {slowest_alone:.0f} ms, median {statistics.median(alone):.0f} ms, "
        f"all {sum(alone):.0f} ms"
    )
    print(
        "  wall / the slowest describe alone: "
        + ", ".join(f"{f['ms'] / slowest_alone:.1f}" for f in steady)
        + "; wall / all the describes alone (a refresh reading one pair after another "
        "would be >= 1): " + ", ".join(f"{f['ms'] / sum(alone):.2f}" for f in steady)
    )
    print(
        "  the portal's CPU time (the sandbox not included): "
        + summary([f["cpu_ms"] for f in steady])
    )
    print(
        f"  SQL: queries per refresh: "
        f"{'/'.join(str(n) for n in sorted({f['queries'] for f in steady}))}; errors: "
        f"{[f['run'].errors for f in steady if f['run'].errors] or 'none'}"
    )
    print(f"(a) the first refresh's CPU time: {first['cpu_ms']:.0f} ms")
    print(f"Peak RSS of the portal's process: {peak_rss_mb():.0f} MB")


def pairs_read_alone(pairs: list) -> list[float]:
    """Each pair's `DescribeVpnConnections` through the portal's own function, one at a
    time (nothing else in flight); milliseconds each."""
    from vpn import aws

    durations = []
    for account, region in pairs:
        with aws.acting_for(account):
            started = time.perf_counter()
            aws.vpn_connections_describe(region)
            durations.append((time.perf_counter() - started) * 1000)
    return durations


def pairs_seed(pairs: list, count: int = PAIR_CONNECTIONS) -> list:
    """Bulk-create one engineer, the customers and their requests, spread over the pairs."""
    from django.contrib.auth import get_user_model

    from vpn.choices import Routing, Stage
    from vpn.models import Customer, VpnRequest

    owner = get_user_model().objects.create_user(
        "bench-engineer", email="engineer@example.com", first_name="Bench", is_staff=True
    )
    customers = Customer.objects.bulk_create(
        (
            Customer(
                name=f"Customer {i}",
                org_id=f"bench-org-{i:05d}",
                contact_name="Network Team",
                contact_email=f"netops{i}@example.com",
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
    return VpnRequest.objects.bulk_create(
        (
            VpnRequest(
                customer=customer,
                owner=owner,
                account=pairs[i % len(pairs)][0],
                stage=Stage.AWAITING_CUSTOMER,
                region=pairs[i % len(pairs)][1],
                location_city="Lyon",
                location_country="France",
                customer_gateway_ip=customer_gateway_ip(i),
                routing=Routing.BGP,
                bgp_asn=CUSTOMER_ASN,
                advertised_prefixes=[f"10.{i // 250}.{i % 250}.0/24"],
                tunnel_count=2,
                amazon_side_asn=AMAZON_ASN,
            )
            for i, customer in enumerate(customers)
        ),
        batch_size=1000,
    )


def pairs_create(url: str, pairs: list, requests: list) -> int:
    """Create every request's VPN connection in its pair, from `CREATE_WORKERS` processes
    (boto3's own work per call outweighs the sandbox's: one process would take minutes),
    and record the connections and tunnels in bulk. Returns how many were created."""
    from vpn.choices import AwsResourceRole
    from vpn.models import AwsResource, Tunnel

    jobs: list[list[dict]] = [[] for _ in range(CREATE_WORKERS)]
    for index, (account, region) in enumerate(pairs):
        jobs[index % CREATE_WORKERS].append(
            {
                "account": None
                if account is None
                else [account.account_id, account.role_arn, account.external_id],
                "region": region,
                "customer_gateway_ip": f"198.19.250.{index + 1}",
                "requests": [r.pk for r in requests if (r.account, r.region) == (account, region)],
            }
        )
    with contextlib.ExitStack() as stack:
        # Each worker writes to a file of its own: pipes read one after the other would
        # stall the others once full.
        outputs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in jobs]
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--create-worker", url],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=output,
                text=True,
            )
            for output in outputs
        ]
        for worker, job in zip(workers, jobs, strict=True):
            worker.stdin.write(json.dumps(job))
            worker.stdin.close()
        if any([worker.wait() for worker in workers]):
            raise RuntimeError("a worker creating VPN connections failed")
        made = []
        for output in outputs:
            output.seek(0)
            made += [json.loads(line) for line in output]
    resources, tunnels = [], []
    by_id = {request.pk: request for request in requests}
    for item in made:
        request = by_id[item["request"]]
        resources.append(
            AwsResource(
                request=request,
                role=AwsResourceRole.VPN_CONNECTION,
                resource_id=item["connection"],
                region=request.region,
                state="available",
            )
        )
        tunnels += [
            Tunnel(
                request=request,
                position=position,
                outside_ip=outside_ip,
                inside_cidr=inside_cidr,
                psk=psk,
            )
            for position, (outside_ip, inside_cidr, psk) in enumerate(item["tunnels"], 1)
        ]
    AwsResource.objects.bulk_create(resources, batch_size=1000)
    Tunnel.objects.bulk_create(tunnels, batch_size=1000)
    return len(resources)


# The --answer-time scenario -------------------------------------------------------------

ANSWER_TIME_SECONDS = 2.0
ANSWER_TIME_CONNECTIONS = 200  # 10 per pair: the answers are quick to serve and to parse
ANSWER_TIME_CONCURRENCIES = (1, 8, 20)


def answer_time_measure(url: str, control: Control) -> None:
    """The 20 pairs again, each call answered `ANSWER_TIME_SECONDS` after the sandbox
    served it (AWS's own time to answer, during which other calls are served), with the
    pool of 1 thread (one pair after another), of 8, and of one per pair (the default)."""
    from django.conf import settings

    from vpn.models import AwsAccount
    from vpn.services import diagnosis

    settings.AWS_ENDPOINT_URL = url
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
    diagnosis.DIAGNOSED_CONNECTIONS_PER_REGION = 0
    diagnosis.NEGOTIATED_READS_PER_REGION = 0
    settings.STATUS_REFRESH_TIMEOUT_SECONDS = 600
    accounts = [None] + [
        AwsAccount.objects.create(
            name=f"bench-{account_id}",
            account_id=account_id,
            role_arn=f"arn:aws:iam::{account_id}:role/vpn-portal",
            external_id=f"bench-{account_id}",
            regions=list(PAIR_REGIONS),
        )
        for account_id in PAIR_ACCOUNTS
    ]
    pairs = [(account, region) for account in accounts for region in PAIR_REGIONS]
    pairs_create(url, pairs, pairs_seed(pairs, ANSWER_TIME_CONNECTIONS))
    meter = AwsMeter()
    meter.install(PAIR_REGIONS, accounts, sandbox_log=False)
    refresh(control, meter, "", quiet=True, pairs=len(pairs))  # UNKNOWN -> DOWN, untimed
    control.call("POST", "/_sandbox/answer-time", {"seconds": ANSWER_TIME_SECONDS})
    alone = pairs_read_alone(pairs)
    print(
        f"{ANSWER_TIME_CONNECTIONS} requests in {len(pairs)} pairs; every AWS answer leaves "
        f"the sandbox {ANSWER_TIME_SECONDS:.0f} s after it was served, as AWS's own time to "
        f"answer; each pair's describe alone: the slowest {max(alone):.0f} ms, all "
        f"{sum(alone):.0f} ms"
    )
    for concurrency in ANSWER_TIME_CONCURRENCIES:
        settings.STATUS_REFRESH_CONCURRENCY = concurrency
        steady = [refresh(control, meter, "", quiet=True, pairs=len(pairs)) for _ in range(3)]
        print(
            f"  STATUS_REFRESH_CONCURRENCY {concurrency:>2}: "
            f"{'/'.join(str(n) for n in sorted({f['calls'] for f in steady}))} calls; wall "
            f"{summary([f['ms'] for f in steady])}; wall / the slowest describe alone: "
            + ", ".join(f"{f['ms'] / max(alone):.2f}" for f in steady)
            + f"; the portal's CPU {summary([f['cpu_ms'] for f in steady])}"
        )
    control.call("POST", "/_sandbox/answer-time", {"seconds": 0})


@dataclass(frozen=True)
class _Account:
    account_id: str
    role_arn: str
    external_id: str


def create_worker(url: str) -> None:
    """In a process of its own: create the VPN connections of the pairs read from stdin,
    one JSON line per connection on stdout (request id, connection id, its tunnels)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")
    import django

    django.setup()
    from django.conf import settings

    from vpn import aws
    from vpn.choices import AwsResourceRole

    settings.AWS_ENDPOINT_URL = url
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "bench"
    for pair in json.load(sys.stdin):
        account = _Account(*pair["account"]) if pair["account"] else None
        with aws.acting_for(account):
            client = aws.ec2(pair["region"])
            gateway = client.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=AMAZON_ASN)
            customer_gateway = client.create_customer_gateway(
                Type="ipsec.1", PublicIp=pair["customer_gateway_ip"], BgpAsn=CUSTOMER_ASN
            )
            for request_id in pair["requests"]:
                role = AwsResourceRole.VPN_CONNECTION
                raw = client.create_vpn_connection(
                    Type="ipsec.1",
                    CustomerGatewayId=customer_gateway["CustomerGateway"]["CustomerGatewayId"],
                    VpnGatewayId=gateway["VpnGateway"]["VpnGatewayId"],
                    Options={"StaticRoutesOnly": False},
                    TagSpecifications=[
                        {"ResourceType": "vpn-connection", "Tags": aws.tags(request_id, role)}
                    ],
                )["VpnConnection"]
                tunnels = [
                    [t["OutsideIpAddress"], t["TunnelInsideCidr"], t["PreSharedKey"]]
                    for t in raw["Options"]["TunnelOptions"]
                ]
                line = {"request": request_id, "connection": raw["VpnConnectionId"]}
                print(json.dumps({**line, "tunnels": tunnels}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--create-worker"]:
        create_worker(sys.argv[2])
    elif sys.argv[1:] == ["--pairs"]:
        pairs_main()
    elif sys.argv[1:] == ["--answer-time"]:
        pairs_main(answer_time_measure)
    else:
        main()
