"""Every Fabric endpoint the emulator serves, called over HTTPS and checked against Microsoft's spec."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    ANALYST_PRINCIPAL_ID,
    DEMO_PIPELINE_ID,
    DEV_ITEMS,
    DEV_STAGE_ID,
    DEV_WORKSPACE_ID,
    GROUP_PRINCIPAL_ID,
    PROD_STAGE_ID,
    SERVICE_PRINCIPAL_ID,
    SPARE_WORKSPACE_IDS,
    TEST_STAGE_ID,
    TEST_WORKSPACE_ID,
    USER_PRINCIPAL_ID,
    stable_id,
)
from fabric_ci.models.resources import (
    DeploymentOperation,
    LongRunningOperationState,
    Pipeline,
    PipelineWithStages,
    Stage,
    StageItem,
)
from tests.contract.conftest import DEPLOY_ROLES, deploy_with_contributor_only, withdraw_deploy_role
from tests.support.emulator_client import EmulatorClient
from tests.support.fabric_spec import assert_log_conforms, validate_request

PIPELINE = f"/deploymentPipelines/{DEMO_PIPELINE_ID}"
DEPLOY_ALL = {"sourceStageId": DEV_STAGE_ID, "targetStageId": TEST_STAGE_ID, "note": "contract test"}
OPERATIONS_PIPELINE_ID = stable_id("pipeline", "Operations Pipeline")
OPERATIONS_TEST_STAGE_ID = stable_id("stage", "Operations Pipeline", "Test")
# Times as the spec's examples write them: lastUpdatedTime "2020-12-13T09:26:43.153", the others with a Z.
WITHOUT_OFFSET = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
IN_UTC = WITHOUT_OFFSET + "Z"


def deploy(api: EmulatorClient, body: dict[str, Any] | None = None) -> tuple[str, str]:
    """Start a deployment; (lro id, deployment id) from the validated 202."""
    sent = body or DEPLOY_ALL
    validate_request("POST", f"/v1{PIPELINE}/deploy", sent)
    response = api.checked("POST", f"{PIPELINE}/deploy", sent)
    assert response.status_code == 202, response.text
    return response.headers["x-ms-operation-id"], response.headers["deployment-id"]


def test_listing_pipelines_takes_several_pages_that_all_conform(api: EmulatorClient) -> None:
    """Pipelines are listed over at least three spec-conforming pages linked by continuationUri in the body."""
    values, pages = api.all_pages("/deploymentPipelines")
    assert pages >= 3
    names = [Pipeline.model_validate(v).display_name for v in values]
    assert {"Sales Analytics", "Finance Reporting", "Marketing", "marketing", "Operations Pipeline"} <= set(names)


def test_continuation_token_query_parameter_returns_the_next_page(api: EmulatorClient) -> None:
    """Passing the body's continuationToken as ?continuationToken= gives the same page as continuationUri."""
    first = api.checked("GET", "/deploymentPipelines").json()
    by_token = api.checked("GET", f"/deploymentPipelines?continuationToken={first['continuationToken']}").json()
    by_uri = api.checked("GET", first["continuationUri"]).json()
    assert by_token["value"] == by_uri["value"]
    assert by_token["value"][0]["id"] != first["value"][0]["id"]


def test_pipeline_and_stages_conform_and_parse(api: EmulatorClient) -> None:
    """The pipeline with its stages, the paged stage list and one stage conform and parse with the client models."""
    pipeline = PipelineWithStages.model_validate(api.checked("GET", PIPELINE).json())
    assert [s.display_name for s in pipeline.stages] == ["Development", "Test", "Production"]
    assert all(s.workspace_id for s in pipeline.stages)
    stages, pages = api.all_pages(f"{PIPELINE}/stages")
    assert pages == 2
    assert [Stage.model_validate(s).id for s in stages] == [DEV_STAGE_ID, TEST_STAGE_ID, PROD_STAGE_ID]
    stage = Stage.model_validate(api.checked("GET", f"{PIPELINE}/stages/{PROD_STAGE_ID}").json())
    assert (stage.order, stage.is_public) == (2, True)


def test_stage_items_are_paged_and_linked_across_stages(api: EmulatorClient) -> None:
    """Stage items conform over several pages, and Test's copies point back at Development's items."""
    dev, pages = api.all_pages(f"{PIPELINE}/stages/{DEV_STAGE_ID}/items")
    assert pages >= 3
    dev_items = {(i.item_type, i.item_display_name): i for i in map(StageItem.model_validate, dev)}
    assert ("Report", "Customers") in dev_items
    assert ("SemanticModel", "Customers") in dev_items
    test, _ = api.all_pages(f"{PIPELINE}/stages/{TEST_STAGE_ID}/items")
    overview = next(StageItem.model_validate(i) for i in test if i["itemDisplayName"] == "Sales Overview")
    assert overview.source_item_id == dev_items[("Report", "Sales Overview")].item_id
    assert dev_items[("Report", "Sales Overview")].target_item_id == overview.item_id


def test_deploy_answers_202_with_lro_headers_and_location_without_v1(api: EmulatorClient, emulator: Emulator) -> None:
    """A deploy is accepted with 202, an empty body and Location/x-ms-operation-id/deployment-id/Retry-After."""
    response = api.checked("POST", f"{PIPELINE}/deploy", DEPLOY_ALL)
    assert response.status_code == 202
    assert response.content == b""
    lro_id = response.headers["x-ms-operation-id"]
    assert response.headers["Location"] == f"{emulator.authority_host}/operations/{lro_id}"
    assert response.headers["Retry-After"] == "30"  # deploy_retry_after's default, as in DeployAll.json
    assert emulator.deployments[0].id == response.headers["deployment-id"]
    assert emulator.deployments[0].lro_id == lro_id


def test_long_running_operation_goes_through_running_to_succeeded(api: EmulatorClient, emulator: Emulator) -> None:
    """Polling the LRO shows Running with Retry-After, then Succeeded at 100%, and /result gives the deployment."""
    emulator.configure(operation_seconds=1.0)
    lro_id, deployment_id = deploy(api)
    states = [LongRunningOperationState.model_validate(s) for s in api.wait(lro_id)]
    assert "Running" in [s.status for s in states]
    assert states[-1].status == "Succeeded"
    assert states[-1].percent_complete == 100
    final = api.checked("GET", f"/operations/{lro_id}")
    assert "Retry-After" not in final.headers
    assert final.headers["Location"].endswith(f"/operations/{lro_id}/result")
    result = api.checked("GET", f"/operations/{lro_id}/result")
    assert result.status_code == 200
    assert DeploymentOperation.model_validate(result.json()).id == deployment_id


def test_operation_view_while_running_and_after_success(api: EmulatorClient, emulator: Emulator) -> None:
    """The pipeline operation conforms while Running (steps in progress) and after Succeeded (all steps done)."""
    emulator.configure(operation_seconds=1.5)
    lro_id, deployment_id = deploy(api)
    view = f"{PIPELINE}/operations/{deployment_id}"
    deadline = time.monotonic() + 5
    running = None
    while time.monotonic() < deadline:
        running = DeploymentOperation.model_validate(api.checked("GET", view).json())
        if running.status == "Running" and any(s.status == "Succeeded" for s in running.steps):
            break
        time.sleep(0.05)
    assert running is not None
    assert running.status == "Running"
    step_statuses = [s.status for s in running.steps]
    assert "Succeeded" in step_statuses
    assert {"Running", "NotStarted"} & set(step_statuses)
    assert running.execution_end_time is None
    api.wait(lro_id)
    done = DeploymentOperation.model_validate(api.checked("GET", view).json())
    assert done.status == "Succeeded"
    assert {s.status for s in done.steps} == {"Succeeded"}
    assert done.note is not None
    assert done.note.content == "contract test"
    assert done.performed_by == {
        "id": SERVICE_PRINCIPAL_ID,
        "type": "ServicePrincipal",
        "displayName": "fabric-ci-emulator",
    }
    states = {
        s.source_and_target.source_item_display_name: s.pre_deployment_diff_state
        for s in done.steps
        if s.source_and_target
    }
    assert states["Sales Overview"] == "Different"
    assert states["Sales Model"] == "NoDifference"
    assert states["Regional Sales"] == "New"


def test_failed_deployment_reports_the_failing_step(api: EmulatorClient, emulator: Emulator) -> None:
    """With a failing item, the LRO ends Failed with an error, the step has an error, later steps never run."""
    emulator.configure(fail_items={"Sales Model"})
    lro_id, deployment_id = deploy(api)
    final = LongRunningOperationState.model_validate(api.wait(lro_id)[-1])
    assert final.status == "Failed"
    assert final.error is not None
    assert "Sales Model" in final.error["message"]
    view = DeploymentOperation.model_validate(api.checked("GET", f"{PIPELINE}/operations/{deployment_id}").json())
    assert view.status == "Failed"
    failed = [s for s in view.steps if s.status == "Failed"]
    assert [s.source_and_target.source_item_display_name for s in failed if s.source_and_target] == ["Sales Model"]
    assert failed[0].error is not None
    assert failed[0].error.error_code
    after = view.steps[failed[0].index + 1 :]
    assert after
    assert {s.status for s in after} == {"NotStarted"}
    result = api.checked("GET", f"/operations/{lro_id}/result")
    assert result.status_code == 400


def test_operations_list_has_the_history_most_recent_first(api: EmulatorClient) -> None:
    """The operations list conforms, pages, shows the seeded history, and puts a new deployment first."""
    lro_id, deployment_id = deploy(api)
    api.wait(lro_id)
    operations, pages = api.all_pages(f"{PIPELINE}/operations")
    assert pages == 2
    assert len(operations) == 4
    assert operations[0]["id"] == deployment_id
    starts = [o["executionStartTime"] for o in operations]
    assert starts == sorted(starts, reverse=True)
    assert {o["status"] for o in operations} == {"Succeeded"}


def test_an_operation_not_started_has_no_start_time_and_times_are_written_as_the_examples(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """While NotStarted an operation has no executionStartTime (the schema requires none, and it has not
    started); its lastUpdatedTime has no UTC offset, as in every example of the spec, where
    executionStartTime and executionEndTime end in Z."""
    emulator.configure(operation_seconds=400.0)  # NotStarted for its first 20 s
    _, deployment_id = deploy(api)
    view = api.checked("GET", f"{PIPELINE}/operations/{deployment_id}").json()
    listed = api.checked("GET", f"{PIPELINE}/operations").json()["value"][0]
    assert (view["status"], listed["id"], listed["status"]) == ("NotStarted", deployment_id, "NotStarted")
    assert "executionStartTime" not in view
    assert "executionStartTime" not in listed
    assert re.fullmatch(WITHOUT_OFFSET, view["lastUpdatedTime"]), view["lastUpdatedTime"]
    past = api.checked("GET", f"{PIPELINE}/operations/{stable_id('history', '1')}").json()
    assert re.fullmatch(WITHOUT_OFFSET, past["lastUpdatedTime"]), past["lastUpdatedTime"]
    assert re.fullmatch(IN_UTC, past["executionStartTime"])
    assert re.fullmatch(IN_UTC, past["executionEndTime"])
    assert past["lastUpdatedTime"] + "Z" == past["executionEndTime"]  # the same moment, written two ways


def test_second_deployment_shows_no_difference(api: EmulatorClient) -> None:
    """After a successful deploy, deploying the same items again finds nothing different."""
    api.wait(deploy(api)[0])
    lro_id, deployment_id = deploy(api)
    api.wait(lro_id)
    view = DeploymentOperation.model_validate(api.checked("GET", f"{PIPELINE}/operations/{deployment_id}").json())
    assert {s.pre_deployment_diff_state for s in view.steps} == {"NoDifference"}


def test_selective_deploy_and_backward_deploy_rules(api: EmulatorClient) -> None:
    """A selective deploy runs only the chosen items; a backward deploy into a non-empty stage is refused."""
    body = {
        "sourceStageId": DEV_STAGE_ID,
        "targetStageId": TEST_STAGE_ID,
        "items": [{"sourceItemId": DEV_ITEMS[("Report", "Customers")], "itemType": "Report"}],
    }
    lro_id, deployment_id = deploy(api, body)
    api.wait(lro_id)
    view = DeploymentOperation.model_validate(api.checked("GET", f"{PIPELINE}/operations/{deployment_id}").json())
    assert [s.source_and_target.item_type for s in view.steps if s.source_and_target] == ["Report"]
    backward = api.checked(
        "POST", f"{PIPELINE}/deploy", {"sourceStageId": TEST_STAGE_ID, "targetStageId": DEV_STAGE_ID}
    )
    assert backward.status_code == 400
    assert backward.json()["errorCode"] == "BackwardDeploymentToNonEmptyStage"


def test_only_one_active_deployment_per_pipeline(api: EmulatorClient, emulator: Emulator) -> None:
    """A second deploy while one is running is refused with 409, as are workspace changes."""
    emulator.configure(operation_seconds=30)
    deploy(api)
    second = api.checked("POST", f"{PIPELINE}/deploy", DEPLOY_ALL)
    assert second.status_code == 409
    assert second.json()["errorCode"] == "DeploymentInProgress"
    unassign = api.checked("POST", f"{PIPELINE}/stages/{PROD_STAGE_ID}/unassignWorkspace")
    assert unassign.status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"sourceStageId": "not-a-guid", "targetStageId": TEST_STAGE_ID}, "InvalidInput"),
        ({"targetStageId": TEST_STAGE_ID}, "InvalidInput"),
        ({"sourceStageId": DEV_STAGE_ID, "targetStageId": DEV_STAGE_ID}, "InvalidInput"),
        ({"sourceStageId": DEV_STAGE_ID, "targetStageId": str(uuid.uuid4())}, "InvalidInput"),
        ({**DEPLOY_ALL, "note": "x" * 1025}, "InvalidInput"),
        ({**DEPLOY_ALL, "items": [{"sourceItemId": str(uuid.uuid4()), "itemType": "Report"}]}, "ItemNotFound"),
        (
            {**DEPLOY_ALL, "items": [{"sourceItemId": DEV_ITEMS[("Report", "Customers")], "itemType": "Nope"}]},
            "InvalidItemType",
        ),
        ({**DEPLOY_ALL, "items": [{"sourceItemId": str(uuid.uuid4()), "itemType": "Report"}] * 301}, "InvalidInput"),
    ],
)
def test_bad_deploy_bodies_get_fabric_errors(api: EmulatorClient, body: dict[str, Any], code: str) -> None:
    """Invalid deploy requests are refused with a conforming Fabric error body and a stable errorCode."""
    response = api.checked("POST", f"{PIPELINE}/deploy", body)
    assert 400 <= response.status_code < 500
    assert response.json()["errorCode"] == code
    assert response.json()["requestId"] == response.headers["RequestId"]


def test_deploy_to_a_stage_without_workspace_needs_created_workspace_details(api: EmulatorClient) -> None:
    """Deploying into a stage without a workspace fails, unless createdWorkspaceDetails names a new one."""
    path = f"/deploymentPipelines/{OPERATIONS_PIPELINE_ID}/deploy"
    body = {
        "sourceStageId": stable_id("stage", "Operations Pipeline", "Dev"),
        "targetStageId": OPERATIONS_TEST_STAGE_ID,
    }
    refused = api.checked("POST", path, body)
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "StageWithoutWorkspace"
    accepted = api.checked("POST", path, {**body, "createdWorkspaceDetails": {"name": "Ops [Test]"}})
    assert accepted.status_code == 202
    stage = api.checked("GET", f"/deploymentPipelines/{OPERATIONS_PIPELINE_ID}/stages/{OPERATIONS_TEST_STAGE_ID}")
    assert stage.json()["workspaceName"] == "Ops [Test]"


def test_assign_and_unassign_workspace(api: EmulatorClient) -> None:
    """A spare workspace is assigned (200, empty) and shows on the stage; taken or unknown workspaces are refused."""
    stage = f"/deploymentPipelines/{OPERATIONS_PIPELINE_ID}/stages/{OPERATIONS_TEST_STAGE_ID}"
    assigned = api.checked("POST", f"{stage}/assignWorkspace", {"workspaceId": SPARE_WORKSPACE_IDS[0]})
    assert assigned.status_code == 200
    assert assigned.content == b""
    assert api.checked("GET", stage).json()["workspaceId"] == SPARE_WORKSPACE_IDS[0]
    dev_workspace = api.checked("GET", f"{PIPELINE}/stages/{DEV_STAGE_ID}").json()["workspaceId"]
    taken = api.checked("POST", f"{stage}/unassignWorkspace")
    assert taken.status_code == 200
    conflict = api.checked("POST", f"{stage}/assignWorkspace", {"workspaceId": dev_workspace})
    assert conflict.status_code == 409
    unknown = api.checked("POST", f"{stage}/assignWorkspace", {"workspaceId": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert unknown.json()["errorCode"] == "WorkspaceNotFound"


def test_unassign_workspace_needs_the_pipeline_admin_role(api: EmulatorClient, emulator: Emulator) -> None:
    """As the spec says ("The caller must have an *admin* deployment pipelines role"): without it, 403 and
    the stage keeps its workspace."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = api.checked("POST", f"{PIPELINE}/stages/{PROD_STAGE_ID}/unassignWorkspace")
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "InsufficientPrivileges"
    assert "unassigning a workspace" in refused.json()["message"]
    stage = emulator.state.pipeline(DEMO_PIPELINE_ID).stage(PROD_STAGE_ID)
    assert stage is not None
    assert stage.workspace_id is not None


FINANCE_PIPELINE_ID = stable_id("pipeline", "Finance Reporting")
FINANCE_DEV_WORKSPACE_ID = stable_id("workspace", "Finance Reporting", "Dev")


def test_delete_pipeline_drops_it_with_its_roles_and_operations_and_keeps_the_workspaces(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """200 with no body (the spec's example); the pipeline, its role assignments and its operations are gone
    (404 in the Fabric error shape); its workspaces stay, with their roles and items."""
    one = f"/deploymentPipelines/{FINANCE_PIPELINE_ID}"
    validate_request("DELETE", f"/v1{one}", None)
    deleted = api.checked("DELETE", one)
    assert (deleted.status_code, deleted.content) == (200, b"")
    for path in (one, f"{one}/roleAssignments", f"{one}/operations", f"{one}/stages"):
        gone = api.checked("GET", path)
        assert (gone.status_code, gone.json()["errorCode"]) == (404, "EntityNotFound"), path
    assert api.checked("DELETE", one).status_code == 404
    roles, _ = api.all_pages(f"/workspaces/{FINANCE_DEV_WORKSPACE_ID}/roleAssignments")
    assert SERVICE_PRINCIPAL_ID in {r["principal"]["id"] for r in roles}
    assert emulator.state.workspaces[FINANCE_DEV_WORKSPACE_ID].items


def test_delete_pipeline_needs_the_pipeline_admin_role(api: EmulatorClient, emulator: Emulator) -> None:
    """The spec: "The caller must have an *admin* deployment pipelines role": without it, 403 and the
    pipeline stays."""
    emulator.state.delete_role_assignment(FINANCE_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = api.checked("DELETE", f"/deploymentPipelines/{FINANCE_PIPELINE_ID}")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert "deleting deployment pipeline 'Finance Reporting'" in refused.json()["message"]
    assert FINANCE_PIPELINE_ID in emulator.state.pipelines


@pytest.mark.parametrize("which", DEPLOY_ROLES)
def test_deploy_needs_the_pipeline_admin_role_and_contributor_on_both_workspaces(
    api: EmulatorClient, emulator: Emulator, which: str
) -> None:
    """The spec: "The caller must have an *admin* deployment pipelines role. The user must be at least a
    contributor on both source and target deployment workspaces." Without either, 403 naming what is
    missing, and nothing starts."""
    withdraw_deploy_role(emulator, which)
    before = len(emulator.state.pipeline(DEMO_PIPELINE_ID).deployments)
    refused = api.checked("POST", f"{PIPELINE}/deploy", DEPLOY_ALL)
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert DEPLOY_ROLES[which] in refused.json()["message"]
    assert len(emulator.state.pipeline(DEMO_PIPELINE_ID).deployments) == before


def test_deploy_is_accepted_with_contributor_on_both_workspaces(api: EmulatorClient, emulator: Emulator) -> None:
    """Contributor is enough on each workspace (the spec's "at least a contributor")."""
    deploy_with_contributor_only(emulator)
    deploy(api)


def test_delete_pipeline_is_refused_while_a_deployment_runs(api: EmulatorClient, emulator: Emulator) -> None:
    """The spec: "This operation will fail if there's an active deployment operation", with no status given:
    the emulator answers 409 DeploymentInProgress in the Fabric error shape (an assumption), naming it."""
    emulator.configure(operation_seconds=60)
    _, deployment_id = deploy(api)
    refused = api.checked("DELETE", PIPELINE)
    assert (refused.status_code, refused.json()["errorCode"]) == (409, "DeploymentInProgress")
    assert deployment_id in refused.json()["message"]
    assert refused.json()["requestId"]
    assert DEMO_PIPELINE_ID in emulator.state.pipelines


def test_update_stage_answers_the_updated_stage(api: EmulatorClient, emulator: Emulator) -> None:
    """The spec's body (displayName required, description, isPublic) is applied and the 200 is the stage."""
    path = f"{PIPELINE}/stages/{TEST_STAGE_ID}"
    body = {"displayName": "QA", "description": "Quality assurance", "isPublic": True}
    validate_request("PATCH", f"/v1{path}", body)
    updated = Stage.model_validate(api.checked("PATCH", path, body).json())
    assert (updated.id, updated.order, updated.display_name, updated.description, updated.is_public) == (
        TEST_STAGE_ID,
        1,
        "QA",
        "Quality assurance",
        True,
    )
    assert Stage.model_validate(api.checked("GET", path).json()) == updated
    kept = api.checked("PATCH", path, {"displayName": "QA"}).json()
    assert (kept["description"], kept["isPublic"]) == ("Quality assurance", True)
    assert_log_conforms(emulator.requests)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"description": "no name"}, "'displayName' is required"),
        ({"displayName": ""}, "'displayName' is required"),
        ({"displayName": "x" * 257}, "longer than 256"),
        ({"displayName": "QA", "description": "x" * 1025}, "longer than 1024"),
        ({"displayName": "QA", "isPublic": "yes"}, "'isPublic' must be a boolean"),
        ({"displayName": "production"}, "already has a stage named 'production'"),
    ],
)
def test_update_stage_refuses_what_the_spec_does_not_allow(
    api: EmulatorClient, emulator: Emulator, body: dict[str, Any], message: str
) -> None:
    """400 in the Fabric error shape for a body outside DeploymentPipelineStageRequest (and for a name
    another stage has, an assumption: the spec says nothing), and the stage is unchanged."""
    refused = api.checked("PATCH", f"{PIPELINE}/stages/{TEST_STAGE_ID}", body)
    assert refused.status_code == 400
    assert message in refused.json()["message"]
    assert emulator.state.pipeline(DEMO_PIPELINE_ID).stages[1].display_name == "Test"


def test_update_stage_needs_the_pipeline_admin_role(api: EmulatorClient, emulator: Emulator) -> None:
    """The spec: "The caller must have an *admin* deployment pipelines role": without it, 403."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = api.checked("PATCH", f"{PIPELINE}/stages/{TEST_STAGE_ID}", {"displayName": "QA"})
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert "updating a stage of" in refused.json()["message"]
    assert emulator.state.pipeline(DEMO_PIPELINE_ID).stages[1].display_name == "Test"


def test_role_assignments_list_add_duplicate_and_delete(api: EmulatorClient) -> None:
    """Role assignments page and conform; adding twice gives 409; deleting removes the principal."""
    assignments, pages = api.all_pages(f"{PIPELINE}/roleAssignments")
    assert pages == 2
    assert GROUP_PRINCIPAL_ID in [a["principal"]["id"] for a in assignments]
    new = str(uuid.uuid4())
    body = {"principal": {"id": new, "type": "User"}, "role": "Admin"}
    added = api.checked("POST", f"{PIPELINE}/roleAssignments", body)
    assert added.status_code == 200
    assert added.json()["principal"] == {"id": new, "type": "User"}
    duplicate = api.checked("POST", f"{PIPELINE}/roleAssignments", body)
    assert duplicate.status_code == 409
    assert api.checked("DELETE", f"{PIPELINE}/roleAssignments/{new}").status_code == 200
    assert api.checked("DELETE", f"{PIPELINE}/roleAssignments/{new}").status_code == 404


def test_deleting_a_pipeline_role_assignment_needs_the_pipeline_admin_role(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """The spec: "The caller must have an *admin* deployment pipelines role." Without it, 403 and the
    principal keeps its role."""
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = api.checked("DELETE", f"{PIPELINE}/roleAssignments/{GROUP_PRINCIPAL_ID}")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    roles = emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments
    assert GROUP_PRINCIPAL_ID in [r.principal_id for r in roles]


def test_a_pipelines_last_admin_may_delete_its_own_role(api: EmulatorClient, emulator: Emulator) -> None:
    """Neither spec nor Microsoft's docs forbid removing a pipeline's last Admin (the Power BI admin API
    even lists pipelines without users), so the emulator invents no rule: 200, and the pipeline has none."""
    for other in (USER_PRINCIPAL_ID, GROUP_PRINCIPAL_ID):
        emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, other)
    assert api.checked("DELETE", f"{PIPELINE}/roleAssignments/{SERVICE_PRINCIPAL_ID}").status_code == 200
    assert emulator.state.pipeline(DEMO_PIPELINE_ID).role_assignments == []


def test_deleting_a_workspace_role_needs_admin_and_spares_the_last_admin(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """The spec: the caller needs "*admin* workspace role", and "The role assignment of the last admin can't
    be deleted" (a 400 whose code, LastWorkspaceAdmin, is the emulator's: the spec names none). With a second
    Admin the first may go."""
    roles = f"/workspaces/{DEV_WORKSPACE_ID}/roleAssignments"
    last = api.checked("DELETE", f"{roles}/{SERVICE_PRINCIPAL_ID}")
    assert (last.status_code, last.json()["errorCode"]) == (400, "LastWorkspaceAdmin")
    assert "last Admin" in last.json()["message"]
    emulator.state.add_workspace_role(DEV_WORKSPACE_ID, ANALYST_PRINCIPAL_ID, "User", "Admin")
    assert api.checked("DELETE", f"{roles}/{SERVICE_PRINCIPAL_ID}").status_code == 200
    # The service principal is no Admin of that workspace now: it may remove nobody there.
    refused = api.checked("DELETE", f"{roles}/{USER_PRINCIPAL_ID}")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert "needs the Admin role" in refused.json()["message"]
    member = emulator.state.workspace_role(DEV_WORKSPACE_ID, USER_PRINCIPAL_ID)
    assert member.role == "Member"
    # A Member may add, but not remove (the spec: deleting needs Admin).
    emulator.state.update_workspace_role(TEST_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, "Member")
    emulator.state.add_workspace_role(TEST_WORKSPACE_ID, GROUP_PRINCIPAL_ID, "Group", "Viewer")
    refused = api.checked("DELETE", f"/workspaces/{TEST_WORKSPACE_ID}/roleAssignments/{GROUP_PRINCIPAL_ID}")
    assert refused.status_code == 403


def test_injected_throttling_answers_429_with_retry_after(api: EmulatorClient, emulator: Emulator) -> None:
    """An injected 429 conforms (RequestBlocked body, Retry-After) and only the requested count is affected."""
    emulator.inject(r"^/v1/deploymentPipelines$", count=1, status=429, retry_after=3)
    throttled = api.checked("GET", "/deploymentPipelines")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["errorCode"] == "RequestBlocked"
    assert api.checked("GET", "/deploymentPipelines").status_code == 200


def test_injected_server_errors_conform(api: EmulatorClient, emulator: Emulator) -> None:
    """Injected 500 and 503 answers carry Fabric error bodies and respect the method filter."""
    emulator.inject(r"/deploy$", count=1, status=503, method="POST")
    emulator.inject(r"/stages$", count=1, status=500)
    assert api.checked("GET", f"{PIPELINE}/deploy").status_code == 404  # GET is not filtered in: unknown path
    assert api.checked("POST", f"{PIPELINE}/deploy", DEPLOY_ALL).status_code == 503
    assert api.checked("GET", f"{PIPELINE}/stages").status_code == 500


def test_unknown_pipeline_stage_operation_and_path_are_404(api: EmulatorClient) -> None:
    """Unknown ids and unknown paths answer 404 EntityNotFound with a conforming body."""
    for path in (
        f"/deploymentPipelines/{uuid.uuid4()}",
        f"{PIPELINE}/stages/{uuid.uuid4()}",
        f"{PIPELINE}/operations/{uuid.uuid4()}",
        f"/operations/{uuid.uuid4()}",
        "/nothingHere",
    ):
        response = api.checked("GET", path)
        assert response.status_code == 404, path
        assert response.json()["errorCode"] == "EntityNotFound"


def test_missing_unknown_and_expired_tokens_are_401(api: EmulatorClient, emulator: Emulator) -> None:
    """No token, a foreign token and an expired token get 401 with WWW-Authenticate and the right errorCode."""
    missing = api.checked("GET", "/deploymentPipelines", auth=False)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["errorCode"] == "Unauthorized"
    assert api.checked("GET", "/deploymentPipelines", token="forged").json()["errorCode"] == "Unauthorized"
    emulator.configure(token_lifetime_seconds=0)
    expired = api.checked("GET", "/deploymentPipelines", token=api.fetch_token())
    assert expired.status_code == 401
    assert expired.json()["errorCode"] == "TokenExpired"


def test_create_update_and_delete_pipeline(api: EmulatorClient) -> None:
    """Creating (201), renaming, updating a stage and deleting a pipeline all conform."""
    created = api.checked(
        "POST",
        "/deploymentPipelines",
        {"displayName": "New", "stages": [{"displayName": "A"}, {"displayName": "B", "isPublic": True}]},
    )
    assert created.status_code == 201
    pipeline = PipelineWithStages.model_validate(created.json())
    renamed = api.checked("PATCH", f"/deploymentPipelines/{pipeline.id}", {"displayName": "Renamed"})
    assert renamed.json()["displayName"] == "Renamed"
    stage = api.checked(
        "PATCH",
        f"/deploymentPipelines/{pipeline.id}/stages/{pipeline.stages[0].id}",
        {"displayName": "A", "description": "first"},
    )
    assert stage.json()["description"] == "first"
    assert api.checked("DELETE", f"/deploymentPipelines/{pipeline.id}").status_code == 200
    assert api.checked("GET", f"/deploymentPipelines/{pipeline.id}").status_code == 404


def test_request_log_of_a_full_flow_conforms(api: EmulatorClient, emulator: Emulator) -> None:
    """Every request the emulator logged during a full flow, and its response, conforms to the spec."""
    api.all_pages("/deploymentPipelines")
    api.checked("GET", PIPELINE)
    api.all_pages(f"{PIPELINE}/stages/{DEV_STAGE_ID}/items")
    emulator.inject(r"/operations/", count=1, status=429)
    lro_id, deployment_id = deploy(api)
    deadline = time.monotonic() + 5
    while api.call("GET", f"/operations/{lro_id}").json().get("status") not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    api.call("GET", f"/operations/{lro_id}/result")
    api.call("GET", f"{PIPELINE}/operations/{deployment_id}")
    api.call("GET", f"{PIPELINE}/operations")
    api.call("POST", f"{PIPELINE}/deploy", {"sourceStageId": "bad"})
    api.call("GET", "/deploymentPipelines", auth=False)
    records = emulator.requests
    assert {r.operation for r in records} >= {
        "Entra_Token",
        "DeploymentPipelines_ListDeploymentPipelines",
        "DeploymentPipelines_DeployStageContent",
        "LongRunningOperations_GetOperationState",
        "LongRunningOperations_GetOperationResult",
        "DeploymentPipelines_GetDeploymentPipelineOperation",
    }
    assert 429 in {r.status for r in records}
    assert_log_conforms(records)
    assert all(r.request_headers.get("authorization") in (None, "<redacted>") for r in records)


def test_workspace_role_assignments_list_add_get_update_delete(api: EmulatorClient) -> None:
    """Workspace roles: paged list, 201 add with Location, 409 for a second add, GET, PATCH, DELETE, then 404."""
    roles_path = f"/workspaces/{DEV_WORKSPACE_ID}/roleAssignments"
    roles, _ = api.all_pages(roles_path)
    assert {(r["principal"]["id"], r["role"]) for r in roles} == {
        (SERVICE_PRINCIPAL_ID, "Admin"),
        (USER_PRINCIPAL_ID, "Member"),
    }
    body = {"principal": {"id": ANALYST_PRINCIPAL_ID, "type": "User"}, "role": "Viewer"}
    validate_request("POST", f"/v1{roles_path}", body)
    added = api.checked("POST", roles_path, body)
    assert added.status_code == 201
    assert added.headers["Location"].endswith(f"{roles_path}/{ANALYST_PRINCIPAL_ID}")
    assert added.json()["id"] == ANALYST_PRINCIPAL_ID
    again = api.checked("POST", roles_path, body)
    assert (again.status_code, again.json()["errorCode"]) == (409, "PrincipalAlreadyHasWorkspaceRolePermissions")
    one = f"{roles_path}/{ANALYST_PRINCIPAL_ID}"
    assert api.checked("GET", one).json()["principal"]["displayName"] == "Analyst"
    validate_request("PATCH", f"/v1{one}", {"role": "Contributor"})
    assert api.checked("PATCH", one, {"role": "Contributor"}).json()["role"] == "Contributor"
    assert api.checked("PATCH", one, {"role": "Owner"}).json()["errorCode"] == "InvalidParameter"
    assert api.checked("DELETE", one).status_code == 200
    gone = api.checked("GET", one)
    assert (gone.status_code, gone.json()["errorCode"]) == (404, "EntityNotFound")
    missing = api.checked("GET", f"/workspaces/{uuid.uuid4()}/roleAssignments")
    assert (missing.status_code, missing.json()["errorCode"]) == (404, "WorkspaceNotFound")


def test_create_pipeline_as_the_spec_example_makes_the_caller_its_admin(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """The spec's example request gets its 201 with the stages in order, ids and isPublic as sent; the
    caller (here a user) is the new pipeline's only Admin, so the service principal cannot rename it."""
    body = {
        "displayName": "My Deployment Pipeline Name",
        "description": "My deployment pipeline description",
        "stages": [
            {"displayName": "Development", "description": "Development stage description", "isPublic": False},
            {"displayName": "Test", "description": "Test stage description", "isPublic": False},
            {"displayName": "Production", "description": "Production stage description", "isPublic": True},
        ],
    }
    validate_request("POST", "/v1/deploymentPipelines", body)
    user_token, _ = emulator.state.issue_token(USER_PRINCIPAL_ID)
    created = api.checked("POST", "/deploymentPipelines", body, token=user_token)
    assert created.status_code == 201
    pipeline = PipelineWithStages.model_validate(created.json())
    assert [(s.order, s.display_name, s.is_public) for s in pipeline.stages] == [
        (0, "Development", False),
        (1, "Test", False),
        (2, "Production", True),
    ]
    assert [(r.principal_id, r.principal_type) for r in emulator.state.pipeline(pipeline.id).role_assignments] == [
        (USER_PRINCIPAL_ID, "User")
    ]
    refused = api.checked("PATCH", f"/deploymentPipelines/{pipeline.id}", {"displayName": "Taken over"})
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    renamed = api.checked("PATCH", f"/deploymentPipelines/{pipeline.id}", {"displayName": "Renamed"}, token=user_token)
    assert renamed.json()["displayName"] == "Renamed"


@pytest.mark.parametrize(
    "stages",
    [
        [{"displayName": "Only"}],
        [{"displayName": f"S{n}"} for n in range(11)],
        [{"displayName": "Dev"}, {"displayName": "dev"}],
        [{"displayName": "Dev"}, {"displayName": "Prod", "isPublic": "yes"}],
        [{"displayName": "Dev"}, {"displayName": "x" * 257}],
    ],
    ids=["one stage", "eleven stages", "the same name twice", "isPublic not a boolean", "a name too long"],
)
def test_create_pipeline_refuses_stages_the_service_would_refuse(api: EmulatorClient, stages: list[Any]) -> None:
    """400 InvalidInput, and no pipeline is created."""
    before = len(api.all_pages("/deploymentPipelines")[0])
    refused = api.checked("POST", "/deploymentPipelines", {"displayName": "Bad", "stages": stages})
    assert (refused.status_code, refused.json()["errorCode"]) == (400, "InvalidInput")
    assert len(api.all_pages("/deploymentPipelines")[0]) == before


def test_pipelines_are_listed_only_where_the_caller_has_a_role(api: EmulatorClient, emulator: Emulator) -> None:
    """List Deployment Pipelines: a pipeline whose role the caller lost is no longer listed; the others are."""
    before, _ = api.all_pages("/deploymentPipelines")
    assert DEMO_PIPELINE_ID in {p["id"] for p in before}
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    after, _ = api.all_pages("/deploymentPipelines")
    assert {p["id"] for p in after} == {p["id"] for p in before} - {DEMO_PIPELINE_ID}


@pytest.mark.parametrize(
    "path",
    [
        PIPELINE,
        f"{PIPELINE}/stages",
        f"{PIPELINE}/stages/{DEV_STAGE_ID}",
        f"{PIPELINE}/stages/{DEV_STAGE_ID}/items",
        f"{PIPELINE}/roleAssignments",
        f"{PIPELINE}/operations",
        f"{PIPELINE}/operations/{stable_id('history', '1')}",
    ],
)
def test_reading_a_pipeline_needs_its_admin_role(api: EmulatorClient, emulator: Emulator, path: str) -> None:
    """The spec, for each of these reads: "The caller must have an *admin* deployment pipelines role."
    Readable with it; 403 InsufficientPrivileges without."""
    assert api.checked("GET", path).status_code == 200
    emulator.state.delete_role_assignment(DEMO_PIPELINE_ID, SERVICE_PRINCIPAL_ID)
    refused = api.checked("GET", path)
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert "reading deployment pipeline 'Sales Analytics' needs its Admin role" in refused.json()["message"]


@pytest.mark.parametrize(("role", "status"), [("Member", 200), ("Contributor", 200), ("Viewer", 403), (None, 403)])
def test_listing_stage_items_needs_contributor_on_the_stage_workspace(
    api: EmulatorClient, emulator: Emulator, role: str | None, status: int
) -> None:
    """The spec: the pipeline's Admin role, and "at least a workspace contributor assigned to the specified
    stage": a Viewer, or a caller without a role in Test's workspace, is refused 403 InsufficientPrivileges
    there while the Development stage stays readable."""
    path = f"{PIPELINE}/stages/{TEST_STAGE_ID}/items"
    if role is None:
        emulator.state.workspaces[TEST_WORKSPACE_ID].roles = [
            r for r in emulator.state.workspaces[TEST_WORKSPACE_ID].roles if r.principal_id != SERVICE_PRINCIPAL_ID
        ]
    else:
        emulator.state.update_workspace_role(TEST_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, role)
    answer = api.checked("GET", path)
    assert answer.status_code == status, answer.text
    if status == 403:
        assert answer.json()["errorCode"] == "InsufficientPrivileges"
        held = f"is {role}" if role else "has no role there"
        assert answer.json()["message"].endswith(
            f"listing the items of a stage in workspace 'Sales Analytics [Test]' needs the Contributor role "
            f"or higher; the caller {held}."
        )
    else:
        assert len(answer.json()["value"]) == 2  # the first page of Test's four items
    assert api.checked("GET", f"{PIPELINE}/stages/{DEV_STAGE_ID}/items").status_code == 200


def test_the_items_of_a_stage_without_workspace_need_no_workspace_role(api: EmulatorClient) -> None:
    """A stage without a workspace has no workspace role to hold: its (empty) items list is readable."""
    path = f"/deploymentPipelines/{OPERATIONS_PIPELINE_ID}/stages/{OPERATIONS_TEST_STAGE_ID}/items"
    answer = api.checked("GET", path)
    assert (answer.status_code, answer.json()["value"]) == (200, [])


@pytest.mark.parametrize(("role", "status"), [("Member", 200), ("Contributor", 403), ("Viewer", 403)])
def test_listing_workspace_role_assignments_needs_member_or_higher(
    api: EmulatorClient, emulator: Emulator, role: str, status: int
) -> None:
    """The spec: "The caller must have *member* or higher workspace role." (the seeded Admin may list)."""
    path = f"/workspaces/{SPARE_WORKSPACE_IDS[1]}/roleAssignments"
    assert api.checked("GET", path).status_code == 200
    emulator.state.update_workspace_role(SPARE_WORKSPACE_IDS[1], SERVICE_PRINCIPAL_ID, role)
    assert api.checked("GET", path).status_code == status
