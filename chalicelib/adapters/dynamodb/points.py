"""Points entities: the balance item (with its expiry lots), ledger entries, pending
purchase points, orders, monthly consumption, caps and once-only markers.

The balance item holds the member's lots as a map ``{"YYYY-MM": points}`` keyed by
expiry month: at most 13 live lots, so every change to a member's points is one
conditional write of one item (plus its ledger entry), guarded by ``version``.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from .base import BaseItem, gsi


class PointsBalanceItem(BaseItem):
    """``MEMBER#<id>`` / ``POINTS``.

    ``available`` is negative while the member is in points debt (RULES.md 3.2).
    gsi2: ``MEMBERS#<shard>`` / ``B#<id>``: lifetime points for the settlement jobs (the
    ``P#``/``B#`` prefixes let a job read profiles or balances of a shard, not both).
    gsi3: ``EXPIRY#<shard>`` / ``<earliest lot month>#<id>`` while any lot is live: the
    expiry job reads only the members whose earliest lot is due.
    """

    SK = "POINTS"
    member_id = UnicodeAttribute()
    available = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    lifetime = NumberAttribute(default=0)
    lots = MapAttribute(default=dict)
    version = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)
    # lifetime points when the month of the last change began: the settlement jobs read
    # a member's stars at the end of a period from it (RULES.md 5)
    opening_month = UnicodeAttribute(null=True)
    opening_lifetime = NumberAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    population = gsi(2)()
    expiry_queue = gsi(3)()


class LotShare(MapAttribute):
    month = UnicodeAttribute()
    points = NumberAttribute()


class PointsEntryItem(BaseItem):
    """``MEMBER#<id>`` / ``PLEDGER#<balance version>#<n>``: one immutable change.

    ``points`` changes ``available``, ``pending_delta`` ``pending``, ``held_delta``
    ``held`` and ``lifetime_delta`` ``lifetime``; each balance equals the sum of its
    column. The sort key follows the balance item's version, so the ledger reads in the
    exact order the balance changed.
    """

    entry_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    rule = UnicodeAttribute(null=True)
    points = NumberAttribute()
    pending_delta = NumberAttribute(default=0)
    held_delta = NumberAttribute(default=0)
    lifetime_delta = NumberAttribute(default=0)
    balance_after = NumberAttribute()
    pending_after = NumberAttribute()
    held_after = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    expires_on = UnicodeAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    lots = ListAttribute(of=LotShare, null=True)
    note = UnicodeAttribute(null=True)


class PendingPointsItem(BaseItem):
    """``MEMBER#<id>`` / ``PENDING#<order id>#<own|referral>``: purchase points in the return window.

    gsi3: ``PENDING#<shard>`` / ``<release day>#<id>#<order id>``: the release job reads
    only what is due.
    """

    member_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    source = UnicodeAttribute()  # "own" | "referral"
    rule = UnicodeAttribute()
    points = NumberAttribute()
    earned_on = UnicodeAttribute()  # the order's calendar day: it fixes the expiry month
    release_on = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    release_queue = gsi(3)()


class OrderItem(BaseItem):
    """``ORDER#<order id>`` / ``ORDER``: what an order paid and which points it earned."""

    SK = "ORDER"
    order_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    gross_fen = NumberAttribute()
    paid_fen = NumberAttribute()
    refunded_fen = NumberAttribute(default=0)
    month = UnicodeAttribute()
    paid_at = UTCDateTimeAttribute()
    release_on = UnicodeAttribute()
    own_points = NumberAttribute(default=0)
    own_multiplier = NumberAttribute(default=1)
    own_rule = UnicodeAttribute(null=True)
    referrer_id = UnicodeAttribute(null=True)
    referral_points = NumberAttribute(default=0)
    own_reversed = NumberAttribute(default=0)
    referral_reversed = NumberAttribute(default=0)
    version = NumberAttribute(default=0)
    # the rules version its points were computed under; orders stored before it was kept
    # have none and were all computed under the first version
    rules_version = UnicodeAttribute(null=True)


class VolumeItem(BaseItem):
    """``MEMBER#<id>`` / ``VOLUME#<YYYY-MM>``: money paid in that month, net of its refunds.

    gsi2: ``VOLUME#<YYYY-MM>#<shard>`` / ``<changed_at>#<id>``: a month's consumption, read
    shard by shard by the settlement jobs; ordered by the last change, so a job can ask
    cheaply whether a settled month changed since it was computed.
    """

    member_id = UnicodeAttribute()
    month = UnicodeAttribute()
    paid_fen = NumberAttribute(default=0)
    changed_at = UTCDateTimeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    by_month = gsi(2)()


class CapItem(BaseItem):
    """``MEMBER#<id>`` / ``CAP#<rule>#<day>``: what a daily-capped rule has given that day."""

    used = NumberAttribute(default=0)


class OnceItem(BaseItem):
    """``MEMBER#<id>`` / ``ONCE#<rule>#<scope>``: a once-only rule has fired."""

    rule = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    ref = UnicodeAttribute(null=True)


class ActivityItem(BaseItem):
    """``MEMBER#<id>`` / ``LECTURE#<lecture id>`` or ``GUIDANCE#<client id>#<YYYY-MM>``:
    a nutritionist's recorded public lecture or month of guidance (guide evaluation)."""

    member_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # "lecture" | "guidance"
    ref = UnicodeAttribute()
    month = UnicodeAttribute()
    at = UTCDateTimeAttribute()
