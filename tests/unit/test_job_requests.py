"""The job registry's request checks, which decide before anything runs (RULES.md 5.7)."""

from datetime import date

import pytest

from chalicelib.service_layer.jobs import JOBS, InvalidJobRequest, JobRequest, _check_period, parse_request

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize("job", ["release-pending", "expire-points", "release-rewards"])
def test_an_as_of_after_today_runs_only_as_a_dry_run_outside_the_local_stage(job):
    ahead = JobRequest(as_of=date(2026, 11, 24))
    with pytest.raises(InvalidJobRequest, match="after today"):
        _check_period(JOBS[job], ahead, TODAY)
    _check_period(JOBS[job], JobRequest(as_of=date(2026, 11, 24), dry_run=True), TODAY)
    # the local stage rehearses a year of expiry in a minute
    _check_period(JOBS[job], ahead, TODAY, time_travel=True)


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
