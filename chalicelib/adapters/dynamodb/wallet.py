"""Aibi wallet entities: the balance item and its immutable ledger entries."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from .base import BaseItem


class WalletItem(BaseItem):
    """``MEMBER#<id>`` / ``WALLET``: spendable ``balance_fen`` and ``held_fen`` (open holds).

    ``open_withdrawals`` counts withdrawal requests not yet paid or rejected, so that
    closing an account can be refused in the same transaction (RULES.md 1).
    """

    SK = "WALLET"
    member_id = UnicodeAttribute()
    balance_fen = NumberAttribute(default=0)
    held_fen = NumberAttribute(default=0)
    open_withdrawals = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
