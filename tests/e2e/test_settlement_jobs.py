"""Settlement jobs by hand (``POST /v1/admin/jobs/{job}``) and as scheduled Lambdas:
request validation, default periods, dry runs, idempotent re-runs, a stuck run taken
over, the audit of manual runs and who may run jobs (RULES.md 5.7, API.md "Staff")."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from chalice.test import Client as LambdaClient

from app import app
from chalicelib.adapters.dynamodb.settlement import SettlementLineItem, SettlementRunItem
from chalicelib.service_layer.jobs import InvalidJobRequest
from chalicelib.service_layer.reconcile import reconcile
from tests.builders import job_outcome, scheduled_report
from tests.settlement_builders import (
    Desk,
    amounts,
    buy,
    fresh,
    join,
    run_item,
    shanghai,
    stored_lines,
    wallet_fen,
)


def snapshot_keys(stack) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=stack.settings.snapshot_bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def october_with_one_reward(client, stack, clock, desk):
    """A (1 star) refers B then C; in October B buys 1,000 yuan, C 500 yuan, A 100 yuan."""
    clock.set(shanghai(2026, 10, 20))
    a = join(client, stack)
    b = join(client, stack, a)
    c = join(client, stack, a)
    desk.give_points(a, 2_000)
    buy(client, stack, b, 100_000)
    buy(client, stack, c, 50_000)
    buy(client, stack, a, 10_000)
    return a, b, c


def test_job_requests_that_do_not_fit_the_job_are_refused_before_anything_runs(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 11, 23))
    refused = [
        ("settle-monthly", {"period": "2026-13"}),
        ("settle-monthly", {"period": "2026-00"}),
        ("settle-monthly", {"period": "2026-Q4"}),  # a quarter for the monthly job
        ("settle-monthly", {"period": "26-10"}),
        ("settle-monthly", {"period": 202610}),
        ("settle-monthly", {"period": "2026-10", "as_of": "2026-11-08"}),  # a period job takes no as_of
        ("settle-quarterly", {"period": "2026-Q5"}),
        ("settle-quarterly", {"period": "2026-Q0"}),
        ("settle-quarterly", {"period": "2026-10"}),  # a month for the quarterly job
        ("settle-monthly", {"as_of": "garbage"}),
        ("release-rewards", {"as_of": "garbage"}),
        ("release-rewards", {"as_of": "2026-02-30"}),
        ("release-rewards", {"as_of": 20261110}),
        ("release-rewards", {"period": "2026-10"}),  # an as_of job takes no period
        ("settle-monthly", {"period": "2026-10", "dryrun": True}),  # unknown field
        ("settle-monthly", {"period": "2026-10", "dry_run": "yes"}),
        ("evaluate-guides", {"period": "2026-07"}),  # windows end in Apr, Aug, Dec
    ]
    for job, body in refused:
        r = job_outcome(client, desk.token("admin"), job, body)
        assert (r.status_code, r.json["error"]["code"]) == (422, "invalid_job_request"), (job, body, r.body)

    for job, body in [
        ("settle-monthly", {"period": "2026-11"}),
        ("settle-monthly", {"period": "2026-12", "dry_run": True}),
        ("settle-quarterly", {"period": "2026-Q4"}),
        ("evaluate-guides", {"period": "2026-12"}),
    ]:
        r = job_outcome(client, desk.token("admin"), job, body)
        assert (r.status_code, r.json["error"]["code"]) == (422, "period_not_ended"), (job, body, r.body)

    r = job_outcome(client, desk.token("admin"), "settle-weekly", {})
    assert (r.status_code, r.json["error"]["code"]) == (404, "unknown_job")
    # a dry run may look ahead: it writes nothing
    assert desk.job("release-rewards", as_of="2026-12-10", dry_run=True)["as_of"] == "2026-12-10"
    assert run_item("monthly-2026-11") is None and run_item("quarterly-2026-Q4") is None
    assert [
        run for kind in ("monthly", "quarterly") for run in SettlementRunItem.history.query(f"SETTLEMENTS#{kind}")
    ] == []
    assert reconcile()["ok"]


def test_the_default_period_is_last_month_and_last_quarter_in_shanghai(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 11, 8, 1))
    monthly = desk.job("settle-monthly")
    quarterly = desk.job("settle-quarterly")
    assert (monthly["settlement_id"], monthly["status"], monthly["release_on"]) == (
        "monthly-2026-10",
        "draft",
        "2026-11-10",
    )
    assert (quarterly["settlement_id"], quarterly["status"], quarterly["release_on"]) == (
        "quarterly-2026-Q3",
        "draft",
        "2026-10-10",
    )
    assert run_item("monthly-2026-10").status == "draft" and run_item("quarterly-2026-Q3").status == "draft"
    # 00:30 on 1 January 2027 in Shanghai is still 31 December in UTC
    clock.set(shanghai(2027, 1, 1, 0, 30))
    assert desk.job("settle-monthly", dry_run=True)["period"] == "2026-12"
    assert desk.job("settle-quarterly", dry_run=True)["period"] == "2026-Q4"
    assert reconcile()["ok"]


def test_a_dry_run_writes_nothing_and_a_real_run_stores_one_draft(client, stack, clock):
    desk = Desk(client, stack)
    a, _b, c = october_with_one_reward(client, stack, clock, desk)
    clock.set(shanghai(2026, 11, 8, 1))

    dry = desk.job("settle-monthly", period="2026-10", dry_run=True)
    # A's groups: B 100,000 fen (largest), C 50,000 -> 5 % x 50,000 = 2,500; A's own 10,000 counts
    # for nobody, but it is consumption: ratio 2,500 / 160,000
    assert dry["status"] == "dry_run" and dry["dry_run"] is True
    assert amounts(dry["sample_lines"]) == {(a.member_id, "small_group"): 2_500}
    line = dry["sample_lines"][0]
    assert line["basis"]["largest_group_volume_fen"] == 100_000
    assert dry["totals"] == {
        "consumption_fen": 160_000,
        "rewards_fen": 2_500,
        "remainder_fen": 0,
        "payout_ratio": 0.015625,
    }
    assert dry["engine"]["components_used"] == ["small_group", "guide_fee"]
    assert dry["store_required"] == [] and dry["lines"] == 1 and dry["members"] == 3
    assert run_item("monthly-2026-10") is None and stored_lines("monthly-2026-10") == []
    assert snapshot_keys(stack) == []

    real = desk.job("settle-monthly", period="2026-10")
    assert real["status"] == "draft" and real["dry_run"] is False
    assert {k: real[k] for k in ("totals", "store_required", "lines")} == {
        k: dry[k] for k in ("totals", "store_required", "lines")
    }
    assert amounts(real["sample_lines"]) == amounts(dry["sample_lines"])
    run = run_item("monthly-2026-10")
    assert (run.status, int(run.lines), run.release_on) == ("draft", 1, "2026-11-10")
    assert amounts(stored_lines("monthly-2026-10")) == {(a.member_id, "small_group"): 2_500}
    assert snapshot_keys(stack) == ["settlements/monthly/2026-10/input.npz"]
    # the audit log has what the run decided, not only that it ran
    logged = next(e for e in desk.audit("settle-monthly") if e["action"] == "job.settle-monthly.finished")["after"]
    assert logged["status"] == "succeeded"
    logged = logged["report"]
    assert (logged["status"], logged["totals"], logged["adjustments"]) == (
        "draft",
        real["totals"],
        {"periods": [], "lines": 0, "total_fen": 0},
    )
    view = client.get("/v1/admin/settlements/monthly-2026-10", token=desk.token("auditor"))
    assert view.status_code == 200 and view.json["status"] == "draft"
    assert view.json["report"]["totals"]["rewards_fen"] == 2_500

    # a re-run (real or dry) reports the stored result and changes nothing, even after new
    # consumption of the same month arrives
    buy(client, stack, c, 80_000, occurred_at=shanghai(2026, 10, 31))
    for dry_run in (False, True):
        again = desk.job("settle-monthly", period="2026-10", dry_run=dry_run)
        assert again["already_settled"] is True and again["status"] == "draft" and again["dry_run"] is dry_run
        assert again["totals"] == real["totals"]
    stored = run_item("monthly-2026-10")
    assert (stored.finished_at, stored.report, int(stored.lines)) == (run.finished_at, run.report, 1)
    assert amounts(stored_lines("monthly-2026-10")) == {(a.member_id, "small_group"): 2_500}
    assert wallet_fen(a) == 0
    assert client.get("/v1/me", token=fresh(client, stack, a).access_token).json["wallet"]["balance_fen"] == 0
    assert reconcile()["ok"]


def test_a_stuck_run_is_refused_then_taken_over_after_twenty_minutes(client, stack, clock):
    desk = Desk(client, stack)
    a, b, _c = october_with_one_reward(client, stack, clock, desk)
    clock.set(shanghai(2026, 11, 8, 1))
    desk.token("admin")  # signed in now: the session outlives the next 10 minutes of the clock
    started = clock.now() - timedelta(minutes=12)
    SettlementRunItem(
        pk="SETTLEMENT#monthly#2026-10",
        sk=SettlementRunItem.SK,
        settlement_id="monthly-2026-10",
        kind="monthly",
        period="2026-10",
        status="running",
        started_at=started,
        gsi3pk="SETTLEMENTS#monthly",
        gsi3sk="2026-10",
    ).save()
    # the crashed run had written a line that the inputs no longer justify (C's order was
    # refunded meanwhile, say): the takeover must not leave it to be paid
    SettlementLineItem(
        pk="SETTLEMENT#monthly#2026-10",
        sk=f"LINE#{b.member_id}#small_group",
        settlement_id="monthly-2026-10",
        kind="monthly",
        period="2026-10",
        member_id=b.member_id,
        component="small_group",
        amount_fen=999,
        basis={},
        gsi1pk=f"REWARDS#{b.member_id}",
        gsi1sk="2026-10#monthly#small_group",
    ).save()

    # the run is refused by the job in the worker: it fails, with the job's error as its report
    for job_body in ({"period": "2026-10"}, {}):
        r = job_outcome(client, desk.token("admin"), "settle-monthly", job_body)
        assert (r.status_code, r.run["status"], r.json["error"]["code"]) == (202, "failed", "settlement_running")
        assert r.run["finished_at"] is not None and r.run["failures"]["last"]["error"] == "settlement_running"
    clock.set(started + timedelta(minutes=19, seconds=59))
    r = job_outcome(client, desk.token("admin"), "settle-monthly", {"period": "2026-10"})
    assert (r.run["status"], r.json["error"]["code"]) == ("failed", "settlement_running"), r.run
    # a dry run does not claim the period, so it is never refused
    assert desk.job("settle-monthly", period="2026-10", dry_run=True)["status"] == "dry_run"

    clock.set(started + timedelta(minutes=20))
    taken = desk.job("settle-monthly", period="2026-10")
    assert taken["status"] == "draft" and taken["lines"] == 1
    assert amounts(stored_lines("monthly-2026-10")) == {(a.member_id, "small_group"): 2_500}
    assert run_item("monthly-2026-10").status == "draft"
    assert reconcile()["ok"]


def test_manual_runs_are_audited_and_only_ops_finance_and_admin_run_jobs(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 11, 8, 1))
    member = join(client, stack)
    for token in (member.access_token, desk.token("auditor")):
        r = job_outcome(client, token, "settle-monthly", {"dry_run": True})
        assert r.status_code == 403, r.body
    r = client.post("/v1/admin/jobs/settle-monthly", json_body={"dry_run": True})
    assert r.status_code == 401, r.body

    desk.job("settle-monthly", role="finance", dry_run=True)
    desk.job("settle-monthly", role="ops", period="2026-10")
    desk.job("release-rewards", role="admin")
    entries = desk.audit("settle-monthly")
    assert [(e["action"], e["actor_roles"], e["before"]["request"]) for e in entries] == [
        ("job.settle-monthly.finished", ["ops"], {"period": "2026-10", "as_of": None, "dry_run": False}),
        ("job.settle-monthly", ["ops"], {"period": "2026-10", "as_of": None, "dry_run": False}),
        ("job.settle-monthly.finished", ["finance"], {"period": None, "as_of": None, "dry_run": True}),
        ("job.settle-monthly", ["finance"], {"period": None, "as_of": None, "dry_run": True}),
    ]
    # the start names its run; the end says what the run decided
    assert entries[1]["after"]["run_id"] == entries[0]["before"]["run_id"]
    assert entries[0]["after"]["report"]["status"] == "draft" and entries[0]["after"]["report"]["period"] == "2026-10"
    assert entries[2]["after"]["report"]["status"] == "dry_run" and entries[2]["after"]["report"]["period"] == "2026-10"
    released = [e["action"] for e in desk.audit("release-rewards")]
    assert released == ["job.release-rewards.finished", "job.release-rewards"]
    assert reconcile()["ok"]


def scheduled_event(time: str) -> dict:
    return {
        "version": "0",
        "id": "5f1c5a5e-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "cn-north-1",
        "resources": ["arn:aws-cn:events:cn-north-1:123456789012:rule/settle-monthly"],
        "detail": {},
    }


def test_the_scheduled_lambdas_run_the_same_jobs(client, stack, clock):
    desk = Desk(client, stack)
    a, _b, _c = october_with_one_reward(client, stack, clock, desk)
    clock.set(shanghai(2026, 12, 8, 1))
    with LambdaClient(app) as lambdas:
        # the console JSON runs the period it names, not the default (2026-11)
        console = scheduled_report(lambdas, "settle-monthly", {"period": "2026-10", "dry_run": True})
        assert (console["job"], console["period"], console["status"]) == ("settle-monthly", "2026-10", "dry_run")
        assert amounts(console["sample_lines"]) == {(a.member_id, "small_group"): 2_500}
        october = scheduled_report(lambdas, "settle-monthly", {"period": "2026-10"})
        assert october["status"] == "draft" and october["totals"]["rewards_fen"] == 2_500
        # EventBridge's own event means "the default period"
        november = scheduled_report(lambdas, "settle-monthly", scheduled_event("2026-12-07T17:00:00Z"))
        assert (november["period"], november["status"], november["lines"]) == ("2026-11", "draft", 0)
        quarter = scheduled_report(lambdas, "settle-quarterly", scheduled_event("2026-12-07T18:00:00Z"))
        assert quarter["period"] == "2026-Q3" and quarter["status"] == "draft"
        with pytest.raises(InvalidJobRequest):
            lambdas.lambda_.invoke("settle-monthly", {"period": "2026-13"})
        with pytest.raises(InvalidJobRequest):
            lambdas.lambda_.invoke("release-rewards", {"as_of": "yesterday"})
    # the same state the HTTP job sees
    again = desk.job("settle-monthly", period="2026-10")
    assert again["already_settled"] is True and again["totals"] == october["totals"]
    # scheduled runs have no person to audit
    audited = [(e["action"], e["before"]["request"]["period"]) for e in desk.audit("settle-monthly")]
    assert audited == [("job.settle-monthly.finished", "2026-10"), ("job.settle-monthly", "2026-10")]
    assert reconcile()["ok"]
