"""The read-only commands (list-pipelines, show-pipeline, history, status) as a newcomer runs them at a
terminal, and as steps whose outputs a later step reads: real processes against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric_ci.emulator import Emulator, seed

from .conftest import RunStep, StepRun
from .test_terminal import run_cli, user_profile, write_profile

SALES = "Sales Analytics"


def ok(run: StepRun) -> StepRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.errors == []
    return run


@pytest.fixture
def profile(emulator: Emulator, tmp_path: Path) -> Path:
    """The newcomer's set-up: the profile `fabric-ci emulator` prints, saved as `default`."""
    return write_profile(user_profile(tmp_path), "default", emulator.inputs())


def test_show_pipeline_at_a_terminal_exactly(emulator: Emulator, tmp_path: Path, profile: Path) -> None:
    cli = run_cli(tmp_path, ["show-pipeline", "--pipeline", SALES])
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout == (
        "Sales Analytics: 3 stages\n"
        "\n"
        f"  Pipeline id:  {seed.DEMO_PIPELINE_ID}\n"
        "  Description:  Sales reports, from development to production.\n"
        "\n"
        "  #  Stage        Workspace               Items  Public\n"
        "  0  Development  Sales Analytics [Dev]   10     no\n"
        "  1  Test         Sales Analytics [Test]  4      no\n"
        "  2  Production   Sales Analytics         3      yes\n"
        "\n"
        "  #  Stage id                              Workspace id\n"
        f"  0  {seed.DEV_STAGE_ID}  {seed.DEV_WORKSPACE_ID}\n"
        f"  1  {seed.TEST_STAGE_ID}  {seed.TEST_WORKSPACE_ID}\n"
        f"  2  {seed.PROD_STAGE_ID}  {seed.PROD_WORKSPACE_ID}\n"
    )
    # Reads only: the pipeline list (page_size 2: several pages), the pipeline once, each stage's items.
    reads = [r.operation for r in emulator.requests if "deploymentPipelines" in r.path]
    assert reads.count("DeploymentPipelines_GetDeploymentPipeline") == 1
    assert set(reads) == {
        "DeploymentPipelines_ListDeploymentPipelines",
        "DeploymentPipelines_GetDeploymentPipeline",
        "DeploymentPipelines_ListDeploymentPipelineStageItems",
    }


def test_list_pipelines_shows_what_the_principal_sees(emulator: Emulator, tmp_path: Path, profile: Path) -> None:
    cli = run_cli(tmp_path, ["list-pipelines"])
    assert cli.returncode == 0, cli.stderr
    lines = cli.stdout.splitlines()
    assert lines[2].split() == ["Name", "Id", "Stages", "Admin"]
    assert f"  {SALES}" in cli.stdout
    assert all(len(line) <= 80 for line in lines)
    document = run_cli(tmp_path, ["list-pipelines", "--output", "json"]).document
    listed = {p["name"]: p for p in document["outputs"]["pipelines"]}  # type: ignore[index]
    assert listed[SALES] == {"id": seed.DEMO_PIPELINE_ID, "name": SALES, "stageCount": 3, "admin": True}
    assert listed["Four Stage Release"]["stageCount"] == 4
    visible = {
        p.id
        for p in emulator.state.pipelines.values()
        if any(r.principal_id == seed.SERVICE_PRINCIPAL_ID for r in p.role_assignments)
    }
    assert {p["id"] for p in listed.values()} == visible
    assert lines[0] == f"{len(visible)} deployment pipelines visible to this principal"


def test_show_pipeline_items_pairs_each_with_the_next_stage(run_step: RunStep, emulator: Emulator) -> None:
    run = ok(run_step("show-pipeline", {"pipeline": SALES, "items": "true"}))
    stages = json.loads(run.outputs["stages"])
    assert [s["name"] for s in stages] == ["Development", "Test", "Production"]
    assert run.outputs["pipeline-id"] == seed.DEMO_PIPELINE_ID
    dev = {(i["type"], i["name"]): i for i in stages[0]["items"]}
    model = dev[("SemanticModel", "Sales Model")]
    assert model["id"] == seed.stable_id("item", seed.DEV_STAGE_ID, "SemanticModel", "Sales Model")
    assert model["pairedId"] == seed.stable_id("item", seed.TEST_STAGE_ID, "SemanticModel", "Sales Model")
    assert model["pairedName"] == "Sales Model"
    assert dev[("Report", "Regional Sales")]["pairedId"] is None  # not yet in Test
    assert len(stages[0]["items"]) == stages[0]["itemCount"] == 10
    assert stages[2]["items"][0]["pairedId"] is None  # the last stage pairs with nothing
    assert "#### Development: 10 items" in run.summary


def test_history_newest_first_with_who_and_note(run_step: RunStep, emulator: Emulator) -> None:
    deployed = ok(run_step("deploy-all", {"pipeline": SALES, "source-stage": "Development", "note": "release 7"}))
    run = ok(run_step("history", {"pipeline": SALES, "limit": "2"}))
    deployments = json.loads(run.outputs["deployments"])
    assert len(deployments) == 2
    newest = deployments[0]
    assert newest["id"] == deployed.outputs["operation-id"]
    assert (newest["status"], newest["sourceStage"], newest["targetStage"]) == ("Succeeded", "Development", "Test")
    assert newest["note"].startswith("release 7 [fabric-ci ")
    assert newest["performedBy"] == seed.SERVICE_PRINCIPAL_NAME
    assert newest["durationSeconds"] is not None
    assert deployments[1]["started"] < newest["started"]
    every = json.loads(ok(run_step("history", {"pipeline": SALES})).outputs["deployments"])
    assert len(every) == 1 + len(seed.HISTORY)


def test_status_reads_once_without_waiting(run_step: RunStep, emulator: Emulator) -> None:
    emulator.configure(operation_seconds=120)  # still running when status reads it, however slow the machine
    started = ok(run_step("deploy-all", {"pipeline": SALES, "source-stage": "Development", "wait": "false"}))
    operation = started.outputs["operation-id"]
    before = len(emulator.requests)
    run = ok(run_step("status", {"pipeline": SALES, "operation-id": operation}))
    assert run.outputs["status"] in ("NotStarted", "Running")
    assert run.outputs["operation-id"] == operation
    assert run.outputs["duration-seconds"] == ""
    # One read of the deployment: status does not poll.
    reads = [r for r in emulator.requests[before:] if r.path.endswith(f"/operations/{operation}")]
    assert len(reads) == 1
    assert "Not finished yet. To wait for it, use the `wait-for-deployment` action" in run.summary
    past = seed.HISTORY[0]  # a deployment of the seeded history, long done
    done = ok(run_step("status", {"pipeline": SALES, "operation-id": past.id}))
    assert done.outputs["status"] == "Succeeded"
    assert [i["name"] for i in json.loads(done.outputs["deployed-items"])] == [name for _, name in past.items]


def test_status_right_after_a_deploy_the_service_does_not_list_yet(run_step: RunStep, emulator: Emulator) -> None:
    """The service may list a deployment some seconds after accepting it: status says so, not "no such"."""
    emulator.configure(listing_delay_seconds=120)
    started = ok(run_step("deploy-all", {"pipeline": SALES, "source-stage": "Development", "wait": "false"}))
    run = run_step("status", {"pipeline": SALES, "operation-id": started.outputs["operation-id"]})
    assert run.returncode == 2, run.stdout + run.stderr
    assert "One accepted in the last 30 seconds may not be listed yet" in run.errors[0]


def test_status_of_an_unknown_deployment_names_the_input(run_step: RunStep) -> None:
    run = run_step("status", {"pipeline": SALES, "operation-id": "6c365f8f-d3cc-5880-a811-917c06dbcf70"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.errors[0].startswith("title=Invalid input 'operation-id'::")
    assert "pipeline 'Sales Analytics' lists no deployment 6c365f8f-d3cc-5880-a811-917c06dbcf70" in run.errors[0]


@pytest.mark.parametrize(
    ("command", "inputs", "name", "expected"),
    [
        ("history", {"pipeline": SALES, "limit": "50"}, "limit", "expected a whole number from 1 to 20"),
        ("history", {"pipeline": SALES, "limit": "ten"}, "limit", "expected a whole number from 1 to 20"),
        ("show-pipeline", {"pipeline": SALES, "items": "maybe"}, "items", "expected true or false"),
        ("status", {"pipeline": SALES, "operation-id": "latest"}, "operation-id", "expected a GUID"),
    ],
)
def test_bad_input_sends_nothing(
    run_step: RunStep, emulator: Emulator, command: str, inputs: dict[str, str], name: str, expected: str
) -> None:
    run = run_step(command, inputs)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.errors[0].startswith(f"title=Invalid input '{name}'::"), run.errors
    assert expected in run.errors[0]
    assert emulator.requests == []


def test_power_bi_api_history_and_stages_by_order(run_step: RunStep, emulator: Emulator) -> None:
    powerbi = emulator.api_inputs("powerbi")
    deployed = ok(run_step("deploy-all", {**powerbi, "pipeline": SALES, "source-stage": "0"}))
    history = json.loads(ok(run_step("history", {**powerbi, "pipeline": SALES})).outputs["deployments"])
    assert history[0]["id"] == deployed.outputs["operation-id"]
    assert (history[0]["sourceStage"], history[0]["targetStage"]) == ("Development", "Test")
    # The Power BI API names an app by its object id.
    assert history[0]["performedBy"] == seed.SERVICE_PRINCIPAL_ID
    stages = json.loads(ok(run_step("show-pipeline", {**powerbi, "pipeline": SALES})).outputs["stages"])
    # The Power BI API's stage artifacts are its own kinds only: no Lakehouse, no Notebook (Fabric items).
    assert [(s["id"], s["name"], s["itemCount"]) for s in stages] == [
        ("0", "Development", 8),
        ("1", "Test", 8),
        ("2", "Production", 2),
    ]
    assert all(s["public"] is None for s in stages)  # the Power BI API does not say
    assert [r for r in emulator.requests if "/v1/" in r.path] == []
    status = ok(run_step("status", {**powerbi, "pipeline": SALES, "operation-id": deployed.outputs["operation-id"]}))
    assert status.outputs["status"] == "Succeeded"


@pytest.mark.parametrize("api", ["fabric", "powerbi"])
def test_show_pipeline_needs_contributor_on_each_stage_workspace(
    run_step: RunStep, emulator: Emulator, api: str
) -> None:
    """Both APIs list a stage's items only for a Contributor (or higher) of its workspace: as a Viewer of
    Test's workspace, show-pipeline shows that stage without items and warns why; the rest as ever."""
    emulator.state.update_workspace_role(seed.TEST_WORKSPACE_ID, seed.SERVICE_PRINCIPAL_ID, "Viewer")
    run = ok(run_step("show-pipeline", {**emulator.api_inputs(api), "pipeline": SALES, "items": "true"}))
    warnings = run.commands("warning")
    assert len(warnings) == 1, warnings
    assert "Stage 'Test': its items are not shown" in warnings[0]
    assert f"Contributor role on its workspace ({seed.TEST_WORKSPACE_ID})" in warnings[0]
    dev, test, prod = json.loads(run.outputs["stages"])
    assert (test["itemCount"], test["itemsReadable"], test["items"]) == (None, False, [])
    assert (dev["itemsReadable"], prod["itemsReadable"]) == (True, True)
    assert dev["itemCount"] == len(dev["items"]) > 0
    assert "not shown: listing them needs the Contributor role" in run.summary
    # The refusal was the service's, once: the client did not retry it or skip asking.
    refused = [r for r in emulator.requests if r.status == 403]
    assert len(refused) == 1


@pytest.mark.parametrize("command", ["history", "status"])
def test_power_bi_reads_need_access_to_the_pipeline(run_step: RunStep, emulator: Emulator, command: str) -> None:
    """On the Power BI API, a principal without a role in the pipeline cannot read it by id, nor its
    deployments: the step fails with the service's 403 and writes no outputs."""
    emulator.state.delete_role_assignment(seed.DEMO_PIPELINE_ID, seed.SERVICE_PRINCIPAL_ID)
    inputs = {**emulator.api_inputs("powerbi"), "pipeline": seed.DEMO_PIPELINE_ID}
    if command == "status":
        inputs["operation-id"] = seed.stable_id("history", "1")
    run = run_step(command, inputs)
    assert run.returncode == 1, run.stdout + run.stderr
    assert len(run.errors) == 1
    assert run.errors[0].startswith("title=API request failed::403 InsufficientPrivileges:"), run.errors
    assert "reading deployment pipeline 'Sales Analytics' needs its Admin role" in run.errors[0]
    assert run.outputs == {}


@pytest.mark.parametrize("api", ["fabric", "powerbi"])
def test_history_lists_a_deployment_not_started_yet_first(run_step: RunStep, emulator: Emulator, api: str) -> None:
    """A deployment still NotStarted (on Fabric without an executionStartTime, its lastUpdatedTime without
    a UTC offset, as the spec's examples write it) is listed first, before the finished ones."""
    emulator.configure(operation_seconds=400.0)  # NotStarted for its first 20 s
    inputs = {**emulator.api_inputs(api), "pipeline": SALES}
    started = ok(run_step("deploy-all", {**inputs, "source-stage": "Development", "wait": "false"}))
    deployments = json.loads(ok(run_step("history", inputs)).outputs["deployments"])
    assert deployments[0]["id"] == started.outputs["operation-id"]
    assert deployments[0]["status"] == "NotStarted"
    assert [d["status"] for d in deployments[1:]] == ["Succeeded"] * len(seed.HISTORY)
