"""Cold import time of every Lambda function's handler, from the packaged bundle.

``python -m tests.benchmarks.bench_cold_import [--package out/prod] [--runs 7]`` (after
``make package``). Each run is a fresh interpreter (``-I -S``: nothing on the path but the
bundle, as on Lambda) with the function's environment from the template; the figure is
the time from before the handler's import to after it, not the interpreter's own start.
Lambda's init phase adds the runtime's start and whatever the first invocation creates
(AWS clients, the container); this measures what the code decides: what it imports.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

from tests.packaging.test_bundle import environment, functions

GOALS_S = {"Bearer": 0.25, "APIHandler": 0.6}


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    system = f"{platform.system()} {platform.machine()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}, load {os.getloadavg()[0]:.1f}"


def time_import(bundle: Path, handler: str, env: dict[str, str]) -> float:
    module, _, attribute = handler.rpartition(".")
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        "started = time.perf_counter()\n"
        "import importlib\n"
        f"getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "print(time.perf_counter() - started)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=bundle,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "cn-north-1", "AWS_LAMBDA_FUNCTION_NAME": "bench", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", default="out/prod")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    package = Path(args.package)
    template = yaml.safe_load((package / "sam.yaml").read_text(encoding="utf-8"))
    print(f"machine: {machine()}")
    print(f"bundle: {package / 'deployment.zip'} ({(package / 'deployment.zip').stat().st_size / 2**20:.1f} MiB)")
    print(f"{args.runs} fresh interpreters per function; seconds from before the handler's import to after it\n")
    print(f"{'function':<16} {'best':>7} {'median':>7} {'worst':>7}  goal")
    with tempfile.TemporaryDirectory() as directory:
        bundle = Path(directory)
        with zipfile.ZipFile(package / "deployment.zip") as archive:
            archive.extractall(bundle)
        for name, properties in sorted(functions(template).items()):
            env = environment(template, properties)
            times = sorted(time_import(bundle, properties["Handler"], env) for _ in range(args.runs))
            goal = GOALS_S.get(name)
            verdict = "" if goal is None else f"< {goal} s: {'met' if statistics.median(times) < goal else 'NOT met'}"
            print(f"{name:<16} {times[0]:7.3f} {statistics.median(times):7.3f} {times[-1]:7.3f}  {verdict}")


if __name__ == "__main__":
    main()
