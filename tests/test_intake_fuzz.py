"""Arbitrary text in every field of the engineer's and the customer's forms never causes
a server error, and never writes an invalid value: a refused form writes nothing, and
whatever a form accepts passes the intake rules again once stored."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.intake_data import FORM_STATIC, customer_form, draft_with_link
from vpn.intake_fields import ALL_FIELDS, TECHNICAL_FIELDS
from vpn.models import Customer, StageTransition, VpnRequest
from vpn.selectors.intake import request_intake_values
from vpn.validation import intake_clean

# Any Unicode text (control characters and NUL included), and text shaped a little like
# the real thing, so that some examples get past the first checks.
ANY_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="0123456789./,:-abcdefABCDEF \n", max_size=60),
    st.sampled_from(["", "static", "bgp", "ikev1", "ikev2", "1", "2", "on", "eu-west-1"]),
)
GROUPS = {
    "customer": ("customer_name", "org_id", "contact_name", "contact_email"),
    "location": ("region", "location_city", "location_country"),
    "device": ("gateway_ip", "ike_version", "tunnels", "nat", "device"),
    "routing": ("routing", "subnets", "asn", "advertised_prefixes"),
}
FUZZ = hypothesis_settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.INTAKE_RATE_LIMIT_PER_IP = 10**9
    settings.INTAKE_RATE_LIMIT_PER_TOKEN = 10**9
    settings.AWS_SANDBOX = False


def _counts() -> tuple[int, int, int]:
    return (
        VpnRequest.objects.count(),
        Customer.objects.count(),
        StageTransition.objects.count(),
    )


def _still_valid(request: VpnRequest, *, complete: bool, fields) -> None:
    """What was stored passes the rules again."""
    intake_clean(
        request_intake_values(request=request), fields=fields, complete=complete, staff=True
    )


def _engineer_post(client, values: dict, action: str) -> None:
    before = _counts()
    response = client.post("/requests/new/", {**values, "action": action})
    assert response.status_code < 500
    if response.status_code == 302:
        request = VpnRequest.objects.order_by("-pk").first()
        _still_valid(request, complete=action == "submit", fields=ALL_FIELDS)
    else:
        assert response.status_code == 200
        assert _counts() == before


def _customer_post(values: dict, action: str) -> None:
    request, token = draft_with_link()
    before = VpnRequest.objects.values().get(pk=request.pk)
    transitions = StageTransition.objects.count()
    response = Client().post(f"/intake/{token}/", {**values, "action": action})
    assert response.status_code < 500
    if response.status_code == 302:
        request.refresh_from_db()
        _still_valid(request, complete=action == "submit", fields=TECHNICAL_FIELDS)
    else:
        assert response.status_code == 200
        assert VpnRequest.objects.values().get(pk=request.pk) == before
        assert StageTransition.objects.count() == transitions


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
@FUZZ
@given(data=st.data(), action=st.sampled_from(["submit", "draft"]))
def test_engineer_form_survives_any_text(se_client, group, data, action):
    fuzzed = data.draw(st.fixed_dictionaries({name: ANY_TEXT for name in GROUPS[group]}))
    _engineer_post(se_client, {**FORM_STATIC, **fuzzed}, action)


@pytest.mark.django_db
@pytest.mark.parametrize("group", [name for name in GROUPS if name != "customer"])
@FUZZ
@given(data=st.data(), action=st.sampled_from(["submit", "draft"]))
def test_customer_form_survives_any_text(group, data, action):
    fuzzed = data.draw(st.fixed_dictionaries({name: ANY_TEXT for name in GROUPS[group]}))
    _customer_post({**customer_form(FORM_STATIC), **fuzzed}, action)


@pytest.mark.django_db
@FUZZ
@given(
    fuzzed=st.fixed_dictionaries({name: ANY_TEXT for name in FORM_STATIC}),
    action=st.sampled_from(["submit", "draft", "", "delete"]),
)
def test_every_field_at_once_on_both_forms(se_client, fuzzed, action):
    _engineer_post(se_client, fuzzed, action)
    _customer_post(customer_form(fuzzed), action)
