"""Customer intake benchmark: N valid submissions through the customer's link.

Creates a throwaway test database (Django's test utilities, via `harness`), invites N
customers, then posts one valid intake submission per link through the test client:
the rate limits, every intake rule, the stage service and the "submitted" email to the
engineer (run in process, as without a queue) are all in the measured time. Prints the
median and 95th percentile server time per submission, in milliseconds.

Run from the repository root: `python bench/bench_intake.py [N]` (default 200). Uses the
database `DATABASE_URL` names (a `test_` copy of it), so figures can be taken on SQLite
or PostgreSQL.
"""

import logging
import os
import sys
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings_test"

from harness import django_test_database, summary

SUBMISSIONS = 200
WARMUP = 10


def submission(index: int) -> dict[str, str]:
    """A valid static-routing intake, different for each customer."""
    return {
        "region": "",
        "location_city": ("Manchester", "Frankfurt", "Osaka", "Sydney", "Chicago")[index % 5],
        "location_country": ("UK", "Germany", "Japan", "Australia", "USA")[index % 5],
        "gateway_ip": f"52.94.{index // 250}.{index % 250 + 1}",
        "routing": "static",
        "subnets": f"10.{20 + index % 200}.0.0/16\n192.168.{index % 256}.0/24",
        "ike_version": "ikev2",
        "tunnels": "2",
        "nat": "on",
        "device": "strongswan",
        "action": "submit",
    }


def main(count: int) -> None:
    """Invite `count` + warm-up customers, submit each intake, print the figures."""
    with django_test_database():
        # Without a queue every job logs that it runs in process: 200 lines of noise.
        logging.getLogger("vpn.jobs").setLevel(logging.WARNING)
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.test.utils import override_settings

        from vpn.models import VpnRequest
        from vpn.services.intake import intake_invite

        owner = get_user_model().objects.create_user("bench-se", "se@example.com", "x")
        with override_settings(
            RQ_ASYNC=False,
            AWS_SANDBOX=False,
            INTAKE_RATE_LIMIT_PER_IP=10**9,
            INTAKE_RATE_LIMIT_PER_TOKEN=10**9,
        ):
            tokens = [
                intake_invite(
                    customer_name=f"Bench customer {i}",
                    org_id=f"00000000-0000-4000-8000-{i:012d}",
                    contact_email=f"netops{i}@example.com",
                    owner=owner,
                    send_email=False,
                ).token
                for i in range(count + WARMUP)
            ]
            client = Client()
            timings = []
            for index, token in enumerate(tokens):
                start = time.perf_counter()
                response = client.post(f"/intake/{token}/", submission(index))
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 302:
                    raise SystemExit(f"Submission {index} was refused ({response.status_code}).")
                if index >= WARMUP:
                    timings.append(elapsed)
            submitted = VpnRequest.objects.filter(stage="submitted").count()
        print(f"Customer intake submissions ({submitted} submitted): {summary(timings)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else SUBMISSIONS)
