"""Logging in: the login page (single sign-on, and local passwords for break-glass), the
single sign-on round trip through the OpenID provider, and the admin's login page.

All of them are public. With `LOCAL_PASSWORD_LOGIN` off the login page shows only the
single sign-on button and refuses a posted password (403) before any check, and the
admin's own login page sends everyone to the portal's.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from mozilla_django_oidc import views as oidc_views

from vpn.sso import sso_enabled


@method_decorator(login_not_required, name="dispatch")
class PortalLoginView(auth_views.LoginView):
    """The login page: the single sign-on button, and the password form for break-glass."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        """Refuse a password when local passwords are off; check it otherwise."""
        if not settings.LOCAL_PASSWORD_LOGIN:
            return render(
                request,
                "registration/local_login_off.html",
                {"sso_enabled": sso_enabled()},
                status=403,
            )
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        """What the page offers: single sign-on, local passwords, or both."""
        return super().get_context_data(
            sso_enabled=sso_enabled(),
            sso_name=settings.OIDC_PROVIDER_NAME,
            local_passwords=settings.LOCAL_PASSWORD_LOGIN,
            **kwargs,
        )


def _when_sso_enabled(view):
    """`view`, answering 404 while single sign-on is not configured."""

    @login_not_required
    @never_cache
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        return view(request, *args, **kwargs)

    return guarded


sso_start = _when_sso_enabled(oidc_views.OIDCAuthenticationRequestView.as_view())
sso_start.__doc__ = "Send the browser to the OpenID provider to sign in (with state and PKCE)."
sso_callback = _when_sso_enabled(oidc_views.OIDCAuthenticationCallbackView.as_view())
sso_callback.__doc__ = "The provider's answer: check it, log the user in or say why not."


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login page is the portal's: one place where passwords are accepted."""
    query = request.GET.urlencode()
    return redirect(f"{reverse('login')}?{query}" if query else reverse("login"))
