"""The look-up queries customer service needs, behind one repository: members by phone
blind index, member code or id; a member's draws, pledges, payout account and status
history; the check that a personal field is still stored as it was read. It owns the
keys it reads and returns typed records, so the service layer spells no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .base import iso
from .common import AuditItem
from .identity import MemberCodeItem, MemberItem, PhoneItem, ReviewItem
from .pagination import Cursors, Page, query_page
from .points import CapItem
from .uow import UnitOfWork
from .wallet import DrawCampaignItem, DrawPrizeItem, DrawRecordItem, PayoutAccountItem, PledgeItem, WalletItem

STATUS_ACTIONS = ("member.freeze", "member.unfreeze")
# the member's personal fields a staff member may see in clear, with their cipher field
REVEALABLE = {"phone": "phone_enc", "name": "name_enc", "birthday": "birthday_enc", "babies": "babies_enc"}


def member_pk(member_id: str) -> str:
    return f"MEMBER#{member_id}"


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    status: str
    reason: str | None
    by: str


@dataclass(frozen=True)
class DrawRecord:
    draw_id: str
    campaign_id: str
    points_spent: int
    prize_id: str | None
    prize_kind: str | None
    prize_value: int | None
    redemption_code: str | None
    at: datetime


@dataclass(frozen=True)
class PledgeRecord:
    pledge_id: str
    project_id: str
    seats: int
    points: int
    at: datetime


@dataclass(frozen=True)
class PayoutAccountRecord:
    kind: str
    account_masked: str
    holder_enc: str
    updated_at: datetime


@dataclass(frozen=True)
class PrizeRecord:
    prize_id: str
    name: str
    kind: str
    value: int
    probability_bp: int
    stock: int


@dataclass(frozen=True)
class CampaignRecord:
    campaign_id: str
    name: str
    points_per_draw: int
    daily_limit: int
    starts_at: datetime
    ends_at: datetime
    prizes: tuple[PrizeRecord, ...]


class MemberDirectory:
    """Reads for the back office and the member-facing lists; no writes but checks."""

    def __init__(self, cursors: Cursors) -> None:
        self._cursors = cursors

    # --- finding a member -------------------------------------------------------------------
    @staticmethod
    def by_phone_index(index: str) -> str | None:
        link = PhoneItem.get_or_none(f"PHONE#{index}", PhoneItem.SK)
        return link.member_id if link else None

    @staticmethod
    def by_code(code: str) -> str | None:
        link = MemberCodeItem.get_or_none(f"MCODE#{code}", MemberCodeItem.SK)
        return link.member_id if link else None

    @staticmethod
    def member(member_id: str) -> MemberItem | None:
        """The stored profile, closed members included (their ledgers stay)."""
        return MemberItem.get_or_none(member_pk(member_id), MemberItem.SK)

    @staticmethod
    def review_status(member_id: str, kind_key: str) -> str | None:
        review = ReviewItem.get_or_none(member_pk(member_id), kind_key)
        return review.status if review else None

    @staticmethod
    def wallet(member_id: str) -> tuple[int, int]:
        """``(balance_fen, held_fen)``; a member who never had aibi has an empty wallet."""
        item = WalletItem.get_or_none(member_pk(member_id), WalletItem.SK)
        return (int(item.balance_fen), int(item.held_fen)) if item else (0, 0)

    @staticmethod
    def payout_account(member_id: str) -> PayoutAccountRecord | None:
        item = PayoutAccountItem.get_or_none(member_pk(member_id), PayoutAccountItem.SK)
        if item is None:
            return None
        return PayoutAccountRecord(item.kind, item.account_masked, item.holder_enc, item.updated_at)

    @staticmethod
    def exchanged_in_window(member_id: str, window_id: str) -> int:
        """Points the member exchanged in one window (its per-member cap counter)."""
        used = CapItem.get_or_none(member_pk(member_id), f"CAP#exchange#{window_id}")
        return int(used.used) if used else 0

    # --- history and lists ------------------------------------------------------------------
    @staticmethod
    def status_history(member_id: str, limit: int = 100) -> list[StatusChange]:
        """Freezes and unfreezes with their reasons, newest first (from the audit log)."""
        entries = AuditItem.by_target.query(
            f"AUDITOF#{member_id}",
            filter_condition=AuditItem.action.is_in(*STATUS_ACTIONS),
            scan_index_forward=False,
            limit=limit,
        )
        return [
            StatusChange(e.at, str((e.after or {}).get("status")), e.reason, e.actor_id) for e in entries
        ]

    def draws(self, member_id: str, limit: int, cursor: str | None) -> Page[DrawRecord]:
        """A member's draws by campaign, newest first within each (the sort key is the
        campaign, then the draw's ULID)."""
        return query_page(
            DrawRecordItem,
            member_pk(member_id),
            cursors=self._cursors,
            limit=limit,
            cursor=cursor,
            range_key_condition=DrawRecordItem.sk.startswith("DRAW#"),
            newest_first=True,
            convert=_draw_record,
        )

    def pledges(self, member_id: str, limit: int, cursor: str | None) -> Page[PledgeRecord]:
        return query_page(
            PledgeItem.by_member,
            f"PLEDGES#{member_id}",
            cursors=self._cursors,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            convert=lambda p: PledgeRecord(p.pledge_id, p.project_id, int(p.seats), int(p.points), p.at),
        )

    def open_campaigns(self, now: datetime, limit: int, cursor: str | None) -> Page[CampaignRecord]:
        """Campaigns open at ``now``, the soonest to end first."""
        return query_page(
            DrawCampaignItem.by_end,
            "DRAWS",
            cursors=self._cursors,
            limit=limit,
            cursor=cursor,
            range_key_condition=DrawCampaignItem.gsi3sk > iso(now),
            filter_condition=DrawCampaignItem.starts_at <= now,
            convert=_campaign_record,
        )

    # --- checks inside a unit of work ---------------------------------------------------------
    @staticmethod
    def check_field_unchanged(uow: UnitOfWork, member_id: str, field: str, ciphertext: str) -> None:
        """The reveal's condition: the field still holds the ciphertext that was read."""
        attribute = getattr(MemberItem, REVEALABLE[field])
        uow.check(MemberItem, member_pk(member_id), MemberItem.SK, attribute == ciphertext)


def _draw_record(item: DrawRecordItem) -> DrawRecord:
    return DrawRecord(
        item.draw_id,
        item.campaign_id,
        int(item.points_spent),
        item.prize_id,
        item.prize_kind,
        int(item.prize_value) if item.prize_value is not None else None,
        item.redemption_code,
        item.at,
    )


def _campaign_record(item: DrawCampaignItem) -> CampaignRecord:
    prizes = sorted(
        DrawPrizeItem.query(item.pk, DrawPrizeItem.sk.startswith("PRIZE#")), key=lambda p: int(p.position)
    )
    return CampaignRecord(
        item.campaign_id,
        item.name,
        int(item.points_per_draw),
        int(item.daily_limit),
        item.starts_at,
        item.ends_at,
        tuple(
            PrizeRecord(p.prize_id, p.name, p.kind, int(p.value), int(p.probability_bp), int(p.stock)) for p in prizes
        ),
    )
