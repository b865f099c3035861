"""Orders paid (partly) in aibi at the shop: a signed hold, then capture or void, and
refunds that return aibi (RULES.md 4). Idempotent by the shop's order id (holds) and
refund id (refunds); an uncaptured hold is voided by the expiry job after 30 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..adapters.dynamodb.base import iso, shard_of
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.dynamodb.wallet import ShopPaymentItem
from ..bootstrap import Container
from ..domain.errors import ConcurrentUpdate, Conflict, NotFound, RuleViolation
from ..domain.holds import HoldState, resolve
from ..domain.wallet import WalletEntryKind
from .common import fingerprint, idempotent, remember, retrying
from .earning import live_member
from .hold_items import close_hold
from .wallet import MemberWallet, guard_active, require_may_spend


class PaymentNotFound(NotFound):
    """No aibi payment exists for this order."""

    code = "not_found"
    default_message = "No aibi payment for this order."


class PaymentMismatch(Conflict):
    """The order already has an aibi payment with another member or amount."""

    code = "payment_mismatch"
    default_message = "This order already has a different aibi payment."


class RefundExceedsCaptured(RuleViolation):
    """Refunds cannot return more aibi than the order captured."""

    code = "refund_exceeds_paid"
    default_message = "The refunds would exceed the aibi this order paid."


class _AlreadyHeld(Exception):
    """Internal: a concurrent request created this order's hold first."""


def payment_view(item: ShopPaymentItem) -> dict[str, Any]:
    return {
        "order_id": item.order_id,
        "member_id": item.member_id,
        "amount_fen": int(item.amount_fen),
        "refunded_fen": int(item.refunded_fen or 0),
        "state": item.state,
        "expires_at": iso(item.expires_at),
    }


def _payment(order_id: str) -> ShopPaymentItem:
    item = ShopPaymentItem.get_or_none(f"AIBIPAY#{order_id}", ShopPaymentItem.SK)
    if item is None:
        raise PaymentNotFound()
    return item


def hold(c: Container, order_id: str, member_id: str, amount_fen: int) -> tuple[dict[str, Any], bool]:
    """``(payment, created)``: the same request again returns the existing hold."""
    existing = ShopPaymentItem.get_or_none(f"AIBIPAY#{order_id}", ShopPaymentItem.SK)
    if existing is not None:
        if existing.member_id != member_id or int(existing.amount_fen) != amount_fen:
            raise PaymentMismatch()
        return payment_view(existing), False

    def attempt() -> dict[str, Any]:
        require_may_spend(c, live_member(member_id))
        now = c.now()
        expires = now + timedelta(seconds=c.rules.wallet.shop_payment_hold_ttl_s)
        uow = c.uow()
        guard_active(uow, member_id)
        MemberWallet.of(uow, c, member_id).hold(amount_fen, WalletEntryKind.PAYMENT_HOLD, order_id)
        item = ShopPaymentItem(
            pk=f"AIBIPAY#{order_id}",
            sk=ShopPaymentItem.SK,
            order_id=order_id,
            member_id=member_id,
            amount_fen=amount_fen,
            refunded_fen=0,
            state=HoldState.PENDING.value,
            created_at=now,
            expires_at=expires,
            gsi3pk=f"HOLDS#{shard_of(member_id)}",
            gsi3sk=f"{iso(expires)}#AIBI#{order_id}",
        )
        uow.put(item, condition=ShopPaymentItem.pk.does_not_exist(), on_fail=_AlreadyHeld)
        uow.commit()
        return payment_view(item)

    try:
        return retrying(attempt), True
    except (_AlreadyHeld, ConcurrentUpdate):
        # the shop's retry raced its first request: answer with the hold that won
        return hold(c, order_id, member_id, amount_fen)


def resolve_payment(uow: UnitOfWork, c: Container, item: ShopPaymentItem, target: HoldState, now: datetime) -> None:
    resolve(HoldState(item.state), target, expires_at=item.expires_at, now=now)
    wallet = MemberWallet.of(uow, c, item.member_id)
    if target is HoldState.POSTED:
        wallet.post(int(item.amount_fen), WalletEntryKind.PAYMENT_CAPTURED, item.order_id)
    else:
        wallet.void(int(item.amount_fen), WalletEntryKind.PAYMENT_VOIDED, item.order_id)
    close_hold(uow, item, target, now)


def settle(c: Container, order_id: str, target: HoldState) -> dict[str, Any]:
    """Capture or void; asking again for the state it already has returns it unchanged."""

    def attempt() -> dict[str, Any]:
        item = _payment(order_id)
        if item.state == target.value:
            return payment_view(item)
        uow = c.uow()
        resolve_payment(uow, c, item, target, c.now())
        uow.commit()
        item.state = target.value
        return payment_view(item)

    return retrying(attempt)


def refund(c: Container, order_id: str, refund_id: str, amount_fen: int) -> dict[str, Any]:
    print_ = fingerprint({"order_id": order_id, "amount_fen": amount_fen})

    def attempt() -> dict[str, Any]:
        item = _payment(order_id)
        if item.state != HoldState.POSTED.value:
            raise Conflict("Only a captured aibi payment can be refunded; void an uncaptured one.")
        refunded = int(item.refunded_fen or 0) + amount_fen
        if refunded > int(item.amount_fen):
            raise RefundExceedsCaptured()
        uow = c.uow()
        MemberWallet.of(uow, c, item.member_id).credit(amount_fen, WalletEntryKind.REFUND, f"{order_id}#{refund_id}")
        uow.update(
            item,
            [ShopPaymentItem.refunded_fen.set(refunded)],
            condition=ShopPaymentItem.refunded_fen == int(item.refunded_fen or 0),
            on_fail=ConcurrentUpdate(),
        )
        item.refunded_fen = refunded
        outcome = payment_view(item)
        remember(uow, c, f"aibi-refund#{order_id}", refund_id, print_, outcome)
        uow.commit()
        return outcome

    return idempotent(f"aibi-refund#{order_id}", refund_id, print_, attempt)[0]
