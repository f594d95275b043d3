"""PowerBiClient: every Power BI shape normalised to the Fabric terms operations use."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from fabric_ci.api.powerbi import ADMIN_THROTTLED_HINT, PowerBiClient
from fabric_ci.api.transport import AmbiguousResponse, Transport
from fabric_ci.errors import ApiConnectionError, BadRequestError, InputError, NotFoundError, ThrottledError
from fabric_ci.models.requests import DeployOptions, DeployRequest, NewStage, NewWorkspace
from fabric_ci.models.resources import Member, PrincipalRef, Stage, StageItem, StageUpdate

from .conftest import FakeTokens, VirtualClock, retries

BASE = "https://api.powerbi.test/v1.0/myorg"
P = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
DEV = Stage(id="0", order=0, display_name="Development", workspace_id="w0")
TEST = Stage(id="1", order=1, display_name="Test", workspace_id="w1")


@pytest.fixture
def pbi() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def make_client(tokens: FakeTokens, virtual: VirtualClock, *, admin: bool = False) -> Iterator[PowerBiClient]:
    with httpx.Client() as http:
        policy = retries(virtual, attempts=2, total_seconds=5, wait_initial=0.01, wait_max=0.01)
        transport = Transport(http, BASE, tokens, policy, redirect_domains=("analysis.windows.test",))
        yield PowerBiClient(transport, admin=admin)


@pytest.fixture
def client(tokens: FakeTokens, virtual: VirtualClock) -> Iterator[PowerBiClient]:
    yield from make_client(tokens, virtual)


@pytest.fixture
def admin_client(tokens: FakeTokens, virtual: VirtualClock) -> Iterator[PowerBiClient]:
    yield from make_client(tokens, virtual, admin=True)


def sent(route: respx.Route) -> object:
    return json.loads(route.calls.last.request.read())


def test_stages_are_addressed_by_order_and_named(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """A stage's id is its order; its name is the Power BI UI's; the pipeline is read with stages expanded."""
    route = pbi.get(f"/pipelines/{P}").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": P,
                "displayName": "Sales",
                "stages": [{"order": 2}, {"order": 0, "workspaceId": "w0", "workspaceName": "Sales [Dev]"}],
            },
        )
    )
    pipeline = client.get_pipeline(P)
    assert route.calls.last.request.url.params["$expand"] == "stages"
    assert [(s.id, s.order, s.display_name, s.workspace_id) for s in pipeline.stages] == [
        ("0", 0, "Development", "w0"),
        ("2", 2, "Production", None),
    ]


def test_stage_artifacts_become_items_with_fabric_type_names(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """The five arrays flatten into items; a dataset is a SemanticModel; `artifactName` (as in
    Microsoft's example) is read like `artifactDisplayName`."""
    pbi.get(f"/pipelines/{P}/stages/1/artifacts").mock(
        return_value=httpx.Response(
            200,
            json={
                "datasets": [{"artifactId": "d1", "artifactName": "Sales Dataset", "targetArtifactId": "t1"}],
                "reports": [{"artifactId": "r1", "artifactDisplayName": "Sales"}],
                "dashboards": [],
                "dataflows": [{"artifactId": "f1", "artifactDisplayName": "Flow"}],
            },
        )
    )
    items = client.list_stage_items(P, "1")
    assert [(i.item_id, i.item_type, i.item_display_name) for i in items] == [
        ("d1", "SemanticModel", "Sales Dataset"),
        ("r1", "Report", "Sales"),
        ("f1", "Dataflow", "Flow"),
    ]
    assert items[0].target_item_id == "t1"


def test_operation_is_normalised(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Executing is Running; `Steps` (as in Microsoft's example) is read; step types, sourceAndTarget,
    errorDetails and the ...ArtifactsCount diff counts map to the Fabric names."""
    pbi.get(f"/pipelines/{P}/operations/op-1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "op-1",
                "type": "Deploy",
                "status": "Executing",
                "lastUpdatedTime": "2020-12-13T09:26:43.153",
                "sourceStageOrder": 0,
                "targetStageOrder": 1,
                "executionPlan": {
                    "Steps": [
                        {
                            "index": 0,
                            "type": "DatasetDeployment",
                            "status": "Succeeded",
                            "preDeploymentDiffState": "NoDifference",
                            "sourceAndTarget": {"source": "d1", "sourceDisplayName": "Sales", "target": "t1"},
                        },
                        {
                            "index": 1,
                            "type": "ReportDeployment",
                            "status": "Executing",
                            "sourceAndTarget": {"source": "r1", "sourceDisplayName": "Report"},
                            "error": {"errorCode": "Oops", "errorDetails": "what went wrong"},
                        },
                    ]
                },
                "preDeploymentDiffInformation": {
                    "newArtifactsCount": 1,
                    "differentArtifactsCount": 0,
                    "noDifferenceArtifactsCount": 1,
                },
            },
        )
    )
    op = client.get_deployment(P, "op-1")
    assert (op.status, op.source_stage_id, op.target_stage_id) == ("Running", "0", "1")
    assert [(s.status, s.source_and_target and s.source_and_target.item_type) for s in op.steps] == [
        ("Succeeded", "SemanticModel"),
        ("Running", "Report"),
    ]
    assert op.steps[0].source_and_target is not None
    assert op.steps[0].source_and_target.source_item_display_name == "Sales"
    assert op.steps[1].error is not None
    assert (op.steps[1].error.error_code, op.steps[1].error.message) == ("Oops", "what went wrong")
    assert op.pre_deployment_diff_information is not None
    assert op.pre_deployment_diff_information.new_items_count == 1


def test_deploy_all_sends_every_option_and_the_operation_id_comes_from_the_body(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """deployAll: source by order, all six options (the API fails a deployment that needs an unset
    one), update-app and the note; the 202's body names the operation."""
    route = pbi.post(f"/pipelines/{P}/deployAll").mock(
        return_value=httpx.Response(202, json={"id": "op-9", "status": "NotStarted", "lastUpdatedTime": "2020-12-13"})
    )
    request = DeployRequest(
        source=DEV, target=TEST, note="n", update_app=True, options=DeployOptions(allow_purge_data=True)
    )
    accepted = client.deploy(P, request)
    assert accepted.deployment_id == "op-9"
    assert sent(route) == {
        "sourceStageOrder": 0,
        "options": {
            "allowCreateArtifact": True,
            "allowOverwriteArtifact": True,
            "allowOverwriteTargetArtifactLabel": False,
            "allowPurgeData": True,
            "allowSkipTilesWithMissingPrerequisites": False,
            "allowTakeOver": False,
        },
        "note": "n",
        "updateAppSettings": {"updateAppInTargetWorkspace": True},
    }


def test_selective_backward_deploy_sends_arrays_by_type_and_a_new_workspace(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """Chosen items go in their type's array as {sourceId}; a target before the source is
    isBackwardDeployment; new-workspace-name becomes newWorkspace."""
    route = pbi.post(f"/pipelines/{P}/deploy").mock(
        return_value=httpx.Response(202, json={"id": "op-1", "status": "NotStarted", "lastUpdatedTime": "2020-12-13"})
    )
    items = (
        StageItem(item_id="d1", item_display_name="Model", item_type="SemanticModel"),
        StageItem(item_id="r1", item_display_name="Sales", item_type="Report"),
        StageItem(item_id="r2", item_display_name="Costs", item_type="Report"),
    )
    request = DeployRequest(
        source=TEST, target=DEV, items=items, new_workspace=NewWorkspace(name="Sales [Dev]", capacity_id="c1")
    )
    client.deploy(P, request)
    body = sent(route)
    assert isinstance(body, dict)
    assert body["sourceStageOrder"] == 1
    assert body["isBackwardDeployment"] is True
    assert body["newWorkspace"] == {"name": "Sales [Dev]", "capacityId": "c1"}
    assert body["datasets"] == [{"sourceId": "d1"}]
    assert body["reports"] == [{"sourceId": "r1"}, {"sourceId": "r2"}]
    assert "dashboards" not in body


def test_another_400_with_update_app_keeps_its_own_error(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Only the opaque 400 is blamed on update-app; a refusal with its own code keeps it."""
    pbi.post(f"/pipelines/{P}/deployAll").mock(
        return_value=httpx.Response(400, json={"error": {"code": "NoItemsToDeploy", "message": "Nothing to deploy"}})
    )
    with pytest.raises(BadRequestError, match="NoItemsToDeploy"):
        client.deploy(P, DeployRequest(source=DEV, target=TEST, update_app=True))


@pytest.mark.parametrize(
    "body",
    [
        {"id": "op-5", "status": "NotStarted", "lastUpdatedTime": "2020-12-13"},
        {"value": [{"id": "op-5", "status": "NotStarted", "lastUpdatedTime": "2020-12-13"}]},  # as in the examples
    ],
)
def test_the_202_body_names_the_operation_either_way(
    pbi: respx.MockRouter, client: PowerBiClient, body: dict[str, object]
) -> None:
    pbi.post(f"/pipelines/{P}/deployAll").mock(return_value=httpx.Response(202, json=body))
    assert client.deploy(P, DeployRequest(source=DEV, target=TEST)).deployment_id == "op-5"


def test_an_unreadable_202_is_a_lost_answer_not_a_crash(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """The deployment may have started: the caller must look for it (AmbiguousResponse), not re-send."""
    route = pbi.post(f"/pipelines/{P}/deployAll").mock(return_value=httpx.Response(202, text="<html>proxy</html>"))
    with pytest.raises(AmbiguousResponse):
        client.deploy(P, DeployRequest(source=DEV, target=TEST))
    assert route.call_count == 1


def test_update_app_refused_with_400_says_what_to_do(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """The opaque 400 for update-app without an app becomes an input error on update-app, with the fix."""
    pbi.post(f"/pipelines/{P}/deployAll").mock(
        return_value=httpx.Response(400, json={"error": {"code": "InvalidRequest", "message": "Bad request"}})
    )
    with pytest.raises(InputError) as raised:
        client.deploy(P, DeployRequest(source=DEV, target=TEST, update_app=True))
    assert raised.value.input_name == "update-app"
    assert "has no app" in str(raised.value)
    assert "update-app: false" in str(raised.value)


def test_users_are_identified_by_upn_or_object_id_and_app_is_a_service_principal(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """Pipeline users: App <-> ServicePrincipal both ways; accessRight Admin."""
    pbi.get(f"/pipelines/{P}/users").mock(
        return_value=httpx.Response(
            200,
            json={
                "value": [
                    {"identifier": "john@contoso.com", "principalType": "User", "accessRight": "Admin"},
                    {"identifier": "a35d842b", "principalType": "App", "accessRight": "Admin"},
                ]
            },
        )
    )
    add = pbi.post(f"/pipelines/{P}/users").mock(return_value=httpx.Response(200))
    members = client.list_pipeline_members(P)
    assert [(m.principal_id, m.principal_type, m.role) for m in members] == [
        ("john@contoso.com", "User", "Admin"),
        ("a35d842b", "ServicePrincipal", "Admin"),
    ]
    client.add_pipeline_member(P, PrincipalRef(id="sp-1", type="ServicePrincipal"), "Admin")
    assert sent(add) == {"identifier": "sp-1", "principalType": "App", "accessRight": "Admin"}


def test_workspace_users_add_and_change(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Workspace users: POST to add, PUT to change the role, groupUserAccessRight either way."""
    pbi.get("/groups/w1/users").mock(
        return_value=httpx.Response(
            200, json={"value": [{"identifier": "g1", "principalType": "Group", "groupUserAccessRight": "Viewer"}]}
        )
    )
    post = pbi.post("/groups/w1/users").mock(return_value=httpx.Response(200))
    put = pbi.put("/groups/w1/users").mock(return_value=httpx.Response(200))
    assert [(m.principal_id, m.role) for m in client.list_workspace_members("w1")] == [("g1", "Viewer")]
    client.add_workspace_member("w1", PrincipalRef(id="a@contoso.com", type="User"), "Member")
    (member,) = client.list_workspace_members("w1")
    client.change_workspace_role("w1", member, "Contributor")
    assert sent(post) == {"identifier": "a@contoso.com", "principalType": "User", "groupUserAccessRight": "Member"}
    assert sent(put) == {"identifier": "g1", "principalType": "Group", "groupUserAccessRight": "Contributor"}


def test_admin_mode_reads_one_listing_for_the_pipeline_and_its_users(
    pbi: respx.MockRouter, admin_client: PowerBiClient
) -> None:
    """With admin, one /admin/pipelines request (users and stages expanded) serves the pipeline and
    its users: the admin API allows 200 requests an hour. The user is added through the admin API."""
    listing = pbi.get("/admin/pipelines").mock(
        return_value=httpx.Response(
            200,
            json={
                "value": [
                    {
                        "id": P,
                        "displayName": "Sales",
                        "stages": [{"order": 0}],
                        "users": [{"identifier": "g1", "principalType": "Group", "accessRight": "Admin"}],
                    }
                ]
            },
        )
    )
    add = pbi.post(f"/admin/pipelines/{P}/users").mock(return_value=httpx.Response(200))
    assert [p.display_name for p in admin_client.list_pipelines()] == ["Sales"]
    assert admin_client.get_pipeline(P.upper()).stages[0].display_name == "Development"
    assert [m.principal_id for m in admin_client.list_pipeline_members(P)] == ["g1"]
    admin_client.add_pipeline_member(P, PrincipalRef(id="u@contoso.com", type="User"), "Admin")
    assert listing.call_count == 1
    assert set(listing.calls.last.request.url.params["$expand"].split(",")) == {"users", "stages"}
    assert sent(add) == {"identifier": "u@contoso.com", "principalType": "User", "accessRight": "Admin"}
    with pytest.raises(NotFoundError):
        admin_client.get_pipeline("00000000-0000-0000-0000-000000000000")


def test_admin_listing_pages_past_5000(pbi: respx.MockRouter, admin_client: PowerBiClient) -> None:
    """A full page of 5000 means another page, asked with $skip."""
    first = [{"id": f"p{i}", "displayName": f"P{i}"} for i in range(5000)]
    listing = pbi.get("/admin/pipelines").mock(
        side_effect=[httpx.Response(200, json={"value": first}), httpx.Response(200, json={"value": [{"id": P}]})]
    )
    assert admin_client.get_pipeline(P).id == P
    assert [c.request.url.params["$skip"] for c in listing.calls] == ["0", "5000"]


def test_admin_quota_exhausted_says_so(pbi: respx.MockRouter, admin_client: PowerBiClient) -> None:
    """A 429 whose Retry-After is beyond the retry budget is reported with the hourly quota's hint."""
    pbi.get("/admin/pipelines").mock(return_value=httpx.Response(429, headers={"Retry-After": "1800"}))
    with pytest.raises(ThrottledError) as raised:
        admin_client.list_pipelines()
    assert ADMIN_THROTTLED_HINT in str(raised.value)


def test_a_307_is_followed_with_the_token_to_the_resource_domain_only(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """The Power BI API may redirect a request to another cluster: it is re-sent there, with the
    same method, body and token, when the host belongs to the token's resource domain; elsewhere
    it is not followed at all."""
    cluster = "https://wabi-west.analysis.windows.test/v1.0/myorg"
    pbi.post(f"/pipelines/{P}/deployAll").mock(
        return_value=httpx.Response(307, headers={"Location": f"{cluster}/pipelines/{P}/deployAll"})
    )
    with respx.mock(base_url=cluster, assert_all_called=True) as other:
        there = other.post(f"/pipelines/{P}/deployAll").mock(
            return_value=httpx.Response(202, json={"id": "op-3", "status": "NotStarted", "lastUpdatedTime": "2020"})
        )
        assert client.deploy(P, DeployRequest(source=DEV, target=TEST)).deployment_id == "op-3"
    request = there.calls.last.request
    assert request.headers["Authorization"] == "Bearer token-1"
    assert json.loads(request.read())["sourceStageOrder"] == 0

    for elsewhere in (
        "https://evil.test/v1.0/myorg/pipelines",
        "http://wabi-west.analysis.windows.test/v1.0/myorg/pipelines",  # a downgrade
        "https://wabi-west.analysis.windows.test:8443/v1.0/myorg/pipelines",  # another port
    ):
        pbi.get("/pipelines").mock(return_value=httpx.Response(307, headers={"Location": elsewhere}))
        with pytest.raises(ApiConnectionError, match="not followed"):
            client.list_pipelines()


def test_a_307_then_a_lost_answer_on_deploy_is_ambiguous_and_sent_once_per_hop(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """After a redirect the deploy POST is still never re-sent on a 5xx."""
    cluster = "https://wabi-west.analysis.windows.test/v1.0/myorg"
    first = pbi.post(f"/pipelines/{P}/deployAll").mock(
        return_value=httpx.Response(307, headers={"Location": f"{cluster}/pipelines/{P}/deployAll"})
    )
    with respx.mock(base_url=cluster) as other:
        there = other.post(f"/pipelines/{P}/deployAll").mock(return_value=httpx.Response(502))
        with pytest.raises(AmbiguousResponse):
            client.deploy(P, DeployRequest(source=DEV, target=TEST))
    assert (first.call_count, there.call_count) == (1, 1)


def test_unassign_workspace_addresses_the_stage_by_order_without_a_body(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """Pipelines_UnassignWorkspace: the stage's order in the path, no body."""
    route = pbi.post(f"/pipelines/{P}/stages/1/unassignWorkspace").mock(return_value=httpx.Response(200))
    client.unassign_workspace(P, TEST.id)
    assert route.call_count == 1
    assert route.calls.last.request.content == b""


def test_create_pipeline_sends_only_name_and_description_and_knows_the_three_stages(
    pbi: respx.MockRouter, client: PowerBiClient
) -> None:
    """Pipelines_CreatePipeline takes no stages and answers {id, displayName, description}: the three stages are
    known by order without another request."""
    answer = {"id": P, "displayName": "Sales", "description": "d"}
    route = pbi.post("/pipelines").mock(return_value=httpx.Response(201, json=answer))
    created = client.create_pipeline(
        "Sales", "d", [NewStage(display_name=n) for n in ("Development", "Test", "Production")]
    )
    assert json.loads(route.calls.last.request.content) == {"displayName": "Sales", "description": "d"}
    assert (created.id, created.description) == (P, "d")
    assert [(s.id, s.display_name, s.workspace_id) for s in created.stages] == [
        ("0", "Development", None),
        ("1", "Test", None),
        ("2", "Production", None),
    ]
    assert len(pbi.calls) == 1


def test_create_pipeline_with_an_unreadable_201_is_ambiguous(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """A 201 without a pipeline in it did create one: the caller must look for it, not send the create again."""
    route = pbi.post("/pipelines").mock(return_value=httpx.Response(201, text="<html>"))
    with pytest.raises(AmbiguousResponse):
        client.create_pipeline("Sales", None, [])
    assert route.call_count == 1


def test_delete_pipeline_sends_one_delete_without_a_body(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Pipelines_DeletePipeline: DELETE on the pipeline, no body, sent once even when answered 503."""
    route = pbi.delete(f"/pipelines/{P}").mock(side_effect=[httpx.Response(200), httpx.Response(503, json={})])
    client.delete_pipeline(P)
    assert route.calls.last.request.content == b""
    with pytest.raises(AmbiguousResponse):
        client.delete_pipeline(P)
    assert route.call_count == 2


def test_update_stage_is_refused_without_a_request(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """The Power BI API has no stage update: an input error naming api, and nothing sent."""
    with pytest.raises(InputError) as raised:
        client.update_stage(P, "1", StageUpdate(display_name="QA"))
    assert raised.value.input_name == "api"
    assert not pbi.calls


def test_a_pipeline_user_is_deleted_by_upn_quoted_and_sent_once(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Pipelines_DeletePipelineUser by the user's UPN: a guest's `#EXT#` is quoted (a bare `#` would end the
    path), and a 503 is AmbiguousResponse after one request."""
    guest = Member(principal_id="john_contoso.com#EXT#@test.com", principal_type="User", role="Admin")
    route = pbi.delete(url__regex=rf"/pipelines/{P}/users/.+").mock(return_value=httpx.Response(503))
    with pytest.raises(AmbiguousResponse):
        client.remove_pipeline_member(P, guest)
    assert route.call_count == 1
    assert route.calls.last.request.url.raw_path.decode().endswith("/users/john_contoso.com%23EXT%23@test.com")


def test_a_workspace_user_is_deleted_by_object_id(pbi: respx.MockRouter, client: PowerBiClient) -> None:
    """Groups_DeleteUserInGroup takes a service principal's object id in the path, and no body."""
    app = Member(principal_id=P, principal_type="ServicePrincipal", role="Member")
    route = pbi.delete(f"/groups/{P}/users/{P}").mock(return_value=httpx.Response(200))
    client.remove_workspace_member(P, app)
    assert route.call_count == 1
    assert route.calls.last.request.content == b""
