"""`GetActiveVpnTunnelStatus`: what an up tunnel negotiated, by default what its options
prescribe, and otherwise what the control API says."""

import pytest

PRESCRIBED = {
    "IKEVersions": [{"Value": "ikev2"}],
    "Phase1EncryptionAlgorithms": [{"Value": "AES256"}],
    "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}],
    "Phase1DHGroupNumbers": [{"Value": 14}],
    "Phase2EncryptionAlgorithms": [{"Value": "AES256"}],
    "Phase2IntegrityAlgorithms": [{"Value": "SHA2-256"}],
    "Phase2DHGroupNumbers": [{"Value": 14}],
}


def _up(control_api, vpn_id, ip):
    code, body = control_api(
        "POST",
        "/_sandbox/tunnel-status",
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "status": "UP"},
    )
    assert code == 200, body


def _active(ec2, vpn_id, ip) -> dict:
    return ec2.get_active_vpn_tunnel_status(VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=ip)[
        "ActiveVpnTunnelStatus"
    ]


def test_an_up_tunnel_negotiated_what_its_options_prescribe(ec2, make_vpn, control_api):
    vpn = make_vpn(TunnelOptions=[PRESCRIBED, {"IKEVersions": [{"Value": "ikev1"}]}])
    vpn_id = vpn["VpnConnectionId"]
    ip, other = (t["OutsideIpAddress"] for t in vpn["Options"]["TunnelOptions"])
    # Down: nothing negotiated.
    assert _active(ec2, vpn_id, ip) == {"ProvisioningStatus": "available"}
    _up(control_api, vpn_id, ip)
    _up(control_api, vpn_id, other)
    assert _active(ec2, vpn_id, ip) == {
        "ProvisioningStatus": "available",
        "IkeVersion": "ikev2",
        "Phase1EncryptionAlgorithm": "AES256",
        "Phase1IntegrityAlgorithm": "SHA2-256",
        "Phase1DHGroup": 14,
        "Phase2EncryptionAlgorithm": "AES256",
        "Phase2IntegrityAlgorithm": "SHA2-256",
        "Phase2DHGroup": 14,
    }
    # AWS's defaults allow everything: the strongest common choice is made.
    assert _active(ec2, vpn_id, other)["IkeVersion"] == "ikev1"
    assert _active(ec2, vpn_id, other)["Phase1DHGroup"] == 14


def test_the_control_api_sets_what_was_negotiated(ec2, make_vpn, control_api):
    vpn = make_vpn(TunnelOptions=[PRESCRIBED, PRESCRIBED])
    vpn_id = vpn["VpnConnectionId"]
    ip = vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"]
    _up(control_api, vpn_id, ip)
    weak = {"IkeVersion": "ikev1", "Phase1DHGroup": 2}
    code, body = control_api(
        "POST",
        "/_sandbox/tunnel-negotiated",
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "negotiated": weak},
    )
    assert code == 200 and body["negotiated"] == weak
    active = _active(ec2, vpn_id, ip)
    assert (active["IkeVersion"], active["Phase1DHGroup"], active["Phase2DHGroup"]) == (
        "ikev1",
        2,
        14,
    )
    code, _ = control_api(
        "POST",
        "/_sandbox/tunnel-negotiated",
        {"vpn_connection_id": vpn_id, "outside_ip": ip, "negotiated": None},
    )
    assert code == 200
    assert _active(ec2, vpn_id, ip)["IkeVersion"] == "ikev2"


@pytest.mark.parametrize(
    "negotiated",
    [{"Cipher": "DES"}, {"Phase1DHGroup": "two"}, {"IkeVersion": 2}, "ikev1"],
)
def test_bad_negotiated_values_are_refused(make_vpn, control_api, negotiated):
    vpn = make_vpn()
    code, body = control_api(
        "POST",
        "/_sandbox/tunnel-negotiated",
        {
            "vpn_connection_id": vpn["VpnConnectionId"],
            "outside_ip": vpn["Options"]["TunnelOptions"][0]["OutsideIpAddress"],
            "negotiated": negotiated,
        },
    )
    assert code == 400, body
