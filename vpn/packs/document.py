"""The files of a pack copy, their zip, and what the PDF template shows.

The PDF itself is rendered by `vpn.pdf` (the only module that imports WeasyPrint) from
`DOCUMENT_TEMPLATE` and `document_context`; the files below are attached inside it and
put in the zip, byte for byte.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime

from vpn.packs.contract import PackCopy
from vpn.packs.devices import (
    VENDORS,
    VENDORS_BY_KEY,
    DeviceConfig,
    DeviceNumbering,
    device_configs,
    keepalive_script,
)

DOCUMENT_TEMPLATE = "vpn/packs/pdf/config_pack.html"
KEEPALIVE_FILENAME = "keepalive.sh"
PARAMETERS_FILENAME = "parameters.json"

# The IPsec traffic to allow between the customer's gateway and each AWS outside IP.
FIREWALL_RULES = (
    ("UDP", "500", "IKE: negotiates the tunnel"),
    ("UDP", "4500", "IKE and ESP through NAT (NAT traversal)"),
    ("ESP", "IP protocol 50", "The encrypted traffic itself"),
)


@dataclass(frozen=True)
class PackFile:
    """A file of the pack: attached inside the PDF and put in the zip, byte for byte."""

    name: str
    content: bytes
    description: str
    executable: bool = False

    @property
    def sha256(self) -> str:
        """The file's SHA-256, printed in the PDF so the customer can check a copy."""
        return hashlib.sha256(self.content).hexdigest()


def parameters_document(copy: PackCopy) -> dict:
    """What `parameters.json` holds: the version, and every parameter of this copy."""
    return {
        "pack": {
            "reference": copy.reference,
            "version": copy.version,
            "issued_at": copy.issued_at.isoformat(timespec="seconds"),
            "parameters_sha256": copy.parameters_sha256,
            "redacted": copy.redacted,
        },
        "parameters": copy.parameters.as_json(),
    }


def pack_files(
    copy: PackCopy, numbering: DeviceNumbering | None = None
) -> tuple[list[DeviceConfig], list[PackFile]]:
    """The device configurations and every file of the copy, in the order they are listed.

    Nothing in a redacted copy's files holds a key. `numbering` gives the device files
    other interface and policy numbers than every stored pack prints.
    """
    configs = device_configs(copy, numbering)
    files = [
        PackFile(config.filename, config.text.encode(), f"{config.label} configuration")
        for config in configs
    ]
    if script := keepalive_script(copy):
        files.append(
            PackFile(KEEPALIVE_FILENAME, script.encode(), "Keep-alive script", executable=True)
        )
    document = json.dumps(parameters_document(copy), indent=2, ensure_ascii=False) + "\n"
    files.append(
        PackFile(PARAMETERS_FILENAME, document.encode(), "Every parameter of the pack, as JSON")
    )
    return configs, files


def zip_folder(copy: PackCopy) -> str:
    """The folder the zip puts the files in: reference, version, and which copy."""
    folder = f"{copy.reference}-config-pack-v{copy.version}"
    return f"{folder}-redacted" if copy.redacted else folder


def files_zip(files: list[PackFile], *, folder: str, issued_at: datetime) -> bytes:
    """A zip of `files` in one folder, dated `issued_at` (same files, same bytes)."""
    buffer = io.BytesIO()
    timestamp = issued_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(f"{folder}/{file.name}", date_time=timestamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if file.executable else 0o100644) << 16
            archive.writestr(info, file.content)
    return buffer.getvalue()


def document_context(copy: PackCopy, *, configs: list[DeviceConfig], files: list[PackFile]) -> dict:
    """What the PDF template shows: the parameters, arranged for reading.

    The template escapes everything as usual; nothing here is marked safe.
    """
    parameters = copy.parameters
    scripts = [file for file in files if file.name == KEEPALIVE_FILENAME]
    chosen = VENDORS_BY_KEY[parameters.device_vendor]
    ipsec = parameters.ipsec
    mtu_nat = ipsec.tunnel_mtu(nat_traversal=True)
    mtu_no_nat = ipsec.tunnel_mtu(nat_traversal=False)
    return {
        "p": parameters,
        "reference": parameters.reference,
        "version": copy.version,
        "issued_at": copy.issued_at,
        "parameters_sha256": copy.parameters_sha256,
        "changes": list(copy.changes) if copy.version > 1 else [],
        "reason": copy.reason,
        "redacted": copy.redacted,
        "customer": parameters.customer,
        "region": parameters.region,
        "ike_label": parameters.ike_label,
        "ikev2": parameters.ikev2,
        "static": parameters.static,
        "bgp": parameters.bgp,
        "routing": parameters.routing,
        "tunnels": parameters.tunnels,
        "used_tunnels": parameters.used_tunnels,
        "one_tunnel": parameters.one_tunnel,
        "firewall_rules": FIREWALL_RULES,
        "ipsec": ipsec,
        "aws_initiates": ipsec.aws_initiates,
        "vendors": VENDORS,
        # How the advised MTU and MSS are made (with NAT traversal: the printed values),
        # and what would fit without NAT traversal.
        "mtu_nat": mtu_nat,
        "mtu_no_nat": mtu_no_nat,
        "mtu_nat_cost_bytes": mtu_no_nat.mtu - mtu_nat.mtu,
        "keepalive": parameters.keepalive,
        "keepalive_script": scripts[0].content.decode() if scripts else "",
        "configs": configs,
        "chosen_vendor": chosen.key.value,
        "chosen_vendor_label": chosen.label,
        "chosen_config": next(config for config in configs if config.vendor == chosen.key),
        "files": [
            {
                "name": file.name,
                "description": file.description,
                "size": len(file.content),
                "sha256": file.sha256,
            }
            for file in files
        ],
    }
