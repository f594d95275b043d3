"""The emulator's getDefinition against Microsoft's spec: a long-running operation, the caller's role checked,
types without a definition refused as the service refuses them."""

from __future__ import annotations

import base64
import json

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    DEV_ITEMS,
    DEV_WORKSPACE_ID,
    SERVICE_PRINCIPAL_ID,
    TEST_ITEMS,
    TEST_WORKSPACE_ID,
)
from fabric_ci.models.resources import ItemDefinition, LongRunningOperationState
from tests.support.emulator_client import EmulatorClient


def definition_of(api: EmulatorClient, workspace: str, item: str) -> ItemDefinition:
    accepted = api.checked("POST", f"/workspaces/{workspace}/items/{item}/getDefinition")
    assert accepted.status_code == 202
    operation = accepted.headers["x-ms-operation-id"]
    assert accepted.headers["Location"].endswith(f"/operations/{operation}")
    assert int(accepted.headers["Retry-After"]) >= 1
    states = [LongRunningOperationState.model_validate(s) for s in api.wait(operation)]
    assert states[-1].status == "Succeeded"
    result = api.checked("GET", f"/operations/{operation}/result")
    assert result.status_code == 200
    return ItemDefinition.model_validate(result.json()["definition"])


def texts(definition: ItemDefinition) -> dict[str, str]:
    return {p.path: base64.b64decode(p.payload).decode() for p in definition.parts}


def test_get_definition_is_a_long_running_operation_with_a_platform_part(
    api: EmulatorClient, emulator: Emulator
) -> None:
    emulator.configure(definition_seconds=1.0)
    item = DEV_ITEMS[("Report", "Sales Overview")]
    early = api.checked("POST", f"/workspaces/{DEV_WORKSPACE_ID}/items/{item}/getDefinition")
    not_yet = api.checked("GET", f"/operations/{early.headers['x-ms-operation-id']}/result")
    assert not_yet.status_code == 400
    assert not_yet.json()["errorCode"] == "OperationNotCompleted"
    parts = texts(definition_of(api, DEV_WORKSPACE_ID, item))
    assert set(parts) == {"definition.pbir", "report.json", ".platform"}
    platform = json.loads(parts[".platform"])
    assert platform["metadata"] == {"type": "Report", "displayName": "Sales Overview"}
    assert DEV_WORKSPACE_ID in parts["definition.pbir"]


def test_paired_items_of_one_version_differ_only_in_what_a_deployment_rebinds(api: EmulatorClient) -> None:
    """Sales Model is at the same version in Development and Test; Sales Overview is newer in Development."""
    dev_model = texts(definition_of(api, DEV_WORKSPACE_ID, DEV_ITEMS[("SemanticModel", "Sales Model")]))
    test_model = texts(definition_of(api, TEST_WORKSPACE_ID, TEST_ITEMS[("SemanticModel", "Sales Model")]))
    assert dev_model["model.bim"] == test_model["model.bim"]
    assert dev_model[".platform"] != test_model[".platform"]  # the logicalId
    dev_report = texts(definition_of(api, DEV_WORKSPACE_ID, DEV_ITEMS[("Report", "Sales Overview")]))
    test_report = texts(definition_of(api, TEST_WORKSPACE_ID, TEST_ITEMS[("Report", "Sales Overview")]))
    assert dev_report["report.json"] != test_report["report.json"]


def test_a_type_without_a_definition_and_an_unknown_item_are_refused(api: EmulatorClient) -> None:
    dashboard = DEV_ITEMS[("Dashboard", "Sales Dashboard")]
    refused = api.checked("POST", f"/workspaces/{DEV_WORKSPACE_ID}/items/{dashboard}/getDefinition")
    assert (refused.status_code, refused.json()["errorCode"]) == (400, "OperationNotSupportedForItem")
    unknown = api.checked("POST", f"/workspaces/{DEV_WORKSPACE_ID}/items/{TEST_WORKSPACE_ID}/getDefinition")
    assert (unknown.status_code, unknown.json()["errorCode"]) == (404, "ItemNotFound")


def test_get_definition_needs_contributor_or_higher_on_the_workspace(api: EmulatorClient, emulator: Emulator) -> None:
    """The spec: "The caller must have *read and write* permissions for the item"."""
    emulator.state.update_workspace_role(DEV_WORKSPACE_ID, SERVICE_PRINCIPAL_ID, "Viewer")
    item = DEV_ITEMS[("Report", "Sales Overview")]
    refused = api.checked("POST", f"/workspaces/{DEV_WORKSPACE_ID}/items/{item}/getDefinition")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")
    assert "the caller is Viewer" in refused.json()["message"]
