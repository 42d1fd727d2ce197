"""Changes to a live VPN from the request page: propose one (a form per kind), read its
page (before and after, the impact in words, the steps, each AWS call, live while it
applies), apply it (a disruptive one once its impact is confirmed), record the
customer's confirmation of a tunnel that was never up, cancel it.

Each kind's propose and apply pages have their own URL and action in the roles matrix
(`change_propose_<kind>`, `change_apply_<kind>`): `propose_view` and `apply_view` make
the view of a kind. Every refusal is the change service's, shown as a message.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import DetailView, FormView, View

from vpn.choices import ChangeKind, ChangeState
from vpn.forms import CHANGE_FORMS, ChangeApplyForm
from vpn.models import VpnChange, VpnRequest
from vpn.permissions import RoleRequiredMixin
from vpn.selectors import changes as change_selectors
from vpn.selectors import requests as request_selectors
from vpn.services import changes


class ChangeProposeView(RoleRequiredMixin, FormView):
    """Propose a change of one kind (`kind`): the form, then the change's page."""

    kind = ""
    template_name = "vpn/changes/change_propose.html"

    def dispatch(self, request, *args, **kwargs):
        """Load the request (a 404 for none) before the form is built."""
        if not self.has_permission():
            return self.handle_no_permission()
        try:
            self.vpn_request = request_selectors.request_detail(pk=kwargs["pk"])
        except VpnRequest.DoesNotExist as exc:
            raise Http404("No such VPN request.") from exc
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        """The kind's form."""
        return CHANGE_FORMS[self.kind]

    def get_form_kwargs(self):
        """Forms know the request (its subnets, its current tunnel options)."""
        return {**super().get_form_kwargs(), "vpn_request": self.vpn_request}

    def form_valid(self, form):
        """Record the proposal through the service; its refusal goes back to the form."""
        try:
            change = changes.change_propose(
                request_id=self.vpn_request.pk,
                kind=self.kind,
                values=form.values(),
                reason=form.cleaned_data["reason"],
                user=self.request.user,
            )
        except changes.ChangeRefused as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        messages.success(
            self.request, f"{change.reference} proposed: read its impact, then apply it."
        )
        return redirect(change)

    def get_context_data(self, **kwargs):
        """The request, and the kind's name."""
        return super().get_context_data(
            vpn_request=self.vpn_request, kind_label=ChangeKind(self.kind).label, **kwargs
        )


class ChangeDetailView(RoleRequiredMixin, DetailView):
    """A change's page: what it changes, its impact, its steps and AWS calls (live while
    it applies), and the buttons the user may use."""

    action = "change_view"
    template_name = "vpn/changes/change_detail.html"
    context_object_name = "change"

    def get_object(self, queryset=None) -> VpnChange:
        """The change, with what the page shows."""
        try:
            return change_selectors.change_detail(pk=self.kwargs["pk"])
        except VpnChange.DoesNotExist as exc:
            raise Http404("No such change.") from exc

    def get_context_data(self, **kwargs):
        """The page's content, the impact in words and the apply form."""
        context = super().get_context_data(**kwargs)
        change = self.object
        context.update(
            change_selectors.change_page_context(
                change=change,
                user=self.request.user,
                awaited=changes.confirmation_awaited(change),
            ),
            impact=changes.change_impact(change),
            apply_form=ChangeApplyForm(auto_id="id_apply_%s"),
            poll_seconds=CHANGE_POLL_SECONDS,
        )
        return context


# How often a change's page, and the request page while a change is under way, look again.
CHANGE_POLL_SECONDS = 3


class ChangeApplyView(RoleRequiredMixin, View):
    """Apply a change of one kind (`kind`), resume it after it stopped, or record the
    customer's confirmation of the never-up tunnel it waits for. POST only."""

    kind = ""
    http_method_names = ["post"]

    def post(self, request, pk: int):
        """Do what the change's state calls for; report a refusal as a message."""
        change = VpnChange.objects.filter(pk=pk, kind=self.kind).first()
        if change is None:
            raise Http404("No such change of this kind.")
        form = ChangeApplyForm(request.POST)
        confirmed = form.is_valid() and form.cleaned_data["confirm"]
        try:
            if change.state == ChangeState.WAITING_FOR_TUNNEL and changes.confirmation_awaited(
                change
            ):
                changes.change_confirm_tunnel(change_id=change.pk, user=request.user)
                messages.success(
                    request, f"{change.reference}: the customer's confirmation is recorded."
                )
            else:
                changes.change_apply(change_id=change.pk, user=request.user, confirmed=confirmed)
                messages.success(
                    request,
                    f"{change.reference} is applying: follow it in the Changes card below.",
                )
                return redirect(
                    reverse("vpn:request_detail", args=[change.request_id]) + "#live-changes"
                )
        except changes.ChangeRefused as exc:
            messages.error(request, str(exc))
        return redirect(change)


class ChangeCancelView(RoleRequiredMixin, View):
    """Cancel a proposed change, or stop one between tunnels. POST only."""

    action = "change_cancel"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        """Cancel through the service; report a refusal as a message."""
        change = VpnChange.objects.filter(pk=pk).first()
        if change is None:
            raise Http404("No such change.")
        try:
            changes.change_cancel(change_id=change.pk, user=request.user)
        except changes.ChangeRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{change.reference} is cancelled.")
        return redirect(change)


def _for_kind(base: type, kind: ChangeKind, verb: str) -> type:
    """`base`'s view for one kind, with its own action of the roles matrix."""
    name = "".join(part.capitalize() for part in kind.value.split("_"))
    return type(
        f"{name}{base.__name__}",
        (base,),
        {
            "kind": kind.value,
            "action": f"change_{verb}_{kind.value}",
            "__doc__": f"{base.__doc__.splitlines()[0]} Kind: {kind.label}.",
            "__module__": __name__,
        },
    )


PROPOSE_VIEWS = {kind: _for_kind(ChangeProposeView, kind, "propose") for kind in ChangeKind}
APPLY_VIEWS = {kind: _for_kind(ChangeApplyView, kind, "apply") for kind in ChangeKind}


def changes_card_context(*, vpn_request: VpnRequest, user) -> dict:
    """The request page's Changes card: its selector's content, each form built for the
    request, and how often the page looks again while a change is under way."""
    context = change_selectors.changes_card_context(request=vpn_request, user=user)
    context["change_forms"] = [
        (entry, CHANGE_FORMS[entry.kind](vpn_request=vpn_request))
        for entry in context["change_forms"]
    ]
    return context
