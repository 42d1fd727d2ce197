"""Two VPNs from one customer device: AWS answers the second CreateCustomerGateway with
the first one's gateway. Both requests provision, and decommissioning one leaves the
gateway to the other; the last one out deletes it."""

import pytest

from tests.factories import CustomerFactory, VpnRequestFactory
from vpn.choices import AwsResourceRole, Stage
from vpn.models import AwsResource, VpnRequest
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_IP = "198.51.100.77"


def _provisioned(run_jobs, **fields) -> VpnRequest:
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED, region="us-east-1", customer_gateway_ip=DEVICE_IP, **fields
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message
    return request


def _decommissioned(request, run_jobs) -> VpnRequest:
    request_move(request_id=request.pk, to_stage=Stage.DECOMMISSIONING)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.DECOMMISSIONED, request.failure_message
    return request


def _gateway(request) -> AwsResource:
    return request.resources.get(role=AwsResourceRole.CUSTOMER_GATEWAY)


def _state_in_aws(sandbox, gateway_id: str) -> str:
    (gateway,) = sandbox.ec2("us-east-1").describe_customer_gateways(
        CustomerGatewayIds=[gateway_id]
    )["CustomerGateways"]
    return gateway["State"]


def test_two_vpns_share_one_customer_gateway_until_the_last_is_gone(aws_sandbox, run_jobs):
    customer = CustomerFactory()
    first = _provisioned(run_jobs, customer=customer)
    second = _provisioned(run_jobs, customer=customer)

    shared = _gateway(first).resource_id
    assert _gateway(second).resource_id == shared
    assert _state_in_aws(aws_sandbox, shared) == "available"

    _decommissioned(first, run_jobs)
    # The second VPN still uses the gateway: it stays, and the first only lets go of it.
    assert _state_in_aws(aws_sandbox, shared) == "available"
    released = _gateway(first)
    assert released.state == "released" and released.deleted_at is not None
    connection = second.resources.get(role=AwsResourceRole.VPN_CONNECTION).resource_id
    (vpn,) = aws_sandbox.ec2("us-east-1").describe_vpn_connections(VpnConnectionIds=[connection])[
        "VpnConnections"
    ]
    assert vpn["State"] == "available"

    _decommissioned(second, run_jobs)
    assert _state_in_aws(aws_sandbox, shared) in ("deleting", "deleted")
    assert _gateway(second).deleted_at is not None


def test_timeline_says_the_gateway_was_released_not_deleted(aws_sandbox, run_jobs, se_client):
    customer = CustomerFactory()
    first = _provisioned(run_jobs, customer=customer)
    _provisioned(run_jobs, customer=customer)
    _decommissioned(first, run_jobs)

    html = se_client.get(f"/requests/{first.pk}/").content.decode()
    assert "Customer gateway released" in html
    assert "Customer gateway deleted" not in html
