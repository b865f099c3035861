"""The settlement jobs (RULES.md 5.7): a run (``settlement_run``: load a period's tree and
consumption, run the pure engine, store a draft with its lines and report); finance
approves; ``release-rewards`` credits approved lines into wallets exactly once. This
module holds periods, approval, release and the member's statement, and imports no
numpy, so the API function can serve them without loading the engine.

Idempotent and resumable:
- a run is claimed by a conditional put of its run item (a crashed run is taken over
  after ``TAKEOVER_AFTER``); a finished period is never computed again;
- lines have deterministic keys, so a resumed run rewrites the same lines;
- the run becomes a draft in one transaction that also moves the snapshots of the
  earlier periods it adjusted, so an adjustment is counted once;
- a line is released in the same transaction as the wallet credit, with a condition
  that it was not released before.

A refund (or a late order) that changes a period after it was settled becomes an
adjustment of the next period: the earlier period's stored input (S3 snapshot) is run
again with the new volumes, under the rules version that period was settled with (its
run's ``rules_version``), and the difference per member and component is added as
``adjustment`` lines.

A period is settled under the rules version in effect when it ended (``period_rules``):
its rates, its star thresholds, its release day, whatever version is current when the
job runs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.settlement import CarryItem, SettlementLineItem, SettlementRunItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.approvals import FourEyesRequired
from ..domain.calendar import Month, Quarter, local_date, start_of_local_day
from ..domain.errors import ConcurrentUpdate, Conflict, InvalidState, NotFound, RuleViolation
from ..domain.job_runs import Plan, UnitResult, chunks
from ..domain.rules import Rules
from ..domain.wallet import WalletEntryKind
from .common import audit, retrying
from .points_ledger import balance_pk
from .wallet import MemberWallet

MONTHLY, QUARTERLY = "monthly", "quarterly"
TAKEOVER_AFTER = timedelta(minutes=20)
# A change of consumption takes its time before its transaction commits (within one
# Lambda invocation, 30 s at most): changes up to this long before a run read its volumes
# are looked at again by the next run, which recomputes (a change already included
# then adds nothing).
VOLUMES_MARGIN = timedelta(minutes=5)
FINISHED = ("draft", "approved", "released")
SAMPLE_LINES = 50
AUTO_APPROVAL = "auto-approval"  # approved_by of a run the rules configuration approved


class PeriodNotEnded(RuleViolation):
    """A period can be settled only after it has ended (Asia/Shanghai)."""

    code = "period_not_ended"


class SettlementRunning(Conflict):
    """Another run of this period is in progress."""

    code = "settlement_running"
    default_message = "This period is being settled right now."


class UnknownSettlement(NotFound):
    """No settlement has this id."""

    code = "not_found"
    default_message = "No such settlement."


def settlement_id(kind: str, period: str) -> str:
    return f"{kind}-{period}"


def run_key(kind: str, period: str) -> tuple[str, str]:
    return f"SETTLEMENT#{kind}#{period}", SettlementRunItem.SK


def months_of(kind: str, period: str) -> list[str]:
    if kind == MONTHLY:
        return [str(Month.parse(period))]
    return [str(month) for month in Quarter.parse(period).months]


def period_end(kind: str, period: str) -> date:
    return Month.parse(period).last_day if kind == MONTHLY else Quarter.parse(period).last_day


def period_rules(c: Container, kind: str, period: str) -> Rules:
    """The rules version in effect at the period's last instant: a version that takes effect
    on the 1st of a month first applies to that month."""
    ends = start_of_local_day(period_end(kind, period) + timedelta(days=1))
    return c.rules_registry.at(ends - timedelta(microseconds=1))


def default_period(kind: str, today: date) -> str:
    if kind == MONTHLY:
        return str(Month.of(today).shift(-1))
    return str(Quarter.of(today).shift(-1))


def release_day(kind: str, period: str, rules: Any) -> date:
    end = period_end(kind, period)
    if kind == MONTHLY:
        return Month.of(end).shift(1).first_day + timedelta(days=rules.monthly_release_day - 1)
    return end + timedelta(days=rules.quarterly_release_days_after_end)


# --- periods --------------------------------------------------------------------------------
def check_period(c: Container, kind: str, period: str) -> None:
    today = local_date(c.now())
    if period_end(kind, period) >= today:
        first_day = period_end(kind, period) + timedelta(days=1)
        raise PeriodNotEnded(f"{period} has not ended yet; it can be settled from {first_day.isoformat()}.")


# --- approval and release ------------------------------------------------------------------------------
def parse_id(identifier: str) -> tuple[str, str]:
    """``monthly-2026-10`` -> ``("monthly", "2026-10")``; anything else is unknown."""
    kind, _, period = identifier.partition("-")
    if kind in (MONTHLY, QUARTERLY):
        try:
            months_of(kind, period)
            return kind, period
        except ValueError:
            pass
    raise UnknownSettlement()


def run_view(run: SettlementRunItem) -> dict[str, Any]:
    return {
        "settlement_id": run.settlement_id,
        "kind": run.kind,
        "period": run.period,
        "status": run.status,
        "lines": int(run.lines or 0),
        "release_on": run.release_on,
        "started_by": sorted(run.started_by or ()),
        "approved_by": run.approved_by,
        "approved_at": run.approved_at,
        "released_at": run.released_at,
        "report": run.report or {},
    }


def get_run(identifier: str) -> SettlementRunItem:
    kind, period = parse_id(identifier)
    run = SettlementRunItem.get_or_none(*run_key(kind, period))
    if run is None:
        raise UnknownSettlement()
    return run


def approve(c: Container, actor: Principal, identifier: str) -> dict[str, Any]:
    """Finance's approval of a draft, by someone who did not start (or take over) its run."""
    run = get_run(identifier)
    if run.status != "draft":
        raise InvalidState(f"This settlement is {run.status}; only a draft can be approved.")
    if actor.subject in (run.started_by or set()):
        raise FourEyesRequired("The person who started this run cannot approve it.")
    now = c.now()
    uow = c.uow()
    uow.update(
        run,
        [
            SettlementRunItem.status.set("approved"),
            SettlementRunItem.approved_by.set(actor.subject),
            SettlementRunItem.approved_at.set(now),
        ],
        condition=(SettlementRunItem.status == "draft") & ~SettlementRunItem.started_by.contains(actor.subject),
        on_fail=InvalidState("This settlement changed meanwhile."),
    )
    totals = (run.report or {}).get("totals", {})
    audit(
        uow,
        c,
        actor,
        "settlement.approve",
        "settlement",
        run.settlement_id,
        None,
        {"status": "draft"},
        {"status": "approved", "rewards_fen": totals.get("rewards_fen")},
    )
    uow.commit()
    run.status, run.approved_by, run.approved_at = "approved", actor.subject, now
    return run_view(run)


# --- release-rewards: planned over the due settlements' lines, one unit per batch of members ---
def _due_runs(as_of: date) -> list[SettlementRunItem]:
    return [
        run
        for kind in (MONTHLY, QUARTERLY)
        for run in SettlementRunItem.history.query(f"SETTLEMENTS#{kind}")
        if run.status == "approved" and run.release_on and date.fromisoformat(run.release_on) <= as_of
    ]


def plan_release(c: Container, as_of: date, dry_run: bool) -> Plan:
    """Every approved settlement whose release day has come (RULES.md 4, 5.7): the members
    with unreleased lines, each with the settlements to release in order (a dry run
    follows the carry-overs the real run would leave from one to the next)."""
    due = _due_runs(as_of)
    settlements, by_member = [], defaultdict(list)
    for run in due:
        members = {
            line.member_id
            for line in SettlementLineItem.query(
                run.pk, SettlementLineItem.sk.startswith("LINE#"), attributes_to_get=["member_id", "released_at"]
            )
            if line.released_at is None
        }
        settlements.append({"settlement_id": run.settlement_id, "members": len(members)})
        for member_id in members:
            by_member[member_id].append(run.settlement_id)
    base = {"as_of": as_of.isoformat(), "dry_run": dry_run, "settlements": settlements}
    units = [[[member_id, by_member[member_id]] for member_id in chunk] for chunk in chunks(sorted(by_member))]
    return Plan(base, units)


def release_unit(c: Container, dry_run: bool, unit: list[list[Any]]) -> UnitResult:
    runs: dict[str, SettlementRunItem] = {}
    counts = {"members_credited": 0, "credited_fen": 0, "carried_fen": 0, "forfeited_members": 0}
    for member_id, settlement_ids in unit:
        planned_carries: dict[str, int] = {}
        for identifier in settlement_ids:
            if identifier not in runs:
                runs[identifier] = get_run(identifier)
            run = runs[identifier]
            if dry_run:
                outcome = _release_member(c, run, member_id, planned_carries)
            else:
                outcome = retrying(lambda run=run, member_id=member_id: _release_member(c, run, member_id))
            counts["members_credited"] += 1 if outcome["credited_fen"] > 0 else 0
            counts["credited_fen"] += outcome["credited_fen"]
            counts["carried_fen"] += outcome["carried_fen"]
            counts["forfeited_members"] += outcome["forfeited"]
    return UnitResult(counts)


def finish_release(c: Container, base: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    """Once every member is released: the settlements become released (a run closed twice
    finds them released already)."""
    if not base["dry_run"]:
        for entry in base["settlements"]:
            run = get_run(entry["settlement_id"])
            if run.status != "approved":
                continue
            uow = c.uow()
            uow.update(
                run,
                [SettlementRunItem.status.set("released"), SettlementRunItem.released_at.set(c.now())],
                condition=SettlementRunItem.status == "approved",
                on_fail=ConcurrentUpdate(),
            )
            try:
                uow.commit()
            except ConcurrentUpdate:
                continue  # another closing of the same run marked it first
    names = ("members_credited", "credited_fen", "carried_fen", "forfeited_members")
    return {**base, **{name: int(counts.get(name, 0)) for name in names}}


def _release_member(
    c: Container, run: SettlementRunItem, member_id: str, dry_run_carries: dict[str, int] | None = None
) -> dict[str, int]:
    """Credit (or carry, or forfeit) one member's unreleased lines of ``run`` in one
    transaction; with ``dry_run_carries`` write nothing and record the carry it would leave."""
    lines = [
        line
        for line in SettlementLineItem.query(
            run.pk, SettlementLineItem.sk.startswith(f"LINE#{member_id}#"), consistent_read=True
        )
        if line.released_at is None
    ]
    if not lines:
        return {"credited_fen": 0, "carried_fen": 0, "forfeited": 0}
    now = c.now()
    member = MemberItem.get_or_none(balance_pk(member_id), MemberItem.SK)
    carry = CarryItem.get_or_none(balance_pk(member_id), CarryItem.SK)
    carried_before = int(carry.amount_fen) if carry else 0
    if dry_run_carries is not None:
        carried_before = dry_run_carries.get(member_id, carried_before)
    net = sum(int(line.amount_fen) for line in lines) + carried_before
    forfeited = member is None or member.status == "closed"
    credited = net if net > 0 and not forfeited else 0
    carried = net if net < 0 and not forfeited else 0
    outcome = {"credited_fen": credited, "carried_fen": carried, "forfeited": int(forfeited)}
    if dry_run_carries is not None:
        if not forfeited:
            dry_run_carries[member_id] = carried
        return outcome
    uow = c.uow()
    if credited:
        MemberWallet.of(uow, c, member_id).credit(
            credited, WalletEntryKind.REWARD, run.settlement_id, f"{len(lines)} reward lines"
        )
    if carried:
        uow.put(
            CarryItem(
                pk=balance_pk(member_id), sk=CarryItem.SK, member_id=member_id, amount_fen=carried, updated_at=now
            ),
            condition=CarryItem.pk.does_not_exist() if carry is None else CarryItem.amount_fen == int(carry.amount_fen),
            on_fail=ConcurrentUpdate(),
        )
    elif carry is not None and not forfeited:
        # paid off, exactly or with some left to credit: nothing is carried any more
        uow.delete(carry, condition=CarryItem.amount_fen == int(carry.amount_fen), on_fail=ConcurrentUpdate())
    for line in lines:
        uow.update(
            line,
            [
                SettlementLineItem.released_at.set(now),
                SettlementLineItem.credited_fen.set(int(line.amount_fen) if credited else 0),
            ],
            condition=SettlementLineItem.released_at.does_not_exist(),
            on_fail=ConcurrentUpdate(),
        )
    uow.commit()
    return outcome


def member_rewards(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    """A member's settlement lines with their basis, newest period first; lines of
    settlements not yet approved are shown as ``draft``."""
    statuses: dict[str, str] = {}

    def status_of(line: SettlementLineItem) -> str:
        if line.released_at is not None:
            return "released"
        if line.settlement_id not in statuses:
            run = SettlementRunItem.get_or_none(*run_key(line.kind, line.period))
            statuses[line.settlement_id] = run.status if run else "unknown"
        return statuses[line.settlement_id]

    def view(line: SettlementLineItem) -> dict[str, Any]:
        return {
            "settlement_id": line.settlement_id,
            "kind": line.kind,
            "period": line.period,
            "component": line.component,
            "amount_fen": int(line.amount_fen),
            "basis": line.basis,
            "status": status_of(line),
            "released_at": line.released_at,
        }

    return query_page(
        SettlementLineItem.statement,
        f"REWARDS#{member_id}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=view,
    )
