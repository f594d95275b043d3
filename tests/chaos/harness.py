"""The chaos run: many deployments through fabric-ci's real core, with about a quarter of all API and
token requests faulted, in virtual time.

fabric-ci runs in-process (`cli.run` with the terminal runner in JSON mode), its HTTP served by
the emulator's own request handler through an httpx transport: no sockets, and one virtual clock
for the emulator's deployments and for every wait of fabric-ci's (retries, polling, the search for
a lost deployment), so hundreds of deployments and their hours of waiting take minutes.

The faults are the service's: a new deployment listed late (up to 25 s), 429 with Retry-After,
500/502/503, a connection refused, a connection reset before the request is processed, the
answer lost after it was processed (the deploy POST above all), a slow answer, and 401
TokenExpired for a valid token. Seeded: the same seed gives the same faults, the same
deployments and the same report.

What is counted per deployment step: whether it reached the right final status and outputs; the
deployments the emulator created for it (more than one is a duplicate); a deployment created but
not reported with its operation id; a traceback or "bug in fabric-ci"; and for each failed step,
whether its error names the fault that caused it.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import httpx

from fabric_ci import cli
from fabric_ci.clock import VirtualClock
from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.inprocess import EmulatorTransport
from fabric_ci.operations import deploy as deploy_operation
from fabric_ci.runners.local import LocalRunner

FAULTS = ("throttled", "server_error", "refused", "reset", "lost", "slow", "token_expired")
# What a failed step's error must mention, per fault that can end a step, to count as naming it.
NAMES_OF_FAULT = {
    "throttled": ("429", "throttl"),
    "server_error": ("500", "502", "503", "unavailable"),
    "refused": ("connect", "refused"),
    "reset": ("connection", "reset", "lost"),
    "lost": ("lost", "connection", "may still have started"),
    "slow": ("timed out", "timeout"),
    "token_expired": ("401", "token", "Token"),
}
ITEMS = "Report: Sales Overview\nSemanticModel: Sales Model\nRegional Sales"


@dataclass
class Injected:
    fault: str
    method: str
    path: str


class ChaosTransport(EmulatorTransport):
    """Serves fabric-ci's requests from the emulator's handler, faulting `rate` of them."""

    def __init__(self, emulator: Emulator, clock: VirtualClock, rng: random.Random, rate: float) -> None:
        super().__init__(emulator)
        self.clock, self.rng, self.rate = clock, rng, rate
        self.injected: list[Injected] = []
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        fault = self.rng.choice(FAULTS) if self.rng.random() < self.rate else None
        if fault == "token_expired" and not request.url.path.startswith(("/v1/", "/v1.0/")):
            fault = None  # a fault of the APIs, not of Entra
        if fault is not None:
            self.injected.append(Injected(fault, request.method, request.url.path))
        if fault == "refused":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault == "reset":  # the connection broke before the service read the request
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if fault == "throttled":
            seconds = self.rng.choice((1, 5, 30))
            return self._error(request, 429, "RequestBlocked", "Too many requests", {"Retry-After": str(seconds)})
        if fault == "server_error":
            status = self.rng.choice((500, 502, 503))
            return self._error(request, status, "ServiceUnavailable", "The service is temporarily unavailable.")
        if fault == "token_expired":
            return self._error(
                request, 401, "TokenExpired", "Access token has expired, resubmit with a new access token"
            )
        if fault == "slow":
            self.clock.sleep(self.rng.choice((2.0, 10.0, 45.0)))
        response = self.serve(request)
        if fault == "lost":  # acted on, then the answer never arrived
            raise httpx.ReadError("The connection was reset after the request was sent.", request=request)
        return response

    @staticmethod
    def _error(
        request: httpx.Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        body = {"errorCode": code, "message": message, "requestId": "chaos"}
        if request.url.path.startswith("/v1.0/myorg/"):
            body = {"error": {"code": code, "message": message}}  # type: ignore[dict-item]
        return httpx.Response(status, json=body, headers=headers or {}, request=request)


@dataclass
class StepOutcome:
    index: int
    api: str
    command: str
    wait: bool
    exit_code: int
    created: int
    reported_id: str | None
    right: bool
    traceback: bool
    faults: list[str]
    error: str = ""
    title: str = ""
    named: bool = True


@dataclass
class Report:
    seed: int
    rate: float
    outcomes: list[StepOutcome] = field(default_factory=list)
    requests: int = 0
    faulted: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    virtual_seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return sum(max(o.created - 1, 0) for o in self.outcomes)

    @property
    def unreported(self) -> int:
        """Deployments created but not reported with their operation id."""
        return sum(1 for o in self.outcomes if o.created and not o.reported_id)

    @property
    def tracebacks(self) -> int:
        return sum(1 for o in self.outcomes if o.traceback)

    @property
    def right(self) -> int:
        return sum(1 for o in self.outcomes if o.right)

    @property
    def failed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.exit_code != 0]

    @property
    def unnamed(self) -> list[StepOutcome]:
        return [o for o in self.failed if not o.named]

    @property
    def wrong(self) -> list[StepOutcome]:
        """Steps that exited 0 but whose outputs disagree with the emulator."""
        return [o for o in self.outcomes if o.exit_code == 0 and not o.right]

    @property
    def faulted_share(self) -> float:
        return sum(self.faulted.values()) / max(self.requests, 1)

    def healthy(self) -> bool:
        return not (self.duplicates or self.unreported or self.tracebacks or self.unnamed or self.wrong)

    def lines(self) -> list[str]:
        total = sum(self.faulted.values())
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.faulted.items()))
        failed = Counter(o.title for o in self.failed)
        return [
            f"chaos: {len(self.outcomes)} deployment steps, seed {self.seed}, "
            f"{self.wall_seconds:.0f} s wall time for {self.virtual_seconds / 3600:.1f} h of virtual time",
            f"requests: {self.requests}, faulted: {total} ({100 * self.faulted_share:.1f}%): {kinds}",
            f"reached the right final status and outputs: {self.right}",
            f"duplicates created: {self.duplicates}",
            f"deployments created but not reported with their operation id: {self.unreported}",
            f"tracebacks or 'bug in fabric-ci': {self.tracebacks}",
            f"exited 0 with outputs that disagree with the service: {len(self.wrong)}",
            f"steps that failed: {len(self.failed)}, naming their fault: {len(self.failed) - len(self.unnamed)}",
            *(f"  {n} x {title}" for title, n in failed.most_common()),
        ]


def _inputs(emulator: Emulator, api: str, command: str, wait: bool, index: int) -> dict[str, str]:
    inputs = {
        **emulator.sign_in("secret", api).inputs,
        "pipeline": "Sales Analytics",
        "source-stage": "Development",
        "target-stage": "Test",
        "wait": "true" if wait else "false",
        "timeout": "2h",
    }
    if index % 3 == 0:
        inputs["note"] = f"chaos release {index // 3}"
    if command == "selective-deploy":
        inputs["items"] = ITEMS
    return inputs


def _run_step(
    emulator: Emulator, transport: ChaosTransport, clock: VirtualClock, api: str, command: str, wait: bool, index: int
) -> StepOutcome:
    before = {d.id for d in emulator.deployments}
    faults_before = len(transport.injected)
    stdout, stderr = io.StringIO(), io.StringIO()
    runner = LocalRunner(
        _inputs(emulator, api, command, wait, index),
        output_format="json",
        stdout=stdout,
        stderr=stderr,
        is_tty=False,
        env={},
        command=command,
    )
    exit_code = cli.run(command, runner, debug=False, clock=clock.clock, environ={}, http_transport=transport)
    created = [d for d in emulator.deployments if d.id not in before]
    text = stdout.getvalue() + stderr.getvalue()
    document: dict[str, Any] = json.loads(stdout.getvalue().strip().splitlines()[-1])
    outputs = document.get("outputs") or {}
    reported = outputs.get("operation-id")
    faults = [i.fault for i in transport.injected[faults_before:]]
    outcome = StepOutcome(
        index=index,
        api=api,
        command=command,
        wait=wait,
        exit_code=exit_code,
        created=len(created),
        reported_id=reported if reported and any(d.id == reported for d in created) else None,
        right=False,
        traceback="Traceback" in text or "bug in fabric-ci" in text,
        faults=faults,
    )
    if exit_code == 0 and len(created) == 1:
        deployment = created[0]
        expected = deployment.final_status if wait else None
        status = outputs.get("status")
        outcome.right = outcome.reported_id == deployment.id and (
            status == expected if wait else status in ("NotStarted", "Running", deployment.final_status)
        )
    if exit_code != 0:
        error = document.get("error") or {}
        outcome.error = str(error.get("message", ""))
        outcome.title = str(error.get("title", ""))
        outcome.named = any(any(word in outcome.error for word in NAMES_OF_FAULT[f]) for f in set(faults))
    return outcome


def _settle(emulator: Emulator, clock: VirtualClock) -> None:
    """Let every deployment end, so the next one is not refused for a deployment in progress."""
    ends = [d.finishes_at for d in emulator.deployments]
    if ends and max(ends) >= clock.t:
        clock.t = max(ends) + 1.0


DEFAULT_RATE = 0.25  # of the requests drawn; some of those (slow) still answer, so the faulted share is ~20%


def run_chaos(deployments: int, seed: int, rate: float = DEFAULT_RATE) -> Report:
    """`deployments` deploy steps over both APIs, deploy-all and selective-deploy, with and without wait."""
    rng = random.Random(seed)
    random.seed(seed)  # the retries' backoff jitter draws from the module's generator: same seed, same run
    clock = VirtualClock()
    report = Report(seed=seed, rate=rate)
    began = time.monotonic()
    start_virtual = clock.t
    config = EmulatorConfig(page_size=5, fail_items=frozenset())
    # A deploy's reads one at a time: side by side they would draw faults and sleep on the one virtual
    # clock in whatever order their threads ran, and a seed would no longer give the same run.
    with mock.patch.object(deploy_operation, "READS_AT_ONCE", 1), Emulator(config, clock=clock.now) as emulator:
        transport = ChaosTransport(emulator, clock, rng, rate)
        for index in range(deployments):
            api = ("fabric", "powerbi")[index % 2]
            command = ("deploy-all", "selective-deploy")[(index // 2) % 2]
            wait = (index // 4) % 2 == 0
            emulator.configure(
                operation_seconds=rng.choice((2.0, 8.0, 30.0, 120.0, 600.0)),
                listing_delay_seconds=rng.choice((0.0, 0.0, 3.0, 12.0, 25.0)),  # the service may list it late
            )
            report.outcomes.append(_run_step(emulator, transport, clock, api, command, wait, index))
            _settle(emulator, clock)
        report.requests = transport.requests
        report.faulted = Counter(i.fault for i in transport.injected)
    report.wall_seconds = time.monotonic() - began
    report.virtual_seconds = clock.t - start_virtual
    return report


def iter_problems(report: Report) -> Iterator[str]:
    for o in report.outcomes:
        if o.created > 1:
            yield f"step {o.index}: {o.created} deployments created (faults {o.faults})"
        if o.created and not o.reported_id:
            yield f"step {o.index}: created a deployment without reporting its id (faults {o.faults}): {o.error}"
        if o.traceback:
            yield f"step {o.index}: traceback (faults {o.faults})"
        if o.exit_code != 0 and not o.named:
            yield f"step {o.index}: error does not name its fault {o.faults}: {o.error}"
        if o.exit_code == 0 and not o.right:
            yield f"step {o.index}: exit 0 but outputs disagree with the service (faults {o.faults})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deployments", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help=f"share of requests faulted ({DEFAULT_RATE})")
    args = parser.parse_args(argv)
    report = run_chaos(args.deployments, args.seed, args.rate)
    print("\n".join(report.lines()))
    problems = list(iter_problems(report))
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
