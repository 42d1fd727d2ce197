"""ModifyVpnTunnelOptions (PSK rotation, parameter changes) and ModifyVpnConnectionOptions."""

import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError


def error_code(info) -> str:
    """The EC2 error code of a raised ClientError."""
    return info.value.response["Error"]["Code"]


def xml_tunnels(vpn) -> list[ET.Element]:
    """The ``ipsec_tunnel`` elements of a connection's configuration document."""
    document = vpn["CustomerGatewayConfiguration"].encode()
    return ET.fromstring(document).findall("ipsec_tunnel")  # noqa: S314 - the sandbox's own XML


@pytest.fixture
def vpn(make_vpn):
    """A connection with known pre-shared keys."""
    return make_vpn(
        TunnelOptions=[
            {"PreSharedKey": "original_key_1", "Phase1LifetimeSeconds": 20000},
            {"PreSharedKey": "original_key_2"},
        ]
    )


def outside_ips(vpn) -> list[str]:
    """The tunnels' outside addresses, in order."""
    return [tunnel["OutsideIpAddress"] for tunnel in vpn["Options"]["TunnelOptions"]]


def test_pre_shared_key_rotation(ec2, vpn, describe_vpn):
    first_ip, _ = outside_ips(vpn)
    response = ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnTunnelOutsideIpAddress=first_ip,
        TunnelOptions={"PreSharedKey": "rotated.key_1"},
    )
    # AWS answers with the whole connection.
    assert response["VpnConnection"]["VpnConnectionId"] == vpn["VpnConnectionId"]
    assert response["VpnConnection"]["Options"]["TunnelOptions"][0]["PreSharedKey"] == (
        "rotated.key_1"
    )

    described = describe_vpn(vpn["VpnConnectionId"])
    first, second = described["Options"]["TunnelOptions"]
    assert first["PreSharedKey"] == "rotated.key_1"
    assert second["PreSharedKey"] == "original_key_2"
    # Options that were not part of the change keep their values.
    assert first["Phase1LifetimeSeconds"] == 20000
    xml_first, xml_second = xml_tunnels(described)
    assert xml_first.findtext("ike/pre_shared_key") == "rotated.key_1"
    assert xml_second.findtext("ike/pre_shared_key") == "original_key_2"


def test_parameter_changes(ec2, vpn, describe_vpn):
    _, second_ip = outside_ips(vpn)
    ec2.modify_vpn_tunnel_options(
        VpnConnectionId=vpn["VpnConnectionId"],
        VpnTunnelOutsideIpAddress=second_ip,
        TunnelOptions={
            "Phase1EncryptionAlgorithms": [{"Value": "AES256-GCM-16"}],
            "Phase1IntegrityAlgorithms": [{"Value": "SHA2-512"}],
            "Phase1DHGroupNumbers": [{"Value": 21}],
            "Phase2DHGroupNumbers": [{"Value": 19}],
            "Phase2LifetimeSeconds": 1500,
            "IKEVersions": [{"Value": "ikev2"}],
            "StartupAction": "start",
            "DPDTimeoutSeconds": 45,
            "DPDTimeoutAction": "restart",
            "TunnelInsideCidr": "169.254.77.12/30",
        },
    )
    described = describe_vpn(vpn["VpnConnectionId"])
    first, second = described["Options"]["TunnelOptions"]
    assert [v["Value"] for v in second["Phase1EncryptionAlgorithms"]] == ["AES256-GCM-16"]
    assert [v["Value"] for v in second["Phase1DHGroupNumbers"]] == [21]
    assert [v["Value"] for v in second["IkeVersions"]] == ["ikev2"]
    assert second["Phase2LifetimeSeconds"] == 1500
    assert second["StartupAction"] == "start"
    assert second["DpdTimeoutSeconds"] == 45
    assert second["DpdTimeoutAction"] == "restart"
    assert second["TunnelInsideCidr"] == "169.254.77.12/30"
    assert second["OutsideIpAddress"] == second_ip
    assert [v["Value"] for v in first["IkeVersions"]] == ["ikev1", "ikev2"]

    _, xml_second = xml_tunnels(described)
    assert xml_second.findtext("ike/encryption_protocol") == "aes-256-gcm-16"
    assert xml_second.findtext("ike/authentication_protocol") == "sha2-512"
    assert xml_second.findtext("ike/perfect_forward_secrecy") == "group21"
    assert xml_second.findtext("ipsec/perfect_forward_secrecy") == "group19"
    assert xml_second.findtext("ipsec/lifetime") == "1500"
    assert xml_second.findtext("vpn_gateway/tunnel_inside_address/ip_address") == "169.254.77.13"
    assert xml_second.findtext("customer_gateway/tunnel_inside_address/ip_address") == (
        "169.254.77.14"
    )


def test_modification_is_validated(ec2, vpn, describe_vpn):
    first_ip, _ = outside_ips(vpn)
    other_cidr = vpn["Options"]["TunnelOptions"][1]["TunnelInsideCidr"]
    bad_changes = [
        {"PreSharedKey": "short"},
        {"TunnelInsideCidr": other_cidr},
        {"Phase2LifetimeSeconds": 3600, "Phase1LifetimeSeconds": 3000},
        {"StartupAction": "start"},  # still allows IKEv1
    ]
    for change in bad_changes:
        with pytest.raises(ClientError) as info:
            ec2.modify_vpn_tunnel_options(
                VpnConnectionId=vpn["VpnConnectionId"],
                VpnTunnelOutsideIpAddress=first_ip,
                TunnelOptions=change,
            )
        assert error_code(info) == "InvalidParameterValue", change
    with pytest.raises(ClientError) as info:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=vpn["VpnConnectionId"],
            VpnTunnelOutsideIpAddress="203.0.113.250",
            TunnelOptions={"PreSharedKey": "another_key"},
        )
    assert error_code(info) == "InvalidParameterValue"
    # Nothing was changed by the refused requests.
    assert describe_vpn(vpn["VpnConnectionId"])["Options"] == vpn["Options"]


def test_connection_options(ec2, vpn, describe_vpn):
    response = ec2.modify_vpn_connection_options(
        VpnConnectionId=vpn["VpnConnectionId"],
        LocalIpv4NetworkCidr="10.60.0.0/16",
        RemoteIpv4NetworkCidr="10.0.0.0/8",
    )
    assert response["VpnConnection"]["Options"]["LocalIpv4NetworkCidr"] == "10.60.0.0/16"
    options = describe_vpn(vpn["VpnConnectionId"])["Options"]
    assert options["LocalIpv4NetworkCidr"] == "10.60.0.0/16"
    assert options["RemoteIpv4NetworkCidr"] == "10.0.0.0/8"
    with pytest.raises(ClientError) as info:
        ec2.modify_vpn_connection_options(
            VpnConnectionId=vpn["VpnConnectionId"], LocalIpv4NetworkCidr="10.60.0.1/16"
        )
    assert error_code(info) == "InvalidParameterValue"


def test_deleted_connection_cannot_be_modified(ec2, vpn):
    ec2.delete_vpn_connection(VpnConnectionId=vpn["VpnConnectionId"])
    with pytest.raises(ClientError) as info:
        ec2.modify_vpn_tunnel_options(
            VpnConnectionId=vpn["VpnConnectionId"],
            VpnTunnelOutsideIpAddress=outside_ips(vpn)[0],
            TunnelOptions={"PreSharedKey": "another_key"},
        )
    assert error_code(info) == "InvalidVpnConnection.InvalidState"
