"""Shared by the config pack tests: requests with a VPN connection, and readers of
what a pack holds (the PDF's text and attachments, the zip's files)."""

import io
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import count
from pathlib import PurePosixPath

from django.db import transaction
from django.test import override_settings
from pypdf import PdfReader

from tests.conftest import service_missing
from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import AwsResourceRole, DeviceVendor, IkeVersion, Routing, Stage
from vpn.models import AwsResource, VpnRequest
from vpn.packs.contract import PackCopy, PackParameters, pack_copies
from vpn.services.packs import config_pack_preview, config_pack_render

_numbers = count(1)

NAT_PUBLIC_IP = "198.51.100.200"


def connection_request(
    *,
    routing: str = Routing.STATIC,
    tunnel_count: int = 2,
    nat: bool = False,
    ike_version: str = IkeVersion.IKEV2,
    device_vendor: str = DeviceVendor.STRONGSWAN,
    customer=None,
    **fields,
) -> VpnRequest:
    """A request whose VPN connection exists: two tunnels with distinct outside IPs,
    inside CIDRs and keys, a VPC CIDR, and (with `nat`) the NAT's elastic IP."""
    number = next(_numbers)
    static = routing == Routing.STATIC
    request = VpnRequestFactory(
        customer=customer or CustomerFactory(),
        stage=Stage.AWAITING_CUSTOMER,
        routing=routing,
        static_subnets=["10.20.0.0/16", "192.168.50.0/24"] if static else [],
        bgp_asn=65010,
        advertised_prefixes=[] if static else ["10.20.0.0/16", "172.20.4.0/22"],
        ike_version=ike_version,
        tunnel_count=tunnel_count,
        nat_wanted=nat,
        device_vendor=device_vendor,
        vpc_cidr=f"10.{100 + number % 100}.{number // 100}.0/24",
        amazon_side_asn=64512,
        **fields,
    )
    for position in (1, 2):
        TunnelFactory(
            request=request,
            position=position,
            outside_ip=f"203.0.113.{(number * 2 + position) % 250 + 1}",
            inside_cidr=f"169.254.{100 + number % 100}.{position * 4}/30",
            psk=f"Pk{number:04d}_tunnel{position}.K9xq{number:03d}Lm",
        )
    AwsResource.objects.create(
        request=request,
        role=AwsResourceRole.VPN_CONNECTION,
        resource_id=f"vpn-{number:017x}",
        region=request.region,
        state="available",
    )
    if nat:
        AwsResource.objects.create(
            request=request,
            role=AwsResourceRole.ELASTIC_IP,
            resource_id=f"eipalloc-{number:017x}",
            region=request.region,
            details={"public_ip": NAT_PUBLIC_IP},
        )
    return request


def copies_with_profile(vpn_request: VpnRequest, **profile_changes) -> tuple[PackCopy, PackCopy]:
    """The full and redacted copies of the request's pack, with the IPsec profile's
    fields changed (`startup_action="add"`, `phase2_encryption="AES128-GCM-16"`), as
    another profile would print them."""
    parameters = PackParameters.from_request(vpn_request)
    ipsec = replace(parameters.ipsec, **profile_changes)
    sizes = ipsec.tunnel_mtu(nat_traversal=True)
    parameters = replace(parameters, ipsec=ipsec, mtu=sizes.mtu, tcp_mss=sizes.tcp_mss)
    return pack_copies(
        parameters,
        version=1,
        issued_at=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
        changes=["First version."],
    )


def pdf_text(content: bytes) -> str:
    """The PDF's text as pdftotext reads it."""
    if shutil.which("pdftotext") is None:
        service_missing("poppler-utils (pdftotext)")
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=content,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def pdf_attachments(content: bytes) -> dict[str, bytes]:
    """The files embedded in the PDF, by name."""
    attachments = PdfReader(io.BytesIO(content)).attachments
    return {name: data[0] for name, data in attachments.items()}


def zip_files(content: bytes) -> dict[str, bytes]:
    """The files in a zip, by base name (they sit in one folder)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            PurePosixPath(info.filename).name: archive.read(info)
            for info in archive.infolist()
            if not info.is_dir()
        }


@dataclass(frozen=True)
class SamplePack:
    """A rendered version's files and the stored values they must show."""

    reference: str
    version: int
    tunnels: list[dict]  # outside_ip, inside_cidr, psk and position, from the database
    request: dict  # the request's routing values
    changes: list[str]
    pdf: bytes
    redacted_pdf: bytes
    zip: bytes
    redacted_zip: bytes


def sample_pack(
    django_db_blocker, media_root, *, full_only: bool = False, **request_fields
) -> SamplePack:
    """Render one pack for a whole test module, then roll the database back.

    Rendering takes seconds; a module renders once and its tests read the bytes. With
    `full_only`, only the full PDF is rendered (not stored): the other files are empty.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root),
        transaction.atomic(),
    ):
        request = connection_request(**request_fields)
        files = dict.fromkeys(("pdf", "redacted_pdf", "zip", "redacted_zip"), b"")
        if full_only:
            preview = config_pack_preview(request_id=request.pk)
            version, changes, files["pdf"] = 1, ["First version."], preview.pdf
        else:
            pack = config_pack_render(request_id=request.pk, reason="test")
            version, changes = pack.version, pack.changes
            for field in files:
                with getattr(pack, field).open("rb") as stored:
                    files[field] = stored.read()
        sample = SamplePack(
            reference=request.reference,
            version=version,
            tunnels=list(
                request.tunnels.order_by("position").values(
                    "position", "outside_ip", "inside_cidr", "psk"
                )
            ),
            request={
                "vpc_cidr": request.vpc_cidr,
                "static_subnets": request.static_subnets,
                "bgp_asn": request.bgp_asn,
                "amazon_side_asn": request.amazon_side_asn,
                "advertised_prefixes": request.advertised_prefixes,
                "customer_gateway_ip": request.customer_gateway_ip,
            },
            changes=changes,
            **files,
        )
        transaction.set_rollback(True)
    return sample
