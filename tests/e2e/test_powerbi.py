"""Every command with `api: powerbi`, against the emulator's Power BI API, in GitHub mode.

The same seeded tenant as the Fabric tests, seen through `/v1.0/myorg`: stages by order, Power BI
item types only, the six deployment options, backward deployment, update-app, users by UPN,
the admin API and workspace users. Every request is checked against the Power BI spec afterwards
(conftest's emulator fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    ANALYST_NAME,
    BI_DEVELOPERS_GROUP_ID,
    DEMO_PIPELINE_ID,
    DEV_WORKSPACE_ID,
    HR_PIPELINE_ID,
    HR_PROD_WORKSPACE_ID,
    HR_TEST_WORKSPACE_ID,
    OTHER_APP_PRINCIPAL_ID,
    POWERBI_SCOPE,
    SPARE_WORKSPACE_IDS,
    USER_NAME,
    USER_PRINCIPAL_ID,
)

from .conftest import RunStep, StepRun, items_of

SALES = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}
HR = {"pipeline": "HR Reporting", "source-stage": "Test", "target-stage": "Production"}


@pytest.fixture
def powerbi(emulator: Emulator) -> dict[str, str]:
    return {"api": "powerbi", "api-base-url": emulator.powerbi_base_url}


def calls(emulator: Emulator, operation: str) -> list[Any]:
    return [r for r in emulator.requests if r.operation == operation]


def body_of(emulator: Emulator, operation: str) -> dict[str, Any]:
    (request,) = calls(emulator, operation)
    body = request.request_body
    return body if isinstance(body, dict) else json.loads(body)


def ok(run: StepRun) -> StepRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.errors == []
    return run


def test_deploy_all_uses_only_the_power_bi_api_and_reports_stages_by_order(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """deploy-all with wait: deployAll with all six options, polled until Succeeded; stages are
    orders; only Power BI item types are deployed; the token is for the Power BI scope."""
    run = ok(run_step("deploy-all", {**SALES, **powerbi}))
    out = run.outputs
    assert (out["status"], out["pipeline-id"]) == ("Succeeded", DEMO_PIPELINE_ID)
    assert (out["source-stage-id"], out["target-stage-id"]) == ("0", "1")
    items = {i["name"]: i for i in items_of(run)}
    assert {i["type"] for i in items.values()} <= {"SemanticModel", "Report", "Dashboard", "Dataflow", "Datamart"}
    assert "Prepare Data" not in items  # a Notebook: not a Power BI item
    assert items["Sales Overview"]["diffState"] == "Different"
    assert items["Regional Sales"]["diffState"] == "New"
    assert body_of(emulator, "Pipelines_DeployAll")["options"] == {
        "allowCreateArtifact": True,
        "allowOverwriteArtifact": True,
        "allowOverwriteTargetArtifactLabel": False,
        "allowPurgeData": False,
        "allowSkipTilesWithMissingPrerequisites": False,
        "allowTakeOver": False,
    }
    assert calls(emulator, "Pipelines_GetPipelineOperation")
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]
    tokens = calls(emulator, "Entra_Token")
    assert tokens
    assert all(POWERBI_SCOPE in str(r.request_body) for r in tokens)
    assert "| Sales Overview |" in run.summary


def test_selective_deploy_by_names_across_types(run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]) -> None:
    """Items by `Type: name` (Dataset for SemanticModel) and bare names go into their type's array."""
    items = "Dataset: HR Model\nReport: Headcount\nHR Dashboard\nDataflow: HR Dataflow"
    run = ok(run_step("selective-deploy", {**HR, **powerbi, "items": items}))
    assert run.outputs["status"] == "Succeeded"
    deployed = {(i["type"], i["name"]) for i in items_of(run)}
    assert deployed == {
        ("SemanticModel", "HR Model"),
        ("Report", "Headcount"),
        ("Dashboard", "HR Dashboard"),
        ("Dataflow", "HR Dataflow"),
    }
    body = body_of(emulator, "Pipelines_SelectiveDeploy")
    assert body["sourceStageOrder"] == 1
    assert [len(body.get(a, [])) for a in ("datasets", "reports", "dashboards", "dataflows", "datamarts")] == [
        1,
        1,
        1,
        1,
        0,
    ]


def test_backward_deployment_into_an_empty_stage_creates_its_workspace(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """backward: true with no target goes to the previous stage; new-workspace-name creates the
    workspace the empty Development stage lacks."""
    inputs = {"pipeline": "HR Reporting", "source-stage": "Test", "backward": "true"}
    run = ok(run_step("deploy-all", {**inputs, **powerbi, "new-workspace-name": "HR Reporting [Dev]"}))
    assert (run.outputs["source-stage-id"], run.outputs["target-stage-id"]) == ("1", "0")
    assert len(items_of(run)) == 5
    body = body_of(emulator, "Pipelines_DeployAll")
    assert body["isBackwardDeployment"] is True
    assert body["newWorkspace"] == {"name": "HR Reporting [Dev]"}
    assert "(backward)" in run.stdout


def test_backward_deployment_into_a_stage_with_items_is_refused_before_deploying(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """Test -> Development of Sales Analytics: Development holds items, so exit 2 and no deploy."""
    run = run_step("deploy-all", {**powerbi, "pipeline": "Sales Analytics", "source-stage": "1", "backward": "true"})
    assert run.returncode == 2
    assert run.errors[0].startswith("title=Invalid input 'target-stage'::")
    assert "only allowed into an empty stage" in run.errors[0]
    assert not calls(emulator, "Pipelines_DeployAll")


def test_update_app_updates_the_target_workspace_app(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """update-app: true sends updateAppSettings; the Production workspace's app is updated."""
    run = ok(run_step("deploy-all", {**HR, **powerbi, "update-app": "true"}))
    assert body_of(emulator, "Pipelines_DeployAll")["updateAppSettings"] == {"updateAppInTargetWorkspace": True}
    app = emulator.state.workspaces[HR_PROD_WORKSPACE_ID].app
    assert app is not None
    assert app.last_updated_by == run.outputs["operation-id"]


def test_update_app_without_an_app_says_so_and_what_to_do(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """The Test workspace has no app: the service's opaque 400 becomes an error on update-app with the fix."""
    run = run_step("deploy-all", {**SALES, **powerbi, "update-app": "true"})
    assert run.returncode == 2
    assert run.errors[0].startswith("title=Invalid input 'update-app'::")
    assert "has no app" in run.errors[0]
    assert "update-app: false" in run.errors[0]
    assert len(calls(emulator, "Pipelines_DeployAll")) == 1  # sent once, not retried


def test_allow_overwrite_artifact_false_fails_the_items_that_exist(run_step: RunStep, powerbi: dict[str, str]) -> None:
    """HR Model and Headcount exist in Production: without overwrite the deployment fails there."""
    run = run_step("deploy-all", {**HR, **powerbi, "allow-overwrite-artifact": "false"})
    assert run.returncode == 1
    assert run.outputs["status"] == "Failed"
    failed = [i for i in items_of(run) if i["status"] == "Failed"]
    assert failed
    assert {i["name"] for i in failed} <= {"HR Model", "Headcount"}
    assert "failed" in run.errors[0]


def test_allow_create_artifact_false_fails_new_items(run_step: RunStep, powerbi: dict[str, str]) -> None:
    """Dashboard, Dataflow and Datamart are new in Production: without create they cannot be deployed."""
    run = run_step("deploy-all", {**HR, **powerbi, "allow-create-artifact": "false"})
    assert run.returncode == 1
    failed = [i for i in items_of(run) if i["status"] == "Failed"]
    assert failed
    assert {i["name"] for i in failed} <= {"HR Dashboard", "HR Dataflow", "HR Datamart"}


@pytest.mark.parametrize(
    ("option", "input_name", "item"),
    [
        ("allowPurgeData", "allow-purge-data", "HR Model"),
        ("allowOverwriteTargetArtifactLabel", "allow-overwrite-target-artifact-label", "Headcount"),
        ("allowSkipTilesWithMissingPrerequisites", "allow-skip-tiles-with-missing-prerequisites", "HR Dashboard"),
        ("allowTakeOver", "allow-take-over", "Headcount"),
    ],
)
def test_each_option_an_item_needs_decides_its_deployment(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str], option: str, input_name: str, item: str
) -> None:
    """An item that needs an option fails without it, naming the option, and deploys with it."""
    emulator.configure(option_requirements={item: option})
    refused = run_step("deploy-all", {**HR, **powerbi})
    assert refused.returncode == 1
    (failed,) = [i for i in items_of(refused) if i["status"] == "Failed"]
    assert failed["name"] == item
    assert option in refused.stdout
    ok(run_step("deploy-all", {**HR, **powerbi, input_name: "true"}))


def test_wait_for_deployment_follows_a_power_bi_deployment(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """deploy-all with wait: false, then wait-for-deployment with its operation-id."""
    started = ok(run_step("deploy-all", {**HR, **powerbi, "wait": "false"}))
    assert started.outputs["status"] in ("NotStarted", "Running")
    waited = ok(
        run_step(
            "wait-for-deployment",
            {**powerbi, "pipeline": HR_PIPELINE_ID, "operation-id": started.outputs["operation-id"]},
        )
    )
    assert waited.outputs["status"] == "Succeeded"
    assert (waited.outputs["source-stage-id"], waited.outputs["target-stage-id"]) == ("1", "2")


def test_assign_workspace_by_stage_name(run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]) -> None:
    """HR Reporting's Development stage gets a spare workspace; the stage is addressed by order."""
    workspace = SPARE_WORKSPACE_IDS[0]
    run = ok(
        run_step(
            "assign-workspace", {**powerbi, "pipeline": "HR Reporting", "stage": "development", "workspace": workspace}
        )
    )
    assert (run.outputs["stage-id"], run.outputs["workspace-id"]) == ("0", workspace)
    (request,) = calls(emulator, "Pipelines_AssignWorkspace")
    assert request.path.endswith("/stages/0/assignWorkspace")


def test_unassign_workspace_by_stage_order_then_again_changes_nothing(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """Stage 2 of HR Reporting loses its workspace (no body sent, changed: true); a second run sends nothing."""
    inputs = {**powerbi, "pipeline": "HR Reporting", "stage": "2"}
    first = ok(run_step("unassign-workspace", inputs))
    assert first.outputs == {
        "pipeline-id": HR_PIPELINE_ID,
        "stage-id": "2",
        "workspace-id": HR_PROD_WORKSPACE_ID,
        "changed": "true",
    }
    assert "deployment history and its deployment rules will be lost" in first.commands("warning")[0]
    (request,) = calls(emulator, "Pipelines_UnassignWorkspace")
    assert request.path.endswith(f"/pipelines/{HR_PIPELINE_ID}/stages/2/unassignWorkspace")
    assert request.request_body is None
    second = ok(run_step("unassign-workspace", inputs))
    assert (second.outputs["workspace-id"], second.outputs["changed"]) == ("", "false")
    assert len(calls(emulator, "Pipelines_UnassignWorkspace")) == 1
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]


@pytest.mark.parametrize(
    ("principal", "principal_type", "sent_type"),
    [
        (ANALYST_NAME, "User", "User"),
        (BI_DEVELOPERS_GROUP_ID, "Group", "Group"),
        (OTHER_APP_PRINCIPAL_ID, "App", "App"),
    ],
)
def test_add_pipeline_user_is_idempotent(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str], principal: str, principal_type: str, sent_type: str
) -> None:
    """A user by UPN, a group and an app become pipeline Admins; the second run changes nothing."""
    inputs = {**powerbi, "pipeline": "HR Reporting", "principal": principal, "principal-type": principal_type}
    first = ok(run_step("add-user", inputs))
    assert (first.outputs["changed"], first.outputs["role"]) == ("true", "Admin")
    assert body_of(emulator, "Pipelines_UpdatePipelineUser") == {
        "identifier": principal,
        "principalType": sent_type,
        "accessRight": "Admin",
    }
    again = ok(run_step("add-user", inputs))
    assert again.outputs["changed"] == "false"
    assert any("already was Admin" in n for n in again.commands("notice"))
    assert len(calls(emulator, "Pipelines_UpdatePipelineUser")) == 1


def test_admin_add_user_spends_two_admin_requests(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """admin: true lists every pipeline once (users and stages expanded) and adds through the admin API."""
    inputs = {**powerbi, "pipeline": "HR Reporting", "principal": ANALYST_NAME, "principal-type": "User"}
    ok(run_step("add-user", {**inputs, "admin": "true"}))
    admin = [r for r in emulator.requests if "/admin/" in r.path]
    assert [r.operation for r in admin] == ["Pipelines_GetPipelinesAsAdmin", "Pipelines_UpdateUserAsAdmin"]
    again = ok(run_step("add-user", {**inputs, "admin": "true"}))
    assert again.outputs["changed"] == "false"


def test_admin_quota_exhausted_is_a_clear_error(run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]) -> None:
    """Past the admin API's hourly quota the step fails at once, saying why and what to do."""
    emulator.configure(admin_requests_per_hour=1)
    inputs = {**powerbi, "pipeline": "HR Reporting", "principal": ANALYST_NAME, "principal-type": "User"}
    run = run_step("add-user", {**inputs, "admin": "true"})
    assert run.returncode == 1
    assert "200 requests per hour" in run.errors[0]
    assert len(calls(emulator, "Pipelines_UpdateUserAsAdmin")) == 1  # refused once, not retried for an hour


def test_workspace_users_are_added_then_moved_to_another_role(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """workspace + workspace-role without a pipeline: POST to add, PUT to change, nothing when equal."""
    inputs = {**powerbi, "principal": ANALYST_NAME, "principal-type": "User", "workspace": HR_TEST_WORKSPACE_ID}
    added = ok(run_step("add-user", {**inputs, "workspace-role": "Viewer"}))
    assert (added.outputs["workspace-role"], added.outputs["changed"], added.outputs["pipeline-id"]) == (
        "Viewer",
        "true",
        "",
    )
    moved = ok(run_step("add-user", {**inputs, "workspace-role": "Contributor"}))
    assert "was moved from Viewer to Contributor" in moved.stdout
    same = ok(run_step("add-user", {**inputs, "workspace-role": "Contributor"}))
    assert same.outputs["changed"] == "false"
    assert [len(calls(emulator, op)) for op in ("Groups_AddGroupUser", "Groups_UpdateGroupUser")] == [1, 1]


def test_workspace_users_with_the_fabric_api(run_step: RunStep, emulator: Emulator) -> None:
    """With api: fabric, the same add-user goes to Fabric's workspace role assignments (object ids)."""
    inputs = {
        "principal": BI_DEVELOPERS_GROUP_ID,
        "principal-type": "Group",
        "workspace": HR_TEST_WORKSPACE_ID,
        "workspace-role": "Member",
        "pipeline": "HR Reporting",
    }
    run = ok(run_step("add-user", inputs))
    assert (run.outputs["role"], run.outputs["workspace-role"]) == ("Admin", "Member")
    assert body_of(emulator, "Workspaces_AddWorkspaceRoleAssignment") == {
        "principal": {"id": BI_DEVELOPERS_GROUP_ID, "type": "Group"},
        "role": "Member",
    }
    assert ok(run_step("add-user", inputs)).outputs["changed"] == "false"


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"source-stage": "3"}, "source-stage", "three stages"),
        ({"target-stage": "Production"}, "target-stage", "deploys to the next stage"),
        ({"allow-cross-region-deployment": "true"}, "allow-cross-region-deployment", "Fabric REST API only"),
        ({"new-workspace-name": "Sales [Test]"}, "new-workspace-name", "stage 'Test' has one"),
        ({"backward": "true"}, "backward", "comes after source-stage"),
        ({"source-stage": "Production", "target-stage": ""}, "target-stage", "no next stage"),
    ],
)
def test_power_bi_bad_input_is_refused_before_any_change(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str], inputs: dict[str, str], name: str, expected: str
) -> None:
    """Each is exit 2 with one error naming the input; nothing is deployed."""
    run = run_step("deploy-all", {**SALES, **powerbi, **inputs})
    assert run.returncode == 2, run.stdout
    assert len(run.errors) == 1, run.errors
    assert run.errors[0].startswith(f"title=Invalid input '{name}'::")
    assert expected in run.errors[0]
    if name == "new-workspace-name":  # known only once the pipeline's stages are read
        assert not [r for r in emulator.requests if r.method == "POST" and "/v1.0/" in r.path]
    else:
        assert emulator.requests == []


def test_create_pipeline_with_its_three_stages_and_a_workspace_then_again_changes_nothing(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """The Power BI create sends only displayName and description; the three stages come back by order, Test
    gets a workspace through the Power BI assign; a second run sends no write and is changed: false."""
    inputs = {
        **powerbi,
        "pipeline": "Power BI Release",
        "description": "Through the Power BI API",
        "stages": "Development\nTest\nProduction",
        "workspaces": f"Test: {SPARE_WORKSPACE_IDS[1]}",
    }
    first = ok(run_step("create-pipeline", inputs))
    assert body_of(emulator, "Pipelines_CreatePipeline") == {
        "displayName": "Power BI Release",
        "description": "Through the Power BI API",
    }
    (created,) = calls(emulator, "Pipelines_CreatePipeline")
    assert created.status == 201
    pipeline_id = created.response_body["id"]
    assert first.outputs == {
        "pipeline-id": pipeline_id,
        "stage-ids": '{"Development":"0","Test":"1","Production":"2"}',
        "changed": "true",
    }
    (assign,) = calls(emulator, "Pipelines_AssignWorkspace")
    assert assign.path.endswith(f"/pipelines/{pipeline_id}/stages/1/assignWorkspace")
    assert emulator.state.pipeline(pipeline_id).stages[1].workspace_id == SPARE_WORKSPACE_IDS[1]
    second = ok(run_step("create-pipeline", {**inputs, "stages": ""}))
    assert second.outputs == {**first.outputs, "changed": "false"}
    assert len(calls(emulator, "Pipelines_CreatePipeline")) == 1
    assert len(calls(emulator, "Pipelines_AssignWorkspace")) == 1
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]


def test_remove_user_by_upn_from_the_pipeline_and_a_workspace_then_again_changes_nothing(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """The seeded user, named by UPN, loses its pipeline and workspace roles (Pipelines_DeletePipelineUser and
    Groups_DeleteUserInGroup, no body); a second run sends no delete; no Fabric endpoint is called."""
    inputs = {
        **powerbi,
        "pipeline": "Sales Analytics",
        "workspace": DEV_WORKSPACE_ID,
        "principal": USER_NAME,
        "principal-type": "User",
    }
    first = ok(run_step("remove-user", inputs))
    assert first.outputs == {
        "pipeline-id": DEMO_PIPELINE_ID,
        "principal": USER_NAME,
        "removed-role": "Admin",
        "workspace-id": DEV_WORKSPACE_ID,
        "removed-workspace-role": "Member",
        "changed": "true",
    }
    (pipeline_delete,) = calls(emulator, "Pipelines_DeletePipelineUser")
    assert pipeline_delete.path.endswith(f"/pipelines/{DEMO_PIPELINE_ID}/users/{USER_NAME}")
    (group_delete,) = calls(emulator, "Groups_DeleteUserInGroup")
    assert group_delete.path.endswith(f"/groups/{DEV_WORKSPACE_ID}/users/{USER_NAME}")
    assert (pipeline_delete.request_body, group_delete.request_body) == (None, None)
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert USER_PRINCIPAL_ID not in [r.principal_id for r in roles]

    again = ok(run_step("remove-user", inputs))
    assert again.outputs["changed"] == "false"
    assert any("had no role on pipeline 'Sales Analytics'" in n for n in again.commands("notice"))
    assert len(calls(emulator, "Pipelines_DeletePipelineUser")) == len(calls(emulator, "Groups_DeleteUserInGroup")) == 1
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]


def test_remove_user_of_an_app_from_a_workspace_by_object_id(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """An app (a service principal) is named by object id, Power BI's `App` accepted as its type."""
    emulator.state.add_workspace_role(HR_TEST_WORKSPACE_ID, OTHER_APP_PRINCIPAL_ID, "ServicePrincipal", "Contributor")
    inputs = {
        **powerbi,
        "workspace": HR_TEST_WORKSPACE_ID,
        "principal": OTHER_APP_PRINCIPAL_ID,
        "principal-type": "App",
    }
    run = ok(run_step("remove-user", inputs))
    assert (run.outputs["removed-workspace-role"], run.outputs["pipeline-id"]) == ("Contributor", "")
    (request,) = calls(emulator, "Groups_DeleteUserInGroup")
    assert request.path.endswith(f"/groups/{HR_TEST_WORKSPACE_ID}/users/{OTHER_APP_PRINCIPAL_ID}")
