"""Hypothesis strategies: small random settlement documents and rules."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from chalicelib.domain.rules import SettlementRules

# few distinct instants, two of them equal in different offsets, so that ties happen often
TIMES = (
    "2026-01-01T00:00:00+08:00",
    "2025-12-31T16:00:00Z",
    "2026-01-02T00:00:00+08:00",
    "2026-01-02T00:00:00.000001+08:00",
    "2025-06-30T23:59:59-05:00",
)
VOLUMES = st.one_of(st.just(0), st.integers(0, 500), st.integers(0, 3_000_000), st.integers(0, 15_000_000))


@st.composite
def forests(draw: st.DrawFn, *, max_members: int = 14, kind: str | None = None) -> dict[str, Any]:
    """A settlement document over a random forest, listed in a random order."""
    n = draw(st.integers(1, max_members))
    parent = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    # relabel so that a referrer may be listed (and named) after the members it refers
    ids = draw(st.lists(st.text(alphabet="abcdxyz", min_size=1, max_size=3), min_size=n, max_size=n, unique=True))
    listing = draw(st.permutations(range(n)))
    members = [
        {
            "id": ids[i],
            "referrer": None if parent[i] is None else ids[parent[i]],
            "stars": draw(st.integers(0, 2)),
            "guide_tier": draw(st.integers(0, 5)),
            "registered_at": draw(st.sampled_from(TIMES)),
        }
        for i in listing
    ]
    buyers = draw(st.lists(st.sampled_from(ids), unique=True))
    volumes = {b: draw(VOLUMES) for b in buyers}
    kind = kind or draw(st.sampled_from(["monthly", "quarterly"]))
    doc: dict[str, Any] = {
        "kind": kind,
        "period": "2026-10" if kind == "monthly" else "2026-Q4",
        "members": members,
        "volumes_fen": volumes,
    }
    if draw(st.booleans()):
        doc["max_payout_ratio"] = draw(st.sampled_from([None, 0, 0.001, 0.01, 0.035, 0.2, 1]))
    if draw(st.booleans()):
        own = ["small_group", "guide_fee"] if kind == "monthly" else ["q1", "q10"]
        doc["components"] = draw(st.lists(st.sampled_from(own), unique=True))
    return doc


@st.composite
def settlement_rules(draw: st.DrawFn) -> SettlementRules:
    """The default rules or a random configuration (rates need not even grow with the tier)."""
    if draw(st.booleans()):
        return SettlementRules()
    return SettlementRules(
        min_stars=draw(st.integers(0, 2)),
        small_group_rate_bp=draw(st.integers(0, 2_000)),
        q1_pool_bp=draw(st.integers(0, 1_000)),
        q1_threshold_fen=draw(st.integers(0, 3_000_000)),
        q10_pool_bp=draw(st.integers(0, 1_000)),
        q10_threshold_fen=draw(st.integers(0, 12_000_000)),
        weight_unit_fen=draw(st.integers(1, 2_000_000)),
        guide_rates_bp=tuple(draw(st.lists(st.integers(0, 1_000), min_size=6, max_size=6))),
        store_duty_threshold_fen=draw(st.integers(0, 200_000)),
        components=frozenset(draw(st.sets(st.sampled_from(["small_group", "guide_fee", "q1", "q10"])))),
    )
