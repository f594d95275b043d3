"""Follow a deployment to its end and turn it into a DeploymentResult. Shared by the deploy
commands (with `wait: true`) and wait-for-deployment."""

from __future__ import annotations

from datetime import timedelta

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.polling import (
    DeadlineReached,
    NoAnswer,
    PollPlanner,
    SharedBudget,
    expected_duration,
    wait_until_terminal,
)
from fabric_ci.clock import Clock
from fabric_ci.errors import (
    ApiConnectionError,
    ApiError,
    Cancelled,
    DeploymentFailed,
    FabricCiError,
    NotFoundError,
    ServerError,
    StepCancelled,
    ThrottledError,
    WaitTimeout,
)
from fabric_ci.models.resources import DeploymentOperation, PipelineWithStages
from fabric_ci.models.results import TERMINAL_STATUSES, DeployedItem, DeploymentResult, StageRef, normalise_status
from fabric_ci.operations.reporter import Reporter

__all__ = ["NEWLY_ACCEPTED_GRACE", "Clock", "check_outcome", "follow_deployment", "to_result"]

# Right after a 202 the operations view may not know the deployment yet; how long we accept
# a 404 for it as "not started yet". How long the service takes is not documented.
NEWLY_ACCEPTED_GRACE = 30.0


class DeploymentNotFound(FabricCiError):
    """The pipeline's history still did not know the deployment after the grace."""

    title = "Deployment not found"
    result: DeploymentResult | None = None


class WaitInterrupted(FabricCiError):
    """The service refused a status request (401, 403, ...): the wait ends, the deployment goes on."""

    def __init__(self, error: FabricCiError, follow: str, result: DeploymentResult) -> None:
        super().__init__(f"{error.message} {follow}")
        self.title = error.title
        self.exit_code = error.exit_code
        self.result = result


def stage_ref(pipeline: PipelineWithStages, stage_id: str | None) -> StageRef | None:
    for stage in pipeline.stages:
        if stage.id == stage_id:
            return StageRef(id=stage.id, name=stage.display_name, order=stage.order)
    return None


def to_result(
    command: str,
    pipeline: PipelineWithStages,
    operation: DeploymentOperation,
    *,
    measured_seconds: float | None,
    waited: bool = True,
) -> DeploymentResult:
    items = []
    for step in operation.steps:
        st = step.source_and_target
        items.append(
            DeployedItem(
                id=(st.source_item_id or "") if st else "",
                name=(st.source_item_display_name or step.description or "") if st else (step.description or ""),
                type=(st.item_type or "") if st else "",
                diff_state=step.pre_deployment_diff_state,
                status=step.status,
                error=(step.error.message or step.error.error_code) if step.error else None,
            )
        )
    status = normalise_status(operation.status)
    # A duration only means something once the deployment has ended.
    duration = measured_seconds if status in TERMINAL_STATUSES else None
    if operation.execution_start_time and operation.execution_end_time:
        duration = (operation.execution_end_time - operation.execution_start_time).total_seconds()
    return DeploymentResult(
        command=command,
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        operation_id=operation.id,
        source_stage=stage_ref(pipeline, operation.source_stage_id),
        target_stage=stage_ref(pipeline, operation.target_stage_id),
        status=status,
        items=tuple(items),
        duration_seconds=duration,
        note=operation.note.content if operation.note else None,
        waited=waited,
    )


def follow_deployment(
    command: str,
    client: PipelinesClient,
    pipeline: PipelineWithStages,
    deployment_id: str,
    *,
    timeout: timedelta,
    reporter: Reporter,
    clock: Clock,
    started: float | None = None,
    stages: tuple[str, str] | None = None,
    history: list[DeploymentOperation] | None = None,
    current: DeploymentOperation | None = None,
    accepted_here: bool = True,
    budget: SharedBudget | None = None,
) -> DeploymentResult:
    """Wait for the deployment to end; raise DeploymentFailed, WaitTimeout, StepCancelled or
    WaitInterrupted, each with the result as it stood.

    `started`: when the `timeout` began (default: now; the grace for a deployment the history
    does not show yet always counts from now, the moment it was accepted or asked for). `stages`
    (source, target ids) chooses which past deployments estimate this one's duration; `history`
    is the pipeline's recent operations if the caller already has them; `current` an answer about
    this deployment the caller already has (it counts as the first status request).
    `accepted_here`: this step started the deployment (else an operation-id was given, and may be
    wrong). `budget`: status requests shared with waits running beside this one (deploy-many's).
    """
    begun = clock.now()  # the grace for a deployment not listed yet counts from here
    started = begun if started is None else started
    seconds = timeout.total_seconds()

    def time_left() -> float:
        return seconds - (clock.now() - started)

    if history is None:
        try:
            history = client.list_deployments(pipeline.id, time_left=time_left())
        except FabricCiError as unread:  # only the estimate needs it
            reporter.debug(f"No history to estimate the duration from: {unread.message}")
            history = []
    if stages is None:
        known = [op for op in (current, *history) if op and op.id == deployment_id and op.source_stage_id]
        stages = (known[0].source_stage_id or "", known[0].target_stage_id or "") if known else None
    past = [op for op in history if op.id != deployment_id]
    estimate = expected_duration(past, *stages) if stages else None
    planner = PollPlanner(budget=budget)
    if estimate is not None:
        planner.expected_duration, planner.history_uncertainty = estimate
        reporter.debug(f"Recent deployments between these stages took {estimate[0]:.0f}s (median)")
    if current is not None:
        planner.spend()
        planner.unfinished(0.0)

    def fetch() -> DeploymentOperation:
        try:
            return client.get_deployment(pipeline.id, deployment_id, time_left=time_left())
        except NotFoundError:
            if clock.now() - begun < NEWLY_ACCEPTED_GRACE:
                return DeploymentOperation(id=deployment_id, status="NotStarted")
            raise DeploymentNotFound(_not_found(pipeline, deployment_id, accepted_here)) from None
        except ThrottledError as throttled:
            wait = throttled.details.retry_after
            if wait is not None and wait >= time_left():  # not before the deadline, the service says
                clock.sleep(max(time_left(), 0.0))
                raise DeadlineReached(None, throttled) from None
            raise NoAnswer(throttled, wait) from None
        except (ServerError, ApiConnectionError) as outage:
            # An outage that outlasted the retries: keep looking until the deadline.
            raise NoAnswer(outage) from None
        except ValueError as unreadable:  # an answer that is not a deployment (pydantic's errors are ValueErrors)
            raise NoAnswer(unreadable) from None

    def as_it_stood(last: DeploymentOperation | None) -> DeploymentResult:
        last = last or current or DeploymentOperation(id=deployment_id, status="NotStarted")
        return to_result(command, pipeline, last, measured_seconds=clock.now() - started)

    last_seen: list[DeploymentOperation] = []  # for a cancel or an error, which may come mid-request

    def fetch_and_keep() -> DeploymentOperation:
        operation = fetch()
        last_seen[:] = [operation]
        return operation

    follow = f"follow it with wait-for-deployment and operation-id {deployment_id}"
    try:
        operation = wait_until_terminal(
            fetch_and_keep,
            planner=planner,
            timeout=max(time_left(), 0.0),
            clock=clock.now,
            sleep=clock.sleep,
            on_progress=reporter.progress,
            last=current,
        )
    except DeadlineReached as reached:
        result = as_it_stood(reached.last)
        # Placeholders (not listed yet, no answer) carry no stages; the service's answers do.
        seen = any(op is not None and op.source_stage_id for op in (reached.last, current))
        where = f"was still {result.status}" if seen else "could not be seen (no status answer came)"
        why = f" The last status requests got no answer ({_briefly(reached.error)})." if reached.error else ""
        raise WaitTimeout(
            f"Deployment {deployment_id} {where} after {_human(timeout)}.{why} It was left running, not "
            f"cancelled: {follow}, or raise `timeout`.",
            result,
        ) from None
    except Cancelled as cancelled:
        result = as_it_stood(last_seen[0] if last_seen else None)
        raise StepCancelled(
            f"Cancelled by {cancelled.signal_name} while waiting. Deployment {deployment_id} was left running "
            f"(status {result.status}), not cancelled: {follow}.",
            cancelled,
            result,
        ) from None
    except DeploymentNotFound as missing:
        missing.result = as_it_stood(last_seen[0] if last_seen else None)
        raise
    except FabricCiError as error:  # refused (401, 403...): the wait ends, the deployment goes on
        raise WaitInterrupted(
            error,
            f"Deployment {deployment_id} was left running: {follow}.",
            as_it_stood(last_seen[0] if last_seen else None),
        ) from error

    return check_outcome(to_result(command, pipeline, operation, measured_seconds=clock.now() - started))


def _briefly(error: Exception) -> str:
    """What went wrong in a few words: the status and code, not the hint meant for a failed step."""
    if isinstance(error, ApiError):
        return f"{error.details.status_code} {error.details.error_code or 'Error'}".strip()
    return str(error).split(". ")[0].rstrip(".")


def _not_found(pipeline: PipelineWithStages, deployment_id: str, accepted_here: bool) -> str:
    where = f"the history of pipeline {pipeline.display_name!r} ({pipeline.id})"
    if accepted_here:
        return (
            f"The service accepted deployment {deployment_id}, but {NEWLY_ACCEPTED_GRACE:.0f}s later it is still "
            f"not in {where}. It may yet appear: follow it later with wait-for-deployment and this operation-id."
        )
    return (
        f"Deployment {deployment_id} is not in {where}, {NEWLY_ACCEPTED_GRACE:.0f}s after the wait began. Check that "
        "the operation-id belongs to this pipeline; the service keeps only its recent deployments."
    )


def check_outcome(result: DeploymentResult) -> DeploymentResult:
    """A Failed deployment becomes DeploymentFailed, naming the items that failed."""
    if result.status != "Failed":
        return result
    failed = result.failed_items
    names = ", ".join(f"{i.type} {i.name!r}" for i in failed)
    raise DeploymentFailed(
        f"Deployment {result.operation_id} failed"
        + (f": {len(failed)} of {len(result.items)} items failed ({names}); see each item's error." if failed else "."),
        result,
    )


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
