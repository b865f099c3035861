"""The job registry's request checks, which decide before anything runs (RULES.md 5.7)."""

from datetime import date

import pytest

from chalicelib.domain.calendar import Month, PeriodError, Quarter
from chalicelib.service_layer.jobs import JOBS, InvalidJobRequest, JobRequest, check_request, parse_request

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("job", ["release-pending", "expire-points", "release-rewards"])
def test_an_as_of_after_today_runs_only_as_a_dry_run_outside_the_local_stage(job):
    ahead = JobRequest(as_of=date(2026, 11, 24))
    with pytest.raises(InvalidJobRequest, match="after today"):
        check_request(JOBS[job], ahead, TODAY)
    check_request(JOBS[job], JobRequest(as_of=date(2026, 11, 24), dry_run=True), TODAY)
    # the local stage rehearses a year of expiry in a minute
    check_request(JOBS[job], ahead, TODAY, time_travel=True)


@pytest.mark.parametrize(
    "raw",
    [
        {"as_of": "20261130"},
        {"as_of": "2026-02-30"},
        {"as_of": 20261130},
        {"dry_run": "yes"},
        {"period": 202610},
        {"when": "now"},
    ],
)
def test_malformed_requests_are_refused_like_the_console_json(raw):
    with pytest.raises(InvalidJobRequest):
        parse_request(raw)


def test_a_well_formed_request_is_parsed():
    assert parse_request({"as_of": "2026-11-30", "dry_run": True}) == JobRequest(as_of=date(2026, 11, 30), dry_run=True)


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "2101-01-01", "9999-12-31"])
def test_an_as_of_outside_the_calendar_is_refused_before_any_arithmetic(as_of):
    with pytest.raises(InvalidJobRequest, match="between 1900-01-01 and 2100-12-31"):
        parse_request({"as_of": as_of, "dry_run": True})


def test_the_calendar_edges_are_dates_a_job_may_take():
    assert parse_request({"as_of": "1900-01-01"}).as_of == date(1900, 1, 1)
    assert parse_request({"as_of": "2100-12-31"}).as_of == date(2100, 12, 31)


@pytest.mark.parametrize("period", ["0000-01", "1899-12", "2101-01", "9999-12"])
def test_a_month_outside_the_calendar_is_not_a_period(period):
    with pytest.raises(PeriodError, match=r"1900\.\.2100"):
        Month.parse(period)
    with pytest.raises(PeriodError, match=r"1900\.\.2100"):
        Quarter.parse(period[:5] + "Q4")
    with pytest.raises(InvalidJobRequest, match=r"1900\.\.2100"):
        check_request(JOBS["settle-monthly"], JobRequest(period=period), TODAY)


def test_the_calendar_edges_are_periods():
    assert (Month.parse("1900-01"), Month.parse("2100-12")) == (Month(1900, 1), Month(2100, 12))
    assert (Quarter.parse("1900-Q1"), Quarter.parse("2100-Q4")) == (Quarter(1900, 1), Quarter(2100, 4))
    assert Month(2100, 12).shift(1).last_day == date(2101, 1, 31)  # arithmetic has room past the edge
