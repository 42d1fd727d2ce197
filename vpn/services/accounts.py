"""Staff accounts from single sign-on: a user created at their first login, and their
portal groups set from the provider's groups at every login.

The provider's groups map to the portal's two staff groups by settings
(`OIDC_SE_GROUPS`, `OIDC_OPS_GROUPS`). A login replaces the user's staff groups with the
mapped ones and leaves any other group alone; a user the mapping puts in no group loses
staff access and is refused. Local accounts (those with a usable password: the
break-glass accounts) are never taken over by a login from the provider.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from vpn.permissions import OPS, SOLUTIONS_ENGINEERS

logger = logging.getLogger(__name__)


class StaffLoginRefused(Exception):
    """A single sign-on login the portal does not accept; the message says why."""


def staff_groups_for(provider_groups: Iterable[str]) -> set[str]:
    """The portal's staff groups that the provider's `provider_groups` map to."""
    given = set(provider_groups)
    mapping = {SOLUTIONS_ENGINEERS: settings.OIDC_SE_GROUPS, OPS: settings.OIDC_OPS_GROUPS}
    return {group for group, names in mapping.items() if given & set(names)}


def staff_user_sync(
    *,
    username: str,
    email: str,
    first_name: str,
    last_name: str,
    provider_groups: Iterable[str],
):
    """The staff user `username`, created or updated from the provider's claims.

    Raises StaffLoginRefused for a disabled account, for a local (password) account of
    that name, and, once their
    staff groups are taken away (committed), for a user the mapping puts in no group.
    """
    wanted = staff_groups_for(provider_groups)
    with transaction.atomic():
        users = get_user_model()
        user = users.objects.select_for_update().filter(username=username).first()
        if user is None:
            user = users(username=username)
            user.set_unusable_password()
        elif not user.is_active:
            raise StaffLoginRefused(
                f"The portal's account “{username}” is disabled. Ask an administrator."
            )
        elif user.has_usable_password():
            raise StaffLoginRefused(
                f"“{username}” is a local account of the portal: single sign-on cannot log "
                "in as it. Ask an administrator."
            )
        user.email = email
        user.first_name = first_name[:150]
        user.last_name = last_name[:150]
        user.is_staff = bool(wanted)
        user.save()
        staff_groups = Group.objects.filter(name__in=(SOLUTIONS_ENGINEERS, OPS))
        user.groups.remove(*staff_groups.exclude(name__in=wanted))
        user.groups.add(*staff_groups.filter(name__in=wanted))
    if not wanted:
        logger.warning("Single sign-on: %s is in no group the portal maps; refused", username)
        raise StaffLoginRefused(
            f"Your account ({username}) is in none of the groups that give access to the "
            "portal. Ask your administrator to add you to the solutions engineers' or Ops' "
            "group."
        )
    logger.info("Single sign-on: %s logged in as %s", username, ", ".join(sorted(wanted)))
    return user
