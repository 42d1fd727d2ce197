"""The tunnel MTU and TCP MSS are computed from the IPsec profile, and every file says so.

The function is checked against values worked out by hand (the formula in
`docs/config-pack.md`) for every cipher and integrity algorithm AWS accepts, with and
without NAT traversal. Every vendor's rendered configuration then carries exactly the
computed values, for the pack's own profile and for others.
"""

import re

import pytest

from tests.config_pack_support import connection_request, copies_with_profile
from vpn.choices import IkeVersion, Routing
from vpn.packs.contract import PackParameters
from vpn.packs.devices import device_configs
from vpn.tunnel_profile import esp_tunnel_mtu, tunnel_profile

# (cipher, integrity, NAT traversal, MTU, MSS), by hand: room = 1500 - 20 (IPv4)
# - 8 (UDP, NAT-T only) - 8 (ESP header) - IV - ICV, rounded down to whole blocks,
# less the 2-byte ESP trailer; MSS = MTU - 40.
HAND_COMPUTED = [
    # AES-CBC: IV 16, block 16. SHA1 ICV 12: 1444 -> 1440 / NAT-T 1436 -> 1424.
    ("AES128", "SHA1", False, 1438, 1398),
    ("AES128", "SHA1", True, 1422, 1382),
    ("AES256", "SHA1", False, 1438, 1398),
    ("AES256", "SHA1", True, 1422, 1382),
    # SHA2-256 ICV 16: 1440 -> 1440 / NAT-T 1432 -> 1424.
    ("AES128", "SHA2-256", False, 1438, 1398),
    ("AES128", "SHA2-256", True, 1422, 1382),
    ("AES256", "SHA2-256", False, 1438, 1398),
    ("AES256", "SHA2-256", True, 1422, 1382),
    # SHA2-384 ICV 24: 1432 -> 1424 / NAT-T 1424 -> 1424.
    ("AES128", "SHA2-384", False, 1422, 1382),
    ("AES128", "SHA2-384", True, 1422, 1382),
    ("AES256", "SHA2-384", False, 1422, 1382),
    ("AES256", "SHA2-384", True, 1422, 1382),
    # SHA2-512 ICV 32: 1424 -> 1424 / NAT-T 1416 -> 1408.
    ("AES128", "SHA2-512", False, 1422, 1382),
    ("AES128", "SHA2-512", True, 1406, 1366),
    ("AES256", "SHA2-512", False, 1422, 1382),
    ("AES256", "SHA2-512", True, 1406, 1366),
    # AES-GCM-16: IV 8, its own ICV 16, 4-byte alignment: 1448 -> 1448 / 1440 -> 1440.
    # These are AWS's documented maxima, 1446 and 1406.
    ("AES128-GCM-16", "SHA2-256", False, 1446, 1406),
    ("AES128-GCM-16", "SHA2-256", True, 1438, 1398),
    ("AES256-GCM-16", "SHA2-256", False, 1446, 1406),
    ("AES256-GCM-16", "SHA2-256", True, 1438, 1398),
]


@pytest.mark.parametrize(
    ("encryption", "integrity", "nat_traversal", "mtu", "mss"),
    HAND_COMPUTED,
    ids=[f"{e}-{i}-{'natt' if n else 'nonat'}" for e, i, n, _, _ in HAND_COMPUTED],
)
def test_the_formula_gives_the_hand_computed_values(encryption, integrity, nat_traversal, mtu, mss):
    sizes = esp_tunnel_mtu(encryption=encryption, integrity=integrity, nat_traversal=nat_traversal)
    assert (sizes.mtu, sizes.tcp_mss) == (mtu, mss)
    # The packet fits, and one byte more would not: it would need another block.
    block = sizes.block_bytes
    assert sizes.overhead_bytes + sizes.encrypted_bytes <= sizes.path_mtu
    assert (sizes.mtu + 2) % block == 0
    one_more = -(-(sizes.mtu + 1 + 2) // block) * block
    assert sizes.overhead_bytes + one_more > sizes.path_mtu


def test_gcm_carries_its_own_integrity_check():
    for integrity in ("SHA1", "SHA2-256", "SHA2-384", "SHA2-512"):
        sizes = esp_tunnel_mtu(encryption="AES256-GCM-16", integrity=integrity, nat_traversal=True)
        assert (sizes.iv_bytes, sizes.icv_bytes, sizes.mtu) == (8, 16, 1438)


def test_a_smaller_path_gives_smaller_values():
    # PPPoE links carry 1492 bytes: 1492 - 28 - 8 - 16 - 16 = 1424 -> 1424 - 2.
    sizes = esp_tunnel_mtu(
        encryption="AES256", integrity="SHA2-256", nat_traversal=True, path_mtu=1492
    )
    assert (sizes.mtu, sizes.tcp_mss) == (1422, 1382)
    sizes = esp_tunnel_mtu(
        encryption="AES256", integrity="SHA2-256", nat_traversal=False, path_mtu=1492
    )
    assert (sizes.mtu, sizes.tcp_mss) == (1422, 1382)


def test_an_unknown_algorithm_is_refused_by_name():
    with pytest.raises(ValueError, match="'3DES'"):
        esp_tunnel_mtu(encryption="3DES", integrity="SHA1", nat_traversal=True)
    with pytest.raises(ValueError, match="'MD5'"):
        esp_tunnel_mtu(encryption="AES256", integrity="MD5", nat_traversal=True)


@pytest.mark.django_db
@pytest.mark.parametrize("ike_version", IkeVersion.values)
def test_the_pack_advises_the_values_with_nat_traversal(ike_version):
    profile = tunnel_profile(ike_version)
    assert (profile.phase2_encryption, profile.phase2_integrity) == ("AES256", "SHA2-256")
    parameters = PackParameters.from_request(connection_request(ike_version=ike_version))
    assert (parameters.mtu, parameters.tcp_mss) == (1422, 1382)
    assert parameters.as_json()["mtu"] == 1422 and parameters.as_json()["tcp_mss"] == 1382


# Where each vendor's file states the MTU and the MSS: every match must be the value.
MTU_PATTERNS = {
    "swanctl.conf": r"ip link set ipsec\d mtu (\d+) up",
    "cisco-ios-vti.txt": r"^ ip mtu (\d+)$",
    "juniper-srx.txt": r"family inet mtu (\d+)$",
    "palo-alto-panos.txt": r"tunnel\.\d mtu (\d+)$",
    "fortinet-fortigate.txt": r"^ +set mtu (\d+)$",
    "generic.txt": r"Tunnel MTU \.+ (\d+) bytes",
}
MSS_PATTERNS = {
    "swanctl.conf": r"--set-mss (\d+)$",
    "cisco-ios-vti.txt": r"^ ip tcp adjust-mss (\d+)$",
    "juniper-srx.txt": r"tcp-mss ipsec-vpn mss (\d+)$",
    "palo-alto-panos.txt": r"MTU less 40 bytes: (\d+) bytes with the MTU above",
    "fortinet-fortigate.txt": r"^ +set tcp-mss (\d+)$",
    "generic.txt": r"TCP MSS \(clamp\) \.+ (\d+) bytes",
}
PER_INTERFACE_MTU = {
    "swanctl.conf",
    "cisco-ios-vti.txt",
    "juniper-srx.txt",
    "palo-alto-panos.txt",
    "fortinet-fortigate.txt",
}
PER_INTERFACE_MSS = {"cisco-ios-vti.txt", "fortinet-fortigate.txt"}
PROFILES = [
    ("AES256", "SHA2-256", 1422, 1382),  # the pack's own
    ("AES128", "SHA1", 1422, 1382),
    ("AES256", "SHA2-512", 1406, 1366),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("encryption", "integrity", "mtu", "mss"), PROFILES)
@pytest.mark.parametrize("tunnel_count", (1, 2))
def test_every_device_file_carries_the_computed_values(
    encryption, integrity, mtu, mss, tunnel_count
):
    vpn_request = connection_request(routing=Routing.STATIC, tunnel_count=tunnel_count)
    full, redacted = copies_with_profile(
        vpn_request, phase2_encryption=encryption, phase2_integrity=integrity
    )
    assert (full.parameters.mtu, full.parameters.tcp_mss) == (mtu, mss)
    for copy in (full, redacted):
        configs = {config.filename: config.text for config in device_configs(copy)}
        assert set(configs) == set(MTU_PATTERNS)
        for name, text in configs.items():
            mtus = re.findall(MTU_PATTERNS[name], text, re.MULTILINE)
            msss = re.findall(MSS_PATTERNS[name], text, re.MULTILINE)
            assert set(mtus) == {str(mtu)}, (name, mtus)
            assert set(msss) == {str(mss)}, (name, msss)
            # Set on every tunnel interface where the vendor sets it per interface.
            if name in PER_INTERFACE_MTU:
                assert len(mtus) == tunnel_count, (name, mtus)
            if name in PER_INTERFACE_MSS:
                assert len(msss) == tunnel_count, (name, msss)
            # AWS's maxima (AES-GCM's values) are printed nowhere they are not the values.
            for stale in {"1446", "1406"} - {str(mtu), str(mss)}:
                assert stale not in text, (name, stale)
