"""`seed_demo`: demo users with printed credentials and requests in many stages."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from vpn.models import StageTransition, VpnRequest


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_credentials():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "log in as admin / admin" in out.getvalue()
    count = VpnRequest.objects.count()
    stages = set(VpnRequest.objects.values_list("stage", flat=True))
    assert count >= 10
    assert {"live", "degraded", "down", "failed", "submitted", "draft"} <= stages
    assert StageTransition.objects.count() > count

    call_command("seed_demo", stdout=StringIO())
    assert VpnRequest.objects.count() == count
    # Login throttling needs the request a login comes with.
    login = RequestFactory().post("/login/")
    assert authenticate(login, username="admin", password="admin").is_superuser
    assert authenticate(login, username="se", password="se").has_perm("vpn.approve_vpnrequest")


@pytest.mark.django_db
def test_seed_demo_queues_no_work(rq_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    assert rq_queue.count == 0
