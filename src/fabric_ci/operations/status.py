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
        raise InputError(
            "operation-id",
            f"pipeline {pipeline.display_name!r} has no deployment {inputs.operation_id} among its "
            f"{MAX_HISTORY} most recent (the service keeps no more); `fabric-ci history` lists them.",
        ) from None
    # A read, not a wait: the state is reported whatever it is, and a failed deployment is no
    # failed step (wait-for-deployment is the command that fails with it).
    result = to_result("status", pipeline, operation, measured_seconds=None, waited=False)
    return DeploymentStatusResult(**dict(result))
