"""Reconciliation (RULES.md 6.1-6.2): every balance equals the sum of its ledger entries,
nothing is negative but a refund debt, and for points and for aibi the money in equals
the money out plus what members hold. Runs as the ``reconcile`` job (planned over the
populations, one unit per batch of accounts) and, in process, after every test scenario.

A unit reads its accounts in one BatchGetItem and then one Query of entries per account;
it adds its totals to the run and keeps its mismatches, and ``finish`` compares the
identities once every unit is done.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..adapters.dynamodb.points import PointsBalanceItem, PointsEntryItem
from ..adapters.dynamodb.wallet import WalletEntryItem, WalletItem
from ..domain import points as p
from ..domain.job_runs import Plan, UnitResult, chunks
from ..domain.wallet import CREDIT_KINDS, OUTFLOW_KINDS, WalletEntryKind
from .points_jobs import per_shard
from .points_ledger import balance_pk, load_state

POINTS, AIBI = "points", "aibi"
MISMATCHES_SHOWN = 100
_POINTS_TOTALS = ("issued", "spent", "expired", "reversed", "balances")
_AIBI_TOTALS = ("credited", "paid_out", "balances")


def plan() -> Plan:
    points = per_shard(
        lambda shard: PointsBalanceItem.population.query(
            f"MEMBERS#{shard}", PointsBalanceItem.gsi2sk.startswith("B#"), attributes_to_get=["member_id"]
        )
    )
    wallets = per_shard(
        lambda shard: WalletItem.population.query(f"WALLETS#{shard}", attributes_to_get=["member_id"])
    )
    units = [{"part": POINTS, "members": chunk} for chunk in chunks(sorted(b.member_id for b in points))]
    units += [{"part": AIBI, "members": chunk} for chunk in chunks(sorted(w.member_id for w in wallets))]
    return Plan({}, units)


def work(unit: dict[str, Any]) -> UnitResult:
    part, members = unit["part"], unit["members"]
    totals: Counter[str] = Counter()
    notes = []
    model = PointsBalanceItem if part == POINTS else WalletItem
    check = _check_points if part == POINTS else _check_wallet
    for account in model.batch_get([(balance_pk(member_id), model.SK) for member_id in members]):
        totals["members"] += 1
        problems = check(account, totals)
        if problems:
            totals["mismatched"] += 1
            notes.append({"part": part, "member_id": account.member_id, "problems": problems})
    names = ("members", "mismatched", *(_POINTS_TOTALS if part == POINTS else _AIBI_TOTALS))
    return UnitResult({f"{part}_{name}": totals[name] for name in names}, notes)


def _check_points(balance: PointsBalanceItem, totals: Counter[str]) -> list[str]:
    sums: Counter[str] = Counter()
    for entry in PointsEntryItem.query(balance_pk(balance.member_id), PointsEntryItem.sk.startswith("PLEDGER#")):
        sums["available"] += int(entry.points)
        sums["pending"] += int(entry.pending_delta or 0)
        sums["held"] += int(entry.held_delta or 0)
        sums["lifetime"] += int(entry.lifetime_delta or 0)
        total = int(entry.points) + int(entry.pending_delta or 0) + int(entry.held_delta or 0)
        totals[p.category(p.EntryKind(entry.kind), total).value] += abs(total)
        if entry.kind == p.EntryKind.REVERSE:
            sums["reversed"] += -int(entry.points)
    stored = load_state(balance)
    problems = [
        f"{name} {getattr(stored, name)} != entries {sums[name]}"
        for name in ("available", "pending", "held", "lifetime")
        if getattr(stored, name) != sums[name]
    ]
    if stored.available < 0 and -stored.available > sums["reversed"]:
        problems.append(f"debt {-stored.available} is larger than all reversals {sums['reversed']}")
    totals["balances"] += stored.available + stored.pending + stored.held
    return problems


def _check_wallet(wallet: WalletItem, totals: Counter[str]) -> list[str]:
    balance = held = 0
    for entry in WalletEntryItem.query(balance_pk(wallet.member_id), WalletEntryItem.sk.startswith("WLEDGER#")):
        amount, held_delta = int(entry.amount_fen), int(entry.held_delta_fen or 0)
        balance, held = balance + amount, held + held_delta
        kind = WalletEntryKind(entry.kind)
        if kind in CREDIT_KINDS or (kind is WalletEntryKind.ADJUST and amount > 0):
            totals["credited"] += amount
        elif kind in OUTFLOW_KINDS or kind is WalletEntryKind.ADJUST:
            totals["paid_out"] += -(amount + held_delta)
    problems = []
    if balance != int(wallet.balance_fen) or held != int(wallet.held_fen):
        problems.append(f"wallet {wallet.balance_fen}/{wallet.held_fen} != entries {balance}/{held}")
    if int(wallet.balance_fen) < 0 or int(wallet.held_fen) < 0 or int(wallet.open_withdrawals) < 0:
        problems.append("negative wallet")
    totals["balances"] += int(wallet.balance_fen) + int(wallet.held_fen)
    return problems


def finish(counts: dict[str, int], notes: list[dict[str, Any]]) -> dict[str, Any]:
    """The report from every unit's totals and the findings of the units that kept some."""
    def total(name: str) -> int:
        return int(counts.get(name, 0))

    def mismatches(part: str) -> list[dict[str, Any]]:
        found = sorted((n for n in notes if n["part"] == part), key=lambda n: n["member_id"])
        return [{"member_id": n["member_id"], "problems": list(n["problems"])} for n in found]

    points_mismatches, aibi_mismatches = mismatches(POINTS), mismatches(AIBI)
    balances = total("points_balances")
    accounted = total("points_issued") - total("points_spent") - total("points_expired") - total("points_reversed")
    points = {
        "members": total("points_members"),
        "ok": total("points_mismatched") == 0 and accounted == balances,
        "mismatches": points_mismatches[:MISMATCHES_SHOWN],
        "points": {
            "issued": total("points_issued"),
            "spent": total("points_spent"),
            "expired": total("points_expired"),
            "reversed": total("points_reversed"),
            "sum_of_balances": balances,
            "issued_minus_spent_expired_reversed": accounted,
        },
    }
    credited_minus_paid = total("aibi_credited") - total("aibi_paid_out")
    aibi = {
        "members": total("aibi_members"),
        "ok": total("aibi_mismatched") == 0 and credited_minus_paid == total("aibi_balances"),
        "mismatches": aibi_mismatches[:MISMATCHES_SHOWN],
        "aibi_fen": {
            "credited": total("aibi_credited"),
            "paid_out": total("aibi_paid_out"),
            "sum_of_balances_and_held": total("aibi_balances"),
            "credited_minus_paid_out": credited_minus_paid,
        },
    }
    return {"ok": points["ok"] and aibi["ok"], "points": points, "aibi": aibi}


def reconcile() -> dict[str, Any]:
    """The whole reconciliation in this process (the tests' check after every scenario):
    the same plan, units and finish as the job."""
    counts: Counter[str] = Counter()
    notes: list[dict[str, Any]] = []
    for unit in plan().units:
        result = work(unit)
        counts.update(result.counts)
        notes.extend(result.notes)
    return finish(counts, notes)


def mismatch_count(report: dict[str, Any]) -> int:
    """Accounts whose balance their entries do not explain, plus one for each failed identity."""
    accounts = len(report["points"]["mismatches"]) + len(report["aibi"]["mismatches"])
    identities = sum(1 for part in ("points", "aibi") if not report[part]["ok"] and not report[part]["mismatches"])
    return accounts + identities
