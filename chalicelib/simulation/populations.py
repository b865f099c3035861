"""Generated member populations: referral-tree shapes and member attributes (numpy only).

Every generator takes a member count and a seeded ``numpy.random.Generator`` and returns
plain arrays, so the same seed always gives the same population. Members are numbered
in registration order and a referrer always registers before the members it refers
(``parent[i] < i``), so the registration order is the index order.

Shapes (``SHAPES``):

- ``bushy``: wide and shallow, a few levels of very large fan-out.
- ``deep_chain``: the worst case for depth: one referral chain of 200,000 members
  (exactly, when the population is that large) plus random attachments below it.
- ``realistic``: most members refer nobody, a few build large teams, depth a few dozen.

Growth models (``GROWTH_MODELS``, what the plan simulator draws its populations from):
``realistic`` as above, ``preferential`` (linear preferential attachment: the more
members one has referred, the likelier one refers the next) and ``chain`` (chain-heavy
recruiting: newcomers are mostly recruited by the members who joined just before them).

``draw_attributes`` draws stars, guide tiers and heavy-tailed monthly volumes, and
``make_input`` puts a shape and attributes together into a ``SettlementInput``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chalicelib.domain.settlement import SettlementInput

CHAIN_LENGTH = 200_000


@dataclass(frozen=True, eq=False)
class Tree:
    """A referral forest: ``parent[i]`` is the index of member i's referrer, or -1."""

    parent: np.ndarray
    registration_order: np.ndarray

    @property
    def n(self) -> int:
        return int(self.parent.size)


def _in_order(parent: np.ndarray) -> Tree:
    return Tree(parent, np.arange(parent.size, dtype=np.int64))


def bushy(n: int, rng: np.random.Generator, *, fanout: int = 50) -> Tree:
    """Wide and shallow: member i's referrer is uniform among the first ``i // fanout`` members.

    Member 0 is the only root. The earliest members refer hundreds of members each
    (member j gets about ``fanout * ln(n / (fanout * j))`` referrals) and the depth is
    about ``log_fanout(n)``: 4 for a million members with the default fan-out of 50.
    """
    parent = np.full(n, -1, dtype=np.int64)
    if n > 1:
        i = np.arange(1, n, dtype=np.int64)
        pool = np.maximum(i // fanout, 1)
        parent[1:] = (rng.random(n - 1) * pool).astype(np.int64)
    return _in_order(parent)


def deep_chain(n: int, rng: np.random.Generator, *, chain_length: int = CHAIN_LENGTH) -> Tree:
    """One long referral chain plus noise: the depth worst case.

    Members ``0 .. L-1`` (``L = min(n, chain_length)``, 200,000 by default) form a
    single chain, each referred by the one before. Every later member is referred by a
    uniformly random earlier member (a random recursive tree grafted on the chain), so
    most of the noise hangs deep below the chain and the depth is ``L`` plus a few.
    ``deep_chain(200_000, rng)`` is exactly the 200,000-deep chain.
    """
    length = min(n, chain_length)
    parent = np.full(n, -1, dtype=np.int64)
    parent[1:length] = np.arange(length - 1, dtype=np.int64)
    if n > length:
        i = np.arange(length, n, dtype=np.int64)
        parent[length:] = (rng.random(n - length) * i).astype(np.int64)
    return _in_order(parent)


def realistic(
    n: int,
    rng: np.random.Generator,
    *,
    referrer_share: float = 0.25,
    activity_alpha: float = 1.2,
    organic_share: float = 0.02,
) -> Tree:
    """Most members refer nobody; a few build big teams; depth up to a few dozen.

    Each member draws a referral activity: 0 with probability ``1 - referrer_share``
    (they never refer anyone), otherwise ``1 + Pareto(activity_alpha)``, so a handful
    of members are extremely active. A newcomer arrives without referrer with
    probability ``organic_share`` (or when no earlier member is active), otherwise it is
    referred by an earlier member chosen with probability proportional to activity.
    Teams therefore grow under the few very active members, at every depth, and the
    depth grows like the logarithm of the population (about 20 to 40 for a million).
    """
    parent = np.full(n, -1, dtype=np.int64)
    if n <= 1:
        return _in_order(parent)
    active = rng.random(n) < referrer_share
    activity = np.where(active, 1.0 + rng.pareto(activity_alpha, n), 0.0)
    reach = np.cumsum(activity)
    before = reach[:-1]  # total activity of members 0..i-1, for newcomer i = 1..n-1
    draw = rng.random(n - 1) * before
    chosen = np.searchsorted(reach, draw, side="right")
    referred = (rng.random(n - 1) >= organic_share) & (before > 0)
    parent[1:] = np.where(referred, chosen, -1)
    return _in_order(parent)


def preferential(
    n: int,
    rng: np.random.Generator,
    *,
    attractiveness: float = 1.0,
    organic_share: float = 0.02,
) -> Tree:
    """Linear preferential attachment: the rich get richer, depth about the logarithm of n.

    A newcomer arrives without referrer with probability ``organic_share``; otherwise it
    is referred by earlier member j with probability proportional to
    ``referrals(j) + attractiveness``, where ``referrals(j)`` counts j's referrals so far.

    Drawn without a loop per member: the weight of the earlier members is ``a * i`` for
    the uniform part plus one unit per referral made so far, so a newcomer either picks a
    uniform earlier member, or picks a uniform earlier *referral* k and takes k's
    referrer (then ``parent[i] = parent[k]`` with ``k < i``). Those copies are resolved
    by following the copy links until they reach a direct pick; a chain of copies halves
    in probability at each step, so a few dozen whole-array rounds suffice.
    """
    parent = np.full(n, -1, dtype=np.int64)
    if n <= 1:
        return _in_order(parent)
    referred = rng.random(n) >= organic_share
    referred[0] = False
    referred_before = np.cumsum(referred) - referred  # referrals made by members 0..i-1
    referred_members = np.flatnonzero(referred)
    i = np.arange(n, dtype=np.int64)
    uniform_weight = attractiveness * i
    draw = rng.random(n) * (uniform_weight + referred_before)
    direct = referred & (draw < uniform_weight)
    copy = referred & ~direct
    parent[direct] = np.minimum((draw[direct] / attractiveness).astype(np.int64), i[direct] - 1)
    edge = np.minimum((draw[copy] - uniform_weight[copy]).astype(np.int64), referred_before[copy] - 1)
    source = np.full(n, -1, dtype=np.int64)
    source[copy] = referred_members[edge]
    pending = np.flatnonzero(copy)
    target = source[pending]
    while pending.size:
        still = copy[target]  # the member copied from copied its referrer too: follow it
        done = ~still
        parent[pending[done]] = parent[target[done]]
        pending, target = pending[still], source[target[still]]
    return _in_order(parent)


def chain_heavy(
    n: int,
    rng: np.random.Generator,
    *,
    recent_share: float = 0.95,
    recent_window: int = 20,
    organic_share: float = 0.02,
) -> Tree:
    """Chain-heavy recruiting: newcomers are recruited by the newest members; trees grow deep.

    A newcomer arrives without referrer with probability ``organic_share``; otherwise,
    with probability ``recent_share``, it is recruited by one of the ``recent_window``
    members who registered just before it (uniformly), and else by a uniformly random
    earlier member. The front of the tree keeps moving down while the members in the
    window each recruit about one newcomer, so the chains branch. A random or organic
    arrival restarts a run, so the depth is set by ``recent_share`` (runs last about
    ``1 / (1 - recent_share)`` arrivals) more than by ``n``: about 200
    levels for 100,000 members with the defaults and about 300 for a million, against
    about 20 for the other models; ``recent_share = 1`` with no organic arrivals gives
    depth ``~ 2n / (window + 1)``.
    """
    parent = np.full(n, -1, dtype=np.int64)
    if n <= 1:
        return _in_order(parent)
    i = np.arange(1, n, dtype=np.int64)
    window = np.minimum(i, recent_window)
    recent = i - 1 - (rng.random(n - 1) * window).astype(np.int64)
    anyone = (rng.random(n - 1) * i).astype(np.int64)
    chosen = np.where(rng.random(n - 1) < recent_share, recent, anyone)
    parent[1:] = np.where(rng.random(n - 1) >= organic_share, chosen, -1)
    return _in_order(parent)


SHAPES: dict[str, Callable[..., Tree]] = {
    "bushy": bushy,
    "deep_chain": deep_chain,
    "realistic": realistic,
}

GROWTH_MODELS: dict[str, Callable[..., Tree]] = {
    "realistic": realistic,
    "preferential": preferential,
    "chain": chain_heavy,
}


@dataclass(frozen=True, eq=False)
class Attributes:
    """Per-member stars (0..5), guide tiers (0..5) and one period's volumes in fen."""

    stars: np.ndarray
    guide_tier: np.ndarray
    volumes_fen: np.ndarray


STAR_SHARES = (0.50, 0.25, 0.12, 0.07, 0.04, 0.02)
GUIDE_TIER_SHARES = (0.95, 0.025, 0.0125, 0.0065, 0.004, 0.002)


def draw_attributes(
    n: int,
    rng: np.random.Generator,
    *,
    star_shares: tuple[float, ...] = STAR_SHARES,
    guide_tier_shares: tuple[float, ...] = GUIDE_TIER_SHARES,
    buyer_share: float = 0.6,
    median_volume_fen: int = 30_000,
    volume_sigma: float = 1.3,
    months: int = 1,
) -> Attributes:
    """Stars and guide tiers from fixed shares; heavy-tailed volumes.

    A member buys in the period with probability ``buyer_share``; a buyer's volume is
    log-normal with median ``median_volume_fen`` (300 yuan) times ``months`` and log
    standard deviation ``volume_sigma``, so a few members buy hundreds of times the
    median. Stars and guide tiers are independent of each other and of the tree.
    """
    stars = rng.choice(len(star_shares), size=n, p=np.asarray(star_shares) / sum(star_shares))
    tiers = rng.choice(len(guide_tier_shares), size=n, p=np.asarray(guide_tier_shares) / sum(guide_tier_shares))
    buys = rng.random(n) < buyer_share
    volume = rng.lognormal(np.log(median_volume_fen * months), volume_sigma, n)
    volumes = np.where(buys, np.floor(volume), 0).astype(np.int64)
    return Attributes(stars.astype(np.int64), tiers.astype(np.int64), volumes)


def make_input(shape: str, n: int, seed: int, **attribute_options: object) -> SettlementInput:
    """A ``SettlementInput`` of ``n`` members of the named shape, all drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    tree = SHAPES[shape](n, rng)
    attributes = draw_attributes(n, rng, **attribute_options)  # type: ignore[arg-type]
    return SettlementInput.from_arrays(
        parent=tree.parent,
        stars=attributes.stars,
        guide_tier=attributes.guide_tier,
        volumes_fen=attributes.volumes_fen,
    )
