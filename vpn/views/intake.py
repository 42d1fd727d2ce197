"""Intake pages for solutions engineers: the review queue, inviting a customer, the
review's approve and send back, and customer links."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import FormView, ListView, View
from django.views.generic.detail import SingleObjectMixin

from vpn.choices import TERMINAL_STAGES
from vpn.forms import IntakeLinkExtendForm, InviteForm, SendBackForm
from vpn.models import IntakeLink
from vpn.permissions import RoleRequiredMixin
from vpn.selectors import intake as intake_selectors
from vpn.selectors import requests as request_selectors
from vpn.services import intake
from vpn.services.stages import StageMoveError
from vpn.views.requests import RequestActionView, new_link_remember


class ReviewQueueView(RoleRequiredMixin, ListView):
    """Submitted requests waiting for an engineer's review, longest waiting first."""

    action = "request_review_view"
    template_name = "vpn/intake/review_queue.html"
    context_object_name = "requests"

    def get_queryset(self):
        """The submitted requests, flagged when they look like duplicates."""
        return intake_selectors.request_review_queue()

    def get_context_data(self, **kwargs):
        """Each row's warnings (a gateway IP or subnet another open request uses), what
        each row may do, and the send-back form: approve and send back work from here."""
        context = super().get_context_data(**kwargs)
        rows = list(context["requests"])
        conflicts = intake_selectors.requests_conflicts(requests=rows)
        for vpn_request in rows:
            vpn_request.conflicts = conflicts[vpn_request.pk]
            vpn_request.actions = request_selectors.request_actions(
                request=vpn_request, user=self.request.user
            )
        context.update(requests=rows, send_back_form=SendBackForm())
        return context


class RequestInviteView(RoleRequiredMixin, FormView):
    """The engineer names the customer and contact; the contact gets a link to fill in
    the rest themselves."""

    action = "request_invite"
    template_name = "vpn/intake/invite_form.html"
    form_class = InviteForm

    def form_valid(self, form):
        """Start the draft request, email the link, and show it for copying."""
        values = form.intake.values
        new = intake.intake_invite(
            customer_name=values["customer_name"],
            org_id=values["org_id"],
            contact_name=values["contact_name"],
            contact_email=values["contact_email"],
            owner=self.request.user,
        )
        messages.success(self.request, f"{new.link.request.reference} created for the invitation.")
        response = redirect(new.link.request)
        new_link_remember(response, self.request, new)
        return response

    def get_context_data(self, **kwargs):
        """How long the link will work."""
        return super().get_context_data(link_days=settings.INTAKE_LINK_DAYS, **kwargs)


class RequestApproveView(RequestActionView):
    """Approve a submitted request."""

    action = "request_approve"

    def act(self, vpn_request):
        """Approve through the stage service."""
        intake.request_approve(request_id=vpn_request.pk, actor=self.request.user)
        messages.success(self.request, f"{vpn_request.reference} is approved.")


class RequestSendBackView(RequestActionView):
    """Send a submitted request back to the customer with a message."""

    action = "request_send_back"

    def act(self, vpn_request):
        """Move it to "changes requested" and email the contact a fresh link."""
        form = SendBackForm(self.request.POST)
        if not form.is_valid():
            raise StageMoveError(" ".join(form.errors["message"]))
        _, new = intake.request_send_back(
            request_id=vpn_request.pk, message=form.cleaned_data["message"], actor=self.request.user
        )
        contact = vpn_request.customer.contact_email
        if new.emailed:
            messages.success(self.request, f"Sent back to the customer; {contact} was emailed.")
        else:
            messages.warning(
                self.request,
                "Sent back to the customer, but no email went out: pass on the link below.",
            )
            self.new_link = new

    def post(self, request, *args, **kwargs):
        """Show the fresh link for copying, on the request's page (from the queue too),
        when it could not be emailed."""
        self.new_link = None
        response = super().post(request, *args, **kwargs)
        if self.new_link is not None:
            response = redirect(self.object)
            new_link_remember(response, request, self.new_link)
        return response


class IntakeLinkCreateView(RequestActionView):
    """Make a new customer link for a request still in intake, and email it."""

    action = "intakelink_create"

    def post(self, request, *args, **kwargs):
        """Make the link and show it once on the request page."""
        self.object = self.get_object()
        if self.object.stage in TERMINAL_STAGES:
            messages.error(request, f"{self.object.reference} is closed; it needs no link.")
            return redirect(self.object)
        new = intake.intake_link_create(request_id=self.object.pk, created_by=request.user)
        response = redirect(self.object)
        new_link_remember(response, request, new)
        return response


class IntakeLinkResendView(RoleRequiredMixin, SingleObjectMixin, View):
    """Email a customer link again (with a new address: the old one stops working)."""

    action = "intakelink_resend"
    model = IntakeLink
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        """Resend it, and show the new address once on the request page."""
        link = self.get_object()
        try:
            new = intake.intake_link_resend(link_id=link.pk, actor=request.user)
        except intake.IntakeClosed as exc:
            messages.error(request, str(exc))
            return redirect(link.request)
        contact = link.request.customer.contact_email
        if new.emailed:
            messages.success(request, f"The link was emailed again to {contact}.")
        else:
            messages.warning(request, "The link has a new address, but no email went out.")
        response = redirect(link.request)
        new_link_remember(response, request, new)
        return response


class IntakeLinkExtendView(RoleRequiredMixin, SingleObjectMixin, View):
    """Give a customer link a new expiry and tell the customer."""

    action = "intakelink_extend"
    model = IntakeLink
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        """Extend it to the day chosen; a refusal is a message on the request page."""
        link = self.get_object()
        form = IntakeLinkExtendForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["expires_on"]))
            return redirect(link.request)
        try:
            link, emailed = intake.intake_link_extend(
                link_id=link.pk, expires_at=form.expires_at, actor=request.user
            )
        except intake.IntakeClosed as exc:
            messages.error(request, str(exc))
            return redirect(link.request)
        until = f"{link.expires_at:%-d %B %Y}"
        contact = link.request.customer.contact_email
        if emailed:
            messages.success(request, f"The link works until {until}; {contact} was told.")
        else:
            messages.warning(request, f"The link works until {until}, but no email went out.")
        return redirect(link.request)


class IntakeLinkRevokeView(RoleRequiredMixin, SingleObjectMixin, View):
    """Stop a customer link from working."""

    action = "intakelink_revoke"
    model = IntakeLink
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        """Revoke it and go back to its request."""
        link = intake.intake_link_revoke(link_id=self.get_object().pk, actor=request.user)
        messages.success(request, "The link is revoked: it no longer opens anything.")
        return redirect(link.request)
