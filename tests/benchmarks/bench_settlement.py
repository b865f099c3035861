"""Benchmark of the settlement engine on generated populations (run on purpose, never by pytest).

    python -m tests.benchmarks.bench_settlement [--members N ...] [--shapes SHAPE ...]
                                                [--kind monthly|quarterly] [--repeat R] [--no-cli]

For every shape and size it prints:

- core: ``SettlementInput.from_arrays`` (validation) plus ``settle`` (forest numbering and
  all components of the kind) on arrays, best of ``--repeat`` runs; no JSON, no per-reward
  dicts. ``settle`` alone is shown too.
- core peak: the peak of memory allocated during one core run, measured with
  ``tracemalloc`` (numpy reports its buffers to it); the input arrays made before the run
  (5 x 8 bytes per member) are not included.
- CLI: wall-clock time of ``python -m chalicelib.settlement --input IN.json --output
  OUT.json`` on a generated input file (interpreter start, JSON parsing, validation,
  settlement, output dicts and JSON writing), and the peak RSS (``VmHWM``) of the same
  command in a second run, read by the process itself at exit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from chalicelib.domain.rules import SettlementRules
from chalicelib.domain.settlement import SettlementInput, input_to_json, settle
from chalicelib.simulation.populations import SHAPES, draw_attributes

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()}; numpy {np.__version__}"
    )


def max_depth(parent: np.ndarray) -> int:
    depth = [0] * parent.size
    for i, p in enumerate(parent.tolist()):  # generated members come after their referrer
        if p >= 0:
            depth[i] = depth[p] + 1
    return max(depth, default=0)


def core(columns: dict[str, np.ndarray], kind: str, period: str) -> tuple[float, float]:
    start = time.perf_counter()
    inp = SettlementInput.from_arrays(**columns)
    built = time.perf_counter()
    settle(inp, SettlementRules(), kind=kind, period=period)
    done = time.perf_counter()
    return done - start, done - built


def core_peak(columns: dict[str, np.ndarray], kind: str, period: str) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        inp = SettlementInput.from_arrays(**columns)
        settle(inp, SettlementRules(), kind=kind, period=period)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_document(path: Path, columns: dict[str, np.ndarray], kind: str, period: str) -> None:
    ids = [f"m{i:07d}" for i in range(columns["parent"].size)]
    inp = SettlementInput.from_arrays(**columns, member_ids=ids)
    with path.open("w", encoding="utf-8") as handle:
        json.dump(input_to_json(inp, kind, period), handle, separators=(",", ":"))


# Runs the CLI module as ``-m`` does and prints the process's own peak RSS. ru_maxrss from
# wait4 would not do: Linux keeps the high-water mark across fork and exec, so a child
# would report at least the size of this (large) benchmark process.
_PEAK_WRAPPER = """
import runpy, sys
try:
    runpy.run_module("chalicelib.settlement", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        sys.stderr.write(next(line for line in status if line.startswith("VmHWM")))
"""


def run_cli(source: Path, target: Path) -> tuple[float, int | None]:
    """Wall-clock seconds of the real command, then the peak RSS of a second, wrapped run."""
    arguments = ["--input", str(source), "--output", str(target)]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chalicelib.settlement", *arguments], cwd=REPO, check=True)
    elapsed = time.perf_counter() - start
    peak = None
    if Path("/proc/self/status").exists():
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_WRAPPER, *arguments], cwd=REPO, check=True, capture_output=True, text=True
        )
        peak = int(done.stderr.split()[-2]) * 1024  # "VmHWM:  123456 kB"
    return elapsed, peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_settlement")
    parser.add_argument("--members", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    parser.add_argument("--kind", choices=["monthly", "quarterly"], default="monthly")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-cli", action="store_true", help="skip the whole-CLI runs")
    args = parser.parse_args(argv)
    period = "2026-10" if args.kind == "monthly" else "2026-Q4"

    print(f"machine: {machine()}")
    print(
        f"{args.kind} settlement; core = best of {args.repeat}; core peak = tracemalloc; "
        "CLI peak = VmHWM (peak RSS) of the CLI process\n"
    )
    header = (
        "| shape | members | max depth | core s | settle s | core peak MiB | CLI s | CLI peak RSS MiB "
        "| input MB | output MB | rewards |"
    )
    rows = [header, "|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|"]
    print("\n".join(rows), flush=True)
    for shape in args.shapes:
        for n in args.members:
            rng = np.random.default_rng(args.seed)
            tree = SHAPES[shape](n, rng)
            drawn = draw_attributes(n, rng, months=1 if args.kind == "monthly" else 3)
            columns = {
                "parent": tree.parent,
                "stars": drawn.stars,
                "guide_tier": drawn.guide_tier,
                "volumes_fen": drawn.volumes_fen,
            }
            timings = [core(columns, args.kind, period) for _ in range(args.repeat)]
            best = min(timings)
            peak = core_peak(columns, args.kind, period)
            cli: tuple[str, ...] = ("-", "-", "-", "-", "-")
            if not args.no_cli:
                with tempfile.TemporaryDirectory() as scratch:
                    source, target = Path(scratch) / "in.json", Path(scratch) / "out.json"
                    write_document(source, columns, args.kind, period)
                    seconds, rss = run_cli(source, target)
                    rewards = len(json.loads(target.read_text(encoding="utf-8"))["rewards"])
                    cli = (
                        f"{seconds:.2f}",
                        "-" if rss is None else f"{rss / MIB:.0f}",
                        f"{source.stat().st_size / 1e6:.0f}",
                        f"{target.stat().st_size / 1e6:.0f}",
                        f"{rewards:,}",
                    )
            row = (
                f"| {shape} | {n:,} | {max_depth(tree.parent):,} | {best[0]:.3f} | {best[1]:.3f} "
                f"| {peak / MIB:.0f} | " + " | ".join(cli) + " |"
            )
            print(row, flush=True)


if __name__ == "__main__":
    main()
