"""Root URL configuration: the portal's pages, login (single sign-on too), the admin (which
carries the RQ dashboard)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vpn.views import accounts, public, status

urlpatterns = [
    path("login/", accounts.PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Single sign-on (OpenID Connect): to the provider and back.
    path("oidc/authenticate/", accounts.sso_start, name="oidc_authentication_init"),
    path("oidc/callback/", accounts.sso_callback, name="oidc_authentication_callback"),
    path("healthz", public.health, name="health"),
    path("readyz", public.ready, name="ready"),
    path("favicon.ico", public.favicon, name="favicon"),
    path("metrics", status.metrics, name="metrics"),
    # The admin carries django-rq's dashboard, for Ops only (`vpn.admin.RqDashboardAdmin`).
    path("admin/login/", accounts.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("vpn.urls")),
]
