"""Intake: invitations, the customer's self-service link, drafts, submission and review.

These services are the only code that writes a request's intake fields, its customer and
its intake links. Values come already checked by `vpn.validation.intake_clean` (through
the forms or the `vpn_create` command); stage moves go through
`vpn.services.stages.request_move`.

Emails that carry a link are sent from this process as soon as the service's own
transaction has committed, not from a job nor through the email outbox: the token
exists only here and in the email, and a job's arguments or an outbox row would keep
it. Other follow-up work (the engineer's email when the customer confirms) goes through
`vpn.events`, which waits for the commit of whatever transaction the service runs in.
"""

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from vpn import events
from vpn.choices import (
    CUSTOMER_EDITABLE_STAGES,
    ENGINEER_EDITABLE_STAGES,
    OPERATIONAL_STAGES,
    RequestEventKind,
    RequestOrigin,
    Stage,
)
from vpn.intake_fields import INTAKE_FIELDS_BY_NAME
from vpn.models import Customer, IntakeLink, RequestEvent, StageTransition, VpnRequest
from vpn.selectors.intake import REQUEST_FIELDS, intake_value_words, request_intake_values
from vpn.services.notifications import email_send
from vpn.services.placement import account_choose
from vpn.services.stages import StageMoveError, request_move
from vpn.validation import ALL_FIELDS, intake_clean

logger = logging.getLogger(__name__)

# 32 random bytes, URL-safe base64 without padding: 43 characters, 256 bits.
TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class IntakeLinkUnknown(Exception):
    """No link has this token (or the token is not even shaped like one)."""


class IntakeLinkGone(Exception):
    """The link existed but no longer works; `reason` is "expired" or "revoked"."""

    def __init__(self, reason: str):
        super().__init__(f"This intake link has {reason}.")
        self.reason = reason


class IntakeClosed(Exception):
    """The request is past the point where its intake can change."""


@dataclass(frozen=True)
class NewLink:
    """A link just made: the only moment its token and URL are known."""

    link: IntakeLink
    token: str
    url: str
    emailed: bool


def token_hash(token: str) -> str:
    """The SHA-256 of a token, in hex: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def intake_link_url(*, token: str) -> str:
    """The absolute URL of the customer's page for a token."""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("vpn:intake", args=[token])


def intake_link_create(
    *, request_id: int, created_by: AbstractBaseUser | None = None, send_email: bool = True
) -> NewLink:
    """Make a new link to a request, valid for `INTAKE_LINK_DAYS` days, and (after the
    commit) email it to the customer's contact."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        request = VpnRequest.objects.select_related("customer", "owner").get(pk=request_id)
        link = IntakeLink.objects.create(
            request=request,
            token_hash=token_hash(token),
            created_by=_user_or_none(created_by),
            expires_at=timezone.now() + timedelta(days=settings.INTAKE_LINK_DAYS),
        )
    url = intake_link_url(token=token)
    emailed = False
    if send_email:
        emailed = _email_quietly(
            template="intake_invite",
            context={"request": request, "url": url, "link": link},
            to=[request.customer.contact_email],
        )
    return NewLink(link=link, token=token, url=url, emailed=emailed)


def intake_link_resolve(*, token: str) -> IntakeLink:
    """The link a token opens, if it still works.

    Raises `IntakeLinkUnknown` for a malformed or unknown token and `IntakeLinkGone`
    for an expired or revoked one. Records when the link was last used.
    """
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        raise IntakeLinkUnknown
    digest = token_hash(token)
    link = (
        IntakeLink.objects.select_related("request__customer", "request__owner")
        .filter(token_hash=digest)
        .first()
    )
    # The lookup is by hash, so timing says nothing about the token; compare_digest
    # keeps the final check constant-time all the same.
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise IntakeLinkUnknown
    now = timezone.now()
    if link.revoked_at is not None:
        raise IntakeLinkGone("been revoked")
    if link.expires_at <= now:
        raise IntakeLinkGone("expired")
    IntakeLink.objects.filter(pk=link.pk).update(last_used_at=now)
    link.last_used_at = now
    return link


def intake_link_revoke(*, link_id: int, actor: AbstractBaseUser | None = None) -> IntakeLink:
    """Stop a link from working, at once and for good."""
    with transaction.atomic():
        link = IntakeLink.objects.select_for_update().select_related("request").get(pk=link_id)
        if link.revoked_at is None:
            link.revoked_at = timezone.now()
            link.revoked_by = _user_or_none(actor)
            link.save(update_fields=["revoked_at", "revoked_by"])
    return link


# The furthest an extension may push a link's expiry, from today.
LINK_EXTEND_MAX_DAYS = 90


def intake_link_resend(*, link_id: int, actor: AbstractBaseUser | None = None) -> NewLink:
    """Email a customer link to the contact again, and record it on the request's
    timeline.

    The portal keeps only a fingerprint of a token, so the link is sent with a new one:
    its previous address stops working at once, its expiry stays. Raises `IntakeClosed`
    for a revoked or expired link (an expired one is extended instead).
    """
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        link = _link_locked(link_id)
        if link.status != "active":
            raise IntakeClosed(
                f"This link is {link.status}: "
                + ("extend it first." if link.status == "expired" else "make a new one instead.")
            )
        link.token_hash = token_hash(token)
        link.save(update_fields=["token_hash"])
        contact = link.request.customer.contact_email
        RequestEvent.objects.create(
            request=link.request,
            kind=RequestEventKind.LINK_RESENT,
            link=link,
            actor=_user_or_none(actor),
            note=f"To {contact or 'nobody: the customer has no contact email'}; the link's "
            "previous address stopped working.",
        )
    url = intake_link_url(token=token)
    emailed = _email_quietly(
        template="intake_invite",
        context={"request": link.request, "url": url, "link": link},
        to=[contact],
    )
    return NewLink(link=link, token=token, url=url, emailed=emailed)


def intake_link_extend(
    *, link_id: int, expires_at: datetime, actor: AbstractBaseUser | None = None
) -> tuple[IntakeLink, bool]:
    """Give a customer link a new expiry (an expired link works again, at the same
    address), record it on the timeline, and tell the contact by email until when.

    Returns the link and whether the email went out. Raises `IntakeClosed` for a revoked
    link, or an expiry that is not in the future or is more than `LINK_EXTEND_MAX_DAYS`
    days away.
    """
    now = timezone.now()
    if expires_at <= now:
        raise IntakeClosed("Choose a new expiry in the future.")
    if expires_at > now + timedelta(days=LINK_EXTEND_MAX_DAYS):
        raise IntakeClosed(f"A link can be extended by at most {LINK_EXTEND_MAX_DAYS} days.")
    with transaction.atomic():
        link = _link_locked(link_id)
        if link.revoked_at is not None:
            raise IntakeClosed("This link is revoked: make a new one instead.")
        previous = link.expires_at
        link.expires_at = expires_at
        link.save(update_fields=["expires_at"])
        RequestEvent.objects.create(
            request=link.request,
            kind=RequestEventKind.LINK_EXTENDED,
            link=link,
            actor=_user_or_none(actor),
            note=f"Until {timezone.localtime(expires_at):%Y-%m-%d %H:%M} UTC (it "
            + ("had expired" if previous <= now else "was to expire")
            + f" {timezone.localtime(previous):%Y-%m-%d %H:%M} UTC).",
        )
    emailed = _email_quietly(
        template="intake_link_extended",
        context={"request": link.request, "link": link},
        to=[link.request.customer.contact_email],
    )
    return link, emailed


def _link_locked(link_id: int) -> IntakeLink:
    return (
        IntakeLink.objects.select_for_update(of=("self",))
        .select_related("request__customer", "request__owner")
        .get(pk=link_id)
    )


def customer_upsert(
    *, org_id: str, name: str, contact_name: str = "", contact_email: str = ""
) -> Customer:
    """The customer with this org ID, created if new; name and contact updated when given."""
    defaults = {"name": name}
    if contact_name:
        defaults["contact_name"] = contact_name
    if contact_email:
        defaults["contact_email"] = contact_email
    customer, _ = Customer.objects.update_or_create(org_id=org_id, defaults=defaults)
    return customer


def intake_invite(
    *,
    customer_name: str,
    org_id: str,
    contact_email: str,
    contact_name: str = "",
    owner: AbstractBaseUser | None = None,
    send_email: bool = True,
) -> NewLink:
    """Start a draft request for a customer and email its contact a link to fill it in."""
    with transaction.atomic():
        customer = customer_upsert(
            org_id=org_id,
            name=customer_name,
            contact_name=contact_name,
            contact_email=contact_email,
        )
        # Nothing technical is chosen yet: the customer chooses on their link.
        request = VpnRequest.objects.create(
            customer=customer,
            owner=_user_or_none(owner),
            origin=RequestOrigin.INVITATION,
            routing="",
        )
    return intake_link_create(request_id=request.pk, created_by=owner, send_email=send_email)


def request_create(
    *,
    values: dict[str, object],
    owner: AbstractBaseUser | None = None,
    submit: bool = True,
    actor_label: str = "",
    origin: str = RequestOrigin.ENGINEER,
) -> VpnRequest:
    """Create a request from checked intake values, as a draft or submitted for review;
    `origin` says how it began (an engineer's form, or a command)."""
    with transaction.atomic():
        request = VpnRequest(
            customer=_customer_from(values), owner=_user_or_none(owner), origin=origin
        )
        _apply(request, values)
        request.save()
        if submit:
            request_move(
                request_id=request.pk,
                to_stage=Stage.SUBMITTED,
                actor=owner,
                actor_label=actor_label,
                from_stage=Stage.DRAFT,
            )
            request.refresh_from_db()
    return request


def request_draft_save(*, request_id: int, values: dict[str, object]) -> VpnRequest:
    """Save the customer's answers so far (checked, possibly incomplete); a change to
    answers they had already submitted is recorded on the timeline."""
    with transaction.atomic():
        request = _locked(request_id, CUSTOMER_EDITABLE_STAGES)
        _customer_changes_record(request, values)
        _apply(request, values)
        request.save()
    return request


def request_customer_reopen(*, request_id: int) -> StageTransition:
    """The customer takes back their submitted answers to change them, while the request
    still waits for review: it leaves the review queue as a draft until they submit it
    again (their changes are recorded as they save them). Raises `StageMoveError` once
    an engineer has reviewed it."""
    return request_move(
        request_id=request_id,
        to_stage=Stage.DRAFT,
        from_stage=Stage.SUBMITTED,
        actor_label="customer",
        note="The customer reopened their answers to change them.",
    )


def request_submit(
    *,
    request_id: int,
    values: dict[str, object] | None = None,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
) -> VpnRequest:
    """Save the final answers and put the request in the review queue."""
    with transaction.atomic():
        request = _locked(request_id, CUSTOMER_EDITABLE_STAGES)
        if values is not None:
            if actor is None:  # the customer, on their link
                _customer_changes_record(request, values)
            _apply(request, values)
            request.save()
        _check_complete(request)
        request_move(
            request_id=request.pk,
            to_stage=Stage.SUBMITTED,
            actor=actor,
            actor_label=actor_label,
            from_stage=request.stage,
        )
        request.refresh_from_db()
    return request


def request_update(
    *, request_id: int, values: dict[str, object], actor: AbstractBaseUser | None = None
) -> VpnRequest:
    """An engineer's edit of the intake before approval (the region override, fixes)."""
    with transaction.atomic():
        request = _locked(request_id, ENGINEER_EDITABLE_STAGES)
        if any(name in values for name in ("org_id", "customer_name")):
            request.customer = _customer_from(values)
        _apply(request, values)
        request.save()
    return request


def request_approve(
    *, request_id: int, actor: AbstractBaseUser | None = None, actor_label: str = ""
) -> StageTransition:
    """Approve a submitted request, once its intake still passes every rule, placing it
    in an account with room in its region (`NoRoom` names the quota when none has)."""
    with transaction.atomic():
        request = _locked(request_id, (Stage.SUBMITTED,))
        _check_complete(request)
        request.account = account_choose(request)
        request.save(update_fields=["account"])
        return request_move(
            request_id=request_id,
            to_stage=Stage.APPROVED,
            actor=actor,
            actor_label=actor_label,
            from_stage=Stage.SUBMITTED,
        )


def request_send_back(
    *, request_id: int, message: str, actor: AbstractBaseUser | None = None
) -> tuple[StageTransition, NewLink]:
    """Return a submitted request to the customer with a message saying what to change.

    The message becomes the transition's note (shown on the customer's form) and is
    emailed to the contact with a fresh link, so that a customer who has lost the first
    one, or never had one, can answer.
    """
    message = message.strip()
    if not message:
        raise StageMoveError("Say what the customer should change.")
    transition = request_move(
        request_id=request_id,
        to_stage=Stage.CHANGES_REQUESTED,
        actor=actor,
        note=message,
        from_stage=Stage.SUBMITTED,
    )
    new_link = intake_link_create(request_id=request_id, created_by=actor, send_email=False)
    request = new_link.link.request
    emailed = _email_quietly(
        template="intake_changes_requested",
        context={
            "request": request,
            "url": new_link.url,
            "message": message,
            "link": new_link.link,
        },
        to=[request.customer.contact_email],
    )
    return transition, NewLink(
        link=new_link.link, token=new_link.token, url=new_link.url, emailed=emailed
    )


def request_customer_confirm(*, request_id: int) -> VpnRequest:
    """Record that the customer's network team has configured their side (once), and
    tell the owning engineer after the commit. Raises `IntakeClosed` before the VPN
    exists or once it is closed."""
    with transaction.atomic():
        request = VpnRequest.objects.select_for_update().get(pk=request_id)
        if request.stage not in OPERATIONAL_STAGES:
            raise IntakeClosed(
                f"{request.reference} is “{request.get_stage_display()}”: there is nothing "
                "to confirm now."
            )
        if request.customer_confirmed_at is None:
            request.customer_confirmed_at = timezone.now()
            request.save(update_fields=["customer_confirmed_at", "updated_at"])
            events.job_enqueue("vpn.jobs.customer_confirmed_notify", request.pk)
    return request


def _customer_changes_record(request: VpnRequest, values: dict[str, object]) -> None:
    """Record the customer's change of answers they had submitted before (a request
    reopened, or sent back): each field's label, before and after, in words."""
    if request.submitted_at is None:
        return  # their first answers: nothing they had given is changing
    before = request_intake_values(request=request)
    changes = [
        {
            "field": name,
            "label": INTAKE_FIELDS_BY_NAME[name].label_for(staff=True),
            "before": intake_value_words(name, before.get(name)),
            "after": intake_value_words(name, value),
        }
        for name, value in values.items()
        if name in before
        and intake_value_words(name, before[name]) != intake_value_words(name, value)
    ]
    if changes:
        RequestEvent.objects.create(
            request=request,
            kind=RequestEventKind.ANSWERS_CHANGED,
            actor_label="customer",
            changes=changes,
        )


def _locked(request_id: int, stages: tuple[str, ...]) -> VpnRequest:
    request = VpnRequest.objects.select_for_update().select_related("customer").get(pk=request_id)
    if request.stage not in stages:
        raise IntakeClosed(
            f"{request.reference} is “{request.get_stage_display()}”; its intake can no "
            "longer be changed."
        )
    return request


def _customer_from(values: dict[str, object]) -> Customer:
    return customer_upsert(
        org_id=str(values["org_id"]),
        name=str(values["customer_name"]),
        contact_name=str(values.get("contact_name", "")),
        contact_email=str(values.get("contact_email", "")),
    )


def _apply(request: VpnRequest, values: dict[str, object]) -> None:
    for name, model_field in REQUEST_FIELDS.items():
        if name in values:
            setattr(request, model_field, values[name])


def _check_complete(request: VpnRequest) -> None:
    """Refuse to submit or approve a request whose stored intake fails the rules now
    (a draft may be incomplete; settings such as the sandbox can change). The refusal is
    an engineer's to read (the review's buttons, the admin): the customer's submission
    passed the same rules on their form an instant before."""
    intake_clean(
        request_intake_values(request=request), fields=ALL_FIELDS, complete=True, staff=True
    )


def _user_or_none(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _email_quietly(*, template: str, context: dict, to: list[str]) -> bool:
    """Send an email now (callers have committed their work); False if it failed.

    A mail server that is down must not undo the work: the engineer sees the link on
    the page and can pass it on by hand.
    """
    try:
        return email_send(template=template, context=context, to=to) > 0
    except Exception:  # any backend failure: log it, keep the committed work
        logger.exception("Could not send the %s email to %s", template, to)
        return False
