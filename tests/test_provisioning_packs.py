"""The config pack during provisioning: rendered once, on the "packs" queue, after the
last step that sets its parameters; asked for before then, it is queued, never rendered
twice for the same parameters.

Real RQ jobs on the tests' Redis, the sandbox over HTTP; the queues' contents are read
step by step, one provisioning job at a time.
"""

import django_rq
import pytest
from rq import SimpleWorker

from tests.config_pack_support import NAT_PUBLIC_IP, connection_request
from tests.factories import VpnRequestFactory
from vpn.choices import PROVISIONING_STAGES, Routing, Stage
from vpn.models import ConfigPack, VpnRequest
from vpn.services.intake import intake_link_create
from vpn.services.packs import config_pack_render_queue
from vpn.services.stages import request_move

pytestmark = pytest.mark.django_db(transaction=True)

RENDER_JOB = "vpn.jobs.request_pack_render"
PROVISION_JOB = "vpn.jobs.request_provision"


@pytest.fixture
def packs_queue(rq_queue):
    """The "packs" queue (emptied with the default one: they share the Redis database)."""
    return django_rq.get_queue("packs")


def _funcs(queue) -> list[str]:
    return [job.func_name for job in queue.jobs]


def _provision_step_by_step(request, rq_queue, packs_queue) -> list[tuple[str, int]]:
    """Run the default queue's jobs one at a time (scheduled re-checks as they fall due),
    never the packs queue; returns (stage, render jobs queued) after each job run."""
    seen = []
    registry = rq_queue.scheduled_job_registry
    for _ in range(200):
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
        if rq_queue.count == 0:
            return seen
        # Every job of the default queue is a provisioning step (or an email of a move).
        assert set(_funcs(rq_queue)) <= {PROVISION_JOB, "vpn.jobs.transition_notify"}
        SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True, max_jobs=1)
        stage = VpnRequest.objects.values_list("stage", flat=True).get(pk=request.pk)
        seen.append((stage, _funcs(packs_queue).count(RENDER_JOB)))
    pytest.fail("Provisioning did not end")


def _run_packs(packs_queue) -> None:
    SimpleWorker([packs_queue], connection=packs_queue.connection).work(burst=True)


def test_a_nat_request_renders_one_version_on_the_packs_queue(aws_sandbox, rq_queue, packs_queue):
    request = VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region="us-east-1",
        routing=Routing.STATIC,
        static_subnets=["192.168.1.0/24"],
        nat_wanted=True,
    )
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")
    assert _funcs(rq_queue) == [PROVISION_JOB] and packs_queue.count == 0

    seen = _provision_step_by_step(request, rq_queue, packs_queue)

    # Nothing is queued for rendering until the NAT gateway is done; then one job.
    stages = [stage for stage, _ in seen]
    assert Stage.NAT in stages and stages[-1] == Stage.AWAITING_CUSTOMER
    assert all(renders == 0 for stage, renders in seen if stage in PROVISIONING_STAGES)
    assert seen[-1][1] == 1
    (job,) = packs_queue.jobs
    assert job.id.startswith(f"pack-render-{request.pk}-")
    assert job.args == (request.pk, "NAT gateway created")
    assert not ConfigPack.objects.filter(request=request).exists()  # not in a step

    _run_packs(packs_queue)
    (pack,) = ConfigPack.objects.filter(request=request)
    assert pack.version == 1 and pack.reason == "NAT gateway created"
    assert pack.parameters["nat_public_ip"]  # the NAT's address made it into v1


def test_a_request_without_nat_queues_its_render_after_the_connection(
    aws_sandbox, rq_queue, packs_queue, run_jobs
):
    request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1", nat_wanted=False)
    request_move(request_id=request.pk, to_stage=Stage.APPROVED, note="test")

    seen = _provision_step_by_step(request, rq_queue, packs_queue)

    # One render, queued by step 3 once the connection's tunnels are known (its reason
    # says so) and left to the packs queue while step 4 (routing) ran on.
    assert seen[-1] == (Stage.AWAITING_CUSTOMER, 1)
    assert all(renders == 0 for stage, renders in seen if stage == Stage.CONNECTION)
    assert not ConfigPack.objects.filter(request=request).exists()
    assert run_jobs() == 0
    (pack,) = ConfigPack.objects.filter(request=request)
    assert pack.reason == "VPN connection created"


def test_the_same_parameters_are_queued_and_rendered_once(rq_queue, packs_queue, run_jobs):
    request = connection_request(nat=True)
    assert config_pack_render_queue(request_id=request.pk, reason="first")
    # A second trigger before the worker got to it: RQ keeps the one job.
    assert config_pack_render_queue(request_id=request.pk, reason="again")
    assert _funcs(packs_queue) == [RENDER_JOB]
    assert run_jobs() == 0
    (pack,) = ConfigPack.objects.filter(request=request)
    assert pack.reason == "first" and pack.parameters["nat_public_ip"] == NAT_PUBLIC_IP

    # Once rendered, the same parameters queue nothing at all.
    assert not config_pack_render_queue(request_id=request.pk, reason="later")
    assert packs_queue.count == 0
    assert run_jobs() == 0
    assert ConfigPack.objects.filter(request=request).count() == 1


def test_a_render_that_failed_is_queued_again_when_asked_again(rq_queue, packs_queue, run_jobs):
    request = connection_request()
    assert config_pack_render_queue(request_id=request.pk, reason="first")
    (queued,) = packs_queue.jobs
    # That job fails (its request cannot be found), leaving its id in the failed registry.
    queued.delete()
    packs_queue.enqueue(RENDER_JOB, 0, "first", job_id=queued.id)
    assert run_jobs() == 1
    assert packs_queue.failed_job_registry.get_job_ids() == [queued.id]
    assert not ConfigPack.objects.filter(request=request).exists()

    # Asked again (a download, a retry), the same parameters are rendered after all.
    assert config_pack_render_queue(request_id=request.pk, reason="again")
    assert [job.id for job in packs_queue.jobs] == [queued.id]
    assert run_jobs() == 0
    (pack,) = ConfigPack.objects.filter(request=request)
    assert pack.reason == "again"


def test_changed_parameters_queue_a_new_version(rq_queue, packs_queue, run_jobs):
    request = connection_request()
    config_pack_render_queue(request_id=request.pk, reason="first")
    assert run_jobs() == 0
    tunnel = request.tunnels.get(position=1)
    tunnel.psk = "Changed_key.Rotated42xq"
    tunnel.save()
    assert config_pack_render_queue(request_id=request.pk, reason="PSK rotated")
    assert run_jobs() == 0
    versions = list(ConfigPack.objects.filter(request=request).values_list("version", "reason"))
    assert sorted(versions) == [(1, "first"), (2, "PSK rotated")]


def test_first_download_before_any_version_queues_it_and_says_it_is_being_prepared(
    client, se_client, rq_queue, packs_queue, run_jobs
):
    # A built VPN whose render job was lost (Redis emptied, say): no version, none queued.
    request = connection_request()
    token = intake_link_create(request_id=request.pk, send_email=False).token

    response = client.get(f"/intake/{token}/pack/pdf/")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "being prepared" in response.content.decode()
    assert _funcs(packs_queue) == [RENDER_JOB]
    # The pages say so too, and asking again queues nothing more.
    assert "being prepared" in client.get(f"/intake/{token}/").content.decode()
    staff_page = se_client.get(f"/requests/{request.pk}/").content.decode()
    assert "The config pack is being prepared" in staff_page
    assert packs_queue.count == 1
    assert not ConfigPack.objects.filter(request=request).exists()  # not in the web request

    assert run_jobs() == 0
    response = client.get(f"/intake/{token}/pack/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert ConfigPack.objects.filter(request=request).count() == 1
    assert packs_queue.count == 0


def test_a_pack_asked_for_during_provisioning_is_not_rendered_early(
    se_client, rq_queue, packs_queue
):
    # Tunnels exist, but the NAT step has still to give the pack its public IP.
    request = connection_request(nat=True)
    VpnRequest.objects.filter(pk=request.pk).update(stage=Stage.NAT)
    response = se_client.get(f"/requests/{request.pk}/pack/1/redacted_pdf/")
    assert response.status_code == 404
    assert "being prepared" not in se_client.get(f"/requests/{request.pk}/").content.decode()
    assert packs_queue.count == 0
