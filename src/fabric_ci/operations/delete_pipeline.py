"""delete-pipeline: delete a deployment pipeline, idempotently, never while one of its deployments runs."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import DeploymentRunning, NotFoundError
from fabric_ci.models.inputs import DeletePipelineInputs
from fabric_ci.models.resources import DeploymentOperation, PipelineWithStages
from fabric_ci.models.results import TERMINAL_STATUSES, DeletePipelineResult, normalise_status
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import find_pipeline

# Microsoft's "Delete Deployment Pipeline" (both APIs): the caller must be an Admin of the pipeline,
# and "This operation will fail if there's an active deployment operation".
# https://learn.microsoft.com/rest/api/fabric/core/deployment-pipelines/delete-deployment-pipeline
# What is lost: deleting the pipeline takes every workspace off its stage, and Microsoft's "Assign a
# workspace to a Microsoft Fabric deployment pipeline" says "whenever you unassign a workspace, you lose
# all the stage deployments history and configured rules"; the pairing of items between stages is the
# pipeline's own. No Microsoft page found says more about deleting a pipeline than these two.
DOCS_URL = "https://learn.microsoft.com/fabric/cicd/deployment-pipelines/assign-pipeline"
LOSS_WARNING = (
    "Deleting deployment pipeline {pipeline!r} ({pipeline_id}): its stages, their deployment history, deployment "
    "rules and the pairing of items between stages will be lost ({docs}). Its workspaces{workspaces} and their "
    "content stay, unassigned."
)
ABSENT = (
    "No deployment pipeline {pipeline} is visible to this principal; nothing to delete. A principal sees only "
    "the pipelines it is an Admin of, so the pipeline may also exist without this principal having access to it."
)
RUNNING = (
    "Deployment {operation} of pipeline {pipeline!r} is still running (status {status}, {stages}, {started}): "
    "the service refuses to "
    "delete a pipeline while a deployment runs. Nothing was deleted; run delete-pipeline again when it has "
    "ended (wait-for-deployment with operation-id {operation} waits for it)."
)


def delete_pipeline(inputs: DeletePipelineInputs, client: PipelinesClient, reporter: Reporter) -> DeletePipelineResult:
    pipeline = find_pipeline(client, inputs.pipeline)
    if pipeline is None:
        reporter.notice(ABSENT.format(pipeline=inputs.pipeline))
        return DeletePipelineResult(pipeline_name=inputs.pipeline.name or inputs.pipeline.id or "")
    # Checked before the request, so that the refusal names the deployment; the service refuses it too.
    running = [d for d in client.list_deployments(pipeline.id) if normalise_status(d.status) not in TERMINAL_STATUSES]
    if running:
        raise DeploymentRunning(_running(pipeline, running[0]))
    workspaces = {s.display_name: s.workspace_id for s in pipeline.stages if s.workspace_id}
    listed = f" ({', '.join(f'{ws} of stage {name!r}' for name, ws in workspaces.items())})" if workspaces else ""
    reporter.warning(
        LOSS_WARNING.format(pipeline=pipeline.display_name, pipeline_id=pipeline.id, docs=DOCS_URL, workspaces=listed)
    )
    try:
        client.delete_pipeline(pipeline.id)
    except AmbiguousResponse:
        # The answer was lost, so whether it acted shows only in the pipeline: sent again only if it is
        # still there. A refusal (403, 409) is never second-guessed.
        if _exists(client, pipeline.id):
            client.delete_pipeline(pipeline.id)
        else:
            reporter.debug("The delete answer was lost, and the pipeline is gone now: the request acted.")
    reporter.info(f"Deleted deployment pipeline {pipeline.display_name!r} ({pipeline.id})")
    return DeletePipelineResult(pipeline_id=pipeline.id, pipeline_name=pipeline.display_name, workspaces=workspaces)


def _running(pipeline: PipelineWithStages, deployment: DeploymentOperation) -> str:
    names = {s.id: s.display_name for s in pipeline.stages}
    source = names.get(deployment.source_stage_id or "", deployment.source_stage_id or "?")
    target = names.get(deployment.target_stage_id or "", deployment.target_stage_id or "?")
    start = deployment.execution_start_time
    return RUNNING.format(
        operation=deployment.id,
        pipeline=pipeline.display_name,
        status=normalise_status(deployment.status),
        stages=f"from {source} to {target}",
        started=f"started {start.isoformat()}" if start else "not started yet",
    )


def _exists(client: PipelinesClient, pipeline_id: str) -> bool:
    try:
        client.get_pipeline(pipeline_id)
    except NotFoundError:
        return False
    return True
