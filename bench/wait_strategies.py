"""Benchmark: how fabric-ci waits for a deployment, side by side with what users would otherwise run.

Three strategies follow the same emulator deployments (the Fabric API, with the 202's
`Retry-After: 30` and the operation state's `Retry-After: 20` of Microsoft's examples):

- **5 s poller**: Microsoft's PowerShell samples and the Power BI automation tools extension: a
  status request right after the deploy answer, then one every 5 s;
- **Retry-After poller**: the Fabric sample: sleep each Retry-After, then read the long-running
  operation's state;
- **fabric-ci**: `deploy-all` with wait, its real core (cli.run) in-process.

Deployments last about 3 s, 10 s, 60 s and 600 s (each drawn within ±20%, seeded, the same draws
for every strategy), several of each on one emulator, so fabric-ci has the same-stage history a
pipeline deployed regularly has (the first of each size has only the seeded 8 s history).

Time is virtual: the emulator's clock and every wait share one clock that advances only when
someone sleeps (so 600 s deployments take no time); requests take no time. Figures per strategy:
status requests, and the delay between the deployment's end and the status answer that first
shows it, median and worst; then fabric-ci's ratios to each. Figures, not assertions: `make bench`.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fabric_ci import cli
from fabric_ci.clock import VirtualClock
from fabric_ci.emulator import Emulator, EmulatorConfig, seed
from fabric_ci.emulator.inprocess import EmulatorTransport
from fabric_ci.runners.local import LocalRunner

STATUS_OPERATIONS = frozenset(
    {"DeploymentPipelines_GetDeploymentPipelineOperation", "LongRunningOperations_GetOperationState"}
)
TERMINAL = frozenset({"Succeeded", "Failed"})
SIZES = (3.0, 10.0, 60.0, 600.0)


@dataclass
class Followed:
    requests: int  # status requests
    late: float  # seconds between the end and the answer that showed it


Strategy = Callable[[Emulator, EmulatorTransport, VirtualClock], None]


def _api(emulator: Emulator, transport: EmulatorTransport) -> httpx.Client:
    token, _expiry = emulator.state.issue_token()
    return httpx.Client(
        transport=transport, base_url=emulator.api_base_url, headers={"Authorization": f"Bearer {token}"}
    )


def _deploy(http: httpx.Client) -> httpx.Response:
    body = {"sourceStageId": seed.DEV_STAGE_ID, "targetStageId": seed.TEST_STAGE_ID}
    response = http.post(f"deploymentPipelines/{seed.DEMO_PIPELINE_ID}/deploy", json=body)
    response.raise_for_status()
    return response


def five_second_poller(emulator: Emulator, transport: EmulatorTransport, clock: VirtualClock) -> None:
    with _api(emulator, transport) as http:
        deployment_id = _deploy(http).headers["deployment-id"]
        path = f"deploymentPipelines/{seed.DEMO_PIPELINE_ID}/operations/{deployment_id}"
        while http.get(path).json()["status"] not in TERMINAL:
            clock.sleep(5)


def retry_after_poller(emulator: Emulator, transport: EmulatorTransport, clock: VirtualClock) -> None:
    with _api(emulator, transport) as http:
        answer = _deploy(http)
        lro = answer.headers["x-ms-operation-id"]
        while True:
            clock.sleep(float(answer.headers.get("Retry-After", "5")))
            answer = http.get(f"operations/{lro}")
            if answer.json()["status"] in TERMINAL:
                return


def fabric_ci(emulator: Emulator, transport: EmulatorTransport, clock: VirtualClock) -> None:
    inputs = {
        **emulator.sign_in("secret").inputs,
        "pipeline": "Sales Analytics",
        "source-stage": "Development",
        "target-stage": "Test",
    }
    out = io.StringIO()
    runner = LocalRunner(inputs, output_format="json", stdout=out, stderr=out, is_tty=False, env={})
    status = cli.run("deploy-all", runner, debug=False, clock=clock.clock, environ={}, http_transport=transport)
    if status != 0:
        raise SystemExit(f"fabric-ci failed ({status}): {out.getvalue()}")


STRATEGIES: dict[str, Strategy] = {
    "5 s poller": five_second_poller,
    "Retry-After poller": retry_after_poller,
    "fabric-ci": fabric_ci,
}


def follow_all(strategy: Strategy, durations: list[float]) -> list[Followed]:
    clock = VirtualClock()
    results = []
    with Emulator(EmulatorConfig(operation_seconds=8.0, page_size=20), clock=clock.now) as emulator:
        transport = EmulatorTransport(emulator)
        for duration in durations:
            emulator.configure(operation_seconds=duration)
            seen = len(emulator.requests)
            strategy(emulator, transport, clock)
            deployment = emulator.deployments[-1]
            reads = [r for r in emulator.requests[seen:] if r.operation in STATUS_OPERATIONS]
            ended = next(
                r for r in reads if isinstance(r.response_body, dict) and r.response_body.get("status") in TERMINAL
            )
            results.append(Followed(requests=len(reads), late=ended.started_at - deployment.finishes_at))
            clock.sleep(60)  # the next release comes later
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=6, help="deployments of each size (default 6)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    by_size = {size: [size * rng.uniform(0.8, 1.2) for _ in range(args.runs)] for size in SIZES}
    table: dict[tuple[str, float], list[Followed]] = {}
    for name, strategy in STRATEGIES.items():
        for size, durations in by_size.items():
            table[name, size] = follow_all(strategy, durations)

    print(f"Waiting for a deployment: {args.runs} deployments of each size (±20%), virtual time, Fabric API")
    print("| deployment | strategy | status requests (mean) | late, median | late, worst |")
    print("|---|---|---|---|---|")
    for size in SIZES:
        for name in STRATEGIES:
            rows = table[name, size]
            mean = statistics.fmean(r.requests for r in rows)
            late = [r.late for r in rows]
            print(f"| ~{size:.0f} s | {name} | {mean:.1f} | {statistics.median(late):.2f} s | {max(late):.2f} s |")
    print()
    print(
        "| deployment | requests vs 5 s poller | vs Retry-After poller | median late vs 5 s poller | vs Retry-After |"
    )
    print("|---|---|---|---|---|")
    for size in SIZES:
        ours = table["fabric-ci", size]
        cells = []
        for other in ("5 s poller", "Retry-After poller"):
            theirs = table[other, size]
            cells.append(f"{sum(r.requests for r in ours) / sum(r.requests for r in theirs):.2f}")
        for other in ("5 s poller", "Retry-After poller"):
            mine = statistics.median(r.late for r in ours)
            theirs_late = statistics.median(r.late for r in table[other, size])
            cells.append(f"{mine:.2f} s / {theirs_late:.2f} s")
        print(f"| ~{size:.0f} s | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    worst_excess = max(
        r.requests - p.requests
        for size in SIZES
        for r, p in zip(table["fabric-ci", size], table["5 s poller", size], strict=True)
    )
    print()
    print(f"most status requests fabric-ci sent beyond the 5 s poller for the same deployment: {worst_excess}")


if __name__ == "__main__":
    main()
