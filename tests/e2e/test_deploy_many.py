"""deploy-many as a real `fabric-ci` process (GitHub mode) against the emulator: order, the parallel
limit, one deployment per pipeline, each on-failure mode, a cycle, a timeout and a cancel."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, FOUR_STAGE_PIPELINE_ID
from tests.support.agent_commands import variables
from tests.support.github_runner import parse_output_file

from .conftest import RunStep, StepRun, step_env
from .test_azure_devops_runner import task_env

DEPLOY_POST = "DeploymentPipelines_DeployStageContent"

CASCADE = """
deployments:
  - {pipeline: Sales Analytics, source-stage: Development, target-stage: Test}
  - {name: four-1, pipeline: Four Stage Release, source-stage: Development}
  - {name: four-2, pipeline: Four Stage Release, source-stage: Test, depends-on: [four-1]}
  - name: sales-prod
    pipeline: Sales Analytics
    source-stage: Test
    target-stage: Production
    depends-on: [Sales Analytics]
"""


README = Path(__file__).parents[2] / "README.md"


def readme_step() -> dict[str, str]:
    """The README's deploy-many example step's `with:` inputs, sign-in aside."""
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S) if "fabric-ci/deploy-many@" in b]
    [step, *_] = yaml.safe_load(textwrap.dedent(block))
    return {k: str(v) for k, v in step["with"].items() if k not in ("tenant-id", "client-id")}


def results_of(run: StepRun) -> dict[str, dict[str, object]]:
    return dict(json.loads(run.outputs["results"]))


def statuses(run: StepRun) -> dict[str, object]:
    return {name: entry["status"] for name, entry in results_of(run).items()}


def deploy_posts(emulator: Emulator) -> int:
    return len([r for r in emulator.requests if r.operation == DEPLOY_POST])


def by_operation(emulator: Emulator, run: StepRun) -> dict[str, object]:
    ids = {entry["operation-id"]: name for name, entry in results_of(run).items()}
    return {str(ids[d.id]): d for d in emulator.deployments if d.id in ids}


def test_a_cascade_runs_in_dependency_order_one_per_pipeline(run_step: RunStep, emulator: Emulator) -> None:
    """Independent entries overlap; a dependent starts after its dependency ended; one deploy each."""
    run = run_step("deploy-many", {"manifest": CASCADE})
    assert run.returncode == 0, run.stdout + run.stderr
    assert statuses(run) == dict.fromkeys(["Sales Analytics", "four-1", "four-2", "sales-prod"], "Succeeded")
    assert deploy_posts(emulator) == 4
    # One sign-in for the run: the token is acquired once and shared by every entry.
    assert len([r for r in emulator.requests if r.path.endswith("/oauth2/v2.0/token")]) == 1
    ran = by_operation(emulator, run)
    sales, four1, four2, prod = (ran[n] for n in ("Sales Analytics", "four-1", "four-2", "sales-prod"))
    assert four1.accepted_at < sales.finishes_at  # type: ignore[attr-defined]
    assert sales.accepted_at < four1.finishes_at  # type: ignore[attr-defined]
    assert four2.accepted_at >= four1.finishes_at  # type: ignore[attr-defined]
    assert prod.accepted_at >= sales.finishes_at  # type: ignore[attr-defined]
    results = results_of(run)
    assert results["four-2"]["pipeline-id"] == FOUR_STAGE_PIPELINE_ID
    assert results["sales-prod"]["pipeline-id"] == DEMO_PIPELINE_ID
    assert results["Sales Analytics"]["deployed-items"]
    assert "```mermaid\ngantt" in run.summary
    assert "| four-2 | ✅ Succeeded |" in run.summary
    assert "Traceback" not in run.stderr


def test_the_readme_example_runs_on_the_emulator(run_step: RunStep, emulator: Emulator) -> None:
    """The README's worked example, its manifest and step inputs as written, against the emulator's cascade."""
    inputs = readme_step()
    assert set(inputs) == {"max-parallel", "on-failure", "manifest"}
    run = run_step("deploy-many", {**inputs, "manifest": inputs["manifest"].replace("timeout: 30m", "timeout: 5m")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert statuses(run) == dict.fromkeys(
        ["Shared Models", "Revenue Reports", "Executive Reports", "revenue-to-prod"], "Succeeded"
    )
    ran = by_operation(emulator, run)
    assert ran["Revenue Reports"].accepted_at >= ran["Shared Models"].finishes_at
    assert ran["revenue-to-prod"].accepted_at >= ran["Revenue Reports"].finishes_at
    [executive] = results_of(run)["Executive Reports"]["deployed-items"]
    assert executive["name"] == "Executive Model"


def test_max_parallel_one_runs_entries_one_after_another(run_step: RunStep, emulator: Emulator) -> None:
    """max-parallel: 1 never starts an entry while another runs, even when they are independent."""
    manifest = """
deployments:
  - {pipeline: Sales Analytics, source-stage: Development}
  - {pipeline: Four Stage Release, source-stage: Development}
"""
    run = run_step("deploy-many", {"manifest": manifest, "max-parallel": "1"})
    assert run.returncode == 0, run.stdout
    first, second = sorted(emulator.deployments, key=lambda d: d.accepted_at)[-2:]
    assert second.accepted_at >= first.finishes_at


def test_skip_dependents_skips_what_depends_on_a_failure(run_step: RunStep, emulator: Emulator) -> None:
    """A failed entry's dependents are skipped and listed; independent entries run; exit 1."""
    emulator.configure(fail_items={"Sales Model"})
    run = run_step("deploy-many", {"manifest": CASCADE})
    assert run.returncode == 1
    assert statuses(run) == {
        "Sales Analytics": "Failed",
        "four-1": "Succeeded",
        "four-2": "Succeeded",
        "sales-prod": "Skipped",
    }
    assert any("Skipped or not started: sales-prod." in e for e in run.errors), run.errors
    assert any("Sales Analytics: Failed" in e for e in run.errors), run.errors
    # The failed item's own error, as a deploy-all step shows it, titled with the entry and the item.
    [item_error] = [e for e in run.errors if e.startswith("title=Item failed%3A")]
    assert item_error.startswith("title=Item failed%3A [Sales Analytics] Sales Model::Semantic model"), item_error
    assert deploy_posts(emulator) == 3


def test_stop_starts_nothing_new_after_a_failure(run_step: RunStep, emulator: Emulator) -> None:
    """on-failure: stop leaves every entry not yet started unstarted."""
    emulator.configure(fail_items={"Sales Model"})
    manifest = """
deployments:
  - {pipeline: Sales Analytics, source-stage: Development}
  - {pipeline: Four Stage Release, source-stage: Development, depends-on: [Sales Analytics]}
"""
    run = run_step("deploy-many", {"manifest": manifest, "on-failure": "stop"})
    assert run.returncode == 1
    assert statuses(run) == {"Sales Analytics": "Failed", "Four Stage Release": "NotStarted"}
    assert deploy_posts(emulator) == 1


def test_continue_runs_dependents_of_a_failure(run_step: RunStep, emulator: Emulator) -> None:
    """on-failure: continue runs a failed entry's dependents too, and still exits 1."""
    emulator.configure(fail_items={"Sales Model"})
    manifest = """
deployments:
  - {pipeline: Sales Analytics, source-stage: Development}
  - {pipeline: Four Stage Release, source-stage: Development, depends-on: [Sales Analytics]}
"""
    run = run_step("deploy-many", {"manifest": manifest, "on-failure": "continue"})
    assert run.returncode == 1
    assert statuses(run) == {"Sales Analytics": "Failed", "Four Stage Release": "Succeeded"}


def test_a_cycle_is_refused_before_any_request(run_step: RunStep, emulator: Emulator) -> None:
    """A dependency cycle exits 2, shown as the cycle, with no request sent at all."""
    manifest = """
defaults: {source-stage: Development}
deployments:
  - {pipeline: Sales Analytics, depends-on: [Four Stage Release]}
  - {pipeline: Four Stage Release, depends-on: [Sales Analytics]}
"""
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 2
    assert any(
        "the dependencies form a cycle: Sales Analytics -> Four Stage Release -> Sales Analytics" in e
        for e in run.errors
    ), run.errors
    assert emulator.requests == []


def test_bad_manifest_inputs_name_entry_and_key(run_step: RunStep, emulator: Emulator) -> None:
    """Unknown keys and bad values exit 2, each naming the entry and key, with no request sent."""
    manifest = """
deployments:
  - {pipeline: Sales Analytics, source-stage: Development, colour: red}
  - {pipeline: Four Stage Release, source-stage: Development, timeout: soon}
"""
    run = run_step("deploy-many", {"manifest": manifest, "max-parallel": "lots"})
    assert run.returncode == 2
    assert any("Input 'max-parallel': expected a whole number from 1 to 32, got 'lots'" in e for e in run.errors)
    assert emulator.requests == []
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 2
    assert any("entry 'Sales Analytics', key 'colour': is not a key of the manifest" in e for e in run.errors), (
        run.errors
    )
    assert any("entry 'Four Stage Release', key 'timeout': expected a duration" in e for e in run.errors)
    assert deploy_posts(emulator) == 0


def test_an_unknown_pipeline_stops_the_run_before_any_deployment(run_step: RunStep, emulator: Emulator) -> None:
    """Every pipeline is resolved first: an unknown one exits 2 naming the entry, nothing deployed."""
    manifest = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Sales Analytics
  - pipeline: Sales Analytic
"""
    run = run_step("deploy-many", {"manifest": manifest.replace("Analytic\n", "Analytix\n")})
    assert run.returncode == 2
    assert any("entry 'Sales Analytix', key 'pipeline': no deployment pipeline named" in e for e in run.errors)
    assert deploy_posts(emulator) == 0


def test_a_manifest_file_in_the_workspace(run_step: RunStep, emulator: Emulator, tmp_path: Path) -> None:
    """A manifest path is read relative to the working directory."""
    path = tmp_path / "release.yml"
    path.write_text("deployments:\n  - {pipeline: Sales Analytics, source-stage: Development}\n", encoding="utf-8")
    run = run_step("deploy-many", {"manifest": str(path)})
    assert run.returncode == 0, run.stdout
    assert statuses(run) == {"Sales Analytics": "Succeeded"}
    # A pipeline typo, found once the pipelines are listed, names the file too.
    path.write_text("deployments:\n  - {pipeline: Sales Analytix, source-stage: Development}\n", encoding="utf-8")
    run = run_step("deploy-many", {"manifest": str(path)})
    assert run.returncode == 2, run.stdout
    assert any(f"file {str(path)!r}: entry 'Sales Analytix', key 'pipeline': no deployment" in e for e in run.errors)


def test_a_timeout_leaves_deployments_running_and_names_them(run_step: RunStep, emulator: Emulator) -> None:
    """An entry's timeout leaves its deployment running; results and the error name its operation id."""
    emulator.configure(operation_seconds=60)
    manifest = """
defaults: {source-stage: Development, timeout: 3s}
deployments:
  - pipeline: Sales Analytics
  - {pipeline: Four Stage Release, depends-on: [Sales Analytics]}
"""
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 1
    assert statuses(run) == {"Sales Analytics": "TimedOut", "Four Stage Release": "Skipped"}
    operation_id = emulator.deployments[-1].id
    assert results_of(run)["Sales Analytics"]["operation-id"] == operation_id
    assert any(operation_id in e and "left running" in e for e in run.errors), run.errors
    assert emulator.deployments[-1].status_at(emulator.state.now()) in ("NotStarted", "Running")


@dataclass
class CancelledRun:
    returncode: int
    stdout: str
    stderr: str
    stopped_after: float  # seconds from the SIGINT to the exit


def cancel_when(ready: Callable[[], bool], settle: float, env: dict[str, str]) -> CancelledRun:
    """Start deploy-many, wait (a minute at most) until `ready()`, then `settle` seconds more, and SIGINT it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabric_ci", "deploy-many"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(settle)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return CancelledRun(proc.returncode, stdout, stderr, time.monotonic() - signalled)


def test_a_cancel_while_the_pipelines_are_read_stops_at_once_with_nothing_deployed(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SIGINT while a pipeline read goes on side by side with others (here one answered 20 s late): the
    step stops at once, not when the read ends, exits 130 and says nothing was deployed."""
    emulator.inject(rf"/deploymentPipelines/{FOUR_STAGE_PIPELINE_ID}$", 10, method="GET", kind="slow", delay_seconds=20)
    manifest = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Sales Analytics
  - pipeline: Four Stage Release
  - pipeline: Shared Models
"""
    env = step_env({**emulator.inputs(), "manifest": manifest}, tmp_path)
    # The emulator logs a request once answered: the first pipeline's read (alone) is, then the two
    # side by side go out, one of them slow.
    first = f"/deploymentPipelines/{DEMO_PIPELINE_ID}"
    run = cancel_when(lambda: any(r.path.endswith(first) for r in emulator.requests), 1.0, env)
    assert run.returncode == 130, run.stdout + run.stderr
    assert run.stopped_after < 5, run.stopped_after  # the slow read would have held it 20 s
    assert "before the first deployment: nothing was deployed" in run.stdout, run.stdout
    assert deploy_posts(emulator) == 0


def test_a_cancel_while_an_entry_reads_its_stages_sends_no_deployment_after_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SIGINT while one entry's deployment is running and another entry still reads its stages (its
    items answered 20 s late): the step stops at once, the reading entry sends no deployment once the
    read ends, and only the running one is named as left running."""
    stage_items = rf"/deploymentPipelines/{FOUR_STAGE_PIPELINE_ID}/stages/[^/]+/items$"
    emulator.inject(stage_items, 10, method="GET", kind="slow", delay_seconds=20)
    emulator.configure(operation_seconds=60)
    manifest = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Sales Analytics
  - pipeline: Four Stage Release
"""
    env = step_env({**emulator.inputs(), "manifest": manifest}, tmp_path)
    before = len(emulator.deployments)
    # Once Sales Analytics is accepted, a second on: it waits, Four Stage Release's items are on their way.
    run = cancel_when(lambda: len(emulator.deployments) > before, 1.0, env)
    assert run.returncode == 130, run.stdout + run.stderr
    assert run.stopped_after < 5, run.stopped_after  # the slow read would have held it for 20 s
    assert deploy_posts(emulator) == 1, run.stdout
    results = json.loads(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text())["results"])
    assert results["Four Stage Release"]["status"] == "Cancelled", results
    assert results["Four Stage Release"]["operation-id"] is None, results
    running = f"still running, not cancelled: Sales Analytics ({results['Sales Analytics']['operation-id']})"
    assert running in run.stdout, run.stdout


def test_a_cancel_stops_every_wait_and_names_what_still_runs(emulator: Emulator, tmp_path: Path) -> None:
    """SIGINT mid-wait: exit 130, no traceback, each running deployment named and left running."""
    emulator.configure(operation_seconds=60)
    manifest = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Sales Analytics
  - pipeline: Four Stage Release
  - {name: later, pipeline: Sales Analytics, source-stage: Test, depends-on: [Sales Analytics]}
"""
    env = step_env({**emulator.inputs(), "manifest": manifest}, tmp_path)
    env["RUNNER_DEBUG"] = "1"  # the debug line on the waits' loans is written on a cancel too
    before = len(emulator.deployments)
    run = cancel_when(lambda: len(emulator.deployments) >= before + 2, 1.5, env)  # inside both waits
    stdout, stderr = run.stdout, run.stderr
    assert run.returncode == 130, stdout + stderr
    # With debug on, the cancel's traceback is a debug line, as every step's is, and the only traceback:
    # an entry's bug would add its own (run_entry writes it as a debug line too).
    tracebacks = [line for line in (stdout + stderr).splitlines() if "Traceback" in line]
    assert len(tracebacks) == 1, stdout + stderr
    assert tracebacks[0].startswith("::debug::"), stdout + stderr
    assert "StepCancelled" in tracebacks[0], stdout + stderr
    outputs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text())
    results = json.loads(outputs["results"])
    assert {n: e["status"] for n, e in results.items()} == {
        "Sales Analytics": "Cancelled",
        "Four Stage Release": "Cancelled",
        "later": "NotStarted",
    }
    errors = [line for line in stdout.splitlines() if line.startswith("::error")]
    for name in ("Sales Analytics", "Four Stage Release"):
        assert any(results[name]["operation-id"] in e and "still running" in e for e in errors), stdout
    assert len([r for r in emulator.requests if r.operation == DEPLOY_POST]) == 2
    assert any(line.startswith("::debug::Status requests the waits lent each other") for line in stdout.splitlines())


KILLED_MID_RUN = """
defaults: {source-stage: Development}
deployments:
  - pipeline: Sales Analytics
  - pipeline: Four Stage Release
  - {name: later, pipeline: Sales Analytics, source-stage: Test, depends-on: [Sales Analytics]}
"""


def kill_once_accepted(
    emulator: Emulator, env: dict[str, str], accepted: int, written: Callable[[str, list[str]], bool], tmp_path: Path
) -> tuple[str, list[str]]:
    """Start deploy-many, SIGKILL it (no handler runs, nothing is written at the end) once `accepted`
    deployments were accepted and `written(stdout so far, their ids)` says the runner wrote them (or a
    minute passed: the assertions then say what is missing); its stdout, and the ids the emulator accepted."""
    before = len(emulator.deployments)
    log = tmp_path / "stdout"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fabric_ci", "deploy-many"],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ids = [d.id for d in emulator.deployments[before:]]
            if len(ids) >= accepted and written(log.read_text(encoding="utf-8"), ids):
                break
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return log.read_text(encoding="utf-8"), [d.id for d in emulator.deployments[before:]]


def test_a_killed_run_has_every_accepted_operation_id_in_results(emulator: Emulator, tmp_path: Path) -> None:
    """`results` is written as each deployment is accepted: killed mid-wait, the output file names both."""
    emulator.configure(operation_seconds=60)
    env = step_env({**emulator.inputs(), "manifest": KILLED_MID_RUN}, tmp_path)
    output = Path(env["GITHUB_OUTPUT"])

    def written(_stdout: str, ids: list[str]) -> bool:
        return all(i in output.read_text() for i in ids)

    _, accepted = kill_once_accepted(emulator, env, 2, written, tmp_path)
    assert len(accepted) == 2
    results = json.loads(parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text())["results"])
    assert {results[n]["operation-id"] for n in ("Sales Analytics", "Four Stage Release")} == set(accepted)
    assert {results[n]["status"] for n in ("Sales Analytics", "Four Stage Release")} == {"Running"}
    assert results["later"] == {
        "pipeline-id": DEMO_PIPELINE_ID,
        "operation-id": None,
        "status": "NotStarted",
        "duration-seconds": None,
        "deployed-items": [],
    }


def test_a_killed_azure_task_has_set_every_accepted_operation_id(emulator: Emulator, tmp_path: Path) -> None:
    """On Azure Pipelines `results` is set again as each deployment is accepted: the last value names both."""
    emulator.configure(operation_seconds=60)
    env = task_env({**emulator.inputs(), "manifest": KILLED_MID_RUN}, tmp_path)

    def written(stdout: str, ids: list[str]) -> bool:
        return all(i in stdout for i in ids)

    stdout, accepted = kill_once_accepted(emulator, env, 2, written, tmp_path)
    results = json.loads(variables(stdout)["results"])
    assert {results[n]["operation-id"] for n in ("Sales Analytics", "Four Stage Release")} == set(accepted)
    assert results["later"]["status"] == "NotStarted"


AUTO_CASCADE = """
defaults: {source-stage: Development, target-stage: Test}
deployments:
  - {pipeline: Board Pack, depends-on: auto}
  - {pipeline: Executive Reports, depends-on: auto}
  - {pipeline: Customer Reports, depends-on: auto}
  - pipeline: Shared Models
"""
RELATIONS = "Items_Get_Upstream_Relations_(beta)"


def test_depends_on_auto_infers_the_cascade_from_item_relations(run_step: RunStep, emulator: Emulator) -> None:
    """Entries listed readers first run providers first: edges come from relations/upstream, shown before deploying."""
    run = run_step("deploy-many", {"manifest": AUTO_CASCADE})
    assert run.returncode == 0, run.stdout + run.stderr
    shown = [line for line in run.stdout.splitlines() if "(inferred: " in line]
    board_line = (
        "[Board Pack] depends on Executive Reports (inferred: Report 'Board Summary' reads, directly or "
        "through other items, SemanticModel 'Executive Model')"
    )
    assert board_line in shown
    assert any(line.startswith("[Executive Reports] depends on Shared Models") for line in shown), shown
    assert any(line.startswith("[Customer Reports] depends on Shared Models") for line in shown), shown
    first_start = next(i for i, line in enumerate(run.stdout.splitlines()) if line.endswith("] starting"))
    last_inferred = max(i for i, line in enumerate(run.stdout.splitlines()) if "(inferred: " in line)
    assert last_inferred < first_start
    ran = by_operation(emulator, run)
    shared, executive, board = (ran[n] for n in ("Shared Models", "Executive Reports", "Board Pack"))
    assert executive.accepted_at >= shared.finishes_at  # type: ignore[attr-defined]
    assert board.accepted_at >= executive.finishes_at  # type: ignore[attr-defined]
    assert ran["Customer Reports"].accepted_at >= shared.finishes_at  # type: ignore[attr-defined]
    relations = [r for r in emulator.requests if r.operation == RELATIONS]
    assert relations
    assert all(r.status == 200 for r in relations)
    assert all("relations/upstream" in r.path for r in relations)


def test_depends_on_auto_in_defaults_orders_the_next_stage_too(run_step: RunStep, emulator: Emulator) -> None:
    """`depends-on: auto` under defaults infers for every entry; after a release to Test (whose deployments
    bind the Test reports to the Test models), the release to Production is ordered the same way."""
    manifest = "defaults: {{source-stage: {0}, target-stage: {1}, depends-on: auto}}\ndeployments:\n" + "".join(
        f"  - pipeline: {name}\n" for name in ("Board Pack", "Executive Reports", "Shared Models")
    )
    for source, target in (("Development", "Test"), ("Test", "Production")):
        run = run_step("deploy-many", {"manifest": manifest.format(source, target)})
        assert run.returncode == 0, run.stdout + run.stderr
        shown = [line for line in run.stdout.splitlines() if "(inferred: " in line]
        assert any(line.startswith("[Board Pack] depends on Executive Reports") for line in shown), (target, shown)
        assert any(line.startswith("[Executive Reports] depends on Shared Models") for line in shown), (target, shown)
        ran = by_operation(emulator, run)
        assert ran["Board Pack"].accepted_at >= ran["Executive Reports"].finishes_at  # type: ignore[attr-defined]


def test_depends_on_auto_falls_back_to_explicit_edges_when_relations_are_refused(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A 404 from the beta API is said, and only the explicit dependencies order the run."""
    emulator.inject(r"/relations/upstream", count=50, status=404)
    manifest = """
defaults: {source-stage: Development, target-stage: Test}
deployments:
  - {pipeline: Revenue Reports, depends-on: [auto, Shared Models]}
  - pipeline: Shared Models
"""
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 0, run.stdout
    warnings = run.commands("warning")
    assert any("item relations are unavailable" in w and "Revenue Reports" in w for w in warnings), warnings
    assert "(inferred: " not in run.stdout
    ran = by_operation(emulator, run)
    assert ran["Revenue Reports"].accepted_at >= ran["Shared Models"].finishes_at  # type: ignore[attr-defined]


def test_depends_on_auto_fails_the_step_when_relations_fail_otherwise(run_step: RunStep, emulator: Emulator) -> None:
    """A refusal that is not the API's absence (here a 403) must not drop the inferred order: the step
    fails before anything is deployed."""
    emulator.inject(r"/relations/upstream", count=50, status=403)
    manifest = """
defaults: {source-stage: Development, target-stage: Test}
deployments:
  - {pipeline: Revenue Reports, depends-on: auto}
  - pipeline: Shared Models
"""
    before = len(emulator.deployments)
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 1, run.stdout
    assert any("403" in e for e in run.errors), run.errors
    assert len(emulator.deployments) == before


def test_depends_on_auto_is_not_used_with_the_power_bi_api(run_step: RunStep, emulator: Emulator) -> None:
    """The Power BI API has no item relations: a warning says so and no relations request is sent."""
    manifest = """
defaults: {source-stage: Development, target-stage: Test}
deployments:
  - {pipeline: Customer Reports, depends-on: auto}
"""
    run = run_step("deploy-many", {**emulator.inputs(api="powerbi"), "manifest": manifest})
    assert run.returncode == 0, run.stdout
    assert any("needs the Fabric API's item relations; with api: powerbi" in w for w in run.commands("warning"))
    assert not [r for r in emulator.requests if r.operation == RELATIONS]


def test_an_inferred_cycle_is_refused_before_any_deployment(run_step: RunStep, emulator: Emulator) -> None:
    """Shared Models made to wait for a reader of its own models is a cycle once the relations are read: exit 2."""
    manifest = """
defaults: {source-stage: Development, target-stage: Test}
deployments:
  - {pipeline: Shared Models, depends-on: [Revenue Reports]}
  - {pipeline: Revenue Reports, depends-on: auto}
"""
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 2, run.stdout
    assert any(
        "inferred from item relations, the dependencies form a cycle: Shared Models -> Revenue Reports -> Shared Models"
        in e
        for e in run.errors
    ), run.errors
    assert deploy_posts(emulator) == 0


def test_an_unknown_stage_stops_the_run_before_any_deployment_with_auto_too(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A stage typo needs only the pipeline to be found out: refused with the pipeline look-ups, before
    inference and before any deployment, naming the entry and key (exit 2)."""
    manifest = """
defaults: {target-stage: Test}
deployments:
  - {pipeline: Shared Models, source-stage: Development}
  - {pipeline: Revenue Reports, source-stage: Nowhere, depends-on: auto}
"""
    run = run_step("deploy-many", {"manifest": manifest})
    assert run.returncode == 2, run.stdout
    assert deploy_posts(emulator) == 0
    assert any(
        "entry 'Revenue Reports', key 'source-stage': pipeline 'Revenue Reports' has no stage 'Nowhere'" in e
        for e in run.errors
    ), run.errors
    assert not [r for r in emulator.requests if "relations" in r.path]
