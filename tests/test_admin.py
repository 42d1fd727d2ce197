"""The Django admin: every model is browsable; a request's intake is edited only before
approval, with the page's rules and through the page's service; records and deletions are
refused; the actions run the services the page's buttons run."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import CustomerFactory, TunnelFactory, VpnRequestFactory
from vpn.choices import Routing, Stage
from vpn.models import (
    AwsAccount,
    AwsResource,
    Customer,
    StageTransition,
    StatusRefresh,
    VpnRequest,
)
from vpn.services.intake import request_approve


@pytest.fixture
def superuser_client(client, ops):
    ops.is_superuser = True
    ops.save()
    client.force_login(ops)
    return client


def _vpn_models():
    return [model for model in admin.site._registry if model._meta.app_label == "vpn"]


def _change_url(obj) -> str:
    return reverse(f"admin:vpn_{obj._meta.model_name}_change", args=[obj.pk])


def _intake_post(request: VpnRequest, **changes) -> dict[str, str]:
    """The change form's fields as a browser posts them, with `changes`."""
    data = {
        "region": request.region,
        "location_city": request.location_city,
        "location_country": request.location_country,
        "customer_gateway_ip": request.customer_gateway_ip or "",
        "routing": request.routing,
        "static_subnets": "\n".join(request.static_subnets),
        "bgp_asn": "" if request.bgp_asn is None else str(request.bgp_asn),
        "advertised_prefixes": "\n".join(request.advertised_prefixes),
        "ike_version": request.ike_version,
        "tunnel_count": str(request.tunnel_count),
        "device_vendor": request.device_vendor,
        "_save": "Save",
    }
    if request.nat_wanted:
        data["nat_wanted"] = "on"
    for prefix in ("tunnels", "resources", "transitions"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_every_vpn_model_is_registered():
    assert set(_vpn_models()) == set(apps.get_app_config("vpn").get_models())


@pytest.mark.django_db
def test_every_changelist_and_change_page_renders(superuser_client):
    request = VpnRequestFactory()
    TunnelFactory(request=request)
    for model in _vpn_models():
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert superuser_client.get(url).status_code == 200, url
        assert superuser_client.get(url, {"q": "x"}).status_code == 200, url
        first = model.objects.first()
        if first is not None:
            assert superuser_client.get(f"{url}{first.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_plurals_read_right(superuser_client):
    assert StatusRefresh._meta.verbose_name_plural == "status refreshes"
    page = superuser_client.get("/admin/").content.decode()
    assert "Status refreshes" in page
    assert "refreshs" not in page


@pytest.mark.django_db
def test_stage_cannot_be_edited_in_the_change_form(superuser_client):
    request = VpnRequestFactory(stage=Stage.SUBMITTED)
    response = superuser_client.get(_change_url(request))
    assert 'name="stage"' not in response.content.decode()


@pytest.mark.django_db
def test_psk_is_not_shown_in_the_tunnel_admin(superuser_client):
    tunnel = TunnelFactory(psk="Never_shown_here.123")
    response = superuser_client.get(_change_url(tunnel))
    assert "Never_shown_here" not in response.content.decode()


# --- Editing a request ------------------------------------------------------------------


@pytest.mark.django_db
def test_subnets_are_edited_one_cidr_per_line(se_client):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        customer_gateway_ip="52.94.12.7",
        routing=Routing.STATIC,
        bgp_asn=None,
        advertised_prefixes=[],
        static_subnets=["10.20.0.0/16", "10.30.1.0/24"],
    )
    form = se_client.get(_change_url(request)).context["adminform"].form
    assert form["static_subnets"].value() == "10.20.0.0/16\n10.30.1.0/24"
    assert 'class="mono"' in str(form["static_subnets"])

    response = se_client.post(
        _change_url(request),
        _intake_post(request, static_subnets="10.20.0.0/16\n10.40.0.0/24\n"),
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.static_subnets == ["10.20.0.0/16", "10.40.0.0/24"]


@pytest.mark.django_db
def test_an_edit_in_the_admin_saves_what_the_page_would(se_client, se):
    """The same change through the admin and through the page's edit gives the same row."""
    twins = [
        VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7") for _ in range(2)
    ]
    admin_twin, page_twin = twins
    change = {
        "routing": "static",
        "static_subnets": "10.20.0.0/16, 10.21.0.0/24",
        "customer_gateway_ip": " 52.94.12.8 ",
        "region": "",
        "location_city": "Manchester",
        "location_country": "GB",
    }
    assert (
        se_client.post(_change_url(admin_twin), _intake_post(admin_twin, **change)).status_code
        == 302
    )

    page_form = {
        "customer_name": page_twin.customer.name,
        "org_id": page_twin.customer.org_id,
        "contact_name": page_twin.customer.contact_name,
        "contact_email": page_twin.customer.contact_email,
        "region": "",
        "location_city": "Manchester",
        "location_country": "GB",
        "gateway_ip": " 52.94.12.8 ",
        "routing": "static",
        "subnets": "10.20.0.0/16, 10.21.0.0/24",
        "asn": "65010",
        "advertised_prefixes": "10.20.0.0/16",
        "ike_version": "ikev2",
        "tunnels": "2",
        "device": "generic",
    }
    page = se_client.post(reverse("vpn:request_update", args=[page_twin.pk]), page_form)
    assert page.status_code == 302

    fields = [
        "region",
        "location_city",
        "location_country",
        "customer_gateway_ip",
        "routing",
        "static_subnets",
        "bgp_asn",
        "advertised_prefixes",
        "ike_version",
        "tunnel_count",
        "nat_wanted",
        "device_vendor",
        "stage",
    ]
    saved = VpnRequest.objects.filter(pk__in=[admin_twin.pk, page_twin.pk]).order_by("pk")
    admin_row, page_row = (list(row.values()) for row in saved.values(*fields))
    assert admin_row == page_row
    assert admin_row[:6] == [
        "eu-west-2",
        "Manchester",
        "GB",
        "52.94.12.8",
        "static",
        ["10.20.0.0/16", "10.21.0.0/24"],
    ]


@pytest.mark.django_db
def test_a_private_gateway_or_every_address_is_refused_before_approval(se_client):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7")
    response = se_client.post(
        _change_url(request),
        _intake_post(
            request, customer_gateway_ip="10.9.9.9", routing="static", static_subnets="0.0.0.0/0"
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "private address" in " ".join(errors["customer_gateway_ip"])
    assert "overlaps" in " ".join(errors["static_subnets"])
    request.refresh_from_db()
    assert (request.customer_gateway_ip, request.routing) == ("52.94.12.7", Routing.BGP)


@pytest.mark.django_db
def test_the_admin_tells_the_engineer_of_the_customer_side(se_client):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7")
    response = se_client.post(
        _change_url(request), _intake_post(request, routing="static", static_subnets="")
    )
    assert response.status_code == 200
    (message,) = response.context["adminform"].form.errors["static_subnets"]
    assert message == (
        "Static routing needs at least one subnet: the ranges on the customer's side that "
        "the platform's connectors must reach."
    )
    request.refresh_from_db()
    assert request.routing == Routing.BGP


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [Stage.APPROVED, Stage.VPC, Stage.LIVE, Stage.FAILED])
def test_what_aws_knows_is_read_only_once_approved(ops_client, stage):
    request = VpnRequestFactory(
        stage=stage,
        customer_gateway_ip="52.94.12.7",
        vpc_cidr="10.128.0.0/24",
        amazon_side_asn=64512,
        failed_stage=Stage.ROUTING if stage == Stage.FAILED else "",
    )
    page = ops_client.get(_change_url(request))
    html = page.content.decode()
    assert page.context["title"] == "View VPN request"
    for field in (
        "region",
        "customer_gateway_ip",
        "routing",
        "static_subnets",
        "bgp_asn",
        "tunnel_count",
    ):
        assert f'name="{field}"' not in html, field
    assert 'name="_save"' not in html
    assert "10.20.0.0/16" in html  # the prefixes, one per line, read-only

    forged = _intake_post(
        request, customer_gateway_ip="10.9.9.9", region="us-east-1", tunnel_count="1"
    )
    assert ops_client.post(_change_url(request), forged).status_code == 403
    request.refresh_from_db()
    assert (request.customer_gateway_ip, request.region, request.tunnel_count) == (
        "52.94.12.7",
        "eu-west-2",
        2,
    )


@pytest.mark.django_db
def test_a_save_the_service_refuses_is_reported_not_saved(se):
    """The request was approved between the form being judged and the save."""
    request = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7")
    model_admin = admin.site._registry[VpnRequest]
    http_request = RequestFactory().post(_change_url(request))
    http_request.user = se
    http_request.session = SessionStore()
    http_request._messages = FallbackStorage(http_request)
    form_class = model_admin.get_form(http_request, request, change=True)
    form = form_class(_intake_post(request, customer_gateway_ip="52.94.12.9"), instance=request)
    assert form.is_valid(), form.errors
    request_approve(request_id=request.pk, actor=se)

    model_admin.save_model(http_request, form.save(commit=False), form, change=True)
    response = model_admin.response_change(http_request, request)
    assert response.status_code == 302
    shown = [str(message) for message in http_request._messages]
    assert any("its intake can no longer be changed" in message for message in shown), shown
    request.refresh_from_db()
    assert (request.stage, request.customer_gateway_ip) == (Stage.APPROVED, "52.94.12.7")


# --- Customers --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_contact_is_edited_with_the_intake_rules(se_client):
    customer = CustomerFactory(contact_email="old@example.com")
    url = _change_url(customer)
    data = {
        "name": customer.name,
        "contact_name": "Jo Smith",
        "contact_email": "not an email",
        "_save": "Save",
    }
    response = se_client.post(url, data)
    assert response.status_code == 200
    assert "valid email" in " ".join(response.context["adminform"].form.errors["contact_email"])
    customer.refresh_from_db()
    assert customer.contact_email == "old@example.com"

    data["contact_email"] = "Netops@Example.COM"
    assert se_client.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert (customer.contact_name, customer.contact_email) == ("Jo Smith", "Netops@example.com")
    # The org ID is the customer's identity: not offered for editing.
    assert 'name="org_id"' not in se_client.get(url).content.decode()


@pytest.mark.django_db
def test_a_customer_is_added_with_the_intake_rules(se_client):
    url = reverse("admin:vpn_customer_add")
    data = {
        "name": "Litware",
        "org_id": "not-a-uuid",
        "contact_email": "netops@litware.example",
        "_save": "Save",
    }
    response = se_client.post(url, data)
    assert "not a platform org ID" in " ".join(response.context["adminform"].form.errors["org_id"])
    assert not Customer.objects.exists()
    data["org_id"] = "3F6C1A52-1B7E-4D4B-9A51-6D5C1E7A9B01"
    assert se_client.post(url, data).status_code == 302
    assert Customer.objects.get().org_id == "3f6c1a52-1b7e-4d4b-9a51-6d5c1e7a9b01"


# --- Records and deletions -------------------------------------------------------------


@pytest.mark.django_db
def test_records_offer_no_add_no_save_and_no_delete(superuser_client):
    request = VpnRequestFactory(stage=Stage.LIVE)
    tunnel = TunnelFactory(request=request)
    resource = AwsResource.objects.create(
        request=request, role="vpc", resource_id="vpc-1", region="eu-west-2"
    )
    for model in _vpn_models():
        if model in (VpnRequest, Customer, AwsAccount):
            continue  # their own forms, judged by their services (tested on their own)
        name = model._meta.model_name
        assert superuser_client.get(reverse(f"admin:vpn_{name}_add")).status_code == 403, name
    for obj in (tunnel, resource):
        html = superuser_client.get(_change_url(obj)).content.decode()
        assert 'name="_save"' not in html
        assert 'type="text"' not in html
        delete = reverse(f"admin:vpn_{obj._meta.model_name}_delete", args=[obj.pk])
        assert superuser_client.post(delete, {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_requests_and_customers_are_never_deleted(superuser_client):
    request = VpnRequestFactory(stage=Stage.DRAFT)
    for obj in (request, request.customer):
        name = obj._meta.model_name
        delete = reverse(f"admin:vpn_{name}_delete", args=[obj.pk])
        assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
        changelist = superuser_client.get(reverse(f"admin:vpn_{name}_changelist"))
        action_form = changelist.context["action_form"]
        actions = [] if action_form is None else action_form.fields["action"].choices
        assert "delete_selected" not in [value for value, _ in actions]
    assert VpnRequest.objects.filter(pk=request.pk).exists()


@pytest.mark.django_db
def test_the_request_list_sends_new_requests_to_the_portal_form(se_client):
    html = se_client.get(reverse("admin:vpn_vpnrequest_changelist")).content.decode()
    assert reverse("vpn:request_create") in html
    assert reverse("admin:vpn_vpnrequest_add") not in html


# --- Actions ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_approve_action_runs_the_intake_check_and_the_stage_service(superuser_client, ops):
    submitted = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="52.94.12.7")
    private = VpnRequestFactory(stage=Stage.SUBMITTED, customer_gateway_ip="10.1.2.3")
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    response = superuser_client.post(
        "/admin/vpn/vpnrequest/",
        {"action": "move_to_approved", "_selected_action": [submitted.pk, private.pk, draft.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 request approved." in messages
    assert any(m.startswith(f"{private.reference}: The intake breaks a rule") for m in messages)
    assert (
        f"{draft.reference} is “Intake in progress”: only a submitted request can be approved."
        in messages
    )

    stages = dict(VpnRequest.objects.values_list("pk", "stage"))
    assert (stages[submitted.pk], stages[private.pk], stages[draft.pk]) == (
        Stage.APPROVED,
        Stage.SUBMITTED,
        Stage.DRAFT,
    )
    transition = StageTransition.objects.get()
    assert (transition.request, transition.actor) == (submitted, ops)


@pytest.mark.django_db
def test_retry_action_resumes_failed_requests(superuser_client):
    failed = VpnRequestFactory(stage=Stage.FAILED, failed_stage=Stage.ROUTING)
    superuser_client.post(
        "/admin/vpn/vpnrequest/", {"action": "retry_failed", "_selected_action": [failed.pk]}
    )
    failed.refresh_from_db()
    assert failed.stage == Stage.ROUTING


@pytest.mark.django_db
def test_decommission_action_takes_only_what_the_page_takes(ops_client, ops):
    live = VpnRequestFactory(stage=Stage.LIVE)
    approved = VpnRequestFactory(stage=Stage.APPROVED)
    selected = {"action": "move_to_decommissioning", "_selected_action": [live.pk, approved.pk]}
    # First the reason, as the page asks it; without one, nothing happens.
    asked = ops_client.post("/admin/vpn/vpnrequest/", selected)
    assert asked.status_code == 200
    assert "Why are these VPNs decommissioned?" in asked.content.decode()
    unanswered = ops_client.post("/admin/vpn/vpnrequest/", {**selected, "apply": "1"})
    assert "Say why the VPN is decommissioned" in unanswered.content.decode()
    assert not StageTransition.objects.exists()
    response = ops_client.post(
        "/admin/vpn/vpnrequest/",
        {**selected, "apply": "1", "reason": "contract_ended", "message": "Thanks for all."},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    refusal = "only a provisioned or failed request can be decommissioned."
    assert f"{approved.reference} is “Approved”: {refusal}" in messages
    stages = dict(VpnRequest.objects.values_list("pk", "stage"))
    assert (stages[live.pk], stages[approved.pk]) == (Stage.DECOMMISSIONING, Stage.APPROVED)
    transition = StageTransition.objects.get()
    assert (transition.request, transition.actor, transition.from_stage) == (live, ops, Stage.LIVE)
    assert "Reason: The customer's contract ended." in transition.note
    live.refresh_from_db()
    assert (live.decommission_reason, live.decommission_message) == (
        "contract_ended",
        "Thanks for all.",
    )


@pytest.mark.django_db
def test_engineers_do_not_get_the_ops_actions(se_client):
    CustomerFactory()
    response = se_client.get("/admin/vpn/vpnrequest/")
    actions = [value for value, _ in response.context["action_form"].fields["action"].choices]
    assert "move_to_approved" in actions
    assert "retry_failed" not in actions
    assert "move_to_cancelled" not in actions
    assert "move_to_decommissioning" not in actions
