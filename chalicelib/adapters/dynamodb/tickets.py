"""Tickets and their threads in the single table, behind ``TicketRepository``.

``TICKET#<id>`` / ``TICKET``: the ticket's state (``domain.tickets.Ticket``) and a
``version`` every change is conditioned on. gsi1 ``TICKETS#<member>`` /
``<opened_at>#<id>``: a member's tickets; gsi2 ``TICKETSOPENED#<YYYY-MM>`` /
``<opened_at>#<id>``: tickets by the month they were opened (the report); gsi3
``TICKETQ#<status>`` / ``<opened_at>#<id>``: staff's queue by status, oldest first.
``TICKET#<id>`` / ``MSG#<at>#<ulid>``: one message of the thread, its text encrypted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from ...domain.calendar import Month
from ...domain.tickets import AppealSubject, Outcome, Ticket, TicketCategory, TicketStatus
from .base import BaseItem, gsi, iso
from .pagination import Cursors, Page, query_page
from .uow import UnitOfWork


class TicketItem(BaseItem):
    SK = "TICKET"
    ticket_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    category = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    subject_ref = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    messages = NumberAttribute()
    assignee = UnicodeAttribute(null=True)
    first_reply_at = UTCDateTimeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    resolution_ref = UnicodeAttribute(null=True)
    version = NumberAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    by_member = gsi(1)()
    by_month = gsi(2)()
    queue = gsi(3)()


class TicketMessageItem(BaseItem):
    message_id = UnicodeAttribute()
    author = UnicodeAttribute()  # member | staff
    author_id = UnicodeAttribute()
    text_enc = UnicodeAttribute()
    at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class StoredTicket:
    ticket: Ticket
    version: int


@dataclass(frozen=True)
class StoredMessage:
    message_id: str
    author: str
    author_id: str
    text_enc: str
    at: datetime


def _pk(ticket_id: str) -> str:
    return f"TICKET#{ticket_id}"


def _ticket(item: TicketItem) -> Ticket:
    return Ticket(
        ticket_id=item.ticket_id,
        member_id=item.member_id,
        category=TicketCategory(item.category),
        subject=AppealSubject(item.subject) if item.subject else None,
        subject_ref=item.subject_ref,
        status=TicketStatus(item.status),
        opened_at=item.opened_at,
        messages=int(item.messages),
        assignee=item.assignee,
        first_reply_at=item.first_reply_at,
        resolved_at=item.resolved_at,
        outcome=Outcome(item.outcome) if item.outcome else None,
        resolution_ref=item.resolution_ref,
    )


def _item(ticket: Ticket, version: int) -> TicketItem:
    stamp = f"{iso(ticket.opened_at)}#{ticket.ticket_id}"
    return TicketItem(
        pk=_pk(ticket.ticket_id),
        sk=TicketItem.SK,
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
        version=version,
        gsi1pk=f"TICKETS#{ticket.member_id}",
        gsi1sk=stamp,
        gsi2pk=_month_partition(Month.of(ticket.opened_at.astimezone(UTC).date())),
        gsi2sk=stamp,
        gsi3pk=f"TICKETQ#{ticket.status.value}",
        gsi3sk=stamp,
    )


def _month_partition(month: Month) -> str:
    return f"TICKETSOPENED#{month}"


class TicketRepository:
    def __init__(self, cursors: Cursors) -> None:
        self._cursors = cursors

    @staticmethod
    def get(ticket_id: str) -> StoredTicket | None:
        item = TicketItem.get_or_none(_pk(ticket_id), TicketItem.SK)
        return StoredTicket(_ticket(item), int(item.version)) if item else None

    @staticmethod
    def add(uow: UnitOfWork, ticket: Ticket, message: StoredMessage) -> None:
        uow.put(_item(ticket, 1), condition=TicketItem.pk.does_not_exist())
        TicketRepository._put_message(uow, ticket.ticket_id, message)

    @staticmethod
    def save(uow: UnitOfWork, stored: StoredTicket, ticket: Ticket, message: StoredMessage | None = None) -> None:
        """Write the ticket's new state if nobody changed it since ``stored`` was read (a
        lost race is a ``ConcurrentUpdate`` the service retries on a fresh read)."""
        uow.put(_item(ticket, stored.version + 1), condition=TicketItem.version == stored.version)
        if message is not None:
            TicketRepository._put_message(uow, ticket.ticket_id, message)

    @staticmethod
    def _put_message(uow: UnitOfWork, ticket_id: str, message: StoredMessage) -> None:
        uow.put(
            TicketMessageItem(
                pk=_pk(ticket_id),
                sk=f"MSG#{iso(message.at)}#{message.message_id}",
                message_id=message.message_id,
                author=message.author,
                author_id=message.author_id,
                text_enc=message.text_enc,
                at=message.at,
            ),
            condition=TicketMessageItem.pk.does_not_exist(),
        )

    @staticmethod
    def thread(ticket_id: str) -> list[StoredMessage]:
        """The whole thread, oldest first (at most ``domain.tickets.MAX_MESSAGES``)."""
        items = TicketMessageItem.query(_pk(ticket_id), TicketMessageItem.sk.startswith("MSG#"), consistent_read=True)
        return [StoredMessage(i.message_id, i.author, i.author_id, i.text_enc, i.at) for i in items]

    def of_member(self, member_id: str, limit: int, cursor: str | None) -> Page[Ticket]:
        return query_page(
            TicketItem.by_member,
            f"TICKETS#{member_id}",
            cursors=self._cursors,
            limit=limit,
            cursor=cursor,
            newest_first=True,
            convert=_ticket,
        )

    def queue(self, status: TicketStatus, limit: int, cursor: str | None) -> Page[Ticket]:
        """Tickets in one status, the oldest first (their age is the queue's order)."""
        return query_page(
            TicketItem.queue,
            f"TICKETQ#{status.value}",
            cursors=self._cursors,
            limit=limit,
            cursor=cursor,
            convert=_ticket,
        )

    @staticmethod
    def opened_between(start: datetime, end: datetime) -> Iterator[Ticket]:
        """Tickets opened in [``start``, ``end``), one query per month of UTC days it spans."""
        month, last = Month.of(start.astimezone(UTC).date()), Month.of(end.astimezone(UTC).date())
        while month <= last:
            items = TicketItem.by_month.query(
                _month_partition(month), TicketItem.gsi2sk.between(iso(start), iso(end))
            )
            yield from (_ticket(item) for item in items if item.opened_at < end)
            month = month.shift(1)
