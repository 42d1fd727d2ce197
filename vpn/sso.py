"""How staff authenticate: single sign-on through OpenID Connect, and local passwords for
break-glass.

`StaffOidcBackend` is mozilla-django-oidc's backend matched to the portal: a user is the
provider's `OIDC_USERNAME_CLAIM` claim, created or updated (groups included) by
vpn.services.accounts at every login, and a refusal is shown on the login page.
`LocalPasswordBackend` is Django's password check, answering only while
`LOCAL_PASSWORD_LOGIN` is on; both give permissions as Django's ModelBackend does.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from vpn.services.accounts import StaffLoginRefused, staff_user_sync


def sso_enabled() -> bool:
    """Whether single sign-on is configured."""
    return bool(settings.OIDC_RP_CLIENT_ID)


class StaffOidcBackend(OIDCAuthenticationBackend):
    """Staff log in through the company's OpenID provider (authorization code + PKCE)."""

    def authenticate(self, request, **kwargs):
        """mozilla-django-oidc's login, only while single sign-on is configured."""
        if not sso_enabled():
            return None
        return super().authenticate(request, **kwargs)

    def verify_claims(self, claims) -> bool:
        """A login needs the claim that names the user."""
        return bool(claims.get(settings.OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims):
        """The user the username claim names (never matched by email)."""
        username = claims.get(settings.OIDC_USERNAME_CLAIM, "")
        return self.UserModel.objects.filter(username=username)

    def create_user(self, claims):
        """A new staff user, at their first login."""
        return self._sync(claims)

    def update_user(self, user, claims):
        """The existing user, with their name, email and groups updated."""
        return self._sync(claims)

    def get_user(self, user_id):
        """The session's user, unless their account has been disabled since."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def _sync(self, claims):
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        try:
            return staff_user_sync(
                username=claims[settings.OIDC_USERNAME_CLAIM],
                email=claims.get("email", ""),
                first_name=claims.get("given_name", ""),
                last_name=claims.get("family_name", ""),
                provider_groups=[str(group) for group in groups],
            )
        except StaffLoginRefused as exc:
            messages.error(self.request, str(exc))
            # mozilla-django-oidc turns this into a failed login (back to the login page).
            raise SuspiciousOperation(str(exc)) from exc


class LocalPasswordBackend(ModelBackend):
    """Django's username and password check, while `LOCAL_PASSWORD_LOGIN` is on."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        """Check the password only while local passwords are allowed."""
        if not settings.LOCAL_PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
