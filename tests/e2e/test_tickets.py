"""Tickets (issue 13, item 3): a member opens feedback, a complaint or an appeal and
follows the thread; staff work the queue by status and age, assign, reply and resolve
with an outcome (an adjustment through the adjustment rules, four-eyes above the
allowance); first-reply and resolution times are reported. Texts are stored encrypted
and kept out of the audit log.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.builders import assert_error, forbid_server_errors, table_items
from tests.wallet_builders import Desk, person

SECRET_TEXT = "我的电话是13912345678, 积分不见了"


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def open_ticket(member, category: str = "complaint", text: str = SECRET_TEXT, **extra) -> dict:
    answer = member.post("/v1/me/tickets", {"category": category, "text": text, **extra})
    assert answer.status_code == 201, answer.body
    return answer.json


def audit_of(desk: Desk, target: str) -> list[dict]:
    return desk.get(f"/v1/admin/audit?target_id={target}", "auditor").json["entries"]


def test_an_appeal_against_a_ledger_entry_is_answered_and_resolved_with_an_adjustment_the_member_sees(
    client, stack, clock, desk
):
    member = person(client, stack)
    desk.adjust("ops", {"member_id": member.id, "points": -40, "reason": "suspected duplicate"})
    [entry] = desk.get(f"/v1/admin/members/{member.id}/points/ledger?limit=1", "ops").json["entries"]
    ticket = open_ticket(member, "appeal", subject={"kind": "ledger_entry", "ref": entry["id"]})
    assert (ticket["status"], ticket["subject"], ticket["subject_ref"]) == ("open", "ledger_entry", entry["id"])

    clock.advance(minutes=10)
    ticket_id = ticket["ticket_id"]
    assert desk.post(f"/v1/admin/tickets/{ticket_id}/assign", "ops", {}).json["assignee"] == desk.staff_id("ops")
    replied = desk.post(f"/v1/admin/tickets/{ticket_id}/reply", "ops", {"text": "正在核查"}).json
    assert replied["status"] == "answered"
    assert member.post(f"/v1/me/tickets/{ticket_id}/messages", {"text": "谢谢"}).json["status"] == "open"
    clock.advance(hours=1)
    resolved = desk.post(
        f"/v1/admin/tickets/{ticket_id}/resolve",
        "ops",
        {"outcome": "adjusted", "text": "已退还40积分", "reason": "duplicate was wrong", "points": 40},
    )
    assert resolved.status_code == 200, resolved.body
    assert resolved.json["status"] == "resolved" and resolved.json["resolution_ref"].startswith("adjustment:")
    assert member.points() == 60  # 60 at registration, -40, +40

    seen = member.get(f"/v1/me/tickets/{ticket_id}").json
    assert [(m["author"], m["text"]) for m in seen["thread"]] == [
        ("member", SECRET_TEXT),
        ("staff", "正在核查"),
        ("member", "谢谢"),
        ("staff", "已退还40积分"),
    ]
    assert all(m["author_id"] is None for m in seen["thread"])  # members do not see staff ids
    assert seen["first_reply_at"] and seen["outcome"] == "adjusted"

    actions = [e["action"] for e in audit_of(desk, ticket_id)]
    assert actions == ["ticket.resolve", "ticket.reply", "ticket.assign"]
    adjustment = next(e for e in audit_of(desk, member.id) if e["action"] == "adjustment")
    assert adjustment["reason"] == f"duplicate was wrong (ticket {ticket_id})"


def test_ticket_texts_are_stored_encrypted_and_never_in_the_audit_log(client, stack, desk):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    desk.post(f"/v1/admin/tickets/{ticket_id}/reply", "ops", {"text": "请提供订单号 13800001111"})
    stored = json.dumps(table_items(stack), default=str, ensure_ascii=False)
    assert "13912345678" not in stored and "13800001111" not in stored and "积分不见了" not in stored


def test_a_member_never_sees_or_touches_another_members_ticket(client, stack):
    owner, other = person(client, stack), person(client, stack)
    ticket_id = open_ticket(owner)["ticket_id"]
    assert_error(other.get(f"/v1/me/tickets/{ticket_id}"), 404, "ticket_not_found")
    assert_error(other.post(f"/v1/me/tickets/{ticket_id}/messages", {"text": "hi"}), 404, "ticket_not_found")
    assert_error(other.post(f"/v1/me/tickets/{ticket_id}/close"), 404, "ticket_not_found")
    assert other.get("/v1/me/tickets").json == {"tickets": [], "next_cursor": None}
    assert owner.get(f"/v1/me/tickets/{ticket_id}").json["messages"] == 1


def test_the_queue_lists_each_status_oldest_first_with_cursors(client, stack, clock, desk):
    member = person(client, stack)
    opened = []
    for _ in range(3):
        opened.append(open_ticket(member, "feedback")["ticket_id"])
        clock.advance(minutes=1)
    first = desk.get("/v1/admin/tickets?limit=2", "ops").json
    second = desk.get(f"/v1/admin/tickets?limit=2&cursor={first['next_cursor']}", "ops").json
    listed = [t["ticket_id"] for t in first["tickets"] + second["tickets"]]
    assert listed[:3] == opened and second["next_cursor"] is None
    assert first["tickets"][0]["thread"] is None  # the thread is read one ticket at a time

    desk.post(f"/v1/admin/tickets/{opened[1]}/reply", "ops", {"text": "ok"})
    answered = desk.get("/v1/admin/tickets?status=answered", "auditor").json["tickets"]
    assert [t["ticket_id"] for t in answered] == [opened[1]]
    mine = desk.get(f"/v1/admin/members/{member.id}/tickets", "auditor").json["tickets"]
    assert [t["ticket_id"] for t in mine] == opened[::-1]


def test_a_finished_ticket_refuses_messages_replies_and_a_second_resolution(client, stack, desk):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    assert member.post(f"/v1/me/tickets/{ticket_id}/close").json["status"] == "closed"
    assert_error(member.post(f"/v1/me/tickets/{ticket_id}/messages", {"text": "again"}), 409, "ticket_finished")
    assert_error(desk.post(f"/v1/admin/tickets/{ticket_id}/reply", "ops", {"text": "x"}), 409, "ticket_finished")
    body = {"outcome": "explained", "text": "x"}
    assert_error(desk.post(f"/v1/admin/tickets/{ticket_id}/resolve", "ops", body), 409, "ticket_finished")


def test_two_staff_resolving_with_an_adjustment_at_once_adjust_once(client, stack, desk):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    body = {"outcome": "adjusted", "text": "补偿", "reason": "goodwill", "points": 100}
    tokens = [desk.token("ops"), desk.token("admin")]

    def resolve(token: str):
        return client.post(f"/v1/admin/tickets/{ticket_id}/resolve", token=token, json_body=body)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(resolve, tokens))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert member.points() == 160
    assert len([e for e in audit_of(desk, member.id) if e["action"] == "adjustment"]) == 1
    again = resolve(tokens[0])
    assert_error(again, 409, "ticket_finished")
    assert member.points() == 160


def test_an_adjustment_above_the_allowance_waits_for_a_second_person_and_the_ticket_keeps_its_approval(
    client, stack, desk
):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    body = {"outcome": "adjusted", "text": "已申请", "reason": "lost order points", "points": 10_001}
    resolved = desk.post(f"/v1/admin/tickets/{ticket_id}/resolve", "ops", body).json
    approval_id = resolved["resolution_ref"].removeprefix("approval:")
    assert member.points() == 60
    decided = desk.post(f"/v1/admin/approvals/{approval_id}/approve", "admin", {})
    assert decided.status_code == 200, decided.body
    assert member.points() == 60 + 10_001


def test_the_report_counts_tickets_and_measures_first_reply_and_resolution_times(client, stack, clock, desk):
    member = person(client, stack)
    desk.sign_in("ops", "auditor")  # signing in moves the clock: before the tickets are opened
    categories = ("feedback", "complaint", "feedback", "feedback")
    quick, slow, slower, waiting = (open_ticket(member, category)["ticket_id"] for category in categories)
    clock.advance(minutes=2)
    desk.post(f"/v1/admin/tickets/{quick}/resolve", "ops", {"outcome": "explained", "text": "done"})
    clock.advance(minutes=3)
    desk.post(f"/v1/admin/tickets/{slow}/reply", "ops", {"text": "looking"})
    clock.advance(minutes=5)
    desk.post(f"/v1/admin/tickets/{slower}/reply", "ops", {"text": "looking"})
    day = (clock.now() + timedelta(hours=8)).date().isoformat()  # the Asia/Shanghai day
    report = desk.get(f"/v1/admin/tickets/report?from={day}&to={day}", "auditor")
    assert report.status_code == 200, report.body
    r = report.json
    assert r["opened"] == 4
    assert r["by_status"] == {"open": 1, "answered": 2, "resolved": 1, "closed": 0}
    assert r["by_category"] == {"feedback": 3, "complaint": 1, "appeal": 0}
    assert r["first_reply"] == {"count": 3, "median_s": 300, "p90_s": 600}
    assert r["resolution"] == {"count": 1, "median_s": 120, "p90_s": 120}
    assert waiting in [t["ticket_id"] for t in desk.get("/v1/admin/tickets", "ops").json["tickets"]]

    yesterday = (clock.now() + timedelta(hours=8) - timedelta(days=1)).date().isoformat()
    empty = desk.get(f"/v1/admin/tickets/report?from={yesterday}&to={yesterday}", "auditor").json
    assert empty["opened"] == 0 and empty["first_reply"] == {"count": 0, "median_s": None, "p90_s": None}


@pytest.mark.parametrize(
    "body",
    [
        {"category": "appeal", "text": "unfair"},
        {"category": "appeal", "text": "unfair", "subject": None},
    ],
)
def test_an_appeal_without_a_subject_is_422(client, stack, body):
    assert_error(person(client, stack).post("/v1/me/tickets", body), 422, "appeal_needs_subject")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"category": "praise", "text": "x"},
        {"category": "feedback", "text": "   "},
        {"category": "feedback", "text": "x" * 2001},
        {"category": "appeal", "text": "x", "subject": {"kind": "order", "ref": "1"}},
        {"category": "appeal", "text": "x", "subject": {"kind": "freeze", "ref": "has space"}},
    ],
)
def test_a_malformed_ticket_is_400(client, stack, body):
    assert_error(person(client, stack).post("/v1/me/tickets", body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"outcome": "adjusted", "text": "x", "reason": "r"}, 422, "adjustment_outcome_mismatch"),
        ({"outcome": "adjusted", "text": "x", "points": 5}, 422, "adjustment_outcome_mismatch"),
        ({"outcome": "explained", "text": "x", "points": 5, "reason": "r"}, 422, "adjustment_outcome_mismatch"),
        ({"outcome": "adjusted", "text": "x", "reason": "r", "points": 5, "amount_fen": 5}, 400, "invalid_request"),
        ({"outcome": "closed", "text": "x"}, 400, "invalid_request"),
    ],
)
def test_a_resolution_that_does_not_fit_its_outcome_changes_nothing(client, stack, desk, body, status, code):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    assert_error(desk.post(f"/v1/admin/tickets/{ticket_id}/resolve", "ops", body), status, code)
    assert desk.get(f"/v1/admin/tickets/{ticket_id}", "ops").json["status"] == "open"
    assert member.points() == 60


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-11-24&to=2026-11-23", 422),
        ("from=2025-01-01&to=2026-11-23", 422),
        ("from=2026-13-01&to=2026-11-23", 400),
        ("from=0001-01-01&to=2026-11-23", 400),
        ("to=2026-11-23", 400),
    ],
)
def test_the_report_needs_a_bounded_range(desk, query, status):
    assert desk.get(f"/v1/admin/tickets/report?{query}", "ops").status_code == status


def test_auditors_read_tickets_but_do_not_reply_and_members_cannot_read_the_queue(client, stack, desk):
    member = person(client, stack)
    ticket_id = open_ticket(member)["ticket_id"]
    assert desk.get(f"/v1/admin/tickets/{ticket_id}", "auditor").json["thread"][0]["text"] == SECRET_TEXT
    assert desk.post(f"/v1/admin/tickets/{ticket_id}/reply", "auditor", {"text": "x"}).status_code == 403
    assert member.get("/v1/admin/tickets").status_code == 403
    assert_error(desk.get("/v1/admin/tickets/01NOSUCHTICKET000000000000", "ops"), 404, "ticket_not_found")
