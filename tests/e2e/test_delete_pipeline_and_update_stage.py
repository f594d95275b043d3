"""delete-pipeline (both APIs) and update-stage (the Fabric API) against the emulator, in GitHub mode."""

from __future__ import annotations

from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, HR_PIPELINE_ID, SERVICE_PRINCIPAL_ID, stable_id

from .conftest import RunStep, StepRun

FINANCE_ID = stable_id("pipeline", "Finance Reporting")
FINANCE_WORKSPACES = [stable_id("workspace", "Finance Reporting", s) for s in ("Dev", "Prod")]
OPERATIONS_ID = stable_id("pipeline", "Operations Pipeline")
UAT_ID = stable_id("stage", "Operations Pipeline", "UAT")


def calls(emulator: Emulator, operation: str) -> list[Any]:
    return [r for r in emulator.requests if r.operation == operation]


def ok(run: StepRun) -> StepRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.errors == []
    return run


@pytest.fixture
def powerbi(emulator: Emulator) -> dict[str, str]:
    return {"api": "powerbi", "api-base-url": emulator.powerbi_base_url}


# -- delete-pipeline ------------------------------------------------------------------------------------


def test_delete_pipeline_then_again_changes_nothing(run_step: RunStep, emulator: Emulator) -> None:
    """Finance Reporting is deleted after a warning of what is lost (changed: true); its workspaces stay with
    their items; a second run sees no such pipeline, sends no DELETE, and says absent may mean no access."""
    first = ok(run_step("delete-pipeline", {"pipeline": "Finance Reporting"}))
    assert first.outputs == {"pipeline-id": FINANCE_ID, "changed": "true"}
    (warning,) = first.commands("warning")
    assert "Deleting deployment pipeline 'Finance Reporting'" in warning
    assert "deployment history, deployment rules and the pairing of items between stages will be lost" in warning
    assert FINANCE_WORKSPACES[0] in warning
    assert "### ✅ Deployment pipeline deleted" in first.summary
    sent = calls(emulator, "DeploymentPipelines_DeleteDeploymentPipeline")
    assert [(r.path, r.status, r.request_body) for r in sent] == [(f"/v1/deploymentPipelines/{FINANCE_ID}", 200, None)]
    assert FINANCE_ID not in emulator.state.pipelines
    assert all(ws in emulator.state.workspaces for ws in FINANCE_WORKSPACES)
    assert [i.display_name for i in emulator.state.workspaces[FINANCE_WORKSPACES[0]].items] == [
        "Budget",
        "Budget Model",
    ]

    second = ok(run_step("delete-pipeline", {"pipeline": "Finance Reporting"}))
    assert second.outputs == {"pipeline-id": "", "changed": "false"}
    assert second.commands("warning") == []
    assert any(
        "No deployment pipeline 'Finance Reporting' is visible to this principal; nothing to delete" in n
        and "sees only the pipelines it is an Admin of" in n
        for n in second.commands("notice")
    ), second.commands("notice")
    assert "### ✅ No such deployment pipeline" in second.summary
    assert len(calls(emulator, "DeploymentPipelines_DeleteDeploymentPipeline")) == 1


def test_delete_pipeline_whose_answer_is_lost_is_sent_once_and_succeeds(run_step: RunStep, emulator: Emulator) -> None:
    """The service deletes the pipeline and the answer is lost: fabric-ci looks, finds it gone, and does not
    send the DELETE again."""
    emulator.inject(rf"/deploymentPipelines/{FINANCE_ID}$", count=1, kind="lost", method="DELETE")
    run = ok(run_step("delete-pipeline", {"pipeline": FINANCE_ID}))
    assert run.outputs == {"pipeline-id": FINANCE_ID, "changed": "true"}
    assert len(calls(emulator, "DeploymentPipelines_DeleteDeploymentPipeline")) == 1
    assert FINANCE_ID not in emulator.state.pipelines


def test_delete_pipeline_while_a_deployment_runs_is_refused_before_any_write(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A running deployment of the pipeline: exit 1, the error names its operation id and stages, no DELETE
    is sent, and the pipeline is still there."""
    emulator.configure(operation_seconds=60)
    started = ok(
        run_step("deploy-all", {"pipeline": "Sales Analytics", "source-stage": "Development", "wait": "false"})
    )
    run = run_step("delete-pipeline", {"pipeline": "Sales Analytics"})
    assert run.returncode == 1, run.stdout
    (error,) = run.errors
    assert "title=A deployment of the pipeline is running::" in error
    assert f"Deployment {started.outputs['operation-id']} of pipeline 'Sales Analytics' is still running" in error
    assert "from Development to Test" in error
    assert run.outputs == {}
    assert calls(emulator, "DeploymentPipelines_DeleteDeploymentPipeline") == []
    assert DEMO_PIPELINE_ID in emulator.state.pipelines


def test_delete_pipeline_without_the_admin_role_is_the_services_403(run_step: RunStep, emulator: Emulator) -> None:
    """The emulator is no kinder than the service: without the pipeline's Admin role even reading it by id
    is refused (403, exit 1), no DELETE is sent, and the pipeline stays; by name it is not listed at all."""
    emulator.state.delete_role_assignment(FINANCE_ID, SERVICE_PRINCIPAL_ID)
    run = run_step("delete-pipeline", {"pipeline": FINANCE_ID})
    assert run.returncode == 1, run.stdout
    assert "403 InsufficientPrivileges" in run.errors[0]
    assert calls(emulator, "DeploymentPipelines_DeleteDeploymentPipeline") == []
    assert FINANCE_ID in emulator.state.pipelines
    by_name = ok(run_step("delete-pipeline", {"pipeline": "Finance Reporting"}))
    assert by_name.outputs == {"pipeline-id": "", "changed": "false"}
    assert FINANCE_ID in emulator.state.pipelines


def test_delete_pipeline_through_the_power_bi_api(
    run_step: RunStep, emulator: Emulator, powerbi: dict[str, str]
) -> None:
    """HR Reporting is deleted with one Pipelines_DeletePipeline and no Fabric request; a second run sends none."""
    first = ok(run_step("delete-pipeline", {**powerbi, "pipeline": "HR Reporting"}))
    assert first.outputs == {"pipeline-id": HR_PIPELINE_ID, "changed": "true"}
    (request,) = calls(emulator, "Pipelines_DeletePipeline")
    assert (request.method, request.path, request.request_body) == (
        "DELETE",
        f"/v1.0/myorg/pipelines/{HR_PIPELINE_ID}",
        None,
    )
    second = ok(run_step("delete-pipeline", {**powerbi, "pipeline": HR_PIPELINE_ID}))
    assert second.outputs == {"pipeline-id": "", "changed": "false"}
    assert len(calls(emulator, "Pipelines_DeletePipeline")) == 1
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]


# -- update-stage ---------------------------------------------------------------------------------------


def test_update_stage_then_again_changes_nothing(run_step: RunStep, emulator: Emulator) -> None:
    """UAT is renamed and made private: one PATCH with exactly those fields; a second run (by the new name)
    sends none and is changed: false."""
    inputs = {"pipeline": "Operations Pipeline", "stage": "uat", "display-name": "Staging", "public": "false"}
    before = emulator.state.pipeline(OPERATIONS_ID).stage(UAT_ID)
    assert before is not None
    expected: dict[str, Any] = {"displayName": "Staging"} | ({"isPublic": False} if before.is_public else {})
    first = ok(run_step("update-stage", inputs))
    assert first.outputs == {"pipeline-id": OPERATIONS_ID, "stage-id": UAT_ID, "changed": "true"}
    assert "### ✅ Stage updated" in first.summary
    (request,) = calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage")
    assert (request.status, request.request_body) == (200, expected)
    assert emulator.state.pipeline(OPERATIONS_ID).stages[2].display_name == "Staging"

    second = ok(run_step("update-stage", {**inputs, "stage": "Staging"}))
    assert second.outputs == {"pipeline-id": OPERATIONS_ID, "stage-id": UAT_ID, "changed": "false"}
    assert any("nothing to change" in n for n in second.commands("notice"))
    assert len(calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage")) == 1


def test_update_stage_description_sends_the_current_name(run_step: RunStep, emulator: Emulator) -> None:
    """displayName is required by the spec: a description change carries the unchanged name along."""
    ok(run_step("update-stage", {"pipeline": "Operations Pipeline", "stage": "3", "description": "Live"}))
    (request,) = calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage")
    assert request.request_body == {"displayName": "Prod", "description": "Live"}


def test_update_stage_to_a_name_another_stage_has_is_refused_before_the_patch(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Renaming UAT to 'dev' (Dev exists): exit 2 naming display-name, and no PATCH."""
    run = run_step("update-stage", {"pipeline": "Operations Pipeline", "stage": "UAT", "display-name": "dev"})
    assert run.returncode == 2, run.stdout
    assert run.errors[0].startswith("title=Invalid input 'display-name'::"), run.errors
    assert "stage 'Dev' of pipeline 'Operations Pipeline' is already named so" in run.errors[0]
    assert calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage") == []


def test_update_stage_without_the_admin_role_is_the_services_403(run_step: RunStep, emulator: Emulator) -> None:
    """Without the pipeline's Admin role the read before the PATCH is refused (403, exit 1): no PATCH, and the
    stage keeps its name."""
    emulator.state.delete_role_assignment(OPERATIONS_ID, SERVICE_PRINCIPAL_ID)
    run = run_step("update-stage", {"pipeline": OPERATIONS_ID, "stage": "UAT", "display-name": "Staging"})
    assert run.returncode == 1, run.stdout
    assert "403 InsufficientPrivileges" in run.errors[0]
    assert calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage") == []
    assert emulator.state.pipeline(OPERATIONS_ID).stages[2].display_name == "UAT"


def test_update_stage_rerun_by_the_old_name_is_unchanged(run_step: RunStep, emulator: Emulator) -> None:
    """The same rename inputs twice (stage: UAT, display-name: Staging): the second run finds no UAT but one
    Staging with every value asked for, exits 0 with changed: false, says so, and sends no PATCH."""
    inputs = {"pipeline": "Operations Pipeline", "stage": "UAT", "display-name": "Staging", "description": "Pre"}
    ok(run_step("update-stage", inputs))
    again = ok(run_step("update-stage", inputs))
    assert again.outputs == {"pipeline-id": OPERATIONS_ID, "stage-id": UAT_ID, "changed": "false"}
    assert any("No stage of 'Operations Pipeline' is named 'UAT'" in n for n in again.commands("notice"))
    assert len(calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage")) == 1


def test_update_stage_whose_answer_is_lost_is_sent_once_and_settled_by_a_read(
    run_step: RunStep, emulator: Emulator
) -> None:
    """The service renames the stage and the answer is lost: the transport does not replay the PATCH;
    fabric-ci reads the stage, sees the new name, and reports changed: true."""
    emulator.inject(rf"/stages/{UAT_ID}$", count=1, kind="lost", method="PATCH")
    run = ok(run_step("update-stage", {"pipeline": "Operations Pipeline", "stage": "UAT", "display-name": "Staging"}))
    assert run.outputs == {"pipeline-id": OPERATIONS_ID, "stage-id": UAT_ID, "changed": "true"}
    assert len(calls(emulator, "DeploymentPipelines_UpdateDeploymentPipelineStage")) == 1
    assert any("the update acted" in n for n in run.commands("notice"))
    assert emulator.state.pipeline(OPERATIONS_ID).stages[2].display_name == "Staging"
