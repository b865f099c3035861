"""One trial's population: a referral tree, stars, guide tiers and a quarter of consumption.

Everything is drawn with numpy from the trial's own seed (``trial_seeds``), with no
Python loop per member. The tree, the consumption and the member attributes come from
three separate streams of that seed, so varying a tree setting leaves every member's
spending as it was, and the other way round: a sweep compares like with like.

Assumptions (every number is a setting of ``config.SimulationConfig``):

- Tree: one of the growth models of ``populations.GROWTH_MODELS``; members are numbered
  in registration order.
- Consumption: a member is a non-buyer with probability ``non_buyer_share`` and spends
  nothing all quarter. A buyer has a spending level, log-normal with median
  ``median_monthly_fen`` and log standard deviation ``sigma`` (heavy-tailed: the top 1 %
  spend about 16 times the median), buys in each month with probability
  ``purchase_probability``, and then spends the level times a log-normal month factor
  (median 1, log standard deviation ``month_sigma``), floored to the fen and capped at
  ``max_monthly_fen``. Spending is independent of the member's place in the tree.
- Stars: from the lifetime points the member would have earned over ``tenure_months``:
  register and profile points; purchase points on the expected monthly spending (level x
  purchase probability x mean month factor, 1 point a yuan, doubled in the
  ``birthday_month_share`` of months that are a birth month); referral sign-up points per
  direct referral; referral first-purchase points on each buying direct referral's first
  order (taken as one month at that referral's level); nutritionist points for guide tier
  1 and up. Stars are then read off ``PointsRules.star_thresholds``.
- Guide tiers: drawn independently with ``guide_tier_shares`` (tier 0 = not a nutritionist).
- Birth months: each member-month of the quarter is a birth month with probability
  ``birthday_month_share`` (it doubles that month's purchase points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import MODELS, PopulationAssumptions, SimulationConfig
from .populations import GROWTH_MODELS, Tree

MONTHS_PER_QUARTER = 3
_STREAMS = ("tree", "consumption", "members")


@dataclass(frozen=True, eq=False)
class Population:
    """The members of one trial as columns; ``volumes_fen[m]`` is month m of the quarter."""

    model: str
    parent: np.ndarray
    stars: np.ndarray
    guide_tier: np.ndarray
    volumes_fen: np.ndarray
    birthday_month: np.ndarray
    lifetime_points: np.ndarray

    @property
    def n(self) -> int:
        return int(self.parent.size)


def trial_seeds(seed: int, trials: int) -> list[np.random.SeedSequence]:
    """One independent seed per trial; trial k's seed does not depend on how many trials run."""
    return np.random.SeedSequence(seed).spawn(trials)


def trial_models(weights: dict[str, float], trials: int) -> list[str]:
    """The growth model of each trial: the weights apportioned to whole trials, in blocks.

    Largest remainders (ties to the model listed first in ``MODELS``), so 20 trials of the
    default mix are 10 realistic, 5 preferential and 5 chain, in that order.
    """
    total = sum(weights.values())
    quotas = {m: weights.get(m, 0.0) * trials / total for m in MODELS}
    counts = {m: math.floor(q) for m, q in quotas.items()}
    by_remainder = sorted(MODELS, key=lambda m: (-(quotas[m] - counts[m]), MODELS.index(m)))
    for m in by_remainder[: trials - sum(counts.values())]:
        counts[m] += 1
    return [m for m in MODELS for _ in range(counts[m])]


def _stream(seed: np.random.SeedSequence, purpose: str) -> np.random.Generator:
    """A generator for one purpose of a trial; the same ``seed`` always gives the same stream."""
    child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, _STREAMS.index(purpose)))
    return np.random.default_rng(child)


def grow(model: str, n: int, rng: np.random.Generator, population: PopulationAssumptions) -> Tree:
    """The referral tree of ``n`` members grown by the named model with the configured settings."""
    settings = {
        "realistic": {
            "referrer_share": population.realistic.referrer_share,
            "activity_alpha": population.realistic.activity_alpha,
        },
        "preferential": {"attractiveness": population.preferential.attractiveness},
        "chain": {"recent_share": population.chain.recent_share, "recent_window": population.chain.recent_window},
    }[model]
    return GROWTH_MODELS[model](n, rng, organic_share=population.organic_share, **settings)


def generate(config: SimulationConfig, members: int, model: str, seed: np.random.SeedSequence) -> Population:
    """The population of one trial."""
    tree = grow(model, members, _stream(seed, "tree"), config.population)
    parent = tree.parent

    c = config.consumption
    rng = _stream(seed, "consumption")
    buyer = rng.random(members) >= c.non_buyer_share
    level_fen = np.where(buyer, rng.lognormal(math.log(c.median_monthly_fen), c.sigma, members), 0.0)
    buys = buyer & (rng.random((MONTHS_PER_QUARTER, members)) < c.purchase_probability)
    month_factor = rng.lognormal(0.0, c.month_sigma, (MONTHS_PER_QUARTER, members))
    spent = np.minimum(np.floor(level_fen * month_factor), c.max_monthly_fen)
    volumes_fen = np.where(buys, spent, 0).astype(np.int64)

    m = config.members
    rng = _stream(seed, "members")
    shares = np.asarray(m.guide_tier_shares, dtype=np.float64)
    guide_tier = rng.choice(shares.size, size=members, p=shares / shares.sum()).astype(np.int64)
    birthday_month = rng.random((MONTHS_PER_QUARTER, members)) < m.birthday_month_share

    points = lifetime_points(config, parent, level_fen, guide_tier)
    thresholds = np.asarray(config.rules.points.star_thresholds, dtype=np.float64)
    stars = np.searchsorted(thresholds, points, side="right").astype(np.int64) - 1
    return Population(model, parent, stars, guide_tier, volumes_fen, birthday_month, points)


def lifetime_points(
    config: SimulationConfig, parent: np.ndarray, level_fen: np.ndarray, guide_tier: np.ndarray
) -> np.ndarray:
    """The lifetime points each member would hold after the assumed tenure (see the module doc).

    Whole points, as floats: only compared with the star thresholds, never summed as money.
    """
    earning = config.rules.earning
    c = config.consumption
    m = config.members
    expected_month_yuan = level_fen * c.purchase_probability * math.exp(c.month_sigma**2 / 2) / 100
    birthday_factor = 1 + (earning.birthday_month_multiplier - 1) * m.birthday_month_share
    purchase = m.tenure_months * expected_month_yuan * earning.purchase_points_per_yuan * birthday_factor
    referred = np.flatnonzero(parent >= 0)
    per_referral = (
        earning.referral_sign_up + earning.referral_first_purchase_points_per_yuan * level_fen[referred] / 100
    )
    referral = np.bincount(parent[referred], weights=per_referral, minlength=parent.size)
    nutritionist = np.where(guide_tier >= 1, earning.nutritionist_certified + earning.nutritionist_contribution, 0)
    total = earning.register + earning.profile_complete + purchase + referral + nutritionist
    return np.floor(total)
