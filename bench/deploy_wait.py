"""Benchmark: a demo deploy-all with wait against the emulator, as a real GitHub-mode process,
through the Fabric API and (`--api powerbi`, or both by default) the Power BI API.

Reports, per run: HTTP requests by type, time from process start to the first request, the
delay between the deployment ending in the emulator and the process exiting, and peak RSS.
Figures, not assertions: run with `make bench` (or `python bench/deploy_wait.py --help`).
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fabric_ci.emulator import Emulator, EmulatorConfig

# The request that reads a deployment's status, per API.
STATUS_OPERATION = {
    "fabric": "DeploymentPipelines_GetDeploymentPipelineOperation",
    "powerbi": "Pipelines_GetPipelineOperation",
}


def one_run(duration: float, api: str) -> dict[str, object]:
    """One deploy-all; the emulator's seeded history says deployments take `duration`, as they do."""
    with Emulator(EmulatorConfig(operation_seconds=duration)) as emu, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_"))}
        inputs = {
            **emu.inputs(api=api),
            "pipeline": "Sales Analytics",
            "source-stage": "Development",
            "target-stage": "Test",
        }
        env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        env.update(
            GITHUB_ACTIONS="true",
            GITHUB_OUTPUT=str(Path(tmp, "out")),
            GITHUB_STEP_SUMMARY=str(Path(tmp, "summary")),
        )
        Path(tmp, "out").touch()
        Path(tmp, "summary").touch()
        started = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "fabric_ci", "deploy-all"], env=env, capture_output=True, text=True, check=False
        )
        exited = time.time()
        if proc.returncode != 0:
            raise SystemExit(f"deploy-all failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        records = emu.requests  # the control API's own requests are never logged
        deployment = emu.deployments[0]
        return {
            "by_type": collections.Counter(r.operation for r in records),
            "status_polls": sum(r.operation == STATUS_OPERATION[api] for r in records),
            "first_request_ms": (records[0].started_at - started) * 1000,
            "exit_after_end_ms": (exited - deployment.finishes_at) * 1000,
            "wall_s": exited - started,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--durations", type=float, nargs="+", default=[8.0, 30.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--api", choices=["fabric", "powerbi"], nargs="+", default=["fabric", "powerbi"])
    args = parser.parse_args()
    for api in args.api:
        for duration in args.durations:
            report(api, duration, [one_run(duration, api) for _ in range(args.runs)])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"\npeak RSS of a fabric-ci process: {peak_kib / 1024:.0f} MiB")
    return 0


def report(api: str, duration: float, results: list[dict[str, object]]) -> None:
    sample_polls = 1 + math.ceil(duration / 5)
    print(f"\n== api: {api}, deploy-all with wait, deployment of {duration:.0f}s, {len(results)} runs ==")
    print("requests by type (first run):")
    for name, count in sorted(results[0]["by_type"].items()):  # type: ignore[attr-defined]
        print(f"  {count:3d}  {name}")

    def stats(key: str, results: list[dict[str, object]] = results) -> str:
        values = [float(r[key]) for r in results]  # type: ignore[arg-type]
        return f"median {statistics.median(values):7.0f}  min {min(values):7.0f}  max {max(values):7.0f}"

    print(
        f"status polls:                        {[r['status_polls'] for r in results]}"
        f"  (a fixed 5 s poll sends {sample_polls})"
    )
    print(f"process start -> first request (ms): {stats('first_request_ms')}")
    print(f"deployment end -> process exit (ms): {stats('exit_after_end_ms')}")


if __name__ == "__main__":
    sys.exit(main())
