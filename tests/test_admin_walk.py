"""The admin walk: every list, add, change, history and delete page of every model in
the admin registry (read at run time, so a new model is walked too), as Ops and as a
solutions engineer. Every form offered is submitted as it stands, and the request form
once more with bad values; every action offered is run on every row.

Nothing may answer with a server error, and no row may change except through a service:
every model's rows are compared before and after, and each change must be one a service
makes, with its record (a stage transition by the user, a link revoked by the user).
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, TunnelFactory, UserFactory, VpnRequestFactory
from vpn.choices import AwsResourceRole, Routing, Stage, TunnelStatus
from vpn.models import (
    AwsAccount,
    AwsResource,
    ConfigPack,
    IntakeLink,
    KeyReveal,
    MaintenanceWindow,
    Notification,
    PackDownload,
    PendingMaintenance,
    RequestEvent,
    StageTransition,
    StatusRefresh,
    StepRetry,
    TunnelStatusChange,
    VpnChange,
    VpnChangeCall,
    VpnRequest,
)

# The admin's own history of its pages, login sessions and login counters: bookkeeping
# of the framework around the portal, not the portal's data.
BOOKKEEPING = {
    "admin.logentry",
    "sessions.session",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
}
# Staff accounts: Django's own user admin, which only superusers reach, writes them (the
# portal has no account service); the superuser's walk leaves them out.
ACCOUNT_MODELS = {"auth.user", "auth.group"}


# --- The world walked ---------------------------------------------------------------


@pytest.fixture
def world(db):
    """One row, at least, of every model, and a request in each kind of stage."""
    customer = CustomerFactory(name="Northwind Traders", contact_email="netops@example.com")
    requests = {
        "draft": VpnRequestFactory(customer=customer, customer_gateway_ip="52.94.12.1"),
        "submitted": VpnRequestFactory(
            customer=customer, stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.2"
        ),
        # Stored before the rules were checked: approving must refuse it.
        "submitted_private": VpnRequestFactory(
            customer=customer, stage=Stage.SUBMITTED, customer_gateway_ip="10.9.9.9"
        ),
        "changes": VpnRequestFactory(
            customer=customer,
            stage=Stage.CHANGES_REQUESTED,
            customer_gateway_ip="52.94.12.3",
            routing=Routing.STATIC,
            bgp_asn=None,
            advertised_prefixes=[],
            static_subnets=["10.20.0.0/16", "10.30.1.0/24"],
        ),
        "approved": VpnRequestFactory(
            customer=customer, stage=Stage.APPROVED, customer_gateway_ip="52.94.12.4"
        ),
        "live": VpnRequestFactory(
            customer=customer,
            stage=Stage.LIVE,
            customer_gateway_ip="52.94.12.5",
            vpc_cidr="10.128.0.0/24",
            amazon_side_asn=64512,
        ),
        "failed": VpnRequestFactory(
            customer=customer,
            stage=Stage.FAILED,
            failed_stage=Stage.ROUTING,
            failure_message="AWS said no",
            customer_gateway_ip="52.94.12.6",
        ),
    }
    live = requests["live"]
    tunnel = TunnelFactory(request=live, position=1)
    TunnelFactory(request=live, position=2)
    now = timezone.now()
    TunnelStatusChange.objects.create(
        tunnel=tunnel, old_status=TunnelStatus.UNKNOWN, new_status=TunnelStatus.UP, changed_at=now
    )
    AwsResource.objects.create(
        request=live, role=AwsResourceRole.VPC, resource_id="vpc-0abc", region="eu-west-2"
    )
    StageTransition.objects.create(request=live, from_stage=Stage.NAT, to_stage=Stage.LIVE)
    link = IntakeLink.objects.create(
        request=requests["draft"], token_hash="a" * 64, expires_at=now + timedelta(days=7)
    )
    pack = ConfigPack.objects.create(
        request=live, version=1, parameters={"region": "eu-west-2"}, parameters_hash="b" * 64
    )
    PackDownload.objects.create(pack=pack, variant="redacted_pdf", token_label="customer link")
    KeyReveal.objects.create(
        pack=pack, variant="pdf", user=UserFactory(username="keyreader"), reason="New router"
    )
    StatusRefresh.objects.create(trigger="schedule", started_at=now, finished_at=now)
    StepRetry.objects.create(
        request=requests["approved"],
        stage=Stage.VPN_GATEWAY,
        job_id="walk-job",
        attempt=1,
        attempts=4,
        error="InternalError: try again",
        retry_at=now + timedelta(seconds=15),
    )
    Notification.objects.create(
        key="walk:customer", recipient="netops@example.com", subject="Tunnel down", body="..."
    )
    RequestEvent.objects.create(
        request=requests["draft"], kind="link_resent", link=link, actor_label="walk"
    )
    change = VpnChange.objects.create(
        request=live,
        kind="rotate_psk",
        reason="Yearly rotation",
        summary="new pre-shared key for tunnels 1 and 2",
        before={"tunnels": [1, 2]},
        after={"tunnels": [1, 2]},
        state="waiting_for_tunnel",
        plan=[[1], [2]],
        phase="wait",
        tunnel=1,
        proposed_label="vpn_change",
    )
    VpnChangeCall.objects.create(
        change=change,
        operation="ModifyVpnTunnelOptions",
        tunnel=1,
        parameters={"options": {"PreSharedKey": "REDACTED"}},
        ok=True,
        outcome="vpn-0abc available",
    )
    PendingMaintenance.objects.create(
        tunnel=tunnel, description="Tunnel endpoint replacement", auto_applied_after=now
    )
    MaintenanceWindow.objects.create(
        request=live,
        weekday=6,
        start_hour=2,
        end_hour=5,
        time_zone="Europe/London",
        chosen_by="customer link 1",
    )
    live.account = AwsAccount.objects.create(
        name="second",
        account_id="111111111111",
        role_arn="arn:aws:iam::111111111111:role/vpn-portal",
        external_id="portal-external-id",
        regions=["eu-west-1"],
        quota_overrides={"vpn_gateways": 10},
    )
    live.save(update_fields=["account"])
    return requests


@pytest.fixture(params=["ops", "se", "superuser"])
def staff(request, client, ops, se):
    """A client logged in as Ops, as a solutions engineer and as a superuser, and the user."""
    if request.param == "superuser":
        user = UserFactory(username="root", is_superuser=True)
    else:
        user = {"ops": ops, "se": se}[request.param]
    client.force_login(user)
    return client, user, request.param


def test_the_world_has_a_row_of_every_model(world, ops, se):
    empty = [
        model._meta.label
        for model in admin.site._registry
        if model._meta.managed and not model.objects.exists()
    ]
    # Users and groups exist (the staff); every portal model has a row to open.
    assert empty == []


# --- Rows before and after ------------------------------------------------------------


def _snapshot() -> dict[str, dict[object, dict]]:
    """Every row of every model the database holds, by model and primary key."""
    rows = {}
    for model in apps.get_models():
        meta = model._meta
        if not meta.managed or meta.proxy or meta.label_lower in BOOKKEEPING:
            continue
        rows[meta.label_lower] = {row["pk"]: row for row in _rows(model)}
    return rows


def _rows(model):
    values = model.objects.order_by("pk").values()
    pk_name = model._meta.pk.attname
    return [{"pk": row[pk_name], **row} for row in values]


def _changes(before, after) -> list[tuple[str, object, str, frozenset[str]]]:
    """(model, pk, "added" / "removed" / "changed", changed fields) for each row."""
    changes = []
    for label, rows in after.items():
        old_rows = before.get(label, {})
        for pk, row in rows.items():
            if pk not in old_rows:
                changes.append((label, pk, "added", frozenset(row)))
            elif row != old_rows[pk]:
                fields = frozenset(name for name in row if row[name] != old_rows[pk][name])
                changes.append((label, pk, "changed", fields))
        for pk in old_rows.keys() - rows.keys():
            changes.append((label, pk, "removed", frozenset()))
    return sorted(changes, key=str)


# --- Forms as a browser would submit them ---------------------------------------------


class _FormFields(HTMLParser):
    """The name/value pairs a browser would submit from the form with `form_id`."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.found = False
        self.inside = False
        self.pairs: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.found = self.inside = True
        if not self.inside or "disabled" in attrs or not attrs.get("name"):
            if tag == "option" and self.select is not None:
                self.options.append((attrs.get("value", ""), "selected" in attrs))
            return
        name = attrs["name"]
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.pairs.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self.select, self.options = name, []
        elif tag == "textarea":
            self.textarea, self.text = name, ""

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            chosen = [value for value, selected in self.options if selected]
            self.pairs += [(self.select, value) for value in chosen or self.options[:1][0][:1]]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # Browsers drop the line break that follows <textarea>.
            self.pairs.append((self.textarea, self.text.removeprefix("\n")))
            self.textarea = None


def _form_data(html: str, form_id: str) -> dict[str, list[str]]:
    parser = _FormFields(form_id)
    parser.feed(html)
    assert parser.found, f"no form {form_id}"
    data: dict[str, list[str]] = {}
    for name, value in parser.pairs:
        data.setdefault(name, []).append(value)
    return data


def _walked(role: str) -> list:
    """The models of the admin registry walked for a role."""
    return [
        model
        for model in admin.site._registry
        if not (role == "superuser" and model._meta.label_lower in ACCOUNT_MODELS)
    ]


def _offers_save(html: str) -> bool:
    return 'name="_save"' in html


def _admin_url(model, view: str, *args) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


# --- The walk ---------------------------------------------------------------------------


def _walk_pages(client, model, *, submit: bool = True):
    """GET every page of one model; submit each form offered as it stands (unless told
    not to). Yields (url, response) for every form submitted."""
    assert client.get(_admin_url(model, "changelist")).status_code in (200, 403)
    add = client.get(_admin_url(model, "add"))
    assert add.status_code in (200, 403)
    if submit and add.status_code == 200 and _offers_save(add.content.decode()):
        data = _form_data(add.content.decode(), f"{model._meta.model_name}_form")
        yield _admin_url(model, "add"), client.post(_admin_url(model, "add"), data)
    if not model._meta.managed:
        return
    for pk in model.objects.order_by("pk").values_list("pk", flat=True):
        for view in ("history", "delete"):
            assert client.get(_admin_url(model, view, pk)).status_code in (200, 403)
        url = _admin_url(model, "change", pk)
        page = client.get(url)
        assert page.status_code in (200, 403), url
        if submit and page.status_code == 200 and _offers_save(page.content.decode()):
            data = _form_data(page.content.decode(), f"{model._meta.model_name}_form")
            yield url, client.post(url, {**data, "_save": "Save"})


def test_every_page_of_every_model_opens_and_every_form_saves_only_through_services(world, staff):
    client, _, role = staff
    submitted = 0
    for model in admin.site._registry:
        before = _snapshot()
        for url, response in _walk_pages(client, model, submit=model in _walked(role)):
            submitted += 1
            assert response.status_code in (200, 302, 403), url
            after = _snapshot()
            changes = _changes(before, after)
            # Saved as it stood: the service wrote the same values (its save touches only
            # the row's "updated" time).
            assert all(
                kind == "changed" and fields == {"updated_at"} for _, _, kind, fields in changes
            ), (url, changes)
            before = after
    # The engineers' forms: the editable requests' and the customer's.
    assert submitted >= 4


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        ("customer_gateway_ip", "10.9.9.9", "a private address"),
        ("customer_gateway_ip", "0.0.0.0", "the unspecified address"),  # noqa: S104
        ("static_subnets", "0.0.0.0/0", "overlaps"),
        ("static_subnets", "10.20.0.0/16\n10.20.1.0/24", "overlap"),
        ("static_subnets", "10.20.0.1/16", "host bits set"),
        ("tunnel_count", "3", ""),
        ("bgp_asn", "7224", ""),
        ("region", "mars-north-1", ""),
    ],
)
def test_a_bad_value_on_an_editable_request_is_refused_and_nothing_changes(
    world, staff, field, bad, message
):
    client, _, _ = staff
    request = world["changes"]  # static routing, waiting for the customer's changes
    if field == "bgp_asn":
        request = world["submitted"]
    url = _admin_url(VpnRequest, "change", request.pk)
    data = _form_data(client.get(url).content.decode(), "vpnrequest_form")
    before = _snapshot()
    response = client.post(url, {**data, field: bad, "_save": "Save"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert _changes(before, _snapshot()) == []


def test_a_request_past_approval_offers_no_save_and_refuses_a_forged_one(world, staff):
    client, _, _ = staff
    for name in ("approved", "live", "failed"):
        request = world[name]
        url = _admin_url(VpnRequest, "change", request.pk)
        page = client.get(url).content.decode()
        assert not _offers_save(page)
        assert 'name="customer_gateway_ip"' not in page
        before = _snapshot()
        forged = {"customer_gateway_ip": "10.9.9.9", "region": "us-east-1", "tunnel_count": "1"}
        assert client.post(url, {**forged, "_save": "Save"}).status_code == 403
        assert _changes(before, _snapshot()) == []


# --- The actions ----------------------------------------------------------------------


def _offered_actions(client, model) -> list[str]:
    response = client.get(_admin_url(model, "changelist"))
    if response.status_code != 200 or response.context.get("action_form") is None:
        return []
    return [value for value, _ in response.context["action_form"].fields["action"].choices if value]


def _unexplained(changes, before, after, user) -> list:
    """The changes no service record accounts for.

    A request may change stage only with a new stage transition by `user` saying so (a
    decommissioning also records its reason, and emails the customer why); a link may
    only be revoked, by `user`; an AWS account may only be switched on or off for
    placement.
    """
    transitions = after["vpn.stagetransition"]
    explained = set()
    for label, pk, kind, fields in changes:
        if label == "vpn.vpnrequest" and kind == "changed":
            old, new = before[label][pk], after[label][pk]
            moves = [
                tpk
                for tpk, t in transitions.items()
                if tpk not in before["vpn.stagetransition"]
                and t["request_id"] == pk
                and (t["from_stage"], t["to_stage"]) == (old["stage"], new["stage"])
                and t["actor_id"] == user.pk
            ]
            stage_fields = {"stage", "updated_at", "failed_stage", "failure_message"}
            if new["stage"] == "decommissioning":
                stage_fields |= {"decommission_reason", "decommission_message"}
            if len(moves) == 1 and fields <= stage_fields:
                explained |= {(label, pk), ("vpn.stagetransition", moves[0])}
            if len(moves) == 1 and new["stage"] == "decommissioning":
                explained |= {
                    ("vpn.notification", npk)
                    for npk, row in after["vpn.notification"].items()
                    if row["key"] == f"decommission:{pk}"
                }
        elif label == "vpn.awsaccount" and kind == "changed" and fields == {"enabled"}:
            explained.add((label, pk))  # placement on or off: all the account actions do
        elif label == "vpn.intakelink" and kind == "changed":
            revoked_by_user = after[label][pk]["revoked_by_id"] == user.pk
            if fields <= {"revoked_at", "revoked_by_id"} and revoked_by_user:
                explained.add((label, pk))
    return [change for change in changes if change[:2] not in explained]


# What an action that asks first (an intermediate page) is given, as that page posts it.
ACTION_FORMS = {"move_to_decommissioning": {"apply": "1", "reason": "customer_request"}}


def test_every_action_offered_changes_rows_only_through_services(world, staff):
    client, user, role = staff
    ran = []
    for model in _walked(role):
        for action in _offered_actions(client, model):
            assert action != "delete_selected", model
            before = _snapshot()
            pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
            response = client.post(
                _admin_url(model, "changelist"),
                {"action": action, "_selected_action": pks, **ACTION_FORMS.get(action, {})},
            )
            assert response.status_code == 302, (model, action)
            after = _snapshot()
            changes = _changes(before, after)
            assert _unexplained(changes, before, after, user) == [], (model, action)
            ran.append(action)
    request_actions = [
        "move_to_approved",
        "move_to_cancelled",
        "retry_failed",
        "move_to_decommissioning",
    ]
    # Revoking a customer link is an engineer's action as much as Ops' (docs/roles.md).
    account_actions = ["disable_placement", "enable_placement"]
    expected = {
        "ops": [*request_actions, "revoke", *account_actions],
        "se": ["move_to_approved", "revoke"],
        "superuser": [*request_actions, "revoke", *account_actions],
    }[role]
    assert sorted(ran) == sorted(expected)


def test_the_approve_action_refuses_what_the_page_refuses(world, staff):
    client, _, _ = staff
    private = world["submitted_private"]
    ok = world["submitted"]
    response = client.post(
        _admin_url(VpnRequest, "changelist"),
        {"action": "move_to_approved", "_selected_action": [private.pk, ok.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(private.reference in m and "a private address" in m for m in messages), messages
    assert "1 request approved." in messages
    private.refresh_from_db()
    ok.refresh_from_db()
    assert (private.stage, ok.stage) == (Stage.SUBMITTED, Stage.APPROVED)
    # The page's Approve button gives the same answer for the same request.
    client.post(reverse("vpn:request_approve", args=[private.pk]))
    private.refresh_from_db()
    assert private.stage == Stage.SUBMITTED
    assert StageTransition.objects.filter(to_stage=Stage.APPROVED).count() == 1
