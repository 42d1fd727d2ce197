"""The RQ dashboard (django-rq, mounted in the admin) is for Ops and superusers: every one
of its views refuses a solutions engineer, and the admin shows its link only to those who
may use it."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_rq.models import Dashboard
from rq import Queue

from tests.factories import UserFactory

DASHBOARD = "/admin/django_rq/dashboard/"


@pytest.fixture
def job(rq_queue):
    """A job waiting in the queue (never run here). Put there by RQ itself: django-rq's
    queue would wait for a commit that a test's transaction never makes."""
    return Queue(rq_queue.name, connection=rq_queue.connection).enqueue(
        "vpn.jobs.transition_notify", 1
    )


def _dashboard_paths(job_id: str) -> list[tuple[str, str]]:
    """(name, path) of every view the dashboard mounts, with sample arguments."""
    samples = {"int": "0", "str": job_id, "path": "nightly/refresh"}
    paths = []
    for url in admin.site._registry[Dashboard].get_urls():
        route = str(url.pattern)
        if route.startswith("^"):  # the API's regexes: stats.json and metrics
            route = re.sub(r"[\^$?]|\(.*\)", "", route).replace("\\.", ".").rstrip("/") + "/"
        else:
            route = re.sub(r"<(\w+):\w+>", lambda m: samples[m.group(1)], route)
        paths.append((url.name, DASHBOARD + route))
    return paths


def _index_links(client) -> bool:
    return DASHBOARD in client.get("/admin/").content.decode()


def test_the_walk_finds_every_dashboard_view():
    names = {name for name, _ in _dashboard_paths("job")}
    assert {"django_rq_home", "django_rq_jobs", "django_rq_clear", "django_rq_requeue_all"} <= names
    assert {"django_rq_actions", "django_rq_home_json", "django_rq_delete_job"} <= names


@pytest.mark.django_db
def test_an_engineer_is_refused_every_dashboard_view(se_client, job, rq_queue):
    for name, path in _dashboard_paths(job.id):
        assert se_client.get(path).status_code == 403, (name, path)
        assert se_client.post(path, {"action": "delete", "job_ids": [job.id]}).status_code == 403, (
            name,
            path,
        )
    # The job is still there: "empty queue", "delete" and "requeue" did nothing.
    assert rq_queue.job_ids == [job.id]


@pytest.mark.django_db
def test_an_engineer_sees_no_link_to_the_dashboard(se_client):
    assert not _index_links(se_client)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["ops", "superuser"])
def test_ops_and_superusers_use_the_dashboard(client, ops, job, role):
    user = ops if role == "ops" else UserFactory(username="root", is_superuser=True)
    client.force_login(user)
    assert _index_links(client)
    pages = ["home", "jobs", "queue_details", "finished_jobs", "failed_jobs", "workers", "clear"]
    for name in pages:
        args = [] if name == "home" else [0]
        url = reverse(f"admin:django_rq_{name}", args=args)
        assert client.get(url).status_code == 200, url
    detail = client.get(reverse("admin:django_rq_job_detail", args=[0, job.id]))
    assert detail.status_code == 200
    assert job.id in detail.content.decode()


@pytest.mark.django_db
def test_ops_can_empty_the_queue(ops_client, job, rq_queue):
    response = ops_client.post(reverse("admin:django_rq_clear", args=[0]), {"post": "yes"})
    assert response.status_code == 302
    assert rq_queue.job_ids == []


@pytest.mark.django_db
def test_the_stats_api_serves_ops_and_refuses_engineers_even_with_the_token(
    client, ops, se, settings, rq_queue
):
    settings.RQ_API_TOKEN = "a-token-for-monitoring"
    url = reverse("admin:django_rq_home_json")
    client.force_login(ops)
    assert "queues" in client.get(url).json()
    client.force_login(se)
    assert client.get(url).status_code == 403
    token = {"Authorization": "Bearer a-token-for-monitoring"}
    assert client.get(url, headers=token).status_code == 403


@pytest.mark.django_db
def test_anyone_not_staff_is_sent_to_the_login(client):
    assert client.get(DASHBOARD).status_code == 302
    plain = get_user_model().objects.create_user("plain", password="pass")
    client.force_login(plain)
    response = client.get(reverse("admin:django_rq_jobs", args=[0]))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
