"""Run the trials (and a sweep) and assemble the report document (``report.json``).

Trial k (numbered from 1) draws its population from the k-th child of
``SeedSequence(seed)`` and its growth model from the configured mix (``model.trial_models``),
so the same seed, sizes and plan always give the same document, byte for byte. Nothing
in the document depends on the clock or the machine.

Summary statistics over trials: mean, the 5th, 50th and 95th percentiles with numpy's
default ``linear`` method (type 7: interpolation between the closest ranks), and max.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .config import MODELS, SimulationConfig, config_to_json
from .model import Population, generate, trial_models, trial_seeds
from .sweep import Sweep
from .trial import LORENZ_GRID, export_trial, run_trial

PERCENTILE_METHOD = "linear"
STATISTICS = ("mean", "p5", "p50", "p95", "max")
# Figures that describe the run rather than vary by trial are not summarised.
_NOT_SUMMARISED = frozenset({"members"})


def summarize_figure(values: list[float]) -> dict[str, float]:
    """mean, p5, p50, p95 and max of one figure over trials."""
    array = np.asarray(values, dtype=np.float64)
    p5, p50, p95 = np.percentile(array, [5, 50, 95], method=PERCENTILE_METHOD)
    return {
        "mean": float(array.mean()),
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
        "max": float(array.max()),
    }


def summarize(trials: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Every figure of the trials, summarised."""
    names = [name for name in trials[0]["figures"] if name not in _NOT_SUMMARISED]
    return {name: summarize_figure([t["figures"][name] for t in trials]) for name in names}


def _summary(trials: list[dict[str, Any]]) -> dict[str, Any]:
    worst = max(trials, key=lambda t: (t["figures"]["payout_ratio"], -t["trial"]))
    by_model = {}
    for model in MODELS:
        own = [t for t in trials if t["model"] == model]
        if own:
            by_model[model] = {"trials": len(own), "figures": summarize(own)}
    return {
        "trials": len(trials),
        "figures": summarize(trials),
        "by_model": by_model,
        "worst_trial": {
            "trial": worst["trial"],
            "model": worst["model"],
            **{k: worst["figures"][k] for k in ("payout_ratio", "payout_ratio_small_group", "max_depth", "mean_depth")},
        },
    }


def simulate(
    config: SimulationConfig,
    *,
    members: int,
    trials: int,
    seed: int,
    sweep: Sweep | None = None,
    export: tuple[int, Path] | None = None,
    advance: Callable[[int], object] = lambda steps: None,
) -> dict[str, Any]:
    """Run ``trials`` trials of ``members`` members (and every sweep value) and return the report document.

    ``export = (k, directory)`` also writes trial k's engine inputs (base configuration)
    into ``directory``. ``advance(1)`` is called after each settled trial (progress bar).
    """
    seeds = trial_seeds(seed, trials)
    models = trial_models(config.model_weights(), trials)
    configs = [config, *(sweep.configs if sweep else ())]
    records: list[list[dict[str, Any]]] = [[] for _ in configs]
    for k in range(trials):
        generated: tuple[Any, Population] | None = None  # only one population in memory at a time
        for j, run_config in enumerate(configs):
            key = run_config.population_key()
            if generated is None or generated[0] != key:
                generated = (key, generate(run_config, members, models[k], seeds[k]))
            population = generated[1]
            if j == 0 and export is not None and export[0] == k + 1:
                export_trial(population, run_config, export[1])
            records[j].append({"trial": k + 1, **run_trial(population, run_config)})
            advance(1)

    document: dict[str, Any] = {
        "run": {
            "members": members,
            "trials": trials,
            "seed": seed,
            "sweep": sweep.label if sweep else None,
            "percentile_method": PERCENTILE_METHOD,
            "lorenz_grid": LORENZ_GRID.tolist(),
        },
        "config": config_to_json(config),
        "summary": _summary(records[0]),
        "trials": records[0],
        "sweep": None,
    }
    if sweep:
        document["sweep"] = {
            "param": sweep.path,
            "rows": [
                {
                    "value": value,
                    "summary": _summary(rows),
                    "trials": [{"trial": t["trial"], "model": t["model"], "figures": t["figures"]} for t in rows],
                }
                for value, rows in zip(sweep.values, records[1:], strict=True)
            ],
        }
    return document
