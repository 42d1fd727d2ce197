"""What a new version says changed, computed from the stored (redacted) parameters of
the previous version and the current values; tunnels are matched by outside IP."""

import ipaddress

import pytest
from django.utils.crypto import salted_hmac

from tests.config_pack_support import NAT_PUBLIC_IP, connection_request
from vpn.choices import AwsResourceRole, Routing
from vpn.models import AwsResource
from vpn.packs.contract import PackParameters


def _stored(vpn_request) -> dict:
    return PackParameters.from_request(vpn_request).for_storage()


def _changes(previous: dict, vpn_request) -> list[str]:
    return PackParameters.from_request(vpn_request).changes_since(previous)


@pytest.mark.django_db
def test_nothing_changed_reads_as_a_reissue():
    vpn_request = connection_request()
    assert _changes(_stored(vpn_request), vpn_request) == [
        "No change in the parameters (re-issued)."
    ]


@pytest.mark.django_db
def test_nat_vpc_and_prefixes():
    vpn_request = connection_request(routing=Routing.BGP)
    previous = _stored(vpn_request)
    AwsResource.objects.create(
        request=vpn_request,
        role=AwsResourceRole.ELASTIC_IP,
        resource_id="eipalloc-0abc",
        region=vpn_request.region,
        details={"public_ip": NAT_PUBLIC_IP},
    )
    vpn_request.advertised_prefixes = ["10.20.0.0/16", "10.30.0.0/16"]
    old_vpc = vpn_request.vpc_cidr
    vpn_request.vpc_cidr = "10.250.0.0/24"
    vpn_request.save()
    assert _changes(previous, vpn_request) == [
        f"Platform VPC CIDR: changed from {old_vpc} to 10.250.0.0/24",
        f"NAT gateway public IP: added {NAT_PUBLIC_IP}",
        "BGP advertised prefixes: added 10.30.0.0/16",
        "BGP advertised prefixes: removed 172.20.4.0/22",
    ]


@pytest.mark.django_db
def test_a_replaced_tunnel_is_reported_by_outside_ip():
    vpn_request = connection_request()
    previous = _stored(vpn_request)
    tunnel = vpn_request.tunnels.get(position=2)
    old_ip = tunnel.outside_ip
    tunnel.outside_ip = "192.0.2.99"
    tunnel.inside_cidr = "169.254.44.0/30"
    tunnel.save()
    assert _changes(previous, vpn_request) == [
        "Tunnel 192.0.2.99: new tunnel (tunnel 2)",
        f"Tunnel {old_ip}: removed",
    ]


@pytest.mark.django_db
def test_a_rotated_secret_key_reports_no_false_key_change(settings):
    vpn_request = connection_request()
    previous = _stored(vpn_request)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    assert _changes(previous, vpn_request) == ["No change in the parameters (re-issued)."]


@pytest.mark.django_db
def test_storage_form_keeps_no_key():
    vpn_request = connection_request()
    stored = _stored(vpn_request)
    psks = {tunnel.psk for tunnel in vpn_request.tunnels.all()}
    assert not psks & {str(value) for tunnel in stored["tunnels"] for value in tunnel.values()}
    assert all(len(tunnel["psk_fingerprint"]) == 64 for tunnel in stored["tunnels"])


def _format_1_row(vpn_request) -> dict:
    """A row as the first version of the pack code stored it, written out by hand."""
    tunnels = []
    for tunnel in vpn_request.tunnels.order_by("position"):
        inside = ipaddress.IPv4Network(tunnel.inside_cidr)
        tunnels.append(
            {
                "position": tunnel.position,
                "used": tunnel.position <= vpn_request.tunnel_count,
                "aws_outside_ip": tunnel.outside_ip,
                "customer_outside_ip": vpn_request.customer_gateway_ip,
                "inside_cidr": tunnel.inside_cidr,
                "aws_inside_ip": str(inside.network_address + 1),
                "customer_inside_ip": str(inside.network_address + 2),
                "psk": "REDACTED",
                "psk_fingerprint": salted_hmac(
                    "vpn.pack_contents.psk_fingerprint", tunnel.psk, algorithm="sha256"
                ).hexdigest(),
            }
        )
    customer = vpn_request.customer
    return {
        "format": 1,
        "reference": vpn_request.reference,
        "customer": {
            "name": customer.name,
            "org_id": customer.org_id,
            "contact_name": customer.contact_name,
            "contact_email": customer.contact_email,
        },
        "region": {"code": "eu-west-2", "name": "Europe (London)"},
        "vpn_connection_id": vpn_request.resources.get(
            role=AwsResourceRole.VPN_CONNECTION
        ).resource_id,
        "customer_gateway_ip": vpn_request.customer_gateway_ip,
        "ike_version": "ikev2",
        "tunnel_count": 2,
        "device_vendor": "strongswan",
        "vpc_cidr": vpn_request.vpc_cidr,
        "routing": {"type": "static", "customer_subnets": ["10.20.0.0/16", "192.168.50.0/24"]},
        "nat_public_ip": None,
        "ipsec": {
            "name": "aes256-sha256-modp2048",
            "phase1_encryption": "AES256",
            "phase1_integrity": "SHA2-256",
            "phase1_dh_group": 14,
            "phase1_lifetime_seconds": 28800,
            "phase2_encryption": "AES256",
            "phase2_integrity": "SHA2-256",
            "phase2_dh_group": 14,
            "phase2_lifetime_seconds": 3600,
            "rekey_margin_seconds": 540,
            "rekey_fuzz_percentage": 100,
            "replay_window_size": 1024,
            "dpd_timeout_seconds": 30,
            "dpd_timeout_action": "restart",
            "startup_action": "start",
        },
        "mtu": 1422,
        "tcp_mss": 1382,
        "tunnels": tunnels,
        "keepalive": {
            "required": True,
            "target": str(ipaddress.IPv4Network(vpn_request.vpc_cidr).network_address + 2),
            "interval_seconds": 10,
        },
    }


@pytest.mark.django_db
def test_rows_stored_by_earlier_versions_still_compare():
    vpn_request = connection_request(routing=Routing.STATIC)
    row = _format_1_row(vpn_request)
    # Today's stored form is that same row, and comparing with it finds nothing new.
    assert _stored(vpn_request) == row
    assert _changes(row, vpn_request) == ["No change in the parameters (re-issued)."]

    tunnel = vpn_request.tunnels.get(position=1)
    tunnel.psk = "Rotated_key_0001"
    tunnel.save()
    vpn_request.static_subnets = ["10.20.0.0/16"]
    vpn_request.tunnel_count = 1
    vpn_request.save()
    assert _changes(row, vpn_request) == [
        "Tunnels to configure: changed from 2 to 1",
        "Static routes: removed 192.168.50.0/24",
        f"Tunnel {tunnel.outside_ip}: pre-shared key changed",
        f"Tunnel {vpn_request.tunnels.get(position=2).outside_ip}: no longer used",
    ]


@pytest.mark.django_db
def test_a_row_that_advised_aws_maxima_reports_the_computed_mtu():
    """Packs stored before the MTU was computed advised 1446 / 1406 (AES-GCM's sizes)."""
    vpn_request = connection_request(routing=Routing.STATIC)
    row = {**_format_1_row(vpn_request), "mtu": 1446, "tcp_mss": 1406}
    assert _changes(row, vpn_request) == [
        "Tunnel MTU: changed from 1446 to 1422",
        "TCP MSS: changed from 1406 to 1382",
    ]
