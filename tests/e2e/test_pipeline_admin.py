"""create-pipeline, assign-workspace, unassign-workspace, add-user and remove-user against the emulator, in GitHub
mode."""

from __future__ import annotations

import json
from typing import Any

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    DEMO_PIPELINE_ID,
    DEV_WORKSPACE_ID,
    FOUR_STAGE_NAMES,
    FOUR_STAGE_PIPELINE_ID,
    FOUR_STAGE_PIPELINE_NAME,
    GROUP_PRINCIPAL_ID,
    SERVICE_PRINCIPAL_ID,
    SPARE_WORKSPACE_IDS,
    TEST_WORKSPACE_ID,
    USER_PRINCIPAL_ID,
    stable_id,
)

from .conftest import RunStep

NEW_PRINCIPAL = "5b0d7c1e-2f7a-4d7e-9a55-3c1f1f0a9b21"


def test_assign_workspace_to_a_stage_without_one(run_step: RunStep, emulator: Emulator) -> None:
    """A spare workspace is assigned to the Test stage of the 4-stage pipeline, by stage name."""
    run = run_step(
        "assign-workspace", {"pipeline": "Operations Pipeline", "stage": "test", "workspace": SPARE_WORKSPACE_IDS[0]}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["workspace-id"] == SPARE_WORKSPACE_IDS[0]
    sent = [r for r in emulator.requests if r.operation == "DeploymentPipelines_AssignWorkspaceToStage"]
    assert len(sent) == 1
    assert sent[0].request_body == {"workspaceId": SPARE_WORKSPACE_IDS[0]}
    assert sent[0].status == 200


def test_assign_workspace_by_stage_order_with_unknown_stage_lists_stages(run_step: RunStep) -> None:
    """A stage order that does not exist is an input error listing the pipeline's stages."""
    run = run_step(
        "assign-workspace", {"pipeline": "Finance Reporting", "stage": "5", "workspace": SPARE_WORKSPACE_IDS[1]}
    )
    assert run.returncode == 2
    assert "Dev (0)" in run.errors[0]


def test_unassign_workspace_then_again_changes_nothing(run_step: RunStep, emulator: Emulator) -> None:
    """The UAT stage's workspace is unassigned after a warning of what is lost (changed: true); a second run
    finds the stage without one, sends no request and says so (changed: false)."""
    inputs = {"pipeline": "Operations Pipeline", "stage": "uat"}
    workspace = stable_id("workspace", "Operations Pipeline", "UAT")
    first = run_step("unassign-workspace", inputs)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.outputs == {
        "pipeline-id": stable_id("pipeline", "Operations Pipeline"),
        "stage-id": stable_id("stage", "Operations Pipeline", "UAT"),
        "workspace-id": workspace,
        "changed": "true",
    }
    (warning,) = first.commands("warning")
    assert f"Unassigning workspace {workspace}" in warning
    assert "deployment history and its deployment rules will be lost" in warning
    assert "learn.microsoft.com/fabric/cicd/deployment-pipelines/assign-pipeline" in warning
    assert "### ✅ Workspace unassigned" in first.summary
    sent = [r for r in emulator.requests if r.operation == "DeploymentPipelines_UnassignWorkspaceFromStage"]
    assert [(r.status, r.request_body) for r in sent] == [(200, None)]

    second = run_step("unassign-workspace", inputs)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (second.outputs["workspace-id"], second.outputs["changed"]) == ("", "false")
    assert second.commands("warning") == []
    assert any("has no workspace assigned; nothing to unassign" in n for n in second.commands("notice"))
    assert "### ✅ Stage already without a workspace" in second.summary
    sent = [r for r in emulator.requests if r.operation == "DeploymentPipelines_UnassignWorkspaceFromStage"]
    assert len(sent) == 1


def test_unassign_workspace_whose_answer_is_lost_is_sent_once_and_succeeds(
    run_step: RunStep, emulator: Emulator
) -> None:
    """The service acts on the request and the answer is lost: fabric-ci does not send it again, finds the
    stage without its workspace, and reports the unassignment."""
    emulator.inject(r"/unassignWorkspace$", count=1, kind="lost", method="POST")
    run = run_step("unassign-workspace", {"pipeline": "Operations Pipeline", "stage": "uat"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert (run.outputs["workspace-id"], run.outputs["changed"]) == (
        stable_id("workspace", "Operations Pipeline", "UAT"),
        "true",
    )
    sent = [r for r in emulator.requests if r.operation == "DeploymentPipelines_UnassignWorkspaceFromStage"]
    assert len(sent) == 1


def test_unassign_workspace_while_a_deployment_runs_is_the_services_refusal(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Both specs: unassigning "will fail if there's an active deployment operation". The service's 409
    is reported (exit 1) and the stage keeps its workspace."""
    emulator.configure(operation_seconds=60)
    started = run_step("deploy-all", {"pipeline": "Sales Analytics", "source-stage": "Development", "wait": "false"})
    assert started.returncode == 0, started.stdout + started.stderr
    run = run_step("unassign-workspace", {"pipeline": "Sales Analytics", "stage": "Test"})
    assert run.returncode == 1, run.stdout
    assert "409 DeploymentInProgress" in run.errors[0]
    assert run.outputs == {}
    assert emulator.state.pipeline(DEMO_PIPELINE_ID).stages[1].workspace_id == TEST_WORKSPACE_ID


def test_add_user_adds_then_is_idempotent(run_step: RunStep, emulator: Emulator) -> None:
    """Adding a new principal changes the pipeline; adding it again is a success with a notice."""
    inputs = {"pipeline": "Sales Analytics", "principal": NEW_PRINCIPAL, "principal-type": "Group"}
    first = run_step("add-user", inputs)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.outputs["changed"] == "true"
    posts = [r for r in emulator.requests if r.operation == "DeploymentPipelines_AddDeploymentPipelineRoleAssignment"]
    assert posts[0].request_body == {"principal": {"id": NEW_PRINCIPAL, "type": "Group"}, "role": "Admin"}

    second = run_step("add-user", inputs)
    assert second.returncode == 0
    assert second.outputs["changed"] == "false"
    assert any("already" in n for n in second.commands("notice"))
    posts = [r for r in emulator.requests if r.operation == "DeploymentPipelines_AddDeploymentPipelineRoleAssignment"]
    assert len(posts) == 1


def test_add_user_that_is_already_admin(run_step: RunStep) -> None:
    """A seeded admin is reported unchanged."""
    run = run_step(
        "add-user", {"pipeline": "Sales Analytics", "principal": USER_PRINCIPAL_ID, "principal-type": "User"}
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["changed"] == "false"


FOUR_STAGES = "Development: Where content is built\nTest\nStaging\nProduction: What customers see"
CREATE = "DeploymentPipelines_CreateDeploymentPipeline"


def writes(emulator: Emulator) -> list[Any]:
    """The requests to the Fabric API that could change something (sign-in requests aside)."""
    return [r for r in emulator.requests if r.method != "GET" and r.path.startswith("/v1/")]


def test_create_pipeline_with_four_stages_then_again_changes_nothing(run_step: RunStep, emulator: Emulator) -> None:
    """A pipeline of four stages is created with one public stage and a workspace on the first (changed: true);
    the same step again finds it, sends no write and says so (changed: false, the same ids)."""
    inputs = {
        "pipeline": "Release Train",
        "description": "Made by fabric-ci",
        "stages": FOUR_STAGES,
        "public-stages": "production",
        "workspaces": f"development: {SPARE_WORKSPACE_IDS[2]}",
    }
    first = run_step("create-pipeline", inputs)
    assert first.returncode == 0, first.stdout + first.stderr
    (sent,) = [r for r in emulator.requests if r.operation == CREATE]
    assert (sent.status, sent.request_body) == (
        201,
        {
            "displayName": "Release Train",
            "description": "Made by fabric-ci",
            "stages": [
                {"displayName": "Development", "description": "Where content is built", "isPublic": False},
                {"displayName": "Test", "isPublic": False},
                {"displayName": "Staging", "isPublic": False},
                {"displayName": "Production", "description": "What customers see", "isPublic": True},
            ],
        },
    )
    pipeline = emulator.state.pipeline(first.outputs["pipeline-id"])
    assert first.outputs["changed"] == "true"
    assert json.loads(first.outputs["stage-ids"]) == {s.display_name: s.id for s in pipeline.stages}
    assert [s.workspace_id for s in pipeline.stages] == [SPARE_WORKSPACE_IDS[2], None, None, None]
    assert [(r.principal_id, r.principal_type) for r in pipeline.role_assignments] == [
        (SERVICE_PRINCIPAL_ID, "ServicePrincipal")
    ]
    assert "### ✅ Pipeline created" in first.summary
    assert f"| 0 | Development | {pipeline.stages[0].id} | {SPARE_WORKSPACE_IDS[2]} (assigned now) |" in first.summary

    second = run_step("create-pipeline", inputs)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.outputs == {**first.outputs, "changed": "false"}
    assert any("already exists with these stages" in n for n in second.commands("notice"))
    assert "### ✅ Pipeline already there" in second.summary
    assert [r.operation for r in writes(emulator)] == [CREATE, "DeploymentPipelines_AssignWorkspaceToStage"]


def test_create_pipeline_over_one_with_other_stages_shows_the_difference(run_step: RunStep, emulator: Emulator) -> None:
    """Operations Pipeline exists with Dev, Test, UAT, Prod: asking for three other stages is exit 2 naming both
    lists, and nothing is written."""
    run = run_step("create-pipeline", {"pipeline": "operations pipeline", "stages": "Dev\nTest\nProd"})
    assert run.returncode == 2, run.stdout
    (error,) = run.errors
    assert error.startswith("title=Invalid input 'stages'::")
    assert "with stages Dev, Test, UAT, Prod, not Dev, Test, Prod" in error
    assert writes(emulator) == []


def test_create_pipeline_over_a_stage_holding_another_workspace_changes_nothing(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Operations Pipeline's stages, with a workspace for Test (which has none) and another for UAT (which holds
    its own): exit 2 naming both of UAT's workspaces, and Test is not assigned either."""
    uat = stable_id("workspace", "Operations Pipeline", "UAT")
    lines = f"Test: {SPARE_WORKSPACE_IDS[0]}\nUAT: {SPARE_WORKSPACE_IDS[1]}"
    inputs = {"pipeline": "Operations Pipeline", "stages": "Dev\nTest\nUAT\nProd", "workspaces": lines}
    run = run_step("create-pipeline", inputs)
    assert run.returncode == 2, run.stdout
    (error,) = run.errors
    assert error.startswith("title=Invalid input 'workspaces'::")
    assert f"stage 'UAT' of 'Operations Pipeline' already holds workspace {uat}, not {SPARE_WORKSPACE_IDS[1]}" in error
    assert writes(emulator) == []


def test_create_pipeline_assigns_the_seeded_four_stages_workspaces_unchanged(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Four Stage Release with its own stages and the workspace Staging holds: success, changed: false."""
    staging = stable_id("workspace", FOUR_STAGE_PIPELINE_NAME, "Staging")
    inputs = {
        "pipeline": FOUR_STAGE_PIPELINE_NAME,
        "stages": "\n".join(FOUR_STAGE_NAMES),
        "workspaces": f"staging: {staging}",
    }
    run = run_step("create-pipeline", inputs)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["pipeline-id"] == FOUR_STAGE_PIPELINE_ID
    assert list(json.loads(run.outputs["stage-ids"])) == list(FOUR_STAGE_NAMES)
    assert run.outputs["changed"] == "false"
    assert writes(emulator) == []


def test_create_pipeline_named_like_two_pipelines_names_both(run_step: RunStep, emulator: Emulator) -> None:
    """ "Marketing" and "marketing" both exist: creating "MARKETING" is exit 2 naming both ids, nothing sent."""
    run = run_step("create-pipeline", {"pipeline": "MARKETING"})
    assert run.returncode == 2, run.stdout
    assert stable_id("pipeline", "Marketing") in run.errors[0]
    assert stable_id("pipeline", "marketing") in run.errors[0]
    assert writes(emulator) == []


def test_create_pipeline_whose_answer_is_lost_is_sent_once_and_found(run_step: RunStep, emulator: Emulator) -> None:
    """The service creates the pipeline and the answer is lost: fabric-ci looks for it by name, finds it and
    reports it as created, without a second create."""
    emulator.inject(r"/v1/deploymentPipelines$", count=1, kind="lost", method="POST")
    run = run_step("create-pipeline", {"pipeline": "Lost Answer"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert len([r for r in emulator.requests if r.operation == CREATE]) == 1
    (created,) = [p for p in emulator.state.pipelines.values() if p.display_name == "Lost Answer"]
    assert (run.outputs["pipeline-id"], run.outputs["changed"]) == (created.id, "true")
    assert [s.display_name for s in created.stages] == ["Development", "Test", "Production"]


DELETE_PIPELINE_ROLE = "DeploymentPipelines_DeleteDeploymentPipelineRoleAssignment"
DELETE_WORKSPACE_ROLE = "Workspaces_DeleteWorkspaceRoleAssignment"


def deletes(emulator: Emulator) -> list[tuple[str, str, int]]:
    ops = (DELETE_PIPELINE_ROLE, DELETE_WORKSPACE_ROLE)
    return [(r.operation, r.path, r.status) for r in emulator.requests if r.operation in ops]


def test_remove_user_from_the_pipeline_and_a_workspace_then_again_changes_nothing(
    run_step: RunStep, emulator: Emulator
) -> None:
    """The seeded user loses its pipeline Admin and workspace Member roles (one DELETE each, changed: true); a
    second run finds no role, sends no DELETE and says so with a notice for each (changed: false)."""
    inputs = {
        "pipeline": "Sales Analytics",
        "workspace": DEV_WORKSPACE_ID,
        "principal": USER_PRINCIPAL_ID,
        "principal-type": "user",
    }
    first = run_step("remove-user", inputs)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.outputs == {
        "pipeline-id": DEMO_PIPELINE_ID,
        "principal": USER_PRINCIPAL_ID,
        "removed-role": "Admin",
        "workspace-id": DEV_WORKSPACE_ID,
        "removed-workspace-role": "Member",
        "changed": "true",
    }
    assert deletes(emulator) == [
        (DELETE_PIPELINE_ROLE, f"/v1/deploymentPipelines/{DEMO_PIPELINE_ID}/roleAssignments/{USER_PRINCIPAL_ID}", 200),
        (DELETE_WORKSPACE_ROLE, f"/v1/workspaces/{DEV_WORKSPACE_ID}/roleAssignments/{USER_PRINCIPAL_ID}", 200),
    ]
    assert "### ✅ Access removed" in first.summary
    assert USER_PRINCIPAL_ID not in [r.principal_id for r in emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments]

    second = run_step("remove-user", inputs)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (second.outputs["removed-role"], second.outputs["removed-workspace-role"]) == ("", "")
    assert second.outputs["changed"] == "false"
    notices = second.commands("notice")
    assert any("had no role on pipeline 'Sales Analytics'; nothing to remove" in n for n in notices), notices
    assert any(f"had no role on workspace {DEV_WORKSPACE_ID}; nothing to remove" in n for n in notices), notices
    assert "### ✅ Access unchanged" in second.summary
    assert len(deletes(emulator)) == 2


def test_remove_user_of_the_signed_in_principal_is_refused_without_force(run_step: RunStep, emulator: Emulator) -> None:
    """The service principal fabric-ci signs in as would lose its own pipeline Admin role: exit 2, an error
    naming force, and no DELETE sent; the role is still there."""
    run = run_step(
        "remove-user",
        {"pipeline": "Sales Analytics", "principal": SERVICE_PRINCIPAL_ID, "principal-type": "ServicePrincipal"},
    )
    assert run.returncode == 2, run.stdout + run.stderr
    (error,) = run.errors
    assert error.startswith("title=Invalid input 'force'::"), error
    assert "the principal fabric-ci is signed in as" in error
    assert deletes(emulator) == []
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert SERVICE_PRINCIPAL_ID in [r.principal_id for r in roles]


def test_remove_user_with_force_meets_the_services_last_admin_rule(run_step: RunStep, emulator: Emulator) -> None:
    """With force, the workspace delete of its own Admin role is sent, after a warning; the service principal
    is that workspace's last Admin, which the service refuses to remove: exit 1, the role kept."""
    inputs = {"workspace": DEV_WORKSPACE_ID, "principal": SERVICE_PRINCIPAL_ID, "principal-type": "ServicePrincipal"}
    run = run_step("remove-user", {**inputs, "force": "true"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert any("as force: true allows" in w for w in run.commands("warning"))
    assert "400 LastWorkspaceAdmin" in run.errors[0], run.errors
    assert deletes(emulator) == [
        (DELETE_WORKSPACE_ROLE, f"/v1/workspaces/{DEV_WORKSPACE_ID}/roleAssignments/{SERVICE_PRINCIPAL_ID}", 400)
    ]
    assert emulator.state.workspace_role(DEV_WORKSPACE_ID, SERVICE_PRINCIPAL_ID).role == "Admin"


def test_remove_user_whose_answer_is_lost_is_sent_once_and_succeeds(run_step: RunStep, emulator: Emulator) -> None:
    """The service removes the role and the answer is lost: fabric-ci reads the members again, finds the
    principal gone, and does not send the DELETE a second time."""
    emulator.inject(r"/roleAssignments/", count=1, kind="lost", method="DELETE")
    inputs = {"pipeline": "Sales Analytics", "principal": GROUP_PRINCIPAL_ID, "principal-type": "Group"}
    run = run_step("remove-user", inputs, env={"RUNNER_DEBUG": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert (run.outputs["removed-role"], run.outputs["changed"]) == ("Admin", "true")
    assert len([r for r in emulator.requests if r.method == "DELETE"]) == 1
    assert any("the request acted" in d for d in run.commands("debug")), run.commands("debug")


def test_remove_user_whose_delete_never_arrived_is_sent_once_more(run_step: RunStep, emulator: Emulator) -> None:
    """The connection drops before the service sees the DELETE: the members still list the principal, so
    the delete is sent a second time, and the step succeeds."""
    emulator.inject(r"/roleAssignments/", count=1, kind="reset", method="DELETE")
    inputs = {"pipeline": "Sales Analytics", "principal": GROUP_PRINCIPAL_ID, "principal-type": "Group"}
    run = run_step("remove-user", inputs)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (run.outputs["removed-role"], run.outputs["changed"]) == ("Admin", "true")
    # The dropped one is logged without a status (0), then the one the service answered.
    assert [r.status for r in emulator.requests if r.operation == DELETE_PIPELINE_ROLE] == [0, 200]
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert GROUP_PRINCIPAL_ID not in [r.principal_id for r in roles]


def test_remove_user_404_that_the_members_contradict_is_the_error(run_step: RunStep, emulator: Emulator) -> None:
    """A 404 while the principal is still listed is not taken for "already gone": exit 1, the role kept."""
    emulator.inject(r"/roleAssignments/", count=1, status=404, method="DELETE")
    inputs = {"pipeline": "Sales Analytics", "principal": GROUP_PRINCIPAL_ID, "principal-type": "Group"}
    run = run_step("remove-user", inputs)
    assert run.returncode == 1, run.stdout + run.stderr
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert GROUP_PRINCIPAL_ID in [r.principal_id for r in roles]


def test_remove_user_of_its_own_admin_role_whose_answer_is_lost_is_done(run_step: RunStep, emulator: Emulator) -> None:
    """force: true, the service removes the service principal's own Admin role from the pipeline and from a
    workspace (another Admin stays), and both answers are lost: the re-reads are refused (403, it is no
    longer a member), which is the proof the deletes acted: exit 0, changed true, one DELETE each, a notice."""
    emulator.state.add_workspace_role(DEV_WORKSPACE_ID, GROUP_PRINCIPAL_ID, "Group", "Admin")
    emulator.inject(r"/roleAssignments/", count=2, kind="lost", method="DELETE")
    inputs = {
        "pipeline": "Sales Analytics",
        "workspace": DEV_WORKSPACE_ID,
        "principal": SERVICE_PRINCIPAL_ID,
        "principal-type": "ServicePrincipal",
        "force": "true",
    }
    run = run_step("remove-user", inputs)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (run.outputs["removed-role"], run.outputs["removed-workspace-role"]) == ("Admin", "Admin")
    assert run.outputs["changed"] == "true"
    # Each acted (the service answered 200, and the answer never came back), and none was sent again.
    assert [(op, status) for op, _, status in deletes(emulator)] == [
        (DELETE_PIPELINE_ROLE, 200),
        (DELETE_WORKSPACE_ROLE, 200),
    ]
    refusals = [
        n for n in run.commands("notice") if "The answer to the delete was lost, and the service now refuses" in n
    ]
    assert len(refusals) == 2, run.commands("notice")
    assert all("403 InsufficientPrivileges" in n and "so the request acted" in n for n in refusals)
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert SERVICE_PRINCIPAL_ID not in [r.principal_id for r in roles]
