"""Customer-service tickets: feedback, complaints and appeals, as a small state machine.

A ticket is ``open`` (waiting for staff) until staff reply (``answered``, waiting for the
member); a member's message makes it ``open`` again. Staff resolve it with an outcome
(``resolved``) or the member withdraws it (``closed``); both are final. Staff may assign
it to someone while it is live. The first staff reply and the resolution are stamped
once, for the first-reply and resolution times the report measures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .errors import Conflict, RuleViolation

MAX_MESSAGES = 100  # a thread longer than this is a case for a call, not a chat


class TicketStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    CLOSED = "closed"


LIVE = frozenset({TicketStatus.OPEN, TicketStatus.ANSWERED})


class TicketCategory(StrEnum):
    FEEDBACK = "feedback"
    COMPLAINT = "complaint"
    APPEAL = "appeal"


class AppealSubject(StrEnum):
    """What an appeal is against; its ``ref`` names the thing."""

    PENALTY = "penalty"
    FREEZE = "freeze"
    LEDGER_ENTRY = "ledger_entry"


class Outcome(StrEnum):
    EXPLAINED = "explained"  # nothing was wrong; the reply says why
    ADJUSTED = "adjusted"  # a correction through the adjustment use case
    REJECTED = "rejected"  # the appeal or complaint does not stand


class TicketFinished(Conflict):
    """The ticket is resolved or closed: nothing more happens to it."""

    code = "ticket_finished"
    default_message = "This ticket is resolved or closed."


class ThreadFull(RuleViolation):
    """The thread has its maximum number of messages."""

    code = "thread_full"
    default_message = f"A ticket holds at most {MAX_MESSAGES} messages; open a new one."


class AppealNeedsSubject(RuleViolation):
    """An appeal names what it is against; feedback and complaints may not."""

    code = "appeal_needs_subject"
    default_message = "An appeal names the penalty, freeze or ledger entry it is against."


class AdjustmentOutcomeMismatch(RuleViolation):
    """An ``adjusted`` outcome needs an adjustment, and only it may carry one."""

    code = "adjustment_outcome_mismatch"
    default_message = "Give points or amount_fen exactly when the outcome is adjusted."


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    member_id: str
    category: TicketCategory
    subject: AppealSubject | None
    subject_ref: str | None
    status: TicketStatus
    opened_at: datetime
    messages: int
    assignee: str | None = None
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: Outcome | None = None
    resolution_ref: str | None = None  # ``adjustment:<id>`` or ``approval:<id>`` of an adjusted outcome

    @staticmethod
    def open(
        ticket_id: str,
        member_id: str,
        category: TicketCategory,
        subject: AppealSubject | None,
        subject_ref: str | None,
        at: datetime,
    ) -> Ticket:
        if category is TicketCategory.APPEAL and (subject is None or not subject_ref):
            raise AppealNeedsSubject()
        return Ticket(ticket_id, member_id, category, subject, subject_ref, TicketStatus.OPEN, at, messages=1)

    def require_live(self) -> None:
        if self.status not in LIVE:
            raise TicketFinished()

    def _message(self) -> int:
        if self.messages >= MAX_MESSAGES:
            raise ThreadFull()
        return self.messages + 1

    def member_writes(self) -> Ticket:
        self.require_live()
        return replace(self, status=TicketStatus.OPEN, messages=self._message())

    def staff_replies(self, at: datetime) -> Ticket:
        self.require_live()
        return replace(
            self, status=TicketStatus.ANSWERED, messages=self._message(), first_reply_at=self.first_reply_at or at
        )

    def assign(self, staff_id: str) -> Ticket:
        self.require_live()
        return replace(self, assignee=staff_id)

    def resolve(self, outcome: Outcome, at: datetime, resolution_ref: str | None = None) -> Ticket:
        """Resolved with the staff member's closing reply, which counts as a reply too."""
        self.require_live()
        if (outcome is Outcome.ADJUSTED) != (resolution_ref is not None):
            raise AdjustmentOutcomeMismatch()
        return replace(
            self,
            status=TicketStatus.RESOLVED,
            messages=self._message(),
            first_reply_at=self.first_reply_at or at,
            resolved_at=at,
            outcome=outcome,
            resolution_ref=resolution_ref,
        )

    def withdraw(self, at: datetime) -> Ticket:
        self.require_live()
        return replace(self, status=TicketStatus.CLOSED, resolved_at=at)

    @property
    def first_reply_s(self) -> int | None:
        return _seconds(self.opened_at, self.first_reply_at)

    @property
    def resolution_s(self) -> int | None:
        return _seconds(self.opened_at, self.resolved_at) if self.status is TicketStatus.RESOLVED else None


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds())


@dataclass(frozen=True)
class Durations:
    count: int
    median_s: int | None
    p90_s: int | None


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """Nearest rank: the smallest value with at least ``fraction`` of the values at or below it."""
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def durations(values: Sequence[int | None]) -> Durations:
    known = sorted(v for v in values if v is not None)
    if not known:
        return Durations(0, None, None)
    return Durations(len(known), percentile(known, 0.5), percentile(known, 0.9))
