"""Pages for solutions engineers and ops; login is required by middleware."""

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.views.generic import DetailView, ListView

from vpn import selectors
from vpn.choices import Stage
from vpn.models import VpnRequest
from vpn.regions import REGION_CHOICES


class DashboardView(PermissionRequiredMixin, ListView):
    """Every request with its stage and tunnels, searchable, filterable and paged."""

    permission_required = "vpn.view_vpnrequest"
    template_name = "vpn/dashboard.html"
    context_object_name = "requests"
    paginate_by = settings.DASHBOARD_PAGE_SIZE

    def get_queryset(self):
        """Apply the search box and the filters from the query string."""
        params = self.request.GET
        return selectors.request_list(
            search=params.get("q", ""),
            stage=params.get("stage", ""),
            region=params.get("region", ""),
            owner_id=self.request.user.pk if params.get("mine") else None,
        )

    def paginate_queryset(self, queryset, page_size):
        """Show the last page for a page number past the end, rather than an error."""
        paginator = self.get_paginator(queryset, page_size)
        page = paginator.get_page(self.request.GET.get("page"))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        """Add the filter options and the current query (for pagination links)."""
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            stage_groups=[(key, label) for key, (label, _) in selectors.STAGE_GROUPS.items()],
            stages=Stage.choices,
            regions=REGION_CHOICES,
            filters=self.request.GET,
            query_string=query.urlencode(),
        )
        return context


class RequestDetailView(PermissionRequiredMixin, DetailView):
    """One request: its setup steps, intake, tunnels, AWS resources and history."""

    permission_required = "vpn.view_vpnrequest"
    template_name = "vpn/request_detail.html"
    context_object_name = "vpn_request"

    def get_object(self, queryset=None) -> VpnRequest:
        """Load the request with what the page shows."""
        try:
            return selectors.request_detail(pk=self.kwargs["pk"])
        except VpnRequest.DoesNotExist as exc:
            raise Http404("No such VPN request.") from exc

    def get_context_data(self, **kwargs):
        """Add the progress bar and the transition history."""
        context = super().get_context_data(**kwargs)
        context["steps"] = selectors.request_steps(request=self.object)
        context["transitions"] = selectors.request_transitions(request=self.object)
        return context
