"""The points mall (会员专享商品): items with price options and stock, checkouts that hold
points until the cash part is paid (RULES.md 3.4).

A points-only checkout spends at once. A mixed checkout holds the points and the stock;
the shop's signed ``payment.succeeded`` captures the points, ``payment.failed`` or the
30-minute deadline releases both (the two-phase hold of ``domain.holds``). Stock is
taken with a condition ``stock >= quantity`` in the same transaction as the points, so
it never goes below zero, even for the last item under concurrent checkouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ulid import ULID

from ..adapters.dynamodb.base import iso, shard_of
from ..adapters.dynamodb.pagination import Page, query_page
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.dynamodb.wallet import MallItem, MallOrderItem, PriceOption
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.errors import ConcurrentUpdate, Conflict, InvalidRequest, NotFound, RuleViolation
from ..domain.holds import HoldState, resolve
from ..domain.points import EntryKind
from .common import audit, fingerprint, once_per_key, remember
from .hold_items import close_hold
from .members import require_member
from .points_ledger import MemberPoints
from .wallet import guard_active, require_may_spend


class OutOfStock(Conflict):
    """Not enough stock left for this quantity."""

    code = "out_of_stock"
    default_message = "Not enough stock left."


class UnknownItem(NotFound):
    """No active mall item (or option) has this id."""

    code = "not_found"
    default_message = "No such item or price option."


class InvalidPriceOptions(RuleViolation):
    """Every price option needs points (and optionally cash); none may be negative."""

    code = "invalid_price_options"


@dataclass(frozen=True)
class Option:
    points: int
    cash_fen: int


def item_view(item: MallItem) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "name": item.name,
        "description": item.description,
        "stock": int(item.stock),
        "active": bool(item.active),
        "options": [
            {"option_id": o.option_id, "points": int(o.points), "cash_fen": int(o.cash_fen)} for o in item.options
        ],
    }


def order_view(order: MallOrderItem) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "item_id": order.item_id,
        "option_id": order.option_id,
        "quantity": int(order.quantity),
        "points": int(order.points),
        "cash_fen": int(order.cash_fen),
        "state": order.state,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
    }


def _options(options: list[Option]) -> list[PriceOption]:
    if not options:
        raise InvalidPriceOptions("An item needs at least one price option.")
    for option in options:
        if option.points <= 0 or option.cash_fen < 0:
            raise InvalidPriceOptions("Each option needs a positive number of points and no negative cash.")
    return [PriceOption(option_id=f"o{n}", points=o.points, cash_fen=o.cash_fen) for n, o in enumerate(options, 1)]


def create_item(
    c: Container, actor: Principal, name: str, description: str | None, options: list[Option], stock: int
) -> dict[str, Any]:
    item_id = str(ULID())
    item = MallItem(
        pk=f"MALL#{item_id}",
        sk=MallItem.SK,
        item_id=item_id,
        name=name,
        description=description,
        options=_options(options),
        stock=stock,
        active=True,
        created_at=c.now(),
        gsi3pk="MALLITEMS",
        gsi3sk=f"{name}#{item_id}",
    )
    uow = c.uow()
    uow.put(item)
    audit(uow, c, actor, "mall.item.create", "mall_item", item_id, None, None, item_view(item))
    uow.commit()
    return item_view(item)


class RestockNeedsKey(InvalidRequest):
    """A change of stock must carry an Idempotency-Key: a resubmitted restock would add twice."""

    code = "idempotency_key_required"
    default_message = "Changing the stock needs an Idempotency-Key header (one per restock)."


def update_item(
    c: Container,
    actor: Principal,
    item_id: str,
    *,
    name: str | None,
    description: str | None,
    options: list[Option] | None,
    active: bool | None,
    add_stock: int | None,
    reason: str,
    key: str | None = None,
) -> dict[str, Any]:
    """Change an item; a restock (``add_stock``) happens once per idempotency key.

    The stock is written as the value read plus ``add_stock``, on the condition that it
    is still the value read: the answer (and the stored outcome a retry gets) is then the
    exact stock this change left, and a checkout in between is a retry, not a guess.
    """
    if add_stock and key is None:
        raise RestockNeedsKey()
    scope = f"mall-item#{item_id}"
    print_ = fingerprint(
        {
            "name": name,
            "description": description,
            "options": [(o.points, o.cash_fen) for o in options] if options is not None else None,
            "active": active,
            "add_stock": add_stock,
            "reason": reason,
        }
    )
    new_options = _options(options) if options is not None else None

    def attempt() -> dict[str, Any]:
        item = MallItem.get_or_none(f"MALL#{item_id}", MallItem.SK)
        if item is None:
            raise UnknownItem()
        before = item_view(item)
        after = dict(before)
        actions = []
        if name is not None:
            actions += [MallItem.name.set(name), MallItem.gsi3sk.set(f"{name}#{item_id}")]
            after["name"] = name
        if description is not None:
            actions.append(MallItem.description.set(description))
            after["description"] = description
        if new_options is not None:
            actions.append(MallItem.options.set(new_options))
            after["options"] = [
                {"option_id": o.option_id, "points": int(o.points), "cash_fen": int(o.cash_fen)} for o in new_options
            ]
        if active is not None:
            actions.append(MallItem.active.set(active))
            after["active"] = active
        condition = None
        if add_stock:
            stock = before["stock"] + add_stock
            if stock < 0:
                raise OutOfStock("Stock cannot go below zero.")
            actions.append(MallItem.stock.set(stock))
            condition = MallItem.stock == before["stock"]
            after["stock"] = stock
        if not actions:
            return before
        uow = c.uow()
        uow.update(item, actions, condition=condition, on_fail=ConcurrentUpdate())
        audit(
            uow,
            c,
            actor,
            "mall.item.update",
            "mall_item",
            item_id,
            reason,
            before,
            {"name": name, "active": active, "add_stock": add_stock, "options_changed": options is not None},
        )
        if key:
            remember(uow, c, scope, key, print_, after)
        uow.commit()
        return after

    return once_per_key(scope, key, print_, attempt)


def catalogue(c: Container, *, include_inactive: bool, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    page = query_page(
        MallItem.catalogue,
        "MALLITEMS",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        convert=item_view,
    )
    if include_inactive:
        return page
    return Page([item for item in page.items if item["active"]], page.next_cursor)


def checkout(
    c: Container, member_id: str, item_id: str, option_id: str, quantity: int, key: str | None
) -> dict[str, Any]:
    print_ = fingerprint({"item_id": item_id, "option_id": option_id, "quantity": quantity})

    def attempt() -> dict[str, Any]:
        member = require_member(member_id)
        require_may_spend(c, member)
        item = MallItem.get_or_none(f"MALL#{item_id}", MallItem.SK)
        option = next((o for o in (item.options if item else []) if o.option_id == option_id), None)
        if item is None or not item.active or option is None:
            raise UnknownItem()
        if int(item.stock) < quantity:
            raise OutOfStock()
        now = c.now()
        points, cash = int(option.points) * quantity, int(option.cash_fen) * quantity
        order_id = str(ULID())
        uow = c.uow()
        guard_active(uow, member_id)
        uow.update(item, [MallItem.stock.add(-quantity)], condition=MallItem.stock >= quantity, on_fail=OutOfStock())
        ledger = MemberPoints.of(uow, c, member_id)
        order = MallOrderItem(
            pk=f"MALLORDER#{order_id}",
            sk=MallOrderItem.SK,
            order_id=order_id,
            member_id=member_id,
            item_id=item_id,
            option_id=option_id,
            quantity=quantity,
            points=points,
            cash_fen=cash,
            created_at=now,
            gsi1pk=f"MALLORDERS#{member_id}",
            gsi1sk=f"{iso(now)}#{order_id}",
        )
        if cash == 0:
            ledger.spend(points, EntryKind.SPEND, ref=order_id, note=f"mall {item_id} x{quantity}")
            order.state, order.resolved_at = HoldState.POSTED.value, now
        else:
            shares = ledger.hold(points, ref=order_id)
            expires = now + timedelta(seconds=c.rules.wallet.mall_hold_ttl_s)
            order.state, order.expires_at, order.lots = HoldState.PENDING.value, expires, [list(s) for s in shares]
            order.gsi3pk, order.gsi3sk = f"HOLDS#{shard_of(member_id)}", f"{iso(expires)}#MALL#{order_id}"
        uow.put(order)
        outcome = {
            **order_view(order),
            "created_at": iso(now),
            "expires_at": iso(order.expires_at) if order.expires_at else None,
        }
        if key:
            remember(uow, c, f"mall#{member_id}", key, print_, outcome)
        uow.commit()
        return outcome

    return once_per_key(f"mall#{member_id}", key, print_, attempt)


def resolve_order(
    uow: UnitOfWork, c: Container, order_id: str, member_id: str | None, target: HoldState, now: datetime
) -> None:
    """Capture (``POSTED``), release (``VOIDED``) or time out (``EXPIRED``) a mall hold."""
    order = MallOrderItem.get_or_none(f"MALLORDER#{order_id}", MallOrderItem.SK)
    if order is None or (member_id is not None and order.member_id != member_id):
        raise UnknownItem("No such mall order for this member.")
    resolve(HoldState(order.state), target, expires_at=order.expires_at, now=now)
    ledger = MemberPoints.of(uow, c, order.member_id, as_of=now)
    if ledger.state.held < int(order.points):
        # the order we read is older than the points: another resolution of this hold
        # committed in between; retrying reads the order again and gives its own error
        raise ConcurrentUpdate()
    if target is HoldState.POSTED:
        ledger.capture(int(order.points), ref=order_id)
    else:
        ledger.unhold(tuple((str(month), int(points)) for month, points in order.lots or []), ref=order_id)
        uow.update(MallItem(pk=f"MALL#{order.item_id}", sk=MallItem.SK), [MallItem.stock.add(int(order.quantity))])
    close_hold(uow, order, target, now)


def member_orders(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    return query_page(
        MallOrderItem.by_member,
        f"MALLORDERS#{member_id}",
        cursors=c.cursors,
        limit=limit,
        cursor=cursor,
        newest_first=True,
        convert=order_view,
    )
