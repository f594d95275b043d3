"""The spec helper itself, and the spec's own example requests: valid per the helper, accepted by the emulator."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    DEMO_PIPELINE_ID,
    DEV_ITEMS,
    DEV_STAGE_ID,
    SPARE_WORKSPACE_IDS,
    TEST_STAGE_ID,
    stable_id,
)
from fabric_ci.emulator.state import RequestRecord
from tests.support import fabric_spec
from tests.support.emulator_client import EmulatorClient
from tests.support.fabric_spec import (
    ExampleRequest,
    assert_log_conforms,
    example_requests,
    operation_for,
    validate_request,
    validate_response,
)

GUID = "db1577e0-0132-4d6d-92b9-952c359988f2"


def test_missing_spec_folder_fails_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the spec files the helper raises (so tests fail, never skip) and says where it looked."""
    monkeypatch.setenv("FABRIC_CI_SPECS", str(tmp_path))
    with pytest.raises(AssertionError, match="FABRIC_CI_SPECS"):
        fabric_spec.specs_dir()


def test_operation_for_matches_concrete_paths_to_templates() -> None:
    """Concrete paths (with a query) map to the operationId and template of the spec, literal segments first."""
    assert operation_for("GET", f"/v1/deploymentPipelines/{GUID}/operations?continuationToken=x") == (
        "DeploymentPipelines_ListDeploymentPipelineOperations",
        "/v1/deploymentPipelines/{deploymentPipelineId}/operations",
    )
    assert operation_for("GET", f"/v1/operations/{GUID}/result")[0] == "LongRunningOperations_GetOperationResult"
    assert (
        operation_for("POST", f"/v1/deploymentPipelines/{GUID}/deploy")[0] == "DeploymentPipelines_DeployStageContent"
    )
    with pytest.raises(AssertionError, match="no operation"):
        operation_for("PUT", f"/v1/deploymentPipelines/{GUID}")
    with pytest.raises(AssertionError, match="basePath"):
        operation_for("GET", "/deploymentPipelines")


def test_validate_request_names_the_operation_and_the_failing_path() -> None:
    """A bad deploy body is reported with the operationId and the JSON path of each problem."""
    with pytest.raises(AssertionError) as raised:
        validate_request(
            "POST",
            f"/v1/deploymentPipelines/{GUID}/deploy",
            {"sourceStageId": GUID, "targetStageId": GUID, "items": [{"sourceItemId": "x", "itemType": "Report"}]},
        )
    assert "DeploymentPipelines_DeployStageContent" in str(raised.value)
    assert "$.items[0].sourceItemId" in str(raised.value)


def test_validate_response_catches_schema_violations_and_undocumented_fields() -> None:
    """Wrong types, undocumented members, missing 202 headers and bad error bodies are all reported."""
    path = f"/v1/deploymentPipelines/{GUID}"
    good = {"id": GUID, "displayName": "x", "stages": []}
    validate_response("GET", path, 200, good, {})
    with pytest.raises(AssertionError, match=r"\$\.stages"):
        validate_response("GET", path, 200, {**good, "stages": "none"}, {})
    with pytest.raises(AssertionError, match=r"\$\.displayname"):
        validate_response("GET", path, 200, {**good, "displayname": "typo"}, {})
    with pytest.raises(AssertionError, match="deployment-id"):
        validate_response("POST", f"{path}/deploy", 202, None, {"Location": "x", "x-ms-operation-id": GUID})
    with pytest.raises(AssertionError, match="errorCode"):
        validate_response("GET", path, 404, {"message": "gone"}, {})
    with pytest.raises(AssertionError, match="Retry-After"):
        validate_response("GET", path, 429, {"errorCode": "RequestBlocked", "message": "slow down"}, {})


def test_assert_log_conforms_reports_a_nonconforming_record() -> None:
    """A logged exchange whose response breaks the spec makes assert_log_conforms fail, naming the operation."""
    record = RequestRecord(
        method="GET",
        path="/v1/deploymentPipelines",
        operation="DeploymentPipelines_ListDeploymentPipelines",
        status=200,
        started_at=0.0,
        finished_at=0.0,
        request_headers={},
        request_body=None,
        response_headers={},
        response_body={"value": [{"id": "not-a-guid", "displayName": "x"}]},
    )
    with pytest.raises(AssertionError, match="ListDeploymentPipelines"):
        assert_log_conforms([record])


EXAMPLES = example_requests()


def test_the_examples_with_request_bodies_are_found() -> None:
    """The spec's deployment-pipeline examples with a request body are all discovered (nine at this snapshot)."""
    assert len(EXAMPLES) >= 9
    assert {"DeployAll.json", "SelectiveDeploy.json", "AssignWorkspaceToStage.json"} <= {e.file_name for e in EXAMPLES}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.file_name for e in EXAMPLES])
def test_example_request_bodies_pass_validate_request(example: ExampleRequest) -> None:
    """Microsoft's own example request bodies are valid according to the helper."""
    validate_request(example.method, example.path, example.body)


def _with_seeded_ids(example: ExampleRequest) -> tuple[str, Any]:
    """The example's path and body with its ids swapped for ones the emulator has (same body shape)."""
    body = copy.deepcopy(example.body)
    operations_pipeline = stable_id("pipeline", "Operations Pipeline")
    match example.file_name:
        case "DeployAll.json":
            body.update(sourceStageId=DEV_STAGE_ID, targetStageId=TEST_STAGE_ID)
            return f"/deploymentPipelines/{DEMO_PIPELINE_ID}/deploy", body
        case "SelectiveDeploy.json":
            body.update(sourceStageId=DEV_STAGE_ID, targetStageId=TEST_STAGE_ID)
            used: set[str] = set()
            for item in body["items"]:
                candidates = [i for (t, _), i in DEV_ITEMS.items() if t == item["itemType"] and i not in used]
                item["sourceItemId"] = candidates[0]
                used.add(candidates[0])
            return f"/deploymentPipelines/{DEMO_PIPELINE_ID}/deploy", body
        case "AssignWorkspaceToStage.json":
            body["workspaceId"] = SPARE_WORKSPACE_IDS[2]
            stage = stable_id("stage", "Operations Pipeline", "Test")
            return f"/deploymentPipelines/{operations_pipeline}/stages/{stage}/assignWorkspace", body
        case "CreateDeploymentPipeline.json":
            return "/deploymentPipelines", body
        case "UpdateDeploymentPipeline.json":
            return f"/deploymentPipelines/{DEMO_PIPELINE_ID}", body
        case "UpdateDeploymentPipelineStage.json":
            return f"/deploymentPipelines/{DEMO_PIPELINE_ID}/stages/{DEV_STAGE_ID}", body
        case name if name.startswith("Add") and name.endswith("RoleAssignment.json"):
            body["principal"]["id"] = str(uuid.uuid4())
            return f"/deploymentPipelines/{DEMO_PIPELINE_ID}/roleAssignments", body
    raise AssertionError(f"no seeded-id mapping for the new example {example.file_name}: add one here")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.file_name for e in EXAMPLES])
def test_emulator_accepts_the_example_request_bodies(example: ExampleRequest, emulator: Emulator) -> None:
    """Given an example's body with seeded ids, the emulator answers with the documented success status."""
    api = EmulatorClient(emulator)
    try:
        path, body = _with_seeded_ids(example)
        validate_request(example.method, f"/v1{path}", body)
        response = api.checked(example.method, path, body)
        documented = {
            int(code)
            for code in fabric_spec.spec().find(example.method, example.path).spec["responses"]
            if code.isdigit()
        }
        assert response.status_code in documented - {429}, response.text
    finally:
        api.close()


@pytest.mark.parametrize("file_name", ["GetDeploymentPipelineOperation.json", "ListDeploymentPipelineOperations.json"])
def test_the_operation_examples_pass_with_their_times_as_written(file_name: str) -> None:
    """Microsoft's operation examples write lastUpdatedTime without a UTC offset ("2020-12-13T09:26:43.153")
    and pass as they are; a lastUpdatedTime that is no time at all still fails."""
    examples = fabric_spec.specs_dir() / "fabric" / "platform" / "examples" / "deploymentPipelines"
    example = json.loads((examples / file_name).read_text())
    body = example["responses"]["200"]["body"]
    path = f"/v1/deploymentPipelines/{GUID}/operations"
    if "value" not in body:
        path += f"/{GUID}"
    validate_response("GET", path, 200, body, {})
    broken = copy.deepcopy(body)
    (broken["value"][0] if "value" in broken else broken)["lastUpdatedTime"] = "13/12/2020 09:26"
    with pytest.raises(AssertionError, match="lastUpdatedTime"):
        validate_response("GET", path, 200, broken, {})


def test_power_bi_paths_are_checked_against_the_power_bi_spec() -> None:
    """Paths under /v1.0/myorg map to Power BI operations; their errors must be OData bodies."""
    assert operation_for("GET", f"/v1.0/myorg/pipelines/{GUID}/stages/1/artifacts") == (
        "Pipelines_GetPipelineStageArtifacts",
        "/v1.0/myorg/pipelines/{pipelineId}/stages/{stageOrder}/artifacts",
    )
    path = f"/v1.0/myorg/pipelines/{GUID}"
    validate_response("GET", path, 404, {"error": {"code": "EntityNotFound", "message": "gone"}}, {})
    with pytest.raises(AssertionError, match="error"):
        validate_response("GET", path, 404, {"errorCode": "EntityNotFound", "message": "gone"}, {})
    with pytest.raises(AssertionError, match=r"\$\.displayname"):
        validate_response("GET", path, 200, {"id": GUID, "displayname": "typo"}, {})


def test_power_bi_example_spellings_are_accepted() -> None:
    """The examples' "Steps" and emailAddress-only group users pass; a misspelt step list does not."""
    step = {
        "index": 0,
        "type": "ReportDeployment",
        "status": "Succeeded",
        "lastUpdatedTime": "2024-05-01T09:26:43.153Z",
        "sourceAndTarget": {"source": GUID},
    }
    operation = {"id": GUID, "status": "Succeeded", "lastUpdatedTime": "2024-05-01T09:26:43.153Z"}
    path = f"/v1.0/myorg/pipelines/{GUID}/operations/{GUID}"
    validate_response("GET", path, 200, {**operation, "executionPlan": {"Steps": [step]}}, {})
    validate_response("GET", path, 200, {**operation, "executionPlan": {"steps": [step]}}, {})
    with pytest.raises(AssertionError, match="STEPS"):
        validate_response("GET", path, 200, {**operation, "executionPlan": {"STEPS": [step]}}, {})
    validate_request(
        "POST", f"/v1.0/myorg/groups/{GUID}/users", {"emailAddress": "a@b.c", "groupUserAccessRight": "Viewer"}
    )


POWERBI_EXAMPLES = [
    (operation.operation_id, name, operation.method, operation.template, example["parameters"])
    for operation in fabric_spec.powerbi_spec().operations
    if operation.operation_id.startswith("Pipelines_")
    or operation.operation_id in ("Groups_AddGroupUser", "Groups_UpdateGroupUser")
    for name, example in operation.spec.get("x-ms-examples", {}).items()
]


@pytest.mark.parametrize("example", POWERBI_EXAMPLES, ids=[f"{e[0]}: {e[1]}" for e in POWERBI_EXAMPLES])
def test_power_bi_example_request_bodies_pass_validate_request(example: tuple[str, str, str, str, Any]) -> None:
    """Microsoft's Power BI example request bodies (pipelines, workspace users) are valid per the helper."""
    _, _, method, template, parameters = example
    body_names = [
        p["name"]
        for p in fabric_spec.powerbi_spec().find(method, template.replace("{", "").replace("}", "")).spec["parameters"]
        if p.get("in") == "body"
    ]
    if body_names:
        validate_request(method, template, parameters[body_names[0]])
