"""assign-workspace: put a workspace on a pipeline stage."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.models.inputs import AssignWorkspaceInputs
from fabric_ci.models.results import AssignWorkspaceResult, StageRef
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline, resolve_stage


def assign_workspace(
    inputs: AssignWorkspaceInputs, client: PipelinesClient, reporter: Reporter
) -> AssignWorkspaceResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    stage = resolve_stage(pipeline, inputs.stage, "stage")
    ref = StageRef(id=stage.id, name=stage.display_name, order=stage.order)
    result = AssignWorkspaceResult(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        stage=ref,
        workspace_id=inputs.workspace,
        previous_workspace_id=stage.workspace_id,
    )
    if stage.workspace_id == inputs.workspace:
        reporter.notice(f"Workspace {inputs.workspace} is already assigned to stage {stage.display_name!r}.")
        return result
    client.assign_workspace(pipeline.id, stage.id, inputs.workspace)
    reporter.info(f"Assigned workspace {inputs.workspace} to stage {stage.display_name!r} of {pipeline.display_name!r}")
    return result
