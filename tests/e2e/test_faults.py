"""Every money and stock path under DynamoDB faults injected at botocore's send step
(``tests.faults``): never a 5xx other than the deliberate 503, each effect exactly once,
and a retry with the same key answers the first outcome.

Each path is driven through HTTP once per fault, on a fresh target and with a new key:

- the response lost after the commit, on every try botocore makes (the unit of work
  re-sends the same transaction under its token and learns it committed);
- ``TransactionInProgressException`` after the commit (the same);
- the connection broken before sending, on every try of botocore (nothing applied; the
  re-send applies it once);
- throttling among the cancellation reasons (retried like a lost race);
- the response lost forever (the outcome stays unknown: a keyed call answers its stored
  outcome, or 503 ``outcome_unknown`` and the client's retry gets the first outcome);
- throttling that does not stop (503 ``service_unavailable`` with Retry-After, nothing
  written; the retry once it stops applies it once);
- every read throttled (503 ``service_unavailable``, nothing written).
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import app  # noqa: F401  (declares every route)
from chalicelib.entrypoints.http import ROUTES
from chalicelib.local.gateway import HttpResponse
from chalicelib.service_layer.jobs import JOBS
from tests.builders import order_paid, post_event
from tests.faults import FOREVER, SDK_TRIES, FaultLayer, install
from tests.wallet_builders import (
    Desk,
    Person,
    assert_reconciled,
    error_code,
    give_aibi,
    give_points,
    open_window,
    person,
    ready_to_withdraw,
    signed,
)

DUPLICATE = {"status": "duplicate"}


@dataclass(frozen=True)
class Mode:
    name: str
    kind: str
    times: int
    operation: str = "TransactWriteItems"
    # what the first answer may be besides success
    refusal: str | None = None


MODES = (
    Mode("response lost after the commit", "lost_after", SDK_TRIES),
    Mode("transaction in progress after the commit", "in_progress", SDK_TRIES),
    Mode("connection broken before sending", "lost_before", SDK_TRIES),
    Mode("throttling among the cancellation reasons", "throttled_cancel", 3),
    Mode("outcome never known", "lost_after", FOREVER, refusal="outcome_unknown"),
    Mode("throttling that does not stop", "throttled_cancel", FOREVER, refusal="service_unavailable"),
    Mode("every read throttled", "throttled", FOREVER, operation="GetItem", refusal="service_unavailable"),
)


@dataclass
class Case:
    """One call of a path on a fresh target: ``send(key)``, and what it must change once."""

    send: Callable[[str | None], HttpResponse]
    measure: Callable[[], Any]
    change: Callable[[Any], Any]
    # what a retry answers, when not the first answer again (an event is then a duplicate)
    replayed: Any = None


@dataclass
class World:
    client: Any
    stack: Any
    clock: Any
    desk: Desk
    member: Person
    other: Desk  # a second person, for what one person may not do alone

    def warm(self) -> None:
        """Fresh tokens and a fresh step-up proof now, so that no sign-in or step-up (with
        its own writes) happens while a fault is armed."""
        for role in ("ops", "finance", "admin"):
            self.desk.token(role)
            self.other.token(role)
        self.member.fresh_proof()


_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def wallet_of(who: Person) -> tuple[int, int]:
    wallet = who.wallet()
    return wallet["balance_fen"], wallet["held_fen"]


def points_of(who: Person) -> tuple[int, int, int]:
    points = who.me()["points"]
    return points["available"], points["pending"], points["held"]


def entries(who: Person, path: str) -> int:
    response = who.get(f"{path}?limit=200")
    assert response.status_code == 200, response.body
    return len(response.json["entries"])


def shift(values: tuple, *deltas: int) -> tuple:
    return tuple(v + d for v, d in zip(values, deltas, strict=True))


# --- the paths ----------------------------------------------------------------------------------
def exchange(w: World) -> Case:
    def measure():
        return (*points_of(w.member), *wallet_of(w.member), entries(w.member, "/v1/me/wallet/ledger"))

    return Case(
        send=lambda key: w.member.post("/v1/me/exchange", {"points": 300}, key=key),
        measure=measure,
        change=lambda m: shift(m, -300, 0, 0, 300, 0, 1),
    )


def withdrawal_request(w: World) -> Case:
    def measure():
        return (*wallet_of(w.member), len(w.member.get("/v1/me/withdrawals").json["withdrawals"]))

    return Case(
        send=lambda key: w.member.post("/v1/me/withdrawals", {"amount_fen": 10_000}, key=key),
        measure=measure,
        change=lambda m: shift(m, -10_000, 10_000, 1),
    )


def _withdrawal(w: World) -> str:
    response = w.member.post("/v1/me/withdrawals", {"amount_fen": 10_000})
    assert response.status_code == 201, response.body
    return response.json["withdrawal_id"]


def _withdrawal_state(w: World, withdrawal_id: str) -> str:
    [found] = [x for x in w.member.get("/v1/me/withdrawals").json["withdrawals"] if x["withdrawal_id"] == withdrawal_id]
    return found["status"]


def _review(w: World, withdrawal_id: str, step: str, body: dict, key: str, role: str = "finance") -> HttpResponse:
    return w.desk.post(
        f"/v1/admin/withdrawals/{withdrawal_id}/{step}", role, body, headers={"Idempotency-Key": key}
    )


def withdrawal_approve(w: World) -> Case:
    withdrawal_id = _withdrawal(w)
    return Case(
        send=lambda key: _review(w, withdrawal_id, "approve", {"reason": "checked"}, key),
        measure=lambda: (*wallet_of(w.member), _withdrawal_state(w, withdrawal_id)),
        change=lambda m: (m[0], m[1], "approved"),
    )


def withdrawal_paid(w: World) -> Case:
    withdrawal_id = _withdrawal(w)
    # approved by one person, paid by another (four eyes)
    assert _review(w, withdrawal_id, "approve", {"reason": "checked"}, new_id("approve"), "admin").status_code == 200
    reference = new_id("BANK")
    return Case(
        send=lambda key: _review(w, withdrawal_id, "paid", {"reference": reference}, key),
        measure=lambda: (*wallet_of(w.member), _withdrawal_state(w, withdrawal_id)),
        change=lambda m: (m[0], m[1] - 10_000, "paid"),
    )


def withdrawal_reject(w: World) -> Case:
    withdrawal_id = _withdrawal(w)
    return Case(
        send=lambda key: _review(w, withdrawal_id, "reject", {"reason": "name differs"}, key),
        measure=lambda: (*wallet_of(w.member), _withdrawal_state(w, withdrawal_id)),
        change=lambda m: (m[0] + 10_000, m[1] - 10_000, "rejected"),
    )


def _item(w: World, stock: int) -> str:
    options = [{"points": 500}, {"points": 40, "cash_fen": 6_000}]
    response = w.desk.post("/v1/admin/mall/items", "ops", {"name": new_id("米"), "options": options, "stock": stock})
    assert response.status_code == 201, response.body
    return response.json["item_id"]


def _stock(w: World, item_id: str) -> int:
    [item] = [i for i in w.member.get("/v1/mall/items?limit=100").json["items"] if i["item_id"] == item_id]
    return item["stock"]


def _orders(w: World) -> list[dict]:
    return w.member.get("/v1/me/mall/orders?limit=100").json["orders"]


def mall_checkout(w: World) -> Case:
    item_id = _item(w, 5)
    return Case(
        send=lambda key: w.member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o1"}, key=key),
        measure=lambda: (*points_of(w.member), _stock(w, item_id), len(_orders(w))),
        change=lambda m: shift(m, -500, 0, 0, -1, 1),
    )


def _pending_order(w: World) -> tuple[str, str]:
    item_id = _item(w, 5)
    response = w.member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2"})
    assert response.status_code == 201 and response.json["state"] == "pending", response.body
    return item_id, response.json["order_id"]


def _order_state(w: World, order_id: str) -> str:
    [order] = [o for o in _orders(w) if o["order_id"] == order_id]
    return order["state"]


def _payment(w: World, type_: str, order_id: str, event_id: str) -> HttpResponse:
    return post_event(w.client, w.stack, type_, w.member.id, {"order_id": order_id}, event_id=event_id)


def mall_capture(w: World) -> Case:
    item_id, order_id = _pending_order(w)
    return Case(
        send=lambda key: _payment(w, "payment.succeeded", order_id, key),
        measure=lambda: (*points_of(w.member), _stock(w, item_id), _order_state(w, order_id)),
        change=lambda m: (m[0], m[1], m[2] - 40, m[3], "posted"),
        replayed=DUPLICATE,
    )


def mall_release(w: World) -> Case:
    item_id, order_id = _pending_order(w)
    return Case(
        send=lambda key: _payment(w, "payment.failed", order_id, key),
        measure=lambda: (*points_of(w.member), _stock(w, item_id), _order_state(w, order_id)),
        change=lambda m: (m[0] + 40, m[1], m[2] - 40, m[3] + 1, "voided"),
        replayed=DUPLICATE,
    )


def order_paid_event(w: World) -> Case:
    def measure():
        return (*points_of(w.member), entries(w.member, "/v1/me/points/ledger"))

    # 100 yuan paid earns 100 points, pending until the order can no longer be returned
    order_id, at = new_id("order"), w.clock.now().isoformat()
    return Case(
        send=lambda key: order_paid(w.client, w.stack, w.member.id, order_id, 10_000, event_id=key, occurred_at=at),
        measure=measure,
        change=lambda m: shift(m, 0, 100, 0, 1),
        replayed=DUPLICATE,
    )


def _campaign(w: World, prize: dict) -> str:
    now = w.clock.now()
    body = {
        "name": new_id("抽奖"),
        "points_per_draw": 100,
        "daily_limit": 3,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=3)).isoformat(),
        "prizes": [prize],
    }
    response = w.desk.post("/v1/admin/draws", "ops", body)
    assert response.status_code == 201, response.body
    return response.json["campaign_id"]


def draw(w: World) -> Case:
    prize = {"prize_id": "none", "name": "谢谢参与", "kind": "points", "value": 1, "probability_bp": 0, "stock": 1}
    campaign = _campaign(w, prize)
    return Case(
        send=lambda key: w.member.post(f"/v1/me/draws/{campaign}", key=key),
        measure=lambda: (*points_of(w.member), entries(w.member, "/v1/me/points/ledger")),
        change=lambda m: shift(m, -100, 0, 0, 1),
    )


def _prize_drawn(w: World, kind: str, value: int, change: Callable[[Any], Any]) -> Case:
    # won on every draw (10 000 basis points): the prize's stock and its credit move each time
    prize = {"prize_id": "sure", "name": "必中", "kind": kind, "value": value, "probability_bp": 10_000, "stock": 5}
    campaign = _campaign(w, prize)

    def measure():
        [stock] = [p["stock"] for p in w.member.get(f"/v1/draws/{campaign}").json["prizes"]]
        ledgers = (entries(w.member, "/v1/me/points/ledger"), entries(w.member, "/v1/me/wallet/ledger"))
        return (*points_of(w.member), *wallet_of(w.member), *ledgers, stock)

    return Case(send=lambda key: w.member.post(f"/v1/me/draws/{campaign}", key=key), measure=measure, change=change)


def draw_points_prize(w: World) -> Case:
    # 100 points paid and 50 won: two points entries, one prize out of stock
    return _prize_drawn(w, "points", 50, lambda m: shift(m, -50, 0, 0, 0, 0, 2, 0, -1))


def draw_aibi_prize(w: World) -> Case:
    # 100 points paid (a points entry), 3 aibi won (a wallet entry), one prize out of stock
    return _prize_drawn(w, "aibi", 300, lambda m: shift(m, -100, 0, 0, 300, 0, 1, 1, -1))


def _project(w: World, project: str) -> dict:
    [found] = [p for p in w.member.get("/v1/charity?limit=100").json["projects"] if p["project_id"] == project]
    return found


def charity_pledge_that_fills(w: World) -> Case:
    response = w.desk.post("/v1/admin/charity", "ops", {"name": new_id("满员"), "seats": 3, "points_per_seat": 200})
    assert response.status_code == 201, response.body
    project = response.json["project_id"]
    assert w.member.post(f"/v1/me/charity/{project}", {"seats": 2}).status_code == 201
    return Case(
        send=lambda key: w.member.post(f"/v1/me/charity/{project}", {"seats": 1}, key=key),
        measure=lambda: (*points_of(w.member), _project(w, project)["seats_taken"], _project(w, project)["full"]),
        change=lambda m: (*shift(m[:4], -200, 0, 0, 1), True),
    )


def charity_pledge(w: World) -> Case:
    response = w.desk.post("/v1/admin/charity", "ops", {"name": new_id("爱心"), "seats": 3, "points_per_seat": 200})
    assert response.status_code == 201, response.body
    project = response.json["project_id"]

    def seats_taken():
        [found] = [p for p in w.member.get("/v1/charity?limit=100").json["projects"] if p["project_id"] == project]
        return found["seats_taken"]

    return Case(
        send=lambda key: w.member.post(f"/v1/me/charity/{project}", {"seats": 1}, key=key),
        measure=lambda: (*points_of(w.member), seats_taken()),
        change=lambda m: shift(m, -200, 0, 0, 1),
    )


def _shop(w: World, path: str, body: dict | None = None) -> HttpResponse:
    return signed(w.client, w.stack, f"/v1/shop/aibi-payments{path}", body)


def shop_hold(w: World) -> Case:
    return Case(
        send=lambda key: _shop(w, "", {"order_id": key, "member_id": w.member.id, "amount_fen": 1_000}),
        measure=lambda: wallet_of(w.member),
        change=lambda m: shift(m, -1_000, 1_000),
    )


def _shop_order(w: World, capture: bool) -> str:
    order_id = new_id("shop")
    assert _shop(w, "", {"order_id": order_id, "member_id": w.member.id, "amount_fen": 1_000}).status_code == 201
    if capture:
        assert _shop(w, f"/{order_id}/capture").status_code == 200
    return order_id


def shop_capture(w: World) -> Case:
    order_id = _shop_order(w, capture=False)
    return Case(
        send=lambda key: _shop(w, f"/{order_id}/capture"),
        measure=lambda: wallet_of(w.member),
        change=lambda m: shift(m, 0, -1_000),
    )


def shop_void(w: World) -> Case:
    order_id = _shop_order(w, capture=False)
    return Case(
        send=lambda key: _shop(w, f"/{order_id}/void"),
        measure=lambda: (*wallet_of(w.member), entries(w.member, "/v1/me/wallet/ledger")),
        change=lambda m: shift(m, 1_000, -1_000, 1),
    )


def shop_refund(w: World) -> Case:
    order_id = _shop_order(w, capture=True)
    return Case(
        send=lambda key: _shop(w, f"/{order_id}/refunds", {"refund_id": key, "amount_fen": 400}),
        measure=lambda: (*wallet_of(w.member), entries(w.member, "/v1/me/wallet/ledger")),
        change=lambda m: shift(m, 400, 0, 1),
    )


def adjustment(w: World) -> Case:
    body = {"member_id": w.member.id, "points": 70, "reason": "goodwill"}
    return Case(
        send=lambda key: w.desk.post("/v1/admin/adjustments", "ops", body, headers={"Idempotency-Key": key}),
        measure=lambda: (*points_of(w.member), entries(w.member, "/v1/me/points/ledger")),
        change=lambda m: shift(m, 70, 0, 0, 1),
    )


def _approval_request(w: World, points: int) -> str:
    body = {"member_id": w.member.id, "points": points, "reason": "campaign correction"}
    asked = w.desk.post("/v1/admin/adjustments", "ops", body, headers={"Idempotency-Key": new_id("approval-ask")})
    assert asked.status_code == 202, asked.body
    return asked.json["approval_id"]


def _approval_state(w: World, approval_id: str) -> str:
    response = w.desk.get(f"/v1/admin/approvals/{approval_id}", "ops")
    assert response.status_code == 200, response.body
    return response.json["status"]


def approval_approve(w: World) -> Case:
    # above what one person may change alone: the second person's approval applies it
    approval_id = _approval_request(w, 30_000)
    return Case(
        send=lambda key: w.other.post(
            f"/v1/admin/approvals/{approval_id}/approve", "ops", {}, headers={"Idempotency-Key": key}
        ),
        measure=lambda: (
            *points_of(w.member),
            entries(w.member, "/v1/me/points/ledger"),
            _approval_state(w, approval_id),
        ),
        change=lambda m: (*shift(m[:4], 30_000, 0, 0, 1), "approved"),
    )


def approval_reject(w: World) -> Case:
    approval_id = _approval_request(w, 30_000)
    return Case(
        send=lambda key: w.other.post(
            f"/v1/admin/approvals/{approval_id}/reject",
            "ops",
            {"reason": "not agreed"},
            headers={"Idempotency-Key": key},
        ),
        measure=lambda: (
            *points_of(w.member),
            entries(w.member, "/v1/me/points/ledger"),
            _approval_state(w, approval_id),
        ),
        change=lambda m: (*m[:4], "rejected"),
    )


def restock(w: World) -> Case:
    item_id = _item(w, 5)
    return Case(
        send=lambda key: w.client.patch(
            f"/v1/admin/mall/items/{item_id}",
            token=w.desk.token("ops"),
            json_body={"add_stock": 7, "reason": "delivery"},
            headers={"Idempotency-Key": key},
        ),
        measure=lambda: _stock(w, item_id),
        change=lambda m: m + 7,
    )


EVENTS = ("POST", "/v1/events")
DRAW = ("POST", "/v1/me/draws/{campaign_id}")
PLEDGE = ("POST", "/v1/me/charity/{project_id}")
SHOP = "/v1/shop/aibi-payments"
WITHDRAWAL = "/v1/admin/withdrawals/{withdrawal_id}"
APPROVAL = "/v1/admin/approvals/{approval_id}"
# each path, the route it drives and how to build a case of it
PATHS: dict[str, tuple[tuple[str, str], Callable[[World], Case]]] = {
    "signed order.paid event": (EVENTS, order_paid_event),
    "exchange": (("POST", "/v1/me/exchange"), exchange),
    "withdrawal request": (("POST", "/v1/me/withdrawals"), withdrawal_request),
    "withdrawal approve": (("POST", f"{WITHDRAWAL}/approve"), withdrawal_approve),
    "withdrawal paid": (("POST", f"{WITHDRAWAL}/paid"), withdrawal_paid),
    "withdrawal reject": (("POST", f"{WITHDRAWAL}/reject"), withdrawal_reject),
    "mall checkout": (("POST", "/v1/me/mall/orders"), mall_checkout),
    "mall capture": (EVENTS, mall_capture),
    "mall release": (EVENTS, mall_release),
    "draw": (DRAW, draw),
    "draw that awards points": (DRAW, draw_points_prize),
    "draw that awards aibi": (DRAW, draw_aibi_prize),
    "charity pledge": (PLEDGE, charity_pledge),
    "charity pledge that fills the project": (PLEDGE, charity_pledge_that_fills),
    "shop aibi hold": (("POST", SHOP), shop_hold),
    "shop aibi capture": (("POST", f"{SHOP}/{{order_id}}/capture"), shop_capture),
    "shop aibi void": (("POST", f"{SHOP}/{{order_id}}/void"), shop_void),
    "shop aibi refund": (("POST", f"{SHOP}/{{order_id}}/refunds"), shop_refund),
    "adjustment": (("POST", "/v1/admin/adjustments"), adjustment),
    "approval request approved": (("POST", f"{APPROVAL}/approve"), approval_approve),
    "approval request rejected": (("POST", f"{APPROVAL}/reject"), approval_reject),
    "restock": (("PATCH", "/v1/admin/mall/items/{item_id}"), restock),
}


@pytest.fixture
def faults(stack, monkeypatch) -> FaultLayer:
    return install(monkeypatch)


@pytest.fixture
def world(client, stack, clock) -> World:
    desk = Desk(client, stack)
    member = person(client, stack)
    ready_to_withdraw(desk, member, 200_000)
    give_points(desk, member, 20_000)
    assert open_window(desk, clock.now(), clock.now() + timedelta(days=1)).status_code == 201
    return World(client, stack, clock, desk, member, Desk(client, stack))


def assert_refused(response: HttpResponse, code: str) -> None:
    assert response.status_code == 503, response.body
    assert error_code(response) == code
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("path", PATHS)
def test_a_money_or_stock_path_applies_once_under_every_fault_and_a_retry_gets_its_first_outcome(
    path, world, faults
):
    for mode in MODES:
        case = PATHS[path][1](world)
        key = new_id(mode.kind)
        world.warm()
        before = case.measure()
        faults.arm(mode.kind, mode.operation, times=mode.times)
        first = case.send(key)
        faults.clear()
        where = f"{path}, {mode.name}"
        if first.status_code == 503:
            assert mode.refusal is not None, f"{where}: {first.body!r}"
            assert_refused(first, mode.refusal)
            if mode.refusal == "service_unavailable":
                assert case.measure() == before, f"{where}: a 503 service_unavailable changed something"
            first = case.send(key)
        assert first.status_code < 300, f"{where}: {first.status_code} {first.body!r}"
        assert case.measure() == case.change(before), where
        again = case.send(key)
        expected = case.replayed if case.replayed is not None else first.json
        assert again.status_code < 300 and again.json == expected, f"{where}: {again.status_code} {again.body!r}"
        assert case.measure() == case.change(before), f"{where}: the retry changed something"
    assert_reconciled()


# --- the payout account: no key, a step-up proof spent in the same transaction --------------------
def _payout_changes(w: World) -> list[str]:
    """The masked accounts of the member's payout-account changes, oldest first."""
    response = w.desk.get(f"/v1/admin/audit?target_id={w.member.id}&limit=200", "admin")
    assert response.status_code == 200, response.body
    return [e["after"]["account"] for e in reversed(response.json["entries"]) if e["action"] == "payout_account.set"]


def _payout_without_proof(w: World, account: str) -> HttpResponse:
    """A change sent without stepping up first (``Person.post`` would prove the phone again)."""
    body = {"kind": "bank", "account": account, "holder": "张三"}
    return w.client.post("/v1/me/payout-account", token=w.member.token, json_body=body)


def test_a_payout_account_change_under_every_fault_is_made_once_and_spends_its_proof_once(world, faults):
    for n, mode in enumerate(MODES):
        account, tail = f"6222 0200 7700 {n:04d}", f"{n:04d}"
        world.warm()
        before = _payout_changes(world)
        faults.arm(mode.kind, mode.operation, times=mode.times)
        first = world.member.post("/v1/me/payout-account", {"kind": "bank", "account": account, "holder": "张三"})
        faults.clear()
        where = mode.name
        if first.status_code == 503:
            assert mode.refusal is not None, f"{where}: {first.body!r}"
            assert_refused(first, mode.refusal)
        if mode.refusal == "service_unavailable":
            # nothing written, the proof unspent: the same change goes through without a new step-up
            assert _payout_changes(world) == before, where
            first = _payout_without_proof(world, account)
        assert first.status_code in (200, 503), f"{where}: {first.status_code} {first.body!r}"
        # made once (an outcome never known was made too: its transaction committed) ...
        after = _payout_changes(world)
        assert len(after) == len(before) + 1 and after[-1].endswith(tail), (where, after[-1])
        # ... and its proof spent with it: another change needs the phone again
        again = _payout_without_proof(world, "6222 0200 7700 9999")
        assert again.status_code == 403 and error_code(again) == "step_up_required", (where, again.body)
        assert _payout_changes(world) == after, where
        world.member.proven_at = None
    assert_reconciled()


# --- the jobs -----------------------------------------------------------------------------------
JOB_MODES = (
    Mode("response lost after the commit", "lost_after", SDK_TRIES),
    Mode("transaction in progress after the commit", "in_progress", SDK_TRIES),
    Mode("throttling that does not stop", "throttled_cancel", FOREVER, refusal="service_unavailable"),
    Mode("outcome never known", "lost_after", FOREVER, refusal="outcome_unknown"),
)


def run_interrupted(w: World, faults: FaultLayer, mode: Mode, job: str, victim: str, **body: Any) -> None:
    """Run a job with a fault on one member's transaction; a fault that outlasts the
    worker's retries leaves the run running with the failure named, and once the fault has
    passed a resume finishes it; then the job runs again."""
    w.warm()
    faults.arm(mode.kind, times=mode.times, contains=victim)
    first = w.desk.run_job(job, "ops", body)
    faults.clear()
    assert first.status_code == 202, first.body
    if mode.refusal is not None and first.run["status"] == "running":
        assert first.run["failures"]["last"]["error"] == mode.refusal, first.run
        assert first.run["failures"]["attempts"] >= 1
        resumed = w.desk.resume_run(first.run["run_id"], "ops")
        assert resumed.run["status"] == "succeeded", resumed.run
    else:
        assert first.run["status"] == "succeeded", (mode.name, first.run)
    rerun = w.desk.run_job(job, "ops", body)
    assert rerun.run["status"] == "succeeded", rerun.run


def kinds(who: Person, path: str) -> list[str]:
    return [entry["kind"] for entry in who.get(f"{path}?limit=200").json["entries"]]


@pytest.mark.parametrize("mode", JOB_MODES, ids=lambda mode: mode.name)
def test_a_release_job_interrupted_by_a_fault_and_run_again_releases_every_pending_point_once(
    client, stack, clock, faults, mode
):
    desk = Desk(client, stack)
    members = [person(client, stack) for _ in range(3)]
    for n, member in enumerate(members, 1):
        assert order_paid(client, stack, member.id, new_id("order"), 10_000 * n).status_code == 202
    w = World(client, stack, clock, desk, members[0], desk)
    run_interrupted(w, faults, mode, "release-pending", members[1].id, as_of="2026-11-30")
    for n, member in enumerate(members, 1):
        assert points_of(member) == (60 + 100 * n, 0, 0), mode.name
        assert kinds(member, "/v1/me/points/ledger").count("release") == 1, mode.name
    assert_reconciled()


@pytest.mark.parametrize("mode", JOB_MODES, ids=lambda mode: mode.name)
def test_a_hold_expiry_job_interrupted_by_a_fault_and_run_again_returns_every_hold_once(
    client, stack, clock, faults, mode
):
    desk = Desk(client, stack)
    members = [person(client, stack) for _ in range(3)]
    w = World(client, stack, clock, desk, members[0], desk)
    item_id = _item(w, 3)
    for member in members:
        give_aibi(desk, member, 5_000)
        order = member.post("/v1/me/mall/orders", {"item_id": item_id, "option_id": "o2"})
        assert order.status_code == 201, order.body
        hold = {"order_id": new_id("shop"), "member_id": member.id, "amount_fen": 2_000}
        assert _shop(w, "", hold).status_code == 201
    assert _stock(w, item_id) == 0
    clock.advance(minutes=31)
    run_interrupted(w, faults, mode, "expire-points", members[1].id)
    assert _stock(w, item_id) == 3, mode.name
    for member in members:
        assert points_of(member) == (60, 0, 0), mode.name
        assert wallet_of(member) == (5_000, 0), mode.name
        assert kinds(member, "/v1/me/points/ledger").count("unhold") == 1, mode.name
        assert kinds(member, "/v1/me/wallet/ledger").count("payment_voided") == 1, mode.name
    assert_reconciled()


# --- without an Idempotency-Key, and what the re-send is --------------------------------------------
@pytest.mark.parametrize("kind", ["lost_after", "in_progress"])
@pytest.mark.parametrize("path", [exchange, withdrawal_request], ids=["exchange", "withdrawal request"])
def test_a_call_without_a_key_whose_commit_is_not_answered_is_applied_once_under_the_same_token(
    path, kind, world, faults
):
    case = path(world)
    world.warm()
    before = case.measure()
    sent_before = len(faults.sent)
    faults.arm(kind, times=SDK_TRIES)
    response = case.send(None)
    faults.clear()
    assert response.status_code < 300, response.body
    assert case.measure() == case.change(before)
    tries = faults.sent[sent_before:]
    # botocore's 4 tries and the unit of work's re-send: one request, one token, never new ids
    assert len(tries) == SDK_TRIES + 1
    assert len({json.loads(body)["ClientRequestToken"] for body in tries}) == 1
    assert len(set(tries)) == 1
    assert_reconciled()


def test_a_call_without_a_key_whose_outcome_stays_unknown_answers_503_and_was_applied_at_most_once(world, faults):
    case = exchange(world)
    world.warm()
    before = case.measure()
    faults.arm("lost_after", times=FOREVER)
    response = case.send(None)
    faults.clear()
    assert_refused(response, "outcome_unknown")
    # the first send committed; nothing after it ran the exchange again
    assert case.measure() == case.change(before)
    assert_reconciled()


# --- reads ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("operation", ["GetItem", "Query"])
def test_a_read_throttled_past_the_sdk_retries_is_503_with_retry_after_on_any_route(operation, world, faults):
    world.warm()
    faults.arm("throttled", operation, times=FOREVER)
    responses = [
        world.member.get("/v1/me/points/ledger"),
        world.member.get("/v1/me/withdrawals"),
        world.desk.get("/v1/admin/withdrawals", "finance"),
    ]
    faults.clear()
    for response in responses:
        assert_refused(response, "service_unavailable")
    assert world.member.get("/v1/me/points/ledger").status_code == 200


def test_a_read_throttled_fewer_times_than_the_sdk_retries_is_answered(world, faults):
    world.warm()
    faults.arm("throttled", "Query", times=SDK_TRIES - 1)
    assert world.member.get("/v1/me/points/ledger").status_code == 200


# --- a throttled burst ------------------------------------------------------------------------------
def test_a_burst_of_200_events_meeting_50_throttled_transactions_applies_each_event_once(client, stack, faults):
    members = [person(client, stack) for _ in range(10)]
    fault = faults.arm("throttled_cancel", times=50)
    at = stack.now().isoformat()

    def send(n):
        member = members[n % 10]
        return order_paid(client, stack, member.id, f"burst-{n}", 1_000, event_id=f"burst-{n}", occurred_at=at)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(200)))
    assert fault.hits == 50
    faults.clear()
    # retried like a lost race; only an event throttled on every attempt is refused, whole
    refused = [n for n, r in enumerate(responses) if r.status_code != 202]
    for n in refused:
        assert_refused(responses[n], "service_unavailable")
    assert len(refused) < 50
    resent = {n: send(n) for n in refused}
    assert all(r.status_code == 202 and r.json == {"status": "accepted"} for r in resent.values())
    # 20 orders of 10 yuan each: 200 points pending per member, nothing twice
    assert [points_of(member) for member in members] == [(60, 200, 0)] * 10
    assert_reconciled()


# --- the matrix is complete ---------------------------------------------------------------------
# Routes that declare ``moves`` and are not driven above, each with why.
ONCE_EARNED = (
    "earns a fixed number of points (the rules', never the caller's) once per member, or once a day for a "
    "sign-in, through a ONCE marker in the route's own transaction: a re-send or retry cannot earn twice"
)
EXEMPT_ROUTES = {
    ("POST", "/v1/auth/register"): ONCE_EARNED,
    ("POST", "/v1/auth/login"): ONCE_EARNED,
    ("POST", "/v1/auth/refresh"): ONCE_EARNED,
    ("PATCH", "/v1/me"): ONCE_EARNED,
    ("POST", "/v1/me/referrer"): ONCE_EARNED,
    ("POST", "/v1/admin/nutritionists/{member_id}/approve"): ONCE_EARNED,
    ("POST", "/v1/admin/red-packets"): (
        "pays each member in its own transaction under a ONCE marker per campaign (a re-run pays nobody twice); "
        "being rewritten as a queue worker (issue 10), whose fault tests come with it"
    ),
}
JOB_ROUTE = ("POST", "/v1/admin/jobs/{job}")
# The job route moves what its jobs move: each job is interrupted by faults in a named test, or exempt.
JOB_FAULT_TESTS = {
    "release-pending": "tests.e2e.test_faults:"
    "test_a_release_job_interrupted_by_a_fault_and_run_again_releases_every_pending_point_once",
    "expire-points": "tests.e2e.test_faults:"
    "test_a_hold_expiry_job_interrupted_by_a_fault_and_run_again_returns_every_hold_once",
    "settle-monthly": "tests.e2e.test_settlement_faults:"
    "test_a_settlement_run_interrupted_by_a_fault_and_run_again_stores_exactly_the_uninterrupted_lines",
    "settle-quarterly": "tests.e2e.test_settlement_faults:"
    "test_a_settlement_run_interrupted_by_a_fault_and_run_again_stores_exactly_the_uninterrupted_lines",
    "release-rewards": "tests.e2e.test_settlement_release:"
    "test_a_release_interrupted_by_a_fault_on_one_member_and_run_again_credits_every_line_once",
}
EXEMPT_JOBS = {
    "reconcile": "reads the ledgers and balances and reports; changes no balance or stock",
    "evaluate-guides": "raises guide tiers; changes no balance or stock",
}
# driven above although they move nothing themselves: the other outcome of a path that does
MATRIX_ROUTES_MOVING_NOTHING = {("POST", f"{APPROVAL}/reject")}


def test_every_route_declared_as_moving_points_aibi_or_stock_is_in_the_fault_matrix_or_exempt_with_a_reason():
    moving = {(spec.method, spec.path) for spec in ROUTES if spec.moves}
    driven = {route for route, _ in PATHS.values()}
    assert moving - driven - set(EXEMPT_ROUTES) - {JOB_ROUTE} == set()
    # no exemption outlives its route, none covers a route the matrix drives, each says why
    assert set(EXEMPT_ROUTES) <= moving and not set(EXEMPT_ROUTES) & driven
    assert all(len(reason) > 20 for reason in EXEMPT_ROUTES.values())
    # a route driven here but not declared would be a money route its declaration forgot
    assert driven - moving == MATRIX_ROUTES_MOVING_NOTHING
    assert JOB_ROUTE in moving


def test_every_job_is_interrupted_by_faults_in_a_named_test_or_exempt_with_a_reason():
    assert set(JOB_FAULT_TESTS) | set(EXEMPT_JOBS) == set(JOBS)
    assert not set(JOB_FAULT_TESTS) & set(EXEMPT_JOBS)
    for job, where in JOB_FAULT_TESTS.items():
        module, _, name = where.partition(":")
        assert callable(getattr(importlib.import_module(module), name, None)), (job, where)
