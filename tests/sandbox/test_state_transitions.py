"""Resources move through AWS's states after the configured delay, and boto3's waiters work.

Most tests use the session sandbox (no delay: a resource settles at the next call). The
timed tests start a sandbox of their own with a delay, on a clock they move forward
themselves, to see the transitional states without waiting for them.
"""

import xml.etree.ElementTree as ET

import pytest

from sandbox.server import SandboxServer

FAST_WAIT = {"Delay": 0.1, "MaxAttempts": 50}


def make_nat_gateway(ec2):
    """Create a public NAT gateway (with its VPC, subnet and Elastic IP)."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24")["Subnet"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    return ec2.create_nat_gateway(SubnetId=subnet["SubnetId"], AllocationId=allocation)[
        "NatGateway"
    ]


def vpn_state(ec2, vpn_id):
    """The state of a VPN connection."""
    return ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]["State"]


def attachment_state(ec2, gateway_id):
    """The states of a VPN gateway's VPC attachments."""
    gateway = ec2.describe_vpn_gateways(VpnGatewayIds=[gateway_id])["VpnGateways"][0]
    return [attachment["State"] for attachment in gateway["VpcAttachments"]]


def test_create_responses_show_the_initial_state(ec2, make_vpn, describe_vpn):
    vpn = make_vpn()
    assert vpn["State"] == "pending"
    assert describe_vpn(vpn["VpnConnectionId"])["State"] == "available"
    nat = make_nat_gateway(ec2)
    assert nat["State"] == "pending"
    described = ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"]
    assert described[0]["State"] == "available"


def test_deleted_connections_stay_visible(ec2, make_vpn, describe_vpn):
    vpn_id = make_vpn()["VpnConnectionId"]
    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    deleted = describe_vpn(vpn_id)
    assert deleted["State"] == "deleted"
    # Like AWS, the configuration document is only given while pending or available.
    assert "CustomerGatewayConfiguration" not in deleted
    states = ec2.describe_vpn_connections(Filters=[{"Name": "state", "Values": ["deleted"]}])
    assert [v["VpnConnectionId"] for v in states["VpnConnections"]] == [vpn_id]


def test_waiters_with_no_delay(ec2, make_vpn):
    vpn_id = make_vpn()["VpnConnectionId"]
    ec2.get_waiter("vpn_connection_available").wait(
        VpnConnectionIds=[vpn_id], WaiterConfig=FAST_WAIT
    )
    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    ec2.get_waiter("vpn_connection_deleted").wait(VpnConnectionIds=[vpn_id], WaiterConfig=FAST_WAIT)
    nat = make_nat_gateway(ec2)
    ec2.get_waiter("nat_gateway_available").wait(
        NatGatewayIds=[nat["NatGatewayId"]], WaiterConfig=FAST_WAIT
    )


class ManualClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


@pytest.fixture
def clock():
    """The clock of the `slow_sandbox`."""
    return ManualClock()


@pytest.fixture
def slow_sandbox(ec2_client_for, clock):
    """A boto3 client for a second sandbox, whose resources take 0.4 s to settle and whose
    deleted VPN connections vanish 0.4 s later, as measured by `clock`.

    moto's backends are process-wide, so this sandbox starts as empty as the session one
    (which the autouse fixture has just reset).
    """
    server = SandboxServer(port=0, state_delay=0.4, deleted_retention=0.4, clock=clock)
    url = server.start()
    yield ec2_client_for(url)
    server.stop()


def test_timed_transitions_and_waiters(slow_sandbox, clock):
    ec2 = slow_sandbox
    customer = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="192.0.2.70", BgpAsn=65070)
    gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]
    gateway_id = gateway["VpnGatewayId"]
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]

    attachment = ec2.attach_vpn_gateway(VpcId=vpc["VpcId"], VpnGatewayId=gateway_id)
    assert attachment["VpcAttachment"]["State"] == "attaching"
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1",
        CustomerGatewayId=customer["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=gateway_id,
    )["VpnConnection"]
    vpn_id = vpn["VpnConnectionId"]
    assert vpn["State"] == "pending"
    pending = ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]
    assert pending["State"] == "pending"
    # A pending connection already has its configuration document.
    document = pending["CustomerGatewayConfiguration"].encode()
    assert ET.fromstring(document).get("id") == vpn_id  # noqa: S314 - the sandbox's own XML
    assert attachment_state(ec2, gateway_id) == ["attaching"]

    clock.advance(0.3)  # not yet
    assert vpn_state(ec2, vpn_id) == "pending"
    clock.advance(0.1)
    ec2.get_waiter("vpn_connection_available").wait(
        VpnConnectionIds=[vpn_id], WaiterConfig=FAST_WAIT
    )
    assert attachment_state(ec2, gateway_id) == ["attached"]

    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    deleting = ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]
    assert deleting["State"] == "deleting"
    clock.advance(0.4)
    ec2.get_waiter("vpn_connection_deleted").wait(VpnConnectionIds=[vpn_id], WaiterConfig=FAST_WAIT)
    assert [v["State"] for v in ec2.describe_vpn_connections()["VpnConnections"]] == ["deleted"]
    clock.advance(0.4)  # the retention period
    assert ec2.describe_vpn_connections()["VpnConnections"] == []

    ec2.detach_vpn_gateway(VpcId=vpc["VpcId"], VpnGatewayId=gateway_id)
    assert attachment_state(ec2, gateway_id) == ["detaching"]
    clock.advance(0.4)
    assert attachment_state(ec2, gateway_id) == ["detached"]


def test_timed_nat_gateway(slow_sandbox, clock):
    ec2 = slow_sandbox
    nat = make_nat_gateway(ec2)
    nat_id = nat["NatGatewayId"]
    assert nat["State"] == "pending"
    states = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert states[0]["State"] == "pending"
    clock.advance(0.4)
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat_id], WaiterConfig=FAST_WAIT)
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    states = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert states[0]["State"] == "deleting"
    clock.advance(0.4)
    states = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert states[0]["State"] == "deleted"


def test_the_delay_can_be_changed_for_what_starts_next(slow_sandbox, clock, control_api):
    ec2 = slow_sandbox
    url = slow_sandbox.meta.endpoint_url
    assert control_api("GET", "/_sandbox/state-delay", url=url) == (200, {"seconds": 0.4})
    slow = make_nat_gateway(ec2)["NatGatewayId"]
    assert control_api("POST", "/_sandbox/state-delay", {"seconds": 0}, url=url)[0] == 200
    quick = ec2.create_nat_gateway(
        SubnetId=ec2.describe_nat_gateways(NatGatewayIds=[slow])["NatGateways"][0]["SubnetId"],
        AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"],
    )["NatGateway"]["NatGatewayId"]
    states = {n["NatGatewayId"]: n["State"] for n in ec2.describe_nat_gateways()["NatGateways"]}
    # The new one settled at once; the one already under way keeps its time.
    assert states == {slow: "pending", quick: "available"}
    for bad in ({"seconds": -1}, {"seconds": "0"}, {"seconds": True}, {}):
        assert control_api("POST", "/_sandbox/state-delay", bad, url=url)[0] == 400, bad
    control_api("POST", "/_sandbox/reset", url=url)
    assert control_api("GET", "/_sandbox/state-delay", url=url) == (200, {"seconds": 0.4})
