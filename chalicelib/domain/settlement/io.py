"""The JSON contract of the offline settlement engine (API.md, "Settlement engine").

``input_from_json`` validates a decoded input document and turns it into a columnar
``SettlementRequest`` (``input_to_json`` writes the document of a ``SettlementInput``);
``result_to_json`` turns a ``SettlementResult`` into the output document; ``run_json``
does both around ``settle``. Validation works column by column (one pass per field, not
one Python branch per member and field) and only looks for the offending member once
something is known to be wrong, so that a million members parse in a couple of seconds.

Output: ``rewards`` sorted by member id then component name, rewards of 0 fen omitted;
``totals`` as in the contract; ``store_required`` sorted by id; plus a ``report`` object
(an extension of the contract) with the components used, the scale factor and the
per-component figures a settlement report needs. Exact fractions are written as
``"p/q"`` strings; ``totals.payout_ratio`` is the nearest JSON number.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import repeat
from typing import Any

import numpy as np

from ..rules import SettlementRules
from .engine import check_kind_and_period, requested_components, settle
from .errors import (
    DuplicateMemberError,
    InvalidFieldError,
    NegativeVolumeError,
    UnknownReferrerError,
    UnknownVolumeMemberError,
)
from .model import INT64_MAX, ComponentAward, SettlementInput, SettlementResult, first_duplicate

INPUT_KEYS = frozenset({"kind", "period", "members", "volumes_fen", "components", "max_payout_ratio"})
REQUIRED_INPUT_KEYS = frozenset({"kind", "period", "members", "volumes_fen"})
MEMBER_FIELDS = ("id", "referrer", "stars", "guide_tier", "registered_at")
MEMBER_KEYS = frozenset(MEMBER_FIELDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REGISTRATION_EPOCH = "2024-01-01T00:00:00"  # local time of the first registration ``input_to_json`` writes
REGISTRATION_OFFSET = "+08:00"  # Asia/Shanghai
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, eq=False)
class SettlementRequest:
    """A validated input document: the members plus what to settle."""

    inp: SettlementInput
    kind: str
    period: str
    components: tuple[str, ...] | None
    max_payout_ratio: Fraction | None


def _first(items: Sequence[Any], bad: Callable[[Any], bool]) -> int:
    return next(i for i, item in enumerate(items) if bad(item))


def _types_within(values: Sequence[Any], allowed: set[type]) -> bool:
    """True when every value's exact type is allowed (so ``True`` is not an ``int``)."""
    return set(map(type, values)) <= allowed


def _int_column(values: Sequence[Any], ids: Sequence[str], name: str) -> np.ndarray:
    if not _types_within(values, {int}):
        i = _first(values, lambda v: type(v) is not int)
        raise InvalidFieldError(f"member {ids[i]!r}: {name} must be an integer, not {values[i]!r}")
    try:
        column = np.array(values, dtype=np.int64)
    except OverflowError:
        i = _first(values, lambda v: not -INT64_MAX <= v <= INT64_MAX)
        raise InvalidFieldError(f"member {ids[i]!r}: {name} {values[i]} is out of range") from None
    if column.size and int(column.min()) < 0:
        i = int(np.argmin(column))
        raise InvalidFieldError(f"member {ids[i]!r}: {name} must not be negative, not {values[i]}")
    return column


def _registration_times(texts: Sequence[Any], ids: Sequence[str]) -> np.ndarray:
    """Microseconds since the epoch of each ``registered_at`` (ISO 8601 with an offset)."""
    if not _types_within(texts, {str}):
        i = _first(texts, lambda t: type(t) is not str)
        raise InvalidFieldError(f"member {ids[i]!r}: registered_at must be a string, not {texts[i]!r}")
    try:
        times = list(map(datetime.fromisoformat, texts))
    except ValueError:
        i = _first(texts, _not_iso)
        raise InvalidFieldError(f"member {ids[i]!r}: registered_at {texts[i]!r} is not an ISO 8601 time") from None
    if None in map(datetime.utcoffset, times):
        i = _first(times, lambda t: t.utcoffset() is None)
        raise InvalidFieldError(f"member {ids[i]!r}: registered_at {texts[i]!r} needs a UTC offset")
    # exact integer microseconds, computed without a Python-level call per member
    since_epoch = map(operator.sub, times, repeat(_EPOCH))
    return np.fromiter(map(operator.floordiv, since_epoch, repeat(_MICROSECOND)), dtype=np.int64, count=len(times))


def _not_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return True
    return False


def _member_columns(members: object) -> tuple[list[Any], ...]:
    """The five member fields as five lists, after checking every member has exactly them."""
    if not isinstance(members, list):
        raise InvalidFieldError("members must be a list")
    if not _types_within(members, {dict}):
        i = _first(members, lambda m: type(m) is not dict)
        raise InvalidFieldError(f"members[{i}] must be an object, not {members[i]!r}")
    if not all(map(operator.eq, map(dict.keys, members), repeat(MEMBER_KEYS))):
        i = _first(members, lambda m: m.keys() != MEMBER_KEYS)
        missing = sorted(MEMBER_KEYS - members[i].keys())
        unknown = sorted(members[i].keys() - MEMBER_KEYS)
        label = f"member {members[i]['id']!r}" if type(members[i].get("id")) is str else f"members[{i}]"
        problem = f"misses {', '.join(missing)}" if missing else f"has unknown field {', '.join(unknown)}"
        raise InvalidFieldError(f"{label} {problem}")
    return tuple(list(map(operator.itemgetter(name), members)) for name in MEMBER_FIELDS)


def input_from_json(document: object) -> SettlementRequest:
    """Validate an input document (decoded JSON) and build the columnar request."""
    if not isinstance(document, dict):
        raise InvalidFieldError("the input must be a JSON object")
    missing = REQUIRED_INPUT_KEYS - document.keys()
    if missing:
        raise InvalidFieldError(f"the input misses {', '.join(sorted(missing))}")
    unknown = document.keys() - INPUT_KEYS
    if unknown:
        raise InvalidFieldError(f"the input has unknown field {', '.join(sorted(unknown))}")
    kind, period = document["kind"], document["period"]
    check_kind_and_period(kind, period)
    components = document.get("components")
    if components is not None:
        if not isinstance(components, list):
            raise InvalidFieldError("components must be a list of component names or null")
        components = requested_components(kind, components)
    max_payout_ratio = _ratio(document.get("max_payout_ratio"))

    ids, referrers, stars, tiers, registered_at = _member_columns(document["members"])
    n = len(ids)
    if not _types_within(ids, {str}) or "" in ids:
        i = _first(ids, lambda v: not (type(v) is str and v))
        raise InvalidFieldError(f"members[{i}]: id must be a non-empty string, not {ids[i]!r}")
    index: dict[str | None, int] = dict(zip(ids, range(n), strict=True))
    if len(index) != n:
        raise DuplicateMemberError(f"member id {first_duplicate(ids)!r} appears more than once")
    if not _types_within(referrers, {str, type(None)}):
        i = _first(referrers, lambda r: not (r is None or type(r) is str))
        raise InvalidFieldError(f"member {ids[i]!r}: referrer must be a member id or null, not {referrers[i]!r}")
    index[None] = -1  # no referrer; unknown ones come out as -2
    parent = np.fromiter(map(index.get, referrers, repeat(-2)), dtype=np.int64, count=n)
    del index[None]
    if n and int(parent.min()) == -2:
        i = int(np.argmin(parent))
        raise UnknownReferrerError(f"member {ids[i]!r} has unknown referrer {referrers[i]!r}")

    volumes = _volumes(document["volumes_fen"], index, n)
    inp = SettlementInput.from_arrays(
        parent=parent,
        stars=_int_column(stars, ids, "stars"),
        guide_tier=_int_column(tiers, ids, "guide_tier"),
        volumes_fen=volumes,
        registration_order=_registration_times(registered_at, ids),
        member_ids=ids,
    )
    return SettlementRequest(inp, kind, period, components, max_payout_ratio)


def input_to_json(
    inp: SettlementInput,
    kind: str,
    period: str,
    *,
    components: Sequence[str] | None = None,
    max_payout_ratio: Fraction | None = None,
) -> dict[str, Any]:
    """The input document of the contract for ``inp``: ``input_from_json`` reads it back as ``inp``.

    Members keep their ids (``inp.ids``) and order. Registration times are written one
    second apart from ``REGISTRATION_EPOCH``, in registration-rank order, which keeps the
    rank (the tie rule's order) exactly. Only non-zero volumes are listed. The cap is
    written as the nearest JSON number, so it round-trips exactly when it is a decimal of at
    most 15 significant digits (as a cap read from a document is).
    """
    ids = inp.ids
    referrers = [None if p < 0 else ids[p] for p in inp.parent.tolist()]
    seconds = inp.registration_rank.astype("timedelta64[s]")
    times = np.datetime_as_string(np.datetime64(REGISTRATION_EPOCH) + seconds, unit="s").tolist()
    members = [
        {
            "id": member_id,
            "referrer": referrer,
            "stars": stars,
            "guide_tier": tier,
            "registered_at": f"{at}{REGISTRATION_OFFSET}",
        }
        for member_id, referrer, stars, tier, at in zip(
            ids, referrers, inp.stars.tolist(), inp.guide_tier.tolist(), times, strict=True
        )
    ]
    buyers = np.flatnonzero(inp.volumes_fen)
    document: dict[str, Any] = {
        "kind": kind,
        "period": period,
        "members": members,
        "volumes_fen": dict(zip([ids[i] for i in buyers.tolist()], inp.volumes_fen[buyers].tolist(), strict=True)),
    }
    if components is not None:
        document["components"] = list(components)
    if max_payout_ratio is not None:
        document["max_payout_ratio"] = float(max_payout_ratio)
    return document


def _ratio(value: object) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFieldError(f"max_payout_ratio must be a number or null, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidFieldError(f"max_payout_ratio must be finite, not {value!r}")
    ratio = Fraction(str(value))  # the decimal the document wrote, not the nearest binary float
    if ratio < 0:
        raise InvalidFieldError(f"max_payout_ratio must not be negative, not {value!r}")
    return ratio


def _volumes(volumes: object, index: Mapping[str | None, int], n: int) -> np.ndarray:
    if not isinstance(volumes, dict):
        raise InvalidFieldError("volumes_fen must be an object of member id -> fen")
    keys = list(volumes)
    values = list(volumes.values())
    if not _types_within(values, {int}):
        i = _first(values, lambda v: type(v) is not int)
        raise InvalidFieldError(f"volumes_fen[{keys[i]!r}] must be an integer of fen, not {values[i]!r}")
    positions = np.fromiter(map(index.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
    if positions.size and int(positions.min()) < 0:
        i = int(np.argmin(positions))
        raise UnknownVolumeMemberError(f"volumes_fen names unknown member {keys[i]!r}")
    try:
        fen = np.array(values, dtype=np.int64)
    except OverflowError:
        i = _first(values, lambda v: not -INT64_MAX <= v <= INT64_MAX)
        raise InvalidFieldError(f"member {keys[i]!r} has volume {values[i]} fen, beyond 2**63 - 1") from None
    if fen.size and int(fen.min()) < 0:
        i = int(np.argmin(fen))
        raise NegativeVolumeError(f"member {keys[i]!r} has negative volume {values[i]} fen")
    column = np.zeros(n, dtype=np.int64)
    column[positions] = fen
    return column


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else str(value)


def _basis_rows(award: ComponentAward, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The ``basis`` dict of every row of ``award``, built from its columns in one pass."""
    rows = int(award.member.size)
    columns: dict[str, list] = {}
    for name, column in award.columns.items():
        if name == "slice_volume_fen":
            continue
        values = column.tolist()
        columns[name] = [ids[v] for v in values] if name == "largest_group_root" else values
    slices = award.columns.get("slice_volume_fen")
    if slices is not None:
        levels = list(zip(award.constants["slice_rate_bp"], award.constants["slice_diff_bp"], strict=True))
        columns["slices"] = [
            [
                {"rate_bp": rate, "diff_bp": diff, "volume_fen": volume}
                for (rate, diff), volume in zip(levels, row, strict=True)
                if volume
            ]
            for row in slices.tolist()
        ]
    constants = {k: v for k, v in award.constants.items() if k not in ("slice_rate_bp", "slice_diff_bp")}
    names = list(columns)
    bases = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    if not names:
        bases = [{} for _ in range(rows)]
    for basis in bases:
        basis.update(constants)
    return bases


def result_to_json(result: SettlementResult) -> dict[str, Any]:
    """The output document of the contract (plus the ``report`` extension)."""
    ids = result.inp.ids
    scaled = result.scale_factor is not None
    factor_text = _fraction_text(result.scale_factor)
    components = sorted(result.awards)
    member_parts, code_parts, row_parts = [], [], []
    bases: list[list[dict[str, Any]]] = []
    for code, name in enumerate(components):
        award = result.awards[name]
        bases.append(_basis_rows(award, ids))
        paid = np.flatnonzero(award.amount_fen > 0)
        member_parts.append(award.member[paid])
        code_parts.append(np.full(paid.size, code, dtype=np.int64))
        row_parts.append(paid)
    rewards: list[dict[str, Any]] = []
    if member_parts:
        member = np.concatenate(member_parts)
        code = np.concatenate(code_parts)
        row = np.concatenate(row_parts)
        rewarded = sorted(np.unique(member).tolist(), key=ids.__getitem__)
        id_rank = np.zeros(result.inp.n, dtype=np.int64)
        id_rank[rewarded] = np.arange(len(rewarded), dtype=np.int64)
        order = np.lexsort((code, id_rank[member]))
        amounts = [result.awards[name].amount_fen.tolist() for name in components]
        computed = [result.awards[name].computed_fen.tolist() for name in components]
        for m, c, r in zip(member[order].tolist(), code[order].tolist(), row[order].tolist(), strict=True):
            basis = bases[c][r]
            if scaled:
                basis["computed_fen"] = computed[c][r]
                basis["scale_factor"] = factor_text
            rewards.append({"member": ids[m], "component": components[c], "amount_fen": amounts[c][r], "basis": basis})
    return {
        "rewards": rewards,
        "totals": {
            "consumption_fen": result.consumption_fen,
            "rewards_fen": result.rewards_fen,
            "remainder_fen": result.remainder_fen,
            "payout_ratio": float(result.payout_ratio),
        },
        "store_required": result.store_required_ids(),
        "report": report(result),
    }


def report(result: SettlementResult) -> dict[str, Any]:
    """Run-level figures for the settlement report (RULES.md 5.8, 5.9)."""
    return {
        "kind": result.kind,
        "period": result.period,
        "members": result.inp.n,
        "components_requested": list(result.components_requested),
        "components_used": list(result.components_used),
        "max_payout_ratio": _fraction_text(result.max_payout_ratio),
        "scale_factor": _fraction_text(result.scale_factor),
        "computed_rewards_fen": result.computed_rewards_fen,
        "payout_ratio_exact": str(result.payout_ratio),
        "components": {
            name: {"rewards_fen": award.total_fen, "computed_fen": award.computed_total_fen, **award.summary}
            for name, award in sorted(result.awards.items())
        },
    }


def run_json(document: object, rules: SettlementRules | None = None) -> dict[str, Any]:
    """Settle the input document of the contract and return the output document."""
    request = input_from_json(document)
    result = settle(
        request.inp,
        rules if rules is not None else SettlementRules(),
        kind=request.kind,
        period=request.period,
        components=request.components,
        max_payout_ratio=request.max_payout_ratio,
    )
    return result_to_json(result)
