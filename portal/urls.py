"""Root URL configuration: the portal's pages, login, the admin (which carries the RQ dashboard)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vpn.views import public, status

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", public.health, name="health"),
    path("readyz", public.ready, name="ready"),
    path("favicon.ico", public.favicon, name="favicon"),
    path("metrics", status.metrics, name="metrics"),
    # The admin carries django-rq's dashboard, for Ops only (`vpn.admin.RqDashboardAdmin`).
    path("admin/", admin.site.urls),
    path("", include("vpn.urls")),
]
