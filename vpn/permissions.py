"""Who may do what: the roles matrix of `docs/roles.md` as data, the staff groups that
carry it, and the one check every staff view and every button of the request page use.

Each action has a rule: the permission a user needs, or a marker for what no account
grants (a management command needs a shell on the server; the customer's pages need
their link; no page shows a pre-shared key). Views name their action
(`RoleRequiredMixin.action`), the request page asks `user_may` which buttons to offer,
and the admin's actions check the same permissions. The tests read `docs/roles.md` and
try every cell of it against the running portal.
"""

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured

SOLUTIONS_ENGINEERS = "Solutions engineers"
OPS = "Ops"

# Rules that no permission of an account grants.
SHELL = "shell access"  # management commands: whoever has a shell on the server (Ops)
CUSTOMER_LINK = "customer link"  # the customer's pages: whoever holds the link
NOBODY = "nobody"  # no page shows a pre-shared key, to anyone

VIEW = "vpn.view_vpnrequest"
OPERATE = "vpn.operate_vpnrequest"
REVEAL_PSK = "vpn.reveal_psk"
PROPOSE_CHANGE = "vpn.add_vpnchange"
APPLY_CHANGE = "vpn.apply_vpnchange"

# Changes to live VPNs, one kind each: SEs and Ops propose, Ops apply (by default).
_CHANGE_KINDS = (
    "add_subnet",
    "remove_subnet",
    "customer_gateway",
    "rotate_psk",
    "tunnel_options",
    "nat",
    "tunnel_count",
    "maintenance",
    "lifecycle_control",
)

# Action -> the permission it needs, or one of the markers above.
ROLES: dict[str, str] = {
    # Staff pages.
    "dashboard_view": VIEW,
    "dashboard_export": VIEW,
    "request_view": VIEW,
    "request_review_view": VIEW,
    "request_create": "vpn.add_vpnrequest",
    "request_invite": "vpn.add_vpnrequest",
    "request_update": "vpn.change_vpnrequest",
    "request_status_view": VIEW,
    "metrics_view": VIEW,
    # The request page's buttons, and the admin actions that do the same.
    "request_approve": "vpn.approve_vpnrequest",
    "request_send_back": "vpn.approve_vpnrequest",
    "intakelink_create": "vpn.add_intakelink",
    "intakelink_revoke": "vpn.change_intakelink",
    "intakelink_resend": "vpn.change_intakelink",
    "intakelink_extend": "vpn.change_intakelink",
    "request_retry": OPERATE,
    "request_cancel": OPERATE,
    "request_decommission": OPERATE,
    "status_refresh": VIEW,
    # Changes to live VPNs: a change's page, and cancelling a proposal (or stopping a
    # change between tunnels, which the service checks against the kind's apply rule).
    "change_view": VIEW,
    "change_cancel": PROPOSE_CHANGE,
    **{f"change_propose_{kind}": PROPOSE_CHANGE for kind in _CHANGE_KINDS},
    **{f"change_apply_{kind}": APPLY_CHANGE for kind in _CHANGE_KINDS},
    # Ops' tools.
    "rq_dashboard": OPERATE,
    "awsaccount_add": "vpn.add_awsaccount",
    "awsaccount_placement": "vpn.change_awsaccount",
    # Config packs and keys.
    "configpack_download_redacted": VIEW,
    "configpack_reveal": REVEAL_PSK,
    "psk_on_page": NOBODY,
    # The customer's link.
    "customer_page": CUSTOMER_LINK,
    "customer_pack": CUSTOMER_LINK,
    # Management commands that change something.
    "command": SHELL,
}

_SE_PERMISSIONS = (
    "vpn.view_customer",
    "vpn.add_customer",
    "vpn.change_customer",
    "vpn.view_vpnrequest",
    "vpn.add_vpnrequest",
    "vpn.change_vpnrequest",
    "vpn.approve_vpnrequest",
    "vpn.view_intakelink",
    "vpn.add_intakelink",
    "vpn.change_intakelink",
    "vpn.view_tunnel",
    "vpn.view_tunnelstatuschange",
    "vpn.view_pendingmaintenance",
    "vpn.view_maintenancewindow",
    "vpn.view_awsresource",
    "vpn.view_stagetransition",
    "vpn.view_requestevent",
    "vpn.view_vpnchange",
    "vpn.add_vpnchange",
    "vpn.view_vpnchangecall",
)

GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SOLUTIONS_ENGINEERS: _SE_PERMISSIONS,
    OPS: (
        *_SE_PERMISSIONS,
        OPERATE,
        REVEAL_PSK,
        APPLY_CHANGE,
        "vpn.change_tunnel",
        "vpn.change_awsresource",
        # The audit trail: who downloaded which pack, who read keys and why.
        "vpn.view_configpack",
        "vpn.view_packdownload",
        "vpn.view_keyreveal",
        "vpn.view_statusrefresh",
        "vpn.view_awsaccount",
        "vpn.add_awsaccount",
        # Placement on or off (the admin's actions); the record itself stays read only.
        "vpn.change_awsaccount",
    ),
}


def permission_for(action: str) -> str:
    """The permission `action` needs; ImproperlyConfigured for an action without a row."""
    try:
        return ROLES[action]
    except KeyError:
        raise ImproperlyConfigured(f"“{action}” is not an action of the roles matrix.") from None


def user_may(user, action: str) -> bool:
    """Whether `user`'s account lets them do `action` (never for shell or link rules)."""
    rule = permission_for(action)
    if rule in (SHELL, CUSTOMER_LINK, NOBODY):
        return False
    return bool(user.has_perm(rule))


class RoleRequiredMixin(AccessMixin):
    """A staff view open to those whose account may do its `action`.

    Anyone else is refused before the view runs: a logged-in user with a 403, an
    anonymous one with the login page (the login middleware usually does that first).
    """

    action = ""

    def has_permission(self) -> bool:
        """Whether the matrix lets the user do the view's action."""
        return user_may(self.request.user, self.action)

    def dispatch(self, request, *args, **kwargs):
        """Refuse the user before the view runs unless they may do its action."""
        if not self.has_permission():
            return self.handle_no_permission()
        return super().dispatch(request, *args, **kwargs)


def groups_sync(**kwargs) -> None:
    """Create the staff groups and give each exactly its permissions."""
    for group_name, perm_names in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = []
        for perm_name in perm_names:
            app_label, codename = perm_name.split(".")
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
