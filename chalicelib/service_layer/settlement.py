"""The settlement jobs (RULES.md 5.7): load a period's tree and consumption, run the pure
engine, store a draft with its lines and report; finance approves; ``release-rewards``
credits approved lines into wallets exactly once.

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
again with the new volumes and the difference per member and component is added as
``adjustment`` lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.points import PointsBalanceItem, PointsEntryItem, VolumeItem
from ..adapters.dynamodb.settlement import CarryItem, SettlementLineItem, SettlementRunItem
from ..adapters.observability import logger
from ..adapters.snapshots import Snapshot
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import points as points_domain
from ..domain.calendar import Month, Quarter, local_date, start_of_local_day
from ..domain.errors import ConcurrentUpdate, Conflict, InvalidState, NotFound, RuleViolation
from ..domain.settlement import SettlementInput, report, result_to_json, settle
from ..domain.wallet import WalletEntryKind
from .common import audit, retrying
from .points_jobs import per_shard
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


def _run_key(kind: str, period: str) -> tuple[str, str]:
    return f"SETTLEMENT#{kind}#{period}", SettlementRunItem.SK


def months_of(kind: str, period: str) -> list[str]:
    if kind == MONTHLY:
        return [str(Month.parse(period))]
    return [str(month) for month in Quarter.parse(period).months]


def period_end(kind: str, period: str) -> date:
    return Month.parse(period).last_day if kind == MONTHLY else Quarter.parse(period).last_day


def default_period(kind: str, today: date) -> str:
    if kind == MONTHLY:
        return str(Month.of(today).shift(-1))
    return str(Quarter.of(today).shift(-1))


def release_day(kind: str, period: str, rules: Any) -> date:
    end = period_end(kind, period)
    if kind == MONTHLY:
        return Month.of(end).shift(1).first_day + timedelta(days=rules.monthly_release_day - 1)
    return end + timedelta(days=rules.quarterly_release_days_after_end)


# --- loading the period's input -------------------------------------------------------------------
@dataclass(frozen=True)
class Population:
    ids: list[str]
    parent: np.ndarray
    stars: np.ndarray
    guide_tier: np.ndarray
    registration_order: np.ndarray

    @property
    def index(self) -> dict[str, int]:
        return {member_id: i for i, member_id in enumerate(self.ids)}


def lifetime_at_end_of(balance: PointsBalanceItem, month: Month) -> int:
    """Lifetime points when ``month`` ended (stars are "at the end of the period")."""
    opening = balance.opening_month
    if opening is None or opening <= str(month):
        return int(balance.lifetime)
    if opening == str(month.shift(1)):
        return int(balance.opening_lifetime or 0)
    boundary = start_of_local_day(month.shift(1).first_day)
    return sum(
        int(entry.lifetime_delta or 0)
        for entry in PointsEntryItem.query(balance.pk, PointsEntryItem.sk.startswith("PLEDGER#"))
        if entry.created_at < boundary
    )


def load_population(c: Container, last_month: Month) -> Population:
    """Every member with their referrer, their stars at the end of ``last_month`` and their
    guide tier; frozen, pending and closed members stay in the tree but earn nothing."""
    profiles = sorted(
        per_shard(lambda shard: MemberItem.population.query(f"MEMBERS#{shard}", MemberItem.gsi2sk.startswith("P#"))),
        key=lambda m: (m.registered_at, m.member_id),
    )
    balances = {
        b.member_id: b
        for b in per_shard(
            lambda shard: PointsBalanceItem.population.query(
                f"MEMBERS#{shard}", PointsBalanceItem.gsi2sk.startswith("B#")
            )
        )
    }
    ids = [m.member_id for m in profiles]
    index = {member_id: i for i, member_id in enumerate(ids)}
    n = len(ids)
    parent = np.full(n, -1, dtype=np.int64)
    stars = np.zeros(n, dtype=np.int64)
    tiers = np.zeros(n, dtype=np.int64)
    thresholds = c.rules.points.star_thresholds
    for i, member in enumerate(profiles):
        if member.referrer_id and member.status != "pending" and member.referrer_id in index:
            parent[i] = index[member.referrer_id]
        if member.status == "active":
            balance = balances.get(member.member_id)
            lifetime = lifetime_at_end_of(balance, last_month) if balance is not None else 0
            stars[i] = points_domain.stars_for(lifetime, thresholds)
            tiers[i] = int(member.guide_tier or 0)
    return Population(ids, parent, stars, tiers, np.arange(n, dtype=np.int64))


def load_volumes(months: list[str], index: dict[str, int]) -> np.ndarray:
    volumes = np.zeros(len(index), dtype=np.int64)
    for month in months:
        for item in per_shard(lambda shard, month=month: VolumeItem.by_month.query(f"VOLUME#{month}#{shard}")):
            position = index.get(item.member_id)
            if position is None:
                logger.warning("volume of a member outside the population", extra={"month": month})
                continue
            volumes[position] += int(item.paid_fen)
    return volumes


def volumes_changed_since(months: list[str], since: datetime) -> bool:
    marker = iso(since)
    return any(
        next(
            iter(
                per_shard(
                    lambda shard, month=month: VolumeItem.by_month.query(
                        f"VOLUME#{month}#{shard}", VolumeItem.gsi2sk > marker, limit=1
                    )
                )
            ),
            None,
        )
        is not None
        for month in months
    )


def _engine_input(snapshot: Snapshot, volumes: np.ndarray) -> SettlementInput:
    return SettlementInput.from_arrays(
        parent=snapshot.parent,
        stars=snapshot.stars,
        guide_tier=snapshot.guide_tier,
        volumes_fen=volumes,
        registration_order=snapshot.registration_order,
        member_ids=snapshot.ids,
    )


# --- settling a period --------------------------------------------------------------------------------
def check_period(c: Container, kind: str, period: str) -> None:
    today = local_date(c.now())
    if period_end(kind, period) >= today:
        first_day = period_end(kind, period) + timedelta(days=1)
        raise PeriodNotEnded(f"{period} has not ended yet; it can be settled from {first_day.isoformat()}.")


@dataclass(frozen=True)
class _Adjustment:
    run: SettlementRunItem
    snapshot_key: str
    snapshot: Snapshot
    lines: list[dict[str, Any]]


def _adjustments(c: Container, kind: str, period: str, volumes_as_of: datetime) -> list[_Adjustment]:
    """Earlier settled periods whose consumption changed since they were computed."""
    found = []
    for run in SettlementRunItem.history.query(f"SETTLEMENTS#{kind}", SettlementRunItem.gsi3sk < period):
        if run.status not in FINISHED or run.snapshot_key is None:
            continue
        months = months_of(kind, run.period)
        if not volumes_changed_since(months, run.volumes_as_of):
            continue
        snapshot = c.snapshots.load(run.snapshot_key)
        new_volumes = load_volumes(months, {member_id: i for i, member_id in enumerate(snapshot.ids)})
        rules = c.rules.settlement
        before = settle(_engine_input(snapshot, snapshot.volumes_fen), rules, kind, run.period)
        after = settle(_engine_input(snapshot, new_volumes), rules, kind, run.period)
        lines = _differences(before, after, run.period)
        key = f"settlements/{kind}/{run.period}/input-{settlement_id(kind, period)}.npz"
        found.append(_Adjustment(run, key, Snapshot(**{**vars(snapshot), "volumes_fen": new_volumes}), lines))
    return found


def _amounts(result: Any) -> dict[tuple[str, str], int]:
    ids = result.inp.ids
    return {
        (ids[m], name): amount
        for name, award in result.awards.items()
        for m, amount in zip(award.member.tolist(), award.amount_fen.tolist(), strict=True)
    }


def _differences(before: Any, after: Any, source_period: str) -> list[dict[str, Any]]:
    old, new = _amounts(before), _amounts(after)
    lines = []
    for key in sorted(set(old) | set(new)):
        delta = new.get(key, 0) - old.get(key, 0)
        if delta:
            member, component = key
            lines.append(
                {
                    "member": member,
                    "component": "adjustment",
                    "amount_fen": delta,
                    "basis": {
                        "for_period": source_period,
                        "for_component": component,
                        "previous_fen": old.get(key, 0),
                        "recomputed_fen": new.get(key, 0),
                    },
                }
            )
    return lines


def _line_item(kind: str, period: str, line: dict[str, Any]) -> SettlementLineItem:
    member, component = line["member"], line["component"]
    suffix = f"#{line['basis']['for_period']}#{line['basis']['for_component']}" if component == "adjustment" else ""
    return SettlementLineItem(
        pk=f"SETTLEMENT#{kind}#{period}",
        sk=f"LINE#{member}#{component}{suffix}",
        settlement_id=settlement_id(kind, period),
        kind=kind,
        period=period,
        member_id=member,
        component=component,
        amount_fen=int(line["amount_fen"]),
        basis=line["basis"],
        gsi1pk=f"REWARDS#{member}",
        # by the period's last month, so that "2026-10" sorts after "2026-Q3" (which ends in September)
        gsi1sk=f"{months_of(kind, period)[-1]}#{kind}#{component}{suffix}",
    )


def run_settlement(c: Container, kind: str, period: str | None, dry_run: bool) -> dict[str, Any]:
    period = period or default_period(kind, local_date(c.now()))
    check_period(c, kind, period)
    run_pk, run_sk = _run_key(kind, period)
    existing = SettlementRunItem.get_or_none(run_pk, run_sk)
    if existing is not None and existing.status in FINISHED:
        # the stored report says how it was computed; this answer is about this request
        return {
            **(existing.report or {}),
            "settlement_id": existing.settlement_id,
            "status": existing.status,
            "already_settled": True,
            "dry_run": dry_run,
        }
    now = c.now()
    if not dry_run:
        _claim(c, kind, period, existing, now)
    volumes_as_of = c.now() - VOLUMES_MARGIN
    population = load_population(c, Month.parse(months_of(kind, period)[-1]))
    volumes = load_volumes(months_of(kind, period), population.index)
    snapshot = Snapshot(
        population.ids,
        population.parent,
        population.stars,
        population.guide_tier,
        population.registration_order,
        volumes,
    )
    rules = c.rules.settlement
    result = settle(_engine_input(snapshot, volumes), rules, kind, period)
    output = result_to_json(result)
    adjustments = _adjustments(c, kind, period, volumes_as_of)
    lines = output["rewards"] + [line for adjustment in adjustments for line in adjustment.lines]
    adjustment_total = sum(int(line["amount_fen"]) for a in adjustments for line in a.lines)
    summary = {
        "settlement_id": settlement_id(kind, period),
        "kind": kind,
        "period": period,
        "dry_run": dry_run,
        "members": len(population.ids),
        "totals": output["totals"],
        "store_required": output["store_required"],
        "engine": report(result),
        "lines": len(lines),
        "adjustments": {
            "periods": [a.run.period for a in adjustments if a.lines],
            "lines": sum(len(a.lines) for a in adjustments),
            "total_fen": adjustment_total,
        },
        "release_on": release_day(kind, period, rules).isoformat(),
    }
    if dry_run:
        return {**summary, "status": "dry_run", "sample_lines": lines[:SAMPLE_LINES]}
    snapshot_key = f"settlements/{kind}/{period}/input.npz"
    c.snapshots.save(snapshot_key, snapshot)
    for adjustment in adjustments:
        c.snapshots.save(adjustment.snapshot_key, adjustment.snapshot)
    items = [_line_item(kind, period, line) for line in lines]
    with SettlementLineItem.batch_write() as batch:
        if existing is not None:
            # taking over a crashed run: its lines came from older inputs (a refund since),
            # so a line these inputs no longer give must not stay to be paid
            keep = {item.sk for item in items}
            for stale in SettlementLineItem.query(run_pk, SettlementLineItem.sk.startswith("LINE#")):
                if stale.sk not in keep:
                    batch.delete(stale)
        for item in items:
            batch.save(item)
    status = "approved" if rules.auto_approve else "draft"
    _finish(c, kind, period, status, summary, len(lines), snapshot_key, volumes_as_of, adjustments)
    if output["store_required"]:
        c.ops.notify(
            f"Store required after {settlement_id(kind, period)}",
            f"{len(output['store_required'])} members earned more than the store threshold: "
            + ", ".join(output["store_required"][:20]),
            c.now(),
        )
    return {**summary, "status": status, "sample_lines": lines[:SAMPLE_LINES]}


def _claim(c: Container, kind: str, period: str, existing: SettlementRunItem | None, now: datetime) -> None:
    """Take the period: nobody has, or a run started long ago and never finished."""
    if existing is not None and existing.status == "running" and now - existing.started_at < TAKEOVER_AFTER:
        raise SettlementRunning()
    run_pk, run_sk = _run_key(kind, period)
    item = SettlementRunItem(
        pk=run_pk,
        sk=run_sk,
        settlement_id=settlement_id(kind, period),
        kind=kind,
        period=period,
        status="running",
        started_at=now,
        rules_version=c.rules.version,
        gsi3pk=f"SETTLEMENTS#{kind}",
        gsi3sk=period,
    )
    condition = SettlementRunItem.pk.does_not_exist()
    if existing is not None:
        condition = (SettlementRunItem.status == "running") & (SettlementRunItem.started_at == existing.started_at)
    uow = c.uow()
    uow.put(item, condition=condition, on_fail=SettlementRunning())
    uow.commit()


def _finish(
    c: Container,
    kind: str,
    period: str,
    status: str,
    summary: dict[str, Any],
    lines: int,
    snapshot_key: str,
    volumes_as_of: datetime,
    adjustments: list[_Adjustment],
) -> None:
    now = c.now()
    run = SettlementRunItem(pk=_run_key(kind, period)[0], sk=SettlementRunItem.SK)
    uow = c.uow()
    uow.update(
        run,
        [
            SettlementRunItem.status.set(status),
            SettlementRunItem.report.set(summary),
            SettlementRunItem.lines.set(lines),
            SettlementRunItem.snapshot_key.set(snapshot_key),
            SettlementRunItem.volumes_as_of.set(volumes_as_of),
            SettlementRunItem.finished_at.set(now),
            SettlementRunItem.release_on.set(summary["release_on"]),
        ],
        condition=SettlementRunItem.status == "running",
        on_fail=SettlementRunning(),
    )
    for adjustment in adjustments:
        uow.update(
            adjustment.run,
            [
                SettlementRunItem.snapshot_key.set(adjustment.snapshot_key),
                SettlementRunItem.volumes_as_of.set(volumes_as_of),
            ],
            condition=SettlementRunItem.snapshot_key == adjustment.run.snapshot_key,
            on_fail=ConcurrentUpdate(),
        )
    uow.commit()


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
        "approved_by": run.approved_by,
        "approved_at": run.approved_at,
        "released_at": run.released_at,
        "report": run.report or {},
    }


def get_run(identifier: str) -> SettlementRunItem:
    kind, period = parse_id(identifier)
    run = SettlementRunItem.get_or_none(*_run_key(kind, period))
    if run is None:
        raise UnknownSettlement()
    return run


def approve(c: Container, actor: Principal, identifier: str) -> dict[str, Any]:
    run = get_run(identifier)
    if run.status != "draft":
        raise InvalidState(f"This settlement is {run.status}; only a draft can be approved.")
    now = c.now()
    uow = c.uow()
    uow.update(
        run,
        [
            SettlementRunItem.status.set("approved"),
            SettlementRunItem.approved_by.set(actor.subject),
            SettlementRunItem.approved_at.set(now),
        ],
        condition=SettlementRunItem.status == "draft",
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


def release_rewards(c: Container, as_of: date, dry_run: bool) -> dict[str, Any]:
    """Credit every approved settlement whose release day has come (RULES.md 4, 5.7)."""
    due = [
        run
        for kind in (MONTHLY, QUARTERLY)
        for run in SettlementRunItem.history.query(f"SETTLEMENTS#{kind}")
        if run.status == "approved" and run.release_on and date.fromisoformat(run.release_on) <= as_of
    ]
    report_ = {
        "as_of": as_of.isoformat(),
        "dry_run": dry_run,
        "settlements": [],
        "members_credited": 0,
        "credited_fen": 0,
        "carried_fen": 0,
        "forfeited_members": 0,
    }
    # a dry run reports what the real run would do, so it follows the carry-overs it would leave
    planned_carries: dict[str, int] = {}
    for run in due:
        by_member: dict[str, list[SettlementLineItem]] = defaultdict(list)
        for line in SettlementLineItem.query(run.pk, SettlementLineItem.sk.startswith("LINE#")):
            if line.released_at is None:
                by_member[line.member_id].append(line)
        report_["settlements"].append({"settlement_id": run.settlement_id, "members": len(by_member)})
        for member_id in sorted(by_member):
            if dry_run:
                outcome = _release_member(c, run, member_id, planned_carries)
            else:
                outcome = retrying(lambda run=run, member_id=member_id: _release_member(c, run, member_id))
            report_["members_credited"] += 1 if outcome["credited_fen"] > 0 else 0
            report_["credited_fen"] += outcome["credited_fen"]
            report_["carried_fen"] += outcome["carried_fen"]
            report_["forfeited_members"] += outcome["forfeited"]
        if dry_run:
            continue
        uow = c.uow()
        uow.update(
            run,
            [SettlementRunItem.status.set("released"), SettlementRunItem.released_at.set(c.now())],
            condition=SettlementRunItem.status == "approved",
            on_fail=ConcurrentUpdate(),
        )
        uow.commit()
    return report_


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
            run = SettlementRunItem.get_or_none(*_run_key(line.kind, line.period))
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
