"""Every Power BI endpoint the emulator serves, called over HTTPS and checked against Microsoft's Power BI spec."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    ANALYST_NAME,
    ANALYST_PRINCIPAL_ID,
    BI_DEVELOPERS_GROUP_ID,
    DEMO_PIPELINE_ID,
    DEV_ITEMS,
    DEV_WORKSPACE_ID,
    HR_DEV_STAGE_ID,
    HR_PIPELINE_ID,
    HR_PROD_WORKSPACE_ID,
    OTHER_APP_PRINCIPAL_ID,
    PIPELINES,
    PROD_WORKSPACE_ID,
    SERVICE_PRINCIPAL_ID,
    SPARE_WORKSPACE_IDS,
    TEST_WORKSPACE_ID,
    USER_NAME,
    USER_PRINCIPAL_ID,
    stable_id,
)
from tests.contract.conftest import DEPLOY_ROLES, deploy_with_contributor_only, withdraw_deploy_role
from tests.support.emulator_client import EmulatorClient
from tests.support.fabric_spec import assert_log_conforms, validate_request

PIPELINE = f"/pipelines/{DEMO_PIPELINE_ID}"
HR = f"/pipelines/{HR_PIPELINE_ID}"
BOTH = {"allowCreateArtifact": True, "allowOverwriteArtifact": True}
# Times as the spec's examples write them: lastUpdatedTime "2020-12-13T09:26:43.153", the others with a Z.
WITHOUT_OFFSET = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
IN_UTC = WITHOUT_OFFSET + "Z"


@pytest.fixture
def pbi(emulator: Emulator) -> Iterator[EmulatorClient]:
    """A Power BI client; afterwards the whole request log must conform to both specs."""
    client = EmulatorClient(emulator, api="powerbi")
    yield client
    client.close()
    assert_log_conforms(emulator.requests)


def post(pbi: EmulatorClient, path: str, body: Any, status: int = 200) -> Any:
    """A validated request body, sent; the response checked and its status asserted."""
    validate_request("POST", f"/v1.0/myorg{path}", body)
    response = pbi.checked("POST", path, body)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error_code(pbi: EmulatorClient, method: str, path: str, body: Any = None) -> tuple[int, str]:
    response = pbi.checked(method, path, body)
    assert response.status_code >= 400, response.text
    return response.status_code, response.json()["error"]["code"]


def wait(pbi: EmulatorClient, pipeline: str, operation_id: str) -> list[dict[str, Any]]:
    """Poll the pipeline operation until it is terminal; every view seen."""
    return pbi.poll(f"{pipeline}/operations/{operation_id}")


def test_pipelines_stages_and_expand(pbi: EmulatorClient) -> None:
    """Pipelines list without stages; one pipeline expands stages by default; stages are {order, workspace?}."""
    names = {p["displayName"] for p in pbi.checked("GET", "/pipelines").json()["value"]}
    assert {"Sales Analytics", "HR Reporting", "Operations Pipeline"} <= names
    hr = pbi.checked("GET", HR).json()
    assert [s["order"] for s in hr["stages"]] == [0, 1, 2]
    assert "workspaceId" not in hr["stages"][0]
    assert hr["stages"][2]["workspaceName"] == "HR Reporting"
    assert "stages" not in pbi.checked("GET", f"{HR}?$expand=users").json()
    assert pbi.checked("GET", f"{HR}/stages").json()["value"] == hr["stages"]


def test_artifacts_show_power_bi_items_only(pbi: EmulatorClient) -> None:
    """Development's artifacts hold its datasets, reports, dashboards and datamart, not its notebook or lakehouse."""
    body = pbi.checked("GET", f"{PIPELINE}/stages/0/artifacts").json()
    names = {k: sorted(a["artifactDisplayName"] for a in v) for k, v in body.items()}
    assert names == {
        "datasets": ["Customers", "Sales Model"],
        "reports": ["Customers", "Regional Sales", "Sales Overview"],
        "dashboards": ["Executive Dashboard", "Sales Dashboard"],
        "dataflows": [],
        "datamarts": ["Sales Datamart"],
    }
    overview = next(a for a in body["reports"] if a["artifactDisplayName"] == "Sales Overview")
    assert overview["artifactId"] == DEV_ITEMS[("Report", "Sales Overview")]
    assert "targetArtifactId" in overview


def test_a_stage_without_workspace_has_empty_artifacts_and_unknown_orders_are_404(pbi: EmulatorClient) -> None:
    """HR Development has no workspace: five empty lists; stage 7 does not exist."""
    assert pbi.checked("GET", f"{HR}/stages/0/artifacts").json() == {
        "datasets": [],
        "reports": [],
        "dashboards": [],
        "dataflows": [],
        "datamarts": [],
    }
    assert error_code(pbi, "GET", f"{HR}/stages/7/artifacts") == (404, "EntityNotFound")


@pytest.mark.parametrize(("role", "status"), [("Member", 200), ("Contributor", 200), ("Viewer", 403), (None, 403)])
def test_stage_artifacts_need_contributor_on_the_stage_workspace(
    pbi: EmulatorClient, emulator: Emulator, role: str | None, status: int
) -> None:
    """Pipelines_GetPipelineStageArtifacts: "The user must at least be a contributor on the workspace assigned
    to the specified stage": a Viewer, or a caller without a role in Test's workspace, gets 403 there; the
    Development stage stays readable."""
    if role is None:
        emulator.state.workspaces[TEST_WORKSPACE_ID].roles = [
            r for r in emulator.state.workspaces[TEST_WORKSPACE_ID].roles if r.principal_id != SERVICE_PRINCIPAL_ID
        ]
    else:
        emulator.state.update_workspace_role(TEST_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, role)
    if status == 403:
        assert error_code(pbi, "GET", f"{PIPELINE}/stages/1/artifacts") == (403, "InsufficientPrivileges")
    else:
        assert pbi.checked("GET", f"{PIPELINE}/stages/1/artifacts").json()["reports"] != []
    assert pbi.checked("GET", f"{PIPELINE}/stages/0/artifacts").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        PIPELINE,
        f"{PIPELINE}/stages",
        f"{PIPELINE}/stages/0/artifacts",
        f"{PIPELINE}/operations",
        f"{PIPELINE}/operations/{stable_id('history', '1')}",
        f"{PIPELINE}/users",
    ],
)
def test_reading_a_pipeline_needs_access_to_it(pbi: EmulatorClient, emulator: Emulator, path: str) -> None:
    """Get Pipelines lists "the deployment pipelines that the user has access to"; reading one, its stages,
    a stage's artifacts, its operations or its users needs that access too: 200 with the role, 403 without
    (the admin API's users list stays open to a tenant admin)."""
    assert pbi.checked("GET", path).status_code == 200
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = pbi.checked("GET", path)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "InsufficientPrivileges")
    assert "reading deployment pipeline 'Sales Analytics' needs its Admin role" in refused.json()["error"]["message"]


SELECTIVE = {"sourceStageOrder": 0, "options": BOTH, "reports": [{"sourceId": DEV_ITEMS[("Report", "Regional Sales")]}]}
DEPLOY_BODIES = {"deployAll": {"sourceStageOrder": 0, "options": BOTH}, "deploy": SELECTIVE}


@pytest.mark.parametrize("endpoint", DEPLOY_BODIES)
@pytest.mark.parametrize("which", DEPLOY_ROLES)
def test_deploying_needs_access_to_the_pipeline_and_contributor_on_both_workspaces(
    pbi: EmulatorClient, emulator: Emulator, endpoint: str, which: str
) -> None:
    """deployAll and selective deploy: "The user must at least be a contributor on both source and target
    deployment workspaces", and the pipeline's access (its one access right, Admin) as for reading it:
    without either, 403 naming what is missing, and nothing starts."""
    withdraw_deploy_role(emulator, which)
    before = len(emulator.state.pipeline(DEMO_PIPELINE_ID).deployments)
    refused = pbi.checked("POST", f"{PIPELINE}/{endpoint}", DEPLOY_BODIES[endpoint])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "InsufficientPrivileges")
    assert DEPLOY_ROLES[which] in refused.json()["error"]["message"]
    assert len(emulator.state.pipeline(DEMO_PIPELINE_ID).deployments) == before


@pytest.mark.parametrize("endpoint", DEPLOY_BODIES)
def test_deploying_is_accepted_with_contributor_on_both_workspaces(
    pbi: EmulatorClient, emulator: Emulator, endpoint: str
) -> None:
    """Contributor is enough on each workspace (the spec's "at least be a contributor")."""
    deploy_with_contributor_only(emulator)
    post(pbi, f"{PIPELINE}/{endpoint}", DEPLOY_BODIES[endpoint], 202)


def test_deploy_all_answers_202_with_the_operation_and_runs_to_success(pbi: EmulatorClient, emulator: Emulator) -> None:
    """deployAll answers 202 NotStarted; the operation goes Executing then Succeeded, steps under "Steps"."""
    emulator.configure(operation_seconds=1.0)
    accepted = post(pbi, f"{PIPELINE}/deployAll", {"sourceStageOrder": 0, "options": BOTH, "note": "pbi"}, 202)
    assert (accepted["status"], accepted["sourceStageOrder"], accepted["targetStageOrder"]) == ("NotStarted", 0, 1)
    views = wait(pbi, PIPELINE, accepted["id"])
    assert "Executing" in [v["status"] for v in views]
    final = views[-1]
    assert final["status"] == "Succeeded"
    steps = final["executionPlan"]["Steps"]
    assert {s["type"] for s in steps} == {
        "DatasetDeployment",
        "ReportDeployment",
        "DashboardDeployment",
        "DatamartDeployment",
    }
    assert all(s["status"] == "Succeeded" and "target" in s["sourceAndTarget"] for s in steps)
    assert final["performedBy"] == {"principalObjectID": SERVICE_PRINCIPAL_ID, "principalType": "App"}
    # The Fabric view sees the same deployment; it deployed Power BI items only.
    fabric = EmulatorClient(emulator).checked(
        "GET", f"/deploymentPipelines/{DEMO_PIPELINE_ID}/operations/{final['id']}"
    )
    fabric_types = {s["sourceAndTarget"]["itemType"] for s in fabric.json()["executionPlan"]["steps"]}
    assert "Notebook" not in fabric_types
    assert fabric.json()["status"] == "Succeeded"
    listed = pbi.checked("GET", f"{PIPELINE}/operations").json()["value"]
    assert listed[0]["id"] == final["id"]
    assert "executionPlan" not in listed[0]


def test_operation_times_are_written_as_the_examples(pbi: EmulatorClient, emulator: Emulator) -> None:
    """As the spec's examples write them: lastUpdatedTime without a UTC offset, executionStartTime with a Z,
    and executionStartTime there while NotStarted too (deployAll's NotStarted example has it)."""
    emulator.configure(operation_seconds=400.0)  # NotStarted for its first 20 s
    accepted = post(pbi, f"{PIPELINE}/deployAll", {"sourceStageOrder": 0, "options": BOTH}, 202)
    view = pbi.checked("GET", f"{PIPELINE}/operations/{accepted['id']}").json()
    for operation in (accepted, view):
        assert operation["status"] == "NotStarted"
        assert re.fullmatch(WITHOUT_OFFSET, operation["lastUpdatedTime"]), operation["lastUpdatedTime"]
        assert re.fullmatch(IN_UTC, operation["executionStartTime"]), operation["executionStartTime"]


def test_missing_create_option_fails_the_first_new_item(pbi: EmulatorClient) -> None:
    """Without allowCreateArtifact the first item that is new in Test fails with ArtifactCreationNotAllowed."""
    accepted = post(
        pbi, f"{PIPELINE}/deployAll", {"sourceStageOrder": 0, "options": {"allowOverwriteArtifact": True}}, 202
    )
    final = wait(pbi, PIPELINE, accepted["id"])[-1]
    assert final["status"] == "Failed"
    failed = [s for s in final["executionPlan"]["Steps"] if s["status"] == "Failed"]
    assert len(failed) == 1
    assert failed[0]["preDeploymentDiffState"] == "New"
    assert failed[0]["error"]["errorCode"] == "ArtifactCreationNotAllowed"
    assert "allowCreateArtifact" in failed[0]["error"]["errorDetails"]


def test_selective_deploy_with_item_options_and_required_options(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Item options override deployment-wide ones; an item listed in option_requirements needs its option."""
    emulator.configure(option_requirements={"Sales Model": "allowPurgeData"})
    body = {
        "sourceStageOrder": 0,
        "options": {"allowCreateArtifact": False},
        "datasets": [{"sourceId": DEV_ITEMS[("SemanticModel", "Sales Model")], "options": {**BOTH}}],
        "reports": [{"sourceId": DEV_ITEMS[("Report", "Regional Sales")], "options": {"allowCreateArtifact": True}}],
    }
    final = wait(pbi, PIPELINE, post(pbi, f"{PIPELINE}/deploy", body, 202)["id"])[-1]
    failed = next(s for s in final["executionPlan"]["Steps"] if s["status"] == "Failed")
    assert failed["sourceAndTarget"]["sourceDisplayName"] == "Sales Model"
    assert failed["error"]["errorCode"] == "PurgeDataNotAllowed"
    body["datasets"][0]["options"]["allowPurgeData"] = True
    final = wait(pbi, PIPELINE, post(pbi, f"{PIPELINE}/deploy", body, 202)["id"])[-1]
    assert final["status"] == "Succeeded"
    assert final["preDeploymentDiffInformation"] == {
        "newArtifactsCount": 1,
        "differentArtifactsCount": 0,
        "noDifferenceArtifactsCount": 1,
    }


def test_selective_deploy_refuses_other_item_types_and_too_many_items(pbi: EmulatorClient) -> None:
    """A notebook's id is no report (404), and more than 300 items are refused with 400."""
    notebook = DEV_ITEMS[("Notebook", "Prepare Data")]
    body: dict[str, Any] = {"sourceStageOrder": 0, "reports": [{"sourceId": notebook}], "options": BOTH}
    assert error_code(pbi, "POST", f"{PIPELINE}/deploy", body) == (404, "ItemNotFound")
    many = [{"sourceId": DEV_ITEMS[("Report", "Customers")]}] * 301
    assert error_code(pbi, "POST", f"{PIPELINE}/deploy", {"sourceStageOrder": 0, "reports": many})[0] == 400


def test_backward_deployment_creates_the_new_workspace(pbi: EmulatorClient, emulator: Emulator) -> None:
    """HR Test -> Development (no workspace) with newWorkspace creates it and deploys all five items into it."""
    body = {
        "sourceStageOrder": 1,
        "isBackwardDeployment": True,
        "newWorkspace": {"name": "HR Reporting [Dev]"},
        "options": {"allowCreateArtifact": True},
    }
    accepted = post(pbi, f"{HR}/deployAll", body, 202)
    assert (accepted["sourceStageOrder"], accepted["targetStageOrder"]) == (1, 0)
    assert wait(pbi, HR, accepted["id"])[-1]["status"] == "Succeeded"
    stage = pbi.checked("GET", f"{HR}/stages").json()["value"][0]
    assert stage["workspaceName"] == "HR Reporting [Dev]"
    artifacts = pbi.checked("GET", f"{HR}/stages/0/artifacts").json()
    assert all(len(v) == 1 for v in artifacts.values())
    # Backward again, into a stage that is no longer empty: refused in OData shape.
    assert error_code(pbi, "POST", f"{HR}/deployAll", body) == (400, "BackwardDeploymentToNonEmptyStage")
    dev = emulator.state.pipelines[HR_PIPELINE_ID].stage(HR_DEV_STAGE_ID)
    assert dev is not None
    assert dev.workspace_id is not None


def test_update_app_needs_an_app_and_records_the_deployment(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Updating the app of a workspace without one is an opaque 400; with one, the app records the deployment."""
    body = {"sourceStageOrder": 0, "options": BOTH, "updateAppSettings": {"updateAppInTargetWorkspace": True}}
    status, code = error_code(pbi, "POST", f"{PIPELINE}/deployAll", body)
    assert (status, code) == (400, "BadRequest")
    body["sourceStageOrder"] = 1
    accepted = post(pbi, f"{HR}/deployAll", body, 202)
    assert wait(pbi, HR, accepted["id"])[-1]["status"] == "Succeeded"
    emulator.deployments  # noqa: B018 - settles finished deployments
    app = emulator.state.workspaces[HR_PROD_WORKSPACE_ID].app
    assert app is not None
    assert app.last_updated_by == accepted["id"]
    sales_app = emulator.state.workspaces[PROD_WORKSPACE_ID].app
    assert sales_app is not None
    assert sales_app.last_updated_by is None


def test_assign_and_unassign_workspace_by_stage_order(pbi: EmulatorClient) -> None:
    """A stage order takes and gives back a workspace."""
    post(pbi, f"{HR}/stages/0/assignWorkspace", {"workspaceId": SPARE_WORKSPACE_IDS[0]})
    assert pbi.checked("GET", f"{HR}/stages").json()["value"][0]["workspaceId"] == SPARE_WORKSPACE_IDS[0]
    post(pbi, f"{HR}/stages/0/unassignWorkspace", None)
    assert "workspaceId" not in pbi.checked("GET", f"{HR}/stages").json()["value"][0]
    assert error_code(pbi, "POST", f"{HR}/stages/0/unassignWorkspace")[0] == 400


def test_unassign_workspace_needs_the_pipeline_admin_role(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Without the pipeline's Admin role the app is refused 403, and the stage keeps its workspace."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    assert error_code(pbi, "POST", f"{PIPELINE}/stages/2/unassignWorkspace") == (403, "InsufficientPrivileges")
    assert emulator.state.pipeline(DEMO_PIPELINE_ID).stages[2].workspace_id == PROD_WORKSPACE_ID


def test_delete_pipeline_drops_it_and_keeps_its_workspaces(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Pipelines_DeletePipeline: 200 with no body; then the pipeline and its users are 404 (OData error)
    and its workspaces and their users stay."""
    validate_request("DELETE", f"/v1.0/myorg{HR}", None)
    deleted = pbi.checked("DELETE", HR)
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert error_code(pbi, "GET", HR) == (404, "EntityNotFound")
    assert error_code(pbi, "GET", f"{HR}/users") == (404, "EntityNotFound")
    assert error_code(pbi, "DELETE", HR) == (404, "EntityNotFound")
    assert HR_PROD_WORKSPACE_ID in emulator.state.workspaces
    assert pbi.checked("GET", f"/groups/{HR_PROD_WORKSPACE_ID}/users").json()["value"]


def test_delete_pipeline_needs_the_admin_role_and_no_running_deployment(
    pbi: EmulatorClient, emulator: Emulator
) -> None:
    """Without the pipeline's Admin role, 403; while a deployment runs ("This operation will fail if there's an
    active deployment operation"), 409 (an assumption: the spec gives no status); the pipeline stays."""
    emulator.configure(operation_seconds=60)
    post(pbi, f"{HR}/deployAll", {"sourceStageOrder": 1, "options": BOTH}, status=202)
    assert error_code(pbi, "DELETE", HR) == (409, "DeploymentInProgress")
    emulator.state.delete_role_assignment(HR_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    assert error_code(pbi, "DELETE", HR) == (403, "InsufficientPrivileges")
    assert HR_PIPELINE_ID in emulator.state.pipelines


def test_pipeline_users_by_upn_and_object_id(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Users are listed by UPN, groups and apps by object id; adding by UPN shows in Fabric's role assignments."""
    users = pbi.checked("GET", f"{PIPELINE}/users").json()["value"]
    assert {"identifier": USER_NAME, "accessRight": "Admin", "principalType": "User"} in users
    assert {"identifier": SERVICE_PRINCIPAL_ID, "accessRight": "Admin", "principalType": "App"} in users
    post(pbi, f"{PIPELINE}/users", {"identifier": ANALYST_NAME, "accessRight": "Admin", "principalType": "User"})
    post(pbi, f"{PIPELINE}/users", {"identifier": ANALYST_NAME, "accessRight": "Admin", "principalType": "User"})
    post(
        pbi, f"{PIPELINE}/users", {"identifier": OTHER_APP_PRINCIPAL_ID, "accessRight": "Admin", "principalType": "App"}
    )
    fabric, _ = EmulatorClient(emulator).all_pages(f"/deploymentPipelines/{DEMO_PIPELINE_ID}/roleAssignments")
    principals = {(r["principal"]["id"], r["principal"]["type"]) for r in fabric}
    assert {(ANALYST_PRINCIPAL_ID, "User"), (OTHER_APP_PRINCIPAL_ID, "ServicePrincipal")} <= principals
    unknown = {"identifier": "nobody@contoso.example", "accessRight": "Admin", "principalType": "User"}
    assert error_code(pbi, "POST", f"{PIPELINE}/users", unknown) == (400, "PrincipalNotFound")
    assert pbi.checked("DELETE", f"{PIPELINE}/users/{ANALYST_NAME}").status_code == 200
    assert pbi.checked("DELETE", f"{PIPELINE}/users/{OTHER_APP_PRINCIPAL_ID}").status_code == 200
    assert error_code(pbi, "DELETE", f"{PIPELINE}/users/{ANALYST_NAME}") == (404, "EntityNotFound")


def test_deleting_a_pipeline_user_needs_the_pipeline_admin_role(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Pipelines_DeletePipelineUser documents no role; the same pipelines' Fabric API needs Admin: 403 without."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    assert error_code(pbi, "DELETE", f"{PIPELINE}/users/{USER_NAME}") == (403, "InsufficientPrivileges")
    assert len(emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments) == 2


def test_deleting_a_group_user_needs_admin_and_spares_the_last_admin(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Groups_DeleteUserInGroup changes the same roles as Fabric's delete: the last Admin stays (Microsoft's
    old page: "This operation will fail when trying to delete the last admin"), and a caller that is no
    Admin of the workspace is refused."""
    group_users = f"/groups/{DEV_WORKSPACE_ID}/users"
    assert error_code(pbi, "DELETE", f"{group_users}/{SERVICE_PRINCIPAL_ID}") == (400, "LastWorkspaceAdmin")
    emulator.state.update_workspace_role(DEV_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, "Contributor")
    assert error_code(pbi, "DELETE", f"{group_users}/{USER_NAME}") == (403, "InsufficientPrivileges")
    assert emulator.state.workspace_role(DEV_WORKSPACE_ID, USER_PRINCIPAL_ID).role == "Member"


def test_admin_pipelines_expand_page_and_filter(pbi: EmulatorClient) -> None:
    """The admin list sees every pipeline, expands users and stages, pages with $top/$skip, finds orphans."""
    everything = pbi.checked("GET", "/admin/pipelines?$expand=users,stages").json()["value"]
    assert len(everything) == len(PIPELINES)  # every seeded pipeline, whoever administers it
    assert all("users" in p and "stages" in p for p in everything)
    page = pbi.checked("GET", "/admin/pipelines?$top=2&$skip=1").json()["value"]
    assert [p["id"] for p in page] == [p["id"] for p in everything[1:3]]
    post(
        pbi,
        f"/admin/pipelines/{HR_PIPELINE_ID}/users",
        {"identifier": BI_DEVELOPERS_GROUP_ID, "principalType": "Group", "accessRight": "Admin"},
    )
    assert pbi.checked("DELETE", f"/admin/pipelines/{HR_PIPELINE_ID}/users/{SERVICE_PRINCIPAL_ID}").status_code == 200
    assert HR_PIPELINE_ID not in {p["id"] for p in pbi.checked("GET", "/pipelines").json()["value"]}
    users = pbi.checked("GET", f"/admin/pipelines/{HR_PIPELINE_ID}/users").json()["value"]
    assert users == [{"identifier": BI_DEVELOPERS_GROUP_ID, "accessRight": "Admin", "principalType": "Group"}]
    assert pbi.checked("DELETE", f"/admin/pipelines/{HR_PIPELINE_ID}/users/{BI_DEVELOPERS_GROUP_ID}").status_code == 200
    orphans = pbi.checked("GET", "/admin/pipelines?$expand=users&$filter=(not users/any())").json()["value"]
    assert [(p["id"], p["users"]) for p in orphans] == [(HR_PIPELINE_ID, [])]
    assert error_code(pbi, "GET", "/admin/pipelines?$top=0") == (400, "InvalidRequest")


def test_admin_requests_beyond_the_hourly_quota_get_429(pbi: EmulatorClient, emulator: Emulator) -> None:
    """With a quota of 2, the third admin request is refused with 429 and a Retry-After near an hour."""
    emulator.configure(admin_requests_per_hour=2)
    pbi.checked("GET", "/admin/pipelines")
    pbi.checked("GET", f"/admin/pipelines/{DEMO_PIPELINE_ID}/users")
    refused = pbi.checked("GET", "/admin/pipelines")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert pbi.checked("GET", "/pipelines").status_code == 200  # other APIs are not counted


def test_workspace_users_add_update_delete_mirror_fabric(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Groups users: list, add by emailAddress, refuse a second add, PUT a new role, delete; Fabric sees the same."""
    users = pbi.checked("GET", f"/groups/{DEV_WORKSPACE_ID}/users").json()["value"]
    assert {(u["identifier"], u["groupUserAccessRight"]) for u in users} == {
        (SERVICE_PRINCIPAL_ID, "Admin"),
        (USER_NAME, "Member"),
    }
    group_users = f"/groups/{DEV_WORKSPACE_ID}/users"
    post(pbi, group_users, {"emailAddress": ANALYST_NAME, "groupUserAccessRight": "Viewer"})
    again = {"identifier": ANALYST_NAME, "principalType": "User", "groupUserAccessRight": "Viewer"}
    assert error_code(pbi, "POST", group_users, again) == (400, "AddingAlreadyExistsGroupUserNotSupportedError")
    validate_request("PUT", f"/v1.0/myorg{group_users}", {**again, "groupUserAccessRight": "Contributor"})
    assert pbi.checked("PUT", group_users, {**again, "groupUserAccessRight": "Contributor"}).status_code == 200
    fabric = EmulatorClient(emulator)
    role = fabric.checked("GET", f"/workspaces/{DEV_WORKSPACE_ID}/roleAssignments/{ANALYST_PRINCIPAL_ID}").json()
    assert role["role"] == "Contributor"
    assert pbi.checked("DELETE", f"{group_users}/{ANALYST_NAME}").status_code == 200
    assert pbi.checked("GET", f"{group_users}?$top=1").json()["value"][0]["identifier"] == SERVICE_PRINCIPAL_ID
    assert error_code(pbi, "DELETE", f"{group_users}/{ANALYST_NAME}") == (404, "EntityNotFound")
    app = {"identifier": OTHER_APP_PRINCIPAL_ID, "principalType": "App", "groupUserAccessRight": "Member"}
    post(pbi, f"/groups/{stable_id('workspace', 'HR Reporting', 'Test')}/users", app)


def test_errors_are_odata_bodies(pbi: EmulatorClient, emulator: Emulator) -> None:
    """Unknown pipelines and paths, missing tokens and injected throttling all answer {"error": {code, message}}."""
    assert error_code(pbi, "GET", "/pipelines/00000000-0000-0000-0000-000000000000") == (404, "EntityNotFound")
    assert error_code(pbi, "GET", "/nothing/here")[0] == 404
    response = pbi.call("GET", "/pipelines", auth=False)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    emulator.inject(r"^/v1\.0/myorg/pipelines$", 1, 429, retry_after=3)
    throttled = pbi.checked("GET", "/pipelines")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    assert throttled.json()["error"]["code"] == "RequestBlocked"


def test_inputs_point_fabric_ci_at_the_power_bi_api(emulator: Emulator) -> None:
    """inputs("powerbi") and sign_in(method, "powerbi") add api and the Power BI base URL."""
    inputs = emulator.inputs("powerbi")
    assert inputs["api"] == "powerbi"
    assert inputs["api-base-url"] == f"{emulator.authority_host}/v1.0/myorg" == emulator.powerbi_base_url
    assert "api" not in emulator.inputs()
    assert emulator.sign_in("certificate", "powerbi").inputs["api-base-url"] == emulator.powerbi_base_url


def test_create_pipeline_as_the_spec_example_has_three_stages_and_the_caller_as_admin(
    pbi: EmulatorClient, emulator: Emulator
) -> None:
    """The spec's example: 201 with {id, displayName, description}; the pipeline has the three stages by order,
    none with a workspace, and the calling app is its Admin."""
    body = {"displayName": "My Deployment Pipeline Name", "description": "My deployment pipeline description"}
    created = post(pbi, "/pipelines", body, status=201)
    assert set(created) == {"id", "displayName", "description"}
    assert (created["displayName"], created["description"]) == (body["displayName"], body["description"])
    stages = pbi.checked("GET", f"/pipelines/{created['id']}/stages").json()["value"]
    assert stages == [{"order": 0}, {"order": 1}, {"order": 2}]
    users = pbi.checked("GET", f"/pipelines/{created['id']}/users").json()["value"]
    assert [(u["identifier"], u["principalType"]) for u in users] == [(SERVICE_PRINCIPAL_ID, "App")]
    assert error_code(pbi, "POST", "/pipelines", {"description": "no name"}) == (400, "InvalidRequest")


def test_create_pipeline_accepts_an_empty_description(pbi: EmulatorClient) -> None:
    """The spec's CreatePipelineRequest limits description to 1024 characters and sets no minimum: an empty
    one is a pipeline with an empty description, 201."""
    created = post(pbi, "/pipelines", {"displayName": "Empty Description", "description": ""}, status=201)
    assert (created["displayName"], created["description"]) == ("Empty Description", "")
    assert error_code(pbi, "POST", "/pipelines", {"displayName": "x", "description": 7}) == (400, "InvalidRequest")
