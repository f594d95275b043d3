"""deploy-all and selective-deploy: resolve names, check the stages, deploy once, optionally wait."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.polling import SharedBudget
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.clock import Clock
from fabric_ci.errors import (
    Cancelled,
    DeploymentFailed,
    DeploymentOutcomeUnknown,
    DeploymentRefused,
    FabricCiError,
    InputError,
    NotFoundError,
    StepCancelled,
    WaitTimeout,
)
from fabric_ci.models.inputs import DeployAllInputs, SelectiveDeployInputs
from fabric_ci.models.requests import DeployRequest
from fabric_ci.models.resources import DeployAccepted, DeploymentOperation, PipelineWithStages, Stage, StageItem
from fabric_ci.models.results import DeploymentPlan, DeploymentResult, StageRef
from fabric_ci.operations.plan import (
    StageContent,
    build_plan,
    compare_definitions,
    describe,
    forbidden_by_options,
    refusals,
)
from fabric_ci.operations.reads import read_at_once
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import adjacent_stage, resolve_items, resolve_pipeline, resolve_stage
from fabric_ci.operations.waiting import NEWLY_ACCEPTED_GRACE, check_outcome, follow_deployment, to_result

# A deploy's reads before its request go out this many at once: both stages' items, the history, and
# the stage between them of a three-stage pipeline's Development -> Production.
READS_AT_ONCE = 4


def run_marker() -> str:
    """Appended to the note of the deployment this run sends, so that it can be recognised in the
    pipeline's history if the deploy answer is lost, even among deployments that other runs of the
    same principal start at the same moment. 20 characters, 21 with the space before it (inputs leave
    room for that in the note)."""
    return f"[fabric-ci {secrets.token_hex(4)}]"


def deploy(
    inputs: DeployAllInputs,
    client: PipelinesClient,
    reporter: Reporter,
    clock: Clock,
    *,
    budget: SharedBudget | None = None,
) -> DeploymentResult:
    """`budget`: the status requests this deployment's wait shares with others running beside it
    (deploy-many's entries); None for a step of its own."""
    command = "selective-deploy" if isinstance(inputs, SelectiveDeployInputs) else "deploy-all"
    began = clock.now()
    try:
        pipeline, request, plan, history = _prepare(inputs, client, reporter, clock, command)
        if inputs.plan:
            return _plan_result(command, pipeline, request, plan)
        # The last point a cancel stops the step with nothing deployed: deploy-many's worker may have
        # been reading while its run was cancelled, and must not start a deployment after it.
        clock.checkpoint()
    except Cancelled as cancelled:
        raise StepCancelled(
            f"Cancelled by {cancelled.signal_name} before the deployment was requested: nothing was deployed.",
            cancelled,
        ) from None
    # The timeout counts from the deploy request, less what comparing definitions took of it.
    compared = clock.now() - began if plan.compared else 0.0
    timeout = max(inputs.timeout - timedelta(seconds=compared), timedelta(0))
    try:
        return _deploy(
            inputs, client, reporter, clock, command, pipeline, request, history, timeout, budget
        ).model_copy(update={"plan": plan})
    except (DeploymentFailed, WaitTimeout, StepCancelled) as stopped:
        # The plan belongs in the outputs of a deployment that did not end well too.
        if stopped.result is not None:
            stopped.result = stopped.result.model_copy(update={"plan": plan})
        raise


def _plan_result(
    command: str, pipeline: PipelineWithStages, request: DeployRequest, plan: DeploymentPlan
) -> DeploymentResult:
    return DeploymentResult(
        command=command,
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        operation_id="",
        source_stage=StageRef(id=request.source.id, name=request.source.display_name, order=request.source.order),
        target_stage=StageRef(id=request.target.id, name=request.target.display_name, order=request.target.order),
        status="Planned",
        note=request.note,
        waited=False,
        plan=plan,
    )


def _deploy(
    inputs: DeployAllInputs,
    client: PipelinesClient,
    reporter: Reporter,
    clock: Clock,
    command: str,
    pipeline: PipelineWithStages,
    request: DeployRequest,
    history: list[DeploymentOperation],
    timeout: timedelta,
    budget: SharedBudget | None,
) -> DeploymentResult:
    started = clock.now()  # the timeout counts from the deploy request
    deadline = started + timeout.total_seconds()
    known_ids = {op.id for op in history}
    accepted: DeployAccepted | None = None
    try:
        accepted = _send(client, pipeline, request, known_ids, reporter, clock, deadline)
        reporter.deployment_accepted(accepted.deployment_id)
    except Cancelled as cancelled:
        # The answer may have been on its way: one quick look for this run's marker.
        accepted = accepted or _look_once(client, pipeline.id, request, known_ids)
        if accepted is None:
            raise StepCancelled(
                f"Cancelled by {cancelled.signal_name} while the deploy request was in flight: the deployment may "
                f"have started. Look in the pipeline's deployment history for the note ending {request.marker} "
                "before running this step again.",
                cancelled,
            ) from None
        reporter.deployment_accepted(accepted.deployment_id)
        raise _cancelled_after(cancelled, command, pipeline, request, accepted.deployment_id) from None
    reporter.info(f"Deployment accepted: operation-id {accepted.deployment_id}")

    if accepted.finished is not None:
        return check_outcome(to_result(command, pipeline, accepted.finished, measured_seconds=clock.now() - started))
    if not inputs.wait:
        try:
            current = _current(client, pipeline.id, accepted.deployment_id, request, reporter)
        except Cancelled as cancelled:
            raise _cancelled_after(cancelled, command, pipeline, request, accepted.deployment_id) from None
        return to_result(command, pipeline, current, measured_seconds=None, waited=False)
    with reporter.phase("Waiting for the deployment"):
        return follow_deployment(
            command,
            client,
            pipeline,
            accepted.deployment_id,
            timeout=timeout,
            reporter=reporter,
            clock=clock,
            started=started,
            stages=(request.source.id, request.target.id),
            history=history,
            budget=budget,
        )


def _cancelled_after(
    cancelled: Cancelled, command: str, pipeline: PipelineWithStages, request: DeployRequest, deployment_id: str
) -> StepCancelled:
    """A cancel once the deployment was accepted: it goes on, and the outputs say which it is."""
    current = _not_started(deployment_id, request)
    return StepCancelled(
        f"Cancelled by {cancelled.signal_name} just after deployment {deployment_id} was accepted. It was left "
        f"running: follow it with wait-for-deployment and this operation-id.",
        cancelled,
        to_result(command, pipeline, current, measured_seconds=None, waited=False),
    )


def _prepare(
    inputs: DeployAllInputs, client: PipelinesClient, reporter: Reporter, clock: Clock, command: str
) -> tuple[PipelineWithStages, DeployRequest, DeploymentPlan, list[DeploymentOperation]]:
    """Resolve names, read the stages and the history and plan: everything the service would refuse,
    refused first, with the plan that shows why."""
    with reporter.phase("Resolving the pipeline, stages and items"):
        pipeline = resolve_pipeline(client, inputs.pipeline)
        source, target = resolve_stages(pipeline, inputs)
        check_stages(source, target, inputs)
        source_items, target_items, between, history = _read_stages(client, pipeline, source, target, inputs, clock)
        items = None
        if isinstance(inputs, SelectiveDeployInputs):
            items = tuple(resolve_items(source, source_items, inputs.items))
        request = DeployRequest(
            source=source,
            target=target,
            items=items,
            note=inputs.note,
            marker=run_marker(),
            new_workspace=inputs.new_workspace,
            update_app=bool(inputs.update_app),
            options=inputs.options,
        )
    chosen = {i.item_id for i in items} if items is not None else None
    plan = build_plan(StageContent(source, source_items), StageContent(target, target_items), chosen, between)
    refused = stage_refusals(source, target, target_items, inputs) + refusals(plan, selective=chosen is not None)
    plan, warnings = forbidden_by_options(plan, inputs)
    if inputs.plan_compare == "definitions" and not refused:
        # Half of the step's timeout at most: the deployment gets what is left (deploy, below).
        deadline = clock.now() + inputs.timeout.total_seconds() / 2
        plan = compare_definitions(client, plan, source, target, reporter, clock, deadline)
    plan = plan.model_copy(update={"refusals": tuple(e.message for e in refused)})
    for line in describe(plan, source, target):
        reporter.info(line)
    for warning in warnings:
        reporter.warning(warning)
    if refused:
        raise DeploymentRefused(refused, _plan_result(command, pipeline, request, plan))
    what = f"{len(items)} item(s)" if items is not None else "all items"
    direction = " (backward)" if request.backward else ""
    verb = "Planned: deploying" if inputs.plan else "Deploying"
    reporter.info(
        f"{verb} {what} of {pipeline.display_name!r} from {source.display_name} to {target.display_name}{direction}"
    )
    if isinstance(history, FabricCiError):
        raise history
    return pipeline, request, plan, history


def _read_stages(
    client: PipelinesClient,
    pipeline: PipelineWithStages,
    source: Stage,
    target: Stage,
    inputs: DeployAllInputs,
    clock: Clock,
) -> tuple[list[StageItem], list[StageItem], list[StageContent], list[DeploymentOperation] | FabricCiError]:
    """Both stages' items, the items of the stages between them, and (unless only planning) the
    pipeline's history or why it could not be read, side by side (operations/reads.py): a round trip
    each on the service.

    The history is read before the deploy request: a deployment already there is not ours if the
    request's answer is lost (find_lost_deployment)."""
    between = _stages_between(pipeline, source, target)
    reads: list[Callable[[], Any]] = [
        functools.partial(client.list_stage_items, pipeline.id, source.id),
        *(functools.partial(_items_of, client, pipeline, stage) for stage in (target, *between)),
    ]
    if not inputs.plan:
        reads.append(functools.partial(_history_or_error, client, pipeline.id))
    source_items, target_items, *rest = read_at_once(
        lambda read: read(), reads, READS_AT_ONCE, first_alone=False, checkpoint=clock.checkpoint
    )
    contents = [StageContent(stage, items) for stage, items in zip(between, rest, strict=False)]
    history = rest[len(between)] if not inputs.plan else []
    return source_items, target_items, contents, history


def _history_or_error(client: PipelinesClient, pipeline_id: str) -> list[DeploymentOperation] | FabricCiError:
    """The history, or why it could not be read: raised once the plan is checked (_prepare), so that a
    deployment the service would refuse says so, as it did when the history was read after it."""
    try:
        return client.list_deployments(pipeline_id)
    except FabricCiError as error:
        return error


def _items_of(client: PipelinesClient, pipeline: PipelineWithStages, stage: Stage) -> list[StageItem]:
    """A stage's items; none (and no request) in a stage with no workspace."""
    return client.list_stage_items(pipeline.id, stage.id) if stage.workspace_id else []


def resolve_stages(pipeline: PipelineWithStages, inputs: DeployAllInputs) -> tuple[Stage, Stage]:
    """The source and target stages the inputs name, from the pipeline alone (no request): deploy-many
    checks every entry's before its first deployment."""
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
    return source, target


def _stages_between(pipeline: PipelineWithStages, source: Stage, target: Stage) -> list[Stage]:
    """The stages between source and target, nearest the source first: a deployment to a stage that
    is not the next pairs items through them (operations/plan.py pair_of)."""
    low, high = sorted((source.order, target.order))
    stages = sorted((s for s in pipeline.stages if low < s.order < high), key=lambda s: s.order)
    if target.order < source.order:
        stages.reverse()
    return stages


def _send(
    client: PipelinesClient,
    pipeline: PipelineWithStages,
    request: DeployRequest,
    known_ids: set[str],
    reporter: Reporter,
    clock: Clock,
    deadline: float,
) -> DeployAccepted:
    """The deploy request, sent once. If its answer is lost, the deployment is looked for instead."""
    try:
        return client.deploy(pipeline.id, request)
    except AmbiguousResponse as lost:
        reporter.warning(f"{lost.message}; looking in the pipeline's history instead of sending it again")
        return find_lost_deployment(client, pipeline.id, request, known_ids, clock, lost, deadline)


def check_stages(source: Stage, target: Stage, inputs: DeployAllInputs) -> None:
    """Refuse, before reading any items, what no plan can be made of: a source stage without a
    workspace, a workspace to create where one exists."""
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


def stage_refusals(
    source: Stage, target: Stage, target_items: Sequence[StageItem], inputs: DeployAllInputs
) -> list[InputError]:
    """What the service would refuse of the target stage: no workspace to deploy into, a backward
    deployment into a stage holding items."""
    if not target.workspace_id and not inputs.new_workspace_name:
        return [
            InputError(
                "target-stage",
                f"stage {target.display_name!r} has no workspace; assign one first with assign-workspace, or set "
                "new-workspace-name to have the deployment create it.",
            )
        ]
    if target.order < source.order and target_items:
        return [
            InputError(
                "target-stage",
                f"{target.display_name!r} comes before {source.display_name!r}: a backward deployment "
                "is only allowed into an empty stage, and this one holds items.",
            )
        ]
    return []


# After a lost answer, when to look for the deployment (seconds after the failure): as long as
# the wait accepts that a new deployment is not visible yet (NEWLY_ACCEPTED_GRACE), densely first.
STATUS_LOOK_SECONDS = 10.0  # with wait: false, how long the one look at an accepted deployment may take
LOST_ANSWER_CHECKS = (0.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, NEWLY_ACCEPTED_GRACE)


def find_lost_deployment(
    client: PipelinesClient,
    pipeline_id: str,
    request: DeployRequest,
    known_ids: set[str],
    clock: Clock,
    lost: AmbiguousResponse,
    deadline: float | None = None,
) -> DeployAccepted:
    """Find the deployment our lost POST may have started; never send it again.

    Ours is the one whose note carries this run's marker (and was not in the history read just
    before the POST). A look that fails (the service still unwell) is one more look without an
    answer. None found by the last look, or by the step's `deadline`, means the outcome is
    unknown, not that nothing was deployed: the service may still show it later.
    """
    began = clock.now()
    trouble = ""
    for at in LOST_ANSWER_CHECKS:
        if deadline is not None and at > 0 and began + at > deadline:
            break  # the first look is always made, even when the deploy request used up the timeout
        clock.sleep(max(0.0, began + at - clock.now()))
        left = None if deadline is None else max(deadline - clock.now(), 0.0)
        try:
            candidates = _marked(client, pipeline_id, request, known_ids, left)
        except (FabricCiError, ValueError) as failed:  # ValueError: an answer that is no list of deployments
            trouble = f" (the last look at the history failed too: {getattr(failed, 'message', failed)})"
            continue
        if len(candidates) == 1:
            return DeployAccepted(deployment_id=candidates[0].id)
        if len(candidates) > 1:  # cannot happen unless the service acted on one request twice
            ids = ", ".join(op.id for op in candidates)
            raise DeploymentOutcomeUnknown(
                f"{lost.message}, and several deployments carry this run's marker {request.marker}: {ids}. "
                "fabric-ci will not guess which to follow: check the pipeline's deployment history."
            )
    waited = clock.now() - began
    raise DeploymentOutcomeUnknown(
        f"{lost.message}, and {waited:.0f}s later the pipeline's history shows no deployment with this run's marker "
        f"{request.marker}{trouble}. The deployment may still have started: before running this step again, look in "
        f"the pipeline's deployment history for a deployment whose note ends with {request.marker}. The request was "
        "not re-sent, so as not to deploy twice."
    )


def _marked(
    client: PipelinesClient, pipeline_id: str, request: DeployRequest, known_ids: set[str], time_left: float | None
) -> list[DeploymentOperation]:
    """The deployments, new since the POST, whose note carries this run's marker. A list view may
    truncate notes (Microsoft's example does), so a truncated one is read in full."""
    found = []
    for op in client.list_deployments(pipeline_id, time_left=time_left):
        if op.id in known_ids or op.note is None:
            continue
        note = op.note
        if note.is_truncated and request.marker not in (note.content or ""):
            try:
                note = client.get_deployment(pipeline_id, op.id, time_left=time_left).note or note
            except (FabricCiError, ValueError):
                continue  # another deployment we cannot read in full: it does not stop the look
        if request.marker in (note.content or ""):
            found.append(op)
    return found


def _look_once(
    client: PipelinesClient, pipeline_id: str, request: DeployRequest, known_ids: set[str]
) -> DeployAccepted | None:
    """After a cancel during the deploy request: one look, no retries, for this run's deployment."""
    try:
        found = _marked(client, pipeline_id, request, known_ids, time_left=0.0)
    except (FabricCiError, ValueError):
        return None
    return DeployAccepted(deployment_id=found[0].id) if len(found) == 1 else None


def _current(
    client: PipelinesClient, pipeline_id: str, deployment_id: str, request: DeployRequest, reporter: Reporter
) -> DeploymentOperation:
    """With wait: false, one look at the deployment so the outputs say where it stands. It was
    accepted: a look that fails is a warning, never a failed step."""
    try:
        # Brief: the deployment is accepted, and this look only fills the outputs.
        return client.get_deployment(pipeline_id, deployment_id, time_left=STATUS_LOOK_SECONDS)
    except NotFoundError:  # not visible yet right after the 202
        return _not_started(deployment_id, request)
    except (FabricCiError, ValueError) as failed:
        reason = getattr(failed, "message", str(failed))
        reporter.warning(f"Deployment {deployment_id} was accepted, but its status could not be read: {reason}")
        return _not_started(deployment_id, request)


def _not_started(deployment_id: str, request: DeployRequest) -> DeploymentOperation:
    return DeploymentOperation(
        id=deployment_id, status="NotStarted", source_stage_id=request.source.id, target_stage_id=request.target.id
    )
