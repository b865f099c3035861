"""``python -m chalicelib.simulate``: reproducible bytes, a rerunnable export, honest summaries, a readable page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from chalicelib.simulate import main
from chalicelib.simulation.config import COMPONENTS

REPO = Path(__file__).resolve().parents[3]
MEMBERS, TRIALS, SEED, EXPORTED = "3000", "4", "7", 2
SWEEP = "small_group_rate_bp=300,500,700"


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    # another hash seed than this process's: nothing may depend on set or dict-of-str order
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.simulate", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("simulate")
    common = ["--members", MEMBERS, "--trials", TRIALS, "--quiet"]
    assert (
        main([*common, "--seed", SEED, "--out", str(base / "a"), "--export-trial", str(EXPORTED), "--sweep", SWEEP])
        == 0
    )
    done = _simulate(*common, "--seed", SEED, "--out", str(base / "b"), "--sweep", SWEEP)
    assert done.returncode == 0, done.stderr
    assert main([*common, "--seed", "8", "--out", str(base / "c"), "--sweep", SWEEP]) == 0
    return {name: base / name for name in "abc"}


def _report(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text(encoding="utf-8"))


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_figures(runs):
    pngs = sorted(p.name for p in runs["a"].glob("*.png"))
    assert pngs == sorted(
        ["lorenz.png", "payout_vs_depth.png", "sweep.png", *(f"payout_ratio_{s}.png" for s in ("total", *COMPONENTS))]
    )
    for name in ["report.json", "report.html", *pngs]:
        assert (runs["a"] / name).read_bytes() == (runs["b"] / name).read_bytes(), name
    assert (runs["a"] / "report.json").read_bytes() != (runs["c"] / "report.json").read_bytes()
    assert (runs["a"] / "payout_ratio_total.png").read_bytes() != (runs["c"] / "payout_ratio_total.png").read_bytes()
    assert _report(runs["a"])["trials"][0]["figures"] != _report(runs["c"])["trials"][0]["figures"]


def test_the_exported_trial_reruns_through_the_settlement_command_to_the_reported_rewards(runs, tmp_path):
    trial = _report(runs["a"])["trials"][EXPORTED - 1]
    assert trial["trial"] == EXPORTED
    exported = sorted(p.name for p in (runs["a"] / f"trial-{EXPORTED}").iterdir())
    assert exported == ["2026-10.json", "2026-11.json", "2026-12.json", "2026-Q4.json"]
    for settlement in trial["settlements"]:
        output = tmp_path / f"{settlement['period']}.out.json"
        source = runs["a"] / f"trial-{EXPORTED}" / f"{settlement['period']}.json"
        done = subprocess.run(
            [sys.executable, "-m", "chalicelib.settlement", "--input", str(source), "--output", str(output)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        rerun = json.loads(output.read_text(encoding="utf-8"))
        by_component = Counter()
        for reward in rerun["rewards"]:
            by_component[reward["component"]] += reward["amount_fen"]
        claimed = settlement["rewards_fen_by_component"]
        assert {c: by_component[c] for c in claimed} == claimed
        assert set(by_component) <= set(claimed)
        assert rerun["totals"]["consumption_fen"] == settlement["consumption_fen"]
        assert rerun["totals"]["rewards_fen"] == settlement["rewards_fen"]
        assert len(rerun["store_required"]) == settlement["store_required"]
    figures = trial["figures"]
    for component in COMPONENTS:
        assert figures[f"rewards_fen_{component}"] == sum(
            s["rewards_fen_by_component"].get(component, 0) for s in trial["settlements"]
        )


def test_the_summary_is_mean_linear_percentiles_and_max_of_the_trials(runs):
    report = _report(runs["a"])
    assert report["run"]["percentile_method"] == "linear"
    trials = report["trials"]
    assert [t["trial"] for t in trials] == list(range(1, int(TRIALS) + 1))
    for name, stats in report["summary"]["figures"].items():
        values = np.array([t["figures"][name] for t in trials], dtype=np.float64)
        p5, p50, p95 = np.percentile(values, [5, 50, 95], method="linear")
        assert stats == {"mean": values.mean(), "p5": p5, "p50": p50, "p95": p95, "max": values.max()}, name
    assert set(report["summary"]["figures"]) >= {
        "consumption_fen",
        "payout_ratio",
        *(f"payout_ratio_{c}" for c in COMPONENTS),
        *(f"rewards_fen_{c}" for c in COMPONENTS),
        "points_cost_fen",
        "points_cost_ratio",
        "members_paid_share",
        "store_duty_count",
        "top1_share",
        "max_depth",
        "mean_depth",
    }
    worst = max(trials, key=lambda t: t["figures"]["payout_ratio"])
    assert report["summary"]["worst_trial"]["trial"] == worst["trial"]


def test_the_sweep_has_one_row_per_value_on_the_same_populations(runs):
    report = _report(runs["a"])
    rows = report["sweep"]["rows"]
    assert report["sweep"]["param"] == "rules.settlement.small_group_rate_bp"
    assert [row["value"] for row in rows] == [300, 500, 700]
    base = [t["figures"] for t in report["trials"]]
    middle = [t["figures"] for t in rows[1]["trials"]]  # 500 bp is the default: the base run again
    assert middle == base
    for low, high in zip(rows[0]["trials"], rows[2]["trials"], strict=True):
        assert low["figures"]["consumption_fen"] == high["figures"]["consumption_fen"]
        assert low["figures"]["max_depth"] == high["figures"]["max_depth"]
        assert low["figures"]["rewards_fen_small_group"] < high["figures"]["rewards_fen_small_group"]


def test_the_page_is_self_contained_and_holds_the_tables(runs):
    page = (runs["a"] / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 8 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "<script" not in page and "url(" not in page
    for heading in (
        "Summary over 4 trials",
        "By growth model",
        "Sensitivity: rules.settlement.small_group_rate_bp",
        "Trials",
        "Assumptions",
        "legal review",
    ):
        assert heading in page
    assert page.count("<table>") == 5


def test_no_progress_bar_when_not_on_a_terminal(runs, tmp_path):
    done = _simulate("--members", "500", "--trials", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "trials:" not in done.stderr and "%|" not in done.stderr
    assert done.stderr.startswith("simulate: 2 trial runs of 500 members in ")


@pytest.mark.parametrize(
    ("plan", "extra", "message"),
    [
        ('{"consumption": {"non_buyer_share": 2}}', [], "consumption.non_buyer_share must be within 0..1"),
        ('{"rules": {"settlement": {"rate": 1}}}', [], "unknown setting rules.settlement.rate"),
        ("{not json", [], "is not valid JSON"),
        ('{"consumption": {"sigma": NaN}}', [], "NaN is not a JSON number"),
        ("{}", ["--sweep", "bogus=1,2"], "'bogus' is not a single-number setting"),
        ("{}", ["--export-trial", "5"], "--export-trial must be within 1..2"),
        ('{"rules": {"settlement": {"q1_pool_bp": 400}}}', ["--export-trial", "1"], "default settlement rules"),
        ("{}", ["--members", "0"], "--members and --trials must be at least 1"),
    ],
)
def test_a_bad_plan_or_setting_exits_2_with_one_line(tmp_path, capsys, plan, extra, message):
    source = tmp_path / "plan.json"
    source.write_text(plan, encoding="utf-8")
    status = main(
        ["--trials", "2", "--members", "100", "--out", str(tmp_path / "out"), "--config", str(source), *extra]
    )
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("simulate: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert not (tmp_path / "out" / "report.json").exists()


def test_the_command_itself_exits_2_without_a_traceback(tmp_path):
    done = _simulate("--out", str(tmp_path), "--config", str(tmp_path / "absent.json"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "cannot read" in done.stderr


def test_the_engine_and_the_simulation_core_never_import_matplotlib():
    modules = [
        "chalicelib.domain.settlement",
        "chalicelib.settlement",
        "chalicelib.simulation.runner",
        "chalicelib.simulation.trial",
        "chalicelib.simulation.model",
        "chalicelib.simulation.sweep",
    ]
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint('matplotlib' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
