"""Settling a period (RULES.md 5): load the population and the period's consumption,
run the engine under the period's rules version, write the lines and the input snapshot,
price adjustments of earlier periods under their own versions. The only use case that
needs the engine and numpy: it is imported by the jobs that run it, never by the API's or
the authorizer's functions (see ``jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.points import PointsBalanceItem, PointsEntryItem, VolumeItem
from ..adapters.dynamodb.settlement import SettlementLineItem, SettlementRunItem
from ..adapters.observability import logger
from ..adapters.snapshots import Snapshot
from ..bootstrap import Container
from ..domain import points as points_domain
from ..domain.calendar import Month, local_date, start_of_local_day
from ..domain.errors import ConcurrentUpdate
from ..domain.rules import Rules
from ..domain.settlement import SettlementInput, report, result_to_json, settle
from .points_jobs import per_shard
from .settlement import (
    AUTO_APPROVAL,
    FINISHED,
    SAMPLE_LINES,
    TAKEOVER_AFTER,
    VOLUMES_MARGIN,
    SettlementRunning,
    check_period,
    default_period,
    months_of,
    period_rules,
    release_day,
    run_key,
    settlement_id,
)


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


def load_population(last_month: Month, star_thresholds: tuple[int, ...]) -> Population:
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
    for i, member in enumerate(profiles):
        if member.referrer_id and member.status != "pending" and member.referrer_id in index:
            parent[i] = index[member.referrer_id]
        if member.status == "active":
            balance = balances.get(member.member_id)
            lifetime = lifetime_at_end_of(balance, last_month) if balance is not None else 0
            stars[i] = points_domain.stars_for(lifetime, star_thresholds)
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


@dataclass(frozen=True)
class _Adjustment:
    run: SettlementRunItem
    snapshot_key: str
    snapshot: Snapshot
    lines: list[dict[str, Any]]


def _adjustments(c: Container, kind: str, period: str, volumes_as_of: datetime) -> list[_Adjustment]:
    """Earlier settled periods whose consumption changed since they were computed, each
    recomputed under the rules version it was settled with (an unknown one stops the run)."""
    found = []
    for run in SettlementRunItem.history.query(f"SETTLEMENTS#{kind}", SettlementRunItem.gsi3sk < period):
        if run.status not in FINISHED or run.snapshot_key is None:
            continue
        months = months_of(kind, run.period)
        if not volumes_changed_since(months, run.volumes_as_of):
            continue
        rules = c.rules_registry.named(run.rules_version)
        snapshot = c.snapshots.load(run.snapshot_key)
        new_volumes = load_volumes(months, {member_id: i for i, member_id in enumerate(snapshot.ids)})
        before = settle(_engine_input(snapshot, snapshot.volumes_fen), rules.settlement, kind, run.period)
        after = settle(_engine_input(snapshot, new_volumes), rules.settlement, kind, run.period)
        lines = _differences(before, after, run.period, rules.version)
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


def _differences(before: Any, after: Any, source_period: str, rules_version: str) -> list[dict[str, Any]]:
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
                        "rules_version": rules_version,
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


def run_settlement(c: Container, kind: str, period: str | None, dry_run: bool, started_by: str) -> dict[str, Any]:
    period = period or default_period(kind, local_date(c.now()))
    check_period(c, kind, period)
    run_pk, run_sk = run_key(kind, period)
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
    rules = period_rules(c, kind, period)
    if not dry_run:
        _claim(c, kind, period, existing, now, rules, started_by)
    volumes_as_of = c.now() - VOLUMES_MARGIN
    population = load_population(Month.parse(months_of(kind, period)[-1]), rules.points.star_thresholds)
    volumes = load_volumes(months_of(kind, period), population.index)
    snapshot = Snapshot(
        population.ids,
        population.parent,
        population.stars,
        population.guide_tier,
        population.registration_order,
        volumes,
    )
    result = settle(_engine_input(snapshot, volumes), rules.settlement, kind, period)
    output = result_to_json(result)
    adjustments = _adjustments(c, kind, period, volumes_as_of)
    lines = output["rewards"] + [line for adjustment in adjustments for line in adjustment.lines]
    adjustment_total = sum(int(line["amount_fen"]) for a in adjustments for line in a.lines)
    summary = {
        "settlement_id": settlement_id(kind, period),
        "kind": kind,
        "period": period,
        "rules_version": rules.version,
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
        "release_on": release_day(kind, period, rules.settlement).isoformat(),
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
    status = "approved" if rules.settlement.auto_approve else "draft"
    _finish(c, kind, period, now, status, summary, len(lines), snapshot_key, volumes_as_of, adjustments)
    if output["store_required"]:
        c.ops.notify(
            f"Store required after {settlement_id(kind, period)}",
            f"{len(output['store_required'])} members earned more than the store threshold: "
            + ", ".join(output["store_required"][:20]),
            c.now(),
        )
    return {**summary, "status": status, "sample_lines": lines[:SAMPLE_LINES]}


def _claim(
    c: Container,
    kind: str,
    period: str,
    existing: SettlementRunItem | None,
    now: datetime,
    rules: Rules,
    started_by: str,
) -> None:
    """Take the period: nobody has, or a run started long ago and never finished."""
    if existing is not None and existing.status == "running" and now - existing.started_at < TAKEOVER_AFTER:
        raise SettlementRunning()
    run_pk, run_sk = run_key(kind, period)
    item = SettlementRunItem(
        pk=run_pk,
        sk=run_sk,
        settlement_id=settlement_id(kind, period),
        kind=kind,
        period=period,
        status="running",
        started_at=now,
        started_by={started_by, *((existing.started_by or set()) if existing is not None else set())},
        rules_version=rules.version,
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
    started_at: datetime,
    status: str,
    summary: dict[str, Any],
    lines: int,
    snapshot_key: str,
    volumes_as_of: datetime,
    adjustments: list[_Adjustment],
) -> None:
    now = c.now()
    run = SettlementRunItem(pk=run_key(kind, period)[0], sk=SettlementRunItem.SK)
    approval = []
    if status == "approved":
        # the rules configuration approves every run (SettlementRules.auto_approve): say so
        approval = [SettlementRunItem.approved_by.set(AUTO_APPROVAL), SettlementRunItem.approved_at.set(now)]
    uow = c.uow()
    uow.update(
        run,
        [
            *approval,
            SettlementRunItem.status.set(status),
            SettlementRunItem.report.set(summary),
            SettlementRunItem.lines.set(lines),
            SettlementRunItem.snapshot_key.set(snapshot_key),
            SettlementRunItem.volumes_as_of.set(volumes_as_of),
            SettlementRunItem.finished_at.set(now),
            SettlementRunItem.release_on.set(summary["release_on"]),
        ],
        # this run's claim, not one that took the period over after it was thought crashed
        condition=(SettlementRunItem.status == "running") & (SettlementRunItem.started_at == started_at),
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
