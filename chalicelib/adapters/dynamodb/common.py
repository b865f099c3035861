"""Entities every area shares: the audit log and idempotency records."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute

from .base import BaseItem, gsi


class AuditItem(BaseItem):
    """``AUDIT#<YYYY-MM-DD>`` / ``<at>#<audit id>``: one staff action (RULES.md 6.5).

    gsi1: ``AUDITOF#<target id>`` / ``<at>#<audit id>``: the history of one member or thing.
    """

    audit_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    actor_roles = UnicodeSetAttribute(null=True)
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_target = gsi(1)()


class IdempotencyItem(BaseItem):
    """``IDEM#<scope>#<key>`` / ``IDEM``: the first outcome of a keyed request (RULES.md 6.3)."""

    SK = "IDEM"
    fingerprint = UnicodeAttribute()
    outcome = JSONAttribute()
    created_at = UTCDateTimeAttribute()
