"""The settlement runs (``settle-monthly``, ``settle-quarterly``) under DynamoDB faults
injected at botocore's send step (``tests.faults``).

A run claims its period (one transaction), writes its lines in a ``BatchWriteItem``
outside the unit of work (puts of fixed keys: writing one twice changes nothing), then
finishes (one transaction, on the condition that its own claim still stands). Each test
interrupts one of the three steps, runs the job again the way operations would (at once,
then once the crashed run may be taken over) and asserts the lines and totals of an
uninterrupted run, exactly; the monthly one is then approved and released, and pays once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from pynamodb.exceptions import PynamoDBException

from chalicelib.adapters.dynamodb.faults import unavailable
from chalicelib.domain.errors import DomainError
from chalicelib.service_layer.reconcile import reconcile
from chalicelib.service_layer.settlement import TAKEOVER_AFTER
from chalicelib.service_layer.settlement_run import run_settlement
from tests.faults import FOREVER, SDK_TRIES, install
from tests.settlement_builders import (
    Desk,
    amounts,
    buy,
    join,
    run_item,
    set_guide_tier,
    shanghai,
    stored_lines,
    wallet_fen,
)


@dataclass(frozen=True)
class Interruption:
    name: str
    kind: str
    operation: str
    times: int
    contains: str | None
    # the first run's answer: 200, or the 503's code
    first: str | None


CLAIM, FINISH = '"started_by"', '"finished_at"'  # in the claim's put, in the finish's update
TRANSACTION, LINES = "TransactWriteItems", "BatchWriteItem"
UNAVAILABLE = "service_unavailable"
INTERRUPTIONS = (
    Interruption("claim answered after the commit is lost", "lost_after", TRANSACTION, SDK_TRIES, CLAIM, None),
    Interruption("claim whose outcome is never known", "lost_after", TRANSACTION, FOREVER, CLAIM, "outcome_unknown"),
    Interruption("lines written, every answer lost", "lost_after", LINES, FOREVER, None, UNAVAILABLE),
    Interruption("lines never sent", "lost_before", LINES, FOREVER, None, UNAVAILABLE),
    Interruption("lines throttled", "throttled", LINES, FOREVER, None, UNAVAILABLE),
    Interruption("finish throttled, after the lines", "throttled_cancel", TRANSACTION, FOREVER, FINISH, UNAVAILABLE),
    Interruption("finish whose outcome is never known", "lost_after", TRANSACTION, FOREVER, FINISH, "outcome_unknown"),
)
JOBS = {"settle-monthly": ("monthly", "2026-09"), "settle-quarterly": ("quarterly", "2026-Q3")}
# Both kinds share the three steps: the quarter meets one interruption of each (its
# scenario is the slower one), the month all of them.
QUARTER_MEETS = (
    "claim whose outcome is never known",
    "lines written, every answer lost",
    "finish throttled, after the lines",
)
CASES = [("settle-monthly", i) for i in INTERRUPTIONS] + [
    ("settle-quarterly", i) for i in INTERRUPTIONS if i.name in QUARTER_MEETS
]


def september(client, stack, clock, desk, quarter_pool: bool):
    """Earners in September 2026 (the same shape as ``test_settlement_release.october``):
    A (guide tier 1) over groups of 100,000 and 50,000, D over 40,000 and 20,000; with
    ``quarter_pool``, P over 6,000,000 too, which the quarter's pools need."""
    clock.set(shanghai(2026, 9, 5))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    d = join(client, stack)
    d1, d2 = join(client, stack, d), join(client, stack, d)
    for member in (a, d):
        desk.give_points(member, 2_000)
    set_guide_tier(a, 1)
    clock.set(shanghai(2026, 9, 20))
    for member, fen in [(b, 100_000), (c, 50_000), (d1, 40_000), (d2, 20_000)]:
        buy(client, stack, member, fen)
    if quarter_pool:
        p = join(client, stack)
        x = join(client, stack, p)
        desk.give_points(p, 2_000)
        buy(client, stack, x, 6_000_000)
    return a, d


@dataclass(frozen=True)
class Ran:
    report: dict | None
    error: str | None


def run(stack, job, period) -> Ran:
    """The settlement as the job worker runs it for a run of ``job`` (the run around it,
    its queue and its resume are tested in tests/integration/test_job_runs.py): its
    report, or the code of the error that stopped it, as the API would answer it."""
    try:
        return Ran(run_settlement(stack, JOBS[job][0], period, False, "schedule"), None)
    except DomainError as exc:
        return Ran(None, exc.code)
    except PynamoDBException as exc:
        # what the HTTP edge answers for a storage failure (``faults.unavailable``); a bug re-raises
        refused = unavailable(exc)
        if refused is None:
            raise
        return Ran(None, refused.code)


@pytest.mark.parametrize(("job", "interruption"), CASES, ids=[f"{job}, {i.name}" for job, i in CASES])
def test_a_settlement_run_interrupted_by_a_fault_and_run_again_stores_exactly_the_uninterrupted_lines(
    client, stack, clock, monkeypatch, job, interruption
):
    faults = install(monkeypatch)
    desk = Desk(client, stack)
    kind, period = JOBS[job]
    a, d = september(client, stack, clock, desk, quarter_pool=kind == "quarterly")
    settlement = f"{kind}-{period}"
    clock.set(shanghai(2026, 10, 8, 1))
    # what an uninterrupted run computes (a dry run writes nothing)
    dry = desk.job(job, period=period, dry_run=True)
    assert dry["lines"] > 0 and dry["lines"] == len(dry["sample_lines"])
    expected = amounts(dry["sample_lines"])
    desk.token("admin")

    faults.arm(interruption.kind, interruption.operation, times=interruption.times, contains=interruption.contains)
    first = run(stack, job, period)
    faults.clear()
    if interruption.first is None:
        assert first.error is None, first
    else:
        assert first.error == interruption.first, first
        again = run(stack, job, period)
        if run_item(settlement).status == "running":
            # a run that may still be going is not raced; once it may have crashed, it is taken over
            assert again.error == "settlement_running", again
            clock.advance(seconds=int((TAKEOVER_AFTER + timedelta(minutes=1)).total_seconds()))
            again = run(stack, job, period)
        assert again.error is None, again
    report = run(stack, job, period).report
    assert report is not None and report["already_settled"] is True, report
    assert report["totals"] == dry["totals"] and report["lines"] == dry["lines"]
    assert amounts(stored_lines(settlement)) == expected
    assert run_item(settlement).status == "draft"

    if kind == "monthly":
        # 5 % of the groups other than the largest for A and D, A's 2 % guide fee: by hand
        assert expected == {
            (a.member_id, "small_group"): 2_500,
            (a.member_id, "guide_fee"): 3_000,
            (d.member_id, "small_group"): 1_000,
        }
        desk.approve(settlement)
        clock.set(shanghai(2026, 10, 10, 3))
        assert desk.job("release-rewards")["credited_fen"] == 6_500
        assert desk.job("release-rewards")["credited_fen"] == 0
        assert (wallet_fen(a), wallet_fen(d)) == (5_500, 1_000)
    assert reconcile()["ok"]
