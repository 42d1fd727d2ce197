"""The moto internals the sandbox relies on (see sandbox/moto_bridge.py) are still there.

moto is pinned; these tests make an upgrade fail here, loudly and precisely, rather than
somewhere in the portal's behaviour.
"""

import gc

import moto
import moto.settings
from moto.core.base_backend import AccountSpecificBackend
from moto.core.responses import ActionResult
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.subnets import Subnet
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification
from moto.moto_server.werkzeug_app import create_backend_app

from sandbox import moto_bridge


def test_moto_is_the_pinned_version():
    assert moto.__version__ == moto_bridge.PINNED_MOTO_VERSION == "5.2.5"


def test_ec2_app_has_the_endpoint_the_sandbox_replaces():
    assert moto_bridge.EC2_ENDPOINT in create_backend_app("ec2").view_functions


def test_response_class_offers_what_the_bridge_calls():
    for name in (
        "dispatch",
        "call_action",
        "_get_param",
        "_parse_tag_specification",
        "_filters_from_querystring",
        "create_vpn_gateway",
        "attach_vpn_gateway",
        "create_nat_gateway",
        "describe_route_tables",
        "allocate_address",
        "release_address",
    ):
        assert callable(getattr(EC2Response, name)), name
    assert add_tag_specification([]) == {}
    assert ActionResult({"key": "value"}).result == {"key": "value"}
    for name in ("add_tags", "get_tags", "tag_list"):
        assert hasattr(TaggedEC2Resource, name), name


def test_backend_offers_what_the_bridge_uses(sandbox_url):
    backend = ec2_backends["123456789012"]["us-east-1"]
    for name in ("vpn_connections", "customer_gateways", "nat_gateways", "transit_gateways"):
        assert isinstance(getattr(backend, name), dict), name
    assert isinstance(backend.tags, dict)
    assert isinstance(backend.addresses, list)
    # Given an address, moto allocates exactly that one.
    address = backend.allocate_address("vpc", address="198.51.100.250", tags={})
    assert (address.public_ip, address.domain) == ("198.51.100.250", "vpc")
    backend.release_address(allocation_id=address.allocation_id)
    for name in (
        "create_customer_gateway",
        "get_customer_gateway",
        "get_vpn_gateway",
        "get_route_table",
        "detach_vpn_gateway",
        "create_transit_gateway_vpn_attachment",
        "describe_transit_gateway_attachments",
    ):
        assert callable(getattr(backend, name)), name


def test_reset_does_not_keep_old_backends_alive(sandbox_url):
    assert callable(AccountSpecificBackend._generate_regions.cache_clear)
    assert callable(Subnet._base_avail_ip_iterator.cache_clear)
    for _ in range(3):
        ec2_backends["123456789012"]["us-east-1"]
        moto_bridge.reset_moto()
    gc.collect()
    alive = [obj for obj in gc.get_objects() if isinstance(obj, EC2Backend)]
    assert len(alive) <= 1


def test_sandbox_backends_have_no_default_amis(ec2):
    # The sandbox switches moto's default AMIs off for its own backends only.
    assert ec2.describe_images()["Images"] == []
    assert callable(moto.settings.ec2_load_default_amis)
    assert moto.settings.ec2_load_default_amis() is True


def test_logs_backend_offers_what_the_log_sink_uses():
    from moto.logs.models import logs_backends

    backend = logs_backends["123456789012"]["eu-west-3"]
    backend.create_log_group("/contract/check", tags={})
    try:
        assert "/contract/check" in backend.groups
        backend.create_log_stream("/contract/check", "stream")
        assert "stream" in backend.groups["/contract/check"].streams
        backend.put_log_events("/contract/check", "stream", [{"timestamp": 1, "message": "m"}])
    finally:
        backend.delete_log_group("/contract/check")
