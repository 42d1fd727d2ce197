"""axe-core over every page state, staff, customer and admin, at desktop and phone widths:
no serious or critical violation of WCAG 2.1 A and AA may be found, and at phone width no
page scrolls sideways (wide tables scroll inside their own focusable region, or stack).

Each state is a test of its own (named in the parametrization), built the way the product
gets there: factories for plain rows, the services and the AWS sandbox for VPNs that exist,
real RQ jobs for a provisioned VPN and its rendered config pack.

axe-core is the npm package `make test` installs under .npm/. The portal's
Content-Security-Policy allows no inline script, so the checker could not be added to the
page as a script element; this test's browser context alone bypasses the policy
(`bypass_csp`) to evaluate axe's source in the page. tests/browser/test_csp_walk.py keeps
checking the policy itself on the same pages.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rq import SimpleWorker

from tests.change_support import provisioned_vpn
from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from tests.status_support import bring_live, connection_id, flip, inject, live_vpn
from vpn.choices import ChangeKind, Stage
from vpn.models import IntakeLink, VpnRequest
from vpn.services import intake
from vpn.services.changes import change_propose
from vpn.services.maintenance import maintenance_refresh
from vpn.services.status import status_refresh

AXE = Path(settings.BASE_DIR) / ".npm" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)
FAILING_IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" ")),
  }));
}"""
# The elements that reach past the window's right edge (a sideways scroll), innermost
# first; none when the page fits.
PAST_THE_EDGE = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth) return [];
  const past = e => e.getBoundingClientRect().right > window.innerWidth + 1;
  return [...document.querySelectorAll("body *")]
    .filter(e => past(e) && ![...e.children].some(past))
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className);
}"""
# Tables wider than their box at phone width: on the portal's pages each must sit in a
# region that scrolls and takes keyboard focus (`.table-scroll`), or stack into rows of
# label and value (`.stack-sm`). The admin's own tables (its look is Django's) may scroll
# inside any container of their own that fits the window.
CLIPPED_TABLES = """() => {
  const admin = document.querySelector("body > #container #content") !== null;
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const fits = e => e.getBoundingClientRect().right <= window.innerWidth + 1;
  return [...document.querySelectorAll("table")]
    .filter(t => t.getBoundingClientRect().width > 0)
    .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
    .filter(t => {
      if (admin) {
        let box = t.parentElement;
        while (box && !scrolls(box)) box = box.parentElement;
        return !(box && box !== document.documentElement && fits(box));
      }
      const region = t.closest(".table-scroll");
      return !(region && region.tabIndex === 0 && region.getAttribute("role") === "region"
               && region.getAttribute("aria-label") && fits(region));
    })
    .map(t => (t.id || t.closest("[id]")?.id || "table"));
}"""


@dataclass
class World:
    """What a state's builder may use: the page, the server, the users, and fixtures that
    are only set up for the states that need them (the sandbox, the RQ worker)."""

    page: object
    server: str
    se: object
    ops: object
    fixture: Callable[[str], object]

    def go(self, path: str) -> Callable[[], None]:
        """An action that opens `path`."""
        return lambda: self.page.goto(self.server + path)


def _log_in(page, server: str, user) -> None:
    page.goto(f"{server}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pass")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def _submitted_with_errors(w: World, path: str, emptied: str = "") -> Callable[[], None]:
    """An action that sends the form at `path` empty and comes back with its errors
    (`emptied` is a script run before, to clear what the form starts with)."""

    def act():
        w.page.goto(w.server + path)
        # The browser's own checks of required fields are turned off, so that the empty
        # form reaches the server and comes back with its errors.
        w.page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
        if emptied:
            w.page.evaluate(emptied)
        with w.page.expect_navigation():
            w.page.click("main form:not([role=search]) button[type=submit] >> nth=-1")
        assert w.page.title().startswith("Error: ")

    return act


def _link_path(request: VpnRequest) -> str:
    return urlsplit(intake.intake_link_create(request_id=request.pk, send_email=False).url).path


def _detail(request: VpnRequest) -> str:
    return reverse("vpn:request_detail", args=[request.pk])


def _schedule_maintenance(sandbox, request: VpnRequest, position: int) -> None:
    deadline = timezone.now().replace(microsecond=0) + timedelta(days=5)
    sandbox.control(
        "POST",
        "/_sandbox/tunnel-maintenance",
        {
            "vpn_connection_id": connection_id(request),
            "outside_ip": request.tunnels.get(position=position).outside_ip,
            "auto_applied_after": deadline.isoformat(),
            "description": "Endpoint software update",
        },
    )


def _degraded_with_diagnosis(w: World) -> VpnRequest:
    """A VPN whose tunnel 1 went down for a known cause, with AWS maintenance pending."""
    sandbox = w.fixture("aws_sandbox")
    request = live_vpn(sandbox, owner=w.se, region="eu-west-1", as_provisioned=True)
    status_refresh()
    for position in (1, 2):
        flip(sandbox, request, position, "UP", accepted_route_count=3)
    status_refresh()
    inject(sandbox, request, 1, "psk_mismatch")
    _schedule_maintenance(sandbox, request, 2)
    status_refresh()
    maintenance_refresh()
    request.refresh_from_db()
    assert request.stage == Stage.DEGRADED
    return request


def _decommissioned(w: World) -> VpnRequest:
    request = VpnRequestFactory(stage=Stage.DECOMMISSIONED, owner=w.se)
    for position in (1, 2):
        TunnelFactory(request=request, position=position, status="DOWN")
    return request


# --- Staff pages, signed out and in (as a solutions engineer). ---------------------------


def login_empty(w):
    return None, w.go("/login/")


def login_failed(w):
    def act():
        w.page.goto(f"{w.server}/login/")
        w.page.fill("#id_username", w.se.username)
        w.page.fill("#id_password", "not the password")
        w.page.click("#password-login button[type=submit]")
        assert w.page.title().startswith("Error: ")
        assert w.page.locator("#id_password").get_attribute("aria-describedby") == "login-error"

    return None, act


def dashboard_rows(w):
    sandbox = w.fixture("aws_sandbox")
    bring_live(sandbox, live_vpn(sandbox, owner=w.se, region="eu-west-1"))
    degraded = VpnRequestFactory(stage=Stage.DEGRADED, owner=w.se)
    TunnelFactory(request=degraded, position=1, status="UP")
    TunnelFactory(request=degraded, position=2, status="DOWN")
    _decommissioned(w)
    VpnRequestFactory(stage=Stage.SUBMITTED, owner=w.se)
    VpnRequestFactory(stage=Stage.FAILED)

    def act():
        w.page.goto(w.server + "/")
        stages = w.page.locator("#request-table tbody .badge").all_inner_texts()
        for stage in ("Live", "Degraded", "Decommissioned", "Awaiting review", "Failed"):
            assert stage in stages, stages

    return w.se, act


def dashboard_filter_error(w):
    VpnRequestFactory(stage=Stage.SUBMITTED, owner=w.se)
    VpnRequestFactory(stage=Stage.LIVE)
    return w.se, w.go("/?stage=nonsense&region=mars-north-1&q=")


def request_form_empty(w):
    return w.se, w.go(reverse("vpn:request_create"))


def request_form_errors(w):
    return w.se, _submitted_with_errors(w, reverse("vpn:request_create"))


def invite_form(w):
    return w.se, w.go(reverse("vpn:request_invite"))


def request_edit_form(w):
    draft = VpnRequestFactory(stage=Stage.DRAFT, owner=w.se)
    return w.se, w.go(reverse("vpn:request_update", args=[draft.pk]))


def request_awaiting_review(w):
    submitted = VpnRequestFactory(stage=Stage.SUBMITTED, owner=w.se)
    return w.se, w.go(_detail(submitted))


def request_customer_links(w):
    draft = VpnRequestFactory(stage=Stage.DRAFT, owner=w.se)
    intake.intake_link_create(request_id=draft.pk, send_email=False)
    revoked = intake.intake_link_create(request_id=draft.pk, send_email=False).link
    intake.intake_link_revoke(link_id=revoked.pk)
    expired = intake.intake_link_create(request_id=draft.pk, send_email=False).link
    IntakeLink.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=40),
        expires_at=timezone.now() - timedelta(days=10),
    )
    return w.se, w.go(_detail(draft))


def request_provisioning(w):
    from vpn.services.stages import request_move

    w.fixture("rq_queue")  # the provisioning jobs wait there, not run: the page follows them
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", owner=w.se)
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, actor=w.se)

    def act():
        w.page.goto(w.server + _detail(request))
        assert w.page.locator("#live-progress[hx-get]").count() == 1

    return w.se, act


def request_live_with_pack(w):
    request = provisioned_vpn(w.fixture("aws_sandbox"), w.fixture("run_jobs"), owner=w.ops)

    def act():
        w.page.goto(w.server + _detail(request))
        # The card lists the rendered version with its downloads and, for Ops (key
        # readers), the form that reads the keys.
        assert w.page.locator("#config-pack tbody tr td a").count() >= 2
        assert w.page.locator("#key-reveal-form").count() == 1

    return w.ops, act


def request_degraded(w):
    request = _degraded_with_diagnosis(w)

    def act():
        w.page.goto(w.server + _detail(request))
        assert w.page.locator("#tunnel-diagnosis .diagnosis").count() >= 1
        assert w.page.locator(".maintenance-pending").count() >= 1

    return w.se, act


def request_decommissioned(w):
    return w.se, w.go(_detail(_decommissioned(w)))


def decommission_form(w):
    sandbox = w.fixture("aws_sandbox")
    live = bring_live(sandbox, live_vpn(sandbox, owner=w.se, region="eu-west-1"))
    return w.se, w.go(reverse("vpn:request_decommission", args=[live.pk]))


def review_queue(w):
    for name in ("Northwind Traders", "Litware Labs"):
        request = VpnRequestFactory(stage=Stage.SUBMITTED, customer__name=name)
        TunnelFactory(request=request, position=1)
    return w.se, w.go(reverse("vpn:request_review"))


def change_proposed(w):
    request = provisioned_vpn(w.fixture("aws_sandbox"), w.fixture("run_jobs"), owner=w.ops)
    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ADD_SUBNET,
        values={"cidr": "10.77.0.0/24"},
        reason="The customer's new office",
        user=w.ops,
    )
    return w.ops, w.go(reverse("vpn:change_detail", args=[change.pk]))


def change_form_errors(w):
    sandbox = w.fixture("aws_sandbox")
    live = bring_live(sandbox, live_vpn(sandbox, owner=w.ops, region="eu-west-1"))
    path = reverse("vpn:change_propose_add_subnet", args=[live.pk])

    def act():
        w.page.goto(w.server + _detail(live))
        w.page.click("#change-form-add_subnet > summary")
        w.page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
        with w.page.expect_navigation():
            w.page.click("#change-form-add_subnet button[type=submit]")
        assert urlsplit(w.page.url).path == path, w.page.url
        assert w.page.locator(".errorlist").count() >= 1

    return w.ops, act


def jobs_page(w):
    queue = w.fixture("rq_queue")
    queue.enqueue("vpn.jobs.emails_send")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    queue.enqueue("vpn.jobs.emails_send")
    return w.ops, w.go(reverse("admin:django_rq_jobs", args=[0]))


def jobs_home(w):
    w.fixture("rq_queue")
    return w.ops, w.go(reverse("admin:django_rq_home"))


# --- The customer's link (nobody signed in). ---------------------------------------------


def intake_form_empty(w):
    return None, w.go(_link_path(VpnRequestFactory(stage=Stage.DRAFT, owner=w.se)))


def intake_form_errors(w):
    path = _link_path(VpnRequestFactory(stage=Stage.DRAFT, owner=w.se))
    # A radio group left unanswered (the routing) is among the errors.
    submit = _submitted_with_errors(
        w, path, "document.querySelectorAll('input[type=radio]').forEach(r => r.checked = false)"
    )

    def act():
        submit()
        group = w.page.locator("[role=radiogroup][aria-invalid=true]").first
        described_by = group.get_attribute("aria-describedby").split()
        assert described_by[0].endswith("_errors")
        assert w.page.locator(f"#{described_by[0]} .errorlist").count() == 1

    return None, act


def intake_status_live(w):
    sandbox = w.fixture("aws_sandbox")
    live = bring_live(sandbox, live_vpn(sandbox, owner=w.se, region="eu-west-1"))
    path = _link_path(live) + "?chart=30d"

    def act():
        w.page.goto(w.server + path)
        assert w.page.locator("#chart-window-30d[aria-current]").count() == 1

    return None, act


def intake_status_degraded(w):
    return None, w.go(_link_path(_degraded_with_diagnosis(w)))


def intake_removed(w):
    return None, w.go(_link_path(_decommissioned(w)))


def intake_link_expired(w):
    draft = VpnRequestFactory(stage=Stage.DRAFT, owner=w.se)
    new = intake.intake_link_create(request_id=draft.pk, send_email=False)
    IntakeLink.objects.filter(pk=new.link.pk).update(
        created_at=timezone.now() - timedelta(days=40),
        expires_at=timezone.now() - timedelta(days=10),
    )
    return None, w.go(urlsplit(new.url).path)


def intake_link_unknown(w):
    return None, w.go(reverse("vpn:intake", args=["x" * 43]))


# --- The admin (as Ops). ------------------------------------------------------------------


def admin_login(w):
    return None, w.go(reverse("admin:login") + "?next=/admin/")


def admin_index(w):
    return w.ops, w.go(reverse("admin:index"))


def admin_changelist(w):
    for stage in (Stage.SUBMITTED, Stage.LIVE, Stage.DECOMMISSIONED):
        VpnRequestFactory(stage=stage)
    return w.ops, w.go(reverse("admin:vpn_vpnrequest_changelist"))


def admin_request_change(w):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    TunnelFactory(request=request, position=1)
    return w.ops, w.go(reverse("admin:vpn_vpnrequest_change", args=[request.pk]))


def admin_customer_change(w):
    customer = CustomerFactory()
    return w.ops, w.go(reverse("admin:vpn_customer_change", args=[customer.pk]))


STATES = {
    "staff: login": login_empty,
    "staff: login, failed attempt": login_failed,
    "staff: dashboard, live, degraded, decommissioned rows": dashboard_rows,
    "staff: dashboard, filter errors": dashboard_filter_error,
    "staff: new request form": request_form_empty,
    "staff: new request form, errors": request_form_errors,
    "staff: invite form": invite_form,
    "staff: request edit form": request_edit_form,
    "staff: request, awaiting review": request_awaiting_review,
    "staff: request, customer links table": request_customer_links,
    "staff: request, provisioning live": request_provisioning,
    "staff: request, live with config pack": request_live_with_pack,
    "staff: request, degraded with diagnosis and maintenance": request_degraded,
    "staff: request, decommissioned": request_decommissioned,
    "staff: decommission form": decommission_form,
    "staff: review queue": review_queue,
    "staff: change page, proposed": change_proposed,
    "staff: change form, errors": change_form_errors,
    "staff: jobs": jobs_page,
    "staff: jobs, queues": jobs_home,
    "customer: intake form": intake_form_empty,
    "customer: intake form, errors with a radio group": intake_form_errors,
    "customer: status page, live, 30d chart": intake_status_live,
    "customer: status page, degraded": intake_status_degraded,
    "customer: removed VPN": intake_removed,
    "customer: expired link": intake_link_expired,
    "customer: unknown link": intake_link_unknown,
    "admin: login": admin_login,
    "admin: index": admin_index,
    "admin: changelist, VPN requests": admin_changelist,
    "admin: change form, VPN request": admin_request_change,
    "admin: change form, customer": admin_customer_change,
}


@pytest.fixture
def axe_source():
    """The text of axe.min.js, installed by `make test`."""
    if not AXE.exists():
        from tests.conftest import service_missing

        service_missing(f"axe-core at {AXE} (run make test)")
    return AXE.read_text()


@pytest.fixture
def axe_page(browser, live_server, axe_source):
    """A page in a context that bypasses the CSP, so that axe's source can be evaluated."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def _report(found: dict) -> str:
    lines = []
    for width, violations in found.items():
        for violation in violations:
            nodes = violation["nodes"]
            lines.append(f"@{width}: {violation['id']} ({len(nodes)}) {nodes[:4]}")
    total = sum(len(v["nodes"]) for vs in found.values() for v in vs)
    return f"{total} serious or critical nodes\n" + "\n".join(lines)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("state", list(STATES))
def test_no_serious_violation_and_no_sideways_scroll(
    state, axe_page, axe_source, live_server, se, ops, request, settings
):
    # The live pages keep their polling markup, but no poll fires while axe reads them.
    settings.STATUS_PAGE_POLL_SECONDS = 3600
    settings.CUSTOMER_PAGE_POLL_SECONDS = 3600
    page = axe_page
    world = World(page, live_server.url, se, ops, request.getfixturevalue)
    user, act = STATES[state](world)
    if user is not None:
        _log_in(page, live_server.url, user)
    found: dict[int, list] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        act()
        page.wait_for_load_state("networkidle")
        page.evaluate(axe_source)
        for violation in page.evaluate(RUN_AXE):
            if violation["impact"] in FAILING_IMPACTS:
                found.setdefault(width, []).append(violation)
        past_the_edge = page.evaluate(PAST_THE_EDGE)
        if past_the_edge:
            found.setdefault(width, []).append({"id": "sideways-scroll", "nodes": past_the_edge})
        clipped = page.evaluate(CLIPPED_TABLES)
        if clipped:
            found.setdefault(width, []).append({"id": "clipped-table", "nodes": clipped})
    assert not found, _report(found)
