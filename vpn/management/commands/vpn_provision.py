"""`python manage.py vpn_provision ID [--sync]`: start, resume or retry provisioning."""

from django.core.management.base import BaseCommand, CommandError

from vpn import events
from vpn.choices import PROVISIONING_STAGES, Stage
from vpn.models import VpnRequest
from vpn.services.provisioning import DONE, FAILED, WAITING, provision_advance
from vpn.services.stages import StageMoveError, request_retry


class Command(BaseCommand):
    """Queue (or with --sync, run here) the request's remaining setup steps."""

    help = "Start, resume or retry the provisioning of a VPN request."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Run every remaining step in this process instead of queueing a job.",
        )

    def handle(self, *args, request_id: int, sync: bool, **options):
        """Retry a failed request, or continue one that is approved or provisioning."""
        try:
            request = VpnRequest.objects.get(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if request.stage == Stage.FAILED:
            try:
                request_retry(request_id=request_id)
            except StageMoveError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{request.reference}: retrying from “{request.get_failed_stage_display()}”."
            )
        elif request.stage not in (Stage.APPROVED, *PROVISIONING_STAGES):
            raise CommandError(
                f"{request.reference} is “{request.get_stage_display()}”: only approved, "
                "provisioning or failed requests can be provisioned."
            )
        if not sync:
            if request.stage != Stage.FAILED:
                events.job_enqueue("vpn.jobs.request_provision", request_id)
            self.stdout.write(f"{request.reference}: provisioning queued.")
            return
        self._run(request_id)

    def _run(self, request_id: int) -> None:
        import time

        from django.conf import settings

        while True:
            request = VpnRequest.objects.get(pk=request_id)
            if request.stage not in (Stage.APPROVED, *PROVISIONING_STAGES):
                break
            outcome = provision_advance(request_id=request_id)
            request.refresh_from_db()
            self.stdout.write(
                f"{request.reference}: {outcome}, now “{request.get_stage_display()}”."
            )
            if outcome == FAILED:
                raise CommandError(request.failure_message)
            if outcome == WAITING:
                time.sleep(max(settings.PROVISION_POLL_SECONDS, 1))
            elif outcome != DONE:
                break
        self.stdout.write(
            self.style.SUCCESS(f"{request.reference}: “{request.get_stage_display()}”.")
        )
