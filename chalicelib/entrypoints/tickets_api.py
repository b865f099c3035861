"""Ticket routes: a member's feedback, complaints and appeals with their threads; staff's
queue by status and age, assignment, replies, resolution with an outcome, and the report
of first-reply and resolution times."""

from __future__ import annotations

import functools

from chalice import Blueprint

from ..adapters.dynamodb.pagination import Page
from ..domain import errors as e
from ..domain.approvals import FourEyesRequired, OwnAccount
from ..domain.tickets import AdjustmentOutcomeMismatch, AppealNeedsSubject, ThreadFull, Ticket, TicketFinished
from ..service_layer import member_lookup, tickets
from ..service_layer.tickets import TicketView
from . import schemas as s
from . import ticket_schemas as t
from .access import MEMBER
from .access import staff as staff_access
from .authorizer import bearer
from .http import Call, endpoint

tickets_api = Blueprint(__name__)
member_route = functools.partial(endpoint, tickets_api, tag="member", access=MEMBER, authorizer=bearer)
staff_route = functools.partial(endpoint, tickets_api, tag="back office", authorizer=bearer)

# ops are customer service (see backoffice_api); auditors read the queue and the report
HANDLERS = staff_access("ops", "admin")
READERS = staff_access("ops", "auditor", "admin")
_CHANGE_ERRORS = (tickets.TicketNotFound, TicketFinished, ThreadFull)


def ticket_out(ticket: Ticket, thread: list[tickets.MessageView] | None = None) -> t.TicketOut:
    return t.TicketOut(
        ticket_id=ticket.ticket_id,
        member_id=ticket.member_id,
        category=ticket.category.value,
        subject=ticket.subject.value if ticket.subject else None,
        subject_ref=ticket.subject_ref,
        status=ticket.status.value,
        opened_at=ticket.opened_at,
        messages=ticket.messages,
        assignee=ticket.assignee,
        first_reply_at=ticket.first_reply_at,
        resolved_at=ticket.resolved_at,
        outcome=ticket.outcome.value if ticket.outcome else None,
        resolution_ref=ticket.resolution_ref,
        thread=[t.MessageOut(**vars(m)) for m in thread] if thread is not None else None,
    )


def view_out(view: TicketView) -> t.TicketOut:
    return ticket_out(view.ticket, view.messages)


def tickets_out(page: Page[Ticket]) -> t.TicketList:
    return t.TicketList(tickets=[ticket_out(ticket) for ticket in page.items], next_cursor=page.next_cursor)


# --- members ---------------------------------------------------------------------------------
@member_route(
    "/v1/me/tickets",
    "POST",
    status=201,
    body=t.TicketRequest,
    response=t.TicketOut,
    summary="Open a ticket: feedback, a complaint, or an appeal against a penalty, a freeze or a ledger entry",
    errors=(AppealNeedsSubject,),
)
def open_ticket(call: Call) -> t.TicketOut:
    b = call.body
    subject, ref = (b.subject.kind, b.subject.ref) if b.subject else (None, None)
    return view_out(tickets.open_ticket(call.c, call.member_id, b.category, b.text, subject, ref))


@member_route(
    "/v1/me/tickets",
    "GET",
    query=s.ListQuery,
    response=t.TicketList,
    summary="The member's tickets, newest first",
)
def my_tickets(call: Call) -> t.TicketList:
    return tickets_out(tickets.member_tickets(call.c, call.member_id, call.query.limit, call.query.cursor))


@member_route(
    "/v1/me/tickets/{ticket_id}",
    "GET",
    response=t.TicketOut,
    summary="One of the member's tickets with its thread",
    errors=(tickets.TicketNotFound,),
)
def my_ticket(call: Call, ticket_id: str) -> t.TicketOut:
    return view_out(tickets.member_ticket(call.c, call.member_id, ticket_id))


@member_route(
    "/v1/me/tickets/{ticket_id}/messages",
    "POST",
    status=201,
    body=t.MessageRequest,
    response=t.TicketOut,
    summary="Write in the thread; the ticket waits for staff again",
    errors=_CHANGE_ERRORS,
)
def write(call: Call, ticket_id: str) -> t.TicketOut:
    return view_out(tickets.member_writes(call.c, call.member_id, ticket_id, call.body.text))


@member_route(
    "/v1/me/tickets/{ticket_id}/close",
    "POST",
    response=t.TicketOut,
    summary="Withdraw the ticket (closed); nothing more happens to it",
    errors=(tickets.TicketNotFound, TicketFinished),
)
def withdraw(call: Call, ticket_id: str) -> t.TicketOut:
    return view_out(tickets.member_withdraws(call.c, call.member_id, ticket_id))


# --- staff -------------------------------------------------------------------------------------
@staff_route(
    "/v1/admin/tickets",
    "GET",
    access=READERS,
    query=t.TicketQueueQuery,
    response=t.TicketList,
    summary="Tickets in one status (default open: waiting for staff), the oldest first",
)
def queue(call: Call) -> t.TicketList:
    q = call.query
    return tickets_out(tickets.queue(call.c, q.status, q.limit, q.cursor))


@staff_route(
    "/v1/admin/tickets/report",
    "GET",
    access=READERS,
    query=t.ReportQuery,
    response=t.TicketReportOut,
    summary="Tickets opened from..to (Asia/Shanghai days, at most 366): counts by status and category, "
    "median and p90 first-reply and resolution times in seconds",
    errors=(tickets.ReportRangeInvalid,),
)
def report(call: Call) -> t.TicketReportOut:
    r = tickets.report(call.c, call.query.from_, call.query.to)
    return t.TicketReportOut(
        opened=r.opened,
        by_status=r.by_status,
        by_category=r.by_category,
        first_reply=t.DurationsOut(**vars(r.first_reply)),
        resolution=t.DurationsOut(**vars(r.resolution)),
    )


@staff_route(
    "/v1/admin/tickets/{ticket_id}",
    "GET",
    access=READERS,
    response=t.TicketOut,
    summary="One ticket with its thread",
    errors=(tickets.TicketNotFound,),
)
def staff_ticket(call: Call, ticket_id: str) -> t.TicketOut:
    return view_out(tickets.staff_ticket(call.c, ticket_id))


@staff_route(
    "/v1/admin/tickets/{ticket_id}/assign",
    "POST",
    access=HANDLERS,
    body=t.AssignRequest,
    response=t.TicketOut,
    summary="Assign a live ticket to a staff member (default: oneself); audited",
    errors=(tickets.TicketNotFound, TicketFinished, e.NotFound, e.RuleViolation),
)
def assign(call: Call, ticket_id: str) -> t.TicketOut:
    assert call.principal is not None
    return view_out(tickets.assign(call.c, call.principal, ticket_id, call.body.staff_id))


@staff_route(
    "/v1/admin/tickets/{ticket_id}/reply",
    "POST",
    access=HANDLERS,
    body=t.MessageRequest,
    response=t.TicketOut,
    summary="Reply in the thread (the first reply is timed); audited without the text",
    errors=_CHANGE_ERRORS,
)
def reply(call: Call, ticket_id: str) -> t.TicketOut:
    assert call.principal is not None
    return view_out(tickets.reply(call.c, call.principal, ticket_id, call.body.text))


@staff_route(
    "/v1/admin/tickets/{ticket_id}/resolve",
    "POST",
    access=HANDLERS,
    body=t.ResolveRequest,
    response=t.TicketOut,
    summary="Resolve with an outcome and a closing reply; adjusted corrects points (ops) or aibi (finance) "
    "through the adjustment rules in the same write, as an approval request above the allowance",
    errors=(*_CHANGE_ERRORS, AdjustmentOutcomeMismatch, e.Forbidden, OwnAccount, FourEyesRequired, e.RuleViolation),
)
def resolve(call: Call, ticket_id: str) -> t.TicketOut:
    assert call.principal is not None
    b = call.body
    view = tickets.resolve(
        call.c, call.principal, ticket_id, b.outcome, b.text, reason=b.reason, points=b.points, amount_fen=b.amount_fen
    )
    return view_out(view)


@staff_route(
    "/v1/admin/members/{member_id}/tickets",
    "GET",
    access=READERS,
    query=s.ListQuery,
    response=t.TicketList,
    summary="A member's tickets, newest first",
    errors=(e.NotFound,),
)
def member_tickets(call: Call, member_id: str) -> t.TicketList:
    member_lookup.require_known(call.c, member_id)
    return tickets_out(tickets.member_tickets(call.c, member_id, call.query.limit, call.query.cursor))
