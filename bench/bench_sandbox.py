"""Benchmark of the local AWS sandbox's VPN calls: ``python bench/bench_sandbox.py``.

Starts a sandbox in-process (no state delay), drives it with boto3 over HTTP, and prints:

* how many ``CreateVpnConnection`` + ``DescribeVpnConnections`` (by id) pairs it serves
  per second;
* how long ``DescribeVpnConnections`` takes with 10, 100 and 1,000 connections in the
  region: by id, by tag filter, and unfiltered (everything).

Connections are created through the API, ten per VPN gateway as AWS's quota allows.
The whole run takes a minute or two.
"""

import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3

# Run as a script from anywhere: make the project's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.server import SandboxServer

CONNECTIONS_PER_GATEWAY = 10
SIZES = (10, 100, 1000)
PAIRS = 200


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``call`` in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class Fleet:
    """Creates VPN connections through the API, adding VPN gateways as they fill up."""

    def __init__(self, ec2):
        self.ec2 = ec2
        self.customer_gateway = ec2.create_customer_gateway(
            Type="ipsec.1", PublicIp="192.0.2.10", BgpAsn=65010
        )["CustomerGateway"]["CustomerGatewayId"]
        self.gateway = None
        self.ids: list[str] = []

    def create(self) -> str:
        """Create one tagged, static-routing connection and return its id."""
        if len(self.ids) % CONNECTIONS_PER_GATEWAY == 0:
            self.gateway = self.ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
        number = len(self.ids)
        vpn_id = self.ec2.create_vpn_connection(
            Type="ipsec.1",
            CustomerGatewayId=self.customer_gateway,
            VpnGatewayId=self.gateway,
            Options={"StaticRoutesOnly": True},
            TagSpecifications=[
                {
                    "ResourceType": "vpn-connection",
                    "Tags": [{"Key": "site", "Value": f"site-{number}"}],
                }
            ],
        )["VpnConnection"]["VpnConnectionId"]
        self.ids.append(vpn_id)
        return vpn_id

    def grow_to(self, count: int) -> None:
        """Create connections until there are ``count`` of them."""
        while len(self.ids) < count:
            self.create()


def main() -> None:
    """Run the benchmark and print labelled figures."""
    server = SandboxServer(port=0, state_delay=0.0)
    url = server.start()
    ec2 = boto3.client(
        "ec2",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    print(f"Sandbox at {url}")
    started = time.perf_counter()
    ec2.describe_vpcs()
    print(f"First call (builds the region's backend): {(time.perf_counter() - started):.2f} s")
    fleet = Fleet(ec2)

    started = time.perf_counter()
    for _ in range(PAIRS):
        vpn_id = fleet.create()
        ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])
    elapsed = time.perf_counter() - started
    print(
        f"CreateVpnConnection + DescribeVpnConnections(by id): {PAIRS / elapsed:.0f} pairs/s "
        f"({elapsed / PAIRS * 1000:.1f} ms per pair, {PAIRS} pairs)"
    )

    print()
    print("DescribeVpnConnections, median time per call:")
    print(f"{'connections':>12} {'by id':>10} {'by tag':>10} {'all':>10}")
    for size in SIZES:
        # The pairs above already created connections; start each size from a clean slate
        # so that the counts are exact.
        if len(fleet.ids) > size:
            reset_sandbox(url)
            fleet = Fleet(ec2)
        fleet.grow_to(size)
        target = fleet.ids[size // 2]
        tag = f"site-{size // 2}"
        by_id = median_ms(
            lambda target=target: ec2.describe_vpn_connections(VpnConnectionIds=[target]), 20
        )
        by_tag = median_ms(
            lambda tag=tag: ec2.describe_vpn_connections(
                Filters=[{"Name": "tag:site", "Values": [tag]}]
            ),
            10,
        )
        everything = median_ms(ec2.describe_vpn_connections, 3 if size >= 1000 else 10)
        found = len(ec2.describe_vpn_connections()["VpnConnections"])
        assert found == size, (found, size)
        print(f"{size:>12} {by_id:>8.1f}ms {by_tag:>8.1f}ms {everything:>8.1f}ms")

    server.stop()


def reset_sandbox(url: str) -> None:
    """Empty the sandbox through its control API."""
    request = urllib.request.Request(url + "/_sandbox/reset", method="POST", data=b"")
    urllib.request.urlopen(request).read()


if __name__ == "__main__":
    main()
