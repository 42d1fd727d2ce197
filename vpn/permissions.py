"""Staff groups and what each may do, as data, with the function that applies it."""

from django.contrib.auth.models import Group, Permission

SOLUTIONS_ENGINEERS = "Solutions engineers"
OPS = "Ops"

_SE_PERMISSIONS = (
    "vpn.view_customer",
    "vpn.add_customer",
    "vpn.change_customer",
    "vpn.view_vpnrequest",
    "vpn.add_vpnrequest",
    "vpn.change_vpnrequest",
    "vpn.approve_vpnrequest",
    "vpn.view_tunnel",
    "vpn.view_tunnelstatuschange",
    "vpn.view_awsresource",
    "vpn.view_stagetransition",
)

GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SOLUTIONS_ENGINEERS: _SE_PERMISSIONS,
    OPS: (
        *_SE_PERMISSIONS,
        "vpn.operate_vpnrequest",
        "vpn.reveal_psk",
        "vpn.change_tunnel",
        "vpn.change_awsresource",
    ),
}


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
