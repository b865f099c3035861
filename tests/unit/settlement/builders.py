"""Shared builders of settlement input documents for the tests."""

from __future__ import annotations

from typing import Any

DAY_ONE = "2026-01-01T00:00:00+08:00"


def member(
    member_id: str, referrer: str | None = None, *, stars: int = 1, tier: int = 0, at: str = DAY_ONE
) -> dict[str, Any]:
    return {"id": member_id, "referrer": referrer, "stars": stars, "guide_tier": tier, "registered_at": at}


def document(
    members: list[dict[str, Any]],
    volumes: dict[str, int],
    *,
    kind: str = "monthly",
    period: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    period = period or ("2026-10" if kind == "monthly" else "2026-Q4")
    return {"kind": kind, "period": period, "members": members, "volumes_fen": volumes, **extra}


def rewards_by_key(output: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(r["member"], r["component"]): r["amount_fen"] for r in output["rewards"]}


def basis_of(output: dict[str, Any], member_id: str, component: str) -> dict[str, Any]:
    return next(r["basis"] for r in output["rewards"] if r["member"] == member_id and r["component"] == component)
