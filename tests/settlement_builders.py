"""Builders for the settlement scenarios: a staff desk that keeps its sessions fresh while
the clock moves, member trees, purchases and refunds as signed events, and readers of
what a settlement stored."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamodb.identity import MemberItem
from chalicelib.adapters.dynamodb.settlement import CarryItem, SettlementLineItem, SettlementRunItem
from chalicelib.adapters.dynamodb.wallet import WalletItem
from chalicelib.bootstrap import Container
from chalicelib.local.gateway import Client
from chalicelib.service_layer.points_ledger import balance_pk
from tests.builders import Member, StaffDesk, decide_review, login, post_event, register, run_job

# staff access tokens live 15 minutes; sign in again well before that
SESSION_REFRESH = timedelta(minutes=10)
_ips = itertools.count(1)
_orders = itertools.count(1)
_member_signed_in: dict[str, datetime] = {}


def shanghai(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant given as Asia/Shanghai wall time (UTC+8, no daylight saving)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


class Desk(StaffDesk):
    """Staff of one test (see ``tests.builders.StaffDesk``). Unless a test is about roles,
    the local admin acts (one session to keep fresh)."""

    def job(self, job: str, role: str = "admin", status: int = 202, **body: Any) -> dict[str, Any]:
        """The finished run's report (or the start's refusal, with its status)."""
        outcome = run_job(self.client, self.token(role), job, **body)
        assert outcome.status_code == status, outcome.body
        return outcome.json

    def approve(self, settlement_id: str, role: str = "finance", status: int = 200) -> dict[str, Any]:
        """Finance approves (jobs run as the admin here, and a run's starter cannot approve it)."""
        r = self.client.post(f"/v1/admin/settlements/{settlement_id}/approve", token=self.token(role))
        assert r.status_code == status, r.body
        return r.json

    def give_points(self, member: Member, points: int) -> None:
        body = {"member_id": member.member_id, "points": points, "reason": "stars for the scenario"}
        self.adjust("admin", body, approver="ops")

    def freeze(self, member: Member) -> None:
        r = self.client.post(
            f"/v1/admin/members/{member.member_id}/freeze", token=self.token("admin"), json_body={"reason": "scenario"}
        )
        assert r.status_code == 200, r.body

    def certify(self, member: Member, assessment: str = "passed") -> None:
        """A nutritionist certificate submitted, approved by ops and a lecture assessment recorded."""
        r = self.client.post(
            "/v1/me/nutritionist",
            token=fresh(self.client, self.stack, member).access_token,
            json_body={
                "certificate_no": f"NUT-{member.member_id[-6:]}",
                "issuer": "中国营养学会",
                "issued_on": "2026-01-02",
            },
        )
        assert r.status_code == 202, r.body
        ops = self.token("admin")
        r = decide_review(self.client, ops, "nutritionists", member.member_id, reason="certificate checked")
        assert r.status_code == 200, r.body
        r = self.client.post(
            f"/v1/admin/nutritionists/{member.member_id}/assessment",
            token=ops,
            json_body={"result": assessment, "reason": "lecture assessed"},
        )
        assert r.status_code == 200, r.body

    def audit(self, target_id: str) -> list[dict[str, Any]]:
        r = self.client.get(f"/v1/admin/audit?target_id={target_id}", token=self.token("admin"))
        assert r.status_code == 200, r.body
        return r.json["entries"]


def _address() -> str:
    """A client address of its own (the OTP limit counts codes per address and hour)."""
    n = next(_ips)
    return f"10.{n // 62_500 % 250}.{n // 250 % 250}.{n % 250 + 1}"


def join(client: Client, stack: Container, referrer: Member | None = None) -> Member:
    """Register a member one minute after the previous one (registration order decides
    ties between groups), each from its own address (the per-IP code limit)."""
    stack.clock.advance(minutes=1)  # type: ignore[attr-defined]
    client.source_ip = _address()
    member = register(client, stack, referrer_code=referrer.member_code if referrer else None)
    _member_signed_in[member.member_id] = stack.now()
    return member


def fresh(client: Client, stack: Container, member: Member) -> Member:
    """The member with an access token that is valid at the current clock."""
    signed_in_at = _member_signed_in.get(member.member_id)
    if signed_in_at is None or abs(stack.now() - signed_in_at) > SESSION_REFRESH:
        client.source_ip = _address()
        session = login(client, stack, member.phone)
        member.access_token, member.refresh_token = session.access_token, session.refresh_token
        _member_signed_in[member.member_id] = stack.now()
    return member


def buy(client: Client, stack: Container, member: Member, paid_fen: int, *, occurred_at: datetime | None = None) -> str:
    order_id = f"order-{next(_orders)}"
    r = post_event(
        client,
        stack,
        "order.paid",
        member.member_id,
        {"order_id": order_id, "gross_fen": paid_fen, "paid_fen": paid_fen},
        occurred_at=occurred_at.isoformat() if occurred_at else None,
    )
    assert r.status_code == 202 and r.json["status"] == "accepted", r.body
    return order_id


def refund(client: Client, stack: Container, member: Member, order_id: str, refund_fen: int) -> None:
    r = post_event(client, stack, "order.refunded", member.member_id, {"order_id": order_id, "refund_fen": refund_fen})
    assert r.status_code == 202 and r.json["status"] == "accepted", r.body


def set_guide_tier(member: Member, tier: int) -> None:
    item = MemberItem.get(balance_pk(member.member_id), MemberItem.SK)
    item.update(actions=[MemberItem.guide_tier.set(tier)])


# --- what a settlement stored ----------------------------------------------------------------------
def run_item(settlement_id: str) -> SettlementRunItem | None:
    kind, _, period = settlement_id.partition("-")
    return SettlementRunItem.get_or_none(f"SETTLEMENT#{kind}#{period}", SettlementRunItem.SK)


def stored_lines(settlement_id: str) -> list[SettlementLineItem]:
    kind, _, period = settlement_id.partition("-")
    return list(SettlementLineItem.query(f"SETTLEMENT#{kind}#{period}", SettlementLineItem.sk.startswith("LINE#")))


def amounts(lines: list[Any]) -> dict[tuple[str, str], int]:
    """``(member, component) -> amount_fen`` of report lines or stored lines; an adjustment
    is keyed ``adjustment:<period>:<component>``."""
    result = {}
    for line in lines:
        get = line.get if isinstance(line, dict) else lambda name, line=line: getattr(line, name)
        member = get("member") if isinstance(line, dict) else get("member_id")
        component, basis = get("component"), get("basis")
        if component == "adjustment":
            component = f"adjustment:{basis['for_period']}:{basis['for_component']}"
        result[(member, component)] = int(get("amount_fen"))
    return result


def wallet_fen(member: Member) -> int:
    wallet = WalletItem.get_or_none(balance_pk(member.member_id), WalletItem.SK)
    return int(wallet.balance_fen) if wallet is not None else 0


def carry_fen(member: Member) -> int:
    carry = CarryItem.get_or_none(balance_pk(member.member_id), CarryItem.SK)
    return int(carry.amount_fen) if carry is not None else 0
