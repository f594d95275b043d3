"""add-user: give a principal a role on a deployment pipeline. Idempotent: a principal that
already holds the role is a success with a notice."""

from __future__ import annotations

from fabric_ci.api.fabric import FabricClient
from fabric_ci.models.inputs import AddUserInputs
from fabric_ci.models.results import AddUserResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline


def add_user(inputs: AddUserInputs, client: FabricClient, reporter: Reporter) -> AddUserResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    existing = client.list_role_assignments(pipeline.id)
    already = any(
        (a.get("principal") or {}).get("id", "").lower() == inputs.principal and a.get("role") == inputs.role
        for a in existing
    )
    if already:
        reporter.notice(
            f"{inputs.principal_type} {inputs.principal} is already {inputs.role} of {pipeline.display_name!r}."
        )
    else:
        client.add_role_assignment(pipeline.id, inputs.principal, inputs.principal_type, inputs.role)
        reporter.info(f"Added {inputs.principal_type} {inputs.principal} as {inputs.role} of {pipeline.display_name!r}")
    return AddUserResult(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        principal=inputs.principal,
        principal_type=inputs.principal_type,
        role=inputs.role,
        already_had_role=already,
    )
