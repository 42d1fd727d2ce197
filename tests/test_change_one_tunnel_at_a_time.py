"""Changes that touch tunnels go one tunnel at a time, never both down: the sandbox's
telemetry is the witness. A tunnel that does not come back stops the change before the
other is touched; a one-tunnel VPN is warned of its outage and must confirm; a second
change waits until the first ends."""

import dataclasses
import importlib
from datetime import UTC, datetime

import pytest

from tests.change_support import (
    all_tunnels_down_since,
    aws_connection,
    aws_keys,
    customer_emails,
    hold,
    provisioned_vpn,
)
from tests.factories import se_user
from vpn import aws
from vpn.choices import ChangeKind, ChangeState
from vpn.models import ConfigPack, Tunnel, VpnChange
from vpn.selectors.requests import request_timeline
from vpn.services.changes import ChangeRefused, change_apply, change_propose

pytestmark = pytest.mark.django_db(transaction=True)


def _rotation(request, user, tunnels="all") -> VpnChange:
    return change_propose(
        request_id=request.pk,
        kind=ChangeKind.ROTATE_PSK,
        values={"tunnels": tunnels},
        reason="Yearly key rotation (security ticket 812)",
        user=user,
    )


def test_rotating_both_keys_never_shows_both_tunnels_down(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    one, two = request.tunnels.order_by("position")
    old_keys = aws_keys(aws_sandbox, request)
    packs_before = ConfigPack.objects.filter(request=request).count()
    since = datetime.now(UTC)

    change = _rotation(request, ops)
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs() == 0

    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    # AWS has a new key on each tunnel, and the portal stores what AWS reports.
    new_keys = aws_keys(aws_sandbox, request)
    for tunnel in (one, two):
        assert new_keys[tunnel.outside_ip] != old_keys[tunnel.outside_ip]
        assert Tunnel.objects.get(pk=tunnel.pk).psk == new_keys[tunnel.outside_ip]
    # Never both down: the sandbox's own record of its telemetry says so.
    record = all_tunnels_down_since(aws_sandbox, request, since)
    assert record["all_down"] is False, record
    # Tunnel 1 first, tunnel 2 only after tunnel 1 was seen UP again.
    modifications = list(
        change.calls.filter(operation="ModifyVpnTunnelOptions").values_list("tunnel", "ok")
    )
    assert modifications == [(1, True), (2, True)]
    calls = list(change.calls.values_list("operation", "tunnel"))
    second = calls.index(("ModifyVpnTunnelOptions", 2))
    assert ("DescribeVpnConnections", None) in calls[
        calls.index(("ModifyVpnTunnelOptions", 1)) : second
    ]
    assert all(
        c.parameters["options"]["PreSharedKey"] == "REDACTED"
        for c in change.calls.filter(operation="ModifyVpnTunnelOptions")
    )
    # Nor does any recorded answer hold a key, old or new.
    keys = {*old_keys.values(), *new_keys.values()}
    outcomes = list(change.calls.values_list("outcome", flat=True))
    assert not [o for o in outcomes if any(key in o for key in keys)], outcomes
    connection_id = aws_connection(aws_sandbox, request)["VpnConnectionId"]
    assert f"{connection_id} available; tunnels {one.outside_ip} " in " ".join(outcomes)
    # A pack version per tunnel, each naming the change and who has the new key.
    first, last = ConfigPack.objects.filter(request=request).order_by("version")[packs_before:]
    assert change.pack_versions == [first.version, last.version]
    assert first.reason.startswith(f"{change.reference} (rotate pre-shared keys)")
    assert "tunnel 1 already has the new values; tunnel 2 gets them" in first.reason
    assert "tunnels 1 and 2 now have the new values" in last.reason
    assert f"Tunnel {one.outside_ip}: pre-shared key changed" in first.changes
    assert f"Tunnel {two.outside_ip}: pre-shared key changed" in last.changes
    # The customer heard of each version; the timeline records the change.
    emails = customer_emails(request)
    assert [
        f"config pack version {v}" in m.subject
        for v, m in zip(change.pack_versions, emails, strict=True)
    ] == [True, True]
    assert "tunnel 1 already has the new values" in emails[0].body
    titles = [event.title for event in request_timeline(request=request)]
    assert f"{change.reference} done: new pre-shared key for tunnels 1 and 2" in titles
    assert f"{change.reference} proposed: new pre-shared key for tunnels 1 and 2" in titles


def test_a_tunnel_held_down_stops_the_change_and_tunnel_2_is_untouched(
    aws_sandbox, run_jobs, ops, settings, mailoutbox
):
    settings.CHANGE_TUNNEL_WAIT_SECONDS = 3  # three checks, one per PROVISION_POLL_SECONDS
    owner = se_user(username="se-owner", email="owner@platform.example")
    request = provisioned_vpn(aws_sandbox, run_jobs, owner=owner)
    one, two = request.tunnels.order_by("position")
    old_keys = aws_keys(aws_sandbox, request)

    change = _rotation(request, ops)
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs(scheduled=False) == 0  # tunnel 1 changed; its check is scheduled
    change.refresh_from_db()
    assert (change.state, change.tunnel) == (ChangeState.WAITING_FOR_TUNNEL, 1)
    # The customer's device does not have tunnel 1's new key: it stays down.
    hold(aws_sandbox, request, 1)
    assert run_jobs() == 0

    change.refresh_from_db()
    assert change.state == ChangeState.FAILED
    assert change.checks == 3
    assert "tunnel 1 did not come back UP within 3 seconds (3 checks)" in change.message
    assert "Tunnel 2 was not touched and keeps the previous values" in change.message
    keys = aws_keys(aws_sandbox, request)
    assert keys[one.outside_ip] != old_keys[one.outside_ip]
    assert keys[two.outside_ip] == old_keys[two.outside_ip]
    assert not change.calls.filter(operation="ModifyVpnTunnelOptions", tunnel=2).exists()
    failed = [m for m in mailoutbox if m.to == ["owner@platform.example"]]
    assert len(failed) == 1 and f"{change.reference} stopped" in failed[0].subject

    # The customer configures the key: Retry goes on from where it stopped.
    hold(aws_sandbox, request, 1, held=False)
    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert aws_keys(aws_sandbox, request)[two.outside_ip] != old_keys[two.outside_ip]
    assert list(
        change.calls.filter(operation="ModifyVpnTunnelOptions").values_list("tunnel", flat=True)
    ) == [1, 2]


def test_a_one_tunnel_vpn_is_warned_of_the_outage_and_must_confirm(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs, tunnel_count=1)
    one = request.tunnels.get(position=1)
    old_keys = aws_keys(aws_sandbox, request)
    change = _rotation(request, ops, tunnels="1")

    with pytest.raises(ChangeRefused, match=r"This VPN has one tunnel.*This is an outage"):
        change_apply(change_id=change.pk, user=ops)
    change.refresh_from_db()
    assert change.state == ChangeState.PROPOSED
    assert aws_keys(aws_sandbox, request) == old_keys

    change_apply(change_id=change.pk, user=ops, confirmed=True)
    assert run_jobs() == 0
    change.refresh_from_db()
    assert change.state == ChangeState.DONE, change.message
    assert change.impact_confirmed and "outage" in change.impact
    assert aws_keys(aws_sandbox, request)[one.outside_ip] != old_keys[one.outside_ip]


def test_a_second_change_is_refused_while_one_applies(aws_sandbox, run_jobs, ops):
    request = provisioned_vpn(aws_sandbox, run_jobs)
    first = _rotation(request, ops, tunnels="1")
    second = change_propose(
        request_id=request.pk,
        kind=ChangeKind.ADD_SUBNET,
        values={"cidr": "10.77.0.0/24"},
        reason="New office",
        user=ops,
    )
    change_apply(change_id=first.pk, user=ops, confirmed=True)

    with pytest.raises(ChangeRefused, match=f"{first.reference} .* is still under way"):
        change_apply(change_id=second.pk, user=ops)
    second.refresh_from_db()
    assert second.state == ChangeState.PROPOSED

    assert run_jobs() == 0
    first.refresh_from_db()
    assert first.state == ChangeState.DONE
    change_apply(change_id=second.pk, user=ops)
    assert run_jobs() == 0
    second.refresh_from_db()
    assert second.state == ChangeState.DONE, second.message


def test_answers_recorded_whole_before_are_rewritten_without_their_keys(aws_sandbox, run_jobs):
    """Migration 0018 turns a call outcome that kept the described connections whole
    (keys included) into the line recorded now."""
    migration = importlib.import_module("vpn.migrations.0018_change_call_outcomes_without_keys")
    request = provisioned_vpn(aws_sandbox, run_jobs)
    region = request.region
    answer = aws.vpn_connections_describe(region, request_id=request.pk)
    keys = list(aws_keys(aws_sandbox, request).values())
    # A described connection's repr leaves its keys out now; before, it held them.
    assert not any(key in repr(answer) for key in keys)
    recorded_before = ", ".join(_repr_whole(item) for item in answer)
    assert all(key in recorded_before for key in keys)

    rewritten = migration.outcome_summary(recorded_before)
    (connection,) = answer
    tunnels = ", ".join(f"{t.outside_ip} {t.status}" for t in connection.tunnels)
    assert rewritten == f"{connection.id} {connection.state}; tunnels {tunnels}"
    assert not any(key in rewritten for key in keys)
    # Cut at 2,000 characters, as recorded: the second tunnel's status is lost with it.
    cut = migration.outcome_summary(recorded_before[:2000])
    assert not any(key in cut for key in keys)
    assert cut.startswith(f"{answer[0].id} available; tunnels {answer[0].tunnels[0].outside_ip} ")


def _repr_whole(value) -> str:
    """A dataclass's repr with every field, as the default repr was before keys left it."""
    if dataclasses.is_dataclass(value):
        inner = ", ".join(
            f"{f.name}={_repr_whole(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"{type(value).__name__}({inner})"
    if isinstance(value, tuple):
        return (
            "("
            + ", ".join(_repr_whole(item) for item in value)
            + ("," if len(value) == 1 else "")
            + ")"
        )
    return repr(value)
