"""Job runs under SQS's at-least-once delivery and under faults: a unit delivered twice, a
worker that died after part of its batch, throttling while units are counted, a planner
that dies before the run is planned and is started again. Nothing is lost, nothing is
counted twice, and ``reconcile``'s report is exactly the one computed in one process."""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.dynamodb.jobs import JobUnitItem
from chalicelib.local.queues import drain
from chalicelib.service_layer import job_runs, jobs
from chalicelib.service_layer.reconcile import reconcile
from tests.builders import StaffDesk
from tests.faults import FOREVER, SDK_TRIES, install
from tests.settlement_builders import join

MEMBERS = 55  # more than one unit (50) of points accounts


@pytest.fixture
def members(client, stack):
    return [join(client, stack) for _ in range(MEMBERS)]


def finished(run_id: str) -> dict:
    run = job_runs.view(job_runs.get_item(run_id))
    assert run["status"] == "succeeded", run
    return run


def without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("job", "duration_ms")}


def units_of(run_id: str) -> list[JobUnitItem]:
    return list(JobUnitItem.query(f"JOBRUN#{run_id}", JobUnitItem.sk.startswith("UNIT#")))


def test_a_reconcile_run_reports_exactly_what_one_process_computes(stack, members):
    expected = reconcile()
    assert expected["ok"] and expected["points"]["members"] >= MEMBERS
    run_id = job_runs.start(stack, "reconcile", jobs.JobRequest())["run_id"]
    drain()
    run = finished(run_id)
    assert without_timing(run["report"]) == expected
    units = units_of(run_id)
    assert run["progress"] == {"done": len(units), "total": len(units), "planned": True}
    assert len(units) >= 2  # the points accounts cut into more than one unit
    assert all(unit.done_at is not None for unit in units)


def test_units_and_plans_delivered_twice_and_a_worker_that_died_after_its_first_unit_count_once(stack, members):
    expected = reconcile()
    run_id = job_runs.start(stack, "reconcile", jobs.JobRequest())["run_id"]
    plan = json.dumps({"run": run_id})
    # a worker takes the plan step and the first unit, then dies: SQS delivers its whole
    # batch again (the plan step included), and the first unit once more for good measure
    job_runs.handle(stack, plan)
    first = json.dumps({"run": run_id, "unit": 0})
    job_runs.handle(stack, first)
    job_runs.handle(stack, first)
    assert job_runs.view(job_runs.get_item(run_id))["progress"]["done"] == 1
    job_runs.handle(stack, plan)  # planned already: it re-sends the units not done
    drain()
    run = finished(run_id)
    assert without_timing(run["report"]) == expected
    assert run["progress"]["done"] == run["progress"]["total"] == len(units_of(run_id))
    # a delivery after the end changes nothing
    job_runs.handle(stack, first)
    assert finished(run_id) == run


def test_throttling_and_lost_answers_while_units_are_counted_count_each_unit_once(stack, members, monkeypatch):
    expected = reconcile()
    faults = install(monkeypatch)
    run_id = job_runs.start(stack, "reconcile", jobs.JobRequest())["run_id"]
    # the counting transaction adds to the run's "done": refused, then applied with its answer lost
    faults.arm("throttled", times=SDK_TRIES - 1, contains='"done"')
    drain()
    faults.arm("lost_after", times=2, contains='"done"')
    drain()
    faults.clear()
    run = finished(run_id)
    assert without_timing(run["report"]) == expected
    assert run["progress"]["done"] == run["progress"]["total"]


def test_a_planner_that_dies_before_the_run_is_planned_is_started_again_and_loses_nothing(
    client, stack, members, monkeypatch
):
    expected = reconcile()
    faults = install(monkeypatch)
    run_id = job_runs.start(stack, "reconcile", jobs.JobRequest())["run_id"]
    faults.arm("throttled_cancel", times=FOREVER, contains='"planned"')
    drain()
    faults.clear()
    stuck = job_runs.view(job_runs.get_item(run_id))
    assert stuck["status"] == "running" and stuck["progress"] == {"done": 0, "total": 0, "planned": False}
    assert stuck["failures"]["last"]["step"] == "plan"
    assert stuck["failures"]["last"]["error"] == "service_unavailable"
    # ops resume it (the plan message itself would come back after the visibility timeout)
    desk = StaffDesk(client, stack)
    resumed = desk.post(f"/v1/admin/jobs/runs/{run_id}/resume", "ops", {"reason": "table was throttled"})
    assert resumed.status_code == 202, resumed.body
    drain()
    run = finished(run_id)
    assert without_timing(run["report"]) == expected
    assert run["progress"]["done"] == run["progress"]["total"] == len(units_of(run_id))
    audited = desk.get(f"/v1/admin/audit?target_id={run_id}", "admin").json["entries"]
    assert [(e["action"], e["reason"]) for e in audited] == [("job.resumed", "table was throttled")]
    again = desk.post(f"/v1/admin/jobs/runs/{run_id}/resume", "ops", {"reason": "once more"})
    assert (again.status_code, again.json["error"]["code"]) == (409, "run_finished")
