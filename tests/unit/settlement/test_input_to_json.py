"""``input_to_json`` writes the input document that ``input_from_json`` reads back as the same input."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import (
    SettlementInput,
    input_from_json,
    input_to_json,
    result_to_json,
    run_json,
    settle,
)
from chalicelib.simulation.populations import make_input


def test_a_written_document_reads_back_as_the_same_input_and_settles_the_same():
    inp = make_input("realistic", 3_000, seed=5)
    document = json.loads(json.dumps(input_to_json(inp, "monthly", "2026-10")))
    request = input_from_json(document)
    for column in ("parent", "stars", "guide_tier", "registration_rank", "volumes_fen"):
        assert (getattr(request.inp, column) == getattr(inp, column)).all(), column
    expected = result_to_json(settle(inp, SettlementRules(), "monthly", "2026-10"))
    assert run_json(document) == expected


def test_registration_order_ids_components_and_cap_are_kept():
    inp = make_input("bushy", 200, seed=2)
    shuffled = SettlementInput.from_arrays(
        parent=inp.parent,
        stars=inp.stars,
        guide_tier=inp.guide_tier,
        volumes_fen=inp.volumes_fen,
        registration_order=np.arange(200)[::-1] // 3,  # ties, broken by id
        member_ids=[f"m{i:03d}" for i in range(200)],
    )
    document = input_to_json(shuffled, "quarterly", "2026-Q4", components=["q1"], max_payout_ratio=Fraction(3, 25))
    assert document["components"] == ["q1"] and document["max_payout_ratio"] == 0.12
    assert [m["id"] for m in document["members"][:2]] == ["m000", "m001"]
    request = input_from_json(json.loads(json.dumps(document)))
    assert (request.inp.registration_rank == shuffled.registration_rank).all()
    assert request.max_payout_ratio == Fraction(3, 25)
    assert set(document["volumes_fen"]) == {f"m{i:03d}" for i in np.flatnonzero(inp.volumes_fen)}
