"""Write a simulation's report: ``report.json``, the charts as PNG files and a self-contained ``report.html``.

Everything is rendered from the report document alone, so the files are a pure function
of it: the same document gives the same bytes. The charts are drawn by matplotlib on an
explicit Agg canvas (no pyplot, no GUI backend, no global state) and saved without the
PNG ``Software`` text chunk, the only field that would vary between matplotlib versions;
PNGs carry no date. This is the only module of the programme that imports matplotlib:
the engine and the Lambda code never do.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .config import COMPONENTS, MODELS
from .runner import STATISTICS

COMPONENT_NAMES = {
    "small_group": "small-group share",
    "guide_fee": "nutritionist guidance fee",
    "q1": "Q1 pool",
    "q10": "Q10 pool",
}
MODEL_COLOURS = {"realistic": "#1f77b4", "preferential": "#ff7f0e", "chain": "#2ca02c"}
SERIES_COLOURS = {
    "total": "#222222",
    "small_group": "#d62728",
    "guide_fee": "#9467bd",
    "q1": "#8c564b",
    "q10": "#e377c2",
}
_DPI = 100

# figure name -> (label, format)
FIGURES: dict[str, tuple[str, str]] = {
    "payout_ratio": ("Payout ratio: all rewards / consumption", "ratio"),
    **{f"payout_ratio_{c}": (f"Payout ratio: {COMPONENT_NAMES[c]} ({c})", "ratio") for c in COMPONENTS},
    "consumption_fen": ("Consumption in the quarter (yuan)", "fen"),
    "rewards_fen": ("Rewards, all components (yuan)", "fen"),
    **{f"rewards_fen_{c}": (f"Rewards: {COMPONENT_NAMES[c]} (yuan)", "fen") for c in COMPONENTS},
    "points_issued": ("Points issued", "count"),
    "points_per_yuan": ("Points issued per yuan of consumption", "decimal"),
    "points_value_fen": ("Exchange value of the points issued (yuan)", "fen"),
    "points_value_ratio": ("Points value / consumption (worth of points to a member)", "ratio"),
    "points_cost_fen": ("Points cost after breakage (yuan)", "fen"),
    "points_cost_ratio": ("Points cost / consumption", "ratio"),
    "total_cost_ratio": ("Rewards + points cost / consumption", "ratio"),
    "members_paid_share": ("Share of members paid any reward", "ratio"),
    "store_duty_count": ("Members flagged store-required", "decimal"),
    "top1_share": ("Share of rewards to the top 1 % of members", "ratio"),
    "gini": ("Gini coefficient of rewards", "decimal3"),
    "max_depth": ("Referral tree depth (max)", "decimal"),
    "mean_depth": ("Referral tree depth (mean)", "decimal"),
}


def _format(value: Any, kind: str) -> str:
    if value is None:
        return "none"
    if kind == "ratio":
        return f"{100 * value:.2f} %"
    if kind == "fen":
        return f"{value / 100:,.0f}"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "decimal3":
        return f"{value:.3f}"
    if kind == "decimal":
        return f"{value:,.2f}" if value != int(value) else f"{value:,.0f}"
    return html.escape(str(value))


# --- charts ------------------------------------------------------------------------------------


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _percent(values: list[float]) -> np.ndarray:
    return 100 * np.asarray(values, dtype=np.float64)


def histogram(trials: list[dict[str, Any]], series: str) -> bytes:
    """Histogram of one payout ratio over the trials, stacked by growth model."""
    key = "payout_ratio" if series == "total" else f"payout_ratio_{series}"
    title = "all components" if series == "total" else f"{COMPONENT_NAMES[series]} ({series})"
    figure = Figure(figsize=(6.4, 3.6))
    ax = figure.add_subplot()
    models = [m for m in MODELS if any(t["model"] == m for t in trials)]
    values = [_percent([t["figures"][key] for t in trials if t["model"] == m]) for m in models]
    everything = np.concatenate(values)
    bins = max(5, min(30, len(trials) // 2))
    ax.hist(values, bins=bins, stacked=True, label=models, color=[MODEL_COLOURS[m] for m in models])
    for q, style in ((50, "--"), (95, ":")):
        ax.axvline(float(np.percentile(everything, q)), color="black", linestyle=style, linewidth=1, label=f"p{q}")
    ax.set_title(f"Payout ratio per trial: {title}")
    ax.set_xlabel("% of the quarter's consumption")
    ax.set_ylabel("trials")
    ax.legend(fontsize="small")
    figure.tight_layout()
    return _png(figure)


def lorenz_chart(trials: list[dict[str, Any]], grid: list[float]) -> bytes:
    """The Lorenz curve of the members' quarter rewards, one line per trial; right: the top 5 % enlarged."""
    figure = Figure(figsize=(9.6, 4.4))
    x = 100 * np.asarray(grid)
    for position, low in ((1, 0.0), (2, 95.0)):
        ax = figure.add_subplot(1, 2, position)
        ax.plot([low, 100], [0, 100] if low == 0 else [low, 100], color="grey", linewidth=1, label="equal rewards")
        labelled = set()
        for t in trials:
            model = t["model"]
            ax.plot(
                x,
                100 * np.asarray(t["lorenz"]),
                color=MODEL_COLOURS[model],
                alpha=0.6,
                linewidth=1,
                label=None if model in labelled else model,
            )
            labelled.add(model)
        ax.set_xlim(low, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("% of members, least paid first")
        ax.set_ylabel("% of all rewards")
        ax.set_title("all members, paid or not" if low == 0 else "the best-paid 5 %")
        ax.legend(fontsize="small", loc="upper left")
    figure.suptitle("Lorenz curve of the members' rewards in the quarter")
    figure.tight_layout()
    return _png(figure)


def depth_chart(trials: list[dict[str, Any]]) -> bytes:
    """Payout ratio (all components, and the small-group share alone) against the tree's depth."""
    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.add_subplot()
    for model in MODELS:
        own = [t for t in trials if t["model"] == model]
        if not own:
            continue
        depth = [t["figures"]["max_depth"] for t in own]
        ax.scatter(
            depth,
            _percent([t["figures"]["payout_ratio"] for t in own]),
            color=MODEL_COLOURS[model],
            label=f"{model}: all components",
        )
        ax.scatter(
            depth,
            _percent([t["figures"]["payout_ratio_small_group"] for t in own]),
            facecolors="none",
            edgecolors=MODEL_COLOURS[model],
            label=f"{model}: small-group share",
        )
    depths = [t["figures"]["max_depth"] for t in trials]
    if min(depths) > 0 and max(depths) / min(depths) > 10:
        ax.set_xscale("log")
        ticks = [
            t for t in (10.0**e * m for e in range(8) for m in (1, 2, 5)) if min(depths) / 2 <= t <= 2 * max(depths)
        ]
        ax.set_xticks(ticks, [f"{t:,.0f}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_title("Payout ratio against referral tree depth")
    ax.set_xlabel("max depth of the referral tree (levels)")
    ax.set_ylabel("% of the quarter's consumption")
    ax.legend(fontsize="x-small")
    figure.tight_layout()
    return _png(figure)


def sweep_chart(sweep: dict[str, Any]) -> bytes:
    """Median payout ratio (with the 5th-95th percentile band) against each swept value."""
    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.add_subplot()
    x = np.arange(len(sweep["rows"]))
    for series in ("total", *COMPONENTS):
        key = "payout_ratio" if series == "total" else f"payout_ratio_{series}"
        stats = [row["summary"]["figures"][key] for row in sweep["rows"]]
        middle = _percent([s["p50"] for s in stats])
        low = _percent([s["p5"] for s in stats])
        high = _percent([s["p95"] for s in stats])
        colour = SERIES_COLOURS[series]
        ax.plot(x, middle, marker="o", color=colour, label="all components" if series == "total" else series)
        ax.fill_between(x, low, high, color=colour, alpha=0.15)
    ax.set_xticks(x, [json.dumps(row["value"]) for row in sweep["rows"]])
    ax.set_title(f"Payout ratio against {sweep['param']}\n(line: median trial; band: p5 to p95)", fontsize="medium")
    ax.set_xlabel(sweep["param"])
    ax.set_ylabel("% of the quarter's consumption")
    ax.legend(fontsize="small")
    figure.tight_layout()
    return _png(figure)


def charts(document: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    """Every chart of the report: file name -> (caption, PNG bytes)."""
    trials = document["trials"]
    out = {}
    for series in ("total", *COMPONENTS):
        name = "all components" if series == "total" else f"{COMPONENT_NAMES[series]} ({series})"
        out[f"payout_ratio_{series}.png"] = (f"Payout ratio per trial: {name}", histogram(trials, series))
    out["lorenz.png"] = ("Lorenz curve of rewards", lorenz_chart(trials, document["run"]["lorenz_grid"]))
    out["payout_vs_depth.png"] = ("Payout ratio against tree depth", depth_chart(trials))
    if document["sweep"]:
        out["sweep.png"] = (f"Payout ratio against {document['sweep']['param']}", sweep_chart(document["sweep"]))
    return out


# --- HTML --------------------------------------------------------------------------------------

_STYLE = """
body { font-family: sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
.note { background: #fff6d6; border-left: 4px solid #e0b000; padding: 0.6em 1em; }
figure { display: inline-block; margin: 0.5em; }
figcaption { font-size: 0.9em; color: #555; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(figures: dict[str, dict[str, float]]) -> str:
    rows = [
        [html.escape(label)] + [_format(figures[name][s], kind) for s in STATISTICS]
        for name, (label, kind) in FIGURES.items()
        if name in figures
    ]
    return _table(["figure", *STATISTICS], rows)


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for key, child in value.items() for item in _flatten(f"{prefix}.{key}" if prefix else key, child)]
    return [(prefix, value)]


def _headline(document: dict[str, Any]) -> str:
    run, summary = document["run"], document["summary"]
    figures = summary["figures"]
    ratio, worst = figures["payout_ratio"], summary["worst_trial"]
    points, total = figures["points_cost_ratio"], figures["total_cost_ratio"]
    breakage = document["config"]["points_cost"]["breakage_rate"]
    return (
        f"Over {run['trials']} trials of {run['members']:,} members (seed {run['seed']}), the rewards of one quarter "
        f"(three monthly settlements and one quarterly) cost <b>{_format(ratio['p50'], 'ratio')}</b> of the "
        f"quarter's consumption in the median trial; 90 % of trials lie between {_format(ratio['p5'], 'ratio')} "
        f"and {_format(ratio['p95'], 'ratio')}. The worst trial (trial {worst['trial']}, {worst['model']} growth, "
        f"tree depth {worst['max_depth']}) paid {_format(worst['payout_ratio'], 'ratio')}, of which the "
        f"small-group share {_format(worst['payout_ratio_small_group'], 'ratio')}. Points add "
        f"{_format(points['p50'], 'ratio')} after {100 * breakage:g} % expire unused (median), for a total of "
        f"{_format(total['p50'], 'ratio')}."
    )


def render_html(document: dict[str, Any], images: dict[str, tuple[str, bytes]]) -> str:
    """The report page: headline, tables and the charts inline as base64 PNG (no external resources)."""
    run, summary = document["run"], document["summary"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>What the plan costs</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>What the plan costs: simulated payout of one quarter</h1>",
        f"<p>{_headline(document)}</p>",
        '<p class="note">Paying uplines from downline consumption is restricted in some jurisdictions (in '
        "mainland China, the Regulations on Prohibiting Pyramid Selling art. 7(3) and the Direct Selling "
        "Regulations art. 24). Enabling the team-based components (small_group, q1, q10, guide_fee) needs the "
        "operator's own legal review for the markets it serves (RULES.md 5.9).</p>",
        f"<h2>Summary over {summary['trials']} trials</h2>",
        "<p>Ratios are of the quarter's consumption; money in yuan. Percentiles use numpy's "
        f"<code>{html.escape(run['percentile_method'])}</code> method.</p>",
        _summary_table(summary["figures"]),
        "<h2>By growth model</h2>",
        _table(
            [
                "growth model",
                "trials",
                "payout p50",
                "payout p95",
                "payout max",
                "small-group p50",
                "small-group max",
                "depth (max), p50",
                "depth (max), max",
            ],
            [
                [
                    html.escape(model),
                    str(part["trials"]),
                    *(_format(part["figures"]["payout_ratio"][s], "ratio") for s in ("p50", "p95", "max")),
                    *(_format(part["figures"]["payout_ratio_small_group"][s], "ratio") for s in ("p50", "max")),
                    *(_format(part["figures"]["max_depth"][s], "decimal") for s in ("p50", "max")),
                ]
                for model, part in summary["by_model"].items()
            ],
        ),
        "<h2>Charts</h2>",
    ]
    for name, (caption, png) in images.items():
        encoded = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)} ({html.escape(name)})</figcaption></figure>"
        )
    sweep = document["sweep"]
    if sweep:
        parts += [
            f"<h2>Sensitivity: {html.escape(sweep['param'])}</h2>",
            "<p>The same trials (same seeds, same populations where only rules change) rerun for each value.</p>",
            _table(
                [
                    "value",
                    "payout p5",
                    "payout p50",
                    "payout p95",
                    "payout max",
                    *(f"{c} p50" for c in COMPONENTS),
                    "depth (max), mean",
                ],
                [
                    [
                        html.escape(json.dumps(row["value"])),
                        *(
                            _format(row["summary"]["figures"]["payout_ratio"][s], "ratio")
                            for s in ("p5", "p50", "p95", "max")
                        ),
                        *(_format(row["summary"]["figures"][f"payout_ratio_{c}"]["p50"], "ratio") for c in COMPONENTS),
                        _format(row["summary"]["figures"]["max_depth"]["mean"], "decimal"),
                    ]
                    for row in sweep["rows"]
                ],
            ),
        ]
    parts += [
        "<h2>Trials</h2>",
        _table(
            [
                "trial",
                "growth model",
                "depth (max)",
                "consumption (yuan)",
                "rewards (yuan)",
                "payout",
                *COMPONENTS,
                "points cost",
                "members paid",
                "store duty",
                "top 1 % share",
            ],
            [
                [
                    str(t["trial"]),
                    html.escape(t["model"]),
                    _format(f["max_depth"], "decimal"),
                    _format(f["consumption_fen"], "fen"),
                    _format(f["rewards_fen"], "fen"),
                    _format(f["payout_ratio"], "ratio"),
                    *(_format(f[f"payout_ratio_{c}"], "ratio") for c in COMPONENTS),
                    _format(f["points_cost_ratio"], "ratio"),
                    _format(f["members_paid_share"], "ratio"),
                    str(f["store_duty_count"]),
                    _format(f["top1_share"], "ratio"),
                ]
                for t in document["trials"]
                for f in [t["figures"]]
            ],
        ),
        "<h2>Assumptions</h2>",
        f"<p>Command: {run['trials']} trials of {run['members']:,} members, seed {run['seed']}"
        + (f", sweep <code>{html.escape(run['sweep'])}</code>" if run["sweep"] else "")
        + ".</p>",
        _table(
            ["setting", "value"],
            [
                [f"<code>{html.escape(path)}</code>", html.escape(json.dumps(value))]
                for path, value in _flatten("", document["config"])
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(document: dict[str, Any], directory: Path) -> list[Path]:
    """Write ``report.json``, every chart as a PNG file and ``report.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    path = directory / "report.json"
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    images = charts(document)
    for name, (_, png) in images.items():
        path = directory / name
        path.write_bytes(png)
        written.append(path)
    path = directory / "report.html"
    path.write_text(render_html(document, images), encoding="utf-8")
    written.append(path)
    return written
