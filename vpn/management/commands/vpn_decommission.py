"""`python manage.py vpn_decommission ID --reason REASON [--message TEXT] [--sync]`: delete a
request's AWS resources, and tell the customer why (as the request page's button does)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vpn import events
from vpn.choices import DecommissionReason, Stage
from vpn.models import VpnRequest
from vpn.services.provisioning import FAILED, WAITING, decommission_advance
from vpn.services.stages import StageMoveError, request_decommission_start


class Command(BaseCommand):
    """Start decommissioning for a reason (the customer is emailed it), or resume it, and
    delete everything in dependency order."""

    help = (
        "Decommission a VPN request: delete every AWS resource it has, and email the "
        "customer's contact why. Reasons: "
        + "; ".join(f"{value} ({label})" for value, label in DecommissionReason.choices)
        + "."
    )

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument(
            "--reason",
            choices=DecommissionReason.values,
            help="Why (required to start; not to resume a decommissioning in progress).",
        )
        parser.add_argument(
            "--message",
            default="",
            help="What the customer is told beside the reason (required with --reason other).",
        )
        parser.add_argument(
            "--sync", action="store_true", help="Delete here instead of queueing a job."
        )

    def handle(self, *args, request_id: int, sync: bool, reason, message: str, **options):
        """Start (or resume) decommissioning."""
        try:
            request = VpnRequest.objects.get(pk=request_id)
        except VpnRequest.DoesNotExist as exc:
            raise CommandError(f"No VPN request with id {request_id}.") from exc
        if request.stage != Stage.DECOMMISSIONING:
            if reason is None:
                raise CommandError(
                    "Say why with --reason: the customer is told. Reasons: "
                    + ", ".join(DecommissionReason.values)
                    + "."
                )
            try:
                request_decommission_start(
                    request_id=request_id,
                    reason=reason,
                    message=message,
                    actor_label="vpn_decommission",
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
