"""add-user never lowers a workspace role unasked, nor the signed-in principal's own Admin role unforced.

Run as real subprocesses in GitHub mode against the emulator, which checks the caller's role as the
service does: after the service principal lowers its own Admin role, its next role change is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    ANALYST_PRINCIPAL_ID,
    BI_DEVELOPERS_GROUP_ID,
    DEMO_PIPELINE_ID,
    SERVICE_PRINCIPAL_ID,
    SPARE_WORKSPACE_IDS,
)

from .conftest import RunStep, StepRun

WORKSPACE = SPARE_WORKSPACE_IDS[2]
GROUP = {"principal": BI_DEVELOPERS_GROUP_ID, "principal-type": "Group", "workspace": WORKSPACE}
MYSELF = {"principal": SERVICE_PRINCIPAL_ID, "principal-type": "ServicePrincipal", "workspace": WORKSPACE}
ANALYST = {"principal": ANALYST_PRINCIPAL_ID, "principal-type": "User", "workspace": WORKSPACE}
DOWNGRADE = {"allow-downgrade": "true"}
FORCE = {"allow-downgrade": "true", "force": "true"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def ok(run: StepRun) -> StepRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.errors == []
    return run


def role_of(emulator: Emulator, principal_id: str, workspace_id: str = WORKSPACE) -> str:
    return emulator.state.workspace_role(workspace_id, principal_id).role


def api_writes(emulator: Emulator) -> list[Any]:
    """Requests that could change something: every non-GET but the sign-in's token request."""
    return [r for r in emulator.requests if r.method in WRITES and not r.operation.startswith("Entra_")]


def make_group_admin(run_step: RunStep, emulator: Emulator, extra: dict[str, str] | None = None) -> None:
    ok(run_step("add-user", {**GROUP, **(extra or {}), "workspace-role": "Admin"}))
    assert role_of(emulator, BI_DEVELOPERS_GROUP_ID) == "Admin"


def test_an_admin_asked_for_viewer_stays_admin(run_step: RunStep, emulator: Emulator) -> None:
    """Without allow-downgrade an Admin asked for Viewer keeps Admin: exit 0, changed=false, a notice."""
    make_group_admin(run_step, emulator)
    writes_before = len(api_writes(emulator))
    run = ok(run_step("add-user", {**GROUP, "workspace-role": "Viewer"}))
    assert run.outputs["changed"] == "false"
    assert run.outputs["workspace-role"] == "Admin"
    assert (
        f"::Group {BI_DEVELOPERS_GROUP_ID} keeps Admin on workspace {WORKSPACE}; asked for Viewer, which is "
        "lower: set allow-downgrade: true to lower it."
    ) in run.commands("notice")
    assert len(api_writes(emulator)) == writes_before
    assert role_of(emulator, BI_DEVELOPERS_GROUP_ID) == "Admin"


def test_allow_downgrade_makes_the_other_principal_viewer(run_step: RunStep, emulator: Emulator) -> None:
    """With allow-downgrade: true another principal's Admin becomes Viewer through one PATCH."""
    make_group_admin(run_step, emulator)
    run = ok(run_step("add-user", {**GROUP, **DOWNGRADE, "workspace-role": "Viewer"}))
    assert (run.outputs["changed"], run.outputs["workspace-role"]) == ("true", "Viewer")
    patches = [r for r in emulator.requests if r.operation == "Workspaces_UpdateWorkspaceRoleAssignment"]
    assert [(p.request_body, p.status) for p in patches] == [({"role": "Viewer"}, 200)]
    assert role_of(emulator, BI_DEVELOPERS_GROUP_ID) == "Viewer"


def test_the_service_principals_own_admin_role_is_refused_without_force(run_step: RunStep, emulator: Emulator) -> None:
    """Lowering the signed-in principal's own Admin is exit 2 naming force, with no write request at all."""
    run = run_step("add-user", {**MYSELF, **DOWNGRADE, "workspace-role": "Viewer"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.errors) == 1, run.errors
    assert run.errors[0].startswith("title=Invalid input 'force'::Input 'force': ")
    assert "lock" in run.errors[0]
    assert api_writes(emulator) == []
    assert role_of(emulator, SERVICE_PRINCIPAL_ID) == "Admin"


def test_without_allow_downgrade_the_service_principal_keeps_its_own_admin_role(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Asked to make itself Viewer, the service principal keeps Admin with a notice and exit 0."""
    run = ok(run_step("add-user", {**MYSELF, "workspace-role": "Viewer"}))
    assert run.outputs["changed"] == "false"
    assert "keeps Admin" in run.commands("notice")[0]
    assert api_writes(emulator) == []


def test_force_demotes_itself_and_the_lock_out_shows(run_step: RunStep, emulator: Emulator) -> None:
    """With force the service principal becomes Viewer, and the emulator refuses its next role change with 403."""
    make_group_admin(run_step, emulator)  # another Admin, who could undo this
    demoted = ok(run_step("add-user", {**MYSELF, **FORCE, "workspace-role": "Viewer"}))
    assert (demoted.outputs["changed"], demoted.outputs["workspace-role"]) == ("true", "Viewer")
    assert any("signed in as" in w or "cannot tell" in w for w in demoted.commands("warning"))
    assert role_of(emulator, SERVICE_PRINCIPAL_ID) == "Viewer"

    # As a Viewer it may not even list the workspace's roles (the spec: Member or higher), so the 403 lands on
    # that listing, before any add is sent, and the error says it is locked out.
    locked_out = run_step("add-user", {**ANALYST, "workspace-role": "Viewer"})
    assert locked_out.returncode == 1, locked_out.stdout
    (error,) = locked_out.errors
    assert "403 InsufficientPrivileges" in error
    assert f"Reading the role assignments of workspace {WORKSPACE} needs the Member role or higher" in error
    assert "It is locked out of that workspace's roles: only an Admin of the workspace can give its role back" in error
    listing = [r for r in emulator.requests if r.operation == "Workspaces_ListWorkspaceRoleAssignments"]
    assert listing[-1].status == 403
    adds = [r for r in emulator.requests if r.operation == "Workspaces_AddWorkspaceRoleAssignment"]
    assert [a.status for a in adds] == [201]  # make_group_admin's; none after the demotion
    with pytest.raises(Exception, match="has no role"):
        emulator.state.workspace_role(WORKSPACE, ANALYST_PRINCIPAL_ID)

    # Nor can it give itself Admin back: only the other Admin could.
    restore = run_step("add-user", {**MYSELF, "workspace-role": "Admin"})
    assert restore.returncode == 1
    assert "403 InsufficientPrivileges" in restore.errors[0]
    assert role_of(emulator, SERVICE_PRINCIPAL_ID) == "Viewer"


def test_a_member_may_add_lower_roles_but_not_admins(run_step: RunStep, emulator: Emulator) -> None:
    """As the Fabric spec says, a Member may add Members or lower roles; adding an Admin is refused 403."""
    make_group_admin(run_step, emulator)
    ok(run_step("add-user", {**MYSELF, **FORCE, "workspace-role": "Member"}))
    added = ok(run_step("add-user", {**ANALYST, "workspace-role": "Contributor"}))
    assert added.outputs["changed"] == "true"
    assert role_of(emulator, ANALYST_PRINCIPAL_ID) == "Contributor"
    other = {**ANALYST, "principal": "5b0d7c1e-2f7a-4d7e-9a55-3c1f1f0a9b21", "principal-type": "Group"}
    refused = run_step("add-user", {**other, "workspace-role": "Admin"})
    assert refused.returncode == 1
    assert "403 InsufficientPrivileges" in refused.errors[0]


def test_the_lock_out_shows_through_the_power_bi_api(run_step: RunStep, emulator: Emulator) -> None:
    """Through /groups/{id}/users too: once the app made itself Viewer, its next PUT is refused 403."""
    powerbi = {"api": "powerbi", "api-base-url": emulator.powerbi_base_url}
    make_group_admin(run_step, emulator, powerbi)
    app = {**MYSELF, **powerbi, "principal-type": "App"}
    refused = run_step("add-user", {**app, **DOWNGRADE, "workspace-role": "Viewer"})
    assert refused.returncode == 2
    assert "Input 'force'" in refused.errors[0]
    ok(run_step("add-user", {**app, **FORCE, "workspace-role": "Viewer"}))
    again = run_step("add-user", {**GROUP, **powerbi, **DOWNGRADE, "workspace-role": "Contributor"})
    assert again.returncode == 1
    assert "403" in again.errors[0]
    assert [r.status for r in emulator.requests if r.operation == "Groups_UpdateGroupUser"] == [200, 403]
    assert role_of(emulator, BI_DEVELOPERS_GROUP_ID) == "Admin"


def test_a_principal_that_is_not_pipeline_admin_cannot_add_pipeline_admins(
    run_step: RunStep, emulator: Emulator
) -> None:
    """Pipeline role assignments need pipeline Admin: without it, the emulator answers 403."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    run = run_step(
        "add-user", {"pipeline": DEMO_PIPELINE_ID, "principal": ANALYST_PRINCIPAL_ID, "principal-type": "User"}
    )
    assert run.returncode == 1
    assert "403 InsufficientPrivileges" in run.errors[0]
    # The spec's Get Deployment Pipeline needs the pipeline's Admin role too: the read is refused, so no
    # role assignment is ever sent.
    (read,) = [r for r in emulator.requests if r.operation == "DeploymentPipelines_GetDeploymentPipeline"]
    assert read.status == 403
    posts = [r for r in emulator.requests if r.operation == "DeploymentPipelines_AddDeploymentPipelineRoleAssignment"]
    assert posts == []


def test_the_refusal_names_the_signed_in_principal(run_step: RunStep, emulator: Emulator) -> None:
    """Knowing the token's oid, add-user says the principal is the one it is signed in as."""
    run = run_step("add-user", {**MYSELF, **DOWNGRADE, "workspace-role": "Viewer"})
    assert run.returncode == 2
    assert f"ServicePrincipal {SERVICE_PRINCIPAL_ID} is the principal fabric-ci is signed in as." in run.errors[0]
