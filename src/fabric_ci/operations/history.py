"""history: a pipeline's recent deployments, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fabric_ci.api.client import PipelinesClient
from fabric_ci.models.inputs import HistoryInputs
from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import DeploymentRecord, HistoryResult, normalise_status
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline
from fabric_ci.operations.waiting import stage_ref

_NEVER = datetime.min.replace(tzinfo=UTC)


def history(inputs: HistoryInputs, client: PipelinesClient, reporter: Reporter) -> HistoryResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    operations = [o for o in client.list_deployments(pipeline.id) if o.type == "Deploy"]
    # Both APIs list newest first today; neither promises it, so the order is made here.
    operations.sort(key=_started, reverse=True)
    records = []
    for operation in operations[: inputs.limit]:
        source = stage_ref(pipeline, operation.source_stage_id)
        target = stage_ref(pipeline, operation.target_stage_id)
        start, end = operation.execution_start_time, operation.execution_end_time
        records.append(
            DeploymentRecord(
                id=operation.id,
                status=normalise_status(operation.status),
                source_stage=source.name if source else operation.source_stage_id,
                target_stage=target.name if target else operation.target_stage_id,
                started=start,
                # An end before the start (seen in the spec's examples) says nothing about how long it took.
                duration_seconds=(end - start).total_seconds() if start and end and end >= start else None,
                performed_by=performed_by(operation.performed_by),
                note=operation.note.content if operation.note else None,
            )
        )
    return HistoryResult(
        command="history", pipeline_id=pipeline.id, pipeline_name=pipeline.display_name, deployments=tuple(records)
    )


def _started(operation: DeploymentOperation) -> datetime:
    return operation.execution_start_time or operation.last_updated_time or _NEVER


def performed_by(principal: dict[str, Any] | None) -> str | None:
    """Who started it, from the Fabric API's Principal (the Power BI client converts to it): the
    display name, else a user's UPN, else the object id."""
    if not principal:
        return None
    user = principal.get("userDetails") or {}
    for value in (principal.get("displayName"), user.get("userPrincipalName"), principal.get("id")):
        if isinstance(value, str) and value:
            return value
    return None
