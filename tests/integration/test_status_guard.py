"""A freeze (or a close) that lands between a spend's read and its write stops the spend:
the status is checked again inside the spend's transaction (guard twice)."""

import pytest

from chalicelib.domain.errors import AccountFrozen
from chalicelib.domain.points import EntryKind
from chalicelib.service_layer.points_ledger import MemberPoints
from chalicelib.service_layer.reconcile import reconcile
from chalicelib.service_layer.wallet import guard_active
from tests.builders import register, staff_token


def test_a_freeze_between_read_and_write_refuses_the_spend(client, stack):
    member = register(client, stack)  # 60 points
    uow = stack.uow()
    guard_active(uow, member.member_id)
    MemberPoints.of(uow, stack, member.member_id).spend(50, EntryKind.SPEND, ref="race")  # read while active
    ops = staff_token(client, stack, "ops")
    assert (
        client.post(
            f"/v1/admin/members/{member.member_id}/freeze", token=ops, json_body={"reason": "lands mid-spend"}
        ).status_code
        == 200
    )
    with pytest.raises(AccountFrozen):
        uow.commit()
    assert client.get("/v1/me", token=member.access_token).json["points"]["available"] == 60
    assert reconcile()["ok"]


def test_an_active_member_passes_the_guard(client, stack):
    member = register(client, stack)
    uow = stack.uow()
    guard_active(uow, member.member_id)
    MemberPoints.of(uow, stack, member.member_id).spend(50, EntryKind.SPEND, ref="fine")
    uow.commit()
    assert client.get("/v1/me", token=member.access_token).json["points"]["available"] == 10
