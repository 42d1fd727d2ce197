"""The roles matrix, `docs/roles.md`, as the tests' data.

Every cell of the table is tried against the running portal: as an SE, as Ops, as a
superuser and as a customer holding their link, each action is performed (a page, a
button's POST, an admin action posted to its changelist, a download, a key reading) and
must be allowed (a 2xx or 3xx, and its effect happened) or refused (a 403, a 404, the
login page, and nothing changed), as the cell says. The table must also be complete: a
page of `vpn/urls.py` or an admin action without a row fails, and so does a row whose
rule disagrees with the groups' permissions.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.management import get_commands
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.config_pack_support import connection_request
from tests.factories import UserFactory, VpnRequestFactory, ops_user, se_user
from tests.intake_data import FORM_BGP, ORG_ID, PUBLIC_IP
from vpn import permissions
from vpn.choices import ChangeKind, ChangeState, Stage
from vpn.models import (
    AwsAccount,
    ConfigPack,
    IntakeLink,
    KeyReveal,
    PackDownload,
    PackVariant,
    PendingMaintenance,
    StageTransition,
    VpnChange,
    VpnRequest,
)
from vpn.packs.contract import PackParameters
from vpn.services.aws_accounts import aws_account_add, aws_account_enable
from vpn.services.changes import change_propose
from vpn.services.intake import intake_link_create

ROLES_DOC = Path(settings.BASE_DIR) / "docs" / "roles.md"
ROLES = ("se", "ops", "superuser", "customer")
HEADER = ("Action", "Where", "Rule", "SE", "Ops", "Superuser", "Customer's link")
CELL_VALUES = {
    "yes",
    "no",
    "with a reason",
    "own request",
    "own, until removed",
    "link only",
    "shell access",
}
# URLs every visitor may open: they are no action of the matrix.
PUBLIC_URL_NAMES = {
    "health",
    "ready",
    "login",
    "logout",
    "favicon",
    "admin_login",
    "oidc_authentication_init",
    "oidc_authentication_callback",
}


@dataclass(frozen=True)
class Row:
    """One row of the matrix: what, where, under which rule, and each role's cell."""

    action: str
    where: str  # the URL name, "admin action <name>", "manage.py <name>", or a path
    rule: str
    cells: dict[str, str]

    @property
    def admin_action(self) -> str | None:
        """The admin action's name, for an admin row."""
        match = re.fullmatch(r"admin action (\w+)", self.where)
        return match.group(1) if match else None

    @property
    def command(self) -> str | None:
        """The management command's name, for a command row."""
        match = re.fullmatch(r"manage\.py (\w+)", self.where)
        return match.group(1) if match else None


def _plain(cell: str) -> str:
    return cell.replace("`", "").strip()


def matrix_rows() -> list[Row]:
    """The rows of the table in docs/roles.md."""
    lines = ROLES_DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and "Where" in line)
    assert tuple(_plain(c) for c in lines[start].strip("|").split("|")) == HEADER
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [_plain(cell) for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(HEADER), line
        action, where, rule, *by_role = cells
        assert set(by_role) <= CELL_VALUES, line
        rows.append(Row(action, where, rule, dict(zip(ROLES, by_role, strict=True))))
    return rows


ROWS = matrix_rows()


# --- The table is complete and agrees with the permissions ------------------------------


def _url_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner == "admin":
                continue  # the admin's pages: its actions have rows of their own
            yield from _url_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def test_the_table_has_a_row_for_every_staff_and_customer_url():
    wheres = {row.where for row in ROWS}
    names = {name for name, _ in _url_patterns()} - PUBLIC_URL_NAMES
    assert "vpn:request_retry" in names and "metrics" in names
    assert names - wheres == set(), "pages without a row in docs/roles.md"


def test_every_staff_view_enforces_the_rule_of_its_row():
    rules = {row.where: row.rule for row in ROWS}
    for name, pattern in _url_patterns():
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or name in PUBLIC_URL_NAMES:
            continue  # function views: the customer's pages and /metrics, tried below
        assert issubclass(view_class, permissions.RoleRequiredMixin), name
        assert view_class.action == rules[name], name


def _declared_admin_actions() -> set[str]:
    site_wide = {name for name, _ in admin.site.actions}
    names = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "vpn":
            continue
        for _func, name, _description in model_admin._get_base_actions():
            if name not in site_wide:
                names.add(name)
    return names


def test_the_table_has_a_row_for_every_admin_action():
    rows = {row.admin_action for row in ROWS if row.admin_action}
    declared = _declared_admin_actions()
    assert {"move_to_approved", "retry_failed", "revoke"} <= declared
    assert declared - rows == set(), "admin actions without a row in docs/roles.md"
    assert rows - declared == set(), "rows for admin actions that do not exist"


def test_every_command_that_changes_something_has_a_row():
    ours = {name for name, app in get_commands().items() if app == "vpn"}
    rows = {row.command for row in ROWS if row.command}
    read_only = set(
        re.findall(
            r"`manage\.py (\w+)`",
            ROLES_DOC.read_text().split("Commands that change nothing:")[1].split("\n\n")[0],
        )
    )
    assert read_only == {"vpn_status", "aws_sandbox"}
    assert ours - rows - read_only == set(), "commands missing from docs/roles.md"
    assert rows <= ours


@pytest.mark.django_db
def test_every_rule_agrees_with_the_groups_permissions():
    group_perms = {
        "se": _group_permissions(permissions.SOLUTIONS_ENGINEERS),
        "ops": _group_permissions(permissions.OPS),
    }
    assert {row.rule for row in ROWS} == set(permissions.ROLES), "rules without a row"
    for row in ROWS:
        rule = permissions.ROLES[row.rule]
        if rule == permissions.SHELL:
            expected = {"se": "shell access", "ops": "shell access", "superuser": "shell access"}
        elif rule == permissions.CUSTOMER_LINK:
            expected = {"se": "link only", "ops": "link only", "superuser": "link only"}
        elif rule == permissions.NOBODY:
            expected = {"se": "no", "ops": "no", "superuser": "no"}
        else:
            allowed = "with a reason" if rule == permissions.REVEAL_PSK else "yes"
            expected = {
                role: allowed if rule in group_perms[role] else "no" for role in group_perms
            }
            expected["superuser"] = allowed
        assert {role: row.cells[role] for role in expected} == expected, row.action
        if rule != permissions.CUSTOMER_LINK:
            assert row.cells["customer"] == "no", row.action


def _group_permissions(name: str) -> set[str]:
    return {
        f"{perm.content_type.app_label}.{perm.codename}"
        for perm in Group.objects.get(name=name).permissions.select_related("content_type")
    }


# --- Who performs the actions -----------------------------------------------------------


@dataclass
class Actor:
    """One role at work: a browser (test client) and, for staff, the account."""

    role: str
    client: Client
    user: object | None
    token: str = ""  # the customer's link, for the customer
    own_request: VpnRequest | None = None


def _actor(role: str) -> Actor:
    client = Client()
    if role == "customer":
        # A customer's browser: it has opened its own link, and holds no account.
        own = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip=PUBLIC_IP)
        token = intake_link_create(request_id=own.pk, send_email=False).token
        assert client.get(f"/intake/{token}/").status_code == 200
        return Actor(role, client, None, token=token, own_request=own)
    user = {
        "se": lambda: se_user(username="matrix-se"),
        "ops": lambda: ops_user(username="matrix-ops"),
        "superuser": lambda: UserFactory(username="matrix-root", is_superuser=True),
    }[role]()
    client.force_login(user)
    return Actor(role, client, user)


@dataclass(frozen=True)
class Outcome:
    """What an attempt did: the response that answered it, and whether its effect
    (the change, the page's content, the file) happened."""

    response: object
    effect: bool


def _refused(response) -> bool:
    """A refusal: 401, 403, 404, 410, or the way to a login page."""
    if response.status_code in (401, 403, 404, 410):
        return True
    return response.status_code == 302 and bool(
        re.match(r"^/(admin/)?login/", response["Location"])
    )


def _submitted(**fields) -> VpnRequest:
    """A complete request waiting for review (a public gateway: it passes approval)."""
    return VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip=PUBLIC_IP, **fields)


def _stage(vpn_request: VpnRequest) -> str:
    vpn_request.refresh_from_db()
    return vpn_request.stage


def _stored_pack(vpn_request: VpnRequest) -> ConfigPack:
    """A stored version with stand-in files: the tests here are about access only."""
    pack = ConfigPack(
        request=vpn_request, version=1, parameters={}, parameters_hash="cd" * 32, changes=[]
    )
    for variant in PackVariant:
        pack.file_for(variant).save(
            pack.download_name(variant), ContentFile(f"{variant} bytes".encode()), save=False
        )
    pack.save()
    return pack


# --- Each row's action ------------------------------------------------------------------


def _dashboard(actor: Actor) -> Outcome:
    vpn_request = VpnRequestFactory(customer__name="Dashboard Co")
    response = actor.client.get("/")
    return Outcome(response, vpn_request.customer.name in response.content.decode())


def _dashboard_export(actor: Actor) -> Outcome:
    vpn_request = VpnRequestFactory(customer__name="Exported Co")
    response = actor.client.get("/requests.csv")
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return Outcome(response, vpn_request.customer.name.encode() in body)


def _request_page(actor: Actor) -> Outcome:
    vpn_request = VpnRequestFactory()
    response = actor.client.get(f"/requests/{vpn_request.pk}/")
    return Outcome(response, f"{vpn_request.reference}</span></h1>" in response.content.decode())


def _review_queue(actor: Actor) -> Outcome:
    _submitted(customer__name="Waiting Co")
    response = actor.client.get("/review/")
    return Outcome(response, "Waiting Co" in response.content.decode())


def _request_create(actor: Actor) -> Outcome:
    response = actor.client.post("/requests/new/", {**FORM_BGP, "action": "submit"})
    return Outcome(response, VpnRequest.objects.filter(customer__org_id=ORG_ID).exists())


def _request_invite(actor: Actor) -> Outcome:
    response = actor.client.post(
        "/requests/invite/",
        {
            "customer_name": "Invited Co",
            "org_id": ORG_ID,
            "contact_name": "Jo",
            "contact_email": "jo@invited.example",
        },
    )
    return Outcome(response, IntakeLink.objects.filter(request__customer__org_id=ORG_ID).exists())


def _request_update(actor: Actor) -> Outcome:
    draft = VpnRequestFactory(stage=Stage.DRAFT, customer_gateway_ip="198.51.100.77")
    response = actor.client.post(f"/requests/{draft.pk}/edit/", {**FORM_BGP, "action": "draft"})
    draft.refresh_from_db()
    return Outcome(response, draft.customer_gateway_ip == PUBLIC_IP)


def _status_json(actor: Actor) -> Outcome:
    live = connection_request()
    response = actor.client.get(f"/requests/{live.pk}/status.json")
    effect = response.status_code == 200 and json.loads(response.content)["id"] == live.pk
    return Outcome(response, effect)


def _metrics(actor: Actor) -> Outcome:
    connection_request()
    response = actor.client.get("/metrics")
    return Outcome(response, b"vpn_tunnel_up{" in response.content)


def _approve(actor: Actor) -> Outcome:
    request = _submitted()
    response = actor.client.post(f"/requests/{request.pk}/approve/")
    return Outcome(response, _stage(request) == Stage.APPROVED)


def _send_back(actor: Actor) -> Outcome:
    request = _submitted()
    response = actor.client.post(
        f"/requests/{request.pk}/send-back/", {"message": "Please add your second subnet."}
    )
    return Outcome(response, _stage(request) == Stage.CHANGES_REQUESTED)


def _link_create(actor: Actor) -> Outcome:
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    response = actor.client.post(f"/requests/{draft.pk}/links/")
    return Outcome(response, draft.intake_links.exists())


def _link_revoke(actor: Actor) -> Outcome:
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    link = intake_link_create(request_id=draft.pk, send_email=False).link
    response = actor.client.post(f"/links/{link.pk}/revoke/")
    link.refresh_from_db()
    return Outcome(response, link.revoked_at is not None)


def _link_resend(actor: Actor) -> Outcome:
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    link = intake_link_create(request_id=draft.pk, send_email=False).link
    before = link.token_hash
    response = actor.client.post(f"/links/{link.pk}/resend/")
    link.refresh_from_db()
    return Outcome(response, link.token_hash != before)


def _link_extend(actor: Actor) -> Outcome:
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    link = intake_link_create(request_id=draft.pk, send_email=False).link
    day = (link.expires_at + timedelta(days=5)).date()
    response = actor.client.post(f"/links/{link.pk}/extend/", {"expires_on": day.isoformat()})
    link.refresh_from_db()
    return Outcome(response, link.expires_at.date() == day)


def _retry(actor: Actor) -> Outcome:
    failed = VpnRequestFactory(stage=Stage.FAILED, failed_stage=Stage.ROUTING)
    response = actor.client.post(f"/requests/{failed.pk}/retry/")
    return Outcome(response, _stage(failed) == Stage.ROUTING)


def _decommission(actor: Actor) -> Outcome:
    live = VpnRequestFactory(stage=Stage.LIVE)
    page = actor.client.get(f"/requests/{live.pk}/decommission/")
    response = actor.client.post(f"/requests/{live.pk}/decommission/", {"reason": "not_used"})
    # The confirmation page answers as the button does.
    assert _refused(page) == _refused(response)
    return Outcome(response, _stage(live) == Stage.DECOMMISSIONING)


def _refresh_now(actor: Actor, rq_queue, on_commit) -> Outcome:
    before = rq_queue.count
    # The refresh is queued once the view's transaction commits.
    with on_commit(execute=True):
        response = actor.client.post(
            "/status/refresh/", {"region": "eu-west-2", "next": "/requests/1/"}
        )
    return Outcome(response, rq_queue.count == before + 1)


def _rq_dashboard(actor: Actor) -> Outcome:
    response = actor.client.get("/admin/django_rq/dashboard/")
    return Outcome(response, response.status_code == 200 and b"Queues" in response.content)


def _account_add(actor: Actor) -> Outcome:
    form = {
        "name": "second",
        "account_id": "111111111111",
        "role_arn": "arn:aws:iam::111111111111:role/vpn-portal",
        "external_id": "portal-external-id",
        "regions": ["eu-west-1", "us-east-1"],
        "quota_vpn_gateways": "20",
    }
    response = actor.client.post("/admin/vpn/awsaccount/add/", form)
    account = AwsAccount.objects.filter(account_id="111111111111").first()
    effect = account is not None and (
        account.regions == ["eu-west-1", "us-east-1"]
        and account.quota_overrides == {"vpn_gateways": 20}
        and account.external_id == "portal-external-id"
    )
    return Outcome(response, effect)


def _account() -> AwsAccount:
    return aws_account_add(
        name="third",
        account_id="222222222222",
        role_arn="arn:aws:iam::222222222222:role/vpn-portal",
        external_id="portal-external-id",
        regions=["us-east-1"],
    )


def _disabled_account() -> AwsAccount:
    return aws_account_enable(account_id=_account().account_id, enabled=False)


def _enabled(account: AwsAccount) -> bool:
    account.refresh_from_db()
    return account.enabled


def _redacted_download(actor: Actor) -> Outcome:
    pack = _stored_pack(connection_request())
    response = actor.client.get(f"/requests/{pack.request_id}/pack/1/{PackVariant.REDACTED_PDF}/")
    effect = response.status_code == 200 and b"".join(response.streaming_content) == (
        b"redacted_pdf bytes"
    )
    return Outcome(response, effect and PackDownload.objects.filter(pack=pack).exists())


def _renumbered_download(actor: Actor) -> Outcome:
    vpn_request = connection_request()
    pack = _stored_pack(vpn_request)
    # The files are rendered from the connection's parameters: the stored hash is theirs.
    pack.parameters_hash = PackParameters.from_request(vpn_request).sha256()
    pack.save()
    response = actor.client.get(f"/requests/{vpn_request.pk}/pack/1/device-files/?first_tunnel=41")
    effect = response.status_code == 200 and b"-tunnel41/cisco-ios-vti.txt" in response.content
    return Outcome(response, effect and PackDownload.objects.filter(pack=pack).exists())


def _reveal(actor: Actor, *, reason: str = "The customer lost the PDF: ticket 4711") -> Outcome:
    pack = _stored_pack(connection_request())
    response = actor.client.post(
        f"/requests/{pack.request_id}/pack/reveal/",
        {"version": "1", "variant": PackVariant.PDF, "reason": reason},
    )
    served = response.status_code == 200 and (b"".join(response.streaming_content) == b"pdf bytes")
    recorded = KeyReveal.objects.filter(pack=pack).exists()
    assert served == recorded, "a file served without its reading recorded, or the reverse"
    return Outcome(response, served)


def _psk_on_pages(actor: Actor) -> Outcome:
    """Look for the keys on every page that shows the request or its tunnels."""
    live = connection_request()
    _stored_pack(live)
    keys = list(live.tunnels.values_list("psk", flat=True))
    assert all(keys)
    urls = ["/", f"/requests/{live.pk}/", f"/requests/{live.pk}/status.json", "/metrics"]
    urls += [f"/admin/vpn/tunnel/{pk}/change/" for pk in live.tunnels.values_list("pk", flat=True)]
    urls += ["/admin/vpn/tunnel/", f"/admin/vpn/vpnrequest/{live.pk}/change/"]
    if actor.role == "customer":
        urls = [f"/intake/{intake_link_create(request_id=live.pk, send_email=False).token}/"]
    bodies = [actor.client.get(url).content.decode() for url in urls]
    assert any(live.reference in body for body in bodies), "no page showed the request at all"
    return Outcome(None, any(key in body for key in keys for body in bodies))


# --- Changes to a live VPN: what each kind's form posts, on a request it fits ------------

CHANGE_PROPOSALS: dict[str, tuple[Callable[[], VpnRequest], dict]] = {
    ChangeKind.ADD_SUBNET: (connection_request, {"cidr": "10.99.0.0/24"}),
    ChangeKind.REMOVE_SUBNET: (connection_request, {"cidr": "192.168.50.0/24"}),
    ChangeKind.CUSTOMER_GATEWAY: (connection_request, {"ip": "52.94.12.99"}),
    ChangeKind.ROTATE_PSK: (connection_request, {"tunnels": "all"}),
    ChangeKind.TUNNEL_OPTIONS: (connection_request, {"phase1_encryption": "AES128"}),
    ChangeKind.NAT: (connection_request, {"nat": "on"}),
    ChangeKind.TUNNEL_COUNT: (lambda: connection_request(tunnel_count=1), {"tunnels": "2"}),
    ChangeKind.MAINTENANCE: (lambda: _with_pending_maintenance(connection_request()), {}),
    ChangeKind.LIFECYCLE_CONTROL: (connection_request, {}),
}


def _with_pending_maintenance(vpn_request: VpnRequest) -> VpnRequest:
    """The request, with AWS's maintenance pending on its tunnel 1 (as the read records it)."""
    PendingMaintenance.objects.create(
        tunnel=vpn_request.tunnels.get(position=1), description="Endpoint software update"
    )
    return vpn_request


def _proposed(kind: str = ChangeKind.ADD_SUBNET) -> VpnChange:
    """A change proposed (from a shell) on a request it fits."""
    make, values = CHANGE_PROPOSALS[kind]
    return change_propose(
        request_id=make().pk, kind=kind, values=values, reason="Ticket 4711", label="matrix"
    )


def _change_page(actor: Actor) -> Outcome:
    change = _proposed()
    response = actor.client.get(f"/changes/{change.pk}/")
    return Outcome(
        response, response.status_code == 200 and change.reference in response.content.decode()
    )


def _change_cancel(actor: Actor) -> Outcome:
    change = _proposed()
    response = actor.client.post(f"/changes/{change.pk}/cancel/")
    change.refresh_from_db()
    return Outcome(response, change.state == ChangeState.CANCELLED)


def _change_propose(kind: str) -> Callable[[Actor], Outcome]:
    def perform(actor: Actor) -> Outcome:
        make, values = CHANGE_PROPOSALS[kind]
        vpn_request = make()
        slug = kind.replace("_", "-")
        response = actor.client.post(
            f"/requests/{vpn_request.pk}/changes/{slug}/", {**values, "reason": "Ticket 4711"}
        )
        return Outcome(response, VpnChange.objects.filter(request=vpn_request, kind=kind).exists())

    return perform


def _change_apply(kind: str) -> Callable[[Actor], Outcome]:
    def perform(actor: Actor) -> Outcome:
        change = _proposed(kind)
        slug = kind.replace("_", "-")
        response = actor.client.post(f"/changes/{change.pk}/apply/{slug}/", {"confirm": "on"})
        change.refresh_from_db()
        return Outcome(response, change.state == ChangeState.APPLYING)

    return perform


def _admin_action(name: str) -> Callable[[Actor], Outcome]:
    """Post the admin action `name` to its model's changelist, on one row made for it."""

    def perform(actor: Actor) -> Outcome:
        model = next(
            model
            for model, model_admin in admin.site._registry.items()
            if name in {action_name for _f, action_name, _d in model_admin._get_base_actions()}
        )
        target, changed = ADMIN_TARGETS[name]()
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = actor.client.post(
            url, {"action": name, "_selected_action": [target.pk], **ADMIN_FORMS.get(name, {})}
        )
        effect = changed(target)
        if not effect and actor.user is not None and response.status_code == 302:
            # Refused by the admin: the action is not even offered to this user.
            page = actor.client.get(url)
            if page.status_code == 200:
                offered = page.context["action_form"].fields["action"].choices
                assert name not in [value for value, _ in offered]
            return Outcome(page, False)
        return Outcome(response, effect)

    return perform


# What an admin action that asks first (an intermediate page) is given, as that page posts.
ADMIN_FORMS = {"move_to_decommissioning": {"apply": "1", "reason": "customer_request"}}


def _revoked(link: IntakeLink) -> bool:
    link.refresh_from_db()
    return link.revoked_at is not None


ADMIN_TARGETS: dict[str, Callable[[], tuple[object, Callable[[object], bool]]]] = {
    "move_to_approved": lambda: (_submitted(), lambda r: _stage(r) == Stage.APPROVED),
    "move_to_cancelled": lambda: (_submitted(), lambda r: _stage(r) == Stage.CANCELLED),
    "retry_failed": lambda: (
        VpnRequestFactory(stage=Stage.FAILED, failed_stage=Stage.ROUTING),
        lambda r: _stage(r) == Stage.ROUTING,
    ),
    "move_to_decommissioning": lambda: (
        VpnRequestFactory(stage=Stage.LIVE),
        lambda r: _stage(r) == Stage.DECOMMISSIONING,
    ),
    "disable_placement": lambda: (_account(), lambda a: not _enabled(a)),
    "enable_placement": lambda: (_disabled_account(), _enabled),
    "revoke": lambda: (
        intake_link_create(
            request_id=VpnRequestFactory(stage=Stage.DRAFT).pk, send_email=False
        ).link,
        _revoked,
    ),
}

PERFORMERS: dict[str, Callable[..., Outcome]] = {
    "vpn:dashboard": _dashboard,
    "vpn:request_export": _dashboard_export,
    "vpn:request_detail": _request_page,
    "vpn:request_review": _review_queue,
    "vpn:request_create": _request_create,
    "vpn:request_invite": _request_invite,
    "vpn:request_update": _request_update,
    "vpn:request_status": _status_json,
    "metrics": _metrics,
    "vpn:request_approve": _approve,
    "vpn:request_send_back": _send_back,
    "vpn:intakelink_create": _link_create,
    "vpn:intakelink_revoke": _link_revoke,
    "vpn:intakelink_resend": _link_resend,
    "vpn:intakelink_extend": _link_extend,
    "vpn:request_retry": _retry,
    "vpn:request_decommission": _decommission,
    "vpn:status_refresh": _refresh_now,
    "/admin/django_rq/": _rq_dashboard,
    "/admin/vpn/awsaccount/add/": _account_add,
    "vpn:configpack_download": _redacted_download,
    "vpn:configpack_renumbered": _renumbered_download,
    "vpn:configpack_reveal": _reveal,
    "every page": _psk_on_pages,
    "vpn:change_detail": _change_page,
    "vpn:change_cancel": _change_cancel,
    **{f"vpn:change_propose_{kind}": _change_propose(kind) for kind in ChangeKind},
    **{f"vpn:change_apply_{kind}": _change_apply(kind) for kind in ChangeKind},
}


# --- The customer's link ----------------------------------------------------------------


def _customer_link_check(row: Row, actor: Actor, cell: str) -> None:
    """The customer's rows: what the link reaches, and that an account adds nothing."""
    own = connection_request()
    _stored_pack(own)
    token = intake_link_create(request_id=own.pk, send_email=False).token
    other = connection_request(customer=None)
    pack_row = row.where == "vpn:intake_pack"
    path = f"/intake/{token}/" + (f"pack/{PackVariant.PDF}/" if pack_row else "")
    if cell == "link only":
        # Without a link, an account opens no customer's page and no pack.
        bogus = "x" * len(token)
        assert actor.client.get(f"/intake/{bogus}/").status_code == 404
        assert actor.client.get(f"/intake/{bogus}/pack/{PackVariant.PDF}/").status_code == 404
        # With one, it sees what anyone holding it sees, no more.
        assert actor.client.get(path).status_code == 200
        return
    assert actor.user is None
    response = actor.client.get(path)
    assert response.status_code == 200
    if not pack_row:
        html = response.content.decode()
        assert own.reference in html and other.reference not in html
        return
    assert b"".join(response.streaming_content) == b"pdf bytes"
    redacted = actor.client.get(f"/intake/{token}/pack/{PackVariant.REDACTED_PDF}/")
    assert redacted.status_code == 200
    assert PackDownload.objects.filter(pack__request=own).count() == 2
    assert cell == "own, until removed"
    # Once the VPN is removed, nothing more is served.
    StageTransition.objects.create(
        request=own, from_stage=Stage.LIVE, to_stage=Stage.DECOMMISSIONED, note="test"
    )
    VpnRequest.objects.filter(pk=own.pk).update(stage=Stage.DECOMMISSIONED)
    for variant in PackVariant:
        assert actor.client.get(f"/intake/{token}/pack/{variant}/").status_code == 410
    assert PackDownload.objects.filter(pack__request=own).count() == 2


# --- Every cell -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _real_aws(settings):
    """As in production: a gateway in a documentation range would be refused."""
    settings.AWS_SANDBOX = False


def _cells():
    for row in ROWS:
        for role in ROLES:
            yield pytest.param(row, role, id=f"{row.where}|{role}")


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "role"), list(_cells()))
def test_every_cell_of_the_matrix_holds(request, row: Row, role: str):
    cell = row.cells[role]
    if row.command:
        # Commands are for a shell on the server: there they exist, and no page runs one.
        assert get_commands().get(row.command) == "vpn"
        if cell == "no":
            for _name, pattern in _url_patterns():
                assert "management" not in pattern.callback.__module__
        else:
            assert cell == "shell access"
        return
    actor = _actor(role)
    if cell in ("link only", "own request", "own, until removed"):
        _customer_link_check(row, actor, cell)
        return
    perform = PERFORMERS.get(row.where) or _admin_action(row.admin_action or "")
    if row.where == "vpn:status_refresh":
        outcome = perform(
            actor,
            request.getfixturevalue("rq_queue"),
            request.getfixturevalue("django_capture_on_commit_callbacks"),
        )
    else:
        outcome = perform(actor)
    if cell in ("yes", "with a reason"):
        assert outcome.effect, f"{row.action}: refused to {role}"
        if outcome.response is not None:
            assert 200 <= outcome.response.status_code < 400
            assert not _refused(outcome.response)
    else:
        assert not outcome.effect, f"{row.action}: allowed to {role}"
        if outcome.response is not None:
            assert _refused(outcome.response) or row.admin_action, outcome.response
    if cell == "with a reason":
        # Without a reason, the same reader is refused and nothing is recorded.
        KeyReveal.objects.all().delete()
        downloads = PackDownload.objects.count()
        refused = _reveal(actor, reason="   ")
        assert not refused.effect
        assert refused.response.status_code == 302
        assert not KeyReveal.objects.exists()
        assert PackDownload.objects.count() == downloads
