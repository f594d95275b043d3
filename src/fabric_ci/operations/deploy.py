"""deploy-all and selective-deploy: resolve names, check the stages, deploy once, optionally wait."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ApiError, ErrorDetails, InputError, NotFoundError
from fabric_ci.models.inputs import DeployAllInputs, SelectiveDeployInputs
from fabric_ci.models.requests import DeployRequest
from fabric_ci.models.resources import DeployAccepted, DeploymentOperation, Stage
from fabric_ci.models.results import DeploymentResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import adjacent_stage, resolve_items, resolve_pipeline, resolve_stage
from fabric_ci.operations.waiting import Clock, check_outcome, follow_deployment, to_result


def deploy(inputs: DeployAllInputs, client: PipelinesClient, reporter: Reporter, clock: Clock) -> DeploymentResult:
    command = "selective-deploy" if isinstance(inputs, SelectiveDeployInputs) else "deploy-all"
    with reporter.phase("Resolving the pipeline, stages and items"):
        pipeline = resolve_pipeline(client, inputs.pipeline)
        source = resolve_stage(pipeline, inputs.source_stage, "source-stage")
        target = (
            resolve_stage(pipeline, inputs.target_stage, "target-stage")
            if inputs.target_stage
            else adjacent_stage(pipeline, source, backward=inputs.backward)
        )
        if target.id == source.id:
            raise InputError("target-stage", f"is the same stage as source-stage ({source.display_name!r}).")
        if inputs.backward and target.order > source.order:
            raise InputError(
                "backward",
                f"is true, but target-stage {target.display_name!r} comes after source-stage {source.display_name!r}.",
            )
        check_stages(client, pipeline.id, source, target, inputs)
        items = None
        if isinstance(inputs, SelectiveDeployInputs):
            items = tuple(resolve_items(source, client.list_stage_items(pipeline.id, source.id), inputs.items))
        request = DeployRequest(
            source=source,
            target=target,
            items=items,
            note=inputs.note,
            new_workspace=inputs.new_workspace,
            update_app=bool(inputs.update_app),
            options=inputs.options,
        )

    what = f"{len(items)} item(s)" if items is not None else "all items"
    direction = " (backward)" if request.backward else ""
    reporter.info(
        f"Deploying {what} of {pipeline.display_name!r} from {source.display_name} to {target.display_name}{direction}"
    )
    # Read before the POST: it gives the wait its duration estimate, and it is how we tell a
    # deployment we started from one that already existed if the POST's answer is lost.
    history = client.list_deployments(pipeline.id)
    started = clock.now()
    try:
        accepted = client.deploy(pipeline.id, request)
    except AmbiguousResponse as lost:
        reporter.warning(f"{lost.message}; looking in the pipeline's history instead of sending it again")
        accepted = find_lost_deployment(
            client, pipeline.id, source.id, target.id, inputs.note, {op.id for op in history}, clock, lost
        )
    reporter.deployment_accepted(accepted.deployment_id)
    reporter.info(f"Deployment accepted: operation-id {accepted.deployment_id}")

    if accepted.finished is not None:
        return check_outcome(to_result(command, pipeline, accepted.finished, measured_seconds=clock.now() - started))
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
            history=history,
        )


def check_stages(
    client: PipelinesClient, pipeline_id: str, source: Stage, target: Stage, inputs: DeployAllInputs
) -> None:
    """Refuse, before the deploy request, what the service would refuse: stages without workspaces,
    a workspace to create where one exists, a backward deployment into a stage holding items."""
    if not source.workspace_id:
        raise InputError(
            "source-stage",
            f"stage {source.display_name!r} has no workspace, so there is nothing to deploy.",
        )
    if target.workspace_id and inputs.new_workspace_name:
        raise InputError(
            "new-workspace-name",
            f"is only for a target stage without a workspace, and stage {target.display_name!r} has one "
            f"({target.workspace_name or target.workspace_id}).",
        )
    if not target.workspace_id and not inputs.new_workspace_name:
        raise InputError(
            "target-stage",
            f"stage {target.display_name!r} has no workspace; assign one first with assign-workspace, or set "
            "new-workspace-name to have the deployment create it.",
        )
    if target.order < source.order and target.workspace_id and client.list_stage_items(pipeline_id, target.id):
        raise InputError(
            "target-stage",
            f"{target.display_name!r} comes before {source.display_name!r}: a backward deployment "
            "is only allowed into an empty stage, and this one holds items.",
        )


# After a lost answer, when to look for the deployment (seconds after the failure). A new
# deployment may take a moment to show in the history; how long is not documented.
LOST_ANSWER_CHECKS = (0.0, 2.0, 5.0, 10.0)


def find_lost_deployment(
    client: PipelinesClient,
    pipeline_id: str,
    source_id: str,
    target_id: str,
    note: str | None,
    known_ids: set[str],
    clock: Clock,
    lost: AmbiguousResponse,
) -> DeployAccepted:
    """Find the deployment our lost POST may have started; never send it again.

    A candidate is a deployment that was not in the history read just before the POST, between
    the same stages, with our note if we sent one. One candidate is ours; several are refused
    rather than guessed between; none after the last look means nothing was started.
    """
    began = clock.now()
    for at in LOST_ANSWER_CHECKS:
        clock.sleep(max(0.0, began + at - clock.now()))
        candidates = [
            op
            for op in client.list_deployments(pipeline_id)
            if op.id not in known_ids
            and (op.source_stage_id, op.target_stage_id) in ((source_id, target_id), (None, None))
            # The service may truncate a long note, so ours need only start with what it shows.
            and (not note or bool(op.note and op.note.content and note.startswith(op.note.content)))
        ]
        if len(candidates) == 1:
            return DeployAccepted(deployment_id=candidates[0].id)
        if len(candidates) > 1:
            ids = ", ".join(op.id for op in candidates)
            raise ApiError(
                ErrorDetails(0, "AmbiguousDeployment", f"{lost.message}, and several new deployments appeared: {ids}."),
                hint="One of them may be ours; fabric-ci will not guess. Check the pipeline's deployment history.",
            )
    raise ApiError(
        ErrorDetails(0, "DeploymentNotStarted", f"{lost.message}, and the pipeline shows no new deployment."),
        hint="Nothing was deployed and the request was not re-sent (to avoid a duplicate); run the step again.",
    )


def _current(
    client: PipelinesClient, pipeline_id: str, deployment_id: str, source_id: str, target_id: str
) -> DeploymentOperation:
    """With wait: false, one look at the deployment so the outputs say where it stands."""
    try:
        return client.get_deployment(pipeline_id, deployment_id)
    except NotFoundError:  # not visible yet right after the 202
        return DeploymentOperation(
            id=deployment_id, status="NotStarted", source_stage_id=source_id, target_stage_id=target_id
        )
