"""Email notifications, rendered from templates named after what they announce."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from vpn.choices import Stage
from vpn.models import StageTransition, VpnRequest


def email_send(*, template: str, context: dict, to: list[str]) -> int:
    """Send `templates/vpn/email/<template>.txt`: first line subject, then the body."""
    recipients = [address for address in to if address]
    if not recipients:
        return 0
    subject, _, body = render_to_string(f"vpn/email/{template}.txt", context).partition("\n")
    return send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, recipients)


def transition_notify(*, transition_id: int) -> int:
    """Tell the owning engineer that a request was submitted or has failed."""
    transition = StageTransition.objects.select_related("request__customer", "request__owner").get(
        pk=transition_id
    )
    request = transition.request
    if request.owner is None or transition.to_stage not in (Stage.SUBMITTED, Stage.FAILED):
        return 0
    return email_send(
        template=f"transition_{transition.to_stage}",
        context={
            "request": request,
            "transition": transition,
            "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
        },
        to=[request.owner.email],
    )


def customer_confirmed_notify(*, request_id: int) -> int:
    """Tell the owning engineer that the customer says their side is configured."""
    request = VpnRequest.objects.select_related("customer", "owner").get(pk=request_id)
    if request.owner is None:
        return 0
    return email_send(
        template="customer_confirmed",
        context={
            "request": request,
            "tunnels": request.tunnels.order_by("position"),
            "url": settings.PORTAL_BASE_URL.rstrip("/") + request.get_absolute_url(),
        },
        to=[request.owner.email],
    )
