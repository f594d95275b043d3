"""assign-workspace and add-user against the emulator, in GitHub mode."""

from __future__ import annotations

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import SPARE_WORKSPACE_IDS, USER_PRINCIPAL_ID

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
