"""add-user: give a principal a role on a deployment pipeline, a workspace, or both.

Idempotent: a principal that already holds the role is a success with a notice. On a workspace a
principal holding a lower role is moved up to the one asked for; one holding a higher role keeps it
(a notice, exit 0) unless `allow-downgrade: true`. The signed-in principal's own Admin role is
lowered only with `force: true` as well: without Admin it could change no role there again, and
only another Admin could undo that. Every role is read and every refusal raised before anything is
written, so a refused run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import InputError
from fabric_ci.models.inputs import WORKSPACE_ROLES, AddUserInputs
from fabric_ci.models.resources import PrincipalRef
from fabric_ci.models.results import AddUserResult, Grant
from fabric_ci.operations.principals import find_member, signed_in_as, workspace_members
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline

SELF_LOCK_OUT = (
    "allow-downgrade would lower the Admin role of {who} on workspace {workspace} to {role}, and {who} is {why}. "
    "Without Admin it could change no role on that workspace again, a lock-out that only another Admin of it "
    "can undo. Nothing was changed. Set force: true to lower it anyway"
)
FORCED = (
    "Lowering the Admin role of {who} on workspace {workspace} to {role}, as force: true allows; {who} is {why}, "
    "and from now on cannot change roles there: only another Admin of the workspace can undo this."
)


@dataclass(frozen=True)
class _Planned:
    """What add-user will leave on one pipeline or workspace, and the one request that gets it there."""

    grant: Grant
    write: Callable[[], None] | None = None  # None: nothing to send
    warning: str | None = None


def add_user(
    inputs: AddUserInputs, client: PipelinesClient, reporter: Reporter, signed_in: str | None = None
) -> AddUserResult:
    """`signed_in`: the object id of the principal fabric-ci is signed in as (the client's
    `signed_in_principal()`); None when it is not known."""
    who = inputs.who
    plans: list[_Planned] = []
    if inputs.pipeline is not None:
        plans.append(_plan_pipeline(inputs, client))
    if inputs.workspace is not None and inputs.workspace_role is not None:
        plans.append(_plan_workspace(inputs, client, inputs.workspace, inputs.workspace_role, signed_in))
    result = AddUserResult(principal=who.id, principal_type=who.type)
    for plan in plans:
        if plan.warning:
            reporter.warning(plan.warning)
        if plan.write is not None:
            plan.write()
        _report(reporter, who, plan.grant)
        result = result.model_copy(update={plan.grant.kind: plan.grant})
    return result


def _plan_pipeline(inputs: AddUserInputs, client: PipelinesClient) -> _Planned:
    assert inputs.pipeline is not None
    who = inputs.who
    pipeline = resolve_pipeline(client, inputs.pipeline)
    member = find_member(who, client.list_pipeline_members(pipeline.id))
    previous = member.role if member else None
    grant = Grant(kind="pipeline", id=pipeline.id, name=pipeline.display_name, role=inputs.role, previous_role=previous)
    # A pipeline has one role, Admin, and that is the one granted: nothing on a pipeline is ever lowered.
    write = partial(client.add_pipeline_member, pipeline.id, who, inputs.role) if grant.changed else None
    return _Planned(grant, write)


def _plan_workspace(
    inputs: AddUserInputs, client: PipelinesClient, workspace: str, asked: str, signed_in: str | None
) -> _Planned:
    who = inputs.who
    member = find_member(who, workspace_members(client, workspace))
    if member is None:
        return _Planned(
            Grant(kind="workspace", id=workspace, name="", role=asked),
            partial(client.add_workspace_member, workspace, who, asked),
        )
    held = member.role
    moved = Grant(kind="workspace", id=workspace, name="", role=asked, previous_role=held)
    if held == asked:
        return _Planned(moved)
    change = partial(client.change_workspace_role, workspace, member, asked)
    if not _is_lower(asked, held):
        return _Planned(moved, change)
    if not inputs.allow_downgrade:
        return _Planned(Grant(kind="workspace", id=workspace, name="", role=held, previous_role=held, asked_role=asked))
    why = signed_in_as(inputs, who, signed_in) if held == "Admin" else None
    if why is None:
        return _Planned(moved, change)
    details = {"who": f"{who.type} {who.id}", "workspace": workspace, "role": asked, "why": why}
    if not inputs.force:
        raise InputError("force", SELF_LOCK_OUT.format(**details))
    return _Planned(moved, change, FORCED.format(**details))


def _is_lower(asked: str, held: str) -> bool:
    """Whether `asked` ranks below `held` (Admin > Member > Contributor > Viewer). A held role that
    fabric-ci does not know counts as higher, so it too is only replaced with allow-downgrade."""
    if held not in WORKSPACE_ROLES:
        return True
    return WORKSPACE_ROLES.index(asked) > WORKSPACE_ROLES.index(held)


def _report(reporter: Reporter, who: PrincipalRef, grant: Grant) -> None:
    message = f"{who.type} {who.id} {grant.describe()}"
    if grant.changed:
        reporter.info(message)
    else:
        reporter.notice(message + ".")
