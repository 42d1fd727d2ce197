"""URLs of the VPN app's pages; names follow `<model>_<action>`."""

from django.urls import path

from vpn.choices import ChangeKind
from vpn.views import changes, customer, intake, packs, requests, status

app_name = "vpn"

urlpatterns = [
    path("", requests.DashboardView.as_view(), name="dashboard"),
    path("requests.csv", requests.DashboardExportView.as_view(), name="request_export"),
    path("review/", intake.ReviewQueueView.as_view(), name="request_review"),
    path("requests/new/", requests.RequestCreateView.as_view(), name="request_create"),
    path("requests/invite/", intake.RequestInviteView.as_view(), name="request_invite"),
    path("requests/<int:pk>/", requests.RequestDetailView.as_view(), name="request_detail"),
    path("requests/<int:pk>/edit/", requests.RequestUpdateView.as_view(), name="request_update"),
    path("requests/<int:pk>/approve/", intake.RequestApproveView.as_view(), name="request_approve"),
    path(
        "requests/<int:pk>/send-back/",
        intake.RequestSendBackView.as_view(),
        name="request_send_back",
    ),
    path(
        "requests/<int:pk>/links/", intake.IntakeLinkCreateView.as_view(), name="intakelink_create"
    ),
    path("links/<int:pk>/revoke/", intake.IntakeLinkRevokeView.as_view(), name="intakelink_revoke"),
    path("links/<int:pk>/resend/", intake.IntakeLinkResendView.as_view(), name="intakelink_resend"),
    path("links/<int:pk>/extend/", intake.IntakeLinkExtendView.as_view(), name="intakelink_extend"),
    path("requests/<int:pk>/retry/", requests.RequestRetryView.as_view(), name="request_retry"),
    path(
        "requests/<int:pk>/decommission/",
        requests.RequestDecommissionView.as_view(),
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

# Config packs: staff downloads of a stored version's redacted files, and the audited
# reading of its keys (the customer's link is wired apart).
urlpatterns += [
    path(
        "requests/<int:pk>/pack/reveal/",
        packs.ConfigPackRevealView.as_view(),
        name="configpack_reveal",
    ),
    # Before the variants': "device-files" is no variant.
    path(
        "requests/<int:pk>/pack/<int:version>/device-files/",
        packs.ConfigPackRenumberedView.as_view(),
        name="configpack_renumbered",
    ),
    path(
        "requests/<int:pk>/pack/<int:version>/<str:variant>/",
        packs.ConfigPackDownloadView.as_view(),
        name="configpack_download",
    ),
]

# Changes to a live VPN: a page per change, and per kind its proposal and its applying
# (each kind is an action of its own in the roles matrix).
urlpatterns += [
    path("changes/<int:pk>/", changes.ChangeDetailView.as_view(), name="change_detail"),
    path("changes/<int:pk>/cancel/", changes.ChangeCancelView.as_view(), name="change_cancel"),
]
for kind in ChangeKind:
    slug = kind.value.replace("_", "-")
    urlpatterns += [
        path(
            f"requests/<int:pk>/changes/{slug}/",
            changes.PROPOSE_VIEWS[kind].as_view(),
            name=f"change_propose_{kind.value}",
        ),
        path(
            f"changes/<int:pk>/apply/{slug}/",
            changes.APPLY_VIEWS[kind].as_view(),
            name=f"change_apply_{kind.value}",
        ),
    ]
