"""Several AWS accounts, on the sandbox: placement at approval by each account's quotas,
resources built in the chosen account, and every later call (status, maintenance, a
change, decommissioning) acting in it."""

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from io import StringIO

import boto3
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.factories import VpnRequestFactory, ops_user
from vpn import aws
from vpn.choices import ChangeKind, ChangeState, DecommissionReason, Routing, Stage
from vpn.models import AwsAccount, VpnRequest
from vpn.services.changes import change_apply, change_propose
from vpn.services.intake import request_approve
from vpn.services.maintenance import maintenance_refresh
from vpn.services.placement import NoRoom
from vpn.services.stages import request_decommission_start
from vpn.services.status import status_refresh

REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
# Public addresses (intake refuses documentation ones), one per customer gateway.
_GATEWAY_HOSTS = itertools.count(1)
VPN_GATEWAYS = ("ec2", "L-7029FAB6")


@pytest.fixture(autouse=True)
def _quotas_read(settings):
    """Placement asks Service Quotas here (the other tests approve without AWS calls)."""
    settings.AWS_READ_SERVICE_QUOTAS = True


def _account(name: str, account_id: str) -> AwsAccount:
    return AwsAccount.objects.create(
        name=name,
        account_id=account_id,
        role_arn=f"arn:aws:iam::{account_id}:role/vpn-portal",
        external_id=f"portal-{name}",
        regions=[REGION],
    )


def _quota(sandbox, account_id: str, value: int) -> None:
    service_code, quota_code = VPN_GATEWAYS
    sandbox.control(
        "POST",
        "/_sandbox/service-quota",
        {
            "account": account_id,
            "region": REGION,
            "service_code": service_code,
            "quota_code": quota_code,
            "value": value,
        },
    )


def _ec2_in(sandbox, account: AwsAccount):
    """A client of the test's own, with credentials of the account's role."""
    sts = boto3.client(
        "sts",
        endpoint_url=sandbox.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keys = sts.assume_role(
        RoleArn=account.role_arn, RoleSessionName="test-check", ExternalId=account.external_id
    )["Credentials"]
    return boto3.client(
        "ec2",
        endpoint_url=sandbox.url,
        region_name=REGION,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def _tagged(items: list[dict], request_id: int) -> list[dict]:
    return [
        item
        for item in items
        if {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get("vpn-portal:request")
        == str(request_id)
    ]


def _submitted(**fields) -> VpnRequest:
    return VpnRequestFactory(
        stage=Stage.SUBMITTED,
        region=REGION,
        tunnel_count=2,
        customer_gateway_ip=f"52.94.13.{next(_GATEWAY_HOSTS)}",
        **fields,
    )


@pytest.mark.django_db
def test_placement_spreads_over_the_accounts_by_their_quotas_and_refuses_when_full(aws_sandbox):
    second, third = _account("second", "111111111111"), _account("third", "222222222222")
    for account_id in (DEFAULT_ACCOUNT, second.account_id, third.account_id):
        _quota(aws_sandbox, account_id, 5)

    requests = [_submitted() for _ in range(12)]
    for request in requests:
        request_approve(request_id=request.pk)
    placed = Counter(
        VpnRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
            "account__account_id", flat=True
        )
    )
    assert placed == {None: 4, second.account_id: 4, third.account_id: 4}

    for _ in range(3):
        request_approve(request_id=_submitted().pk)
    refused = _submitted()
    with pytest.raises(NoRoom) as excinfo:
        request_approve(request_id=refused.pk)
    assert "virtual private gateways per region" in str(excinfo.value)
    assert REGION in str(excinfo.value)
    refused.refresh_from_db()
    assert (refused.stage, refused.account) == (Stage.SUBMITTED, None)


@pytest.mark.django_db(transaction=True)
def test_resources_live_in_the_account_and_every_later_call_acts_there(aws_sandbox, run_jobs):
    second = _account("second", "111111111111")
    _quota(aws_sandbox, DEFAULT_ACCOUNT, 0)  # the default account is full: "second" it is
    request = _submitted(
        routing=Routing.STATIC,
        static_subnets=["192.168.10.0/24"],
        bgp_asn=None,
        advertised_prefixes=[],
    )
    request_approve(request_id=request.pk)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.account == second
    assert request.stage == Stage.AWAITING_CUSTOMER, request.failure_message

    in_second = _ec2_in(aws_sandbox, second)
    in_default = aws_sandbox.ec2(REGION)
    for kind, key in (
        ("describe_vpcs", "Vpcs"),
        ("describe_vpn_gateways", "VpnGateways"),
        ("describe_customer_gateways", "CustomerGateways"),
        ("describe_vpn_connections", "VpnConnections"),
    ):
        assert len(_tagged(getattr(in_second, kind)()[key], request.pk)) == 1, kind
        assert _tagged(getattr(in_default, kind)()[key], request.pk) == [], kind

    # Status and maintenance read the connection where it is; in the default account
    # they would find nothing (or fail on an unknown id).
    run = status_refresh()
    assert run.errors == {} and run.requests_seen == 1
    maintenance = maintenance_refresh()
    assert maintenance.errors == {} and maintenance.tunnels_read == 2

    change = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ADD_SUBNET,
        values={"cidr": "10.77.0.0/24"},
        reason="Ticket 4711",
    )
    change_apply(change_id=change.pk, confirmed=True)
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    (connection,) = _tagged(in_second.describe_vpn_connections()["VpnConnections"], request.pk)
    assert sorted(r["DestinationCidrBlock"] for r in connection["Routes"]) == [
        "10.77.0.0/24",
        "192.168.10.0/24",
    ]

    request_decommission_start(request_id=request.pk, reason=DecommissionReason.CUSTOMER_REQUEST)
    assert run_jobs() == 0
    request.refresh_from_db()
    assert request.stage == Stage.DECOMMISSIONED, request.failure_message
    (connection,) = _tagged(in_second.describe_vpn_connections()["VpnConnections"], request.pk)
    assert connection["State"] == "deleted"
    assert _tagged(in_second.describe_vpcs()["Vpcs"], request.pk) == []


@pytest.mark.django_db
def test_assumed_credentials_are_cached_and_renewed_before_they_expire(aws_sandbox):
    account = _account("second", "111111111111")
    first = aws._keys(account)
    assert first.session_token and aws._keys(account) is first
    # Credentials inside the refresh margin are assumed again before any call uses them.
    aws._assumed[account.account_id] = aws._Keys(
        first.access_key_id,
        first.secret_access_key,
        first.session_token,
        datetime.now(UTC) + aws.CREDENTIALS_REFRESH_MARGIN / 2,
    )
    renewed = aws._keys(account)
    assert renewed.access_key_id != first.access_key_id
    assert renewed.expires_at > datetime.now(UTC) + aws.CREDENTIALS_REFRESH_MARGIN


@pytest.mark.django_db
def test_vpn_accounts_lists_usage_and_room_and_adds_an_account(aws_sandbox):
    call_command(
        "vpn_accounts",
        "add",
        "second",
        "111111111111",
        "arn:aws:iam::111111111111:role/vpn-portal",
        "portal-second",
        "--regions",
        REGION,
        "--quota",
        "vpn_gateways=7",
    )
    request_approve(request_id=_submitted().pk)
    with pytest.raises(CommandError, match="not in account"):
        call_command(
            "vpn_accounts",
            "add",
            "third",
            "222222222222",
            "arn:aws:iam::111111111111:role/vpn-portal",
            "portal-third",
            "--regions",
            REGION,
        )
    out = StringIO()
    call_command("vpn_accounts", "--json", stdout=out)
    rows = {row["account"]: row for row in json.loads(out.getvalue())}
    # The second account had the most room (7 against the default's 5), so it took it.
    assert rows[f"default ({DEFAULT_ACCOUNT})"]["used"] == 0
    assert rows[f"default ({DEFAULT_ACCOUNT})"]["room"] == 5
    assert rows["second (111111111111)"]["vpn_gateways"] == 7
    assert (rows["second (111111111111)"]["used"], rows["second (111111111111)"]["room"]) == (1, 6)
    assert AwsAccount.objects.count() == 1
    table = StringIO()
    call_command("vpn_accounts", stdout=table)
    lines = table.getvalue().splitlines()
    assert lines[0].split() == [
        "account",
        "region",
        "used",
        "vpn_gateways",
        "vpn_connections",
        "customer_gateways",
        "room",
        "placement",
    ]
    # Columns line up: each row's region starts where the header's does.
    assert {line.index(REGION) for line in lines[1:]} == {lines[0].index("region")}
    assert {line.split()[-1] for line in lines[1:]} == {"on"}
    # A disabled account keeps its request, and stays listed with no room.
    call_command("vpn_accounts", "disable", "111111111111", stdout=StringIO())
    out = StringIO()
    call_command("vpn_accounts", "--json", stdout=out)
    rows = {row["account"]: row for row in json.loads(out.getvalue())}
    second = rows["second (111111111111)"]
    assert (second["used"], second["room"], second["placement"]) == (1, 0, "off")
    assert rows[f"default ({DEFAULT_ACCOUNT})"]["placement"] == "on"


@pytest.mark.django_db
def test_the_admin_adds_an_account_checked_as_the_command_checks_it(client):
    client.force_login(ops_user())
    form = {
        "name": "second",
        "account_id": "111111111111",
        "role_arn": "arn:aws:iam::222222222222:role/vpn-portal",
        "external_id": "portal-second",
        "regions": [REGION],
        "quota_vpn_gateways": "7",
    }
    page = client.get("/admin/vpn/awsaccount/add/")
    assert b"Quota: virtual private gateways per region" in page.content
    refused = client.post("/admin/vpn/awsaccount/add/", form)
    assert refused.status_code == 200
    assert "The role arn:aws:iam::222222222222:role/vpn-portal is not in account" in (
        refused.content.decode()
    )
    no_region = client.post("/admin/vpn/awsaccount/add/", {**form, "regions": []})
    assert b"This field is required" in no_region.content
    assert not AwsAccount.objects.exists()
    form["role_arn"] = "arn:aws:iam::111111111111:role/vpn-portal"
    added = client.post("/admin/vpn/awsaccount/add/", form)
    assert added.status_code == 302
    account = AwsAccount.objects.get()
    assert (account.regions, account.quota_overrides) == ([REGION], {"vpn_gateways": 7})
    again = client.post("/admin/vpn/awsaccount/add/", {**form, "name": "other"})
    assert "Account 111111111111 is already recorded." in again.content.decode()
    # A recorded account is shown, never edited by hand.
    shown = client.get(f"/admin/vpn/awsaccount/{account.pk}/change/")
    assert shown.status_code == 200 and b'name="_save"' not in shown.content
    assert AwsAccount.objects.count() == 1


PLACE_ON_SQLITE = """
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0)
from tests.factories import VpnRequestFactory, ops_user
from vpn.choices import Stage
from vpn.services.placement import account_choose
request = VpnRequestFactory(stage=Stage.SUBMITTED, region="us-east-1")
with transaction.atomic():
    print(account_choose(request))
"""


def test_placement_runs_on_sqlite_the_embedded_default(tmp_path):
    # `make run` approves on SQLite, which has no advisory lock of PostgreSQL's.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PLACE_ON_SQLITE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "None"  # the settings' own account
