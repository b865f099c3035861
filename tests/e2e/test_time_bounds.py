"""Times and dates at the edge: every instant and date a request carries falls within the
programme's calendar (1900-01-01 to 2100-12-31, instants in UTC). Outside it, or with no
UTC representation at all, the answer is the route's own 4xx and nothing changes; never a
5xx that a shop retrying on 5xx would send forever."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.builders import (
    admin_token,
    assert_error,
    forbid_server_errors,
    new_staff,
    post_event,
    register,
    run_job,
    table_items,
)

# no UTC representation: before year 1 and after year 9999 once converted
OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
# representable, but outside the calendar by one second
OUTSIDE = ["1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "2101-01-01T08:00:00+08:00", "9999-12-31T23:59:59Z"]
AS_OF_JOBS = ["release-pending", "expire-points", "release-rewards"]


@pytest.fixture
def guarded(client):
    return forbid_server_errors(client)


def assert_refused_field(response, field: str) -> None:
    """400 ``invalid_request`` naming only ``field`` (an event's is under its type)."""
    error = assert_error(response, 400, "invalid_request")
    assert [problem["field"].rsplit(".", 1)[-1] for problem in error["problems"]] == [field], error


@pytest.mark.parametrize("occurred_at", OVERFLOWING + OUTSIDE)
def test_an_event_time_outside_the_calendar_is_400_and_changes_nothing(guarded, stack, occurred_at):
    member = register(guarded, stack)
    before = table_items(stack)
    answer = post_event(guarded, stack, "challenge.won", member.member_id, occurred_at=occurred_at)
    assert_refused_field(answer, "occurred_at")
    assert table_items(stack) == before


def test_an_event_time_inside_the_calendar_reaches_the_rules(guarded, stack):
    """The bound is the edge's; whether the time fits the event is still the rules' call."""
    member = register(guarded, stack)
    for occurred_at in ("1900-01-01T00:00:00Z", "2100-12-31T23:59:59Z"):
        answer = post_event(guarded, stack, "challenge.won", member.member_id, occurred_at=occurred_at)
        assert_error(answer, 422, "occurred_at_out_of_range")
    # an offset is kept as the instant it names, in UTC
    shop_time = (stack.now() - timedelta(hours=1)).astimezone(timezone(timedelta(hours=14))).isoformat()
    assert post_event(guarded, stack, "challenge.won", member.member_id, occurred_at=shop_time).status_code == 202


offsets = st.one_of(
    st.timezones(),
    # what a shop writes: whole minutes (an offset with seconds is refused as malformed)
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
# the whole range Python can write, with its two ends (where an offset overflows UTC) drawn often
aware_datetimes = st.one_of(
    st.datetimes(timezones=offsets),
    st.datetimes(max_value=datetime(1, 1, 2), timezones=offsets),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=offsets),
)


def test_no_aware_time_sent_as_occurred_at_answers_5xx(guarded, stack):
    member = register(guarded, stack)
    # and the days around now, where the rules accept some
    near = st.datetimes(
        min_value=(stack.now() - timedelta(days=40)).replace(tzinfo=None),
        max_value=(stack.now() + timedelta(days=2)).replace(tzinfo=None),
        timezones=st.just(UTC),
    )

    @settings(max_examples=80)
    @given(occurred_at=st.one_of(aware_datetimes, near))
    def send(occurred_at: datetime) -> None:
        answer = post_event(guarded, stack, "challenge.won", member.member_id, occurred_at=occurred_at.isoformat())
        assert answer.status_code in (202, 400, 422), answer.body

    send()


@pytest.mark.parametrize("job", AS_OF_JOBS)
@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_job_as_of_outside_the_calendar_is_invalid_job_request(guarded, stack, job, as_of, dry_run):
    token = admin_token(guarded, stack)
    before = table_items(stack)
    answer = run_job(guarded, token, job, as_of=as_of, dry_run=dry_run)
    assert "1900-01-01 and 2100-12-31" in assert_error(answer, 422, "invalid_job_request")["message"]
    assert table_items(stack) == before


@pytest.mark.parametrize(
    "job, period",
    [
        ("settle-monthly", "9999-12"),
        ("settle-monthly", "0001-01"),
        ("settle-monthly", "1899-12"),
        ("settle-monthly", "2101-01"),
        ("evaluate-guides", "9999-12"),
        ("settle-quarterly", "9999-Q4"),
        ("settle-quarterly", "0000-Q1"),
        ("settle-quarterly", "2101-Q1"),
    ],
)
def test_a_job_period_outside_the_calendar_is_invalid_job_request(guarded, stack, job, period):
    token = admin_token(guarded, stack)
    before = table_items(stack)
    answer = run_job(guarded, token, job, period=period, dry_run=True)
    assert "1900..2100" in assert_error(answer, 422, "invalid_job_request")["message"]
    answer = run_job(guarded, token, job, period=period)
    assert_error(answer, 422, "invalid_job_request")
    assert table_items(stack) == before


@pytest.mark.parametrize(
    "job, body",
    [
        ("release-pending", {"as_of": "1900-01-01"}),
        ("expire-points", {"as_of": "1900-01-01"}),
        ("release-rewards", {"as_of": "1900-01-01"}),
        ("expire-points", {"as_of": "2100-12-31", "dry_run": True}),
        ("release-rewards", {"as_of": "2100-12-31", "dry_run": True}),
        ("settle-monthly", {"period": "1900-01", "dry_run": True}),
        ("settle-quarterly", {"period": "1900-Q1", "dry_run": True}),
        ("settle-monthly", {"period": "2100-12", "dry_run": True}),
        ("evaluate-guides", {"period": "2100-12", "dry_run": True}),
    ],
)
def test_the_calendar_edges_run_or_are_refused_by_the_job_itself(guarded, stack, job, body):
    answer = run_job(guarded, admin_token(guarded, stack), job, **body)
    assert answer.status_code in (200, 202) or answer.json["error"]["code"] == "period_not_ended", answer.body


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"birthday": "1899-12-31"}, "birthday"),
        ({"birthday": "0001-01-01"}, "birthday"),
        ({"babies": [{"birthday": "9999-12-31"}]}, "birthday"),
    ],
)
def test_a_birthday_outside_the_calendar_is_400_and_the_profile_stays(guarded, stack, patch, field):
    member = register(guarded, stack)
    before = table_items(stack)
    assert_refused_field(guarded.patch("/v1/me", token=member.access_token, json_body=patch), field)
    assert table_items(stack) == before


def test_a_certificate_date_outside_the_calendar_is_400(guarded, stack):
    member = register(guarded, stack)
    before = table_items(stack)
    body = {"certificate_no": "C-1", "issuer": "学会", "issued_on": "9999-12-31"}
    assert_refused_field(guarded.post("/v1/me/nutritionist", token=member.access_token, json_body=body), "issued_on")
    assert table_items(stack) == before


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2101-01-01"])
def test_an_audit_day_outside_the_calendar_is_400(guarded, stack, day):
    answer = guarded.get(f"/v1/admin/audit?day={day}", token=admin_token(guarded, stack))
    assert_refused_field(answer, "day")


@pytest.mark.parametrize("route", ["/v1/admin/exchange-windows", "/v1/admin/draws"])
@pytest.mark.parametrize("starts_at", OVERFLOWING + OUTSIDE)
def test_a_window_start_outside_the_calendar_is_400_and_changes_nothing(guarded, stack, route, starts_at):
    body = {"starts_at": starts_at, "ends_at": "2026-12-31T00:00:00+08:00"}
    if route.endswith("draws"):
        body |= {"name": "draw", "points_per_draw": 10, "daily_limit": 3, "prizes": [_prize()]}
    token = new_staff(guarded, stack, "ops").access_token
    before = table_items(stack)
    assert_refused_field(guarded.post(route, token=token, json_body=body), "starts_at")
    assert table_items(stack) == before


def _prize() -> dict:
    return {"prize_id": "p1", "name": "奶粉", "kind": "points", "value": 10, "probability_bp": 10_000, "stock": 5}


@pytest.mark.parametrize("now", OVERFLOWING + OUTSIDE)
def test_the_local_clock_is_not_moved_outside_the_calendar(guarded, stack, now):
    """The dev clock's body is checked like any other, before the route looks at the clock."""
    answer = guarded.request(
        "POST", "/v1/dev/clock", body=json.dumps({"now": now}).encode(), headers={"content-type": "application/json"}
    )
    assert_refused_field(answer, "now")
