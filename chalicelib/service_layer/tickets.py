"""Customer-service tickets (issue 13, item 3): members open feedback, complaints and
appeals and write in their thread; staff work a queue by status and age, assign, reply
and resolve with an outcome. An adjusted outcome goes through the adjustment use case
(``adjustments.adjust``: the allowance, and four-eyes approval above it), never around it.

Ticket texts are personal data in a sense (members write numbers and names into them):
they are stored encrypted and never logged; staff actions are audited with the state they
changed, never the text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ulid import ULID

from ..adapters.dynamodb.pagination import Page
from ..adapters.dynamodb.tickets import StoredMessage, StoredTicket, TicketRepository
from ..adapters.dynamodb.uow import UnitOfWork
from ..adapters.tokens import Principal
from ..bootstrap import Container
from ..domain.calendar import start_of_local_day
from ..domain.errors import NotFound, RuleViolation
from ..domain.tickets import (
    AdjustmentOutcomeMismatch,
    AppealSubject,
    Durations,
    Outcome,
    Ticket,
    TicketCategory,
    TicketStatus,
    durations,
)
from . import adjustments
from .common import audit, retrying
from .members import require_live_or_frozen, require_member
from .staff import require_staff

MESSAGE_FIELD = "ticket-message"
MAX_REPORT_DAYS = 366


class TicketNotFound(NotFound):
    """No such ticket, or not this member's."""

    code = "ticket_not_found"
    default_message = "No such ticket."


class ReportRangeInvalid(RuleViolation):
    """The report's dates are reversed or span more than a year."""

    code = "invalid_report_range"
    default_message = f"from must not be after to, and the range at most {MAX_REPORT_DAYS} days."


@dataclass(frozen=True)
class MessageView:
    author: str  # member | staff
    author_id: str | None  # the staff id, for staff views only
    text: str
    at: datetime


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    messages: list[MessageView] | None  # the thread, when one ticket is read


@dataclass(frozen=True)
class TicketReport:
    opened: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    first_reply: Durations
    resolution: Durations


def _repo(c: Container) -> TicketRepository:
    return TicketRepository(c.cursors)


def _message(c: Container, author: str, author_id: str, text: str) -> StoredMessage:
    return StoredMessage(str(ULID()), author, author_id, c.cipher.encrypt(text, field=MESSAGE_FIELD), c.now())


def _thread(c: Container, ticket_id: str, for_staff: bool) -> list[MessageView]:
    return [
        MessageView(
            m.author,
            m.author_id if for_staff and m.author == "staff" else None,
            c.cipher.decrypt(m.text_enc, field=MESSAGE_FIELD),
            m.at,
        )
        for m in _repo(c).thread(ticket_id)
    ]


def _require(ticket_id: str, member_id: str | None = None) -> StoredTicket:
    stored = TicketRepository.get(ticket_id)
    # another member's ticket answers like an unknown one: ids must not be probed
    if stored is None or (member_id is not None and stored.ticket.member_id != member_id):
        raise TicketNotFound()
    return stored


# --- members -----------------------------------------------------------------------------------
def open_ticket(
    c: Container,
    member_id: str,
    category: str,
    text: str,
    subject: str | None,
    subject_ref: str | None,
) -> TicketView:
    """Frozen members may open one too: an appeal against the freeze is what they need."""
    require_live_or_frozen(require_member(member_id))
    ticket = Ticket.open(
        str(ULID()),
        member_id,
        TicketCategory(category),
        AppealSubject(subject) if subject else None,
        subject_ref,
        c.now(),
    )
    uow = c.uow()
    TicketRepository.add(uow, ticket, _message(c, "member", member_id, text))
    uow.commit()
    return TicketView(ticket, _thread(c, ticket.ticket_id, for_staff=False))


def member_tickets(c: Container, member_id: str, limit: int, cursor: str | None) -> Page[Ticket]:
    return _repo(c).of_member(member_id, limit, cursor)


def member_ticket(c: Container, member_id: str, ticket_id: str) -> TicketView:
    return TicketView(_require(ticket_id, member_id).ticket, _thread(c, ticket_id, for_staff=False))


def member_writes(c: Container, member_id: str, ticket_id: str, text: str) -> TicketView:
    def attempt() -> Ticket:
        stored = _require(ticket_id, member_id)
        ticket = stored.ticket.member_writes()
        uow = c.uow()
        TicketRepository.save(uow, stored, ticket, _message(c, "member", member_id, text))
        uow.commit()
        return ticket

    return TicketView(retrying(attempt), _thread(c, ticket_id, for_staff=False))


def member_withdraws(c: Container, member_id: str, ticket_id: str) -> TicketView:
    def attempt() -> Ticket:
        stored = _require(ticket_id, member_id)
        ticket = stored.ticket.withdraw(c.now())
        uow = c.uow()
        TicketRepository.save(uow, stored, ticket)
        uow.commit()
        return ticket

    return TicketView(retrying(attempt), _thread(c, ticket_id, for_staff=False))


# --- staff -----------------------------------------------------------------------------------------
def queue(c: Container, status: str, limit: int, cursor: str | None) -> Page[Ticket]:
    return _repo(c).queue(TicketStatus(status), limit, cursor)


def staff_ticket(c: Container, ticket_id: str) -> TicketView:
    return TicketView(_require(ticket_id).ticket, _thread(c, ticket_id, for_staff=True))


def _audited_change(
    c: Container,
    actor: Principal,
    ticket_id: str,
    action: str,
    change: Callable[[UnitOfWork, Ticket], Ticket],
    text: str | None,
) -> TicketView:
    """Apply ``change`` with the staff member's message, audited with the states before
    and after, in one transaction conditioned on the ticket read; retried on a lost race
    (re-read: a ticket resolved meanwhile is then refused as finished)."""

    def attempt() -> Ticket:
        stored = _require(ticket_id)
        before = stored.ticket
        uow = c.uow()
        after = change(uow, before)
        message = _message(c, "staff", actor.subject, text) if text is not None else None
        TicketRepository.save(uow, stored, after, message)
        audit(uow, c, actor, action, "ticket", ticket_id, None, _facts(before), _facts(after))
        uow.commit()
        return after

    return TicketView(retrying(attempt), _thread(c, ticket_id, for_staff=True))


def _facts(ticket: Ticket) -> dict[str, object]:
    return {
        "member_id": ticket.member_id,
        "status": ticket.status.value,
        "assignee": ticket.assignee,
        "messages": ticket.messages,
        "outcome": ticket.outcome.value if ticket.outcome else None,
        "resolution_ref": ticket.resolution_ref,
    }


def assign(c: Container, actor: Principal, ticket_id: str, staff_id: str | None) -> TicketView:
    assignee = staff_id or actor.subject
    staff = require_staff(assignee)
    if not staff.active:
        raise RuleViolation("This staff account is inactive.")
    return _audited_change(c, actor, ticket_id, "ticket.assign", lambda _, t: t.assign(assignee), None)


def reply(c: Container, actor: Principal, ticket_id: str, text: str) -> TicketView:
    return _audited_change(c, actor, ticket_id, "ticket.reply", lambda _, t: t.staff_replies(c.now()), text)


def resolve(
    c: Container,
    actor: Principal,
    ticket_id: str,
    outcome: str,
    text: str,
    *,
    reason: str | None,
    points: int | None,
    amount_fen: int | None,
) -> TicketView:
    """Resolve with a closing reply. ``adjusted`` corrects the member's points or aibi
    through the adjustment use case (its role check, the own-account refusal, the
    allowance, four-eyes approval above it) in the very transaction that resolves the
    ticket, so a correction happens exactly when the resolution commits: two staff members
    resolving at once cannot both adjust. Above the allowance the ticket keeps the id of
    the approval request, which a second staff member decides."""
    chosen = Outcome(outcome)
    change_asked = points is not None or amount_fen is not None
    if (chosen is Outcome.ADJUSTED) != change_asked or (change_asked and not reason):
        raise AdjustmentOutcomeMismatch()
    stored = _require(ticket_id)
    stored.ticket.require_live()
    checked = (
        adjustments.checked_change(actor, stored.ticket.member_id, points, amount_fen) if change_asked else None
    )

    def change(uow: UnitOfWork, ticket: Ticket) -> Ticket:
        ref = None
        if checked is not None:
            kind, amount = checked
            why = f"{reason} (ticket {ticket_id})"
            done = adjustments.write_adjustment(uow, c, actor, kind, ticket.member_id, amount, why)
            ref = f"approval:{done['approval_id']}" if "approval_id" in done else f"adjustment:{done['adjustment_id']}"
        return ticket.resolve(chosen, c.now(), ref)

    return _audited_change(c, actor, ticket_id, "ticket.resolve", change, text)


def report(c: Container, first: date, last: date) -> TicketReport:
    """Tickets opened on ``first`` .. ``last`` (Asia/Shanghai days): counts by status and
    category, and first-reply and resolution times (median and p90, nearest rank)."""
    if last < first or (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ReportRangeInvalid()
    tickets = list(TicketRepository.opened_between(start_of_local_day(first), start_of_local_day(last + timedelta(1))))
    by_status = {status.value: 0 for status in TicketStatus}
    by_category = {category.value: 0 for category in TicketCategory}
    for ticket in tickets:
        by_status[ticket.status.value] += 1
        by_category[ticket.category.value] += 1
    return TicketReport(
        opened=len(tickets),
        by_status=by_status,
        by_category=by_category,
        first_reply=durations([t.first_reply_s for t in tickets]),
        resolution=durations([t.resolution_s for t in tickets]),
    )
