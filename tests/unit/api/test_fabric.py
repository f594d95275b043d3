"""FabricClient: paging, the deploy LRO headers, and reconciling a lost deploy answer."""

from __future__ import annotations

import httpx
import pytest
import respx

from fabric_ci.api.fabric import FabricClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.models.requests import DeployOptions, DeployRequest, NewStage, NewWorkspace
from fabric_ci.models.resources import Member, Stage, StageItem, StageUpdate

P = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
SRC, TGT = "db1577e0-0132-4d6d-92b9-952c359988f2", "f1c39546-6282-4590-8af3-847a6226ad16"


def between(source: str = SRC, target: str = TGT, **fields: object) -> DeployRequest:
    return DeployRequest(
        source=Stage(id=source, order=0, display_name="Development"),
        target=Stage(id=target, order=1, display_name="Test"),
        **fields,  # type: ignore[arg-type]
    )


def test_listing_follows_the_continuation_token_in_the_body(api: respx.MockRouter, client: FabricClient) -> None:
    """Three pages are read by sending the body's continuationToken back, ignoring headers."""
    route = api.get("/deploymentPipelines").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "value": [{"id": "1", "displayName": "a"}],
                    "continuationToken": "t1",
                    "continuationUri": "https://evil.test/steal?continuationToken=t1",
                },
            ),
            httpx.Response(200, json={"value": [{"id": "2", "displayName": "b"}], "continuationToken": "t2"}),
            httpx.Response(200, json={"value": [{"id": "3", "displayName": "c"}]}),
        ]
    )
    assert [p.id for p in client.list_pipelines()] == ["1", "2", "3"]
    sent = [c.request.url for c in route.calls]
    assert [u.params.get("continuationToken") for u in sent] == [None, "t1", "t2"]
    assert {u.host for u in sent} == {"api.fabric.test"}


def test_deploy_202_returns_the_ids(api: respx.MockRouter, client: FabricClient) -> None:
    """A 202 yields the deployment id; neither the LRO's Location URL nor its Retry-After is needed."""
    route = api.post(f"/deploymentPipelines/{P}/deploy").mock(
        return_value=httpx.Response(
            202,
            headers={
                "Location": "https://api.fabric.test/operations/lro-1",  # lacks /v1, as in Microsoft's examples
                "x-ms-operation-id": "lro-1",
                "deployment-id": "dep-1",
                "Retry-After": "30",
            },
        )
    )
    item = StageItem(item_id="i1", item_display_name="Sales", item_type="Report")
    accepted = client.deploy(P, between(items=(item,), note="n"))
    assert accepted.deployment_id == "dep-1"
    assert route.calls.last.request.read() == (
        b'{"sourceStageId":"db1577e0-0132-4d6d-92b9-952c359988f2","targetStageId":'
        b'"f1c39546-6282-4590-8af3-847a6226ad16","items":[{"sourceItemId":"i1","itemType":"Report"}],"note":"n"}'
    )


def test_deploy_200_returns_the_finished_operation(api: respx.MockRouter, client: FabricClient) -> None:
    """A synchronous 200 carries the finished operation, so nothing needs polling."""
    api.post(f"/deploymentPipelines/{P}/deploy").mock(
        return_value=httpx.Response(200, json={"id": "dep-2", "type": "Deploy", "status": "Succeeded"})
    )
    accepted = client.deploy(P, between())
    assert accepted.finished is not None
    assert accepted.finished.status == "Succeeded"


def test_deploy_answered_500_raises_ambiguous_and_is_sent_once(api: respx.MockRouter, client: FabricClient) -> None:
    """A 500 on deploy is not retried: the caller is told the answer was lost."""
    deploy = api.post(f"/deploymentPipelines/{P}/deploy").mock(return_value=httpx.Response(500, json={}))
    with pytest.raises(AmbiguousResponse):
        client.deploy(P, between())
    assert deploy.call_count == 1


def test_deploy_sends_the_new_workspace_and_cross_region_option_and_never_power_bi_options(
    api: respx.MockRouter, client: FabricClient
) -> None:
    """createdWorkspaceDetails and allowCrossRegionDeployment are Fabric's; the six Power BI options are not sent."""
    route = api.post(f"/deploymentPipelines/{P}/deploy").mock(
        return_value=httpx.Response(202, headers={"deployment-id": "dep-3"})
    )
    request = between(
        new_workspace=NewWorkspace(name="Sales [Test]", capacity_id="c1"),
        options=DeployOptions(allow_cross_region_deployment=True),
    )
    client.deploy(P, request)
    assert route.calls.last.request.read() == (
        b'{"sourceStageId":"db1577e0-0132-4d6d-92b9-952c359988f2","targetStageId":'
        b'"f1c39546-6282-4590-8af3-847a6226ad16","createdWorkspaceDetails":{"name":"Sales [Test]","capacityId":"c1"},'
        b'"options":{"allowCrossRegionDeployment":true}}'
    )


def test_unassign_workspace_posts_to_the_stage_without_a_body(api: respx.MockRouter, client: FabricClient) -> None:
    """The spec's unassignWorkspace takes no body: none is sent, and the 200's empty answer is enough."""
    route = api.post(f"/deploymentPipelines/{P}/stages/{SRC}/unassignWorkspace").mock(return_value=httpx.Response(200))
    client.unassign_workspace(P, SRC)
    assert route.call_count == 1
    assert route.calls.last.request.content == b""


def test_create_pipeline_sends_the_stages_in_order_and_reads_the_201(
    api: respx.MockRouter, client: FabricClient
) -> None:
    """The spec's CreateDeploymentPipelineRequest: a description only when given, isPublic always; the 201 body
    (the spec's example shape) is the pipeline with its stage ids."""
    answer = {
        "id": P,
        "displayName": "Sales",
        "stages": [
            {"id": SRC, "order": 0, "displayName": "Dev", "isPublic": False},
            {"id": TGT, "order": 1, "displayName": "Prod", "description": "Live", "isPublic": True},
        ],
    }
    route = api.post("/deploymentPipelines").mock(return_value=httpx.Response(201, json=answer))
    created = client.create_pipeline(
        "Sales", None, [NewStage(display_name="Dev"), NewStage(display_name="Prod", description="Live", is_public=True)]
    )
    assert route.calls.last.request.content == (
        b'{"displayName":"Sales","stages":[{"displayName":"Dev","isPublic":false},'
        b'{"displayName":"Prod","description":"Live","isPublic":true}]}'
    )
    assert [(s.id, s.display_name, s.is_public) for s in created.stages] == [(SRC, "Dev", False), (TGT, "Prod", True)]


def test_create_pipeline_answered_500_is_ambiguous_and_sent_once(api: respx.MockRouter, client: FabricClient) -> None:
    """A create is not replayed: a 500 may have created the pipeline, so the caller is told the answer was lost."""
    route = api.post("/deploymentPipelines").mock(return_value=httpx.Response(500, json={}))
    with pytest.raises(AmbiguousResponse):
        client.create_pipeline("Sales", "d", [NewStage(display_name="A"), NewStage(display_name="B")])
    assert route.call_count == 1


def test_delete_pipeline_sends_one_delete_without_a_body(api: respx.MockRouter, client: FabricClient) -> None:
    """DeleteDeploymentPipeline: DELETE on the pipeline, no body; the spec's 200 has none either."""
    route = api.delete(f"/deploymentPipelines/{P}").mock(return_value=httpx.Response(200))
    client.delete_pipeline(P)
    assert route.call_count == 1
    assert route.calls.last.request.content == b""


def test_delete_pipeline_answered_503_is_ambiguous_and_sent_once(api: respx.MockRouter, client: FabricClient) -> None:
    """Not replayed blindly: a 503 may follow a deletion, so the caller is told and must look."""
    route = api.delete(f"/deploymentPipelines/{P}").mock(return_value=httpx.Response(503, json={}))
    with pytest.raises(AmbiguousResponse):
        client.delete_pipeline(P)
    assert route.call_count == 1


def test_update_stage_patches_the_spec_body_and_returns_the_stage(api: respx.MockRouter, client: FabricClient) -> None:
    """The body is exactly the fields given (displayName always); the 200's stage is returned."""
    stage = {"id": SRC, "order": 0, "displayName": "Dev", "description": "d", "isPublic": True}
    route = api.patch(f"/deploymentPipelines/{P}/stages/{SRC}").mock(return_value=httpx.Response(200, json=stage))
    updated = client.update_stage(P, SRC, StageUpdate(display_name="Dev", is_public=True))
    assert route.calls.last.request.content == b'{"displayName":"Dev","isPublic":true}'
    assert (updated.display_name, updated.is_public) == ("Dev", True)


def test_update_stage_is_not_replayed_after_a_503(api: respx.MockRouter, client: FabricClient) -> None:
    """The PATCH is sent once: a replay could undo someone's rename made in between, so a 503 (which may
    have acted) is AmbiguousResponse, for update-stage to read the stage and decide."""
    route = api.patch(f"/deploymentPipelines/{P}/stages/{SRC}").mock(return_value=httpx.Response(503, json={}))
    with pytest.raises(AmbiguousResponse):
        client.update_stage(P, SRC, StageUpdate(display_name="Dev"))
    assert route.call_count == 1


def test_a_pipeline_role_is_deleted_by_principal_id_and_a_503_is_not_resent(
    api: respx.MockRouter, client: FabricClient
) -> None:
    """DELETE .../roleAssignments/{principalId}, sent once: a 503 may have acted, so it is AmbiguousResponse."""
    member = Member(principal_id=SRC, principal_type="Group", role="Admin")
    route = api.delete(f"/deploymentPipelines/{P}/roleAssignments/{SRC}").mock(return_value=httpx.Response(503))
    with pytest.raises(AmbiguousResponse):
        client.remove_pipeline_member(P, member)
    assert route.call_count == 1
    assert route.calls.last.request.content == b""


def test_a_workspace_role_is_deleted_by_its_role_assignment_id(api: respx.MockRouter, client: FabricClient) -> None:
    """The workspace delete takes the role assignment's id from the listing, not the principal's id."""
    api.get(f"/workspaces/{TGT}/roleAssignments").mock(
        return_value=httpx.Response(
            200, json={"value": [{"id": "ra-1", "principal": {"id": SRC, "type": "User"}, "role": "Viewer"}]}
        )
    )
    route = api.delete(f"/workspaces/{TGT}/roleAssignments/ra-1").mock(return_value=httpx.Response(200))
    (member,) = client.list_workspace_members(TGT)
    client.remove_workspace_member(TGT, member)
    assert route.call_count == 1
