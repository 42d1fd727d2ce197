"""`python manage.py vpn_decommission ID [--sync]`: delete a request's AWS resources."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vpn import events
from vpn.choices import Stage
from vpn.models import VpnRequest
from vpn.services.provisioning import FAILED, WAITING, decommission_advance
from vpn.services.stages import StageMoveError, request_move


class Command(BaseCommand):
    """Move the request to decommissioning and delete everything in dependency order."""

    help = "Decommission a VPN request: delete every AWS resource it has."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--sync", action="store_true", help="Delete here instead of queueing a job."
        )

    def handle(self, *args, request_id: int, sync: bool, **options):
        """Start (or resume) decommissioning."""
        try:
            request = VpnRequest.objects.get(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if request.stage != Stage.DECOMMISSIONING:
            try:
                request_move(
                    request_id=request_id,
                    to_stage=Stage.DECOMMISSIONING,
                    actor_label="vpn_decommission",
                    note="Decommissioned from the command line",
                )
            except StageMoveError as exc:
                raise CommandError(str(exc)) from exc
        elif not sync:
            events.job_enqueue("vpn.jobs.request_decommission", request_id)
        if not sync:
            self.stdout.write(f"{request.reference}: decommissioning queued.")
            return
        while (outcome := decommission_advance(request_id=request_id)) == WAITING:
            time.sleep(max(settings.PROVISION_POLL_SECONDS, 1))
        request.refresh_from_db()
        if outcome == FAILED:
            raise CommandError(request.failure_message)
        self.stdout.write(
            self.style.SUCCESS(f"{request.reference}: “{request.get_stage_display()}”.")
        )
