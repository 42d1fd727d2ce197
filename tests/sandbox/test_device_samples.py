"""GetVpnConnectionDeviceTypes and GetVpnConnectionDeviceSampleConfiguration."""

import pytest
from botocore.exceptions import ClientError

TUNNELS = [
    {
        "PreSharedKey": "sample_key_one",
        "TunnelInsideCidr": "169.254.50.0/30",
        "Phase1EncryptionAlgorithms": [{"Value": "AES256"}],
        "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}],
        "Phase1DHGroupNumbers": [{"Value": 14}],
        "Phase2EncryptionAlgorithms": [{"Value": "AES256-GCM-16"}],
        "Phase2DHGroupNumbers": [{"Value": 20}],
    },
    {"PreSharedKey": "sample_key_two", "TunnelInsideCidr": "169.254.51.4/30"},
]


def device_id(ec2, vendor: str) -> str:
    """The device type id of a vendor."""
    devices = ec2.get_vpn_connection_device_types()["VpnConnectionDeviceTypes"]
    return next(d["VpnConnectionDeviceTypeId"] for d in devices if d["Vendor"] == vendor)


def test_device_types(ec2):
    devices = ec2.get_vpn_connection_device_types()["VpnConnectionDeviceTypes"]
    assert {device["Vendor"] for device in devices} >= {"Generic", "Strongswan"}
    for device in devices:
        assert set(device) == {"VpnConnectionDeviceTypeId", "Vendor", "Platform", "Software"}


def test_strongswan_sample_has_the_connection_values(ec2, make_vpn, customer_gateway):
    vpn = make_vpn(
        LocalIpv4NetworkCidr="10.70.0.0/16",
        RemoteIpv4NetworkCidr="10.0.0.0/16",
        TunnelOptions=TUNNELS,
    )
    sample = ec2.get_vpn_connection_device_sample_configuration(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnConnectionDeviceTypeId=device_id(ec2, "Strongswan"),
        InternetKeyExchangeVersion="ikev2",
    )["VpnConnectionDeviceSampleConfiguration"]
    first, second = vpn["Options"]["TunnelOptions"]
    assert "keyexchange=ikev2" in sample
    assert f"leftid={customer_gateway['IpAddress']}" in sample
    assert "leftsubnet=10.70.0.0/16" in sample
    assert "rightsubnet=10.0.0.0/16" in sample
    for tunnel in (first, second):
        assert f"right={tunnel['OutsideIpAddress']}" in sample
        assert (
            f"{customer_gateway['IpAddress']} {tunnel['OutsideIpAddress']} : "
            f'PSK "{tunnel["PreSharedKey"]}"'
        ) in sample
    assert "ike=aes256-sha256-modp2048!" in sample
    assert "esp=aes256gcm16-ecp384!" in sample
    assert "ike=aes128-sha1-modp1024!" in sample  # the second tunnel's defaults
    assert "169.254.50.2/30" in sample and "169.254.51.6/30" in sample


def test_generic_sample_has_the_connection_values(ec2, make_vpn, customer_gateway):
    vpn = make_vpn(TunnelOptions=TUNNELS)
    sample = ec2.get_vpn_connection_device_sample_configuration(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnConnectionDeviceTypeId=device_id(ec2, "Generic"),
    )["VpnConnectionDeviceSampleConfiguration"]
    assert vpn["VpnConnectionId"] in sample
    assert "IKEV1" in sample  # AWS's default when no version is asked for
    assert "IPSec Tunnel #1" in sample and "IPSec Tunnel #2" in sample
    for tunnel in vpn["Options"]["TunnelOptions"]:
        assert tunnel["PreSharedKey"] in sample
        assert tunnel["OutsideIpAddress"] in sample
    assert "169.254.50.1/30" in sample and "169.254.50.2/30" in sample
    assert "Customer Gateway ASN     : 65010" in sample
    assert customer_gateway["IpAddress"] in sample


def test_sample_errors(ec2, make_vpn):
    vpn = make_vpn()
    with pytest.raises(ClientError) as info:
        ec2.get_vpn_connection_device_sample_configuration(
            VpnConnectionId=vpn["VpnConnectionId"], VpnConnectionDeviceTypeId="ffffffff"
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        ec2.get_vpn_connection_device_sample_configuration(
            VpnConnectionId=vpn["VpnConnectionId"],
            VpnConnectionDeviceTypeId=device_id(ec2, "Generic"),
            InternetKeyExchangeVersion="ikev3",
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        ec2.get_vpn_connection_device_sample_configuration(
            VpnConnectionId="vpn-0123456789abcdef0",
            VpnConnectionDeviceTypeId=device_id(ec2, "Generic"),
        )
    assert info.value.response["Error"]["Code"] == "InvalidVpnConnectionID.NotFound"
