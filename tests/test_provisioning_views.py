"""The request page's provisioning controls: retry, decommission, live polling."""

import pytest

from tests.factories import VpnRequestFactory
from vpn.choices import AwsResourceRole, Stage
from vpn.models import AwsResource, StageTransition

pytestmark = pytest.mark.django_db


def test_retry_resumes_a_failed_request_at_its_step(ops_client):
    request = VpnRequestFactory(
        stage=Stage.FAILED, failed_stage=Stage.CONNECTION, failure_message="AWS said no"
    )
    html = ops_client.get(f"/requests/{request.pk}/").content.decode()
    assert "Retry from this step" in html
    response = ops_client.post(f"/requests/{request.pk}/retry/", follow=True)
    request.refresh_from_db()
    assert request.stage == Stage.CONNECTION
    assert "retrying the failed step" in response.content.decode()


def test_retry_is_for_ops_only(se_client):
    request = VpnRequestFactory(
        stage=Stage.FAILED, failed_stage=Stage.CONNECTION, failure_message="AWS said no"
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "AWS said no" in html
    assert "Retry from this step" not in html
    assert se_client.post(f"/requests/{request.pk}/retry/").status_code == 403
    request.refresh_from_db()
    assert request.stage == Stage.FAILED
    assert not StageTransition.objects.exists()


def test_retry_of_a_request_that_has_not_failed_says_so(ops_client):
    request = VpnRequestFactory(stage=Stage.LIVE)
    response = ops_client.post(f"/requests/{request.pk}/retry/", follow=True)
    assert "nothing to retry" in response.content.decode()
    assert not StageTransition.objects.exists()


def test_decommission_asks_first_and_lists_what_goes(ops_client):
    request = VpnRequestFactory(stage=Stage.LIVE)
    AwsResource.objects.create(
        request=request, role=AwsResourceRole.VPC, resource_id="vpc-123", region="us-east-1"
    )
    page = ops_client.get(f"/requests/{request.pk}/decommission/")
    assert page.status_code == 200
    assert "vpc-123" in page.content.decode()
    request.refresh_from_db()
    assert request.stage == Stage.LIVE  # a GET changes nothing

    ops_client.post(f"/requests/{request.pk}/decommission/", {"reason": "not_used"})
    request.refresh_from_db()
    assert request.stage == Stage.DECOMMISSIONING


def test_decommission_is_for_engineers_in_ops_only(se_client):
    live = VpnRequestFactory(stage=Stage.LIVE)
    response = se_client.post(f"/requests/{live.pk}/decommission/", {"reason": "not_used"})
    assert response.status_code == 403
    live.refresh_from_db()
    assert live.stage == Stage.LIVE


def test_decommission_is_for_provisioned_requests_only(ops_client):
    draft = VpnRequestFactory(stage=Stage.DRAFT)
    response = ops_client.post(
        f"/requests/{draft.pk}/decommission/", {"reason": "not_used"}, follow=True
    )
    assert "only a provisioned or failed request" in response.content.decode()
    draft.refresh_from_db()
    assert draft.stage == Stage.DRAFT


@pytest.mark.parametrize(
    ("stage", "polls"),
    [
        (Stage.APPROVED, True),
        (Stage.NAT, True),
        (Stage.DECOMMISSIONING, True),
        (Stage.LIVE, False),
        (Stage.FAILED, False),
    ],
)
def test_the_page_polls_only_while_jobs_work(se_client, stage, polls):
    request = VpnRequestFactory(
        stage=stage, failed_stage=Stage.VPC if stage == Stage.FAILED else ""
    )
    html = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert ('hx-trigger="every 3s"' in html) is polls


def test_a_job_for_a_request_that_does_not_exist_does_nothing():
    from vpn.services.provisioning import IDLE, decommission_advance, provision_advance

    assert provision_advance(request_id=987654) == IDLE
    assert decommission_advance(request_id=987654) == IDLE
