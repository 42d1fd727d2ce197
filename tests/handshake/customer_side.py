"""The customer's end: the config pack as shipped, and what its network team adds.

`swanctl.conf` is taken from the stored zip of the latest pack version, the file a
customer downloads, and is loaded unchanged. The pack carries no BIRD configuration
(it shows BGP as FRRouting lines), so the customer's BIRD is written here from the
pack's own `parameters.json`: its ASNs, neighbour addresses, hold time and prefixes.
"""

import json
from dataclasses import dataclass

from tests.config_pack_support import zip_files
from vpn.services.packs import config_pack_latest


@dataclass(frozen=True)
class CustomerPack:
    """The files of the shipped pack the customer's side is built from."""

    reference: str
    version: int
    swanctl_conf: bytes
    parameters: dict

    @property
    def tunnels(self) -> list[dict]:
        """The tunnels the pack configures (tunnel 2 is absent from a one-tunnel pack)."""
        return [tunnel for tunnel in self.parameters["tunnels"] if tunnel["used"]]

    def connection_name(self, position: int) -> str:
        """The name the pack gives tunnel `position` in swanctl.conf."""
        return f"{self.reference.lower()}-t{position}"


def customer_pack(*, request_id: int) -> CustomerPack:
    """The latest stored pack version of the request, as its zip holds it."""
    pack = config_pack_latest(request_id=request_id)
    if pack is None:
        raise AssertionError(f"Request {request_id} has no config pack.")
    with pack.zip.open("rb") as stored:
        files = zip_files(stored.read())
    document = json.loads(files["parameters.json"])
    return CustomerPack(
        reference=document["parameters"]["reference"],
        version=document["pack"]["version"],
        swanctl_conf=files["swanctl.conf"],
        parameters=document["parameters"],
    )


def customer_bird_conf(pack: CustomerPack) -> str:
    """BIRD 2 for the customer's router: one session per tunnel, advertising the
    pack's prefixes (originated by a static protocol, as a router would)."""
    routing = pack.parameters["routing"]
    hold_time = routing["hold_time_seconds"]
    routes = "\n".join(
        f"    route {prefix} blackhole;" for prefix in routing["advertised_prefixes"]
    )
    sessions = "\n".join(
        f"""protocol bgp t{tunnel["position"]} {{
    local {tunnel["customer_inside_ip"]} as {routing["customer_asn"]};
    neighbor {tunnel["aws_inside_ip"]} as {routing["amazon_asn"]};
    hold time {hold_time};
    keepalive time {hold_time // 3};
    connect retry time 2;
    ipv4 {{
        import all;
        export where proto = "advertised";
    }};
}}"""
        for tunnel in pack.tunnels
    )
    return (
        f"router id {pack.tunnels[0]['customer_inside_ip']};\n"
        "protocol device {\n    scan time 1;\n}\n"
        f"protocol static advertised {{\n    ipv4;\n{routes}\n}}\n" + sessions + "\n"
    )
