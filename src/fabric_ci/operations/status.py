"""status: one deployment's state and per-item results, read once, without waiting."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import InputError, NotFoundError
from fabric_ci.models.inputs import MAX_HISTORY, StatusInputs
from fabric_ci.models.results import DeploymentStatusResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline
from fabric_ci.operations.waiting import to_result


def status(inputs: StatusInputs, client: PipelinesClient, reporter: Reporter) -> DeploymentStatusResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    try:
        operation = client.get_deployment(pipeline.id, inputs.operation_id)
    except NotFoundError:
        # Not "it does not exist": a deployment accepted seconds ago may not be listed yet, the grace
        # wait-for-deployment gives it (waiting.NEWLY_ACCEPTED_GRACE). status reads once and says so.
        raise InputError(
            "operation-id",
            f"pipeline {pipeline.display_name!r} lists no deployment {inputs.operation_id}. One accepted in the "
            "last 30 seconds may not be listed yet: read again, or wait for it with wait-for-deployment. Else it "
            f"is not among the pipeline's {MAX_HISTORY} most recent (the service keeps no more), which the "
            "history command lists.",
        ) from None
    # A read, not a wait: the state is reported whatever it is, and a failed deployment is no
    # failed step (wait-for-deployment is the command that fails with it).
    result = to_result("status", pipeline, operation, measured_seconds=None, waited=False)
    return DeploymentStatusResult(**dict(result))
