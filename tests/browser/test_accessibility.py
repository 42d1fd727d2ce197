"""axe-core over the main page states, staff, customer and admin, at desktop and phone
widths: no serious or critical violation of WCAG 2.1 A and AA may be found.

axe-core is the npm package `make test` installs under .npm/. The portal's
Content-Security-Policy allows no inline script, so the checker could not be added to the
page as a script element; this test's browser context alone bypasses the policy
(`bypass_csp`) to evaluate axe's source in the page. tests/browser/test_csp_walk.py keeps
checking the policy itself on the same pages.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import TunnelFactory, VpnRequestFactory
from tests.status_support import bring_live, live_vpn
from vpn.choices import Stage
from vpn.services import intake

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


def _check(page, axe_source, label: str, found: dict, act=None) -> None:
    """Run axe on the page at each width (after `act`, which puts the page in its state)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if act is not None:
            act()
        page.wait_for_load_state("networkidle")
        page.evaluate(axe_source)
        for violation in page.evaluate(RUN_AXE):
            if violation["impact"] in FAILING_IMPACTS:
                found.setdefault(f"{label} @{width}", []).append(violation)
        past_the_edge = page.evaluate(PAST_THE_EDGE)
        if past_the_edge:
            found.setdefault(f"{label} @{width}", []).append(
                {"id": "sideways-scroll", "nodes": past_the_edge}
            )


def _log_in(page, server: str, user) -> None:
    page.goto(f"{server}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pass")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def _report(found: dict) -> str:
    lines = []
    for state, violations in found.items():
        for violation in violations:
            nodes = violation["nodes"]
            lines.append(f"{state}: {violation['id']} ({len(nodes)}) {nodes[:3]}")
    total = sum(len(v["nodes"]) for vs in found.values() for v in vs)
    return f"{total} serious or critical nodes\n" + "\n".join(lines)


@pytest.mark.django_db(transaction=True)
def test_staff_and_customer_pages_have_no_serious_violation(
    axe_page, axe_source, live_server, se, aws_sandbox, settings
):
    settings.STATUS_PAGE_POLL_SECONDS = 3600
    settings.CUSTOMER_PAGE_POLL_SECONDS = 3600
    page, server, found = axe_page, live_server.url, {}
    live = bring_live(aws_sandbox, live_vpn(aws_sandbox, owner=se, region="eu-west-1"))
    TunnelFactory(request=VpnRequestFactory(stage=Stage.SUBMITTED, owner=se), position=1)
    draft = VpnRequestFactory(stage=Stage.DRAFT, owner=se)
    form_path = urlsplit(intake.intake_link_create(request_id=draft.pk, send_email=False).url)
    status_path = urlsplit(intake.intake_link_create(request_id=live.pk, send_email=False).url)

    def failed_login():
        page.goto(f"{server}/login/")
        page.fill("#id_username", se.username)
        page.fill("#id_password", "not the password")
        page.click("#password-login button[type=submit]")
        assert page.title().startswith("Error: ")
        assert page.locator("#id_password").get_attribute("aria-describedby") == "login-error"

    _check(page, axe_source, "login with an error", found, failed_login)
    _log_in(page, server, se)
    for label, path in (
        ("dashboard", "/"),
        ("request page, live", reverse("vpn:request_detail", args=[live.pk])),
        ("review queue", reverse("vpn:request_review")),
    ):
        _check(page, axe_source, label, found, lambda path=path: page.goto(server + path))
    page.goto(server + reverse("vpn:request_detail", args=[live.pk]))
    assert page.locator("#config-pack").count() == 1  # the config pack card was checked

    def form_with_errors(path):
        page.goto(server + path)
        # The browser's own checks of required fields are turned off, so that the empty
        # form reaches the server and comes back with its errors.
        page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
        with page.expect_navigation():
            page.click("main form:not([role=search]) button[type=submit] >> nth=-1")
        assert page.title().startswith("Error: ")

    _check(
        page,
        axe_source,
        "new request form with errors",
        found,
        lambda: form_with_errors(reverse("vpn:request_create")),
    )
    page.context.clear_cookies()
    _check(
        page,
        axe_source,
        "customer intake form with errors",
        found,
        lambda: form_with_errors(form_path.path),
    )
    _check(
        page,
        axe_source,
        "customer status page",
        found,
        lambda: page.goto(server + status_path.path),
    )
    assert not found, _report(found)


@pytest.mark.django_db(transaction=True)
def test_admin_pages_have_no_serious_violation(axe_page, axe_source, live_server, ops):
    page, server, found = axe_page, live_server.url, {}
    VpnRequestFactory(stage=Stage.SUBMITTED)
    _log_in(page, server, ops)
    for label, path in (
        ("admin index", reverse("admin:index")),
        ("admin changelist", reverse("admin:vpn_vpnrequest_changelist")),
    ):
        _check(page, axe_source, label, found, lambda path=path: page.goto(server + path))
    assert not found, _report(found)
