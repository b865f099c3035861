"""Aibi wallet and spending entities: the wallet and its ledger, payout accounts,
withdrawals, exchange windows, the points mall, the lucky draw, charity projects and
aibi payments at the shop.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from .base import BaseItem, gsi


class WalletItem(BaseItem):
    """``MEMBER#<id>`` / ``WALLET``: spendable ``balance_fen`` and ``held_fen`` (open holds).

    ``open_withdrawals`` counts withdrawal requests not yet paid or rejected, so that
    closing an account can be refused in the same transaction (RULES.md 1).
    gsi2: ``WALLETS#<shard>`` / ``<id>``: every wallet, for reconciliation.
    """

    SK = "WALLET"
    member_id = UnicodeAttribute()
    balance_fen = NumberAttribute(default=0)
    held_fen = NumberAttribute(default=0)
    open_withdrawals = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    population = gsi(2)()


class WalletEntryItem(BaseItem):
    """``MEMBER#<id>`` / ``WLEDGER#<wallet version>#<n>``: one immutable change of the wallet.

    ``amount_fen`` changes ``balance_fen`` and ``held_delta_fen`` changes ``held_fen``.
    """

    entry_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount_fen = NumberAttribute()
    held_delta_fen = NumberAttribute(default=0)
    balance_after_fen = NumberAttribute()
    held_after_fen = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    ref = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)


class PayoutAccountItem(BaseItem):
    """``MEMBER#<id>`` / ``PAYOUT``: where withdrawals are paid (encrypted)."""

    SK = "PAYOUT"
    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # bank | alipay
    account_enc = UnicodeAttribute()
    holder_enc = UnicodeAttribute()
    account_masked = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class WithdrawalItem(BaseItem):
    """``WITHDRAWAL#<id>`` / ``WITHDRAWAL``: a request, its hold and its review.

    ``payout_enc`` is the payout account it is paid to, as it was at the request (kind,
    account, holder as encrypted JSON, field ``withdrawal-payout``), with its masked forms
    for views; erased when the member closes the account. Absent on requests stored
    before snapshots existed.
    gsi1: ``WITHDRAWALS#<member id>`` / ``<requested_at>#<id>``: a member's requests.
    gsi3: ``WITHDRAWALQ#<status>`` / ``<requested_at>#<id>`` while open: finance's queue.
    """

    SK = "WITHDRAWAL"
    withdrawal_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    fee_fen = NumberAttribute()
    payout_fen = NumberAttribute()
    status = UnicodeAttribute()  # pending | approved | paid | rejected
    payout_kind = UnicodeAttribute()
    payout_account_masked = UnicodeAttribute()
    payout_holder_masked = UnicodeAttribute(null=True)
    payout_enc = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute()
    approved_at = UTCDateTimeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    reference = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    by_member = gsi(1)()
    queue = gsi(3)()

    @staticmethod
    def key(withdrawal_id: str) -> tuple[str, str]:
        return f"WITHDRAWAL#{withdrawal_id}", WithdrawalItem.SK

    @staticmethod
    def of_member(member_id: str) -> str:
        """The gsi1 partition of a member's requests."""
        return f"WITHDRAWALS#{member_id}"


class ExchangeWindowItem(BaseItem):
    """``EXWINDOW#<id>`` / ``WINDOW``: a period when points can be exchanged into aibi.

    gsi3: ``EXWINDOWS`` / ``<ends_at>#<id>``: windows by end time; the open one is found
    by reading those that end after now.
    """

    SK = "WINDOW"
    window_id = UnicodeAttribute()
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    max_points_per_member = NumberAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    by_end = gsi(3)()


class PriceOption(MapAttribute):
    option_id = UnicodeAttribute()
    points = NumberAttribute()
    cash_fen = NumberAttribute()


class MallItem(BaseItem):
    """``MALL#<item id>`` / ``ITEM``: a points-mall item, its price options and stock.

    gsi3: ``MALLITEMS`` / ``<name>#<id>``: the catalogue.
    """

    SK = "ITEM"
    item_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    options = ListAttribute(of=PriceOption)
    stock = NumberAttribute()
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    catalogue = gsi(3)()


class MallOrderItem(BaseItem):
    """``MALLORDER#<order id>`` / ``ORDER``: a checkout and its points hold.

    gsi1: ``MALLORDERS#<member id>`` / ``<created_at>#<id>``.
    gsi3: ``HOLDS#<shard>`` / ``<expires_at>#MALL#<id>`` while the hold is pending.
    """

    SK = "ORDER"
    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    item_id = UnicodeAttribute()
    option_id = UnicodeAttribute()
    quantity = NumberAttribute()
    points = NumberAttribute()
    cash_fen = NumberAttribute()
    state = UnicodeAttribute()  # HoldState
    lots = ListAttribute(null=True)  # [[month, points], ...] the hold came from
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    by_member = gsi(1)()
    hold_queue = gsi(3)()


class ShopPaymentItem(BaseItem):
    """``AIBIPAY#<order id>`` / ``PAYMENT``: an order paid (partly) in aibi at the shop.

    gsi3: ``HOLDS#<shard>`` / ``<expires_at>#AIBI#<order id>`` while the hold is pending.
    """

    SK = "PAYMENT"
    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    refunded_fen = NumberAttribute(default=0)
    state = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    resolved_at = UTCDateTimeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    hold_queue = gsi(3)()


class DrawCampaignItem(BaseItem):
    """``DRAW#<campaign id>`` / ``CAMPAIGN``: a lucky-draw campaign.

    gsi3: ``DRAWS`` / ``<ends_at>#<id>``.
    """

    SK = "CAMPAIGN"
    campaign_id = UnicodeAttribute()
    name = UnicodeAttribute()
    points_per_draw = NumberAttribute()
    daily_limit = NumberAttribute()
    starts_at = UTCDateTimeAttribute()
    ends_at = UTCDateTimeAttribute()
    prize_ids = ListAttribute(of=UnicodeAttribute)
    created_at = UTCDateTimeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    by_end = gsi(3)()


class DrawPrizeItem(BaseItem):
    """``DRAW#<campaign id>`` / ``PRIZE#<prize id>``: one prize, its odds and its stock."""

    campaign_id = UnicodeAttribute()
    prize_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = NumberAttribute()
    probability_bp = NumberAttribute()
    stock = NumberAttribute()
    position = NumberAttribute()


class DrawRecordItem(BaseItem):
    """``MEMBER#<id>`` / ``DRAW#<campaign id>#<ulid>``: one draw, always recorded.

    gsi1: ``DRAWLOG#<campaign id>`` / ``<at>#<id>``: every draw of a campaign for ops.
    """

    draw_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    roll = NumberAttribute()
    points_spent = NumberAttribute()
    prize_id = UnicodeAttribute(null=True)
    prize_kind = UnicodeAttribute(null=True)
    prize_value = NumberAttribute(null=True)
    redemption_code = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_campaign = gsi(1)()


class CharityProjectItem(BaseItem):
    """``CHARITY#<project id>`` / ``PROJECT``: seats that members fill with points.

    gsi3: ``CHARITY`` / ``<created_at>#<id>``.
    """

    SK = "PROJECT"
    project_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    seats = NumberAttribute()
    seats_taken = NumberAttribute(default=0)
    points_per_seat = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    filled_at = UTCDateTimeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    listing = gsi(3)()


class PledgeItem(BaseItem):
    """``CHARITY#<project id>`` / ``PLEDGE#<ulid>``: seats one member took.

    gsi1: ``PLEDGES#<member id>`` / ``<at>#<id>``.
    """

    pledge_id = UnicodeAttribute()
    project_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    seats = NumberAttribute()
    points = NumberAttribute()
    at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_member = gsi(1)()
