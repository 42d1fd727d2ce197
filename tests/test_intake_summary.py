"""The intake's answers, summed up on the request page and on the customer's link: one
summary, in the engineer's words (with the location and what AWS allocated) on the
one, in the customer's own words on the other."""

import re

import pytest
from django.test import Client

from tests.factories import VpnRequestFactory
from vpn.choices import Routing, Stage
from vpn.services.intake import intake_link_create

pytestmark = pytest.mark.django_db


def _summary(html: str) -> str:
    """The summary's field list (the one that starts with the region), whitespace
    between tags collapsed."""
    lists = re.findall(r'<dl class="fields">.*?</dl>', html, flags=re.DOTALL)
    (fields,) = [fields for fields in lists if "<dt>AWS region</dt>" in fields]
    return re.sub(r">\s+<", "><", fields)


def _pages(se_client, **fields) -> tuple[str, str]:
    request = VpnRequestFactory(stage=Stage.SUBMITTED, **fields)
    token = intake_link_create(request_id=request.pk, send_email=False).token
    staff = se_client.get(f"/requests/{request.pk}/").content.decode()
    customer = Client().get(f"/intake/{token}/").content.decode()
    return _summary(staff), _summary(customer)


def test_static_request_summed_up_for_the_engineer_and_for_the_customer(se_client):
    staff, customer = _pages(
        se_client,
        routing=Routing.STATIC,
        static_subnets=["10.1.0.0/16", "192.168.5.0/24"],
        region="eu-west-1",
        location_city="Manchester",
        location_country="United Kingdom",
    )
    assert '<dt>Customer subnets</dt><dd class="mono">10.1.0.0/16, 192.168.5.0/24</dd>' in staff
    assert "<dt>Customer location</dt><dd>Manchester, United Kingdom</dd>" in staff
    assert "Overridden: the nearest to Manchester, United Kingdom is" in staff
    assert "this one is 267 km away." in staff
    assert '<dt>VPC CIDR</dt><dd class="mono">not allocated yet</dd>' in staff
    assert '<dt>Amazon-side ASN</dt><dd class="mono">not allocated yet</dd>' in staff
    assert "ASN</dt>" not in staff.replace("Amazon-side ASN</dt>", "")

    assert '<dt>Your subnets</dt><dd class="mono">10.1.0.0/16, 192.168.5.0/24</dd>' in customer
    assert "nearest to Manchester, United Kingdom: eu-west-2, 261 km</div>" in customer
    for internal in ("Customer location", "Customer subnets", "VPC CIDR", "Amazon-side ASN"):
        assert internal not in customer
    assert "Overridden" not in customer


def test_bgp_request_summed_up_for_the_engineer_and_for_the_customer(se_client):
    staff, customer = _pages(
        se_client, bgp_asn=65010, advertised_prefixes=["10.20.0.0/16"], tunnel_count=1
    )
    assert '<dt>Customer ASN</dt><dd class="mono">65010</dd>' in staff
    assert '<dt>Your BGP ASN</dt><dd class="mono">65010</dd>' in customer
    for page in (staff, customer):
        assert '<dt>Advertised prefixes</dt><dd class="mono">10.20.0.0/16</dd>' in page
        assert '<dt>Tunnels</dt><dd>1 <span class="muted small">(no failover)</span></dd>' in page
        assert "<dt>Routing</dt><dd>Dynamic (BGP)</dd>" in page
        assert "subnets</dt>" not in page
        assert "Customer location" not in page  # no city given
