"""The Fabric REST API's deployment-pipeline endpoints, returning typed models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fabric_ci.api.pagination import iter_values
from fabric_ci.api.transport import AmbiguousResponse, Transport
from fabric_ci.auth.token import token_principal
from fabric_ci.errors import ApiError, BadRequestError, DefinitionUnavailable, NotFoundError, RelationsUnavailable
from fabric_ci.models.requests import DeployRequest, NewStage
from fabric_ci.models.resources import (
    DefinitionFetch,
    DeployAccepted,
    DeploymentOperation,
    ItemDefinition,
    LongRunningOperationState,
    Member,
    Pipeline,
    PipelineWithStages,
    PrincipalRef,
    RelatedItem,
    Relations,
    Stage,
    StageItem,
    StageUpdate,
)


class FabricClient:
    """The Fabric REST API (`/v1`); implements api.client.PipelinesClient."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list_pipelines(self) -> list[Pipeline]:
        return [Pipeline.model_validate(v) for v in iter_values(self._t, "deploymentPipelines")]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        return PipelineWithStages.model_validate(self._t.get_json(f"deploymentPipelines/{pipeline_id}"))

    def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}/items"
        return [StageItem.model_validate(v) for v in iter_values(self._t, path)]

    def list_deployments(self, pipeline_id: str, *, time_left: float | None = None) -> list[DeploymentOperation]:
        """The pipeline's most recent operations (the service keeps 20), newest first."""
        path = f"deploymentPipelines/{pipeline_id}/operations"
        return [DeploymentOperation.model_validate(v) for v in iter_values(self._t, path, time_left)]

    def get_deployment(
        self, pipeline_id: str, deployment_id: str, *, time_left: float | None = None
    ) -> DeploymentOperation:
        path = f"deploymentPipelines/{pipeline_id}/operations/{deployment_id}"
        return DeploymentOperation.model_validate(self._t.get_json(path, time_left=time_left))

    def deploy(self, pipeline_id: str, request: DeployRequest) -> DeployAccepted:
        """Start a deployment. Sent at most once: when its answer is lost, AmbiguousResponse is
        raised and the caller must look for the deployment rather than send it again.

        A backward deployment needs no flag here: the target simply comes before the source.
        The Power BI-only options (update-app, the six allow-*) were refused at input validation.
        """
        body: dict[str, Any] = {"sourceStageId": request.source.id, "targetStageId": request.target.id}
        if request.items is not None:
            body["items"] = [{"sourceItemId": i.item_id, "itemType": i.item_type} for i in request.items]
        if request.sent_note:
            body["note"] = request.sent_note
        if request.new_workspace:
            details = {"name": request.new_workspace.name}
            if request.new_workspace.capacity_id:
                details["capacityId"] = request.new_workspace.capacity_id
            body["createdWorkspaceDetails"] = details
        if request.options.allow_cross_region_deployment is not None:
            body["options"] = {"allowCrossRegionDeployment": request.options.allow_cross_region_deployment}
        response = self._t.request("POST", f"deploymentPipelines/{pipeline_id}/deploy", json=body, replay_safe=False)
        if response.status_code == 200:  # finished synchronously: the body is the operation
            try:
                finished = DeploymentOperation.model_validate(response.json())
            except ValueError:  # it was acted on, but we cannot tell which deployment it is
                raise AmbiguousResponse("The deploy answer (200) is not a deployment operation", response) from None
            return DeployAccepted(deployment_id=finished.id, finished=finished)
        deployment_id = response.headers.get("deployment-id")
        if not deployment_id:
            # Accepted, but without the id to follow it by: as good as a lost answer.
            raise AmbiguousResponse(
                f"The service accepted the deployment ({response.status_code}) without a deployment-id header", response
            )
        # The answer's Retry-After is the long-running-operation URL's hint; we poll the pipeline
        # operation instead, on our own plan (api/polling.py), so it is not kept.
        return DeployAccepted(deployment_id=deployment_id)

    def signed_in_principal(self) -> str | None:
        return token_principal(self._t.access_token())

    def create_pipeline(
        self, display_name: str, description: str | None, stages: Sequence[NewStage]
    ) -> PipelineWithStages:
        """DeploymentPipelines_CreateDeploymentPipeline: 201 with the pipeline and its stages (ids, orders)."""
        body: dict[str, Any] = {"displayName": display_name}
        if description is not None:
            body["description"] = description
        body["stages"] = [
            {"displayName": s.display_name, **({"description": s.description} if s.description else {}),
             "isPublic": s.is_public}
            for s in stages
        ]  # fmt: skip
        response = self._t.request("POST", "deploymentPipelines", json=body, replay_safe=False)
        try:
            return PipelineWithStages.model_validate(response.json())
        except ValueError:  # created, but we cannot tell its id from this answer
            raise AmbiguousResponse(
                f"The create answer ({response.status_code}) is not a deployment pipeline", response
            ) from None

    def requests_sent(self) -> int:
        return self._t.requests_sent

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None:
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}/assignWorkspace"
        self._t.request("POST", path, json={"workspaceId": workspace_id})

    def unassign_workspace(self, pipeline_id: str, stage_id: str) -> None:
        """Sent once: a lost answer is AmbiguousResponse, for the caller to look at the stage."""
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}/unassignWorkspace"
        self._t.request("POST", path, replay_safe=False)

    def delete_pipeline(self, pipeline_id: str) -> None:
        """Sent once: a lost answer is AmbiguousResponse, for the caller to look for the pipeline."""
        self._t.request("DELETE", f"deploymentPipelines/{pipeline_id}", replay_safe=False)

    def update_stage(self, pipeline_id: str, stage_id: str, changes: StageUpdate) -> Stage:
        # Sent once: a replayed rename could undo a rename someone made between the two; a lost answer is
        # AmbiguousResponse, for update-stage to read the stage and decide.
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}"
        response = self._t.request("PATCH", path, json=changes.body(), replay_safe=False)
        try:
            return Stage.model_validate(response.json())
        except ValueError:  # the 200 carries the stage (the spec); without it, read it back
            return Stage.model_validate(self._t.get_json(path))

    def upstream_relations(self, workspace_id: str, item_id: str) -> list[RelatedItem]:
        # A beta API: its `beta=true` is required, and it may change or go. Only its absence (a 400 for the
        # parameter, a 404 that is not about the item) is "unavailable", for deploy-many to fall back on
        # the explicit order. Anything else (throttling, an outage, an item not found, a 403) stays an
        # error: dropping the inferred order then would deploy reports beside the models they read.
        path = f"workspaces/{workspace_id}/items/{item_id}/relations/upstream"
        try:
            body = self._t.get_json(path, params={"beta": "true"})
        except (BadRequestError, NotFoundError) as error:
            if error.details.error_code in ("ItemNotFound", "WorkspaceNotFound"):
                raise
            raise RelationsUnavailable(error.message) from error
        return Relations.model_validate(body).items

    def start_item_definition(self, workspace_id: str, item_id: str, *, time_left: float) -> DefinitionFetch:
        """`getDefinition`: answered 200 with the definition, or 202 with a long-running operation
        to poll (`poll_item_definition`) no sooner than its Retry-After. A read, so safe to resend:
        the transport's retries apply."""
        path = f"workspaces/{workspace_id}/items/{item_id}/getDefinition"
        try:
            response = self._t.request("POST", path, time_left=time_left)
        except ApiError as error:  # OperationNotSupportedForItem; 403 for an item it may not read and write
            raise DefinitionUnavailable(error.message) from error
        operation = response.headers.get("x-ms-operation-id")
        if response.status_code == 202 and operation:
            return DefinitionFetch(operation_id=operation, retry_after=_retry_after(response))
        return DefinitionFetch(definition=_definition(response))

    def poll_item_definition(self, operation_id: str, *, time_left: float) -> DefinitionFetch:
        """One look at a getDefinition operation; its result once it has Succeeded."""
        try:
            response = self._t.request("GET", f"operations/{operation_id}", time_left=time_left)
            state = LongRunningOperationState.model_validate(response.json())
            if state.status == "Failed":
                error = state.error or {}
                raise DefinitionUnavailable(
                    f"getting its definition failed: {error.get('errorCode', 'Failed')}: "
                    f"{error.get('message', 'no message from the service')}"
                )
            if state.status != "Succeeded":  # any other status, known or not, is still running
                return DefinitionFetch(operation_id=operation_id, retry_after=_retry_after(response))
            result = self._t.request("GET", f"operations/{operation_id}/result", time_left=time_left)
        except ApiError as error:
            raise DefinitionUnavailable(error.message) from error
        except ValueError:  # not an operation state
            raise DefinitionUnavailable("the service's answer was no operation state") from None
        return DefinitionFetch(operation_id=operation_id, definition=_definition(result))

    def list_pipeline_members(self, pipeline_id: str) -> list[Member]:
        return _members(iter_values(self._t, f"deploymentPipelines/{pipeline_id}/roleAssignments"))

    def add_pipeline_member(self, pipeline_id: str, principal: PrincipalRef, role: str) -> None:
        body = {"principal": {"id": principal.id, "type": principal.type}, "role": role}
        self._t.request("POST", f"deploymentPipelines/{pipeline_id}/roleAssignments", json=body)

    def list_workspace_members(self, workspace_id: str) -> list[Member]:
        return _members(iter_values(self._t, f"workspaces/{workspace_id}/roleAssignments"))

    def add_workspace_member(self, workspace_id: str, principal: PrincipalRef, role: str) -> None:
        body = {"principal": {"id": principal.id, "type": principal.type}, "role": role}
        self._t.request("POST", f"workspaces/{workspace_id}/roleAssignments", json=body)

    def change_workspace_role(self, workspace_id: str, member: Member, role: str) -> None:
        assignment = member.assignment_id or member.principal_id
        self._t.request("PATCH", f"workspaces/{workspace_id}/roleAssignments/{assignment}", json={"role": role})

    def remove_pipeline_member(self, pipeline_id: str, member: Member) -> None:
        # A pipeline's role assignment is addressed by the principal's id.
        path = f"deploymentPipelines/{pipeline_id}/roleAssignments/{member.principal_id}"
        self._t.request("DELETE", path, replay_safe=False)

    def remove_workspace_member(self, workspace_id: str, member: Member) -> None:
        # Unlike a pipeline's, a workspace's role assignment is addressed by its own id (the spec's
        # workspaceRoleAssignmentId), which the listing gives; the service makes it the principal's id.
        assignment = member.assignment_id or member.principal_id
        self._t.request("DELETE", f"workspaces/{workspace_id}/roleAssignments/{assignment}", replay_safe=False)


def _definition(response: Any) -> ItemDefinition:
    """The answer's definition; one without parts is no definition (two empty ones would compare equal)."""
    try:
        definition = ItemDefinition.model_validate((response.json() or {}).get("definition"))
    except (ValueError, AttributeError):  # AttributeError: JSON, but not an object
        definition = None
    if definition is None or not definition.parts:
        raise DefinitionUnavailable("the service's answer held no item definition")
    return definition


def _retry_after(response: Any, default: float = 5.0) -> float:
    """The seconds a long-running operation's answer asks to wait (Microsoft's examples: 20), at least
    one: an answer of 0 must not make a tight loop of the polls."""
    try:
        return max(float(response.headers.get("Retry-After", default)), 1.0)
    except ValueError:
        return default


def _members(values: Iterable[dict[str, Any]]) -> list[Member]:
    """Role assignments `{principal: {id, type}, role}` of pipelines and workspaces alike."""
    return [
        Member(
            principal_id=str((v.get("principal") or {}).get("id", "")),
            principal_type=str((v.get("principal") or {}).get("type", "")),
            role=str(v.get("role", "")),
            assignment_id=str(v["id"]) if v.get("id") else None,
        )
        for v in values
    ]
