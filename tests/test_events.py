"""`vpn.events`: follow-up work waits for the commit inside a transaction, runs at once
outside one, never runs for work rolled back, and reaches the jobs by their dotted
path (on a real Redis queue, or in this process without one)."""

import re
from pathlib import Path

import django_rq
import pytest
from django.db import transaction
from django.utils.module_loading import import_string

from tests.factories import VpnRequestFactory
from tests.mail_support import recipients
from vpn import events, jobs
from vpn.choices import Stage
from vpn.services.notifications import email_queue

pytestmark = pytest.mark.django_db(transaction=True)

VPN = Path(__file__).resolve().parent.parent / "vpn"


@pytest.fixture
def queued(rq_queue, settings):
    """The real queue, with jobs queued rather than run here."""
    settings.RQ_ASYNC = True
    return rq_queue


def test_a_job_asked_for_in_a_transaction_is_queued_once_it_commits(queued):
    with transaction.atomic():
        events.job_enqueue("vpn.jobs.status_refresh", "schedule")
        with transaction.atomic():  # however deep: it waits for the outermost commit
            events.job_enqueue("vpn.jobs.status_refresh", "button", ["eu-west-1"])
        assert queued.count == 0
    assert [(job.func_name, list(job.args)) for job in queued.jobs] == [
        ("vpn.jobs.status_refresh", ["schedule"]),
        ("vpn.jobs.status_refresh", ["button", ["eu-west-1"]]),
    ]


def test_a_job_asked_for_by_work_rolled_back_is_never_queued(queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.job_enqueue("vpn.jobs.status_refresh", "schedule")
        raise RuntimeError("the work failed")
    assert queued.count == 0


def test_outside_a_transaction_the_job_is_queued_at_once(queued):
    events.job_enqueue("vpn.jobs.status_refresh", "schedule")
    assert queued.count == 1


def test_after_commit_calls_at_once_outside_a_transaction_and_later_inside_one():
    calls: list[str] = []
    events.after_commit(calls.append, "outside")
    assert calls == ["outside"]
    with transaction.atomic():
        events.after_commit(calls.append, "inside")
        assert calls == ["outside"]
    assert calls == ["outside", "inside"]


def test_aws_jobs_keep_their_retries_and_failure_hook(queued, settings):
    settings.PROVISION_RETRY_INTERVALS = [15, 60, 300]
    events.job_enqueue("vpn.jobs.request_provision", 7)
    events.job_enqueue("vpn.jobs.request_decommission", 8)
    events.job_enqueue("vpn.jobs.request_pack_render", 9, "reason")
    provision, decommission = queued.jobs
    for job in (provision, decommission):
        assert job.retries_left == 3
        assert job.retry_intervals == [15, 60, 300]
        assert job.failure_callback is jobs.aws_job_failed
    (render,) = django_rq.get_queue("packs").jobs  # renders wait on a queue of their own
    assert render.retries_left is None
    assert render.failure_callback is None


def test_a_job_with_an_id_is_queued_once(queued):
    packs = django_rq.get_queue("packs")
    with transaction.atomic():
        events.job_enqueue("vpn.jobs.request_pack_render", 9, "first", job_id="pack-render-9-ab")
        events.job_enqueue("vpn.jobs.request_pack_render", 9, "again", job_id="pack-render-9-ab")
    events.job_enqueue("vpn.jobs.request_pack_render", 9, "other", job_id="pack-render-9-cd")
    assert [(job.id, job.args) for job in packs.jobs] == [
        ("pack-render-9-ab", (9, "first")),
        ("pack-render-9-cd", (9, "other")),
    ]


def test_without_redis_the_job_runs_in_this_process(settings, se, mailoutbox):
    settings.RQ_ASYNC = False
    email_queue(
        key="test:events",
        template="customer_confirmed",
        context={
            "request": VpnRequestFactory(owner=se),
            "tunnels": [],
            "url": "https://x.example/",
        },
        to=["noc@customer.example"],
    )
    events.job_enqueue("vpn.jobs.emails_send")
    assert recipients(mailoutbox) == ["noc@customer.example"]


def test_without_redis_a_failing_job_is_logged_not_raised(settings, caplog):
    settings.RQ_ASYNC = False
    request = VpnRequestFactory(stage=Stage.DRAFT)
    events.job_enqueue("vpn.jobs.request_pack_render", request.pk + 1000, "no such request")
    assert "Job vpn.jobs.request_pack_render" in caplog.text
    assert "failed" in caplog.text


def test_every_job_named_in_the_code_exists():
    """Jobs are named by string (so that services need not import them): a typo would
    surface only when the job runs; this finds it first."""
    named = set()
    for path in VPN.rglob("*.py"):
        named.update(re.findall(r"[\"'](vpn\.jobs\.\w+)[\"']", path.read_text()))
    assert "vpn.jobs.request_provision" in named  # the scan finds what it should
    for name in sorted(named):
        job = import_string(name)
        assert callable(job), name
        assert job.__module__ == "vpn.jobs", name
