"""Many signed events for ONE member at the same moment, through the in-process HTTP
client, over moto (serialised by a lock, so conditional writes and transactions are
atomic as in DynamoDB).

Every event is legitimate, so every one must be answered 202: a limit is enforced by a
conditional write and its retry, never by refusing the event for contention alone
(RULES.md 6.3-6.4). Each scenario ends with the reconciliation of RULES.md 6.2.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.builders import assert_points_reconcile, ledger_of, order_paid, points_of, post_event, register

THREADS = 24
WELCOME = 60


@pytest.fixture(autouse=True)
def reconciled(stack):
    yield
    assert_points_reconcile(stack)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def statuses(responses) -> Counter:
    return Counter(
        (r.status_code, (r.json or {}).get("status") or r.json.get("error", {}).get("code")) for r in responses
    )


def test_concurrent_challenge_wins_count_exactly_three(client, stack):
    member = register(client, stack)
    responses = all_at_once(
        [lambda: post_event(client, stack, "challenge.won", member.member_id) for _ in range(THREADS)]
    )
    assert statuses(responses) == {(202, "accepted"): THREADS}
    assert points_of(client, member)["available"] == WELCOME + 3 * 12
    assert [e["rule"] for e in ledger_of(client, member)].count("challenge_win") == 3


def test_concurrent_content_posts_give_exactly_twenty_points(client, stack):
    member = register(client, stack)
    responses = all_at_once(
        [
            lambda: post_event(client, stack, "content.posted", member.member_id, {"kind": "reply"})
            for _ in range(THREADS)
        ]
    )
    assert statuses(responses) == {(202, "accepted"): THREADS}
    assert points_of(client, member)["available"] == WELCOME + 20
    assert sum(e["points"] for e in ledger_of(client, member) if e["rule"] == "content") == 20


@pytest.mark.parametrize(
    ("type_", "data", "expected_pending", "expected_available"),
    [
        ("order.paid", {"order_id": "same-1", "gross_fen": 10_000, "paid_fen": 10_000}, 100, WELCOME),
        ("challenge.won", {}, 0, WELCOME + 12),
        ("survey.completed", {"survey_id": "sv-1"}, 0, WELCOME + 50),
    ],
)
def test_one_event_id_sent_by_ten_threads_is_applied_exactly_once(
    client, stack, type_, data, expected_pending, expected_available
):
    member = register(client, stack)
    occurred = stack.clock.now().isoformat()
    responses = all_at_once(
        [
            lambda: post_event(
                client, stack, type_, member.member_id, data, event_id="the-one-event", occurred_at=occurred
            )
            for _ in range(10)
        ]
    )
    assert statuses(responses) == {(202, "accepted"): 1, (202, "duplicate"): 9}
    points = points_of(client, member)
    assert (points["pending"], points["available"]) == (expected_pending, expected_available)
    assert len(ledger_of(client, member)) == 2 + 1  # register, daily login, this event


def test_concurrent_distinct_purchases_add_up_to_the_exact_pending_total(client, stack):
    member = register(client, stack)
    paid = [(number + 1) * 1_000 + 99 for number in range(THREADS)]  # 10.99, 20.99, ... yuan
    responses = all_at_once(
        [
            lambda number=number, fen=fen: order_paid(client, stack, member.member_id, f"cp-{number}", paid_fen=fen)
            for number, fen in enumerate(paid)
        ]
    )
    assert statuses(responses) == {(202, "accepted"): THREADS}
    # 10 + 20 + ... + 240 whole yuan
    assert points_of(client, member)["pending"] == 10 * THREADS * (THREADS + 1) // 2
    refs = sorted(e["ref"] for e in ledger_of(client, member) if e["rule"] == "purchase")
    assert refs == sorted(f"cp-{number}" for number in range(THREADS))


def test_retried_events_racing_their_first_delivery_are_each_applied_once(client, stack):
    member = register(client, stack)
    occurred = stack.clock.now().isoformat()
    events = (
        [("order.paid", {"order_id": f"rt-{n}", "gross_fen": 5_000, "paid_fen": 5_000}) for n in range(4)]
        + [("event.checked_in", {"event_id": f"salon-{n}"}) for n in range(4)]
        + [("challenge.won", {})] * 4
    )
    calls = [
        lambda number=number, type_=type_, data=data: post_event(
            client, stack, type_, member.member_id, data, event_id=f"retry-{number}", occurred_at=occurred
        )
        for number, (type_, data) in enumerate(events)
        for _ in range(2)
    ]
    responses = all_at_once(calls)
    assert statuses(responses) == {(202, "accepted"): len(events), (202, "duplicate"): len(events)}
    points = points_of(client, member)
    assert points["pending"] == 4 * 50
    assert points["available"] == WELCOME + 4 * 200 + 3 * 12


def test_purchases_refunds_and_capped_events_for_one_member_interleave_without_loss(client, stack):
    member = register(client, stack)
    for number in range(6):
        assert order_paid(client, stack, member.member_id, f"mx-{number}", paid_fen=10_000).status_code == 202
    calls = [
        lambda number=number: post_event(
            client, stack, "order.refunded", member.member_id, {"order_id": f"mx-{number}", "refund_fen": 5_000}
        )
        for number in range(6)
    ]
    calls += [lambda: post_event(client, stack, "challenge.won", member.member_id) for _ in range(6)]
    calls += [
        lambda number=number: order_paid(client, stack, member.member_id, f"mx-new-{number}", paid_fen=3_000)
        for number in range(6)
    ]
    calls += [lambda: post_event(client, stack, "content.posted", member.member_id, {"kind": "post"}) for _ in range(6)]
    responses = all_at_once(calls)
    assert statuses(responses) == {(202, "accepted"): len(calls)}
    points = points_of(client, member)
    # 6 x 100 pending, half of each refunded -> 6 x 50; 6 new orders x 30; 3 wins x 12; 6 posts x 2
    assert points["pending"] == 6 * 50 + 6 * 30
    assert points["available"] == WELCOME + 3 * 12 + 6 * 2


def test_concurrent_requests_each_see_their_own_request(client, stack):
    """The threaded local server and these tests serve requests at once in one process:
    a view must never read another thread's request (its body, its signature, its token).

    Each request is a signed event with its own unknown field, refused before any
    database call with a message naming that field: cheap enough to send thousands.
    """
    import json
    import sys

    from tests.builders import signed_headers

    def answered_itself(number: int) -> bool:
        body = json.dumps(
            {
                "event_id": f"own-{number}",
                "type": "challenge.won",
                "member_id": "nobody",
                "occurred_at": stack.clock.now().isoformat(),
                "data": {},
                f"field_{number}": 1,
            }
        ).encode()
        response = client.post("/v1/events", body=body, headers=signed_headers(stack, "POST", "/v1/events", body))
        return response.status_code == 400 and f"field_{number}:" in response.json["error"]["message"]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, as a busy server would
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(answered_itself, range(4_000)))
    finally:
        sys.setswitchinterval(interval)
    assert answers.count(False) == 0


def test_release_runs_at_once_release_every_item_exactly_once(client, stack):
    """The schedule and an operator may run the job at the same moment: each run reads
    the same due items, and every item must still be released once."""
    import sys

    from chalicelib.service_layer import jobs

    members = [register(client, stack) for _ in range(2)]
    for number in range(20):
        member = members[number % 2]
        assert order_paid(client, stack, member.member_id, f"rl-{number}", paid_fen=1_000).status_code == 202

    request = jobs.JobRequest(as_of=stack.clock.now().date().replace(day=30))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # interleave the runs finely
    try:
        reports = all_at_once([lambda: jobs.JOBS["release-pending"].run(stack, request) for _ in range(3)])
    finally:
        sys.setswitchinterval(interval)

    assert sum(report["released"] for report in reports) == 20
    assert sum(report["points_released"] for report in reports) == 200
    for member in members:
        points = points_of(client, member)
        assert (points["available"], points["pending"], points["lifetime"]) == (WELCOME + 100, 0, WELCOME + 100)


def test_refunds_racing_the_release_job_take_back_each_order_exactly_once(client, stack):
    from chalicelib.service_layer import jobs

    member = register(client, stack)
    orders = [f"rr-{number}" for number in range(8)]
    for order_id in orders:
        assert order_paid(client, stack, member.member_id, order_id, paid_fen=10_000).status_code == 202

    # the return window has passed; the shop refunds every order while the job releases them
    stack.clock.advance(days=8)
    request = jobs.JobRequest()
    calls: list[Callable[[], Any]] = [lambda: jobs.JOBS["release-pending"].run(stack, request)]
    calls += [
        lambda order_id=order_id: post_event(
            client, stack, "order.refunded", member.member_id, {"order_id": order_id, "refund_fen": 10_000}
        )
        for order_id in orders
    ]
    results = all_at_once(calls)

    assert all(response.status_code == 202 for response in results[1:])
    # each order was either cancelled while pending or released and then reversed
    points = points_of(client, member)
    assert (points["available"], points["pending"], points["debt"], points["lifetime"]) == (
        WELCOME,
        0,
        0,
        WELCOME,
    )
    kinds = Counter(e["kind"] for e in ledger_of(client, member) if e["ref"] in orders)
    released = results[0]["released"]
    assert kinds == Counter({"earn": 8, "cancel": 8 - released, "release": released, "reverse": released}) - Counter()


def test_partial_refunds_of_one_order_at_once_never_refund_more_than_was_paid(client, stack):
    referrer = register(client, stack)
    member = register(client, stack, referrer_code=referrer.member_code)
    assert order_paid(client, stack, member.member_id, "pr-1", paid_fen=10_000, gross_fen=12_000).status_code == 202
    assert (points_of(client, member)["pending"], points_of(client, referrer)["pending"]) == (100, 240)

    responses = all_at_once(
        [
            lambda: post_event(
                client, stack, "order.refunded", member.member_id, {"order_id": "pr-1", "refund_fen": 3_000}
            )
            for _ in range(4)
        ]
    )
    # 3 x 30 yuan fit in the 100 paid; the fourth would exceed it
    assert statuses(responses) == {(202, "accepted"): 3, (422, "refund_exceeds_paid"): 1}
    # 10 yuan stay paid: 10 points for the buyer; the referrer keeps 2 x floor(12000 x 1000 / 10000 fen) = 2 x 12
    assert (points_of(client, member)["pending"], points_of(client, referrer)["pending"]) == (10, 24)
