"""Red-packet campaigns (节日/纪念日/生日 积分红包, RULES.md 3.1): ops grant a number of points
to an audience (every member, the members born in a month, or a list), once per member
per campaign.

Each member is credited in their own transaction with an ``ONCE#red_packet#<campaign>``
marker, so a campaign can be re-run after a crash or an extended list and nobody is paid
twice; frozen, pending and closed members are skipped (they earn nothing). A list
audience can name one person, so its total counts against the granter's daily
four-eyes allowance (``adjustments.take_allowance``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.points import OnceItem
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.approvals import FourEyesRequired
from ..domain.calendar import local_date
from ..domain.earning import Rule
from ..domain.errors import RuleViolation
from .adjustments import POINTS, take_allowance
from .common import audit, retrying
from .earning import can_earn, earn_once
from .points_jobs import Progress, per_shard
from .points_ledger import balance_pk

MAX_LIST = 10_000


class InvalidAudience(RuleViolation):
    """The audience is not all members, a birth month 1-12 or a list of member ids."""

    code = "invalid_audience"


@dataclass(frozen=True)
class Audience:
    kind: str  # "all" | "birth_month" | "list"
    month: int | None = None
    member_ids: tuple[str, ...] = ()

    def check(self) -> None:
        if self.kind == "birth_month" and not (self.month and 1 <= self.month <= 12):
            raise InvalidAudience("A birth-month audience needs a month 1-12.")
        if self.kind == "list" and not 0 < len(self.member_ids) <= MAX_LIST:
            raise InvalidAudience(f"A list audience names 1 to {MAX_LIST} members.")
        if self.kind not in ("all", "birth_month", "list"):
            raise InvalidAudience()


def _members(audience: Audience) -> Iterator[MemberItem]:
    if audience.kind == "list":
        for member_id in dict.fromkeys(audience.member_ids):
            member = MemberItem.get_or_none(balance_pk(member_id), MemberItem.SK)
            if member is not None:
                yield member
        return
    for member in per_shard(
        lambda shard: MemberItem.population.query(f"MEMBERS#{shard}", MemberItem.gsi2sk.startswith("P#"))
    ):
        if audience.kind == "all" or audience.month in (member.birth_months or ()):
            yield member


def _take_allowance(c: Container, actor: Principal, total: int) -> None:
    """A red packet to named members is a points correction by other means: it counts
    against what the granting person may change alone today (a re-run counts again)."""

    def attempt() -> None:
        uow = c.uow()
        if not take_allowance(uow, c, actor, POINTS, total):
            raise FourEyesRequired(
                "This list would pass what you may grant alone today; "
                "ask for it as adjustments, which a second staff member approves."
            )
        uow.commit()

    retrying(attempt)


def grant(
    c: Container, actor: Principal, campaign_id: str, points: int, audience: Audience, reason: str, dry_run: bool
) -> dict[str, Any]:
    audience.check()
    if points <= 0:
        raise RuleViolation("A red packet gives a positive number of points.")
    if audience.kind == "list" and not dry_run:
        _take_allowance(c, actor, points * len(set(audience.member_ids)))
    members = list(_members(audience))
    report: dict[str, Any] = {
        "campaign_id": campaign_id,
        "points": points,
        "audience": audience.kind,
        "dry_run": dry_run,
        "candidates": len(members),
        "granted": 0,
        "already_granted": 0,
        "skipped_not_active": 0,
    }
    progress = Progress(f"red-packet {campaign_id}", len(members))
    now = c.now()
    for member in members:
        progress.tick()
        if not can_earn(member):
            report["skipped_not_active"] += 1
            continue
        if dry_run:
            done = OnceItem.get_or_none(member.pk, f"ONCE#{Rule.RED_PACKET.value}#{campaign_id}") is not None
            report["already_granted" if done else "granted"] += 1
            continue

        def give(member_id: str = member.member_id) -> int:
            uow = c.uow()
            given = earn_once(uow, c, member_id, Rule.RED_PACKET, points, now, scope=campaign_id, ref=campaign_id)
            uow.commit()
            return given

        report["granted" if retrying(give) else "already_granted"] += 1
    if not dry_run:
        uow = c.uow()
        audit(
            uow,
            c,
            actor,
            "red_packet.grant",
            "campaign",
            campaign_id,
            reason,
            None,
            {k: v for k, v in report.items() if k != "dry_run"} | {"day": local_date(now).isoformat()},
        )
        uow.commit()
    return report
