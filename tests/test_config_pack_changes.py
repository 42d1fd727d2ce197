"""What a new version says changed, computed from the stored (redacted) parameters of
the previous version and the current values; tunnels are matched by outside IP."""

import pytest

from tests.config_pack_support import NAT_PUBLIC_IP, connection_request
from vpn.choices import AwsResourceRole, Routing
from vpn.models import AwsResource
from vpn.pack_contents import pack_parameters, parameters_changes, parameters_for_storage


def _stored(vpn_request) -> dict:
    return parameters_for_storage(pack_parameters(vpn_request=vpn_request))


def _changes(previous: dict, vpn_request) -> list[str]:
    return parameters_changes(previous=previous, current=pack_parameters(vpn_request=vpn_request))


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
