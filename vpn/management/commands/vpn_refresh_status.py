"""`python manage.py vpn_refresh_status [--region R ...]`: refresh tunnel status now.

Runs the same refresh as the schedule and the "Refresh now" button, but in this process
(no worker needed), and prints what it did. Exits non-zero if any region could not be
read, so that a script or an operator notices.
"""

from django.core.management.base import BaseCommand, CommandError

from vpn.models import StatusRefresh
from vpn.regions import REGIONS_BY_CODE
from vpn.services.status import status_refresh


class Command(BaseCommand):
    """Ask AWS for the status of every watched VPN (in the regions given) and store it."""

    help = "Refresh the tunnel status of every watched VPN now, in this process."

    def add_arguments(self, parser):
        parser.add_argument(
            "--region",
            action="append",
            dest="regions",
            metavar="REGION",
            help="Refresh only this AWS region (repeat for several); default: every region.",
        )

    def handle(self, *args, regions: list[str] | None, **options):
        """Run the refresh, print its summary, and fail if a region could not be read."""
        if regions:
            unknown = sorted(set(regions) - set(REGIONS_BY_CODE))
            if unknown:
                raise CommandError(f"Unknown AWS region: {', '.join(unknown)}.")
            regions = sorted(set(regions))
        run = status_refresh(trigger=StatusRefresh.Trigger.COMMAND, regions=regions)
        asked = ", ".join(run.regions) if run.regions else "none with a watched VPN"
        self.stdout.write(f"Regions ({len(run.regions)}): {asked}")
        self.stdout.write(f"AWS calls:       {run.aws_calls}")
        self.stdout.write(f"Requests seen:   {run.requests_seen}")
        self.stdout.write(f"Tunnels changed: {run.tunnels_changed}")
        self.stdout.write(f"Stage moves:     {run.requests_moved}")
        self.stdout.write(f"Alerts sent:     {run.alerts_sent}")
        errors = sorted(run.errors.items())
        for region, error in errors:
            self.stdout.write(f"Error in {region}: {error}")
        if errors:
            details = "; ".join(f"{region}: {error}" for region, error in errors)
            raise CommandError(
                f"Could not read {len(run.errors)} region(s), whose tunnels keep their last "
                f"known status: {details}"
            )
        self.stdout.write(self.style.SUCCESS("Tunnel status refreshed."))
