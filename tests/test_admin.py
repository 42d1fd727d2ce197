"""The Django admin: every model is browsable, the stage is read-only, and the
actions move stages only through the stage service."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import Stage
from vpn.models import StageTransition


@pytest.fixture
def admin_client_ops(client, ops):
    ops.is_superuser = True
    ops.save()
    client.force_login(ops)
    return client


def _vpn_models():
    return [model for model in admin.site._registry if model._meta.app_label == "vpn"]


def test_every_vpn_model_is_registered():
    from django.apps import apps

    assert set(_vpn_models()) == set(apps.get_app_config("vpn").get_models())


@pytest.mark.django_db
def test_every_changelist_and_change_page_renders(admin_client_ops):
    request = VpnRequestFactory()
    TunnelFactory(request=request)
    for model in _vpn_models():
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert admin_client_ops.get(url).status_code == 200, url
        assert admin_client_ops.get(url, {"q": "x"}).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            assert admin_client_ops.get(f"{url}{first.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_stage_cannot_be_edited_in_the_change_form(admin_client_ops):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    response = admin_client_ops.get(f"/admin/vpn/vpnrequest/{request.pk}/change/")
    assert 'name="stage"' not in response.content.decode()


@pytest.mark.django_db
def test_psk_is_not_shown_in_the_tunnel_admin(admin_client_ops):
    tunnel = TunnelFactory(psk="Never_shown_here.123")
    response = admin_client_ops.get(f"/admin/vpn/tunnel/{tunnel.pk}/change/")
    assert "Never_shown_here" not in response.content.decode()


@pytest.mark.django_db
def test_approve_action_goes_through_the_stage_service(admin_client_ops, ops):
    submitted = VpnRequestFactory(stage=Stage.SUBMITTED)
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    response = admin_client_ops.post(
        "/admin/vpn/vpnrequest/",
        {"action": "move_to_approved", "_selected_action": [submitted.pk, draft.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 request moved." in messages
    assert any("cannot move from “Intake in progress” to “Approved”" in m for m in messages)

    submitted.refresh_from_db()
    draft.refresh_from_db()
    assert (submitted.stage, draft.stage) == (Stage.APPROVED, Stage.DRAFT)
    transition = StageTransition.objects.get()
    assert (transition.request, transition.actor) == (submitted, ops)


@pytest.mark.django_db
def test_retry_action_resumes_failed_requests(admin_client_ops):
    failed = VpnRequestFactory(stage=Stage.FAILED, failed_stage=Stage.ROUTING)
    admin_client_ops.post(
        "/admin/vpn/vpnrequest/", {"action": "retry_failed", "_selected_action": [failed.pk]}
    )
    failed.refresh_from_db()
    assert failed.stage == Stage.ROUTING


@pytest.mark.django_db
def test_engineers_do_not_get_the_ops_actions(client, se):
    se.is_staff = True
    se.save()
    client.force_login(se)
    CustomerFactory()
    response = client.get("/admin/vpn/vpnrequest/")
    actions = [value for value, _ in response.context["action_form"].fields["action"].choices]
    assert "move_to_approved" in actions
    assert "retry_failed" not in actions
    assert "move_to_decommissioning" not in actions


@pytest.mark.django_db
def test_rq_dashboard_is_reachable_by_staff_only(admin_client_ops, client):
    assert admin_client_ops.get("/admin/django_rq/dashboard/").status_code == 200
    plain = get_user_model().objects.create_user("plain", password="pass")
    client.force_login(plain)
    assert client.get("/admin/django_rq/dashboard/").status_code == 302
