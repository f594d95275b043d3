"""The cascade seed for deploy-many and the Fabric relations/upstream API (beta) against Microsoft's spec:
cross-pipeline item relations, the caller's read permission, and per-pipeline deployment durations."""

from __future__ import annotations

import time

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import CASCADE_PIPELINE_NAMES, cascade_item_id, stable_id
from tests.support.emulator_client import EmulatorClient


def workspace(pipeline: str, stage: str = "Development") -> str:
    return stable_id("workspace", pipeline, stage)


def upstream_path(pipeline: str, item_type: str, name: str) -> str:
    return f"/workspaces/{workspace(pipeline)}/items/{cascade_item_id(pipeline, item_type, name)}/relations/upstream"


def stage(pipeline: str, name: str) -> str:
    return stable_id("stage", pipeline, name)


def test_upstream_relations_cross_pipelines_and_are_transitive(api: EmulatorClient) -> None:
    """Board Pack's report reads Executive Reports' model, which reads both Shared Models models and their lakehouse."""
    response = api.checked("GET", upstream_path("Board Pack", "Report", "Board Summary") + "?beta=true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(i["type"], i["displayName"]) for i in body["items"]} == {
        ("SemanticModel", "Executive Model"),
        ("SemanticModel", "Revenue Model"),
        ("SemanticModel", "Customer Model"),
        ("Lakehouse", "Shared Lakehouse"),
    }
    executive = cascade_item_id("Executive Reports", "SemanticModel", "Executive Model")
    board = cascade_item_id("Board Pack", "Report", "Board Summary")
    assert {"itemId": board, "dependentOnItemId": executive, "relationType": "WeakAssociation"} in body["relations"]
    assert len(body["relations"]) == 5  # Board -> Executive, Executive -> 2 models, each model -> the lakehouse
    assert {w["displayName"] for w in body["workspaces"]} == {
        "Executive Reports [Development]",
        "Shared Models [Development]",
    }
    assert {i["workspaceId"] for i in body["items"]} == {w["id"] for w in body["workspaces"]}


def test_an_item_that_reads_nothing_has_no_upstream_relations(api: EmulatorClient) -> None:
    """The shared lakehouse is at the top of the cascade: empty lists, not an error."""
    response = api.checked("GET", upstream_path("Shared Models", "Lakehouse", "Shared Lakehouse") + "?beta=true")
    assert response.status_code == 200
    assert response.json() == {"items": [], "relations": [], "workspaces": []}


def test_upstream_relations_refuse_without_beta_unknown_items_and_callers_without_a_role(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """beta=true is required; an unknown item is ItemNotFound; no role on the workspace is InsufficientPrivileges."""
    path = upstream_path("Revenue Reports", "Report", "Revenue Overview")
    without_beta = api.checked("GET", path)
    assert (without_beta.status_code, without_beta.json()["errorCode"]) == (400, "InvalidParameter")
    unknown = api.checked(
        "GET",
        f"/workspaces/{workspace('Revenue Reports')}/items/{stable_id('no such item')}/relations/upstream?beta=true",
    )
    assert (unknown.status_code, unknown.json()["errorCode"]) == (404, "ItemNotFound")
    with emulator.state.lock:  # the last Admin cannot be removed through the API
        emulator.state.workspaces[workspace("Revenue Reports")].roles.clear()
    refused = api.checked("GET", path + "?beta=true")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "InsufficientPrivileges")


def test_the_demo_principal_can_read_every_cascade_pipeline(api: EmulatorClient) -> None:
    """The six cascade pipelines are listed for the seeded principal, each with three stages that have workspaces."""
    values, _ = api.all_pages("/deploymentPipelines")
    names = {v["displayName"] for v in values}
    cascade = CASCADE_PIPELINE_NAMES
    assert set(cascade) <= names
    for name in cascade:
        pipeline = api.checked("GET", f"/deploymentPipelines/{stable_id('pipeline', name)}").json()
        assert [s["displayName"] for s in pipeline["stages"]] == ["Development", "Test", "Production"]
        assert all(s.get("workspaceId") for s in pipeline["stages"])


def test_each_pipeline_deploys_for_its_own_duration_and_one_at_a_time(api: EmulatorClient, emulator: Emulator) -> None:
    """pipeline_operation_seconds sets a pipeline's duration; a second deploy on a busy pipeline is 409."""
    shared, revenue = stable_id("pipeline", "Shared Models"), stable_id("pipeline", "Revenue Reports")
    emulator.configure(operation_seconds=0.5, pipeline_operation_seconds={shared: 2.0})
    for name in ("Shared Models", "Revenue Reports"):
        body = {"sourceStageId": stage(name, "Development"), "targetStageId": stage(name, "Test")}
        accepted = api.checked("POST", f"/deploymentPipelines/{stable_id('pipeline', name)}/deploy", body)
        assert accepted.status_code == 202, accepted.text
    body = {"sourceStageId": stage("Shared Models", "Test"), "targetStageId": stage("Shared Models", "Production")}
    busy = api.checked("POST", f"/deploymentPipelines/{shared}/deploy", body)
    assert (busy.status_code, busy.json()["errorCode"]) == (409, "DeploymentInProgress")
    durations = {d.pipeline_id: round(d.finishes_at - d.accepted_at, 3) for d in emulator.deployments}
    assert durations == {shared: 2.0, revenue: 0.5}
    time.sleep(0.6)
    assert [d.pipeline_id for d in emulator.deployments if d.finishes_at <= time.time()] == [revenue]


@pytest.mark.parametrize("bad", [{"Shared Models": 1.0}, {stable_id("pipeline", "Board Pack"): -1}, [1.0]])
def test_pipeline_operation_seconds_is_checked(emulator: Emulator, bad: object) -> None:
    """A key that is no pipeline id, or a negative duration, is refused naming the setting."""
    with pytest.raises(ValueError, match="pipeline_operation_seconds must map pipeline ids to numbers of seconds"):
        emulator.configure(pipeline_operation_seconds=bad)  # type: ignore[arg-type]


def test_a_deployment_binds_what_it_deploys_to_the_counterparts_in_its_stage(
    api: EmulatorClient, emulator: Emulator
) -> None:
    """Autobinding: a report deployed to Test before its model reads the Development model still; deployed
    again once the model is in Test, it reads the Test model (and, through it, the Test lakehouse)."""
    emulator.configure(operation_seconds=0)

    def deploy(name: str) -> None:
        body = {"sourceStageId": stage(name, "Development"), "targetStageId": stage(name, "Test")}
        accepted = api.checked("POST", f"/deploymentPipelines/{stable_id('pipeline', name)}/deploy", body)
        assert accepted.status_code == 202, accepted.text
        api.poll(f"/deploymentPipelines/{stable_id('pipeline', name)}/operations/{accepted.headers['deployment-id']}")

    def upstream_of_test_report() -> set[tuple[str, str]]:
        pipeline, test = stable_id("pipeline", "Revenue Reports"), stage("Revenue Reports", "Test")
        items, _ = api.all_pages(f"/deploymentPipelines/{pipeline}/stages/{test}/items")
        [report] = [i["itemId"] for i in items if i["itemDisplayName"] == "Revenue Overview"]
        path = f"/workspaces/{workspace('Revenue Reports', 'Test')}/items/{report}/relations/upstream?beta=true"
        body = api.checked("GET", path).json()
        names = {w["id"]: w for w in body["workspaces"]}
        return {(i["displayName"], names[i["workspaceId"]]["displayName"]) for i in body["items"]}

    deploy("Revenue Reports")
    assert upstream_of_test_report() == {
        ("Revenue Model", "Shared Models [Development]"),
        ("Shared Lakehouse", "Shared Models [Development]"),
    }
    deploy("Shared Models")
    deploy("Revenue Reports")
    assert upstream_of_test_report() == {
        ("Revenue Model", "Shared Models [Test]"),
        ("Shared Lakehouse", "Shared Models [Test]"),
    }
