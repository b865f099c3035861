"""What members (and customer service on their behalf) list: open draw campaigns, a
member's own draws and prizes, their charity pledges, the open exchange window with what
is left of its cap, the payout account (masked), and the published rules in effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..adapters.dynamodb.member_lookup import CampaignRecord, DrawRecord, MemberDirectory, PledgeRecord
from ..adapters.dynamodb.pagination import Page
from ..bootstrap import Container
from ..domain import identity
from ..domain.errors import NotFound
from ..domain.rules import Rules
from .wallet import open_windows


@dataclass(frozen=True)
class ExchangeWindowState:
    window_id: str
    starts_at: datetime
    ends_at: datetime
    max_points_per_member: int | None
    points_left: int | None  # None: the window has no per-member cap


@dataclass(frozen=True)
class PayoutAccountView:
    kind: str
    account: str  # masked
    holder: str  # masked
    updated_at: datetime


@dataclass(frozen=True)
class PublishedRules:
    version: str
    effective_from: datetime
    earning: dict[str, int]
    return_window_days: int
    validity_months: int
    star_thresholds: list[int]
    points_per_exchange_unit: int
    fen_per_exchange_unit: int
    withdrawal_fee_bp: int
    min_withdrawal_fen: int
    daily_withdrawal_limit_fen: int


def _directory(c: Container) -> MemberDirectory:
    return MemberDirectory(c.cursors)


def open_campaigns(c: Container, limit: int, cursor: str | None) -> Page[CampaignRecord]:
    return _directory(c).open_campaigns(c.now(), limit, cursor)


def draws_of(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[DrawRecord]:
    return _directory(c).draws(member_id, limit, cursor)


def pledges_of(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[PledgeRecord]:
    return _directory(c).pledges(member_id, limit, cursor)


def exchange_window(c: Container, member_id: str) -> ExchangeWindowState | None:
    """The window open now (windows never overlap), or ``None``."""
    now = c.now()
    window = next((w for w in open_windows(now) if w.starts_at <= now < w.ends_at), None)
    if window is None:
        return None
    left = None
    if window.max_points_per_member is not None:
        used = _directory(c).exchanged_in_window(member_id, window.window_id)
        left = max(window.max_points_per_member - used, 0)
    return ExchangeWindowState(window.window_id, window.starts_at, window.ends_at, window.max_points_per_member, left)


def payout_account(c: Container, member_id: str) -> PayoutAccountView:
    record = _directory(c).payout_account(member_id)
    if record is None:
        raise NotFound("No payout account is set.")
    holder = c.cipher.decrypt(record.holder_enc, field="payout-holder")
    return PayoutAccountView(record.kind, record.account_masked, identity.mask_name(holder), record.updated_at)


def published(rules: Rules) -> PublishedRules:
    """The numbers members are promised, from the version in effect now."""
    earning = {name: int(value) for name, value in vars(rules.earning).items()}
    return PublishedRules(
        version=rules.version,
        effective_from=rules.effective_from,
        earning=earning,
        return_window_days=rules.points.return_window_days,
        validity_months=rules.points.validity_months,
        star_thresholds=list(rules.points.star_thresholds),
        points_per_exchange_unit=rules.wallet.points_per_exchange_unit,
        fen_per_exchange_unit=rules.wallet.fen_per_exchange_unit,
        withdrawal_fee_bp=rules.wallet.withdrawal_fee_bp,
        min_withdrawal_fen=rules.wallet.min_withdrawal_fen,
        daily_withdrawal_limit_fen=rules.wallet.daily_withdrawal_limit_fen,
    )
