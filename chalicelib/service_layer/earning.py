"""Earning points (RULES.md 3.1): the handlers for identity's events and the rules behind
each signed event from the shop, the game server and the event systems (each declared
with its type and data schema in ``entrypoints.signed_events``).

An event is priced under the rules version in effect when it occurred (``occurred_at``,
which also decides its day, caps and expiry month); a refund under the version its order
was paid under, which the order stores.

Limits are enforced by conditional writes in the same transaction as the points: a
once-only rule puts an ``ONCE#`` marker that must not exist; a daily cap adds to a
``CAP#`` counter that must stay under the cap. Two concurrent events can therefore never
both pass a limit: the loser's transaction fails, its retry re-reads and sees the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..adapters.dynamodb.base import epoch, iso, shard_of
from ..adapters.dynamodb.identity import MemberItem
from ..adapters.dynamodb.points import ActivityItem, CapItem, OnceItem, OrderItem, PendingPointsItem, VolumeItem
from ..adapters.dynamodb.uow import EventHandler, UnitOfWork
from ..bootstrap import Container
from ..domain import earning
from ..domain.calendar import Month, local_date, start_of_local_day
from ..domain.earning import Rule
from ..domain.errors import ConcurrentUpdate, Conflict, RuleViolation
from ..domain.events import MemberRegistered, NutritionistCertified, ProfileCompleted, ReferralEffective, SessionStarted
from ..domain.identity import NUTRITIONIST_ROLE, MemberStatus
from ..domain.rules import V2026_11_23, EarningRules, Rules
from .points_ledger import MemberPoints, balance_pk


class UnknownMember(RuleViolation):
    """The event names a member that does not exist or is not active."""

    code = "unknown_member"
    default_message = "No active member has this id."


class OccurredAtOutOfRange(RuleViolation):
    """``occurred_at`` is more than 30 days in the past or 5 minutes in the future."""

    code = "occurred_at_out_of_range"
    default_message = "occurred_at must be within the last 30 days and at most 5 minutes ahead."


class OrderExists(Conflict):
    """Another event already reported this order as paid."""

    code = "order_exists"
    default_message = "This order was already reported by another event."


class UnknownOrder(RuleViolation):
    """A refund names an order this member never paid."""

    code = "unknown_order"
    default_message = "No paid order with this id for this member."


class RefundExceedsPaid(RuleViolation):
    """Refunds of an order cannot add up to more than it paid."""

    code = "refund_exceeds_paid"
    default_message = "The refunds would exceed what the order paid."


class NotANutritionist(RuleViolation):
    """Lectures and guidance are recorded for certified nutritionists only."""

    code = "not_a_nutritionist"
    default_message = "This member is not a certified nutritionist."


EVENT_MAX_AGE = timedelta(days=30)
EVENT_MAX_AHEAD = timedelta(minutes=5)


# --- limits ------------------------------------------------------------------------------------
def once(uow: UnitOfWork, member_id: str, rule: Rule, scope: str, at: datetime, ref: str | None = None) -> bool:
    """Claim a once-only rule for this member and scope; False if it already fired."""
    pk, sk = balance_pk(member_id), f"ONCE#{rule.value}#{scope}"
    if OnceItem.get_or_none(pk, sk) is not None:
        return False
    uow.put(
        OnceItem(pk=pk, sk=sk, rule=rule.value, created_at=at, ref=ref),
        condition=OnceItem.pk.does_not_exist(),
        on_fail=ConcurrentUpdate(),
    )
    return True


def within_cap(uow: UnitOfWork, member_id: str, rule: Rule, day: date, wanted: int, cap: int) -> int:
    """Take up to ``wanted`` units of a daily cap atomically; returns what was granted."""
    pk, sk = balance_pk(member_id), f"CAP#{rule.value}#{day.isoformat()}"
    item = CapItem.get_or_none(pk, sk)
    granted = earning.capped(int(item.used) if item else 0, wanted, cap)
    if granted:
        uow.update(
            CapItem(pk=pk, sk=sk),
            [CapItem.used.add(granted), CapItem.ttl.set(epoch(start_of_local_day(day) + timedelta(days=40)))],
            condition=CapItem.used.does_not_exist() | (CapItem.used <= cap - granted),
            on_fail=ConcurrentUpdate(),
        )
    return granted


def earn_once(
    uow: UnitOfWork,
    c: Container,
    member_id: str,
    rule: Rule,
    points: int,
    at: datetime,
    scope: str = "-",
    ref: str | None = None,
) -> int:
    if once(uow, member_id, rule, scope, at, ref):
        MemberPoints.of(uow, c, member_id).earn(points, local_date(at), rule.value, ref)
        return points
    return 0


def can_earn(member: MemberItem | None) -> bool:
    """RULES.md 1: a frozen (or pending, or closed) member earns nothing."""
    return member is not None and member.status == MemberStatus.ACTIVE


# --- identity's events -------------------------------------------------------------------------------
def identity_handlers(c: Container) -> Iterable[tuple[type, EventHandler]]:
    def rules(at: datetime) -> EarningRules:
        # read at each event, not when the handlers are subscribed: a warm container
        # outlives a version
        return c.rules_registry.at(at).earning

    def registered(event: MemberRegistered, uow: UnitOfWork) -> None:
        earn_once(uow, c, event.member_id, Rule.REGISTER, rules(event.at).register, event.at)

    def session(event: SessionStarted, uow: UnitOfWork) -> None:
        if event.can_earn:
            day = local_date(event.at)
            points = rules(event.at).daily_login
            earn_once(uow, c, event.member_id, Rule.DAILY_LOGIN, points, event.at, scope=day.isoformat())

    def profile(event: ProfileCompleted, uow: UnitOfWork) -> None:
        if event.can_earn:
            earn_once(uow, c, event.member_id, Rule.PROFILE_COMPLETE, rules(event.at).profile_complete, event.at)

    def referral(event: ReferralEffective, uow: UnitOfWork) -> None:
        referrer = MemberItem.get_or_none(balance_pk(event.referrer_id), MemberItem.SK)
        if can_earn(referrer):
            earn_once(
                uow,
                c,
                event.referrer_id,
                Rule.REFERRAL_SIGN_UP,
                rules(event.at).referral_sign_up,
                event.at,
                scope=event.member_id,
                ref=event.member_id,
            )

    def certified(event: NutritionistCertified, uow: UnitOfWork) -> None:
        member = MemberItem.get_or_none(balance_pk(event.member_id), MemberItem.SK)
        if can_earn(member):
            points = rules(event.at).nutritionist_certified
            earn_once(uow, c, event.member_id, Rule.NUTRITIONIST_CERTIFIED, points, event.at)

    return [
        (MemberRegistered, registered),
        (SessionStarted, session),
        (ProfileCompleted, profile),
        (ReferralEffective, referral),
        (NutritionistCertified, certified),
    ]


# --- signed events ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IncomingEvent:
    event_id: str
    type: str
    member_id: str
    occurred_at: datetime
    data: dict[str, Any]


def rules_of(c: Container, event: IncomingEvent) -> Rules:
    """The version in effect when the event occurred."""
    return c.rules_registry.at(event.occurred_at)


def order_rules(c: Container, order: OrderItem) -> Rules:
    """The version the order's points were computed under (an unknown name is an error)."""
    return c.rules_registry.named(order.rules_version or V2026_11_23.version)


def check_occurred_at(c: Container, occurred_at: datetime) -> None:
    now = c.now()
    if occurred_at < now - EVENT_MAX_AGE or occurred_at > now + EVENT_MAX_AHEAD:
        raise OccurredAtOutOfRange()


def live_member(member_id: str) -> MemberItem:
    member = MemberItem.get_or_none(balance_pk(member_id), MemberItem.SK)
    if member is None or member.status not in (MemberStatus.ACTIVE, MemberStatus.FROZEN):
        raise UnknownMember()
    return member


def order_paid(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    rules = rules_of(c, event)
    data = event.data
    order_id, gross, paid = str(data["order_id"]), int(data["gross_fen"]), int(data["paid_fen"])
    if OrderItem.get_or_none(f"ORDER#{order_id}", OrderItem.SK) is not None:
        raise OrderExists()
    day = local_date(event.occurred_at)
    release_on = day + timedelta(days=rules.points.return_window_days)
    earns = can_earn(member)
    multiplier = earning.birthday_multiplier(day, member.birth_months or (), rules.earning)
    own = earning.purchase_points(paid, multiplier, rules.earning) if earns else 0
    order = OrderItem(
        pk=f"ORDER#{order_id}",
        sk=OrderItem.SK,
        order_id=order_id,
        member_id=member.member_id,
        gross_fen=gross,
        paid_fen=paid,
        refunded_fen=0,
        month=str(Month.of(day)),
        paid_at=event.occurred_at,
        release_on=release_on.isoformat(),
        own_points=own,
        own_multiplier=multiplier,
        own_rule=Rule.PURCHASE.value if own else None,
        rules_version=rules.version,
    )
    if own:
        _pending(uow, c, member.member_id, order_id, "own", Rule.PURCHASE, own, day, release_on)
    if paid > 0 and member.first_paid_at is None:
        uow.update(
            member,
            [MemberItem.first_paid_at.set(event.occurred_at)],
            condition=MemberItem.first_paid_at.does_not_exist(),
            on_fail=ConcurrentUpdate(),
        )
        referrer = live_referrer(member)
        if referrer is not None:
            bonus = earning.referral_first_purchase_points(gross, rules.earning)
            if bonus:
                order.referrer_id, order.referral_points = referrer.member_id, bonus
                _pending(
                    uow,
                    c,
                    referrer.member_id,
                    order_id,
                    "referral",
                    Rule.REFERRAL_FIRST_PURCHASE,
                    bonus,
                    day,
                    release_on,
                )
    uow.put(order, condition=OrderItem.pk.does_not_exist(), on_fail=OrderExists())
    add_volume(uow, member.member_id, str(Month.of(day)), paid, c.now())


def live_referrer(member: MemberItem) -> MemberItem | None:
    if not member.referrer_id:
        return None
    referrer = MemberItem.get_or_none(balance_pk(member.referrer_id), MemberItem.SK)
    return referrer if can_earn(referrer) else None


def _pending(
    uow: UnitOfWork,
    c: Container,
    member_id: str,
    order_id: str,
    source: str,
    rule: Rule,
    points: int,
    earned_on: date,
    release_on: date,
) -> None:
    shard = shard_of(member_id)
    uow.put(
        PendingPointsItem(
            pk=balance_pk(member_id),
            sk=f"PENDING#{order_id}#{source}",
            member_id=member_id,
            order_id=order_id,
            source=source,
            rule=rule.value,
            points=points,
            earned_on=earned_on.isoformat(),
            release_on=release_on.isoformat(),
            created_at=c.now(),
            gsi3pk=f"PENDING#{shard}",
            gsi3sk=f"{release_on.isoformat()}#{member_id}#{order_id}#{source}",
        )
    )
    MemberPoints.of(uow, c, member_id).earn_pending(points, rule.value, ref=order_id)


def add_volume(uow: UnitOfWork, member_id: str, month: str, delta_fen: int, at: datetime) -> None:
    """The member's consumption of ``month`` (settlement input), never below zero."""
    shard = shard_of(member_id)
    condition = None if delta_fen >= 0 else (VolumeItem.paid_fen >= -delta_fen)
    uow.update(
        VolumeItem(pk=balance_pk(member_id), sk=f"VOLUME#{month}"),
        [
            VolumeItem.paid_fen.add(delta_fen),
            VolumeItem.member_id.set(member_id),
            VolumeItem.month.set(month),
            VolumeItem.changed_at.set(at),
            VolumeItem.gsi2pk.set(f"VOLUME#{month}#{shard}"),
            VolumeItem.gsi2sk.set(f"{iso(at)}#{member_id}"),
        ],
        condition=condition,
        on_fail=ConcurrentUpdate(),
    )


def order_refunded(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    order_id, refund = str(event.data["order_id"]), int(event.data["refund_fen"])
    order = OrderItem.get_or_none(f"ORDER#{order_id}", OrderItem.SK)
    if order is None or order.member_id != member.member_id:
        raise UnknownOrder()
    # what is kept of the order is priced as the order was, whatever the rates are today
    rules = order_rules(c, order)
    refunded = int(order.refunded_fen) + refund
    if refunded > int(order.paid_fen):
        raise RefundExceedsPaid()
    remaining = int(order.paid_fen) - refunded
    own_back = 0
    if order.own_points:
        own_due = earning.purchase_points(remaining, int(order.own_multiplier), rules.earning)
        own_back = max(int(order.own_points) - int(order.own_reversed) - own_due, 0)
        _take_back(uow, c, order.member_id, order_id, "own", Rule.PURCHASE, own_back)
    referral_back = 0
    if order.referrer_id and order.referral_points:
        due = min(
            earning.referral_points_after_refund(int(order.gross_fen), int(order.paid_fen), refunded, rules.earning),
            int(order.referral_points),
        )
        referral_back = max(int(order.referral_points) - int(order.referral_reversed) - due, 0)
        _take_back(uow, c, order.referrer_id, order_id, "referral", Rule.REFERRAL_FIRST_PURCHASE, referral_back)
    uow.update(
        order,
        [
            OrderItem.refunded_fen.set(refunded),
            OrderItem.own_reversed.add(own_back),
            OrderItem.referral_reversed.add(referral_back),
            OrderItem.version.add(1),
        ],
        condition=OrderItem.version == int(order.version),
        on_fail=ConcurrentUpdate(),
    )
    add_volume(uow, member.member_id, order.month, -refund, c.now())


def _take_back(
    uow: UnitOfWork, c: Container, member_id: str, order_id: str, source: str, rule: Rule, points: int
) -> None:
    """Inside the return window the pending points are cancelled; after it they are
    reversed from the available balance, and what is missing becomes a debt."""
    if points <= 0:
        return
    ledger = MemberPoints.of(uow, c, member_id)
    pending = PendingPointsItem.get_or_none(balance_pk(member_id), f"PENDING#{order_id}#{source}")
    if pending is None:
        ledger.reverse(points, rule.value, ref=order_id)
        return
    left = int(pending.points) - points
    if left > 0:
        uow.update(
            pending,
            [PendingPointsItem.points.set(left)],
            condition=PendingPointsItem.points == int(pending.points),
            on_fail=ConcurrentUpdate(),
        )
    else:
        uow.delete(pending, condition=PendingPointsItem.points == int(pending.points), on_fail=ConcurrentUpdate())
    ledger.cancel_pending(min(points, int(pending.points)), rule.value, ref=order_id)


def challenge_won(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    if not can_earn(member):
        return
    rules = rules_of(c, event).earning
    day = local_date(event.occurred_at)
    if within_cap(uow, member.member_id, Rule.CHALLENGE_WIN, day, 1, rules.challenge_wins_per_day):
        MemberPoints.of(uow, c, member.member_id).earn(
            rules.challenge_win, day, Rule.CHALLENGE_WIN.value, event.event_id
        )


def content_posted(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    if not can_earn(member):
        return
    rules = rules_of(c, event).earning
    day = local_date(event.occurred_at)
    granted = within_cap(uow, member.member_id, Rule.CONTENT, day, rules.content, rules.content_points_per_day)
    MemberPoints.of(uow, c, member.member_id).earn(granted, day, Rule.CONTENT.value, event.event_id)


def _scoped_once(rule: Rule, key: str, worth: Callable[[EarningRules], int]) -> Any:
    """A rule that fires once per member per ``data[key]`` (a survey, an offline event)."""

    def handler(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
        if can_earn(member):
            points = worth(rules_of(c, event).earning)
            scope = str(event.data[key])
            if once(uow, member.member_id, rule, scope, event.occurred_at, event.event_id):
                MemberPoints.of(uow, c, member.member_id).earn(
                    points, local_date(event.occurred_at), rule.value, event.event_id
                )

    return handler


def _record_activity(uow: UnitOfWork, member: MemberItem, kind: str, ref: str, at: datetime, sk: str) -> bool:
    if ActivityItem.get_or_none(member.pk, sk) is not None:
        return False
    uow.put(
        ActivityItem(
            pk=member.pk,
            sk=sk,
            member_id=member.member_id,
            kind=kind,
            ref=ref,
            month=str(Month.of(local_date(at))),
            at=at,
        ),
        condition=ActivityItem.pk.does_not_exist(),
        on_fail=ConcurrentUpdate(),
    )
    return True


def _contribution(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    if can_earn(member):
        earn_once(
            uow,
            c,
            member.member_id,
            Rule.NUTRITIONIST_CONTRIBUTION,
            rules_of(c, event).earning.nutritionist_contribution,
            event.occurred_at,
            ref=event.event_id,
        )


def lecture_given(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    if NUTRITIONIST_ROLE not in (member.roles or ()):
        raise NotANutritionist()
    lecture_id = str(event.data["lecture_id"])
    if _record_activity(uow, member, "lecture", lecture_id, event.occurred_at, f"LECTURE#{lecture_id}"):
        _contribution(uow, c, member, event)


def guidance_committed(uow: UnitOfWork, c: Container, member: MemberItem, event: IncomingEvent) -> None:
    if NUTRITIONIST_ROLE not in (member.roles or ()):
        raise NotANutritionist()
    client = live_member(str(event.data["client_member_id"]))
    if client.member_id == member.member_id:
        raise UnknownMember("A nutritionist cannot guide themselves.")
    if NUTRITIONIST_ROLE in (client.roles or ()):
        raise RuleViolation("Guidance counts only for members who are not nutritionists.")
    month = Month.of(local_date(event.occurred_at))
    sk = f"GUIDANCE#{client.member_id}#{month}"
    if _record_activity(uow, member, "guidance", client.member_id, event.occurred_at, sk):
        _contribution(uow, c, member, event)


survey_completed = _scoped_once(Rule.SURVEY, "survey_id", lambda r: r.survey)
event_checked_in = _scoped_once(Rule.EVENT_CHECK_IN, "event_id", lambda r: r.event_check_in)
