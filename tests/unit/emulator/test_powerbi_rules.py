"""Power BI deployment rules, apps, the admin quota, the directory and workspace roles, in the shared state."""

from __future__ import annotations

import pytest

from fabric_ci.emulator.seed import (
    ANALYST_NAME,
    ANALYST_PRINCIPAL_ID,
    DEMO_PIPELINE_ID,
    DEV_ITEMS,
    DEV_STAGE_ID,
    DEV_WORKSPACE_ID,
    HR_PIPELINE_ID,
    HR_PROD_STAGE_ID,
    HR_PROD_WORKSPACE_ID,
    HR_TEST_ITEMS,
    HR_TEST_STAGE_ID,
    HR_TEST_WORKSPACE_ID,
    PROD_WORKSPACE_ID,
    SERVICE_PRINCIPAL_ID,
    SPARE_WORKSPACE_IDS,
    TEST_STAGE_ID,
    USER_NAME,
    USER_PRINCIPAL_ID,
)
from fabric_ci.emulator.state import OPTION_ERROR_CODES, FabricError, Settings, TenantState
from tests.unit.emulator.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> TenantState:
    return TenantState(Settings(operation_seconds=10.0), clock=clock)


OVERVIEW = DEV_ITEMS[("Report", "Sales Overview")]  # Different in Test
REGIONAL = DEV_ITEMS[("Report", "Regional Sales")]  # New in Test
HR_MODEL = HR_TEST_ITEMS[("SemanticModel", "HR Model")]  # Different in Production


def pbi_deploy(state: TenantState, items: list[tuple[str, str]], **kwargs: object) -> str:
    """A Power BI deployment Development -> Test, run to its end (the fake clock jumps past it)."""
    deployment = state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, items, None, api="powerbi", **kwargs)  # type: ignore[arg-type]
    state.clock.now = deployment.finishes_at  # type: ignore[attr-defined]
    state.settle()
    return deployment.id


def failure(state: TenantState, deployment_id: str) -> dict[str, str] | None:
    deployment = next(d for d in state.deployments if d.id == deployment_id)
    step = next((s for s in deployment.steps if s.fails), None)
    return step.error() if step else None


def test_a_new_item_needs_allow_create_and_an_existing_one_allow_overwrite(state: TenantState) -> None:
    """Without options both kinds of step fail; each option lets its kind through."""
    assert failure(state, pbi_deploy(state, [(REGIONAL, "Report")]))["errorCode"] == "ArtifactCreationNotAllowed"  # type: ignore[index]
    assert failure(state, pbi_deploy(state, [(OVERVIEW, "Report")]))["errorCode"] == "ArtifactOverwriteNotAllowed"  # type: ignore[index]
    assert failure(state, pbi_deploy(state, [(REGIONAL, "Report")], options={"allowCreateArtifact": True})) is None
    assert failure(state, pbi_deploy(state, [(OVERVIEW, "Report")], options={"allowOverwriteArtifact": True})) is None


def test_item_options_override_the_deployment_wide_ones_option_by_option(state: TenantState) -> None:
    """An item's own false beats a deployment-wide true; an option the item leaves out falls back to the deployment."""
    denied = pbi_deploy(
        state,
        [(REGIONAL, "Report")],
        options={"allowCreateArtifact": True},
        item_options={REGIONAL: {"allowCreateArtifact": False}},
    )
    assert failure(state, denied)["errorCode"] == "ArtifactCreationNotAllowed"  # type: ignore[index]
    allowed = pbi_deploy(
        state,
        [(REGIONAL, "Report")],
        options={"allowCreateArtifact": True},
        item_options={REGIONAL: {"allowPurgeData": True}},
    )
    assert failure(state, allowed) is None


@pytest.mark.parametrize("option", sorted(set(OPTION_ERROR_CODES) - {"allowCreateArtifact", "allowOverwriteArtifact"}))
def test_an_option_requirement_fails_the_item_with_an_error_naming_the_option(state: TenantState, option: str) -> None:
    """An item listed in option_requirements fails without that option, with its errorCode and the option's name."""
    state.configure(option_requirements={"Sales Overview": option})
    error = failure(state, pbi_deploy(state, [(OVERVIEW, "Report")], options={"allowOverwriteArtifact": True}))
    assert error is not None
    assert error["errorCode"] == OPTION_ERROR_CODES[option]
    assert option in error["message"]
    passing = pbi_deploy(state, [(OVERVIEW, "Report")], options={"allowOverwriteArtifact": True, option: True})
    assert failure(state, passing) is None


def test_fabric_deployments_ignore_options(state: TenantState) -> None:
    """A Fabric deployment needs no options, whatever option_requirements say."""
    state.configure(option_requirements={"Sales Overview": "allowPurgeData"})
    deployment = state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, [(OVERVIEW, "Report")], None)
    assert deployment.final_status == "Succeeded"


def test_option_requirements_are_validated() -> None:
    """An unknown option name is a configuration error."""
    with pytest.raises(ValueError, match="option_requirements"):
        TenantState().configure(option_requirements={"Sales Overview": "allowEverything"})


def test_the_app_records_a_successful_deployment_only(state: TenantState, clock: FakeClock) -> None:
    """A Succeeded deployment with update_app sets the app's last_updated_by; a Failed one leaves it alone."""
    app = state.workspaces[HR_PROD_WORKSPACE_ID].app
    assert app is not None
    hr = (HR_PIPELINE_ID, HR_TEST_STAGE_ID, HR_PROD_STAGE_ID, [(HR_MODEL, "SemanticModel")], None)
    failed = state.deploy(*hr, api="powerbi", update_app=True)
    clock.now += 20
    state.settle()
    assert failed.final_status == "Failed"
    assert app.last_updated_by is None
    succeeded = state.deploy(*hr, api="powerbi", options={"allowOverwriteArtifact": True}, update_app=True)
    assert app.last_updated_by is None  # not before it ends
    clock.now += 20
    state.settle()
    assert app.last_updated_by == succeeded.id
    assert app.last_updated_at == succeeded.finishes_at


def test_updating_an_app_that_does_not_exist_is_an_opaque_bad_request(state: TenantState) -> None:
    """Test workspaces have no app: the request is refused with 400 BadRequest, and its message says nothing of apps."""
    assert state.workspaces[PROD_WORKSPACE_ID].app is not None
    assert state.workspaces[HR_TEST_WORKSPACE_ID].app is None
    with pytest.raises(FabricError) as raised:
        pbi_deploy(state, [(OVERVIEW, "Report")], update_app=True)
    assert (raised.value.status, raised.value.error_code) == (400, "BadRequest")
    assert "app" not in raised.value.message.lower()


def test_the_admin_quota_counts_a_rolling_hour(state: TenantState, clock: FakeClock) -> None:
    """Within the quota requests pass; beyond it Retry-After is the time until the oldest leaves the hour."""
    state.configure(admin_requests_per_hour=2)
    assert state.take_admin_request() is None
    clock.now += 600
    assert state.take_admin_request() is None
    clock.now += 600
    assert state.take_admin_request() == 2400
    clock.now += 2400
    assert state.take_admin_request() is None  # the first one left the window
    assert state.take_admin_request() == 600


def test_the_directory_resolves_upns_case_insensitively(state: TenantState) -> None:
    """Seeded users resolve from UPN to object id, in any case; unknown UPNs do not."""
    assert state.principal_by_upn(USER_NAME.upper()).id == USER_PRINCIPAL_ID  # type: ignore[union-attr]
    assert state.principal_by_upn(ANALYST_NAME).id == ANALYST_PRINCIPAL_ID  # type: ignore[union-attr]
    assert state.principal_by_upn("nobody@contoso.example") is None


def test_seeded_workspace_roles(state: TenantState) -> None:
    """The service principal administers every seeded workspace; the user is a Member of the Dev workspace."""
    for workspace in state.workspaces.values():
        assert state.workspace_role(workspace.id, SERVICE_PRINCIPAL_ID).role == "Admin"
    assert state.workspace_role(DEV_WORKSPACE_ID, USER_PRINCIPAL_ID).role == "Member"
    assert SPARE_WORKSPACE_IDS[0] in state.workspaces


def test_workspace_roles_add_update_delete(state: TenantState) -> None:
    """A second add is a 409, an unknown role a 400, a missing principal a 404."""
    state.add_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID, "User", "Viewer")
    with pytest.raises(FabricError, match="already has a role") as raised:
        state.add_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID, "User", "Viewer")
    assert raised.value.status == 409
    with pytest.raises(FabricError) as bad_role:
        state.update_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID, "Owner")
    assert bad_role.value.status == 400
    assert state.update_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID, "Member").role == "Member"
    state.delete_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID)
    with pytest.raises(FabricError) as missing:
        state.delete_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID)
    assert missing.value.status == 404
