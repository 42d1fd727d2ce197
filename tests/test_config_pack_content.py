"""What the config pack says, read back from the PDF: every value equals the stored
connection; the redacted variant holds no key anywhere; the attached files are the
zip's files byte for byte. Also leaves PNG pages in test-artifacts/ for a human eye."""

import ipaddress
import json
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.config_pack_support import (
    NAT_PUBLIC_IP,
    pdf_attachments,
    pdf_text,
    sample_pack,
    zip_files,
)
from vpn.choices import DeviceVendor, IkeVersion, Routing
from vpn.packs.devices import VENDORS
from vpn.tunnel_profile import BGP_HOLD_TIME_SECONDS

# Marks the database as needed, so that the module fixtures below can use it.
pytestmark = pytest.mark.django_db

DEVICE_FILES = {
    "swanctl.conf",
    "cisco-ios-vti.txt",
    "juniper-srx.txt",
    "palo-alto-panos.txt",
    "fortinet-fortigate.txt",
    "generic.txt",
}


@pytest.fixture(scope="module")
def static_pack(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two tunnels, static routing, IKEv2, a NAT gateway, a strongSwan customer."""
    return sample_pack(
        django_db_blocker,
        tmp_path_factory.mktemp("media"),
        routing=Routing.STATIC,
        nat=True,
        device_vendor=DeviceVendor.STRONGSWAN,
    )


@pytest.fixture(scope="module")
def bgp_pack(django_db_setup, django_db_blocker, tmp_path_factory):
    """One tunnel, BGP, IKEv1, no NAT, a Juniper customer."""
    return sample_pack(
        django_db_blocker,
        tmp_path_factory.mktemp("media"),
        full_only=True,
        routing=Routing.BGP,
        tunnel_count=1,
        ike_version=IkeVersion.IKEV1,
        device_vendor=DeviceVendor.JUNIPER_SRX,
    )


def _addresses(inside_cidr: str) -> tuple[str, str]:
    network = ipaddress.IPv4Network(inside_cidr)
    return str(network.network_address + 1), str(network.network_address + 2)


def test_every_tunnel_value_is_printed(static_pack):
    text = pdf_text(static_pack.pdf)
    assert static_pack.reference in text
    assert "Version" in text and "Confidential" in text
    assert static_pack.request["customer_gateway_ip"] in text
    for tunnel in static_pack.tunnels:
        aws_inside, customer_inside = _addresses(tunnel["inside_cidr"])
        assert f"Tunnel {tunnel['position']} · AWS {tunnel['outside_ip']}" in text
        assert tunnel["inside_cidr"] in text
        assert f"{aws_inside}/30" in text
        assert f"{customer_inside}/30" in text
        assert tunnel["psk"] in text
    assert len({tunnel["psk"] for tunnel in static_pack.tunnels}) == 2
    # The profile's values, and no others.
    for value in ("AES256", "SHA2-256", "DH group 14", "28800 s", "3600 s", "timeout 30 s"):
        assert value in text
    # The MTU and MSS computed for the profile (AES256 and SHA2-256 through NAT traversal).
    flat = " ".join(text.split())
    assert "Set the tunnel MTU to 1422 bytes and clamp TCP MSS to 1382 bytes" in flat
    assert "Without NAT traversal, packets of up to 1438 bytes (MSS 1398) would fit" in flat
    # IKEv2 with startup action `start`: AWS brings a closed tunnel back itself.
    assert "AWS starts these tunnels itself (IKEv2, startup action start)" in flat
    assert "Make sure your device starts a tunnel again" not in flat


def test_static_routes_firewall_keepalive_and_nat(static_pack):
    text = pdf_text(static_pack.pdf)
    flat = " ".join(text.split())
    assert static_pack.request["vpc_cidr"] in text
    for subnet in static_pack.request["static_subnets"]:
        assert subnet in text
    assert "IP protocol 50" in text and "4500" in text and "500" in text
    # IKEv2 with static routing: AWS initiates, yet no BGP keep-alives cross the
    # tunnel, so the customer's side keeps it up with a script pinging inside the VPC.
    assert "Keep-alive" in text
    target = str(ipaddress.IPv4Network(static_pack.request["vpc_cidr"]).network_address + 2)
    assert f'TARGET="${{1:-{target}}}"' in flat
    assert "keepalive.sh" in pdf_attachments(static_pack.pdf)
    assert NAT_PUBLIC_IP in text
    assert "No failover" not in flat


def test_bgp_one_tunnel_pack(bgp_pack):
    text = pdf_text(bgp_pack.pdf)
    flat = " ".join(text.split())
    request = bgp_pack.request
    assert str(request["bgp_asn"]) in text and str(request["amazon_side_asn"]) in text
    assert f"{BGP_HOLD_TIME_SECONDS} s" in text
    for tunnel in bgp_pack.tunnels:
        aws_inside, _ = _addresses(tunnel["inside_cidr"])
        assert aws_inside in text  # the neighbour address
    for prefix in request["advertised_prefixes"]:
        assert prefix in text
    assert "One tunnel only: no failover." in flat
    assert "workflows fail" in flat
    assert "Not used".upper() in text or "Not used" in text
    # IKEv1: AWS never initiates, so the customer's side keeps the tunnels up, with
    # a script pinging inside the VPC.
    assert "Keep-alive" in text
    target = str(ipaddress.IPv4Network(request["vpc_cidr"]).network_address + 2)
    assert f'TARGET="${{1:-{target}}}"' in flat
    assert "keepalive.sh" in pdf_attachments(bgp_pack.pdf)
    # IKEv1: AWS never initiates, and the pack says so, with each device's way.
    assert "AWS never starts these tunnels (IKEv1, startup action add)" in flat
    assert "Make sure your device starts a tunnel again by itself" in flat
    assert "your device initiates the tunnel, and again whenever it goes down" in flat
    for vendor in VENDORS:
        assert " ".join(vendor.reinitiation.split()[:6]) in flat, vendor.key
    assert NAT_PUBLIC_IP not in text
    # Only tunnel 1 is configured on the device.
    tunnel1, tunnel2 = bgp_pack.tunnels
    files = pdf_attachments(bgp_pack.pdf)
    for name in DEVICE_FILES - {"generic.txt"}:
        config = files[name].decode()
        assert tunnel1["outside_ip"] in config, name
        assert tunnel2["outside_ip"] not in config, name
        assert tunnel2["psk"] not in config, name
    # The customer's device comes first.
    assert text.index("Juniper SRX") < text.index("strongSwan (swanctl)")


def test_the_device_pages_state_versions_and_numbers(bgp_pack):
    flat = " ".join(pdf_text(bgp_pack.pdf).split())
    devices = flat[flat.index("Device configurations Ready-made") :]
    # Per vendor, the releases its file is written for and what it numbers.
    for vendor in VENDORS:
        assert vendor.os_versions in devices, vendor.key
        assert vendor.numbering in devices, vendor.key
    assert "PAN-OS 10.1 to 11.2 with the legacy routing engine" in devices
    assert "FortiOS 6.4.4 to 7.6." in devices
    assert "Junos OS 19.4 or later" in devices
    # The caveat on numbers already in use, and how to get other ones.
    assert "Numbers that may already be in use." in devices
    assert "changes that existing interface or policy instead of adding a new one" in devices
    assert "the first tunnel interface number, the ISAKMP policy number" in devices
    # Each file says it too, in its own header.
    files = pdf_attachments(bgp_pack.pdf)
    assert "Names and numbers to check against your configuration first" in (
        files["juniper-srx.txt"].decode()
    )
    assert "ISAKMP policy 200" in files["cisco-ios-vti.txt"].decode()


def test_attachments_are_the_zip_files(static_pack):
    for pdf, archive in (
        (static_pack.pdf, static_pack.zip),
        (static_pack.redacted_pdf, static_pack.redacted_zip),
    ):
        attached = pdf_attachments(pdf)
        assert set(attached) == DEVICE_FILES | {"parameters.json", "keepalive.sh"}
        assert attached == zip_files(archive)


def test_pdfdetach_lists_the_attachments(static_pack, tmp_path):
    if shutil.which("pdfdetach") is None:
        pytest.skip("pdfdetach is not installed")
    path = tmp_path / "pack.pdf"
    path.write_bytes(static_pack.pdf)
    listing = subprocess.run(
        ["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "8 embedded files" in listing
    assert "swanctl.conf" in listing and "parameters.json" in listing


def test_parameters_json_holds_every_value(static_pack):
    document = json.loads(pdf_attachments(static_pack.pdf)["parameters.json"])
    assert document["pack"]["version"] == static_pack.version
    parameters = document["parameters"]
    assert parameters["nat_public_ip"] == NAT_PUBLIC_IP
    assert parameters["vpc_cidr"] == static_pack.request["vpc_cidr"]
    assert parameters["routing"]["customer_subnets"] == static_pack.request["static_subnets"]
    by_ip = {tunnel["aws_outside_ip"]: tunnel for tunnel in parameters["tunnels"]}
    for tunnel in static_pack.tunnels:
        printed = by_ip[tunnel["outside_ip"]]
        assert printed["psk"] == tunnel["psk"]
        assert printed["inside_cidr"] == tunnel["inside_cidr"]
        assert (printed["aws_inside_ip"], printed["customer_inside_ip"]) == _addresses(
            tunnel["inside_cidr"]
        )


def test_redacted_variant_holds_no_key(static_pack):
    text = pdf_text(static_pack.redacted_pdf)
    assert "Redacted copy" in text
    files = {
        **{f"pdf:{name}": data for name, data in pdf_attachments(static_pack.redacted_pdf).items()},
        **{f"zip:{name}": data for name, data in zip_files(static_pack.redacted_zip).items()},
    }
    for tunnel in static_pack.tunnels:
        assert tunnel["psk"] not in text
        assert tunnel["psk"].encode() not in static_pack.redacted_pdf
        assert tunnel["psk"].encode() not in static_pack.redacted_zip
        for name, data in files.items():
            assert tunnel["psk"].encode() not in data, name
        # The rest is still there.
        assert tunnel["outside_ip"] in text
    assert json.loads(files["pdf:parameters.json"])["parameters"]["tunnels"][0]["psk"] == (
        "REDACTED"
    )


def test_pages_as_png_for_a_human_eye(static_pack, bgp_pack):
    """Not a check: leaves the pages in test-artifacts/config-pack/ to look at."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed")
    folder = settings.BASE_DIR / "test-artifacts" / "config-pack"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, content, pages in (
        ("static-two-tunnels-nat", static_pack.pdf, []),
        ("static-redacted", static_pack.redacted_pdf, ["-l", "1"]),
        ("bgp-one-tunnel", bgp_pack.pdf, ["-l", "4"]),
    ):
        (folder / f"{name}.pdf").write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", *pages, f"{name}.pdf", name],
            cwd=folder,
            check=True,
        )
    assert len(list(folder.glob("*.png"))) > 10
