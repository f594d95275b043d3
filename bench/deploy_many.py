"""Benchmark: deploy-many over a cascade of 10 pipelines against the emulator, as a real GitHub-mode
process, against the same 10 deployments run one by one as 10 `fabric-ci deploy-all` processes.

The dependency graph's critical path has a known length: each pipeline's deployment takes the
seconds set for it in the emulator (`pipeline_operation_seconds`), in real time (the in-process
virtual clock is not thread-aware, and deploy-many waits in threads). Rounds, each side on its
own emulator: cold (no pipeline has deployed between these stages before, so no wait knows what
to expect), warm (the same release again, with that history) and drifted (the release after, with
each duration off the history by the DRIFT factors: there the waits lend each other the requests an
accurate estimate saved). Reports, per round:
- deploy-many's wall time against the critical path (the goal: within 1.1x), also counted from its
  first request (the interpreter's start-up is no scheduling), and against the one-by-one total;
- status requests (counted in the emulator's request log) against the one-by-one runs' sum
  (the goal: no more), and every request by type;
- how late each entry was accepted after the last of its dependencies ended, which is where the
  wall time above the critical path goes.
Figures, not assertions: run with `make bench` (or `python bench/deploy_many.py`); about 6 minutes.
The rounds above run the cascade as given (1-3 s deployments); two more run it with durations 4.6x,
deploy-many only, to show that what it adds to the critical path is a fixed amount, not a share; and
two with every read 0.3 s late and `depends-on: auto`, to show what reading side by side (up to
max-parallel at once) saves before the first deployment, against one read at a time.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fabric_ci
from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.seed import PIPELINES
from fabric_ci.emulator.state import Deployment

# The requests that read a deployment's status (the wait's), and the deploy itself.
STATUS_OPERATIONS = frozenset(
    {"DeploymentPipelines_GetDeploymentPipelineOperation", "LongRunningOperations_GetOperationState"}
)
DEPLOY_OPERATION = "DeploymentPipelines_DeployStageContent"


@dataclass(frozen=True)
class Entry:
    pipeline: str
    source: str
    target: str
    seconds: float
    depends_on: tuple[str, ...] = ()


# Six seeded cascade pipelines and four others; the critical path is Shared Models -> Executive
# Reports -> Board Pack (3 + 3 + 2 = 8 s); the other chains are shorter (6.5 s and 5.5 s). At most
# five entries run at once, so max-parallel 8 never holds one back.
CASCADE: tuple[Entry, ...] = (
    Entry("Shared Models", "Development", "Test", 3.0),
    Entry("Revenue Reports", "Development", "Test", 2.0, ("Shared Models",)),
    Entry("Customer Reports", "Development", "Test", 1.5, ("Shared Models",)),
    Entry("Regional Reports", "Development", "Test", 2.0, ("Shared Models",)),
    Entry("Executive Reports", "Development", "Test", 3.0, ("Shared Models",)),
    Entry("Board Pack", "Development", "Test", 2.0, ("Executive Reports",)),
    Entry("Finance Reporting", "Dev", "Prod", 1.5, ("Revenue Reports",)),
    Entry("Sales Analytics", "Development", "Test", 2.5),
    Entry("HR Reporting", "Test", "Production", 1.0, ("Sales Analytics",)),
    Entry("Four Stage Release", "Development", "Test", 2.0, ("HR Reporting",)),
)
MAX_PARALLEL = 8
# The drifted round: the release after the warm one, where deployments no longer take what the
# history says (content grew, or shrank): each duration times these factors in turn.
DRIFT = (1.4, 0.8, 1.25, 1.0)
# The longer rounds: every duration times this (critical path 36.8 s). Warm, what deploy-many adds to
# the critical path is a fixed amount (the interpreter's start, about 0.2 s per hand-off where a wait
# sees its end, the summary), not a share: here it shows against durations nearer real ones (cold,
# each hand-off still waits for a 5 s tick). Not 5: at 5x, seven of the ten durations (the whole
# critical path among them) end on the 5 s poll's ticks, where a wait with no history looks anyway.
LONGER = 4.6
# The read-latency rounds: every GET answered this much later (the service's reads take a few tenths
# of a second; the emulator's none), deploy-many with `depends-on: auto` for every entry, so that what
# it reads before the first deployment (pipelines, stage items, item relations) is what counts.
READ_LATENCY = 0.3


def drifted(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
    return tuple(
        Entry(e.pipeline, e.source, e.target, round(e.seconds * DRIFT[i % len(DRIFT)], 2), e.depends_on)
        for i, e in enumerate(entries)
    )


def scaled(entries: tuple[Entry, ...], factor: float) -> tuple[Entry, ...]:
    return tuple(Entry(e.pipeline, e.source, e.target, e.seconds * factor, e.depends_on) for e in entries)


def pipeline_id(name: str) -> str:
    return next(p.id for p in PIPELINES if p.display_name == name)


def critical_path(entries: tuple[Entry, ...]) -> tuple[float, list[str]]:
    """The longest chain of durations through the dependency graph, and its entries."""
    by_name = {e.pipeline: e for e in entries}
    memo: dict[str, tuple[float, list[str]]] = {}

    def longest(name: str) -> tuple[float, list[str]]:
        if name not in memo:
            entry = by_name[name]
            before = max((longest(d) for d in entry.depends_on), default=(0.0, []))
            memo[name] = (before[0] + entry.seconds, [*before[1], name])
        return memo[name]

    return max(longest(e.pipeline) for e in entries)


def manifest(entries: tuple[Entry, ...]) -> str:
    return json.dumps(
        {
            "deployments": [
                {
                    "pipeline": e.pipeline,
                    "source-stage": e.source,
                    "target-stage": e.target,
                    **({"depends-on": list(e.depends_on)} if e.depends_on else {}),
                }
                for e in entries
            ]
        }
    )


def emulator_config(entries: tuple[Entry, ...]) -> EmulatorConfig:
    # Short Retry-After values: the deploy answer's default of 30 s would dwarf 1-3 s deployments.
    return EmulatorConfig(
        operation_seconds=1.0,
        pipeline_operation_seconds={pipeline_id(e.pipeline): e.seconds for e in entries},
        deploy_retry_after=1,
        retry_after=1,
    )


def run_process(emu: Emulator, command: str, inputs: dict[str, str], tmp: Path) -> tuple[float, float]:
    """One `fabric-ci <command>` as a GitHub step; (start, exit) times. Exits the bench if it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_", "FABRIC_CI_"))}
    env.update({f"INPUT_{k.upper()}": v for k, v in {**emu.inputs(), **inputs}.items()})
    out, summary = tmp / "out", tmp / "summary"
    out.write_text("")
    summary.write_text("")
    env.update(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary))
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_ci", command], env=env, capture_output=True, text=True, check=False
    )
    exited = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return started, exited


class Window:
    """The requests and deployments the emulator saw from now on (an earlier run's are left out)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.requests = len(emu.requests)
        self.deployments = len(emu.deployments)

    def counts(self) -> collections.Counter[str]:
        return collections.Counter(r.operation for r in self.emu.requests[self.requests :])

    def first_request_at(self) -> float:
        return self.emu.requests[self.requests].started_at

    def ran(self) -> list[Deployment]:
        return self.emu.deployments[self.deployments :]


def many_run(
    emu: Emulator, entries: tuple[Entry, ...], tmp: Path, *, auto: bool = False, max_parallel: int = MAX_PARALLEL
) -> dict[str, Any]:
    window = Window(emu)
    text = manifest(entries)
    if auto:
        text = json.dumps({"defaults": {"depends-on": "auto"}, **json.loads(text)})
    inputs = {"manifest": text, "max-parallel": str(max_parallel)}
    started, exited = run_process(emu, "deploy-many", inputs, tmp)
    by_pipeline = {pipeline_id(e.pipeline): e.pipeline for e in entries}
    ran = {by_pipeline[d.pipeline_id]: d for d in window.ran()}
    # How late each entry was accepted after the last of its dependencies ended (or, with none,
    # after the process started: its start-up, sign-in and the pipelines' look-up).
    late = {}
    for e in entries:
        ready = max((ran[d].finishes_at for d in e.depends_on), default=started)
        late[e.pipeline] = ran[e.pipeline].accepted_at - ready
    first_deploy = min(d.accepted_at for d in ran.values())
    return {
        "wall_s": exited - started,
        "by_type": window.counts(),
        "reads_before_first_deploy": sum(
            1 for r in emu.requests[window.requests :] if r.method == "GET" and r.started_at < first_deploy
        ),
        "late": late,
        "exit_after_last_end_s": exited - max(d.finishes_at for d in ran.values()),
        "first_deploy_after_start_s": first_deploy - started,
        "first_request_after_start_s": window.first_request_at() - started,
    }


def one_by_one(emu: Emulator, entries: tuple[Entry, ...], tmp: Path) -> dict[str, Any]:
    """What a user runs without deploy-many: each deployment as its own deploy-all, in an order that
    respects the dependencies (the manifest's), one after another."""
    window = Window(emu)
    walls = []
    for e in entries:
        inputs = {"pipeline": e.pipeline, "source-stage": e.source, "target-stage": e.target}
        started, exited = run_process(emu, "deploy-all", inputs, tmp)
        walls.append(exited - started)
    return {"wall_s": sum(walls), "walls": walls, "by_type": window.counts()}


def status_requests(by_type: collections.Counter[str]) -> int:
    return sum(n for op, n in by_type.items() if op in STATUS_OPERATIONS)


def fixed_poll_requests(entries: tuple[Entry, ...]) -> int:
    """Status requests Microsoft's sample (one right after the deploy answer, then one every 5 s until
    it sees the end) would send for these durations: computed, not run."""
    return sum(1 + math.ceil(e.seconds / 5) for e in entries)


def report(title: str, length: float, many: dict[str, Any], single: dict[str, Any], entries: tuple[Entry, ...]) -> None:
    wall, single_wall = many["wall_s"], single["wall_s"]
    print(f"\n-- {title} --")
    print(f"deploy-many wall:          {wall:6.2f}s  = {wall / length:.2f}x the critical path (goal <= 1.10x)")
    # The process's own start (interpreter, imports) is before any request and outside the scheduler.
    started = wall - many["first_request_after_start_s"]
    print(f"  from its first request:  {started:6.2f}s  = {started / length:.2f}x the critical path")
    each = ", ".join(f"{w:.1f}" for w in single["walls"])
    print(f"one-by-one deploy-all:     {single_wall:6.2f}s  ({each}); deploy-many takes {wall / single_wall:.2f}x")
    mine, theirs = status_requests(many["by_type"]), status_requests(single["by_type"])
    print(
        f"status requests:           deploy-many {mine}, one-by-one sum {theirs} (goal: no more); "
        f"the 5 s sample poll: {fixed_poll_requests(entries)} (computed from the durations)"
    )
    print(
        f"deploy requests:           deploy-many {many['by_type'][DEPLOY_OPERATION]}, "
        f"one-by-one {single['by_type'][DEPLOY_OPERATION]}"
    )
    print("requests by type, deploy-many / one-by-one:")
    for op in sorted(set(many["by_type"]) | set(single["by_type"])):
        print(f"  {many['by_type'][op]:4d} / {single['by_type'][op]:4d}  {op}")
    print("each entry accepted this long after its dependencies ended (s):")
    for e in CASCADE:
        print(
            f"  {e.pipeline:20} {many['late'][e.pipeline]:5.2f}"
            + ("" if e.depends_on else "  (after the process started)")
        )
    print(
        f"first request {many['first_request_after_start_s']:.2f}s and first deploy "
        f"{many['first_deploy_after_start_s']:.2f}s after the process started; "
        f"exit {many['exit_after_last_end_s']:.2f}s after the last deployment ended"
    )


def report_longer(title: str, length: float, many: dict[str, Any], entries: tuple[Entry, ...]) -> None:
    """A longer round: deploy-many alone (ten 1-3 s deployments one by one are measured above)."""
    wall = many["wall_s"]
    started = wall - many["first_request_after_start_s"]
    print(f"\n-- {title} --")
    print(f"deploy-many wall:          {wall:6.2f}s  = {wall / length:.2f}x the critical path (goal <= 1.10x)")
    print(f"  from its first request:  {started:6.2f}s  = {started / length:.2f}x the critical path")
    print(
        f"status requests:           deploy-many {status_requests(many['by_type'])}; "
        f"the 5 s sample poll: {fixed_poll_requests(entries)} (computed from the durations)"
    )
    print(
        f"above the critical path:   {wall - length:.2f}s: start-up to the first deploy "
        f"{many['first_deploy_after_start_s']:.2f}s, exit {many['exit_after_last_end_s']:.2f}s after the last end, "
        f"the rest where the critical path's waits saw their ends"
    )


def report_reads(one: dict[str, Any], side: dict[str, Any]) -> None:
    """The read-latency rounds: how long before the first deployment, reads one at a time or side by
    side, and how long each hand-off takes when every read costs a round trip."""
    print(f"\n-- every read {READ_LATENCY}s late, depends-on: auto: start-up to the first deploy --")
    for title, run in (("max-parallel 1 (one look-up at a time)", one), (f"max-parallel {MAX_PARALLEL}", side)):
        print(
            f"{title:38} {run['first_deploy_after_start_s']:6.2f}s, {run['reads_before_first_deploy']} reads "
            f"before it (first request {run['first_request_after_start_s']:.2f}s)"
        )
    ratio = side["first_deploy_after_start_s"] / one["first_deploy_after_start_s"]
    print(f"side by side takes {ratio:.2f}x the time one at a time takes")
    # A hand-off: the wait's look that sees the dependency's end, the entry's pipeline, its stages'
    # items and the history (side by side), then the deploy request.
    handoffs = sorted(side["late"][e.pipeline] for e in CASCADE if e.depends_on)
    print(
        f"max-parallel {MAX_PARALLEL}: wall {side['wall_s']:.2f}s; each entry accepted after its dependencies "
        f"ended: median {statistics.median(handoffs):.2f}s ({', '.join(f'{h:.2f}' for h in handoffs)})"
    )


DRIFTED = drifted(CASCADE)
LONG = scaled(CASCADE, LONGER)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    # Start as the image does, compiled (Dockerfile): with PYTHONDONTWRITEBYTECODE set, a source tree's
    # modules would be compiled again at every start, about 0.1 s of each process measured here.
    compileall.compile_dir(Path(fabric_ci.__file__).parent, quiet=1)
    length, path = critical_path(CASCADE)
    total = sum(e.seconds for e in CASCADE)
    print(f"\n== deploy-many: {len(CASCADE)} pipelines, max-parallel {MAX_PARALLEL}, real time ==")
    print(f"critical path: {length:.1f}s ({' -> '.join(path)}); sum of all deployments: {total:.1f}s")
    with tempfile.TemporaryDirectory() as tmp:
        # Cold: no pipeline has deployed between these stages before, so no wait has a duration to
        # expect and each polls as a 5 s fixed poll would (its budget): a 1-3 s deployment is seen at 5 s.
        # Each side gets its own emulator, so that neither inherits the other's history.
        with Emulator(emulator_config(CASCADE)) as emu:
            cold_many = many_run(emu, CASCADE, Path(tmp))
            # Warm: the same release again, now that each pipeline's history holds one deployment
            # between these stages (as a team's every release after its first does).
            warm_many = many_run(emu, CASCADE, Path(tmp))
            # Drifted: the history (two past deployments each) is off by the DRIFT factors. Here the
            # waits lend each other the requests an accurate estimate saves (api/polling.py SharedBudget).
            emu.configure(pipeline_operation_seconds=emulator_config(DRIFTED).pipeline_operation_seconds)
            drift_many = many_run(emu, DRIFTED, Path(tmp))
        with Emulator(emulator_config(CASCADE)) as emu:
            cold_single = one_by_one(emu, CASCADE, Path(tmp))
            warm_single = one_by_one(emu, CASCADE, Path(tmp))
            emu.configure(pipeline_operation_seconds=emulator_config(DRIFTED).pipeline_operation_seconds)
            drift_single = one_by_one(emu, DRIFTED, Path(tmp))
        with Emulator(emulator_config(LONG)) as emu:
            long_cold = many_run(emu, LONG, Path(tmp))
            long_warm = many_run(emu, LONG, Path(tmp))
        # Each read round on its own emulator with no history, so both start alike; only the reads before
        # the first deployment are compared (max-parallel 1 also runs the deployments one at a time).
        reads = {}
        for width in (1, MAX_PARALLEL):
            with Emulator(emulator_config(CASCADE)) as emu:
                emu.inject(r".*", 1_000_000, method="GET", kind="slow", delay_seconds=READ_LATENCY)
                reads[width] = many_run(emu, CASCADE, Path(tmp), auto=True, max_parallel=width)
    report("cold: the first release, no history", length, cold_many, cold_single, CASCADE)
    report("warm: the next release, with one past deployment per pipeline", length, warm_many, warm_single, CASCADE)
    drift_length, drift_path = critical_path(DRIFTED)
    report(
        f"drifted: durations off the history by {', '.join(f'{f}x' for f in DRIFT)} in turn "
        f"(critical path {drift_length:.2f}s: {' -> '.join(drift_path)})",
        drift_length,
        drift_many,
        drift_single,
        DRIFTED,
    )
    long_length, _ = critical_path(LONG)
    report_longer(f"cold, every duration {LONGER}x (critical path {long_length:.1f}s)", long_length, long_cold, LONG)
    report_longer(f"warm, every duration {LONGER}x", long_length, long_warm, LONG)
    report_reads(reads[1], reads[MAX_PARALLEL])
    return 0


if __name__ == "__main__":
    sys.exit(main())
