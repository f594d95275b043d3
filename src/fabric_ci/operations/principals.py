"""What add-user and remove-user share: finding a principal among a pipeline's or workspace's
members, and telling whether it is the principal fabric-ci is signed in as (whose own Admin role
neither command takes away unasked: without it the step would be locked out)."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import ForbiddenError
from fabric_ci.models.inputs import Inputs
from fabric_ci.models.resources import Member, PrincipalRef

LISTING_REFUSED = (
    "Reading the role assignments of workspace {workspace} needs the Member role or higher there, and the "
    "signed-in principal does not have it (any more: an earlier add-user or remove-user with force: true "
    "may have demoted it). It is locked out of that workspace's roles: only an Admin of the workspace can "
    "give its role back."
)

SIGNED_IN = "the principal fabric-ci is signed in as"
MAYBE_SIGNED_IN = (
    "possibly the principal fabric-ci is signed in as (fabric-ci cannot tell: its access token names no "
    "principal in an oid claim)"
)


def signed_in_as(inputs: Inputs, who: PrincipalRef, signed_in: str | None) -> str | None:
    """Why `who` is, or may be, the signed-in principal; None when it certainly is not.
    `signed_in`: the object id from the access token (the client's `signed_in_principal()`)."""
    signs_in_as_user = inputs.method == "user-password"
    # The Power BI API names users by UPN, which is what a user signs in with.
    if signs_in_as_user and inputs.username and who.id.lower() == inputs.username.lower():
        return SIGNED_IN
    if signed_in is not None:
        return SIGNED_IN if who.id.lower() == signed_in.lower() else None
    # Unknown: a user signs in with a password; every other method signs in a service principal.
    return MAYBE_SIGNED_IN if who.type == ("User" if signs_in_as_user else "ServicePrincipal") else None


def find_member(who: PrincipalRef, members: list[Member]) -> Member | None:
    return next((m for m in members if m.is_principal(who.id)), None)


def workspace_members(client: PipelinesClient, workspace: str) -> list[Member]:
    """The workspace's members; a 403 says what it means here, a lock-out, rather than the generic hint."""
    try:
        return client.list_workspace_members(workspace)
    except ForbiddenError as refused:
        raise ForbiddenError(refused.details, LISTING_REFUSED.format(workspace=workspace)) from refused
