"""deploy-all and selective-deploy: resolve names, check the stages, deploy once, optionally wait."""

from __future__ import annotations

from fabric_ci.api.fabric import FabricClient
from fabric_ci.errors import InputError, NotFoundError
from fabric_ci.models.inputs import DeployAllInputs, SelectiveDeployInputs
from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import DeploymentResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import next_stage, resolve_items, resolve_pipeline, resolve_stage
from fabric_ci.operations.waiting import Clock, follow_deployment, to_result


def deploy(inputs: DeployAllInputs, client: FabricClient, reporter: Reporter, clock: Clock) -> DeploymentResult:
    command = "selective-deploy" if isinstance(inputs, SelectiveDeployInputs) else "deploy-all"
    with reporter.phase("Resolving the pipeline, stages and items"):
        pipeline = resolve_pipeline(client, inputs.pipeline)
        source = resolve_stage(pipeline, inputs.source_stage, "source-stage")
        target = (
            resolve_stage(pipeline, inputs.target_stage, "target-stage")
            if inputs.target_stage
            else next_stage(pipeline, source)
        )
        if target.id == source.id:
            raise InputError("target-stage", f"is the same stage as source-stage ({source.display_name!r}).")
        if not source.workspace_id:
            raise InputError(
                "source-stage",
                f"stage {source.display_name!r} has no workspace, so there is nothing to deploy.",
            )
        if not target.workspace_id:
            raise InputError(
                "target-stage",
                f"stage {target.display_name!r} has no workspace; assign one first with assign-workspace.",
            )
        if target.order < source.order and client.list_stage_items(pipeline.id, target.id):
            raise InputError(
                "target-stage",
                f"{target.display_name!r} comes before {source.display_name!r}: a backward deployment "
                "is only allowed into an empty stage, and this one holds items.",
            )
        items = None
        if isinstance(inputs, SelectiveDeployInputs):
            chosen = resolve_items(source, client.list_stage_items(pipeline.id, source.id), inputs.items)
            items = [(i.item_id, i.item_type) for i in chosen]

    what = f"{len(items)} item(s)" if items is not None else "all items"
    reporter.info(f"Deploying {what} of {pipeline.display_name!r} from {source.display_name} to {target.display_name}")
    started = clock.now()
    accepted = client.deploy(
        pipeline.id, source_stage_id=source.id, target_stage_id=target.id, items=items, note=inputs.note
    )
    reporter.deployment_accepted(accepted.deployment_id)
    reporter.info(f"Deployment accepted: operation-id {accepted.deployment_id}")

    if accepted.finished is not None:
        return to_result(command, pipeline, accepted.finished, measured_seconds=clock.now() - started)
    if not inputs.wait:
        current = _current(client, pipeline.id, accepted.deployment_id, source.id, target.id)
        return to_result(command, pipeline, current, measured_seconds=None, waited=False)
    with reporter.phase("Waiting for the deployment"):
        return follow_deployment(
            command,
            client,
            pipeline,
            accepted.deployment_id,
            timeout=inputs.timeout,
            reporter=reporter,
            clock=clock,
            retry_after=accepted.retry_after,
        )


def _current(
    client: FabricClient, pipeline_id: str, deployment_id: str, source_id: str, target_id: str
) -> DeploymentOperation:
    """With wait: false, one look at the deployment so the outputs say where it stands."""
    try:
        return client.get_deployment(pipeline_id, deployment_id)
    except NotFoundError:  # not visible yet right after the 202
        return DeploymentOperation(
            id=deployment_id, status="NotStarted", source_stage_id=source_id, target_stage_id=target_id
        )
