"""Reads of changes to live VPNs: the request page's Changes card, a change's page, and
the lines the request's timeline shows for them."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse

from vpn.choices import ACTIVE_CHANGE_STATES, OPERATIONAL_STAGES, ChangeKind, ChangeState, Routing
from vpn.models import VpnChange, VpnRequest
from vpn.permissions import user_may
from vpn.tunnel_profile import TUNNEL_OPTIONS

# The card lists at most this many of the request's latest changes.
CHANGES_SHOWN = 10
# AWS's reads are the bulk of a change's calls; the timeline shows the ones that change.
READ_OPERATIONS = frozenset({"DescribeVpnConnections"})


@dataclass(frozen=True)
class ChangeForm:
    """One kind of change the card offers: its form's URL and what it asks."""

    kind: str
    label: str
    url: str


def changes_card_context(*, request: VpnRequest, user: AbstractBaseUser | AnonymousUser) -> dict:
    """What the request page's Changes card shows `user`: the change under way (with its
    progress), the latest changes, and the forms of the kinds `user` may propose."""
    latest = list(request.changes.order_by("-created_at", "-pk")[:CHANGES_SHOWN])
    under_way = next((change for change in latest if change.state in ACTIVE_CHANGE_STATES), None)
    if under_way is None:
        under_way = request.changes.filter(state__in=ACTIVE_CHANGE_STATES).first()
    changeable = request.stage in OPERATIONAL_STAGES
    forms = []
    if changeable:
        for kind in ChangeKind:
            if not user_may(user, f"change_propose_{kind.value}"):
                continue
            if kind == ChangeKind.TUNNEL_COUNT and request.tunnel_count == 2:
                continue
            if kind == ChangeKind.MAINTENANCE:
                continue  # offered where the maintenance is shown ("Apply now")
            forms.append(
                ChangeForm(
                    kind=kind.value,
                    label=kind.label,
                    url=reverse(f"vpn:change_propose_{kind.value}", args=[request.pk]),
                )
            )
    return {
        "changes": latest,
        "change_under_way": under_way,
        "change_forms": forms,
        "changeable": changeable,
        "static_routing": request.routing == Routing.STATIC,
        "other_routing": Routing.BGP.label
        if request.routing == Routing.STATIC
        else Routing.STATIC.label,
    }


def change_detail(*, pk: int) -> VpnChange:
    """One change with its request, people and calls; `VpnChange.DoesNotExist` if none."""
    return VpnChange.objects.select_related("request__customer", "proposed_by", "applied_by").get(
        pk=pk
    )


def change_page_context(
    *, change: VpnChange, user: AbstractBaseUser | AnonymousUser, awaited: list[int]
) -> dict:
    """What a change's page shows `user`: before and after, the steps, its AWS calls,
    and which of its buttons `user` may use (`awaited`: the tunnels whose customer's
    confirmation it waits for)."""
    may_apply = user_may(user, f"change_apply_{change.kind}")
    may_propose = user_may(user, f"change_propose_{change.kind}")
    state = change.state
    steps = [
        {
            "number": index + 1,
            "tunnels": tunnels,
            "state": (
                "done"
                if index < change.step
                else "current"
                if index == change.step and state in ACTIVE_CHANGE_STATES
                else "failed"
                if index == change.step and state == ChangeState.FAILED
                else "todo"
            ),
        }
        for index, tunnels in enumerate(change.plan)
    ]
    return {
        "change": change,
        "vpn_request": change.request,
        "before_after": _before_after(change),
        "steps": steps,
        "calls": list(change.calls.order_by("called_at", "pk")),
        "awaited": awaited,
        "can_apply": may_apply and state in (ChangeState.PROPOSED, ChangeState.FAILED),
        "can_confirm": may_apply and state == ChangeState.WAITING_FOR_TUNNEL and bool(awaited),
        "can_cancel": (may_propose and state == ChangeState.PROPOSED)
        or (may_apply and state in (ChangeState.WAITING_FOR_TUNNEL, ChangeState.FAILED)),
        "apply_url": reverse(f"vpn:change_apply_{change.kind}", args=[change.pk]),
        "live": state in ACTIVE_CHANGE_STATES,
    }


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _before_after(change: VpnChange) -> list[tuple[str, str, str]]:
    """(what, before, after) rows of a change, in words."""
    rows = []
    for key in dict.fromkeys([*change.before, *change.after]):
        if key in ("profile", "cidr", "customer_gateway_id"):
            continue
        option = TUNNEL_OPTIONS.get(key)
        label = option.label if option else key.replace("_", " ").capitalize()
        rows.append(
            (
                label,
                _shown(change.before.get(key)),
                _shown(change.after.get(key, change.before.get(key))),
            )
        )
    if change.kind == ChangeKind.CUSTOMER_GATEWAY:
        rows.append(
            (
                "Customer gateway (AWS)",
                _shown(change.before.get("customer_gateway_id")),
                _shown(change.after.get("customer_gateway_id", "created when applied")),
            )
        )
    return rows


def change_timeline(*, request: VpnRequest) -> list[dict]:
    """The request timeline's lines for its changes: proposed, applied, each AWS call that
    changed something, and how each ended (as dicts of `TimelineEvent`'s fields)."""
    events = []
    changes = request.changes.select_related("proposed_by", "applied_by").prefetch_related("calls")
    for change in changes:
        summary = change.summary
        reference = change.reference
        events.append(
            {
                "at": change.created_at,
                "title": f"{reference} proposed: {summary}",
                "detail": change.proposed_by_display,
                "note": change.reason,
            }
        )
        if change.applied_at:
            events.append(
                {
                    "at": change.applied_at,
                    "title": f"{reference} applied: {summary}",
                    "detail": change.applied_by_display,
                    "note": change.impact,
                }
            )
        for call in change.calls.all():
            if call.operation in READ_OPERATIONS and call.ok:
                continue
            where = f" (tunnel {call.tunnel})" if call.tunnel else ""
            events.append(
                {
                    "at": call.called_at,
                    "title": f"{reference}: {call.operation}{where}"
                    + ("" if call.ok else " failed"),
                    "detail": "AWS",
                    "note": call.outcome,
                }
            )
        if change.finished_at:
            events.append(
                {
                    "at": change.finished_at,
                    "title": f"{reference} {change.get_state_display().lower()}: {summary}",
                    "detail": change.applied_by_display or change.proposed_by_display,
                    "note": change.message,
                }
            )
    return events
