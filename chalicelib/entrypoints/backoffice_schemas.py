"""Pydantic models of the back office's member look-up and of the member-facing lists
(draws, pledges, exchange window, payout account, published rules)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from .schemas import Body, Out, Phone, Query, Reason

MemberCode = Annotated[str, Field(pattern=r"^\d{9}$", description="the 9-digit member code")]
MemberId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


# --- look-up -------------------------------------------------------------------------------------
class MemberSearchQuery(Query):
    phone: Phone | None = None
    code: MemberCode | None = None
    member_id: MemberId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if sum(value is not None for value in (self.phone, self.code, self.member_id)) != 1:
            raise ValueError("give exactly one of phone, code, member_id")
        return self


class MemberFound(Out):
    member_id: str
    member_code: str | None
    phone: str = Field(description="masked")
    status: str
    registered_at: datetime


class MemberSearch(Out):
    members: list[MemberFound] = Field(description="at most one: phone, code and id are each unique")


class StatusChangeOut(Out):
    at: datetime
    status: str
    reason: str | None
    by: str = Field(description="the staff id")


class LotOut(Out):
    expires_on: date
    points: int


class MemberPointsOut(Out):
    available: int
    pending: int
    held: int
    lifetime: int
    debt: int
    lots: list[LotOut] = Field(description="live lots by expiry month, soonest first")


class MemberFileOut(Out):
    member_id: str
    member_code: str | None
    phone: str = Field(description="masked")
    name: str | None = Field(description="masked")
    birth_month: int | None
    babies: int = Field(description="how many babies' birthdays are recorded")
    region: str | None
    profile_complete: bool
    status: str
    status_history: list[StatusChangeOut] = Field(description="freezes and unfreezes, newest first")
    registered_at: datetime
    activated_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    roles: list[str]
    stars: int
    guide_tier: int
    referrer_id: str | None
    points: MemberPointsOut
    balance_fen: int
    held_fen: int
    kyc: str | None = Field(description="pending | approved | rejected, null if never submitted")
    nutritionist: str | None
    payout_kind: str | None
    payout_account: str | None = Field(description="masked")


class RevealRequest(Body):
    field: Literal["phone", "name", "birthday", "babies"]
    reason: Reason


class RevealedFieldOut(Out):
    member_id: str
    field: str
    value: str | None = Field(description="in clear (babies: a JSON list of dates); null when not set")


# --- member-facing lists ------------------------------------------------------------------------
class CampaignPrize(Out):
    prize_id: str
    name: str
    kind: str
    value: int
    probability_bp: int
    stock: int


class OpenCampaign(Out):
    campaign_id: str
    name: str
    points_per_draw: int
    daily_limit: int
    starts_at: datetime
    ends_at: datetime
    prizes: list[CampaignPrize]


class CampaignList(Out):
    campaigns: list[OpenCampaign]
    next_cursor: str | None


class OwnDraw(Out):
    draw_id: str
    campaign_id: str
    points_spent: int
    prize_id: str | None
    prize_kind: str | None
    prize_value: int | None
    redemption_code: str | None = Field(description="tickets and top-up cards: the code for the partner")
    at: datetime


class OwnDrawList(Out):
    draws: list[OwnDraw]
    next_cursor: str | None


class OwnPledge(Out):
    pledge_id: str
    project_id: str
    seats: int
    points: int
    at: datetime


class OwnPledgeList(Out):
    pledges: list[OwnPledge]
    next_cursor: str | None


class ExchangeWindowState(Out):
    window_id: str
    starts_at: datetime
    ends_at: datetime
    max_points_per_member: int | None
    points_left: int | None = Field(description="what the member may still exchange here; null without a cap")


class ExchangeWindowAnswer(Out):
    open: bool
    window: ExchangeWindowState | None


class PayoutAccountView(Out):
    kind: str
    account: str = Field(description="masked")
    holder: str = Field(description="masked")
    updated_at: datetime


class PublishedRules(Out):
    version: str
    effective_from: datetime
    earning: dict[str, int] = Field(description="points per rule, caps and multipliers (RULES.md 3.1)")
    return_window_days: int
    validity_months: int
    star_thresholds: list[int] = Field(description="lifetime points for 0..5 stars")
    points_per_exchange_unit: int
    fen_per_exchange_unit: int
    withdrawal_fee_bp: int
    min_withdrawal_fen: int
    daily_withdrawal_limit_fen: int

