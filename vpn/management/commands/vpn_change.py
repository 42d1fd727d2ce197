"""`python manage.py vpn_change ID --reason TEXT [--confirm] [--sync] CHANGE`: change a
live VPN through the same service as the request page's Changes card.

One change per run, among: `--add-subnet CIDR`, `--remove-subnet CIDR`, `--gateway-ip IP
[--asn N]`, `--rotate-psk 1|2|all`, the tunnel options (`--ike-versions`, `--phase1-*`,
`--phase2-*`, `--dpd-timeout-action`, `--startup-action`, together one change), `--nat
on|off`, `--tunnels 2`; `--routing static|bgp` only explains why AWS cannot do it in
place. The change is proposed and applied at once (a disruptive one only with
`--confirm`, having read its impact); nothing is recorded when it is refused. Without
`--sync` its steps run in the background job; with it, here, to the end.

`--customer-confirmed` records that the customer configured the never-up tunnel the
request's change waits for; `--retry` resumes the request's change that stopped.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vpn.choices import ACTIVE_CHANGE_STATES, ChangeKind, ChangeState
from vpn.models import VpnChange, VpnRequest
from vpn.services import changes
from vpn.tunnel_profile import TUNNEL_OPTIONS

LABEL = "vpn_change"
# --ike-versions and the like: the tunnel option each sets.
OPTION_FLAGS = {
    "ike_versions": "ike_version",
    "phase1_encryption": "phase1_encryption",
    "phase1_integrity": "phase1_integrity",
    "phase1_dh_group": "phase1_dh_group",
    "phase1_lifetime": "phase1_lifetime_seconds",
    "phase2_encryption": "phase2_encryption",
    "phase2_integrity": "phase2_integrity",
    "phase2_dh_group": "phase2_dh_group",
    "phase2_lifetime": "phase2_lifetime_seconds",
    "dpd_timeout_action": "dpd_timeout_action",
    "startup_action": "startup_action",
}


class Command(BaseCommand):
    """Propose and apply one change to a live VPN, or go on with the one under way."""

    help = "Change a live VPN (subnets, gateway, keys, tunnel options, NAT, tunnels)."

    def add_arguments(self, parser):
        parser.add_argument("request_id", type=int)
        parser.add_argument("--reason", default="", help="Why (required for a new change).")
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="Apply a disruptive change (its impact is printed when this is missing).",
        )
        parser.add_argument("--sync", action="store_true", help="Run the change here, to its end.")
        parser.add_argument("--add-subnet", metavar="CIDR")
        parser.add_argument("--remove-subnet", metavar="CIDR")
        parser.add_argument("--gateway-ip", metavar="IP", help="The customer's new public IP.")
        parser.add_argument("--asn", metavar="N", help="With --gateway-ip: a new BGP ASN.")
        parser.add_argument("--rotate-psk", choices=("1", "2", "all"), metavar="1|2|all")
        for flag, name in OPTION_FLAGS.items():
            option = TUNNEL_OPTIONS[name]
            choices = [str(choice) for choice in option.choices] or None
            parser.add_argument(
                "--" + flag.replace("_", "-"),
                choices=choices,
                help=f"{option.label}"
                + (f" ({option.low} to {option.high} s)" if not option.choices else ""),
            )
        parser.add_argument("--nat", choices=("on", "off"))
        parser.add_argument("--tunnels", choices=("2",), help="From one tunnel to two.")
        parser.add_argument(
            "--routing", choices=("static", "bgp"), help="Explains how to change routing."
        )
        parser.add_argument(
            "--customer-confirmed",
            action="store_true",
            help="The customer configured the never-up tunnel the change waits for.",
        )
        parser.add_argument(
            "--retry", action="store_true", help="Resume the request's change that stopped."
        )

    def handle(self, *args, request_id: int, **options):
        """Do what was asked, print what happened; fail with the reason, changing nothing."""
        request = VpnRequest.objects.filter(pk=request_id).first()
        if request is None:
            raise CommandError(f"No VPN request with id {request_id}.")
        wanted = self._wanted(options)
        try:
            if options["routing"]:
                if wanted:
                    raise CommandError("Give one change at a time.")
                changes.routing_change_refusal(request_id=request_id, routing=options["routing"])
            if options["customer_confirmed"] or options["retry"]:
                if wanted:
                    raise CommandError("Give one change at a time.")
                change = self._go_on(request, options)
            else:
                change = self._new(request, wanted, options)
        except changes.ChangeRefused as exc:
            raise CommandError(str(exc)) from exc
        if options["sync"]:
            self._run(change)
        else:
            self.stdout.write(
                f"{request.reference}: {change.reference} queued; its page shows it live: "
                f"{change.get_absolute_url()}"
            )

    def _wanted(self, options) -> list[tuple[str, dict]]:
        """The changes the options ask for: (kind, values) each."""
        wanted = []
        if options["add_subnet"] is not None:
            wanted.append((ChangeKind.ADD_SUBNET, {"cidr": options["add_subnet"]}))
        if options["remove_subnet"] is not None:
            wanted.append((ChangeKind.REMOVE_SUBNET, {"cidr": options["remove_subnet"]}))
        if options["gateway_ip"] is not None:
            wanted.append(
                (ChangeKind.CUSTOMER_GATEWAY, {"ip": options["gateway_ip"], "asn": options["asn"]})
            )
        elif options["asn"] is not None:
            raise CommandError("--asn goes with --gateway-ip (the gateway's new BGP ASN).")
        if options["rotate_psk"] is not None:
            wanted.append((ChangeKind.ROTATE_PSK, {"tunnels": options["rotate_psk"]}))
        tunnel_options = {
            name: options[flag] for flag, name in OPTION_FLAGS.items() if options[flag] is not None
        }
        if tunnel_options:
            wanted.append((ChangeKind.TUNNEL_OPTIONS, tunnel_options))
        if options["nat"] is not None:
            wanted.append((ChangeKind.NAT, {"nat": options["nat"]}))
        if options["tunnels"] is not None:
            wanted.append((ChangeKind.TUNNEL_COUNT, {"tunnels": options["tunnels"]}))
        if len(wanted) > 1:
            raise CommandError(
                "Give one change at a time (each is applied, and waited for, on its own)."
            )
        return wanted

    def _new(self, request, wanted, options) -> VpnChange:
        if not wanted:
            raise CommandError(
                "Say what to change: --add-subnet, --remove-subnet, --gateway-ip, --rotate-psk, "
                "a tunnel option (--ike-versions, --phase1-…, --phase2-…, --dpd-timeout-action, "
                "--startup-action), --nat or --tunnels."
            )
        ((kind, values),) = wanted
        # Proposed and applied together: a refusal of either leaves nothing behind.
        with transaction.atomic():
            change = changes.change_propose(
                request_id=request.pk,
                kind=kind,
                values=values,
                reason=options["reason"],
                label=LABEL,
            )
            self.stdout.write(f"{request.reference}: {change.reference} ({change.summary}).")
            impact = changes.change_impact(change)
            if impact.disruptive and not options["confirm"]:
                raise changes.ChangeRefused(
                    f"{impact.words} Nothing was changed: run again with --confirm to apply it."
                )
            self.stdout.write(f"Impact: {impact.words}")
            return changes.change_apply(
                change_id=change.pk,
                label=LABEL,
                confirmed=options["confirm"],
                queue=not options["sync"],
            )

    def _go_on(self, request, options) -> VpnChange:
        if options["customer_confirmed"]:
            change = request.changes.filter(state=ChangeState.WAITING_FOR_TUNNEL).first()
            if change is None:
                raise CommandError(f"No change of {request.reference} waits for the customer.")
            return changes.change_confirm_tunnel(
                change_id=change.pk, label=LABEL, queue=not options["sync"]
            )
        change = request.changes.filter(state=ChangeState.FAILED).order_by("-created_at").first()
        if change is None:
            raise CommandError(f"No change of {request.reference} has stopped.")
        return changes.change_apply(
            change_id=change.pk,
            label=LABEL,
            confirmed=options["confirm"],
            queue=not options["sync"],
        )

    def _run(self, change: VpnChange) -> None:
        outcome = changes.change_run_here(change_id=change.pk, sleep=time.sleep)
        change.refresh_from_db()
        reference = f"{change.request.reference}: {change.reference}"
        for version in change.pack_versions:
            self.stdout.write(f"{reference}: config pack version {version} issued.")
        if outcome == changes.FAILED:
            raise CommandError(f"{reference} stopped. {change.message}")
        if change.state in ACTIVE_CHANGE_STATES:
            self.stdout.write(f"{reference} waits: {change.message}")
            return
        self.stdout.write(self.style.SUCCESS(f"{reference}: {change.message}"))
