"""wait-for-deployment: follow a deployment that an earlier step (or a person) started."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import ApiConnectionError, NotFoundError, ServerError, ThrottledError
from fabric_ci.models.inputs import WaitInputs
from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import TERMINAL_STATUSES, DeploymentResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline
from fabric_ci.operations.waiting import Clock, check_outcome, follow_deployment, to_result


def wait_for_deployment(
    inputs: WaitInputs, client: PipelinesClient, reporter: Reporter, clock: Clock
) -> DeploymentResult:
    started = clock.now()  # the timeout counts from here
    pipeline = resolve_pipeline(client, inputs.pipeline)
    try:
        current = client.get_deployment(pipeline.id, inputs.operation_id, time_left=inputs.timeout.total_seconds())
    except NotFoundError:
        # Right after a `wait: false` deploy the history may not show it yet: the wait gives it
        # the same grace as the deploy path, then says it was not found.
        reporter.info(f"Deployment {inputs.operation_id} is not in the pipeline's history yet; waiting for it")
        current = DeploymentOperation(id=inputs.operation_id, status="NotStarted")
    except (ServerError, ThrottledError, ApiConnectionError) as outage:  # the wait keeps trying
        reporter.warning(f"No status of deployment {inputs.operation_id} yet ({outage.message}); waiting for it")
        current = DeploymentOperation(id=inputs.operation_id, status="NotStarted")
    result = to_result("wait-for-deployment", pipeline, current, measured_seconds=None)
    if result.status in TERMINAL_STATUSES:
        reporter.info(f"Deployment {inputs.operation_id} has already ended: {result.status}")
        return check_outcome(result)
    with reporter.phase(f"Waiting for deployment {inputs.operation_id}"):
        return follow_deployment(
            "wait-for-deployment",
            client,
            pipeline,
            inputs.operation_id,
            timeout=inputs.timeout,
            reporter=reporter,
            clock=clock,
            started=started,
            current=current,
            accepted_here=False,
        )
