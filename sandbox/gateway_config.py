"""The ``CustomerGatewayConfiguration`` document of a VPN connection.

AWS returns, with every VPN connection, an XML document describing both tunnels for the
customer's device: outside and inside addresses of each end, BGP peers, and the IKE and
IPsec parameters. moto returns one fixed document; this module renders the real values
of each tunnel, in AWS's structure, consistent with ``Options.TunnelOptions``.

Where a tunnel allows several algorithms, the document names the first one, which for
AWS's defaults gives the familiar aes-128-cbc / sha1 / group2 proposal.
"""

import xml.etree.ElementTree as ET

from sandbox.vpn import Tunnel, VpnConnection

IKE_ENCRYPTION = {
    "AES128": "aes-128-cbc",
    "AES256": "aes-256-cbc",
    "AES128-GCM-16": "aes-128-gcm-16",
    "AES256-GCM-16": "aes-256-gcm-16",
}
IKE_INTEGRITY = {
    "SHA1": "sha1",
    "SHA2-256": "sha2-256",
    "SHA2-384": "sha2-384",
    "SHA2-512": "sha2-512",
}
IPSEC_INTEGRITY = {
    "SHA1": "hmac-sha1-96",
    "SHA2-256": "hmac-sha2-256-128",
    "SHA2-384": "hmac-sha2-384-192",
    "SHA2-512": "hmac-sha2-512-256",
}

BGP_HOLD_TIME = 30
TCP_MSS_ADJUSTMENT = 1379
DPD_INTERVAL = 10
INSIDE_NETMASK = "255.255.255.252"


def _add(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _endpoint(
    parent: ET.Element, tag: str, outside_ip: str, inside_ip: str, asn: object | None
) -> None:
    side = _add(parent, tag)
    _add(_add(side, "tunnel_outside_address"), "ip_address", outside_ip)
    inside = _add(side, "tunnel_inside_address")
    _add(inside, "ip_address", inside_ip)
    _add(inside, "network_mask", INSIDE_NETMASK)
    _add(inside, "network_cidr", 30)
    if asn is not None:
        bgp = _add(side, "bgp")
        _add(bgp, "asn", asn)
        _add(bgp, "hold_time", BGP_HOLD_TIME)


def _ipsec_tunnel(parent: ET.Element, connection: VpnConnection, tunnel: Tunnel) -> None:
    settings = tunnel.settings
    bgp = not connection.static_routes_only
    element = _add(parent, "ipsec_tunnel")
    _endpoint(
        element,
        "customer_gateway",
        connection.customer_gateway_ip,
        tunnel.customer_inside_ip,
        connection.customer_asn if bgp else None,
    )
    _endpoint(
        element,
        "vpn_gateway",
        tunnel.outside_ip,
        tunnel.aws_inside_ip,
        connection.amazon_asn if bgp else None,
    )

    ike = _add(element, "ike")
    _add(ike, "authentication_protocol", IKE_INTEGRITY[settings["Phase1IntegrityAlgorithms"][0]])
    _add(ike, "encryption_protocol", IKE_ENCRYPTION[settings["Phase1EncryptionAlgorithms"][0]])
    _add(ike, "lifetime", settings["Phase1LifetimeSeconds"])
    _add(ike, "perfect_forward_secrecy", f"group{settings['Phase1DHGroupNumbers'][0]}")
    _add(ike, "mode", "main")
    _add(ike, "pre_shared_key", tunnel.pre_shared_key)

    ipsec = _add(element, "ipsec")
    _add(ipsec, "protocol", "esp")
    _add(
        ipsec,
        "authentication_protocol",
        IPSEC_INTEGRITY[settings["Phase2IntegrityAlgorithms"][0]],
    )
    _add(ipsec, "encryption_protocol", IKE_ENCRYPTION[settings["Phase2EncryptionAlgorithms"][0]])
    _add(ipsec, "lifetime", settings["Phase2LifetimeSeconds"])
    _add(ipsec, "perfect_forward_secrecy", f"group{settings['Phase2DHGroupNumbers'][0]}")
    _add(ipsec, "mode", "tunnel")
    _add(ipsec, "clear_df_bit", "true")
    _add(ipsec, "fragmentation_before_encryption", "true")
    _add(ipsec, "tcp_mss_adjustment", TCP_MSS_ADJUSTMENT)
    dpd = _add(ipsec, "dead_peer_detection")
    # AWS expresses its DPD timeout as probes every 10 s: 30 s is 3 retries.
    _add(dpd, "interval", DPD_INTERVAL)
    _add(dpd, "retries", settings["DpdTimeoutSeconds"] // DPD_INTERVAL)


def render(connection: VpnConnection) -> str:
    """The connection's ``CustomerGatewayConfiguration`` XML document."""
    root = ET.Element("vpn_connection", id=connection.id)
    _add(root, "customer_gateway_id", connection.customer_gateway_id)
    if connection.vpn_gateway_id:
        _add(root, "vpn_gateway_id", connection.vpn_gateway_id)
    if connection.transit_gateway_id:
        _add(root, "transit_gateway_id", connection.transit_gateway_id)
    _add(root, "vpn_connection_type", connection.type)
    if connection.static_routes_only:
        _add(root, "vpn_connection_attributes", "NoBGPVPNConnection")
    for tunnel in connection.tunnels:
        _ipsec_tunnel(root, connection, tunnel)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
