"""The diagnosis table, one test per row: each cause, injected on a tunnel in the sandbox,
is named after a status refresh on the request page (for the engineer), on the customer's
link (in their terms) and by `vpn_diagnose --json`."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from sandbox.tunnel_logs import CAUSES as SANDBOX_CAUSES
from tests.status_support import flip, inject, live_vpn
from vpn.choices import IkeVersion
from vpn.diagnosis import CAUSES
from vpn.services.intake import intake_link_create
from vpn.services.status import status_refresh

# Causes whose words come from an IKEv1 tunnel (AWS's own IKEv1 messages, or AWS that
# never initiates).
IKEV1_CAUSES = {"psk_mismatch", "customer_not_initiating"}


def test_every_row_can_be_injected_in_the_sandbox():
    assert sorted(cause.key for cause in CAUSES) == sorted(SANDBOX_CAUSES)


def up_vpn(sandbox, **fields):
    """A VPN provisioned as the portal does it, both tunnels up with routes, refreshed."""
    request = live_vpn(sandbox, as_provisioned=True, **fields)
    status_refresh()
    for position in (1, 2):
        flip(sandbox, request, position, "UP", accepted_route_count=3)
    status_refresh()
    return request


def diagnose_json(request) -> dict:
    out = StringIO()
    call_command("vpn_diagnose", str(request.pk), "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("cause", CAUSES, ids=lambda cause: cause.key)
def test_an_injected_cause_is_diagnosed_everywhere(aws_sandbox, se_client, cause):
    version = IkeVersion.IKEV1 if cause.key in IKEV1_CAUSES else IkeVersion.IKEV2
    request = up_vpn(aws_sandbox, ike_version=version)
    assert request.tunnels.get(position=1).diagnosis == {}

    inject(aws_sandbox, request, 1, cause.key)
    status_refresh()

    # The engineer's page: the cause, what it means, the fix, and the line that said it.
    page = se_client.get(reverse("vpn:request_detail", args=[request.pk])).content.decode()
    assert f'data-tunnel="1" data-cause="{cause.key}"' in page
    for words in (cause.title, cause.cause, cause.fix_engineer):
        assert escape(words) in page, words

    # The customer's link: the same cause in their terms, and none of the engineer's.
    token = intake_link_create(request_id=request.pk, send_email=False).token
    customer = Client().get(f"/intake/{token}/")
    assert customer.status_code == 200
    text = customer.content.decode()
    assert escape(cause.cause_customer) in text
    assert escape(cause.fix_customer) in text
    assert escape(cause.fix_engineer) not in text
    assert 'data-cause="' + cause.key + '"' in text

    # The command: the same diagnosis; the other tunnel is healthy.
    first, second = diagnose_json(request)["tunnels"]
    assert first["diagnosis"]["cause"] == cause.key
    assert first["diagnosis"]["fix"] == cause.fix_engineer
    assert first["diagnosis"]["customer_fix"] == cause.fix_customer
    assert first["diagnosis"]["evidence"]
    assert second["diagnosis"] is None
