"""Pydantic models of the ticket routes (members' threads, staff's queue and report)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from .schemas import Body, Day, ListQuery, Out, Query, Reason

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Points = Annotated[int, Field(ge=-(10**9), le=10**9)]
Fen = Annotated[int, Field(ge=-(10**12), le=10**12)]


class Subject(Body):
    kind: Literal["penalty", "freeze", "ledger_entry"]
    ref: Ref = Field(description="the id of the penalty, freeze (its audit id) or ledger entry")


class TicketRequest(Body):
    category: Literal["feedback", "complaint", "appeal"]
    text: Text
    subject: Subject | None = Field(default=None, description="required for an appeal")


class MessageRequest(Body):
    text: Text


class AssignRequest(Body):
    staff_id: Ref | None = Field(default=None, description="defaults to the caller")


class ResolveRequest(Body):
    outcome: Literal["explained", "adjusted", "rejected"]
    text: Text = Field(description="the closing reply the member reads")
    reason: Reason | None = Field(default=None, description="the adjustment's reason (audited); with adjusted")
    points: Points | None = None
    amount_fen: Fen | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if self.points is not None and self.amount_fen is not None:
            raise ValueError("give points or amount_fen, not both")
        return self


class TicketQueueQuery(ListQuery):
    status: Literal["open", "answered", "resolved", "closed"] = "open"


class ReportQuery(Query):
    from_: Day = Field(alias="from", description="first day (Asia/Shanghai) of opening")
    to: Day = Field(description="last day (Asia/Shanghai) of opening")


class MessageOut(Out):
    author: str = Field(description="member | staff")
    author_id: str | None = Field(description="the staff id, in staff views only")
    text: str
    at: datetime


class TicketOut(Out):
    ticket_id: str
    member_id: str
    category: str
    subject: str | None
    subject_ref: str | None
    status: str = Field(description="open (waiting for staff) | answered | resolved | closed (withdrawn)")
    opened_at: datetime
    messages: int
    assignee: str | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    resolution_ref: str | None = Field(description="adjustment:<id> or approval:<id> of an adjusted outcome")
    thread: list[MessageOut] | None = Field(description="oldest first, when one ticket is read")


class TicketList(Out):
    tickets: list[TicketOut]
    next_cursor: str | None


class DurationsOut(Out):
    count: int
    median_s: int | None
    p90_s: int | None


class TicketReportOut(Out):
    opened: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    first_reply: DurationsOut
    resolution: DurationsOut
