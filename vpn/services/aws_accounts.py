"""AWS accounts as data: adding one, and turning one off for new placements.

An account is checked whole before anything is written: a 12-digit id, an IAM role ARN in
that account, an external id, known regions, and quota overrides naming known quotas
with whole positive limits. A disabled account keeps its requests (every later call for
them still acts in it); placement just stops choosing it.
"""

import re

from django.db import transaction

from vpn.models import AwsAccount
from vpn.regions import REGION_CHOICES
from vpn.services.placement import QUOTAS_BY_NAME

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
# AWS's rule for ExternalId: 2 to 1224 characters of this set.
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


class AccountInvalid(Exception):
    """An account that cannot be recorded as given; the message says why."""


def aws_account_add(
    *,
    name: str,
    account_id: str,
    role_arn: str,
    external_id: str,
    regions: list[str],
    quota_overrides: dict | None = None,
) -> AwsAccount:
    """Record a new account placement may use; AccountInvalid says what is wrong."""
    fields = dict(
        name=name,
        account_id=account_id,
        role_arn=role_arn,
        external_id=external_id,
        regions=regions,
        quota_overrides=quota_overrides,
    )
    with transaction.atomic():
        return AwsAccount.objects.create(**aws_account_check(**fields))


def aws_account_check(
    *,
    name: str,
    account_id: str,
    role_arn: str,
    external_id: str,
    regions: list[str],
    quota_overrides: dict | None = None,
) -> dict:
    """The account's fields as they would be recorded, checked whole (writing nothing);
    AccountInvalid says what is wrong. The admin's add form shows that message on the
    form, then records the account through `aws_account_add`."""
    name = name.strip()
    if not name:
        raise AccountInvalid("Give the account a name.")
    if not _ACCOUNT_ID.match(account_id):
        raise AccountInvalid(f"“{account_id}” is not an AWS account id (12 digits).")
    arn = _ROLE_ARN.match(role_arn)
    if arn is None:
        raise AccountInvalid(f"“{role_arn}” is not an IAM role ARN.")
    if arn.group(1) != account_id:
        raise AccountInvalid(f"The role {role_arn} is not in account {account_id}.")
    if not _EXTERNAL_ID.match(external_id):
        raise AccountInvalid("The external id must be 2 to 1224 letters, digits or +=,.@:/-_.")
    known = {code for code, _ in REGION_CHOICES}
    unknown = sorted(set(regions) - known)
    if not regions or unknown:
        raise AccountInvalid(
            f"Unknown region(s): {', '.join(unknown)}." if unknown else "Give at least one region."
        )
    overrides = quota_overrides or {}
    for quota, limit in overrides.items():
        if quota not in QUOTAS_BY_NAME:
            raise AccountInvalid(
                f"“{quota}” is not a quota; known: {', '.join(sorted(QUOTAS_BY_NAME))}."
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise AccountInvalid(f"The limit of {quota} must be a whole number of at least 0.")
    if AwsAccount.objects.filter(account_id=account_id).exists():
        raise AccountInvalid(f"Account {account_id} is already recorded.")
    if AwsAccount.objects.filter(name=name).exists():
        raise AccountInvalid(f"An account is already called “{name}”.")
    return dict(
        name=name,
        account_id=account_id,
        role_arn=role_arn,
        external_id=external_id,
        regions=sorted(set(regions)),
        quota_overrides=overrides,
    )


def aws_account_enable(*, account_id: str, enabled: bool) -> AwsAccount:
    """Let placement choose the account again, or stop it choosing it."""
    account = AwsAccount.objects.filter(account_id=account_id).first()
    if account is None:
        raise AccountInvalid(f"No account {account_id} is recorded.")
    account.enabled = enabled
    account.save(update_fields=["enabled"])
    return account
