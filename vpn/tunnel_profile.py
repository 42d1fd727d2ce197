"""The IPsec parameters the portal asks AWS for, per tunnel: one named, strong profile.

Provisioning sends exactly these options for both tunnels (AWS's defaults would accept
every algorithm, including weak ones), and the config pack prints the same values, so
the customer's device is configured to match what AWS was told.
"""

from dataclasses import dataclass

from vpn.choices import IkeVersion


@dataclass(frozen=True)
class TunnelProfile:
    """The options of one tunnel, in AWS's vocabulary (`VpnTunnelOptionsSpecification`)."""

    name: str
    ike_version: str
    phase1_encryption: str
    phase1_integrity: str
    phase1_dh_group: int
    phase1_lifetime_seconds: int
    phase2_encryption: str
    phase2_integrity: str
    phase2_dh_group: int
    phase2_lifetime_seconds: int
    rekey_margin_seconds: int
    rekey_fuzz_percentage: int
    replay_window_size: int
    dpd_timeout_seconds: int
    dpd_timeout_action: str
    startup_action: str

    def aws_options(self, *, inside_cidr: str, psk: str) -> dict:
        """The `TunnelOptions` entry of `CreateVpnConnection` for one tunnel."""
        return {
            "TunnelInsideCidr": inside_cidr,
            "PreSharedKey": psk,
            "IKEVersions": [{"Value": self.ike_version}],
            "Phase1EncryptionAlgorithms": [{"Value": self.phase1_encryption}],
            "Phase1IntegrityAlgorithms": [{"Value": self.phase1_integrity}],
            "Phase1DHGroupNumbers": [{"Value": self.phase1_dh_group}],
            "Phase1LifetimeSeconds": self.phase1_lifetime_seconds,
            "Phase2EncryptionAlgorithms": [{"Value": self.phase2_encryption}],
            "Phase2IntegrityAlgorithms": [{"Value": self.phase2_integrity}],
            "Phase2DHGroupNumbers": [{"Value": self.phase2_dh_group}],
            "Phase2LifetimeSeconds": self.phase2_lifetime_seconds,
            "RekeyMarginTimeSeconds": self.rekey_margin_seconds,
            "RekeyFuzzPercentage": self.rekey_fuzz_percentage,
            "ReplayWindowSize": self.replay_window_size,
            "DPDTimeoutSeconds": self.dpd_timeout_seconds,
            "DPDTimeoutAction": self.dpd_timeout_action,
            "StartupAction": self.startup_action,
        }


def tunnel_profile(ike_version: str) -> TunnelProfile:
    """The profile for a request's IKE version.

    AES-256 with SHA-256 and DH group 14 (2048-bit MODP) in both phases: strong, and
    supported by every device the pack covers. With IKEv2, AWS starts the tunnel itself
    (`start`), which only IKEv2 allows; with IKEv1 the customer's device must initiate.
    On dead peer detection AWS restarts the tunnel rather than just clearing it.
    """
    ikev2 = ike_version == IkeVersion.IKEV2
    return TunnelProfile(
        name="aes256-sha256-modp2048",
        ike_version=IkeVersion(ike_version).value,
        phase1_encryption="AES256",
        phase1_integrity="SHA2-256",
        phase1_dh_group=14,
        phase1_lifetime_seconds=28_800,
        phase2_encryption="AES256",
        phase2_integrity="SHA2-256",
        phase2_dh_group=14,
        phase2_lifetime_seconds=3_600,
        rekey_margin_seconds=540,
        rekey_fuzz_percentage=100,
        replay_window_size=1_024,
        dpd_timeout_seconds=30,
        dpd_timeout_action="restart",
        startup_action="start" if ikev2 else "add",
    )


# Hold time AWS uses for BGP sessions over the tunnels (seconds).
BGP_HOLD_TIME_SECONDS = 30
# What AWS documents for the tunnels: MTU 1446 and TCP MSS 1406 at most (less with some
# algorithms and NAT-T); the pack advises these.
TUNNEL_MTU = 1446
TUNNEL_TCP_MSS = 1406
