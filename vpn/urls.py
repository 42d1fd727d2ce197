"""URLs of the VPN app's pages; names follow `<model>_<action>`."""

from django.urls import path

from vpn.views import staff

app_name = "vpn"

urlpatterns = [
    path("", staff.DashboardView.as_view(), name="dashboard"),
    path("requests/<int:pk>/", staff.RequestDetailView.as_view(), name="request_detail"),
]
