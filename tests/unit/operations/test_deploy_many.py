"""deploy-many's scheduler: dependency order, the parallel limit, one deployment per pipeline at a
time, and each on-failure mode. The single deploy is replaced by a recording fake here (the e2e
tests run the real one against the emulator)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fabric_ci.clock import SYSTEM_CLOCK, Clock
from fabric_ci.errors import (
    DeployManyFailed,
    DeploymentFailed,
    ErrorDetails,
    ForbiddenError,
    InputErrors,
    WaitTimeout,
)
from fabric_ci.models.inputs import DeployAllInputs, parse_inputs
from fabric_ci.models.manifest import DeployManyInputs
from fabric_ci.models.results import DeployManyResult, DeploymentResult
from fabric_ci.operations.deploy_many import deploy_many
from tests.support.overlap import Overlap

STEP = {
    "tenant-id": "e37de926-00d4-493d-85c5-49d2d2fdc1fb",
    "client-id": "57760066-428a-4acd-b192-e392b8e2b8d3",
    "client-secret": "s3cret",
}


class Client:
    """Just enough of PipelinesClient for resolving pipelines by name, each with the three stages."""

    def __init__(self, names: list[str]) -> None:
        stages = [
            SimpleNamespace(id=f"stage-{order}", display_name=name, order=order)
            for order, name in enumerate(("Development", "Test", "Production"))
        ]
        self.pipelines = [SimpleNamespace(id=f"id-{n.lower()}", display_name=n, stages=stages) for n in names]

    def list_pipelines(self) -> list[Any]:
        return self.pipelines

    def get_pipeline(self, pipeline_id: str) -> Any:
        return next(p for p in self.pipelines if p.id == pipeline_id)


class Quiet:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.interims: list[dict[str, Any]] = []

    def phase(self, title: str) -> Any:
        from contextlib import nullcontext

        return nullcontext()

    def info(self, message: str) -> None:
        self.lines.append(message)

    debug = notice = warning = info

    def mask(self, secret: str) -> None:
        pass

    def deployment_accepted(self, operation_id: str) -> None:
        pass

    def interim(self, result: DeployManyResult) -> None:
        self.interims.append(json.loads(result.outputs()["results"]))

    def progress(self, progress: Any) -> None:
        pass


@dataclass
class FakeDeploy:
    """Records when each pipeline's deployment ran; `seconds` per pipeline, `fail` and `timeout`
    pipelines end that way."""

    seconds: dict[str, float]
    fail: set[str] = field(default_factory=set)
    timeout: set[str] = field(default_factory=set)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, inputs: DeployAllInputs, client: Any, reporter: Any, clock: Clock) -> DeploymentResult:
        # deploy-many hands each entry its pipeline by the id it resolved (the Client's "id-<name>").
        assert inputs.pipeline.id is not None, inputs.pipeline
        name = inputs.pipeline.id.removeprefix("id-").upper()
        start = time.monotonic()
        reporter.deployment_accepted(f"op-{name}")
        clock.sleep(self.seconds.get(name, 0.05))
        with self.lock:
            self.spans.append((name, start, time.monotonic()))
        result = DeploymentResult(
            command="deploy-all",
            pipeline_id=f"id-{name.lower()}",
            pipeline_name=name,
            operation_id=f"op-{name}",
            status="Failed" if name in self.fail else "Succeeded",
            duration_seconds=1.0,
        )
        if name in self.timeout:
            raise WaitTimeout(
                f"Deployment op-{name} was still Running", result.model_copy(update={"status": "Running"})
            )
        if name in self.fail:
            raise DeploymentFailed(f"Deployment op-{name} failed.", result)
        return result


def run(
    manifest: str, fake: FakeDeploy, names: list[str], reporter: Quiet | None = None, **step: str
) -> DeployManyResult:
    inputs = parse_inputs(DeployManyInputs, {**STEP, **step, "manifest": manifest})
    return deploy_many(inputs, Client(names), reporter or Quiet(), SYSTEM_CLOCK, deploy_one=fake)  # type: ignore[arg-type]


def spans_of(fake: FakeDeploy) -> dict[str, tuple[float, float]]:
    return {name: (start, end) for name, start, end in fake.spans}


DIAMOND = """
defaults: {source-stage: 0}
deployments:
  - pipeline: A
  - {pipeline: B, depends-on: [A]}
  - {pipeline: C, depends-on: [A]}
  - {pipeline: D, depends-on: [B, C]}
"""


def test_dependents_start_after_their_dependencies_and_siblings_overlap() -> None:
    """B and C start after A ends and run together; D starts after both."""
    fake = FakeDeploy({"A": 0.2, "B": 0.4, "C": 0.4, "D": 0.1})
    result = run(DIAMOND, fake, ["A", "B", "C", "D"])
    assert result.succeeded
    spans = spans_of(fake)
    assert spans["B"][0] >= spans["A"][1]
    assert spans["C"][0] >= spans["A"][1]
    assert spans["C"][0] < spans["B"][1]
    assert spans["B"][0] < spans["C"][1]
    assert spans["D"][0] >= max(spans["B"][1], spans["C"][1])


def test_no_more_than_max_parallel_run_at_once() -> None:
    """With max-parallel 2, five independent entries never run more than two at a time."""
    names = ["P1", "P2", "P3", "P4", "P5"]
    manifest = "defaults: {source-stage: 0}\ndeployments:\n" + "".join(f"  - pipeline: {n}\n" for n in names)
    fake = FakeDeploy(dict.fromkeys(names, 0.2))
    run(manifest, fake, names, **{"max-parallel": "2"})
    events = sorted(
        [(s, 1) for _, s, _ in fake.spans] + [(e, -1) for _, _, e in fake.spans], key=lambda x: (x[0], x[1])
    )
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    assert peak == 2


def test_entries_on_one_pipeline_never_overlap() -> None:
    """Two independent entries on the same pipeline run one after the other."""
    manifest = """
defaults: {source-stage: 0}
deployments:
  - {name: first, pipeline: A}
  - {name: second, pipeline: A, source-stage: 1}
  - {pipeline: B}
"""
    fake = FakeDeploy({"A": 0.2, "B": 0.2})
    run(manifest, fake, ["A", "B"])
    a_spans = sorted((s, e) for n, s, e in fake.spans if n == "A")
    assert len(a_spans) == 2
    assert a_spans[1][0] >= a_spans[0][1]


def test_skip_dependents_skips_only_what_depends_on_the_failure() -> None:
    """By default a failed entry's dependents (transitively) are skipped; the rest go on; exit 1."""
    manifest = """
defaults: {source-stage: 0}
deployments:
  - pipeline: A
  - {pipeline: B, depends-on: [A]}
  - {pipeline: C, depends-on: [B]}
  - pipeline: D
"""
    fake = FakeDeploy({}, fail={"A"})
    with pytest.raises(DeployManyFailed) as raised:
        run(manifest, fake, ["A", "B", "C", "D"])
    statuses = {e.name: e.status for e in raised.value.result.entries}
    assert statuses == {"A": "Failed", "B": "Skipped", "C": "Skipped", "D": "Succeeded"}
    assert "Skipped or not started: B, C." in raised.value.message
    assert "A: Failed: Deployment op-A failed." in raised.value.message


def test_stop_starts_nothing_new() -> None:
    """on-failure: stop lets running entries finish and starts nothing else."""
    manifest = """
defaults: {source-stage: 0}
deployments:
  - pipeline: A
  - pipeline: B
  - {pipeline: C, depends-on: [B]}
"""
    fake = FakeDeploy({"A": 0.05, "B": 0.3}, fail={"A"})
    with pytest.raises(DeployManyFailed) as raised:
        run(manifest, fake, ["A", "B", "C"], **{"on-failure": "stop"})
    statuses = {e.name: e.status for e in raised.value.result.entries}
    assert statuses == {"A": "Failed", "B": "Succeeded", "C": "NotStarted"}


def test_continue_runs_dependents_anyway() -> None:
    """on-failure: continue runs every entry, dependents of a failed one too."""
    manifest = "defaults: {source-stage: 0}\ndeployments:\n  - pipeline: A\n  - {pipeline: B, depends-on: [A]}\n"
    fake = FakeDeploy({}, fail={"A"})
    with pytest.raises(DeployManyFailed) as raised:
        run(manifest, fake, ["A", "B"], **{"on-failure": "continue"})
    assert {e.name: e.status for e in raised.value.result.entries} == {"A": "Failed", "B": "Succeeded"}


def test_a_timeout_names_the_operation_left_running() -> None:
    """A timed-out entry keeps its operation id in the results, and its dependents are skipped."""
    manifest = "defaults: {source-stage: 0}\ndeployments:\n  - pipeline: A\n  - {pipeline: B, depends-on: [A]}\n"
    fake = FakeDeploy({}, timeout={"A"})
    with pytest.raises(DeployManyFailed) as raised:
        run(manifest, fake, ["A", "B"])
    result = raised.value.result
    assert [e.name for e in result.running] == ["A"]
    assert result.entries[0].as_output()["operation-id"] == "op-A"
    assert result.entries[1].status == "Skipped"


def test_results_output_has_every_entry() -> None:
    """The `results` output maps each entry to its pipeline, operation, status, duration and items."""
    fake = FakeDeploy({})
    result = run(DIAMOND, fake, ["A", "B", "C", "D"])
    results = json.loads(result.outputs()["results"])
    assert list(results) == ["A", "B", "C", "D"]
    assert results["A"] == {
        "pipeline-id": "id-a",
        "operation-id": "op-A",
        "status": "Succeeded",
        "duration-seconds": 1,
        "deployed-items": [],
    }


def test_results_are_written_again_as_each_deployment_is_accepted() -> None:
    """Each acceptance writes `results` at once: every entry accepted so far with its operation id, the rest
    NotStarted, so a step killed mid-run still names every deployment it started."""
    reporter = Quiet()
    run(DIAMOND, FakeDeploy({"A": 0.3, "B": 0.3, "C": 0.3, "D": 0.3}), ["A", "B", "C", "D"], reporter)
    assert len(reporter.interims) == 4
    first = reporter.interims[0]
    assert first["A"]["status"] == "Running"
    assert first["A"]["operation-id"] == "op-A"
    assert first["A"]["pipeline-id"] == "id-a"
    assert [first[n]["status"] for n in "BCD"] == ["NotStarted"] * 3
    assert [first[n]["operation-id"] for n in "BCD"] == [None] * 3
    last = reporter.interims[-1]
    assert last["D"]["status"] == "Running"
    assert {n: last[n]["operation-id"] for n in "ABCD"} == {n: f"op-{n}" for n in "ABCD"}
    assert last["A"]["status"] == "Succeeded"
    for written in reporter.interims:  # an accepted entry never loses its id in a later write
        accepted = [n for n in "ABCD" if written[n]["status"] != "NotStarted"]
        assert all(written[n]["operation-id"] == f"op-{n}" for n in accepted)


def test_unknown_pipelines_are_refused_before_any_deployment() -> None:
    """Every entry's pipeline is resolved first: an unknown one stops the run with nothing deployed."""
    fake = FakeDeploy({})
    with pytest.raises(InputErrors) as raised:
        run(DIAMOND, fake, ["A", "B", "C"])
    assert fake.spans == []
    [error] = raised.value.errors
    assert error.message.startswith("Input 'manifest': entry 'D', key 'pipeline': no deployment pipeline named 'D'")


def test_an_unexpected_exception_fails_its_entry_and_the_run_goes_on() -> None:
    """A bug in one entry (not a FabricCiError) is that entry's failure, named as a bug; the other entry
    finishes and every outcome is reported (it used to escape the pool and lose all results)."""

    def broken(inputs: DeployAllInputs, client: Any, reporter: Any, clock: Clock) -> DeploymentResult:
        if inputs.pipeline.id == "id-a":
            raise ValueError("malformed answer")
        return FakeDeploy({})(inputs, client, reporter, clock)

    manifest = "defaults: {source-stage: 0}\ndeployments:\n  - pipeline: A\n  - pipeline: B\n"
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": manifest})
    with pytest.raises(DeployManyFailed) as raised:
        deploy_many(inputs, Client(["A", "B"]), Quiet(), SYSTEM_CLOCK, deploy_one=broken)  # type: ignore[arg-type]
    statuses = {e.name: e.status for e in raised.value.result.entries}
    assert statuses == {"A": "Failed", "B": "Succeeded"}
    assert "Unexpected ValueError: malformed answer. This is a bug in fabric-ci" in raised.value.message


def test_pipelines_are_listed_once_and_entries_get_them_by_id() -> None:
    """One pipeline listing resolves every entry's name; each entry's deploy is given the resolved id."""
    client = Client(["A", "B", "C", "D"])
    listings = []
    original = client.list_pipelines

    def counted() -> list[Any]:
        listings.append(1)
        return original()

    client.list_pipelines = counted  # type: ignore[method-assign]
    fake = FakeDeploy({})
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": DIAMOND})
    deploy_many(inputs, client, Quiet(), SYSTEM_CLOCK, deploy_one=fake)  # type: ignore[arg-type]
    assert len(listings) == 1
    assert sorted(name for name, _, _ in fake.spans) == ["A", "B", "C", "D"]


def test_entries_pipelines_are_read_side_by_side_and_every_unknown_one_named_in_order() -> None:
    """The look-ups before the first deployment go out max-parallel at a time (each a round trip on the
    service); the unknown pipelines are still all named, in the manifest's order."""
    client = Client(["A", "C", "E", "G"])
    read = Overlap()
    original = client.get_pipeline

    def slow_get(pipeline_id: str) -> Any:
        read(0)
        return original(pipeline_id)

    client.get_pipeline = slow_get  # type: ignore[method-assign]
    manifest = "defaults: {source-stage: 0}\ndeployments:\n" + "".join(f"  - pipeline: {n}\n" for n in "ABCDEFG")
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": manifest, "max-parallel": "3"})
    with pytest.raises(InputErrors) as raised:
        deploy_many(inputs, client, Quiet(), SYSTEM_CLOCK, deploy_one=FakeDeploy({}))  # type: ignore[arg-type]
    assert read.most == 3
    assert [e.message.split("key 'pipeline'")[0] for e in raised.value.errors] == [
        f"Input 'manifest': entry {n!r}, " for n in "BDF"
    ]


def test_a_look_up_the_service_refuses_names_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 403 (or an outage) on one entry's pipeline read stops the run before its first deployment,
    saying whose pipeline it was: the service's message names neither."""
    client = Client(["A", "B"])
    original = client.get_pipeline

    def refused(pipeline_id: str) -> Any:
        if pipeline_id == "id-b":
            details = ErrorDetails(403, "InsufficientPrivileges", "The caller is not an Admin", request_id="r-1")
            raise ForbiddenError(details, "Make it an Admin.")
        return original(pipeline_id)

    client.get_pipeline = refused  # type: ignore[method-assign]
    manifest = "defaults: {source-stage: 0}\ndeployments:\n  - pipeline: A\n  - {name: b-release, pipeline: B}\n"
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": manifest})
    deploy = FakeDeploy({})
    with pytest.raises(ForbiddenError) as raised:
        deploy_many(inputs, client, Quiet(), SYSTEM_CLOCK, deploy_one=deploy)  # type: ignore[arg-type]
    assert raised.value.message == (
        "403 InsufficientPrivileges: The caller is not an Admin (reading the pipeline of entry 'b-release') "
        "Make it an Admin. (requestId r-1)"
    )
    assert deploy.spans == []
    # From a manifest file, the file too.
    (tmp_path / "release.yml").write_text(manifest)
    monkeypatch.chdir(tmp_path)
    inputs = parse_inputs(DeployManyInputs, {**STEP, "manifest": "release.yml"})
    with pytest.raises(ForbiddenError, match=r"\(reading the pipeline of entry 'b-release' in file 'release.yml'\)"):
        deploy_many(inputs, client, Quiet(), SYSTEM_CLOCK, deploy_one=deploy)  # type: ignore[arg-type]


def test_unknown_stages_are_refused_before_any_deployment_every_one_named() -> None:
    """A stage typo or a deployment to its own source stage needs only the pipeline to be found out:
    the run stops before its first deployment, naming each entry and key, as a pipeline typo does."""
    manifest = """
defaults: {source-stage: Development}
deployments:
  - pipeline: A
  - {pipeline: B, target-stage: Tset, depends-on: [A]}
  - {pipeline: C, source-stage: Test, target-stage: test}
  - {pipeline: D, source-stage: Production}
"""
    fake = FakeDeploy({})
    with pytest.raises(InputErrors) as raised:
        run(manifest, fake, ["A", "B", "C", "D"])
    assert fake.spans == []
    assert [e.message for e in raised.value.errors] == [
        "Input 'manifest': entry 'B', key 'target-stage': pipeline 'B' has no stage 'Tset'; its stages are "
        "Development (0), Test (1), Production (2).",
        "Input 'manifest': entry 'C', key 'target-stage': is the same stage as source-stage ('Test').",
        "Input 'manifest': entry 'D', key 'target-stage': 'Production' is the last stage of 'D', so there is no "
        "next stage to deploy to; set target-stage (stages: Development (0), Test (1), Production (2)).",
    ]
