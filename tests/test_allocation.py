"""Allocation: VPC CIDRs, ASNs, inside /30s and PSKs by AWS's rules, safe under concurrency."""

import ipaddress
import re
import threading

import pytest
from django.db import close_old_connections

from tests.factories import VpnRequestFactory
from vpn.choices import Routing, Stage
from vpn.models import VpnRequest
from vpn.services import allocation


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvals_get_distinct_non_overlapping_cidrs(postgres):
    requests = [VpnRequestFactory(stage=Stage.VPC) for _ in range(20)]
    barrier = threading.Barrier(20)
    errors = []

    def allocate(request_id):
        try:
            barrier.wait()
            allocation.vpc_cidr_allocate(request_id=request_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=allocate, args=(r.pk,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    cidrs = [ipaddress.ip_network(c) for c in VpnRequest.objects.values_list("vpc_cidr", flat=True)]
    assert len(cidrs) == 20
    for i, a in enumerate(cidrs):
        for b in cidrs[i + 1 :]:
            assert not a.overlaps(b), (a, b)


@pytest.mark.django_db
def test_vpc_cidr_avoids_customer_networks_and_reserved_ranges(settings):
    settings.VPC_CIDR_POOL = "10.0.0.0/22"
    settings.VPC_PREFIX_LENGTH = 24
    settings.PLATFORM_RESERVED_CIDRS = ["10.0.0.0/24"]
    request = VpnRequestFactory(
        routing=Routing.STATIC, static_subnets=["10.0.1.0/25"], advertised_prefixes=[]
    )
    assert allocation.vpc_cidr_allocate(request_id=request.pk) == "10.0.2.0/24"
    # Allocated once: asking again gives the same block.
    assert allocation.vpc_cidr_allocate(request_id=request.pk) == "10.0.2.0/24"
    other = VpnRequestFactory(static_subnets=["10.0.1.0/24"], advertised_prefixes=["10.0.3.0/24"])
    with pytest.raises(allocation.AllocationError, match="no free /24"):
        allocation.vpc_cidr_allocate(request_id=other.pk)


@pytest.mark.django_db
def test_decommissioned_requests_free_their_block(settings):
    settings.VPC_CIDR_POOL = "172.30.0.0/24"
    settings.VPC_PREFIX_LENGTH = 24
    first = VpnRequestFactory(advertised_prefixes=[])
    assert allocation.vpc_cidr_allocate(request_id=first.pk) == "172.30.0.0/24"
    VpnRequest.objects.filter(pk=first.pk).update(stage=Stage.DECOMMISSIONED)
    second = VpnRequestFactory(advertised_prefixes=[])
    assert allocation.vpc_cidr_allocate(request_id=second.pk) == "172.30.0.0/24"


@pytest.mark.django_db
def test_amazon_asn_differs_from_the_customers(settings):
    settings.AMAZON_ASN_RANGE = [64512, 65534]
    request = VpnRequestFactory(bgp_asn=64512)
    assert allocation.amazon_asn_allocate(request_id=request.pk) == 64513


def test_inside_cidrs_are_link_local_30s_never_reserved():
    for _ in range(300):
        cidrs = allocation.inside_cidrs_allocate(2)
        assert len(set(cidrs)) == 2
        for cidr in cidrs:
            network = ipaddress.ip_network(cidr)
            assert network.prefixlen == 30
            assert network.subnet_of(allocation.LINK_LOCAL)
            assert network not in allocation.RESERVED_INSIDE_CIDRS


def test_psks_follow_aws_rule():
    keys = {allocation.psk_generate() for _ in range(500)}
    assert len(keys) == 500
    for key in keys:
        assert re.fullmatch(r"[A-Za-z1-9][A-Za-z0-9]{31}", key)
