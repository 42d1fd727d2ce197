"""The request detail page: the five steps as a progress bar and the history."""

import pytest

from tests.factories import VpnRequestFactory
from vpn.choices import Stage
from vpn.selectors.provisioning import request_steps
from vpn.services.stages import request_move


@pytest.mark.parametrize(
    ("stage", "failed_stage", "nat", "expected"),
    [
        (Stage.SUBMITTED, "", True, ["pending"] * 5),
        (Stage.VPC, "", True, ["current", "pending", "pending", "pending", "pending"]),
        (Stage.ROUTING, "", True, ["done", "done", "done", "current", "pending"]),
        (Stage.ROUTING, "", False, ["done", "done", "done", "current", "skipped"]),
        (Stage.FAILED, Stage.CONNECTION, True, ["done", "done", "failed", "pending", "pending"]),
        (Stage.LIVE, "", False, ["done", "done", "done", "done", "skipped"]),
        (Stage.DECOMMISSIONED, "", True, ["done"] * 5),
        (Stage.CANCELLED, "", False, ["pending"] * 4 + ["skipped"]),
    ],
)
def test_step_states(stage, failed_stage, nat, expected):
    request = VpnRequestFactory.build(stage=stage, failed_stage=failed_stage, nat_wanted=nat)
    assert [step.state for step in request_steps(request=request)] == expected


@pytest.mark.django_db
def test_detail_shows_steps_failure_and_history(se_client, se):
    request = VpnRequestFactory(stage=Stage.CONNECTION, nat_wanted=True)
    request_move(
        request_id=request.pk,
        to_stage=Stage.FAILED,
        actor=se,
        note="CreateVpnConnection: <limit> exceeded",
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert html.count('<li class="done">') == 2
    assert html.count('<li class="failed">') == 1
    assert "Stopped at “Connecting gateways”" in html
    # User text is escaped.
    assert "&lt;limit&gt; exceeded" in html
    assert "<limit>" not in html
    assert "from Connecting gateways · Alex" in html


@pytest.mark.django_db
def test_unknown_request_is_a_404(se_client):
    assert se_client.get("/requests/999999/").status_code == 404
