"""remove-user: take a principal's role off a deployment pipeline, a workspace, or both.

The inverse of add-user. Idempotent: a principal with no role there is a success with a notice and
no request. The signed-in principal's own Admin role is removed only with `force: true`: without it
the step could change no role there again (and on a pipeline could not even see it), and only
another Admin could undo that. Every role is read and every refusal raised before anything is
written, so a refused run changes nothing.

Each delete is sent once. When its answer is lost, the members are read again: the principal gone
means it acted; still there means it did not, and it is sent once more. A 404 (the principal
vanished between the read and the delete, another job's doing) is done only if a re-read shows it
gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ApiError, ForbiddenError, InputError, NotFoundError
from fabric_ci.models.inputs import RemoveUserInputs
from fabric_ci.models.resources import Member, PrincipalRef
from fabric_ci.models.results import Removal, RemoveUserResult
from fabric_ci.operations.principals import find_member, signed_in_as, workspace_members
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline

SELF_LOCK_OUT = (
    "remove-user would take the Admin role of {who} off {where}, and {who} is {why}. Without it it could change "
    "no role on that {kind} again{blind}, a lock-out that only another Admin of it can undo. Nothing was changed. "
    "Set force: true to remove it anyway"
)
# A principal sees only the pipelines it is an Admin of (operations/resolve.py).
PIPELINE_BLIND = " (nor even see the pipeline)"
FORCED = (
    "Removing the Admin role of {who} from {where}, as force: true allows; {who} is {why}, and from now on "
    "cannot change roles there: only another Admin of the {kind} can undo this."
)
LOST_AND_GONE = "The answer to the delete was lost, and {who} has no role on {where} now: the request acted."
LOST_AND_LOCKED_OUT = (
    "The answer to the delete was lost, and the service now refuses {who} the members of {where} ({status}): it "
    "is no longer a member, so the request acted."
)
VANISHED = "The delete was answered 404, and {who} has no role on {where} now: removed meanwhile, so done."


@dataclass(frozen=True)
class _Planned:
    """What remove-user will take off one pipeline or workspace, and how to send and check it."""

    removal: Removal
    send: Callable[[], None] | None = None  # None: nothing to send
    still_there: Callable[[], bool] | None = None  # re-reads the members: is the principal still one?
    warning: str | None = None
    own_admin: bool = False  # the signed-in principal's own Admin role: once gone, it may not read the members


def remove_user(
    inputs: RemoveUserInputs, client: PipelinesClient, reporter: Reporter, signed_in: str | None = None
) -> RemoveUserResult:
    """`signed_in`: the object id of the principal fabric-ci is signed in as (the client's
    `signed_in_principal()`); None when it is not known."""
    who = inputs.who
    plans: list[_Planned] = []
    if inputs.pipeline is not None:
        pipeline = resolve_pipeline(client, inputs.pipeline)
        members = partial(client.list_pipeline_members, pipeline.id)
        target = Removal(kind="pipeline", id=pipeline.id, name=pipeline.display_name)
        plans.append(_plan(inputs, target, members, client.remove_pipeline_member, signed_in))
    if inputs.workspace is not None:
        members = partial(workspace_members, client, inputs.workspace)
        target = Removal(kind="workspace", id=inputs.workspace, name="")
        plans.append(_plan(inputs, target, members, client.remove_workspace_member, signed_in))
    result = RemoveUserResult(principal=who.id, principal_type=who.type)
    for plan in plans:
        if plan.warning:
            reporter.warning(plan.warning)
        if plan.send is not None and plan.still_there is not None:
            _delete(plan.send, plan.still_there, reporter, _details(who, plan.removal), own_admin=plan.own_admin)
        _report(reporter, who, plan.removal)
        result = result.model_copy(update={plan.removal.kind: plan.removal})
    return result


def _plan(
    inputs: RemoveUserInputs,
    target: Removal,
    members: Callable[[], list[Member]],
    remove: Callable[[str, Member], None],
    signed_in: str | None,
) -> _Planned:
    who = inputs.who
    member = find_member(who, members())
    if member is None:
        return _Planned(target)
    removal = target.model_copy(update={"removed_role": member.role})

    def still_there() -> bool:
        return find_member(who, members()) is not None

    send = partial(remove, target.id, member)
    why = signed_in_as(inputs, who, signed_in) if member.role == "Admin" else None
    if why is None:
        return _Planned(removal, send, still_there)
    details = {**_details(who, target), "why": why}
    if not inputs.force:
        blind = PIPELINE_BLIND if target.kind == "pipeline" else ""
        raise InputError("force", SELF_LOCK_OUT.format(**details, blind=blind))
    return _Planned(removal, send, still_there, FORCED.format(**details), own_admin=True)


def _details(who: PrincipalRef, target: Removal) -> dict[str, str]:
    where = f"{target.kind} {target.name!r}" if target.name else f"{target.kind} {target.id}"
    return {"who": f"{who.type} {who.id}", "where": where, "kind": target.kind}


def _delete(
    send: Callable[[], None],
    still_there: Callable[[], bool],
    reporter: Reporter,
    details: dict[str, str],
    *,
    own_admin: bool = False,
) -> None:
    """Send the delete; a second time only when a re-read after a lost answer proves the first did not act."""
    try:
        _send_once(send, still_there, reporter, details)
    except AmbiguousResponse:
        try:
            there = still_there()
        except (ForbiddenError, NotFoundError) as refused:
            # The signed-in principal took its own Admin role off: a service that now refuses it the
            # members (403, or 404 for a pipeline it may no longer see) shows the delete acted. For anyone
            # else's role the refusal means something else, and stands.
            if not own_admin:
                raise
            reporter.notice(LOST_AND_LOCKED_OUT.format(**details, status=_status(refused)))
            return
        if not there:
            reporter.debug(LOST_AND_GONE.format(**details))
            return
        _send_once(send, still_there, reporter, details)


def _status(error: ApiError) -> str:
    return f"{error.details.status_code} {error.details.error_code}".strip()


def _send_once(
    send: Callable[[], None], still_there: Callable[[], bool], reporter: Reporter, details: dict[str, str]
) -> None:
    try:
        send()
    except NotFoundError:
        # A 404 may also be a pipeline or workspace gone, or hidden from the caller: only a re-read
        # that shows the principal gone makes it done.
        if still_there():
            raise
        reporter.debug(VANISHED.format(**details))


def _report(reporter: Reporter, who: PrincipalRef, removal: Removal) -> None:
    message = f"{who.type} {who.id} {removal.describe()}"
    if removal.changed:
        reporter.info(message)
    else:
        reporter.notice(message + ".")
