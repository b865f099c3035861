"""What every use case shares: optimistic retries, idempotency records and the audit log.

Retries run the use case again only after a write that was definitely not applied (a
lost race, throttling); an unknown outcome is settled by the unit of work re-sending the
same transaction, and reaches this layer only as ``OutcomeUnknown``, which is never
retried with new ids: a keyed call then answers its stored outcome if it has one.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

from ulid import ULID

from ..adapters.dynamodb.base import iso
from ..adapters.dynamodb.common import AuditItem, IdempotencyItem
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.calendar import local_date
from ..domain.errors import ConcurrentUpdate, DomainError, IdempotencyKeyReused, OutcomeUnknown, Throttled

MAX_ATTEMPTS = 8
# A member's points item is the hottest key of the table: the shop, the game server and
# the jobs may all write it at once, and a legitimate event must never be refused for
# contention alone. 24 simultaneous events for one member needed up to 8 attempts.
LEDGER_ATTEMPTS = 16
BACKOFF_BASE_S = 0.004
BACKOFF_CAP_S = 0.5
# Throttling lasts longer than a race, and each attempt already spent botocore's own 3
# retries with their backoff: a few attempts, from a higher base, then the 503. More
# would only add load to a table that asks for less, and run into the API's 28 s.
THROTTLED_ATTEMPTS = 4
THROTTLED_BACKOFF_BASE_S = 0.05


def backoff_s(number: int, base_s: float = BACKOFF_BASE_S) -> float:
    """Full jitter: a random wait up to an exponential bound, capped."""
    return random.uniform(0, min(BACKOFF_CAP_S, base_s * 2**number))


def retrying[T](attempt: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run a read-decide-write use case again when another writer changed its inputs.

    Each attempt re-reads its state; the write is conditional on what was read, so a
    lost race is a ``ConcurrentUpdate`` and never a lost update. A throttled transaction
    was not applied either and is retried the same way, with longer waits and at most
    ``THROTTLED_ATTEMPTS`` times; then it stays ``Throttled`` (503, nothing written).
    """
    throttled = 0
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except ConcurrentUpdate:
            if number == attempts:
                raise
            time.sleep(backoff_s(number))
        except Throttled:
            throttled += 1
            if number == attempts or throttled == THROTTLED_ATTEMPTS:
                raise
            time.sleep(backoff_s(throttled, THROTTLED_BACKOFF_BASE_S))
    raise AssertionError("unreachable")


# --- idempotency ----------------------------------------------------------------------------
class DuplicateRequest(Exception):
    """Internal: the idempotency record was written by an earlier (or concurrent) request."""


def fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _idempotency_key(scope: str, key: str) -> tuple[str, str]:
    return f"IDEM#{scope}#{key}", IdempotencyItem.SK


def remember(uow: UnitOfWork, c: Container, scope: str, key: str, print_: str, outcome: dict[str, Any]) -> None:
    """Write the idempotency record in the same transaction as the change it protects."""
    pk, sk = _idempotency_key(scope, key)
    uow.put(
        IdempotencyItem(pk=pk, sk=sk, fingerprint=print_, outcome=outcome, created_at=c.now()),
        condition=IdempotencyItem.pk.does_not_exist(),
        on_fail=DuplicateRequest,
    )


def _replay(scope: str, key: str, print_: str, reused: type[DomainError]) -> dict[str, Any] | None:
    record = IdempotencyItem.get_or_none(*_idempotency_key(scope, key))
    if record is None:
        return None
    if record.fingerprint != print_:
        raise reused()
    return dict(record.outcome)


def idempotent(
    scope: str,
    key: str,
    print_: str,
    attempt: Callable[[], dict[str, Any]],
    reused: type[DomainError] = IdempotencyKeyReused,
    attempts: int = MAX_ATTEMPTS,
) -> tuple[dict[str, Any], bool]:
    """``(outcome, replayed)``: the first outcome for this key, computed at most once.

    ``attempt`` must call ``remember`` inside its transaction. A retry (or a concurrent
    twin whose transaction lost) gets the stored outcome and writes nothing; the same
    key with a different request is ``IdempotencyKeyReused``. When the commit's outcome
    stays unknown, the record says whether it was applied: its outcome if so, else
    ``OutcomeUnknown`` (503) and the client's retry with this key settles it.
    """
    stored = _replay(scope, key, print_, reused)
    if stored is not None:
        return stored, True
    try:
        return retrying(attempt, attempts), False
    except DuplicateRequest:
        stored = _replay(scope, key, print_, reused)
        if stored is None:  # the record must exist if its condition failed
            raise ConcurrentUpdate() from None
        return stored, True
    except OutcomeUnknown:
        stored = _replay(scope, key, print_, reused)
        if stored is None:
            raise
        return stored, False
    except DomainError:
        # A concurrent twin may have committed first: this attempt then fails on what the
        # twin wrote (say, its order already exists) rather than on the idempotency
        # record. The retry still gets the first outcome.
        stored = _replay(scope, key, print_, reused)
        if stored is None:
            raise
        return stored, True


# --- audit ------------------------------------------------------------------------------------
def audit(
    uow: UnitOfWork,
    c: Container,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str,
    reason: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> str:
    """Record a staff action in the same transaction as the action (RULES.md 6.5).

    ``before``/``after`` must hold no personal data in clear: pass states and masked values.
    """
    now = c.now()
    audit_id = str(ULID())
    stamp = f"{iso(now)}#{audit_id}"
    uow.put(
        AuditItem(
            pk=f"AUDIT#{local_date(now).isoformat()}",
            sk=stamp,
            audit_id=audit_id,
            at=now,
            actor_id=actor.subject,
            actor_roles=set(actor.roles) or None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            before=before,
            after=after,
            gsi1pk=f"AUDITOF#{target_id}",
            gsi1sk=stamp,
        )
    )
    return audit_id


def once_per_key(scope: str, key: str | None, print_: str, attempt: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a money-moving use case: exactly once per idempotency key when the caller
    gives one (``attempt`` must ``remember`` it), otherwise with optimistic retries."""
    if key is None:
        return retrying(attempt)
    return idempotent(scope, key, print_, attempt)[0]
