"""Input and output types of the settlement engine, kept columnar (numpy arrays).

A settlement input is a forest of members in arrays indexed by member position: parent
index (or -1), stars, guide tier, registration rank and consumption volume in fen. The
JSON contract is one way to build it (``io.py``); a simulator builds it straight from
arrays with ``SettlementInput.from_arrays``, which touches no Python dict per member.

Results stay columnar too (``ComponentAward`` holds one row per rewarded member);
per-reward dicts are built only when a report or the JSON output asks for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from .errors import (
    DuplicateMemberError,
    InvalidFieldError,
    NegativeVolumeError,
    ReferralCycleError,
    UnknownReferrerError,
    VolumeOverflowError,
)
from .tree import CycleInForestError, Forest, build_forest

INT64_MAX = int(np.iinfo(np.int64).max)


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of non-negative integers: int64 when it provably fits, Python ints otherwise."""
    if values.size == 0:
        return 0
    if int(values.max()) <= INT64_MAX // values.size:
        return int(values.sum())
    return sum(values.tolist())


def _int_column(name: str, values: Any, n: int | None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidFieldError(f"{name} must be a one-dimensional array")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise InvalidFieldError(f"{name} must hold integers, not {array.dtype}")
    if n is not None and array.size != n:
        raise InvalidFieldError(f"{name} has {array.size} entries for {n} members")
    if array.dtype == np.uint64 and array.size and int(array.max()) > INT64_MAX:
        raise InvalidFieldError(f"{name} holds values beyond 2**63 - 1")
    return array.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class SettlementInput:
    """The members of one settlement run, as columns indexed by member position.

    ``registration_rank`` is a permutation of ``0..n-1``: 0 is the earliest registered
    member, ties already broken (by member id). Build instances with ``from_arrays`` (or
    ``io.input_from_json``), which validate; the constructor trusts its arguments.
    """

    parent: np.ndarray
    stars: np.ndarray
    guide_tier: np.ndarray
    registration_rank: np.ndarray
    volumes_fen: np.ndarray
    member_ids: Sequence[str] | None = None

    @classmethod
    def from_arrays(
        cls,
        *,
        parent: Any,
        stars: Any,
        guide_tier: Any,
        volumes_fen: Any,
        registration_order: Any | None = None,
        member_ids: Sequence[str] | None = None,
    ) -> SettlementInput:
        """Validate the columns and build an input.

        ``parent[i]`` is the index of member i's referrer or -1. ``registration_order``
        holds any integers where smaller means registered earlier (ranks, timestamps);
        ties are broken by member id, or by index when there are no ids. When it is
        omitted the index order is the registration order. Without ``member_ids`` the ids
        are the decimal indices (``"0"``, ``"1"``...), made only if an output asks.
        Cycles are detected when the forest is first needed (``settle``).
        """
        parent_a = _int_column("parent", parent, None)
        n = int(parent_a.size)
        stars_a = _int_column("stars", stars, n)
        tier_a = _int_column("guide_tier", guide_tier, n)
        volumes_a = _int_column("volumes_fen", volumes_fen, n)
        ids = None if member_ids is None else list(member_ids)
        if ids is not None:
            if len(ids) != n:
                raise InvalidFieldError(f"member_ids has {len(ids)} entries for {n} members")
            if not set(map(type, ids)) <= {str}:
                raise InvalidFieldError("member_ids must be strings")
            if len(set(ids)) != n:
                raise DuplicateMemberError(f"member id {first_duplicate(ids)!r} appears more than once")

        def name(i: int) -> str:
            return repr(ids[i]) if ids is not None else f"at index {i}"

        if n:
            bad = np.flatnonzero((parent_a < -1) | (parent_a >= n))
            if bad.size:
                i = int(bad[0])
                raise UnknownReferrerError(f"member {name(i)} has referrer index {parent_a[i]} out of range")
            bad = np.flatnonzero(parent_a == np.arange(n))
            if bad.size:
                raise ReferralCycleError(f"member {name(int(bad[0]))} refers itself")
            for column, values in (("stars", stars_a), ("guide_tier", tier_a)):
                bad = np.flatnonzero(values < 0)
                if bad.size:
                    i = int(bad[0])
                    raise InvalidFieldError(f"member {name(i)} has negative {column} {values[i]}")
            bad = np.flatnonzero(volumes_a < 0)
            if bad.size:
                i = int(bad[0])
                raise NegativeVolumeError(f"member {name(i)} has negative volume {volumes_a[i]} fen")
            _check_total_fits(volumes_a)

        if registration_order is None:
            rank = np.arange(n, dtype=np.int64)
        else:
            rank = registration_rank(_int_column("registration_order", registration_order, n), ids)
        return cls(parent_a, stars_a, tier_a, rank, volumes_a, ids)

    @property
    def n(self) -> int:
        return int(self.parent.size)

    @cached_property
    def ids(self) -> Sequence[str]:
        """The member ids, position by position."""
        if self.member_ids is not None:
            return self.member_ids
        return [str(i) for i in range(self.n)]

    @cached_property
    def forest(self) -> Forest:
        """The preorder-numbered forest (built once per input, shared by ``with_volumes``)."""
        try:
            return build_forest(self.parent)
        except CycleInForestError as exc:
            members = tuple(self.ids[i] for i in exc.nodes)
            shown = ", ".join(repr(m) for m in members[:5]) + (", ..." if len(members) > 5 else "")
            raise ReferralCycleError(f"the referrers of members {shown} form a cycle", members) from exc

    @cached_property
    def total_volume_fen(self) -> int:
        return exact_sum(self.volumes_fen)

    def with_volumes(self, volumes_fen: Any) -> SettlementInput:
        """The same members and tree with another period's volumes (the forest is reused)."""
        volumes = _int_column("volumes_fen", volumes_fen, self.n)
        if (volumes < 0).any():
            i = int(np.flatnonzero(volumes < 0)[0])
            raise NegativeVolumeError(f"member {self.ids[i]!r} has negative volume {volumes[i]} fen")
        _check_total_fits(volumes)
        other = replace(self, volumes_fen=volumes)
        for cached in ("forest", "ids"):
            if cached in self.__dict__:
                other.__dict__[cached] = self.__dict__[cached]
        return other


def first_duplicate(ids: Sequence[str]) -> str | None:
    seen: set[str] = set()
    for member_id in ids:
        if member_id in seen:
            return member_id
        seen.add(member_id)
    return None


def _check_total_fits(volumes: np.ndarray) -> None:
    """Refuse volumes whose total does not fit in int64 (every prefix sum is then exact)."""
    if volumes.size == 0 or int(volumes.max()) <= INT64_MAX // volumes.size:
        return
    if sum(volumes.tolist()) > INT64_MAX:
        raise VolumeOverflowError("the total volume exceeds 2**63 - 1 fen")


def registration_rank(order: np.ndarray, ids: Sequence[str] | None) -> np.ndarray:
    """Rank members by ``order`` (smaller = earlier), ties by id (or index without ids)."""
    n = int(order.size)
    by = np.argsort(order, kind="stable")
    if ids is not None and n > 1:
        ordered = order[by]
        tied = np.flatnonzero(ordered[1:] == ordered[:-1])
        if tied.size:
            bounds = np.flatnonzero(np.diff(ordered) != 0) + 1
            starts = np.concatenate(([0], bounds))
            stops = np.concatenate((bounds, [n]))
            for s, e in zip(starts[stops - starts > 1].tolist(), stops[stops - starts > 1].tolist(), strict=True):
                by[s:e] = sorted(by[s:e].tolist(), key=ids.__getitem__)
    rank = np.empty(n, dtype=np.int64)
    rank[by] = np.arange(n, dtype=np.int64)
    return rank


@dataclass(frozen=True, eq=False)
class ComponentAward:
    """One component's rewards as columns: row r pays ``amount_fen[r]`` to ``member[r]``.

    ``computed_fen`` is the amount of RULES.md 5.5 before any payout cap; ``amount_fen``
    is what is paid (equal unless the cap scaled it). ``columns`` hold per-row basis
    figures and ``constants`` the basis figures every row shares; together with the
    scale factor they reproduce each amount exactly. ``summary`` holds the component's
    report figures (pool, remainder, weights...). Only rows with ``computed_fen > 0`` are
    kept.
    """

    component: str
    member: np.ndarray
    computed_fen: np.ndarray
    amount_fen: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def computed_total_fen(self) -> int:
        return exact_sum(self.computed_fen)

    @property
    def total_fen(self) -> int:
        return exact_sum(self.amount_fen)

    @property
    def remainder_fen(self) -> int:
        """Rounding remainder of a pool (pool minus shares, before any cap); 0 without a pool."""
        return int(self.summary.get("remainder_fen", 0))


@dataclass(frozen=True, eq=False)
class SettlementResult:
    """Everything one settlement run produced, columnar; see ``io.result_to_json``.

    ``scale_factor`` is set only when the payout cap applied; every paid amount is then
    ``floor(computed * scale_factor)``. ``remainder_fen`` is the sum of the pools'
    rounding remainders. ``store_required`` holds member positions.
    """

    inp: SettlementInput
    kind: str
    period: str
    components_requested: tuple[str, ...]
    components_used: tuple[str, ...]
    awards: dict[str, ComponentAward]
    consumption_fen: int
    computed_rewards_fen: int
    rewards_fen: int
    remainder_fen: int
    payout_ratio: Fraction
    max_payout_ratio: Fraction | None
    scale_factor: Fraction | None
    store_required: np.ndarray

    def member_totals_fen(self) -> np.ndarray:
        """Each member's paid rewards over all components of this run."""
        totals = np.zeros(self.inp.n, dtype=np.int64)
        for award in self.awards.values():
            np.add.at(totals, award.member, award.amount_fen)
        return totals

    def store_required_ids(self) -> list[str]:
        ids = self.inp.ids
        return sorted(ids[i] for i in self.store_required.tolist())
