"""`vpn_change`: the same changes as the request page, from a shell. Bad input fails with
a clear message and records nothing; `--sync` runs a change to its end here."""

import ipaddress
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.change_support import aws_connection, provisioned_vpn
from tests.factories import VpnRequestFactory
from vpn.choices import ChangeState, Routing, Stage
from vpn.models import VpnChange

pytestmark = pytest.mark.django_db


def _change(*args) -> str:
    out = StringIO()
    call_command("vpn_change", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def _live_static(**fields):
    """A live static request as stored (these refusals happen before any AWS call)."""
    defaults = {
        "stage": Stage.LIVE,
        "routing": Routing.STATIC,
        "static_subnets": ["192.168.10.0/24"],
        "bgp_asn": None,
        "advertised_prefixes": [],
        "vpc_cidr": "172.20.4.0/24",
        "amazon_side_asn": 64512,
    }
    return VpnRequestFactory(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add-subnet", "10.9.0.0/24"], "a reason is required"),
        (["--reason", "x"], "Say what to change"),
        (["--reason", "x", "--add-subnet", "10.9.0.0/24", "--nat", "on"], "one change at a time"),
        (["--reason", "x", "--add-subnet", "10.9.0.1/24"], "host bits set"),
        (["--reason", "x", "--add-subnet", "not-a-cidr"], "not an IPv4 range"),
        (["--reason", "x", "--add-subnet", "192.168.10.0/24"], "listed twice"),
        (["--reason", "x", "--add-subnet", "172.20.4.128/25"], "the platform's VPC"),
        (["--reason", "x", "--add-subnet", "10.0.5.0/24"], "the platform uses for its own"),
        (["--reason", "x", "--remove-subnet", "10.1.0.0/16"], "is not one of this VPN's subnets"),
        (["--reason", "x", "--remove-subnet", "192.168.10.0/24"], "at least one subnet"),
        (["--reason", "x", "--gateway-ip", "10.1.1.1"], "a private address"),
        (["--reason", "x", "--gateway-ip", "52.94.12.9", "--asn", "65001"], "uses no customer ASN"),
        (["--reason", "x", "--asn", "65001"], "--asn goes with --gateway-ip"),
        (["--reason", "x", "--phase2-lifetime", "900"], "at least 1080 s"),
        (["--reason", "x", "--phase1-lifetime", "3600", "--phase2-lifetime", "3600"], "shorter"),
        (["--reason", "x", "--ike-versions", "ikev1", "--startup-action", "start"], "IKEv2 only"),
        (["--reason", "x", "--nat", "off"], "NAT is already off"),
        (["--reason", "x", "--tunnels", "2"], "already uses both tunnels"),
        (["--reason", "x", "--routing", "bgp"], "cannot switch a VPN connection between static"),
        (["--customer-confirmed"], "waits for the customer"),
        (["--retry"], "has stopped"),
    ],
)
def test_bad_input_fails_clearly_and_records_nothing(args, message):
    request = _live_static()
    with pytest.raises(CommandError, match=message):
        _change(request.pk, *args)
    assert not VpnChange.objects.exists()


def test_the_routing_refusal_explains_the_replacement():
    request = _live_static()
    with pytest.raises(CommandError) as info:
        _change(request.pk, "--reason", "move to BGP", "--routing", "bgp")
    text = str(info.value)
    for words in ("in place", "new request", "beside this one", "decommission this one"):
        assert words in text


def test_the_route_limit_of_the_intake_holds():
    subnets = [str(net) for net in ipaddress.ip_network("10.100.0.0/16").subnets(new_prefix=24)][
        :100
    ]
    request = _live_static(static_subnets=subnets)
    with pytest.raises(CommandError, match="At most 100 subnets"):
        _change(request.pk, "--reason", "x", "--add-subnet", "10.101.0.0/24")


def test_unknown_requests_and_stages_are_refused():
    with pytest.raises(CommandError, match=r"^No VPN request with id 999999\.$"):
        _change(999999, "--reason", "x", "--nat", "on")
    draft = VpnRequestFactory(stage=Stage.SUBMITTED)
    with pytest.raises(CommandError, match="only a provisioned VPN"):
        _change(draft.pk, "--reason", "x", "--nat", "on")


def test_bad_choices_are_refused_by_the_options():
    request = _live_static()
    for args in (
        ["--rotate-psk", "3"],
        ["--phase1-encryption", "DES"],
        ["--phase1-dh-group", "2"],
        ["--tunnels", "1"],
    ):
        with pytest.raises(CommandError, match="invalid choice"):
            _change(request.pk, "--reason", "x", *args)


@pytest.mark.django_db(transaction=True)
def test_sync_runs_a_change_to_its_end(aws_sandbox, run_jobs):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    out = _change(
        request.pk, "--reason", "New office (ticket 77)", "--add-subnet", "10.9.0.0/24", "--sync"
    )
    change = VpnChange.objects.get(request=request)
    assert change.state == ChangeState.DONE
    assert (change.proposed_label, change.applied_label) == ("vpn_change", "vpn_change")
    assert "10.9.0.0/24" in [
        r["DestinationCidrBlock"] for r in aws_connection(aws_sandbox, request)["Routes"]
    ]
    assert f"{change.reference} (add static route 10.9.0.0/24)" in out
    assert "Impact: No tunnel drops." in out
    assert f"config pack version {change.pack_versions[0]} issued" in out
    assert "Done: add static route 10.9.0.0/24." in out
    # Without --sync the same change is queued, for the job.
    out = _change(request.pk, "--reason", "Second office", "--add-subnet", "10.10.0.0/24")
    assert "queued" in out
    assert VpnChange.objects.filter(request=request, state=ChangeState.APPLYING).count() == 1
    assert run_jobs() == 0
    assert not VpnChange.objects.filter(request=request, state=ChangeState.APPLYING).exists()
