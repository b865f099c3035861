"""Settlement entities: one run per kind and period, its per-member lines, carry-overs."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)

from .base import BaseItem, gsi


class SettlementRunItem(BaseItem):
    """``SETTLEMENT#<kind>#<period>`` / ``RUN``: a settlement and where it stands.

    status: running -> draft -> approved -> released (``running`` again only if a crashed
    run is taken over). gsi3: ``SETTLEMENTS#<kind>`` / ``<period>``: the history.
    """

    SK = "RUN"
    settlement_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    period = UnicodeAttribute()
    status = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    # who started the run (staff ids, or "schedule"), a taker-over of a crashed run added:
    # none of them may approve it
    started_by = UnicodeSetAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    release_on = UnicodeAttribute(null=True)
    report = JSONAttribute(null=True)
    lines = NumberAttribute(default=0)
    snapshot_key = UnicodeAttribute(null=True)
    volumes_as_of = UTCDateTimeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)
    approved_at = UTCDateTimeAttribute(null=True)
    released_at = UTCDateTimeAttribute(null=True)
    rules_version = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    history = gsi(3)()


class SettlementLineItem(BaseItem):
    """``SETTLEMENT#<kind>#<period>`` / ``LINE#<member>#<component>[#<source period>]``: one
    member's amount of one component, with the basis that explains each fen.

    gsi1: ``REWARDS#<member id>`` / ``<last month of the period>#<kind>#<component>...``: the
    statement, newest period first whatever its kind.
    """

    settlement_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    period = UnicodeAttribute()
    member_id = UnicodeAttribute()
    component = UnicodeAttribute()
    amount_fen = NumberAttribute()
    basis = JSONAttribute()
    released_at = UTCDateTimeAttribute(null=True)
    credited_fen = NumberAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    statement = gsi(1)()


class CarryItem(BaseItem):
    """``MEMBER#<id>`` / ``CARRY``: a negative reward balance (adjustments larger than the
    rewards they were released with), deducted from the next release."""

    SK = "CARRY"
    member_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    updated_at = UTCDateTimeAttribute()


def unreleased_reward_fen(member_id: str) -> int:
    """What a member's settlement lines not yet released add up to (drafts included):
    what closing the account forfeits of rewards."""
    lines = SettlementLineItem.statement.query(
        f"REWARDS#{member_id}", filter_condition=SettlementLineItem.released_at.does_not_exist()
    )
    return sum(int(line.amount_fen) for line in lines)
