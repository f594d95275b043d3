"""plan and plan-compare on deploy-all and selective-deploy, against the emulator, in GitHub mode.

Each plan is checked against what the deployment then really does: the plan's creates are the
deployment's New items, its overwrites the Different and NoDifference ones, and plan-compare's
unchanged exactly the NoDifference ones among the item types that have a definition."""

from __future__ import annotations

import json

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import HR_PIPELINE_NAME
from fabric_ci.models.apis import NO_DEFINITION_TYPES

from .conftest import RunStep

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}
DEPLOY_OPS = "DeploymentPipelines_DeployStageContent"
DEFINITION_OPS = ("Items_GetItemDefinition", "LongRunningOperations_GetOperationState",
                  "LongRunningOperations_GetOperationResult")  # fmt: skip


def plan_of(outputs: dict[str, str]) -> dict[str, dict[str, str | None]]:
    return {f"{i['type']}: {i['name']}": i for i in json.loads(outputs["plan"])}


def deployed(run_outputs: dict[str, str]) -> dict[str, str]:
    return {f"{i['type']}: {i['name']}": i["diffState"] for i in json.loads(run_outputs["deployed-items"])}


def sent(emulator: Emulator, *operations: str) -> int:
    return sum(1 for r in emulator.requests if r.operation in operations)


def test_a_plan_sends_nothing_and_says_what_the_deployment_then_does(run_step: RunStep, emulator: Emulator) -> None:
    planned = run_step("deploy-all", {**DEPLOY, "plan": "true"})
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert sent(emulator, DEPLOY_OPS) == 0
    out = planned.outputs
    assert (out["status"], out["operation-id"]) == ("Planned", "")
    plan = plan_of(out)
    assert {i["action"] for i in plan.values()} >= {"create", "overwrite"}
    assert "Plan, Development -> Test:" in planned.stdout
    assert "### 📋 Plan Development → Test" in planned.summary
    assert "| Sales Overview | Report | ✏️ overwrite |" in planned.summary
    assert "Nothing was deployed (`plan: true`)." in planned.summary

    real = run_step("deploy-all", DEPLOY)
    assert real.returncode == 0, real.stdout + real.stderr
    diff_states = deployed(real.outputs)
    creates = {k for k, i in plan.items() if i["action"] == "create"}
    overwrites = {k for k, i in plan.items() if i["action"] == "overwrite"}
    assert creates == {k for k, state in diff_states.items() if state == "New"}
    assert overwrites == {k for k, state in diff_states.items() if state in ("Different", "NoDifference")}
    assert (int(out["create"]), int(out["overwrite"]), int(out["unchanged"])) == (len(creates), len(overwrites), 0)
    assert all(i["lastDeployed"] for i in plan.values() if i["action"] == "overwrite")  # the seeded history
    # The real deployment printed and output the same plan first.
    assert plan_of(real.outputs) == plan
    assert real.stdout.index("Plan, Development -> Test:") < real.stdout.index("Deployment accepted")


def test_plan_compare_says_unchanged_exactly_where_the_deployment_finds_no_difference(
    run_step: RunStep, emulator: Emulator
) -> None:
    emulator.configure(definition_seconds=1.5)
    planned = run_step("deploy-all", {**DEPLOY, "plan": "true", "plan-compare": "definitions"})
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = plan_of(planned.outputs)
    overwrites = {k: i for k, i in plan.items() if i["action"] == "overwrite"}
    assert {i["diff"] for i in overwrites.values()} >= {"different", "unchanged"}
    definition_requests = sent(emulator, *DEFINITION_OPS)
    # Each comparable overwrite: two definitions of at least three requests (ask, poll, result).
    assert definition_requests >= 6 * sum(1 for i in overwrites.values() if i["diff"] != "not comparable")
    assert f"({definition_requests} definition requests)" in planned.stdout

    real = run_step("deploy-all", DEPLOY)
    diff_states = deployed(real.outputs)
    for key, item in overwrites.items():
        if item["type"] not in NO_DEFINITION_TYPES:
            expected = "unchanged" if diff_states[key] == "NoDifference" else "different"
            assert item["diff"] == expected, key
        else:
            assert item["diff"] == "not comparable", key
            assert item["reason"] == f"the Fabric API has no definition for a {item['type']}"
    assert int(planned.outputs["unchanged"]) == sum(1 for i in overwrites.values() if i["diff"] == "unchanged")
    assert int(planned.outputs["overwrite"]) == len(overwrites)  # unchanged ones included


def test_a_plan_of_a_deployment_the_service_would_refuse_exits_2_with_the_plan(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Backward into Development, which holds items: refused before any write, the plan still shown."""
    run = run_step("deploy-all", {**DEPLOY, "source-stage": "Test", "target-stage": "Development", "plan": "true"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert sent(emulator, DEPLOY_OPS) == 0
    (error,) = run.errors
    assert "Input 'target-stage'" in error
    assert "a backward deployment is only allowed into an empty stage" in error
    assert json.loads(run.outputs["plan"])  # the plan is there to see why
    assert "The deployment would be refused" in run.summary


def test_a_selective_plan_counts_the_items_it_leaves_out(run_step: RunStep, emulator: Emulator) -> None:
    run = run_step("selective-deploy", {**DEPLOY, "items": "Report: Sales Overview", "plan": "true"})
    assert run.returncode == 0, run.stdout + run.stderr
    plan = json.loads(run.outputs["plan"])
    actions = [(i["action"], i["type"], i["name"]) for i in plan]
    assert ("overwrite", "Report", "Sales Overview") in actions
    skipped = [a for a in actions if a[0] == "skipped"]
    assert int(run.outputs["skipped"]) == len(skipped) == 9  # the Development stage's other nine
    # Their paired Test items, and Test's own, are left as they are.
    assert ("untouched", "SemanticModel", "Sales Model") in actions
    assert (int(run.outputs["create"]), int(run.outputs["overwrite"])) == (0, 1)
    assert sent(emulator, DEPLOY_OPS) == 0


def test_a_power_bi_plan(run_step: RunStep, emulator: Emulator) -> None:
    """HR Reporting Test -> Production over the Power BI API: two paired items overwritten, three created."""
    inputs = {
        "api": "powerbi",
        "api-base-url": emulator.powerbi_base_url,
        "pipeline": HR_PIPELINE_NAME,
        "source-stage": "Test",
        "plan": "true",
    }
    run = run_step("deploy-all", inputs)
    assert run.returncode == 0, run.stdout + run.stderr
    plan = plan_of(run.outputs)
    assert {k for k, i in plan.items() if i["action"] == "overwrite"} == {
        "SemanticModel: HR Model",
        "Report: Headcount",
    }
    assert int(run.outputs["create"]) == 3
    assert not any(r.operation.startswith("Pipelines_Deploy") for r in emulator.requests if r.operation)


def test_a_deploy_after_unassign_and_reassign_plans_by_name_again(run_step: RunStep, emulator: Emulator) -> None:
    """Unassigning drops the stage's pairings and history (as the service does): assigned again, its items
    pair by name and type, and none shows a last deployment time."""
    test_workspace = next(s["workspaceId"] for s in emulator_stages(emulator) if s["displayName"] == "Test")
    assert run_step("unassign-workspace", {"pipeline": "Sales Analytics", "stage": "Test"}).returncode == 0
    assign = {"pipeline": "Sales Analytics", "stage": "Test", "workspace": test_workspace}
    assert run_step("assign-workspace", assign).returncode == 0
    run = run_step("deploy-all", {**DEPLOY, "plan": "true"})
    assert run.returncode == 0, run.stdout + run.stderr
    overwrites = [i for i in json.loads(run.outputs["plan"]) if i["action"] == "overwrite"]
    assert overwrites
    assert "last deployed" not in run.stdout


def emulator_stages(emulator: Emulator) -> list[dict[str, str]]:
    pipeline = next(p for p in emulator.state.pipelines.values() if p.display_name == "Sales Analytics")
    return [{"displayName": s.display_name, "workspaceId": s.workspace_id or ""} for s in pipeline.stages]


def test_a_plan_past_the_next_stage_agrees_with_the_deployment(run_step: RunStep, emulator: Emulator) -> None:
    """Development -> Production pairs through Test: the plan's overwrites are the deployment's Different and
    NoDifference items, and Production items the chain does not reach are untouched, not overwritten."""
    route = {**DEPLOY, "target-stage": "Production"}
    planned = run_step("deploy-all", {**route, "plan": "true"})
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = json.loads(planned.outputs["plan"])
    real = run_step("deploy-all", route)
    assert real.returncode == 0, real.stdout + real.stderr
    diff_states = deployed(real.outputs)
    overwrites = {f"{i['type']}: {i['name']}" for i in plan if i["action"] == "overwrite"}
    creates = {f"{i['type']}: {i['name']}" for i in plan if i["action"] == "create"}
    assert overwrites
    assert overwrites == {k for k, state in diff_states.items() if state != "New"}
    assert creates == {k for k, state in diff_states.items() if state == "New"}


def test_a_target_stage_without_a_workspace_is_a_refusal_with_the_plan(run_step: RunStep, emulator: Emulator) -> None:
    """Operations Pipeline's Test stage has no workspace: every item would be created, but nothing can be."""
    inputs = {"pipeline": "Operations Pipeline", "source-stage": "Dev", "target-stage": "Test", "plan": "true"}
    run = run_step("deploy-all", inputs)
    assert run.returncode == 2, run.stdout + run.stderr
    (error,) = run.errors
    assert "Input 'target-stage'" in error
    assert "has no workspace" in error
    assert {i["action"] for i in json.loads(run.outputs["plan"])} == {"create"}
    assert sent(emulator, DEPLOY_OPS) == 0


def test_bad_plan_inputs_are_refused_before_any_request(run_step: RunStep, emulator: Emulator) -> None:
    """plan-compare with the Power BI API, an unknown comparison, and plan misspelt: exit 2, each named."""
    powerbi = {"api": "powerbi", "api-base-url": emulator.powerbi_base_url, "source-stage": "0"}
    cases = [
        ({**DEPLOY, **powerbi, "plan-compare": "definitions"}, "plan-compare", "an input of the Fabric REST API only"),
        ({**DEPLOY, "plan-compare": "diff"}, "plan-compare", "expected none or definitions, got 'diff'"),
        ({**DEPLOY, "plan": "yes please"}, "plan", "true or false"),
    ]
    for inputs, name, expected in cases:
        before = len(emulator.requests)
        run = run_step("deploy-all", inputs)
        assert run.returncode == 2, run.stdout
        (error,) = run.errors
        assert f"Invalid input '{name}'" in error
        assert expected in error, error
        assert len(emulator.requests) == before  # not even a sign-in
