"""Hostile input on every wallet and spending route: wrong types, negative, zero and huge
amounts, floats for ``_fen``, unknown fields, bad ids, bad query strings and headers.

Each answer must be a 4xx in the contract's shape ``{"error": {"code", "message"}}``,
never a 5xx, and nothing may change: balances, holds, stock, seats, prize stock and the
reconciliation are the same after the barrage as before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from tests.builders import post_event
from tests.wallet_builders import (
    Desk,
    assert_reconciled,
    give_points,
    open_window,
    person,
    ready_to_withdraw,
    signed,
)

# Values that no amount field may accept: text, floats (even whole ones), bools, nulls,
# containers, zero, negatives and numbers past any limit.
BAD_AMOUNTS: list[Any] = ["100", "10000", 100.0, 10_000.0, 100.5, 1e30, True, None, [100], {"v": 1}, 0, -100, 10**30]
BAD_IDS: list[Any] = [123, None, True, [], {}, "", "x" * 200, "a/b", "ä", "a b", "x\u0000y"]
BAD_TEXT: list[Any] = [123, None, [], {}, "", "x" * 1_000]
BAD_TIMES: list[Any] = [
    "2026-11-23T10:00:00",  # no offset
    "tomorrow",
    1_767_225_600,
    None,
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
    "2026-13-01T00:00:00+08:00",
]
BAD_BODIES: list[bytes] = [b"", b"{", b"[]", b"null", b'"x"', b"1", b"{}x", b'{"a":NaN}', b"\xff\xfe", b"{" * 5_000]
BAD_PATH_IDS = ["x" * 3_000, "%E4%B8%AD" * 300, "%00", "..", "%2F..%2F", "' OR '1'='1", "%F0%9F%92%B0"]
BAD_QUERIES = ["limit=0", "limit=201", "limit=abc", "limit=-1", "limit=1.5", "cursor=garbage", "cursor=" + "x" * 3_000]
BAD_QUERIES += ["unknown=1"]
BAD_KEYS = ["short", "x" * 200, "bad key!", "ключ-ключ-ключ"]


@dataclass
class Route:
    method: str
    path: str  # with {id} where a path id goes
    caller: str  # member | ops | finance | admin | shop
    body: dict[str, Any] | None = None  # a valid body (never sent as is)
    fields: dict[str, list[Any]] = field(default_factory=dict)  # field -> invalid values
    idempotent: bool = False
    query: bool = False
    optional: tuple[str, ...] = ()  # body fields that may be left out


@dataclass
class World:
    client: Any
    stack: Any
    desk: Desk
    member: Any
    ids: dict[str, str]

    def send(self, route: Route, *, path: str | None = None, raw: bytes | None = None, headers=None, query=""):
        path = (path or route.path).format(**self.ids) + (f"?{query}" if query else "")
        if route.caller == "shop":
            return signed(self.client, self.stack, path, raw=raw if raw is not None else b"{}")
        token = self.member.token if route.caller == "member" else self.desk.token(route.caller)
        headers = {"content-type": "application/json", **(headers or {})}
        if route.method == "GET":
            return self.client.get(path, token=token, headers=headers)
        body = raw if raw is not None else b"{}"
        return self.client.request(route.method, path, token=token, body=body, headers=headers)

    def snapshot(self) -> dict[str, Any]:
        me = self.member.me()
        item = self.member.get("/v1/mall/items").json["items"][0]
        prizes = self.member.get(f"/v1/draws/{self.ids['campaign']}").json["prizes"]
        [project] = self.member.get("/v1/charity").json["projects"]
        return {
            "wallet": me["wallet"],
            "points": me["points"],
            "stock": item["stock"],
            "prize_stock": [p["stock"] for p in prizes],
            "seats": project["seats_taken"],
            "withdrawals": [
                (w["status"], w["amount_fen"]) for w in self.member.get("/v1/me/withdrawals").json["withdrawals"]
            ],
            "wallet_entries": len(self.member.get("/v1/me/wallet/ledger?limit=200").json["entries"]),
            "points_entries": len(self.member.get("/v1/me/points/ledger?limit=200").json["entries"]),
        }


@pytest.fixture
def world(client, stack, clock) -> World:
    desk = Desk(client, stack)
    member = person(client, stack)
    ready_to_withdraw(desk, member, 50_000)
    give_points(desk, member, 20_000)
    now = clock.now()
    assert open_window(desk, now - timedelta(minutes=1), now + timedelta(days=1)).status_code == 201
    item = desk.post("/v1/admin/mall/items", "ops", {"name": "米", "options": [{"points": 100}], "stock": 5}).json
    campaign = desk.post(
        "/v1/admin/draws",
        "ops",
        {
            "name": "d",
            "points_per_draw": 100,
            "daily_limit": 3,
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "prizes": [
                {"prize_id": "p", "name": "p", "kind": "aibi", "value": 100, "probability_bp": 5000, "stock": 3}
            ],
        },
    ).json
    project = desk.post("/v1/admin/charity", "ops", {"name": "c", "seats": 4, "points_per_seat": 1_000}).json
    withdrawal = member.post("/v1/me/withdrawals", {"amount_fen": 10_000}).json
    payment = {"order_id": "shop-order-1", "member_id": member.id, "amount_fen": 1_000}
    assert signed(client, stack, "/v1/shop/aibi-payments", payment).status_code == 201
    ids = {
        "item": item["item_id"],
        "campaign": campaign["campaign_id"],
        "project": project["project_id"],
        "withdrawal": withdrawal["withdrawal_id"],
        "order": "shop-order-1",
        "member": member.id,
    }
    return World(client, stack, desk, member, ids)


OPTIONS_BAD: list[Any] = [[], "x", None, [{}], [{"points": -1}], [{"points": 100, "cash_fen": 1.5}]]
OPTIONS_BAD += [[{"points": 100, "extra": 1}], [{"points": 100}] * 11, [{"points": "100"}]]
PRIZE = {"prize_id": "p", "name": "p", "kind": "goods", "value": 0, "probability_bp": 100, "stock": 1}
PRIZES_BAD: list[Any] = [[], None, "p", [{}], [{**PRIZE, "probability_bp": 10_001}], [{**PRIZE, "stock": -1}]]
PRIZES_BAD += [[{**PRIZE, "kind": "car"}], [{**PRIZE, "prize_id": "a b"}], [{**PRIZE, "value": 1.0}]]
PRIZES_BAD += [
    [PRIZE, PRIZE],
    [{**PRIZE, "probability_bp": 6_000}, {**PRIZE, "prize_id": "q", "probability_bp": 4_001}],
]
PRIZES_BAD += [[{**PRIZE, "kind": "points", "value": 0}]]

ROUTES = [
    Route("POST", "/v1/me/exchange", "member", {"points": 100}, {"points": [*BAD_AMOUNTS, 150]}, idempotent=True),
    Route(
        "POST",
        "/v1/me/payout-account",
        "member",
        {"kind": "bank", "account": "6222020000001234", "holder": "张三"},
        {"kind": ["wechat", 1, None], "account": [*BAD_TEXT, "12", "abc", "1" * 65], "holder": BAD_TEXT},
    ),
    Route("POST", "/v1/me/withdrawals", "member", {"amount_fen": 10_000}, {"amount_fen": BAD_AMOUNTS}, idempotent=True),
    Route("GET", "/v1/me/withdrawals", "member", query=True),
    Route("GET", "/v1/me/wallet/ledger", "member", query=True),
    Route("GET", "/v1/mall/items", "member", query=True),
    Route("GET", "/v1/me/mall/orders", "member", query=True),
    Route("GET", "/v1/charity", "member", query=True),
    Route(
        "POST",
        "/v1/me/mall/orders",
        "member",
        {"item_id": "{item}", "option_id": "o1", "quantity": 1},
        {"item_id": [*BAD_IDS, "unknown-item"], "option_id": [*BAD_IDS[:7], "o9"], "quantity": [*BAD_AMOUNTS, 101]},
        idempotent=True,
        optional=("quantity",),
    ),
    Route("GET", "/v1/draws/{campaign}", "member"),
    Route("POST", "/v1/me/draws/{campaign}", "member", idempotent=True),
    Route(
        "POST",
        "/v1/me/charity/{project}",
        "member",
        {"seats": 1},
        {"seats": [*BAD_AMOUNTS, 101, 5]},
        idempotent=True,
        optional=("seats",),
    ),
    Route(
        "POST",
        "/v1/admin/exchange-windows",
        "ops",
        {"starts_at": "2030-01-01T00:00:00+08:00", "ends_at": "2030-01-02T00:00:00+08:00"},
        {"starts_at": BAD_TIMES, "ends_at": [*BAD_TIMES, "2029-12-31T00:00:00+08:00"]},
    ),
    Route("GET", "/v1/admin/withdrawals", "finance", query=True),
    Route(
        "POST",
        "/v1/admin/withdrawals/{withdrawal}/reject",
        "finance",
        {"reason": "r"},
        {"reason": BAD_TEXT},
        idempotent=True,
    ),
    Route(
        "POST",
        "/v1/admin/withdrawals/{withdrawal}/paid",
        "finance",
        {"reference": "r"},
        {"reference": [*BAD_TEXT, "x" * 129]},
        idempotent=True,
    ),
    Route(
        "POST",
        "/v1/admin/mall/items",
        "ops",
        {"name": "n", "options": [{"points": 1}], "stock": 1},
        {"name": BAD_TEXT, "options": OPTIONS_BAD, "stock": [*BAD_AMOUNTS[:-3], -1, 10**30]},
    ),
    Route(
        "PATCH",
        "/v1/admin/mall/items/{item}",
        "ops",
        {"add_stock": 1, "reason": "r"},
        {
            "add_stock": [*(v for v in BAD_AMOUNTS[:-3] if v is not None), -6, 10**30, -(10**30)],
            "reason": BAD_TEXT,
            "options": OPTIONS_BAD[:2] + OPTIONS_BAD[3:],
        },
        optional=("add_stock",),
        idempotent=True,
    ),
    Route("GET", "/v1/admin/mall/items", "ops", query=True),
    Route(
        "POST",
        "/v1/admin/draws",
        "ops",
        {
            "name": "d",
            "points_per_draw": 1,
            "daily_limit": 1,
            "starts_at": "2030-01-01T00:00:00+08:00",
            "ends_at": "2030-01-02T00:00:00+08:00",
            "prizes": [PRIZE],
        },
        {
            "points_per_draw": BAD_AMOUNTS,
            "daily_limit": [*BAD_AMOUNTS, 1_001],
            "starts_at": BAD_TIMES,
            "ends_at": [*BAD_TIMES, "2029-01-01T00:00:00+08:00"],
            "prizes": PRIZES_BAD,
            "name": BAD_TEXT,
        },
    ),
    Route("GET", "/v1/admin/draws/{campaign}/draws", "ops", query=True),
    Route(
        "POST",
        "/v1/admin/charity",
        "ops",
        {"name": "c", "seats": 1, "points_per_seat": 1},
        {"name": BAD_TEXT, "seats": BAD_AMOUNTS, "points_per_seat": BAD_AMOUNTS},
    ),
    Route(
        "POST",
        "/v1/admin/adjustments",
        "finance",
        {"member_id": "{member}", "amount_fen": 1, "reason": "r"},
        {
            "member_id": [*BAD_IDS, "unknown-member"],
            "amount_fen": [*BAD_AMOUNTS[:-3], 0, 10**30, -(10**30), -50_001],
            "reason": BAD_TEXT,
        },
        idempotent=True,
    ),
    Route(
        "POST",
        "/v1/shop/aibi-payments",
        "shop",
        {"order_id": "shop-order-2", "member_id": "{member}", "amount_fen": 1_000},
        {"order_id": BAD_IDS, "member_id": [*BAD_IDS, "unknown-member"], "amount_fen": [*BAD_AMOUNTS, 10**12]},
    ),
    Route(
        "POST",
        "/v1/shop/aibi-payments/{order}/refunds",
        "shop",
        {"refund_id": "rf-1", "amount_fen": 100},
        {"refund_id": BAD_IDS, "amount_fen": BAD_AMOUNTS},
    ),
    Route("POST", "/v1/shop/aibi-payments/{order}/capture", "shop"),
    Route("POST", "/v1/shop/aibi-payments/{order}/void", "shop"),
]


def hostile_requests(route: Route):
    """(label, keyword arguments for World.send) for every hostile variant of a route."""
    if route.body is not None:
        for name, values in route.fields.items():
            for value in values:
                yield f"{name}={value!r:.40}", {"raw": json.dumps({**route.body, name: value}).encode()}
        yield "unknown field", {"raw": json.dumps({**route.body, "admin": True}).encode()}
        for name in route.body:
            if name not in route.optional:
                rest = {k: v for k, v in route.body.items() if k != name}
                yield f"without {name}", {"raw": json.dumps(rest).encode()}
        for raw in BAD_BODIES:
            if raw or not set(route.body) <= set(route.optional):  # no body is {} and may be valid
                yield f"body {raw[:12]!r}", {"raw": raw}
    if "{" in route.path:
        for bad in BAD_PATH_IDS:
            path = route.path
            for name in ("item", "campaign", "project", "withdrawal", "order"):
                path = path.replace("{" + name + "}", bad)
            yield f"path id {bad[:20]}", {"path": path}
    if route.query:
        for query in BAD_QUERIES:
            yield f"query {query[:30]}", {"query": query}
    if route.idempotent:
        valid = json.dumps(route.body).encode() if route.body is not None else None
        for key in BAD_KEYS:
            yield f"key {key[:12]}", {"headers": {"Idempotency-Key": key}, "raw": valid}


def fill_ids(world: World, kwargs: dict[str, Any]) -> dict[str, Any]:
    raw = kwargs.get("raw")
    if raw:
        for name, value in world.ids.items():
            raw = raw.replace(("{" + name + "}").encode(), value.encode())
        kwargs = {**kwargs, "raw": raw}
    return kwargs


def is_contract_error(response) -> bool:
    try:
        body = response.json
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        set(body) == {"error"}
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


CALLERS = {"member": ("member",), "staff": ("ops", "finance", "admin"), "shop": ("shop",)}


@pytest.mark.parametrize("callers", list(CALLERS))
def test_hostile_input_gets_a_contract_4xx_and_changes_nothing(world, callers):
    # one world per kind of caller: building it is what costs, a request is cheap
    before = world.snapshot()
    wrong = []
    for route in (r for r in ROUTES if r.caller in CALLERS[callers]):
        for label, kwargs in hostile_requests(route):
            response = world.send(route, **fill_ids(world, kwargs))
            if not (400 <= response.status_code < 500 and is_contract_error(response)):
                wrong.append((route.method, route.path, label, response.status_code, response.body[:200]))
    assert wrong == [], "\n".join(map(str, wrong))
    assert world.snapshot() == before
    assert_reconciled()


def test_payment_events_with_hostile_order_ids_change_nothing(world):
    before = world.snapshot()
    wrong = []
    for order_id in [*BAD_IDS, "unknown-order", world.ids["order"]]:
        for type_ in ("payment.succeeded", "payment.failed"):
            response = post_event(world.client, world.stack, type_, world.member.id, {"order_id": order_id})
            if not (400 <= response.status_code < 500 and is_contract_error(response)):
                wrong.append((type_, order_id, response.status_code, response.body[:200]))
    assert wrong == []
    assert world.snapshot() == before
    assert_reconciled()


def test_member_routes_refuse_staff_and_staff_routes_refuse_members(world):
    wrong = []
    for route in ROUTES:
        if route.caller == "shop":
            continue
        caller = "ops" if route.caller == "member" else "member"
        token = world.member.token if caller == "member" else world.desk.token(caller)
        path = route.path.format(**world.ids)
        body = json.dumps(route.body or {}).replace("{member}", world.ids["member"]).encode()
        response = world.client.request(
            route.method, path, token=token, body=body, headers={"content-type": "application/json"}
        )
        if response.status_code not in (401, 403) or not is_contract_error(response):
            wrong.append((route.method, route.path, response.status_code))
    assert wrong == []
