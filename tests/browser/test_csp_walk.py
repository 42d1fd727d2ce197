"""The Content-Security-Policy holds on every main page: with debug off and the static
files served by WhiteNoise after a collectstatic (tests/static_support.py), Chromium walks
the pages as an SE, as Ops and as the customer's link, waits for each live page's polling
to come back, and fails on any console error, uncaught exception or CSP violation.

The server here is Django's live server thread without its own static handler: the
portal's middleware serves the static files, as under gunicorn.
"""

from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.test.testcases import LiveServerThread
from django.urls import reverse
from rq import SimpleWorker

from tests.factories import TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.services import intake

# Reports every CSP violation to the console, where the listeners below collect it (Chromium
# logs most violations itself; this catches them all, with the directive).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def production_server(production_static, settings):
    """The portal over HTTP with no static handler of the test server's own."""
    settings.STATUS_PAGE_POLL_SECONDS = 1
    settings.CUSTOMER_PAGE_POLL_SECONDS = 1
    # The WSGI handler without the live server's static and media handlers around it.
    thread = LiveServerThread("localhost", static_handler=lambda handler: handler.application)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


@pytest.fixture
def problems(page):
    """Console errors, uncaught exceptions and CSP violations of the pages opened."""
    found: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda msg: found.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: found.append(f"uncaught: {error}"))
    return found


def _visit(page, url: str, problems: list[str]) -> None:
    """Open `url` and let it settle; no problem may have shown on the way."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert problems == [], (url, problems)


def _log_in(page, server: str, user) -> None:
    page.goto(f"{server}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pass")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


@pytest.fixture
def walk_data(se):
    """A request waiting for the customer (its pages poll), one awaiting review, and one
    whose customer has an intake form to fill in."""
    waiting = VpnRequestFactory(stage=Stage.AWAITING_CUSTOMER, owner=se)
    for position in (1, 2):
        TunnelFactory(request=waiting, position=position, status="UP")
    submitted = VpnRequestFactory(stage=Stage.SUBMITTED, owner=se)
    draft = VpnRequestFactory(stage=Stage.DRAFT, owner=se)
    links = {
        name: urlsplit(intake.intake_link_create(request_id=r.pk, send_email=False).url).path
        for name, r in (("status", waiting), ("form", draft))
    }
    return {"waiting": waiting, "submitted": submitted, "draft": draft, "links": links}


def _open_and_poll(page, url: str, problems: list[str]) -> None:
    """Open a live page and wait for its first poll, with no problem on the way."""
    path = urlsplit(url).path
    with page.expect_response(
        lambda response: (
            urlsplit(response.url).path == path
            and response.request.headers.get("hx-request") == "true"
        )
    ) as polled:
        page.goto(url)
    assert polled.value.status == 200, url
    page.wait_for_load_state("networkidle")
    assert problems == [], (url, problems)


@pytest.mark.django_db(transaction=True)
def test_the_se_pages_hold_under_the_policy(page, production_server, problems, se, walk_data):
    server = production_server
    header = page.goto(f"{server}/login/").headers["content-security-policy"]
    policy = dict(directive.strip().split(" ", 1) for directive in header.split(";"))
    assert policy["script-src"] == policy["style-src"] == "'self'"
    assert "unsafe" not in header
    _log_in(page, server, se)
    assert problems == []
    _open_and_poll(page, f"{server}/", problems)
    _open_and_poll(page, f"{server}/requests/{walk_data['waiting'].pk}/", problems)
    for path in (
        reverse("vpn:request_review"),
        reverse("vpn:request_create"),
        reverse("vpn:request_invite"),
        reverse("vpn:request_detail", args=[walk_data["submitted"].pk]),
        reverse("vpn:request_update", args=[walk_data["draft"].pk]),
    ):
        _visit(page, server + path, problems)
    # The routing switch of the request form, run by the static script.
    page.goto(server + reverse("vpn:request_create"))
    page.check("input[name=routing][value=bgp]")
    assert page.locator("[data-routing=static]").first.is_hidden()
    assert problems == []


@pytest.mark.django_db(transaction=True)
def test_the_customer_link_holds_under_the_policy(page, production_server, problems, walk_data):
    server = production_server
    _visit(page, server + walk_data["links"]["form"], problems)
    _open_and_poll(page, server + walk_data["links"]["status"], problems)


@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_rq_dashboard_hold_under_the_policy(
    page, production_server, problems, ops, walk_data, rq_queue
):
    server = production_server
    # One job run (the dashboard's job page lists its result) and one still queued.
    finished = rq_queue.enqueue("vpn.jobs.emails_send")
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    rq_queue.enqueue("vpn.jobs.emails_send")
    _log_in(page, server, ops)

    pages = [reverse("admin:index")]
    # Every admin list Ops may see.
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        if ops.has_perm("{}.view_{}".format(*info)):
            pages.append(reverse("admin:{}_{}_changelist".format(*info)))
    pages.append(reverse("admin:vpn_vpnrequest_change", args=[walk_data["waiting"].pk]))
    rq = "admin:django_rq_"
    pages += [
        reverse(f"{rq}home"),
        reverse(f"{rq}jobs", args=[0]),
        reverse(f"{rq}finished_jobs", args=[0]),
        reverse(f"{rq}failed_jobs", args=[0]),
        reverse(f"{rq}scheduled_jobs", args=[0]),
        reverse(f"{rq}started_jobs", args=[0]),
        reverse(f"{rq}workers", args=[0]),
        reverse(f"{rq}queue_details", args=[0]),
        reverse(f"{rq}clear", args=[0]),
        reverse(f"{rq}requeue_all", args=[0]),
        reverse(f"{rq}delete_job", args=[0, finished.id]),
    ]
    for path in pages:
        _visit(page, server + path, problems)

    # The job page: a click on its result row opens the result (a script, not onclick).
    _visit(page, server + reverse(f"{rq}job_detail", args=[0, finished.id]), problems)
    page.click("tr.rq-clickable td:first-child")
    page.wait_for_url("**/results/**")
    page.wait_for_load_state("networkidle")
    assert problems == [], page.url

    # Selecting queued jobs and choosing an action leads to django-rq's confirmation page.
    page.goto(server + reverse(f"{rq}jobs", args=[0]))
    page.check("input.action-select")
    page.select_option("select[name=action]", "delete")
    page.click("#changelist-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Are you sure?" in page.content()
    assert problems == [], page.url
