"""Benchmark: the Azure DevOps task's start-up, as the agent runs it (`node index.js` out of the built vsix,
`runtime: python`), against running the core directly.

- first run on a fresh agent: the task finds Python, creates its venv and pip-installs the dependencies
  (from a package index on loopback holding the wheels `make` downloaded, by hash) before it starts;
- cached run: the venv is there;
- direct: `python -m fabric_ci` with the same inputs in Azure Pipelines mode, with the venv's own Python
  (what the task runs) — the difference to the cached run is the wrapper's overhead.

Each is timed from process start to the first request the emulator receives (the sign-in) and to the
first API request. deploy-all with `wait: false`, so the end is the deployment's acceptance.
Figures, not assertions: `make bench`, or `python -m bench.azure_devops_task --runs 5`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.azure_pipelines import agent_environment, base_python, extract_tasks, package_index

from fabric_ci.commands import camel_case
from fabric_ci.emulator import Emulator, EmulatorConfig, seed

SIGN_IN = ("Entra_", "AzureDevOps_", "Imds_", "GitHub_")


def inputs(emulator: Emulator) -> dict[str, str]:
    given = {camel_case(name): value for name, value in emulator.inputs().items()}
    return {**given, "pipeline": seed.DEMO_PIPELINE_NAME, "sourceStage": "Development", "wait": "false"}


def timed(argv: list[str], env: dict[str, str], emulator: Emulator) -> tuple[float, float, float]:
    """(ms to the first request, ms to the first API request, ms to exit)."""
    seen = len(emulator.requests)
    started = time.time()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    ended = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    records = emulator.requests[seen:]  # the control API's own requests are never logged
    api = [r for r in records if not r.operation.startswith(SIGN_IN)]
    while emulator.deployments and emulator.deployments[-1].status_at(emulator.state.now()) in (
        "NotStarted",
        "Running",
    ):
        time.sleep(0.1)  # the pipeline takes one deployment at a time: let this one end (not timed)
    return ((records[0].started_at - started) * 1000, (api[0].started_at - started) * 1000, (ended - started) * 1000)


def show(label: str, runs: list[tuple[float, float, float]]) -> None:
    def stat(i: int) -> str:
        values = [run[i] for run in runs]
        return f"{statistics.median(values):7.0f} ({min(values):.0f}-{max(values):.0f})"

    print(f"{label:<34} {stat(0)}   {stat(1)}   {stat(2)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind (fresh agents: as many)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(EmulatorConfig(operation_seconds=1)) as emulator:
        root = Path(tmp)
        tasks = extract_tasks(root / "vsix")
        with package_index(root / "index") as index_url:

            def env(tools: Path, n: int) -> dict[str, str]:
                temp = root / f"job{n}" / "_temp"
                temp.mkdir(parents=True)
                return agent_environment(
                    tasks / "FabricCiDeployAll",
                    {"runtime": "python", "pythonPath": base_python(), **inputs(emulator)},
                    temp_dir=temp,
                    tools_dir=tools,
                    index_url=index_url,
                )

            task = ["node", str(tasks / "FabricCiDeployAll" / "index.js")]
            fresh = [timed(task, env(root / f"fresh{n}", n), emulator) for n in range(args.runs)]
            cached_tools = root / "fresh0"
            cached = [timed(task, env(cached_tools, 100 + n), emulator) for n in range(args.runs)]
            (venv_python,) = [
                p
                for p in cached_tools.glob("fabric-ci/*/*/bin/python")
                if p.parent.parent.joinpath("pyvenv.cfg").is_file()
            ]
            direct = [
                timed([str(venv_python), "-m", "fabric_ci", "deploy-all"], env(cached_tools, 200 + n), emulator)
                for n in range(args.runs)
            ]
    print(f"deploy-all (wait: false) through the Azure DevOps task, {args.runs} runs each; ms, median (min-max)")
    print(f"{'':<34} {'first request':>15}   {'first API request':>17}   {'exit':>15}")
    show("task, fresh agent (venv + pip)", fresh)
    show("task, cached venv", cached)
    show("core directly (the venv's python)", direct)
    overhead = statistics.median(r[1] for r in cached) - statistics.median(r[1] for r in direct)
    print(f"wrapper overhead to the first API request (cached - direct, medians): {overhead:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
