"""Reconciliation (RULES.md 6.1-6.2): every balance equals the sum of its ledger entries,
nothing is negative but a refund debt, and for points and for aibi the money in equals
the money out plus what members hold. Runs as the ``reconcile`` job and after every
test scenario.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..adapters.dynamodb.points import PointsBalanceItem, PointsEntryItem
from ..adapters.dynamodb.wallet import WalletEntryItem, WalletItem
from ..domain import points as p
from ..domain.wallet import CREDIT_KINDS, OUTFLOW_KINDS, WalletEntryKind
from .points_jobs import per_shard
from .points_ledger import balance_pk, load_state


@dataclass
class Reconciliation:
    members: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)

    def report(self) -> dict[str, Any]:
        balances = self.totals["balances"]
        accounted = self.totals["issued"] - self.totals["spent"] - self.totals["expired"] - self.totals["reversed"]
        return {
            "members": self.members,
            "ok": not self.mismatches and accounted == balances,
            "mismatches": self.mismatches[:100],
            "points": {
                "issued": self.totals["issued"],
                "spent": self.totals["spent"],
                "expired": self.totals["expired"],
                "reversed": self.totals["reversed"],
                "sum_of_balances": balances,
                "issued_minus_spent_expired_reversed": accounted,
            },
        }


def reconcile_points() -> dict[str, Any]:
    """RULES.md 6.1-6.2 for points: every balance equals its entries, lots add up, nothing
    negative but a refund debt, and issued - spent - expired - reversed = sum of balances."""
    result = Reconciliation()
    balances = per_shard(
        lambda shard: PointsBalanceItem.population.query(f"MEMBERS#{shard}", PointsBalanceItem.gsi2sk.startswith("B#"))
    )
    for balance in balances:
        result.members += 1
        sums: Counter[str] = Counter()
        for entry in PointsEntryItem.query(balance_pk(balance.member_id), PointsEntryItem.sk.startswith("PLEDGER#")):
            sums["available"] += int(entry.points)
            sums["pending"] += int(entry.pending_delta or 0)
            sums["held"] += int(entry.held_delta or 0)
            sums["lifetime"] += int(entry.lifetime_delta or 0)
            total = int(entry.points) + int(entry.pending_delta or 0) + int(entry.held_delta or 0)
            result.totals[p.category(p.EntryKind(entry.kind), total).value] += abs(total)
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
        if problems:
            result.mismatches.append({"member_id": balance.member_id, "problems": problems})
        result.totals["balances"] += stored.available + stored.pending + stored.held
    return result.report()


def reconcile_wallets() -> dict[str, Any]:
    """Each wallet's balance and held amount equal their entries; credited - paid out -
    captured = sum of balances + held (adjustments count on their side by sign)."""
    members, mismatches = 0, []
    totals: Counter[str] = Counter()
    wallets = per_shard(lambda shard: WalletItem.population.query(f"WALLETS#{shard}"))
    for wallet in wallets:
        members += 1
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
        if problems:
            mismatches.append({"member_id": wallet.member_id, "problems": problems})
        totals["balances"] += int(wallet.balance_fen) + int(wallet.held_fen)
    accounted = totals["credited"] - totals["paid_out"]
    return {
        "members": members,
        "ok": not mismatches and accounted == totals["balances"],
        "mismatches": mismatches[:100],
        "aibi_fen": {
            "credited": totals["credited"],
            "paid_out": totals["paid_out"],
            "sum_of_balances_and_held": totals["balances"],
            "credited_minus_paid_out": accounted,
        },
    }


def reconcile() -> dict[str, Any]:
    points, wallets = reconcile_points(), reconcile_wallets()
    return {"ok": points["ok"] and wallets["ok"], "points": points, "aibi": wallets}


def mismatch_count(report: dict[str, Any]) -> int:
    """Accounts whose balance their entries do not explain, plus one for each failed identity."""
    accounts = len(report["points"]["mismatches"]) + len(report["aibi"]["mismatches"])
    identities = sum(1 for part in ("points", "aibi") if not report[part]["ok"] and not report[part]["mismatches"])
    return accounts + identities
