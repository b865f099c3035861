"""The ticket lifecycle: open -> answered -> resolved | closed, with the times it records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.tickets import (
    MAX_MESSAGES,
    AdjustmentOutcomeMismatch,
    AppealNeedsSubject,
    AppealSubject,
    Outcome,
    ThreadFull,
    Ticket,
    TicketCategory,
    TicketFinished,
    TicketStatus,
    durations,
    percentile,
)

OPENED = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def new_ticket(category: TicketCategory = TicketCategory.COMPLAINT) -> Ticket:
    return Ticket.open("t1", "m1", category, None, None, OPENED)


def test_a_new_ticket_waits_for_staff_with_the_members_first_message():
    ticket = new_ticket()
    assert (ticket.status, ticket.messages, ticket.first_reply_s, ticket.resolution_s) == (
        TicketStatus.OPEN,
        1,
        None,
        None,
    )


def test_an_appeal_must_name_what_it_is_against():
    with pytest.raises(AppealNeedsSubject):
        Ticket.open("t1", "m1", TicketCategory.APPEAL, None, None, OPENED)
    with pytest.raises(AppealNeedsSubject):
        Ticket.open("t1", "m1", TicketCategory.APPEAL, AppealSubject.FREEZE, "", OPENED)
    appeal = Ticket.open("t1", "m1", TicketCategory.APPEAL, AppealSubject.LEDGER_ENTRY, "01ENTRY", OPENED)
    assert (appeal.subject, appeal.subject_ref) == (AppealSubject.LEDGER_ENTRY, "01ENTRY")


def test_the_first_staff_reply_is_stamped_once_and_a_member_message_reopens_the_ticket():
    replied = new_ticket().staff_replies(OPENED + timedelta(minutes=5))
    assert replied.status is TicketStatus.ANSWERED and replied.first_reply_s == 300
    again = replied.member_writes().staff_replies(OPENED + timedelta(hours=2))
    assert again.first_reply_s == 300 and again.messages == 4
    assert replied.member_writes().status is TicketStatus.OPEN


def test_resolving_unanswered_counts_the_closing_reply_as_the_first_reply():
    resolved = new_ticket().resolve(Outcome.EXPLAINED, OPENED + timedelta(hours=1))
    assert (resolved.status, resolved.first_reply_s, resolved.resolution_s) == (TicketStatus.RESOLVED, 3600, 3600)


def test_an_adjusted_outcome_needs_the_adjustments_reference_and_only_it_carries_one():
    with pytest.raises(AdjustmentOutcomeMismatch):
        new_ticket().resolve(Outcome.ADJUSTED, OPENED)
    with pytest.raises(AdjustmentOutcomeMismatch):
        new_ticket().resolve(Outcome.REJECTED, OPENED, "adjustment:01X")
    assert new_ticket().resolve(Outcome.ADJUSTED, OPENED, "approval:01Y").resolution_ref == "approval:01Y"


@pytest.mark.parametrize(
    "finish",
    [lambda t: t.resolve(Outcome.REJECTED, OPENED), lambda t: t.withdraw(OPENED)],
    ids=["resolved", "closed"],
)
def test_a_finished_ticket_takes_no_message_reply_assignment_or_second_resolution(finish):
    done = finish(new_ticket())
    for step in (
        lambda t: t.member_writes(),
        lambda t: t.staff_replies(OPENED),
        lambda t: t.assign("s1"),
        lambda t: t.resolve(Outcome.EXPLAINED, OPENED),
        lambda t: t.withdraw(OPENED),
    ):
        with pytest.raises(TicketFinished):
            step(done)


def test_a_withdrawn_ticket_has_no_resolution_time():
    assert new_ticket().withdraw(OPENED + timedelta(hours=1)).resolution_s is None


def test_a_thread_holds_at_most_its_maximum_of_messages():
    ticket = new_ticket()
    for _ in range(MAX_MESSAGES - 1):
        ticket = ticket.member_writes()
    with pytest.raises(ThreadFull):
        ticket.staff_replies(OPENED)


def test_assignment_keeps_the_status():
    assert new_ticket().assign("s1").status is TicketStatus.OPEN


def test_percentiles_are_nearest_rank():
    values = list(range(1, 11))
    assert (percentile(values, 0.5), percentile(values, 0.9)) == (5, 9)
    assert percentile([42], 0.9) == 42


def test_durations_ignore_tickets_without_the_time_and_are_empty_without_any():
    assert durations([None, 30, 10, None, 20]) == durations([10, 20, 30])
    assert (durations([10, 20, 30]).median_s, durations([10, 20, 30]).p90_s) == (20, 30)
    empty = durations([None])
    assert (empty.count, empty.median_s, empty.p90_s) == (0, None, None)
