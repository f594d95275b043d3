"""unassign-workspace: take the workspace off a pipeline stage, idempotently."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.models.inputs import UnassignWorkspaceInputs
from fabric_ci.models.resources import Stage
from fabric_ci.models.results import StageRef, UnassignWorkspaceResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline, resolve_stage

# Microsoft's "Assign a workspace to a Microsoft Fabric deployment pipeline": "whenever you unassign a
# workspace, you lose all the stage deployment's history and configured rules".
DOCS_URL = "https://learn.microsoft.com/fabric/cicd/deployment-pipelines/assign-pipeline"
LOSS_WARNING = (
    "Unassigning workspace {workspace} from stage {stage!r} of {pipeline!r}: the stage's deployment history and "
    "its deployment rules will be lost, as Microsoft's documentation says ({docs}). The workspace itself is not "
    "deleted."
)
ALREADY_UNASSIGNED = "Stage {stage!r} of {pipeline!r} has no workspace assigned; nothing to unassign."


def _workspace_label(stage: Stage) -> str:
    return f"{stage.workspace_id} ({stage.workspace_name!r})" if stage.workspace_name else str(stage.workspace_id)


def unassign_workspace(
    inputs: UnassignWorkspaceInputs, client: PipelinesClient, reporter: Reporter
) -> UnassignWorkspaceResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    stage = resolve_stage(pipeline, inputs.stage, "stage")
    result = UnassignWorkspaceResult(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        stage=StageRef(id=stage.id, name=stage.display_name, order=stage.order),
        workspace_id=stage.workspace_id,
        workspace_name=stage.workspace_name,
    )
    if stage.workspace_id is None:
        reporter.notice(ALREADY_UNASSIGNED.format(stage=stage.display_name, pipeline=pipeline.display_name))
        return result
    workspace = _workspace_label(stage)
    reporter.warning(
        LOSS_WARNING.format(
            workspace=workspace, stage=stage.display_name, pipeline=pipeline.display_name, docs=DOCS_URL
        )
    )
    try:
        client.unassign_workspace(pipeline.id, stage.id)
    except AmbiguousResponse:
        # The answer was lost, so whether it acted shows only in the stage: sent again only if the
        # stage still has its workspace. A refusal (403, 409) is never second-guessed.
        if _workspace_of(client, pipeline.id, stage.id) is not None:
            client.unassign_workspace(pipeline.id, stage.id)
        else:
            reporter.debug("The unassign answer was lost, and the stage has no workspace now: the request acted.")
    reporter.info(f"Unassigned workspace {workspace} from stage {stage.display_name!r} of {pipeline.display_name!r}")
    return result


def _workspace_of(client: PipelinesClient, pipeline_id: str, stage_id: str) -> str | None:
    (stage,) = [s for s in client.get_pipeline(pipeline_id).stages if s.id == stage_id]
    return stage.workspace_id
