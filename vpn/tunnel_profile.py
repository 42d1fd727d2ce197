"""The IPsec parameters the portal asks AWS for, per tunnel: one named, strong profile,
and the options a change to a live VPN may set over it.

Provisioning sends exactly these options for both tunnels (AWS's defaults would accept
every algorithm, including weak ones), with tunnel endpoint lifecycle control (AWS's
maintenance waits for the customer's schedule) and IKE and BGP logs sent to CloudWatch
Logs. The config pack prints the same values, so the customer's device is configured to
match what AWS was told, and what a tunnel actually negotiated is compared with them
(`negotiated_comparison`). The tunnel MTU and TCP MSS the pack advises are computed from
the same profile (`esp_tunnel_mtu`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

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

    @property
    def aws_initiates(self) -> bool:
        """Whether AWS starts the tunnel itself, again after closing it.

        Only with IKEv2 and startup action `start`; otherwise (IKEv1, or `add`) AWS
        waits, and only the customer's device can bring a closed tunnel back.
        """
        return self.ike_version == IkeVersion.IKEV2 and self.startup_action == "start"

    def tunnel_mtu(self, *, nat_traversal: bool) -> "TunnelMtu":
        """The tunnel MTU and TCP MSS of this profile's ESP (phase 2) over a 1500-byte path."""
        return esp_tunnel_mtu(
            encryption=self.phase2_encryption,
            integrity=self.phase2_integrity,
            nat_traversal=nat_traversal,
        )

    def aws_options(self, *, inside_cidr: str, psk: str, log_group_arn: str) -> dict:
        """The `TunnelOptions` entry of `CreateVpnConnection` for one tunnel: the profile,
        lifecycle control, and IKE and BGP logs in JSON to the log group `log_group_arn`."""
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
            "EnableTunnelLifecycleControl": True,
            "LogOptions": {
                "CloudWatchLogOptions": {
                    "LogEnabled": True,
                    "LogGroupArn": log_group_arn,
                    "LogOutputFormat": "json",
                    "BgpLogEnabled": True,
                    "BgpLogGroupArn": log_group_arn,
                    "BgpLogOutputFormat": "json",
                }
            },
        }

    @property
    def negotiable(self) -> dict:
        """What the profile prescribes that a tunnel negotiates, by the names the portal
        stores a negotiation under (`vpn.aws.NegotiatedParameters.as_dict`)."""
        return {
            "ike_version": self.ike_version,
            "phase1_encryption": self.phase1_encryption,
            "phase1_integrity": self.phase1_integrity,
            "phase1_dh_group": self.phase1_dh_group,
            "phase2_encryption": self.phase2_encryption,
            "phase2_integrity": self.phase2_integrity,
            "phase2_dh_group": self.phase2_dh_group,
        }


# What each negotiated parameter is called on the pages.
NEGOTIATED_LABELS = {
    "ike_version": "IKE version",
    "phase1_encryption": "Phase 1 encryption",
    "phase1_integrity": "Phase 1 integrity",
    "phase1_dh_group": "Phase 1 DH group",
    "phase2_encryption": "Phase 2 encryption",
    "phase2_integrity": "Phase 2 integrity",
    "phase2_dh_group": "Phase 2 DH group",
}


@dataclass(frozen=True)
class NegotiatedRow:
    """One parameter: what the pack prescribes, what the tunnel negotiated, and whether
    they differ (a drift)."""

    key: str
    label: str
    prescribed: object
    negotiated: object
    drift: bool


def negotiated_comparison(*, profile: TunnelProfile, negotiated: dict) -> list[NegotiatedRow]:
    """Each negotiable parameter beside the profile's; empty when nothing was negotiated.

    A parameter AWS did not report (the integrity of an AES-GCM cipher, which has none)
    is no drift.
    """
    if not negotiated:
        return []
    rows = []
    for key, prescribed in profile.negotiable.items():
        value = negotiated.get(key)
        rows.append(
            NegotiatedRow(
                key=key,
                label=NEGOTIATED_LABELS[key],
                prescribed=prescribed,
                negotiated=value,
                drift=value not in (None, "") and value != prescribed,
            )
        )
    return rows


def tunnel_profile(ike_version: str, options: Mapping[str, object] | None = None) -> TunnelProfile:
    """The profile for a request's IKE version, with the tunnel options a change set
    since provisioning (`options`, checked by `tunnel_options_check`) over it.

    AES-256 with SHA-256 and DH group 14 (2048-bit MODP) in both phases: strong, and
    supported by every device the pack covers. With IKEv2, AWS starts the tunnel itself
    (`start`), which only IKEv2 allows; with IKEv1 the customer's device must initiate.
    On dead peer detection AWS restarts the tunnel rather than just clearing it.
    """
    ikev2 = ike_version == IkeVersion.IKEV2
    profile = TunnelProfile(
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
    changed = {
        name: value
        for name, value in (options or {}).items()
        if name in TUNNEL_OPTIONS and name != "ike_version"
    }
    if not changed:
        return profile
    profile = replace(profile, **changed)
    # A profile changed from the named one is named after what it now is.
    return replace(
        profile,
        name=(
            f"custom-{profile.phase1_encryption}-{profile.phase1_integrity}-"
            f"dh{profile.phase1_dh_group}"
        ).lower(),
    )


# --- Tunnel options a change may set ---------------------------------------------------


@dataclass(frozen=True)
class TunnelOption:
    """One option of the profile that a change may set, and the values it may take.

    The choices are AWS's, less what is weak (SHA-1, DH groups below 2048-bit MODP, the
    short-exponent groups 22 to 24) and what not every device the pack configures can
    print (AES-GCM); a number option has a range instead.
    """

    name: str  # the `TunnelProfile` field
    label: str
    choices: tuple = ()
    low: int = 0
    high: int = 0

    def clean(self, value: object) -> object:
        """The option's value from text or a number; ValueError in words if refused."""
        if self.choices:
            wanted = str(value).strip()
            for choice in self.choices:
                if str(choice).lower() == wanted.lower():
                    return choice
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise ValueError(f"{self.label}: “{wanted[:40]}” is not one of {allowed}.")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{self.label}: give a whole number of seconds.") from None
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.label}: {number} is not between {self.low} and {self.high}.")
        return number


_ENCRYPTION = ("AES128", "AES256")
_INTEGRITY = ("SHA2-256", "SHA2-384", "SHA2-512")
_DH_GROUPS = (14, 15, 16, 17, 18, 19, 20, 21)

TUNNEL_OPTIONS: dict[str, TunnelOption] = {
    option.name: option
    for option in (
        TunnelOption("ike_version", "IKE version", choices=tuple(IkeVersion.values)),
        TunnelOption("phase1_encryption", "Phase 1 encryption", choices=_ENCRYPTION),
        TunnelOption("phase1_integrity", "Phase 1 integrity", choices=_INTEGRITY),
        TunnelOption("phase1_dh_group", "Phase 1 DH group", choices=_DH_GROUPS),
        TunnelOption("phase1_lifetime_seconds", "Phase 1 lifetime", low=900, high=28_800),
        TunnelOption("phase2_encryption", "Phase 2 encryption", choices=_ENCRYPTION),
        TunnelOption("phase2_integrity", "Phase 2 integrity", choices=_INTEGRITY),
        TunnelOption("phase2_dh_group", "Phase 2 DH group", choices=_DH_GROUPS),
        TunnelOption("phase2_lifetime_seconds", "Phase 2 lifetime", low=900, high=3_600),
        TunnelOption(
            "dpd_timeout_action", "DPD timeout action", choices=("clear", "none", "restart")
        ),
        TunnelOption("startup_action", "Startup action", choices=("add", "start")),
    )
}


def tunnel_options_check(
    *, ike_version: str, current: Mapping[str, object], wanted: Mapping[str, object]
) -> tuple[str, dict[str, object]]:
    """The IKE version and the profile's changed options once `wanted` is applied over a
    request's `current` ones; ValueError naming every problem.

    The options are checked one by one against their choices, and together as AWS checks
    them: phase 2 lives less long than phase 1 and at least twice the rekey margin, and
    AWS starts a tunnel itself (`start`) only with IKEv2.
    """
    problems, cleaned = [], {}
    for name, value in wanted.items():
        option = TUNNEL_OPTIONS.get(name)
        if option is None:
            problems.append(f"“{name}” is not a tunnel option the portal sets.")
            continue
        try:
            cleaned[name] = option.clean(value)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError(" ".join(problems))
    new_ike = str(cleaned.pop("ike_version", ike_version))
    options = {**current, **cleaned}
    if new_ike != ike_version and "startup_action" not in cleaned:
        # The startup action followed the old version's default: it follows the new one's.
        options.pop("startup_action", None)
    profile = tunnel_profile(new_ike, options)
    if profile.phase2_lifetime_seconds >= profile.phase1_lifetime_seconds:
        problems.append(
            f"The phase 2 lifetime ({profile.phase2_lifetime_seconds} s) must be shorter than "
            f"the phase 1 lifetime ({profile.phase1_lifetime_seconds} s)."
        )
    if profile.phase2_lifetime_seconds < 2 * profile.rekey_margin_seconds:
        problems.append(
            f"The phase 2 lifetime must be at least {2 * profile.rekey_margin_seconds} s, twice "
            f"the rekey margin of {profile.rekey_margin_seconds} s."
        )
    if profile.startup_action == "start" and profile.ike_version != IkeVersion.IKEV2:
        problems.append(
            "Startup action “start” (AWS initiates) works with IKEv2 only; choose “add” with IKEv1."
        )
    if problems:
        raise ValueError(" ".join(problems))
    return new_ike, options


def tunnel_options_modification(profile: TunnelProfile) -> dict:
    """The `TunnelOptions` of `ModifyVpnTunnelOptions` that put a tunnel on `profile`:
    every option of the profile, sent explicitly, its inside CIDR, key and log options
    left as they are."""
    return {
        name: value
        for name, value in profile.aws_options(inside_cidr="", psk="", log_group_arn="").items()
        if name not in ("TunnelInsideCidr", "PreSharedKey", "LogOptions")
    }


# Hold time AWS uses for BGP sessions over the tunnels (seconds).
BGP_HOLD_TIME_SECONDS = 30


# --- How large a packet the tunnels carry -------------------------------------------------

# The path between the customer's gateway and AWS: Ethernet's 1500 bytes, what the
# internet carries end to end.
PATH_MTU = 1500
# What ESP in tunnel mode puts around a packet (RFC 4303): a new IPv4 header, the ESP
# header (SPI and sequence number) and, after the padding, the trailer (pad length and
# next header). With NAT traversal a UDP header comes first (port 4500, RFC 3948).
OUTER_IP_HEADER_BYTES = 20
NAT_TRAVERSAL_UDP_HEADER_BYTES = 8
ESP_HEADER_BYTES = 8
ESP_TRAILER_BYTES = 2
# The IPv4 and TCP headers of the packet inside: TCP's MSS is the tunnel MTU less these.
INNER_IP_AND_TCP_HEADER_BYTES = 40


@dataclass(frozen=True)
class EspCipher:
    """How an ESP cipher sizes a packet: the IV it sends, the block it pads to, and for
    an AEAD cipher (which needs no integrity algorithm) its own ICV."""

    iv_bytes: int
    block_bytes: int
    icv_bytes: int | None = None


# The ciphers AWS accepts for phase 2, by AWS's names. AES-CBC sends a 16-byte IV and
# pads to its 16-byte block (RFC 3602); AES-GCM sends an 8-byte IV, pads only to ESP's
# 4-byte alignment and carries a 16-byte ICV ("-16", RFC 4106).
ESP_CIPHERS = {
    "AES128": EspCipher(iv_bytes=16, block_bytes=16),
    "AES256": EspCipher(iv_bytes=16, block_bytes=16),
    "AES128-GCM-16": EspCipher(iv_bytes=8, block_bytes=4, icv_bytes=16),
    "AES256-GCM-16": EspCipher(iv_bytes=8, block_bytes=4, icv_bytes=16),
}
# The ICV each HMAC leaves in an ESP packet: SHA-1 truncated to 96 bits (RFC 2404), the
# SHA-2 family to half their output (RFC 4868).
ESP_INTEGRITY_ICV_BYTES = {"SHA1": 12, "SHA2-256": 16, "SHA2-384": 24, "SHA2-512": 32}


@dataclass(frozen=True)
class TunnelMtu:
    """The largest packet a tunnel carries over the path, with the parts it is made of.

    `overhead_bytes` is what goes around the packet before padding (outer headers, ESP
    header, IV, ICV); `encrypted_bytes` the room left for the encrypted part, rounded
    down to whole cipher blocks; the packet is that, less the ESP trailer.
    """

    path_mtu: int
    nat_traversal: bool
    outer_header_bytes: int
    esp_header_bytes: int
    iv_bytes: int
    icv_bytes: int
    block_bytes: int
    encrypted_bytes: int
    mtu: int
    tcp_mss: int

    @property
    def overhead_bytes(self) -> int:
        """Every byte around the packet except the padding and the ESP trailer."""
        return self.outer_header_bytes + self.esp_header_bytes + self.iv_bytes + self.icv_bytes


def esp_tunnel_mtu(
    *, encryption: str, integrity: str, nat_traversal: bool, path_mtu: int = PATH_MTU
) -> TunnelMtu:
    """The tunnel interface MTU and the TCP MSS for an ESP profile over a path.

    The formula (sizes in bytes, algorithms by AWS's names)::

        outer    = 20 (IPv4 header) + 8 (UDP header, with NAT traversal only)
        room     = path_mtu - outer - 8 (ESP header) - IV - ICV
        mtu      = floor(room / block) * block - 2 (ESP trailer)
        tcp_mss  = mtu - 40 (inner IPv4 and TCP headers)

    where IV and block come from the cipher (AES-CBC: 16 and 16; AES-GCM: 8 and 4) and
    ICV from the integrity algorithm (SHA1 12, SHA2-256 16, SHA2-384 24, SHA2-512 32) or,
    for AES-GCM, from the cipher itself (16, the integrity algorithm is then unused).
    The ESP payload (the packet, its padding and the trailer) fills whole blocks, so the
    packet is the largest that leaves room for the trailer in them.

    For AES-256-CBC with SHA2-256 over 1500 bytes: room = 1500 - 20 - 8 - 8 - 16 - 16 =
    1432 with NAT traversal, 89 blocks = 1424, MTU 1422 and MSS 1382; without NAT
    traversal room = 1440, MTU 1438 and MSS 1398. Raises `ValueError` for an algorithm
    whose sizes are not known.
    """
    try:
        cipher = ESP_CIPHERS[encryption]
    except KeyError:
        raise ValueError(f"No ESP sizes are known for the cipher {encryption!r}.") from None
    if cipher.icv_bytes is not None:
        icv_bytes = cipher.icv_bytes
    else:
        try:
            icv_bytes = ESP_INTEGRITY_ICV_BYTES[integrity]
        except KeyError:
            raise ValueError(
                f"No ESP sizes are known for the integrity algorithm {integrity!r}."
            ) from None
    outer_header_bytes = OUTER_IP_HEADER_BYTES + (
        NAT_TRAVERSAL_UDP_HEADER_BYTES if nat_traversal else 0
    )
    room = path_mtu - outer_header_bytes - ESP_HEADER_BYTES - cipher.iv_bytes - icv_bytes
    encrypted_bytes = room // cipher.block_bytes * cipher.block_bytes
    mtu = encrypted_bytes - ESP_TRAILER_BYTES
    return TunnelMtu(
        path_mtu=path_mtu,
        nat_traversal=nat_traversal,
        outer_header_bytes=outer_header_bytes,
        esp_header_bytes=ESP_HEADER_BYTES,
        iv_bytes=cipher.iv_bytes,
        icv_bytes=icv_bytes,
        block_bytes=cipher.block_bytes,
        encrypted_bytes=encrypted_bytes,
        mtu=mtu,
        tcp_mss=mtu - INNER_IP_AND_TCP_HEADER_BYTES,
    )
