"""The lucky draw (幸运抽奖) and charity projects (爱心公益): spending points on chance and
on seats, with prize stock and seats guarded by conditions in the same transaction as
the points, so neither can be exceeded under concurrent requests (RULES.md 3.4).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ulid import ULID

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.points import CapItem
from ..adapters.dynamodb.wallet import CharityProjectItem, DrawCampaignItem, DrawPrizeItem, DrawRecordItem, PledgeItem
from ..adapters.observability import logger
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain import draw as d
from ..domain.calendar import local_date
from ..domain.errors import ConcurrentUpdate, Conflict, NotFound, RuleViolation
from ..domain.points import EntryKind
from ..domain.wallet import WalletEntryKind
from .common import audit, fingerprint, once_per_key, remember
from .members import require_member
from .points_ledger import MemberPoints, balance_pk
from .wallet import MemberWallet, guard_active, require_may_spend


class CampaignClosed(Conflict):
    """The campaign has not started or is over."""

    code = "campaign_closed"
    default_message = "This draw is not open now."


class DailyDrawLimit(RuleViolation):
    """The member used today's draws of this campaign."""

    code = "daily_limit_exceeded"
    default_message = "No draws left today for this campaign."


class ProjectFull(Conflict):
    """Not enough seats left in the charity project."""

    code = "project_full"
    default_message = "Not enough seats left in this project."


@dataclass(frozen=True)
class PrizeSpec:
    prize_id: str
    name: str
    kind: str
    value: int
    probability_bp: int
    stock: int


def _prize(item: DrawPrizeItem) -> d.Prize:
    return d.Prize(item.prize_id, d.PrizeKind(item.kind), int(item.value), int(item.probability_bp), int(item.stock))


def _prize_items(campaign_id: str) -> list[DrawPrizeItem]:
    items = DrawPrizeItem.query(f"DRAW#{campaign_id}", DrawPrizeItem.sk.startswith("PRIZE#"), consistent_read=True)
    return sorted(items, key=lambda item: int(item.position))


def campaign_view(campaign: DrawCampaignItem, prizes: list[DrawPrizeItem]) -> dict[str, Any]:
    return {
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "points_per_draw": int(campaign.points_per_draw),
        "daily_limit": int(campaign.daily_limit),
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "prizes": [
            {
                "prize_id": p.prize_id,
                "name": p.name,
                "kind": p.kind,
                "value": int(p.value),
                "probability_bp": int(p.probability_bp),
                "stock": int(p.stock),
            }
            for p in prizes
        ],
    }


def create_campaign(
    c: Container,
    actor: Principal,
    name: str,
    points_per_draw: int,
    daily_limit: int,
    starts_at: datetime,
    ends_at: datetime,
    prizes: list[PrizeSpec],
) -> dict[str, Any]:
    if ends_at <= starts_at:
        raise RuleViolation("ends_at must be after starts_at.")
    d.check_prizes([d.Prize(p.prize_id, d.PrizeKind(p.kind), p.value, p.probability_bp, p.stock) for p in prizes])
    campaign_id = str(ULID())
    campaign = DrawCampaignItem(
        pk=f"DRAW#{campaign_id}",
        sk=DrawCampaignItem.SK,
        campaign_id=campaign_id,
        name=name,
        points_per_draw=points_per_draw,
        daily_limit=daily_limit,
        starts_at=starts_at,
        ends_at=ends_at,
        prize_ids=[p.prize_id for p in prizes],
        created_at=c.now(),
        gsi3pk="DRAWS",
        gsi3sk=f"{iso(ends_at)}#{campaign_id}",
    )
    items = [
        DrawPrizeItem(
            pk=campaign.pk,
            sk=f"PRIZE#{p.prize_id}",
            campaign_id=campaign_id,
            prize_id=p.prize_id,
            name=p.name,
            kind=p.kind,
            value=p.value,
            probability_bp=p.probability_bp,
            stock=p.stock,
            position=n,
        )
        for n, p in enumerate(prizes)
    ]
    uow = c.uow()
    uow.put(campaign)
    for item in items:
        uow.put(item)
    view = campaign_view(campaign, items)
    audit(
        uow,
        c,
        actor,
        "draw.create",
        "draw",
        campaign_id,
        None,
        None,
        {"name": name, "points_per_draw": points_per_draw, "prizes": len(items)},
    )
    uow.commit()
    return view


def get_campaign(campaign_id: str) -> dict[str, Any]:
    campaign = DrawCampaignItem.get_or_none(f"DRAW#{campaign_id}", DrawCampaignItem.SK)
    if campaign is None:
        raise NotFound("No such draw.")
    return campaign_view(campaign, _prize_items(campaign_id))


def draw(c: Container, member_id: str, campaign_id: str, key: str | None) -> dict[str, Any]:
    """One draw: pay the points, roll the CSPRNG, take the prize's stock, record it all."""
    print_ = fingerprint({"campaign_id": campaign_id})

    def attempt() -> dict[str, Any]:
        member = require_member(member_id)
        require_may_spend(c, member)
        campaign = DrawCampaignItem.get_or_none(f"DRAW#{campaign_id}", DrawCampaignItem.SK)
        if campaign is None:
            raise NotFound("No such draw.")
        now = c.now()
        if not campaign.starts_at <= now < campaign.ends_at:
            raise CampaignClosed()
        day = local_date(now).isoformat()
        cap_key = (balance_pk(member_id), f"CAP#draw#{campaign_id}#{day}")
        used = CapItem.get_or_none(*cap_key)
        limit = int(campaign.daily_limit)
        if used is not None and int(used.used) >= limit:
            raise DailyDrawLimit()
        uow = c.uow()
        guard_active(uow, member_id)
        uow.update(
            CapItem(pk=cap_key[0], sk=cap_key[1]),
            [CapItem.used.add(1)],
            condition=CapItem.used.does_not_exist() | (CapItem.used < limit),
            on_fail=ConcurrentUpdate(),
        )
        draw_id = str(ULID())
        cost = int(campaign.points_per_draw)
        ledger = MemberPoints.of(uow, c, member_id)
        ledger.spend(cost, EntryKind.SPEND, ref=draw_id, note=f"lucky draw {campaign_id}")
        prize_items = {item.prize_id: item for item in _prize_items(campaign_id)}
        roll = c.randbelow(d.ROLL_SPACE)
        won = d.pick([_prize(prize_items[pid]) for pid in campaign.prize_ids if pid in prize_items], roll)
        code = None
        if won is not None:
            uow.update(
                prize_items[won.prize_id],
                [DrawPrizeItem.stock.add(-1)],
                condition=DrawPrizeItem.stock >= 1,
                on_fail=ConcurrentUpdate(),
            )
            if won.kind is d.PrizeKind.POINTS:
                ledger.earn(won.value, local_date(now), "draw_prize", ref=draw_id)
            elif won.kind is d.PrizeKind.AIBI:
                MemberWallet.of(uow, c, member_id).credit(won.value, WalletEntryKind.PRIZE, draw_id)
            elif won.kind in (d.PrizeKind.TICKET, d.PrizeKind.TOPUP):
                code = secrets.token_hex(8).upper()
        uow.put(
            DrawRecordItem(
                pk=balance_pk(member_id),
                sk=f"DRAW#{campaign_id}#{draw_id}",
                draw_id=draw_id,
                member_id=member_id,
                campaign_id=campaign_id,
                roll=roll,
                points_spent=cost,
                prize_id=won.prize_id if won else None,
                prize_kind=won.kind.value if won else None,
                prize_value=won.value if won else None,
                redemption_code=code,
                at=now,
                gsi1pk=f"DRAWLOG#{campaign_id}",
                gsi1sk=f"{iso(now)}#{draw_id}",
            )
        )
        prize = None
        if won is not None:
            item = prize_items[won.prize_id]
            prize = {
                "prize_id": won.prize_id,
                "name": item.name,
                "kind": won.kind.value,
                "value": won.value,
                "redemption_code": code,
            }
        outcome = {"draw_id": draw_id, "points_spent": cost, "prize": prize}
        if key:
            remember(uow, c, f"draw#{member_id}", key, print_, outcome)
        uow.commit()
        return outcome

    return once_per_key(f"draw#{member_id}", key, print_, attempt)


def draw_log(c: Container, campaign_id: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    if DrawCampaignItem.get_or_none(f"DRAW#{campaign_id}", DrawCampaignItem.SK) is None:
        raise NotFound("No such draw.")

    def view(item: DrawRecordItem) -> dict[str, Any]:
        return {
            "draw_id": item.draw_id,
            "member_id": item.member_id,
            "roll": int(item.roll),
            "points_spent": int(item.points_spent),
            "prize_id": item.prize_id,
            "prize_kind": item.prize_kind,
            "at": item.at,
        }

    return query_page(
        DrawRecordItem.by_campaign,
        f"DRAWLOG#{campaign_id}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=view,
    )


# --- charity ----------------------------------------------------------------------------------------
def project_view(item: CharityProjectItem) -> dict[str, Any]:
    return {
        "project_id": item.project_id,
        "name": item.name,
        "description": item.description,
        "seats": int(item.seats),
        "seats_taken": int(item.seats_taken),
        "points_per_seat": int(item.points_per_seat),
        "full": int(item.seats_taken) >= int(item.seats),
    }


def create_project(
    c: Container, actor: Principal, name: str, description: str | None, seats: int, points_per_seat: int
) -> dict[str, Any]:
    project_id = str(ULID())
    now = c.now()
    item = CharityProjectItem(
        pk=f"CHARITY#{project_id}",
        sk=CharityProjectItem.SK,
        project_id=project_id,
        name=name,
        description=description,
        seats=seats,
        seats_taken=0,
        points_per_seat=points_per_seat,
        created_at=now,
        gsi3pk="CHARITY",
        gsi3sk=f"{iso(now)}#{project_id}",
    )
    uow = c.uow()
    uow.put(item)
    audit(uow, c, actor, "charity.create", "charity", project_id, None, None, project_view(item))
    uow.commit()
    return project_view(item)


def projects(c: Container, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    return query_page(
        CharityProjectItem.listing,
        "CHARITY",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=project_view,
    )


def pledge(c: Container, member_id: str, project_id: str, seats: int, key: str | None) -> dict[str, Any]:
    print_ = fingerprint({"project_id": project_id, "seats": seats})
    filled: list[dict[str, Any]] = []

    def attempt() -> dict[str, Any]:
        member = require_member(member_id)
        require_may_spend(c, member)
        project = CharityProjectItem.get_or_none(f"CHARITY#{project_id}", CharityProjectItem.SK)
        if project is None:
            raise NotFound("No such project.")
        taken, total = int(project.seats_taken), int(project.seats)
        if taken + seats > total:
            raise ProjectFull(seats_left=total - taken)
        now = c.now()
        pledge_id = str(ULID())
        points = seats * int(project.points_per_seat)
        uow = c.uow()
        guard_active(uow, member_id)
        actions = [CharityProjectItem.seats_taken.add(seats)]
        if taken + seats == total:
            actions.append(CharityProjectItem.filled_at.set(now))
        uow.update(project, actions, condition=CharityProjectItem.seats_taken <= total - seats, on_fail=ProjectFull())
        MemberPoints.of(uow, c, member_id).spend(points, EntryKind.SPEND, ref=pledge_id, note=f"charity {project_id}")
        uow.put(
            PledgeItem(
                pk=project.pk,
                sk=f"PLEDGE#{pledge_id}",
                pledge_id=pledge_id,
                project_id=project_id,
                member_id=member_id,
                seats=seats,
                points=points,
                at=now,
                gsi1pk=f"PLEDGES#{member_id}",
                gsi1sk=f"{iso(now)}#{pledge_id}",
            )
        )
        outcome = {
            "pledge_id": pledge_id,
            "project_id": project_id,
            "seats": seats,
            "points": points,
            "seats_left": total - taken - seats,
        }
        if key:
            remember(uow, c, f"pledge#{member_id}", key, print_, outcome)
        uow.commit()
        if taken + seats == total:
            filled.append(project_view(project) | {"seats_taken": total, "full": True})
        return outcome

    outcome = once_per_key(f"pledge#{member_id}", key, print_, attempt)
    for project in filled:
        logger.info("charity project full", extra={"project_id": project["project_id"]})
        c.ops.notify(
            f"Charity project full: {project['name']}",
            f"Project {project['project_id']} has all {project['seats']} seats taken.",
            c.now(),
        )
    return outcome
