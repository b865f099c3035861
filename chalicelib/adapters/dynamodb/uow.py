"""The unit of work: everything one use case writes goes out as ONE TransactWriteItems.

A service adds puts, updates, deletes and condition checks, each with the domain error
to raise if *its* condition is what cancelled the transaction, and emits domain
events. ``commit()`` first lets the registered handlers add their own writes for those
events (so that, say, registration and its welcome points are one atomic write), then
sends the transaction. Nothing is written unless ``commit()`` is called.

Failures are translated here, once (see ``faults`` for the three outcomes): a cancelled
condition becomes the operation's domain error, a transaction conflict becomes
``ConcurrentUpdate`` and throttling ``Throttled`` (the service layer retries both: nothing
was applied). An UNKNOWN outcome is never handed back as a failure to run the use case
again: every unit of work has an operation id, sent as the transaction's
``ClientRequestToken``, and the same transaction is re-sent under it. DynamoDB answers
a re-send of a committed transaction with success and applies nothing (for 10 minutes),
so the re-send settles the outcome; if it stays unknown, ``OutcomeUnknown``. Anything
else is a bug and propagates.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from ...domain.errors import ConcurrentUpdate, DomainError, OutcomeUnknown, Throttled
from .base import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, region
from .faults import THROTTLING_REASONS, is_throttled, outcome_unknown

MAX_TRANSACTION_ITEMS = 100
# Re-sends of a transaction whose outcome is unknown (botocore has already re-sent the
# same body up to 3 times inside each): at most 4, and none once 5 s have passed since
# the first send, well inside the token's 10 minutes and the API function's 28 s.
UNKNOWN_RESENDS = 4
RESEND_BUDGET_S = 5.0
RESEND_BACKOFF_BASE_S = 0.05
RESEND_BACKOFF_CAP_S = 0.4

# PynamoDB sends condition checks, deletes, puts and updates in this order; the
# cancellation reasons come back in the same order.
_CHECK, _DELETE, _PUT, _UPDATE = range(4)

FailureFactory = Callable[[], BaseException]
EventHandler = Callable[[Any, "UnitOfWork"], None]


class TooManyWrites(RuntimeError):
    """A use case tried to put more than 100 items in one transaction (a bug)."""


@dataclass
class _Operation:
    order: int
    label: str
    send: Callable[[TransactWrite], None]
    on_fail: FailureFactory | None


_connections: dict[str, Connection] = {}
_connections_lock = threading.Lock()


def _connection() -> Connection:
    name = region()
    with _connections_lock:
        if name not in _connections:
            _connections[name] = Connection(
                region=name,
                max_retry_attempts=3,
                connect_timeout_seconds=CONNECT_TIMEOUT_S,
                read_timeout_seconds=READ_TIMEOUT_S,
            )
        return _connections[name]


def _failure(error: DomainError | FailureFactory | None) -> FailureFactory | None:
    if error is None or (callable(error) and not isinstance(error, BaseException)):
        return error  # type: ignore[return-value]
    return lambda: error  # type: ignore[return-value]


class UnitOfWork:
    def __init__(self, handlers: Mapping[type, Iterable[EventHandler]] | None = None) -> None:
        self._handlers: dict[type, list[EventHandler]] = defaultdict(list)
        for event_type, functions in (handlers or {}).items():
            self._handlers[event_type].extend(functions)
        self._operations: list[_Operation] = []
        self._events: list[Any] = []
        self._keys: set[tuple[str, str]] = set()
        self._shared: dict[Any, Any] = {}
        self.committed = False
        # ClientRequestToken allows 36 characters: a UUID's text is exactly that
        self.operation_id = str(uuid.uuid4())

    # --- writes ------------------------------------------------------------------------
    def _track(self, item: Model | tuple[str, str]) -> str:
        key = item if isinstance(item, tuple) else (item.pk, item.sk)  # type: ignore[attr-defined]
        if key in self._keys:
            raise ValueError(f"one transaction cannot write {key[0]}/{key[1]} twice")
        self._keys.add(key)
        return f"{key[0]}/{key[1]}"

    def put(
        self, item: Model, condition: Condition | None = None, on_fail: DomainError | FailureFactory | None = None
    ) -> None:
        label = self._track(item)
        self._operations.append(
            _Operation(_PUT, label, lambda tx: tx.save(item, condition=condition), _failure(on_fail))
        )

    def update(
        self,
        item: Model,
        actions: list[Action],
        condition: Condition | None = None,
        on_fail: DomainError | FailureFactory | None = None,
        *,
        versioned: bool = False,
    ) -> None:
        """Update attributes; ``versioned`` adds PynamoDB's optimistic version check."""
        label = self._track(item)
        self._operations.append(
            _Operation(
                _UPDATE,
                label,
                # a copy: PynamoDB appends the version increment to the list it is given,
                # and a re-send must be the same request (else IdempotentParameterMismatch)
                lambda tx: tx.update(item, list(actions), condition=condition, add_version_condition=versioned),
                _failure(on_fail),
            )
        )

    def delete(
        self, item: Model, condition: Condition | None = None, on_fail: DomainError | FailureFactory | None = None
    ) -> None:
        label = self._track(item)
        self._operations.append(
            _Operation(
                _DELETE,
                label,
                lambda tx: tx.delete(item, condition=condition, add_version_condition=False),
                _failure(on_fail),
            )
        )

    def check(
        self,
        model: type[Model],
        hash_key: str,
        range_key: str,
        condition: Condition,
        on_fail: DomainError | FailureFactory | None = None,
    ) -> None:
        label = self._track((hash_key, range_key))
        self._operations.append(
            _Operation(
                _CHECK,
                label,
                lambda tx: tx.condition_check(model, hash_key, range_key, condition=condition),
                _failure(on_fail),
            )
        )

    def emit(self, event: Any) -> None:
        self._events.append(event)

    def shared(self, key: Any, factory: Callable[[], Any]) -> Any:
        """One object per key for this unit of work (e.g. one member's points state that
        several handlers change); objects with a ``flush(uow)`` method are flushed once,
        after the events are dispatched and before the transaction is sent."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]

    @property
    def size(self) -> int:
        return len(self._operations)

    # --- commit -------------------------------------------------------------------------
    def _dispatch_events(self) -> None:
        seen = 0
        while seen < len(self._events):
            event = self._events[seen]
            seen += 1
            for handler in self._handlers.get(type(event), ()):
                handler(event, self)

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("a unit of work commits once")
        self._dispatch_events()
        flushed: set[Any] = set()
        while pending := [key for key in self._shared if key not in flushed]:
            # a flush may share a new object (e.g. a guard on the account it writes)
            for key in pending:
                flushed.add(key)
                flush = getattr(self._shared[key], "flush", None)
                if flush is not None:
                    flush(self)
        self.committed = True
        if not self._operations:
            return
        if len(self._operations) > MAX_TRANSACTION_ITEMS:
            raise TooManyWrites(f"{len(self._operations)} writes in one transaction")
        ordered = sorted(self._operations, key=lambda op: op.order)  # stable within a kind
        started = time.monotonic()
        for resend in range(UNKNOWN_RESENDS + 1):
            try:
                self._send(ordered)
                return
            except TransactWriteError as exc:
                if not outcome_unknown(exc):
                    raise self._translate(exc, ordered) from exc
                if resend == UNKNOWN_RESENDS or time.monotonic() - started > RESEND_BUDGET_S:
                    raise OutcomeUnknown() from exc
            time.sleep(random.uniform(0, min(RESEND_BACKOFF_CAP_S, RESEND_BACKOFF_BASE_S * 2**resend)))

    def _send(self, ordered: list[_Operation]) -> None:
        # the same operations in the same order under the same token: DynamoDB refuses a
        # token re-used with different parameters, so a re-send must be this very request
        with TransactWrite(connection=_connection(), client_request_token=self.operation_id) as tx:
            for operation in ordered:
                operation.send(tx)

    @staticmethod
    def _translate(exc: TransactWriteError, ordered: list[_Operation]) -> BaseException:
        """A transaction that was definitely not applied, as the error the service layer acts on."""
        reasons = list(exc.cancellation_reasons or [])
        codes = [reason.code if reason is not None else "None" for reason in reasons]
        for operation, code in zip(ordered, codes, strict=False):
            if code == "ConditionalCheckFailed" and operation.on_fail is not None:
                return operation.on_fail()
        if "TransactionConflict" in codes or "ConditionalCheckFailed" in codes:
            # a condition without its own error is an optimistic guard: someone else won
            return ConcurrentUpdate()
        if THROTTLING_REASONS.intersection(codes) or is_throttled(exc):
            return Throttled()
        if exc.cause_response_code == "TransactionConflictException":
            return ConcurrentUpdate()
        return exc
