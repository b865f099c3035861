"""One trial: a quarter of a population settled by the real engine, and the figures finance reads.

The quarter is three monthly settlements (``small_group``, ``guide_fee``) and one
quarterly settlement (``q1``, ``q10``) of the whole quarter's consumption, each through
``chalicelib.domain.settlement.settle`` with the configured ``SettlementRules`` (so a
payout cap applies per settlement, as in production). The referral forest is numbered
once and shared by the four runs.

Figures of a trial (all over the quarter):

- ``payout_ratio``: rewards of the four settlements / consumption; ``payout_ratio_<c>``
  the same for one component.
- Points cost: ``points_issued`` = purchase points (1 per whole yuan of each member's
  monthly consumption, taken as one order a month, times the birthday multiplier in a
  birth month) + referral first-purchase points (``referral_first_purchase_share`` of
  the quarter's whole yuan, times 2); ``points_value_fen`` their exchange value
  (100 points = 100 fen); ``points_cost_fen`` that value after ``breakage_rate`` of the
  points expire unused. ``points_value_ratio`` is what points are worth to a member per
  fen spent; ``total_cost_ratio`` = (rewards + points cost) / consumption.
- ``members_paid_share``: members with any reward / members. ``store_duty_count``:
  members flagged "store required" by at least one of the four settlements.
  ``top1_share``: rewards of the ceil(1 %) best-paid members / all rewards; ``gini`` and
  the Lorenz curve of the members' quarter rewards (every member counts, paid or not).
- ``max_depth`` / ``mean_depth``: referral levels above a member (a root has depth 0).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.domain.settlement import (
    KIND_COMPONENTS,
    MONTHLY,
    QUARTERLY,
    SettlementInput,
    SettlementResult,
    input_to_json,
    settle,
)
from chalicelib.domain.settlement.tree import Forest

from .config import COMPONENTS, SimulationConfig
from .model import Population

# Population shares at which the Lorenz curve is reported: every percent, and every
# tenth of a percent over the top 5 % where rewards concentrate.
LORENZ_GRID = np.unique(np.round(np.concatenate([np.linspace(0, 1, 101), np.linspace(0.95, 1, 51)]), 6))


@dataclass(frozen=True, eq=False)
class Settlement:
    """One of the four settlements of a quarter."""

    kind: str
    period: str
    volumes_fen: np.ndarray


def quarter_settlements(population: Population, config: SimulationConfig) -> list[Settlement]:
    """The three monthly settlements and the quarterly one, in the order they run."""
    months = [Settlement(MONTHLY, period, population.volumes_fen[k]) for k, period in enumerate(config.months)]
    return [*months, Settlement(QUARTERLY, config.quarter, population.volumes_fen.sum(axis=0))]


def engine_input(population: Population) -> SettlementInput:
    """The population as the engine's input (volumes of the first month; ``with_volumes`` for others)."""
    return SettlementInput.from_arrays(
        parent=population.parent,
        stars=population.stars,
        guide_tier=population.guide_tier,
        volumes_fen=population.volumes_fen[0],
    )


def depths(forest: Forest) -> np.ndarray:
    """The depth of every member (in preorder): how many of the preorder ranges holding it are open.

    At preorder position k, k ranges have opened before it; those that ended at or before
    k no longer hold it. Linear after one sort, whatever the depth.
    """
    position = np.arange(forest.n, dtype=np.int64)
    ends = np.sort(position + forest.size[forest.order])
    return position - np.searchsorted(ends, position, side="right")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def points_cost(population: Population, config: SimulationConfig, consumption_fen: int) -> dict[str, Any]:
    """The points the quarter's consumption issues and what they cost (see the module doc)."""
    earning = config.rules.earning
    wallet = config.rules.wallet
    yuan = population.volumes_fen // 100
    whole_yuan = int(yuan.sum())
    birthday_yuan = int(yuan[population.birthday_month].sum())
    purchase = (whole_yuan + (earning.birthday_month_multiplier - 1) * birthday_yuan) * earning.purchase_points_per_yuan
    first_purchase_yuan = math.floor(config.points_cost.referral_first_purchase_share * whole_yuan)
    referral = first_purchase_yuan * earning.referral_first_purchase_points_per_yuan
    issued = purchase + referral
    value_fen = issued * wallet.fen_per_exchange_unit // wallet.points_per_exchange_unit
    cost_fen = math.floor(value_fen * (1 - config.points_cost.breakage_rate))
    return {
        "points_issued": issued,
        "points_per_yuan": _ratio(issued, consumption_fen / 100),
        "points_value_fen": value_fen,
        "points_value_ratio": _ratio(value_fen, consumption_fen),
        "points_cost_fen": cost_fen,
        "points_cost_ratio": _ratio(cost_fen, consumption_fen),
    }


def _lorenz(member_rewards: np.ndarray) -> tuple[list[float], float]:
    """The Lorenz curve on ``LORENZ_GRID`` and the Gini coefficient of the members' rewards."""
    n = member_rewards.size
    total = int(member_rewards.sum())
    if n == 0 or total == 0:
        return [0.0] * LORENZ_GRID.size, 0.0
    share = np.concatenate(([0.0], np.cumsum(np.sort(member_rewards)) / total))
    curve = np.interp(LORENZ_GRID, np.arange(n + 1) / n, share)
    gini = (n + 1 - 2 * float(share[1:].sum())) / n
    return np.round(curve, 6).tolist(), gini


def _settlement_record(result: SettlementResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "period": result.period,
        "consumption_fen": result.consumption_fen,
        "rewards_fen": result.rewards_fen,
        "rewards_fen_by_component": {name: result.awards[name].total_fen for name in result.components_used},
        "store_required": int(result.store_required.size),
        "scale_factor": None if result.scale_factor is None else str(result.scale_factor),
    }


def run_trial(population: Population, config: SimulationConfig) -> dict[str, Any]:
    """Settle the population's quarter and return the trial's figures, settlements and Lorenz curve."""
    rules = config.rules.settlement
    base = engine_input(population)
    forest = base.forest  # numbered once, reused by every settlement below
    results = [
        settle(base.with_volumes(s.volumes_fen), rules, s.kind, s.period)
        for s in quarter_settlements(population, config)
    ]

    n = population.n
    consumption = results[-1].consumption_fen
    by_component = {c: sum(r.awards[c].total_fen for r in results if c in r.awards) for c in COMPONENTS}
    rewards = sum(r.rewards_fen for r in results)
    member_rewards = sum(r.member_totals_fen() for r in results)
    top = max(1, math.ceil(n / 100))
    top_rewards = int(np.partition(member_rewards, n - top)[n - top :].sum()) if n else 0
    store = np.unique(np.concatenate([r.store_required for r in results]))
    depth = depths(forest)
    lorenz, gini = _lorenz(member_rewards)
    points = points_cost(population, config, consumption)

    figures: dict[str, Any] = {
        "members": n,
        "max_depth": int(depth.max()) if n else 0,
        "mean_depth": float(depth.mean()) if n else 0.0,
        "consumption_fen": consumption,
        "rewards_fen": rewards,
        **{f"rewards_fen_{c}": by_component[c] for c in COMPONENTS},
        "payout_ratio": _ratio(rewards, consumption),
        **{f"payout_ratio_{c}": _ratio(by_component[c], consumption) for c in COMPONENTS},
        **points,
        "total_cost_ratio": _ratio(rewards + points["points_cost_fen"], consumption),
        "members_paid_share": _ratio(int(np.count_nonzero(member_rewards)), n),
        "store_duty_count": int(store.size),
        "top1_share": _ratio(top_rewards, rewards),
        "gini": gini,
    }
    return {
        "model": population.model,
        "figures": figures,
        "settlements": [_settlement_record(r) for r in results],
        "lorenz": lorenz,
    }


def export_trial(population: Population, config: SimulationConfig, directory: Path) -> list[Path]:
    """Write the engine input of each of the quarter's settlements, as ``python -m chalicelib.settlement`` reads it.

    One file per settlement, named by its period (``2026-10.json`` ... ``2026-Q4.json``).
    The documents carry the components switched on and the payout cap; every other rule
    is the engine's default (the simulator refuses to export otherwise).
    """
    rules = config.rules.settlement
    base = engine_input(population)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for s in quarter_settlements(population, config):
        components = [c for c in KIND_COMPONENTS[s.kind] if c in rules.components]
        document = input_to_json(
            base.with_volumes(s.volumes_fen),
            s.kind,
            s.period,
            components=components,
            max_payout_ratio=rules.max_payout_ratio,
        )
        path = directory / f"{s.period}.json"
        path.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
        written.append(path)
    return written
