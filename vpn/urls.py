"""URLs of the VPN app's pages; names follow `<model>_<action>`."""

from django.urls import path

from vpn.views import customer, packs, staff, status

app_name = "vpn"

urlpatterns = [
    path("", staff.DashboardView.as_view(), name="dashboard"),
    path("review/", staff.ReviewQueueView.as_view(), name="request_review"),
    path("requests/new/", staff.RequestCreateView.as_view(), name="request_create"),
    path("requests/invite/", staff.RequestInviteView.as_view(), name="request_invite"),
    path("requests/<int:pk>/", staff.RequestDetailView.as_view(), name="request_detail"),
    path("requests/<int:pk>/edit/", staff.RequestUpdateView.as_view(), name="request_update"),
    path("requests/<int:pk>/approve/", staff.RequestApproveView.as_view(), name="request_approve"),
    path(
        "requests/<int:pk>/send-back/",
        staff.RequestSendBackView.as_view(),
        name="request_send_back",
    ),
    path(
        "requests/<int:pk>/links/", staff.IntakeLinkCreateView.as_view(), name="intakelink_create"
    ),
    path("links/<int:pk>/revoke/", staff.IntakeLinkRevokeView.as_view(), name="intakelink_revoke"),
    path("requests/<int:pk>/retry/", staff.RequestRetryView.as_view(), name="request_retry"),
    path(
        "requests/<int:pk>/decommission/",
        staff.RequestDecommissionView.as_view(),
        name="request_decommission",
    ),
    path(
        "requests/<int:pk>/status.json",
        status.RequestStatusJsonView.as_view(),
        name="request_status",
    ),
    path("status/refresh/", status.StatusRefreshView.as_view(), name="status_refresh"),
    # The customer's page; the token is checked by the view (a 404 for a malformed one).
    path("intake/<str:token>/", customer.intake_page, name="intake"),
    path("intake/<str:token>/pack/<str:variant>/", customer.intake_pack, name="intake_pack"),
]

# Config packs: staff downloads of a stored version (the customer's link is wired apart).
urlpatterns += [
    path(
        "requests/<int:pk>/pack/<int:version>/<str:variant>/",
        packs.ConfigPackDownloadView.as_view(),
        name="configpack_download",
    ),
]
