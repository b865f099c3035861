"""Command line of the plan simulator: what the rewards plan costs on generated populations.

    python -m chalicelib.simulate --members N --trials T --seed S --out DIR
                                  [--config PLAN.json] [--export-trial K]
                                  [--sweep PARAM=v1,v2,...] [--quiet]

Writes ``DIR/report.json``, ``DIR/report.html`` and the charts (PNG) into DIR, and with
``--export-trial K`` trial K's four engine inputs into ``DIR/trial-K/``. A bad plan file
or setting ends with a one-line message on stderr and exit status 2; a traceback would
mean a bug. The progress bar (stderr) shows only on a terminal and not with ``--quiet``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from chalicelib.simulation.config import MAX_MEMBERS, ConfigError, load_config
from chalicelib.simulation.report import write_report
from chalicelib.simulation.runner import simulate
from chalicelib.simulation.sweep import parse_sweep

EXIT_BAD_INPUT = 2


def _reject_constant(name: str) -> float:
    raise ConfigError(f"{name} is not a JSON number")


def _read_plan(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            plan = json.load(handle, parse_constant=_reject_constant)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(plan, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return plan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.simulate",
        description="Simulate what the rewards plan pays out (RULES.md 5.9, open questions 2 and 3): "
        "generated populations, one quarter each, settled by the real engine.",
    )
    parser.add_argument("--members", type=int, default=100_000, metavar="N", help="members per trial (100000)")
    parser.add_argument("--trials", type=int, default=20, metavar="T", help="trials (20)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (1)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the report")
    parser.add_argument("--config", metavar="PLAN.json", help="plan file overriding the default assumptions")
    parser.add_argument(
        "--export-trial", type=int, metavar="K", help="also write trial K's engine inputs (1..T) to DIR/trial-K/"
    )
    parser.add_argument("--sweep", metavar="PARAM=v1,v2,...", help="rerun the trials for each value of a setting")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no closing line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.members < 1 or args.trials < 1:
            raise ConfigError("--members and --trials must be at least 1")
        if args.members > MAX_MEMBERS:
            raise ConfigError(f"--members must be at most {MAX_MEMBERS:,}")
        if args.seed < 0:
            raise ConfigError("--seed must not be negative")
        plan = _read_plan(args.config)
        config = load_config(plan)
        sweep = parse_sweep(args.sweep, plan) if args.sweep else None
        out = Path(args.out)
        export = None
        if args.export_trial is not None:
            if not 1 <= args.export_trial <= args.trials:
                raise ConfigError(f"--export-trial must be within 1..{args.trials}, not {args.export_trial}")
            if not config.engine_rules_are_default():
                raise ConfigError(
                    "--export-trial needs the engine's default settlement rules (apart from "
                    "components and max_payout_ratio): python -m chalicelib.settlement reads no "
                    "other rule"
                )
            export = (args.export_trial, out / f"trial-{args.export_trial}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {out}: {exc.strerror or exc}") from exc
    except ConfigError as exc:
        print(f"simulate: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    steps = args.trials * (1 + (len(sweep.values) if sweep else 0))
    try:
        with tqdm(
            total=steps, desc="trials", unit="trial", file=sys.stderr, disable=args.quiet or not sys.stderr.isatty()
        ) as bar:
            document = simulate(
                config,
                members=args.members,
                trials=args.trials,
                seed=args.seed,
                sweep=sweep,
                export=export,
                advance=bar.update,
            )
        write_report(document, out)
    except OSError as exc:
        print(f"simulate: error: cannot write the report into {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.quiet:
        elapsed = time.perf_counter() - started
        print(
            f"simulate: {steps} trial runs of {args.members:,} members in {elapsed:.1f} s; "
            f"report in {out / 'report.html'}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
