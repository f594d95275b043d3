"""add-user: give a principal a role on a deployment pipeline, a workspace, or both.

Idempotent: a principal that already holds the role is a success with a notice; on a workspace,
a principal holding another role is moved to the one asked for.
"""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.models.inputs import AddUserInputs
from fabric_ci.models.resources import Member, PrincipalRef
from fabric_ci.models.results import AddUserResult, Grant
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline


def add_user(inputs: AddUserInputs, client: PipelinesClient, reporter: Reporter) -> AddUserResult:
    who = inputs.who
    result = AddUserResult(principal=who.id, principal_type=who.type)
    if inputs.pipeline is not None:
        pipeline = resolve_pipeline(client, inputs.pipeline)
        member = _member(who, client.list_pipeline_members(pipeline.id))
        previous = member.role if member else None
        grant = Grant(
            kind="pipeline", id=pipeline.id, name=pipeline.display_name, role=inputs.role, previous_role=previous
        )
        if grant.changed:
            client.add_pipeline_member(pipeline.id, who, inputs.role)
        _report(reporter, who, grant)
        result = result.model_copy(update={"pipeline": grant})
    if inputs.workspace is not None and inputs.workspace_role is not None:
        member = _member(who, client.list_workspace_members(inputs.workspace))
        role = inputs.workspace_role
        previous = member.role if member else None
        grant = Grant(kind="workspace", id=inputs.workspace, name="", role=role, previous_role=previous)
        if member is None:
            client.add_workspace_member(inputs.workspace, who, role)
        elif grant.changed:
            client.change_workspace_role(inputs.workspace, member, role)
        _report(reporter, who, grant)
        result = result.model_copy(update={"workspace": grant})
    return result


def _member(who: PrincipalRef, members: list[Member]) -> Member | None:
    return next((m for m in members if m.is_principal(who.id)), None)


def _report(reporter: Reporter, who: PrincipalRef, grant: Grant) -> None:
    message = f"{who.type} {who.id} {grant.describe()}"
    if grant.changed:
        reporter.info(message)
    else:
        reporter.notice(message + ".")
