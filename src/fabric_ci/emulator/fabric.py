"""The Fabric REST API stand-in: deployment pipelines, workspace role assignments and long-running operations.

Bodies and headers follow Microsoft's spec (platform/swagger.json and its examples), including
two things a client has to get right: paging continues through `continuationToken` in the
*body*, and the `Location` of a long-running operation lacks `/v1`, as in Microsoft's examples.
Domain rules (which deployment is allowed) live in `state.py`; this module checks request
shapes and renders the state as JSON.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from fabric_ci.emulator.definitions import DefinitionOperation
from fabric_ci.emulator.protocol import Request, Response, fabric_error, is_guid, utc
from fabric_ci.emulator.state import (
    TERMINAL_STATUSES,
    WORKSPACE_ROLES,
    Deployment,
    FabricError,
    Item,
    Pipeline,
    RoleAssignment,
    Stage,
    TenantState,
    WorkspaceRole,
)

# The ItemType enum of common/definitions.json (the spec says more may be added over time).
ITEM_TYPES = frozenset(
    {
        "Dashboard",
        "Report",
        "SemanticModel",
        "PaginatedReport",
        "Datamart",
        "Lakehouse",
        "Eventhouse",
        "Environment",
        "KQLDatabase",
        "KQLQueryset",
        "KQLDashboard",
        "DataPipeline",
        "Notebook",
        "SparkJobDefinition",
        "MLExperiment",
        "MLModel",
        "Warehouse",
        "Eventstream",
        "SQLEndpoint",
        "MirroredWarehouse",
        "MirroredDatabase",
        "Reflex",
        "GraphQLApi",
        "MountedDataFactory",
        "SQLDatabase",
        "CopyJob",
        "VariableLibrary",
        "Dataflow",
        "ApacheAirflowJob",
        "WarehouseSnapshot",
        "DigitalTwinBuilder",
        "DigitalTwinBuilderFlow",
        "MirroredAzureDatabricksCatalog",
        "Map",
        "AnomalyDetector",
        "UserDataFunction",
        "GraphModel",
        "GraphQuerySet",
        "SnowflakeDatabase",
        "OperationsAgent",
        "CosmosDBDatabase",
        "Ontology",
        "EventSchemaSet",
        "DataAgent",
        "MirroredCatalog",
        "AppBackend",
        "OrgApp",
        "OrgAppAudience",
        "DataBuildToolJob",
        "AzureDatabricksStorage",
        "Plan",
    }
)
PRINCIPAL_TYPES = frozenset({"User", "ServicePrincipal", "Group", "ServicePrincipalProfile", "EntireTenant"})


def _invalid(message: str) -> FabricError:
    return FabricError(400, "InvalidInput", message)


def _object_body(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    return body


def _guid_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not is_guid(value):
        raise _invalid(f"'{name}' is required and must be a GUID; got {value!r}.")
    return str(value)


def _principal_field(body: dict[str, Any]) -> tuple[str, str]:
    """(id, type) of a request's `principal`."""
    principal = body.get("principal")
    if not isinstance(principal, dict):
        raise _invalid("'principal' is required: {id, type}.")
    principal_id = _guid_field(principal, "id")
    principal_type = principal.get("type")
    if principal_type not in PRINCIPAL_TYPES:
        raise _invalid(f"principal.type must be one of {', '.join(sorted(PRINCIPAL_TYPES))}.")
    return str(principal_id), str(principal_type)


def _string_field(body: dict[str, Any], name: str, max_length: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(f"'{name}' is required and must be a non-empty string.")
    if len(value) > max_length:
        raise _invalid(f"'{name}' cannot be longer than {max_length} characters.")
    return value


class FabricApi:
    """Route handlers for /v1/deploymentPipelines/..., /v1/workspaces/{id}/roleAssignments/..., /v1/operations/...."""

    def __init__(self, state: TenantState, host_url: Callable[[], str]) -> None:
        self.state = state
        self._host_url = host_url  # https://127.0.0.1:PORT

    @property
    def api_base(self) -> str:
        return f"{self._host_url()}/v1"

    # -- rendering --------------------------------------------------------------------------------------

    def _page(self, request: Request, values: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """One page of `values`; the continuation token is the base64 of the next offset."""
        token = request.query.get("continuationToken")
        offset = 0
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode())
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise _invalid("The continuationToken is not valid.") from None
            if offset < 0 or offset > len(values):
                raise _invalid("The continuationToken is not valid.")
        size = self.state.settings.page_size
        body: dict[str, Any] = {"value": list(values[offset : offset + size])}
        if offset + size < len(values):
            next_token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["continuationToken"] = next_token
            path = request.path.removeprefix("/v1")
            body["continuationUri"] = f"{self.api_base}{path}?continuationToken={quote(next_token)}"
        return body

    @staticmethod
    def _pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
        return {"id": pipeline.id, "displayName": pipeline.display_name, "description": pipeline.description}

    def _stage_json(self, stage: Stage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": stage.id,
            "order": stage.order,
            "displayName": stage.display_name,
            "description": stage.description,
            "isPublic": stage.is_public,
        }
        if stage.workspace_id is not None:
            body["workspaceId"] = stage.workspace_id
            body["workspaceName"] = self.state.workspaces[stage.workspace_id].name
        return body

    @staticmethod
    def _item_json(item: Item) -> dict[str, Any]:
        body: dict[str, Any] = {
            "itemId": item.id,
            "itemDisplayName": item.display_name,
            "itemType": item.item_type,
        }
        if item.source_item_id:
            body["sourceItemId"] = item.source_item_id
        if item.target_item_id:
            body["targetItemId"] = item.target_item_id
        if item.last_deployment_time is not None:
            body["lastDeploymentTime"] = utc(item.last_deployment_time)
        return body

    @staticmethod
    def _role_json(assignment: RoleAssignment) -> dict[str, Any]:
        return {
            "id": assignment.principal_id,
            "principal": {"id": assignment.principal_id, "type": assignment.principal_type},
            "role": assignment.role,
        }

    def _operation_json(self, deployment: Deployment, *, with_plan: bool) -> dict[str, Any]:
        now = self.state.now()
        status = deployment.status_at(now)
        body: dict[str, Any] = {
            "id": deployment.id,
            "type": "Deploy",
            "status": status,
            # Without a UTC offset, as in every example of the spec (the other times carry a Z).
            "lastUpdatedTime": utc(deployment.last_updated_at(now), offset=False),
            "sourceStageId": deployment.source_stage_id,
            "targetStageId": deployment.target_stage_id,
            "performedBy": deployment.performed_by,
            "preDeploymentDiffInformation": deployment.diff_counts(),
        }
        # "The date and time that the operation started", which the schema does not require: an operation
        # NotStarted has none yet (no example shows one), so a client must not count on it.
        if status != "NotStarted":
            body["executionStartTime"] = utc(deployment.accepted_at)
        if status in TERMINAL_STATUSES:
            body["executionEndTime"] = utc(deployment.finishes_at)
        if deployment.note:
            body["note"] = {"content": deployment.note, "isTruncated": False}
        if with_plan:
            body["executionPlan"] = {
                "steps": [self._step_json(deployment, i, now) for i in range(len(deployment.steps))]
            }
        return body

    def _step_json(self, deployment: Deployment, index: int, now: float) -> dict[str, Any]:
        step = deployment.steps[index]
        status = deployment.step_status_at(index, now)
        source_and_target: dict[str, Any] = {
            "sourceItemId": step.source_item_id,
            "sourceItemDisplayName": step.source_display_name,
            "itemType": step.item_type,
        }
        target_id, target_name = step.target_item_id, step.target_display_name
        if target_id is None and status == "Succeeded":
            target_id, target_name = deployment.created_targets.get(index, (None, None))
        if target_id is not None:
            source_and_target["targetItemId"] = target_id
            source_and_target["targetItemDisplayName"] = target_name
        body: dict[str, Any] = {
            "index": step.index,
            "description": step.description,
            "status": status,
            "preDeploymentDiffState": step.diff_state,
            "sourceAndTarget": source_and_target,
        }
        if status == "Failed":
            body["error"] = step.error()
        return body

    def _lro_headers(self, lro_id: str, status: str, *, retry_after: int | None = None) -> dict[str, str]:
        """Location, x-ms-operation-id and, while running, Retry-After (`retry_after`, else the LRO state's);
        for deployments and getDefinition operations alike."""
        # Like Microsoft's LRO state examples, Location lacks /v1: clients must rebuild the URL from the id.
        location = f"{self._host_url()}/operations/{lro_id}"
        headers = {"x-ms-operation-id": lro_id}
        if status not in TERMINAL_STATUSES:
            headers["Location"] = location
            headers["Retry-After"] = str(self.state.settings.retry_after if retry_after is None else retry_after)
        elif status == "Succeeded":
            headers["Location"] = f"{location}/result"
        return headers

    # -- pipelines --------------------------------------------------------------------------------------

    def list_pipelines(self, request: Request, params: dict[str, str]) -> Response:
        # The spec states no permission here; the service lists only the pipelines the caller has a role
        # in ("a principal sees only the pipelines it is an Admin of", the one pipeline role there is).
        caller = self._caller(request)
        with self.state.lock:
            values = [
                self._pipeline_json(p) for p in self.state.pipelines.values() if self.state.has_pipeline_role(p, caller)
            ]
            return Response(200, self._page(request, values))

    def _readable(self, request: Request, params: dict[str, str]) -> Pipeline:
        """The pipeline, for a caller with its Admin role. The spec, for Get Deployment Pipeline, List and Get
        Deployment Pipeline Stage(s), List Deployment Pipeline Stage Items, List Deployment Pipeline Role
        Assignments and List and Get Deployment Pipeline Operation(s) alike: "The caller must have an
        *admin* deployment pipelines role." """
        pipeline = self.state.pipeline(params["pipeline"])
        self.state.check_pipeline_admin(pipeline.id, self._caller(request), "reading")
        return pipeline

    def get_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self._readable(request, params)
            body = self._pipeline_json(pipeline)
            body["stages"] = [self._stage_json(s) for s in pipeline.stages]
            return Response(200, body)

    def create_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        body = _object_body(request)
        name = _string_field(body, "displayName", 256, required=True)
        description = _string_field(body, "description", 1024, required=False)
        stages = body.get("stages")
        if not isinstance(stages, list) or not all(isinstance(s, dict) for s in stages):
            raise _invalid("'stages' is required and must be a list of stage objects.")
        for stage in stages:
            _string_field(stage, "displayName", 256, required=True)
            _string_field(stage, "description", 1024, required=False)
            if not isinstance(stage.get("isPublic", False), bool):
                raise _invalid("A stage's 'isPublic' must be a boolean.")
        with self.state.lock:
            pipeline = self.state.create_pipeline(str(name), description, stages, caller=self._caller(request))
            created = self._pipeline_json(pipeline)
            created["stages"] = [self._stage_json(s) for s in pipeline.stages]
            return Response(201, created)

    def update_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        body = _object_body(request)
        name = _string_field(body, "displayName", 256, required=False)
        description = _string_field(body, "description", 1024, required=False)
        with self.state.lock:
            pipeline = self.state.pipeline(params["pipeline"])
            self.state.check_pipeline_admin(pipeline.id, self._caller(request), "updating")
            if name is not None:
                pipeline.display_name = name
            if description is not None:
                pipeline.description = description
            return self.get_pipeline(request, params)

    def delete_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        self.state.delete_pipeline(params["pipeline"], caller=self._caller(request))
        return Response(200)  # the spec's example: 200 with no body

    # -- stages and items -------------------------------------------------------------------------------

    def list_stages(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self._readable(request, params)
            return Response(200, self._page(request, [self._stage_json(s) for s in pipeline.stages]))

    def get_stage(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self._readable(request, params)
            return Response(200, self._stage_json(self.state.stage(pipeline, params["stage"])))

    def update_stage(self, request: Request, params: dict[str, str]) -> Response:
        # DeploymentPipelineStageRequest: displayName required (maxLength 256), description (1024), isPublic.
        body = _object_body(request)
        name = _string_field(body, "displayName", 256, required=True)
        description = _string_field(body, "description", 1024, required=False)
        is_public = body.get("isPublic")
        if is_public is not None and not isinstance(is_public, bool):
            raise _invalid("'isPublic' must be a boolean.")
        stage = self.state.update_stage(
            params["pipeline"], params["stage"], str(name), description, is_public, caller=self._caller(request)
        )
        with self.state.lock:
            return Response(200, self._stage_json(stage))  # the spec: 200 with the DeploymentPipelineStage

    def list_stage_items(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            stage = self.state.stage(pipeline, params["stage"])
            # The spec adds "The user must be at least a workspace contributor assigned to the specified
            # stage" (and gives no error code: InsufficientPrivileges is its code for workspace permissions).
            # A stage without a workspace has no role to check, and no items.
            if stage.workspace_id is not None:
                self.state.check_workspace_contributor(
                    self.state.workspaces[stage.workspace_id], self._caller(request), "listing the items of a stage"
                )
            items = [self._item_json(i) for i in self.state.stage_items(stage)]
            return Response(200, self._page(request, items))

    def assign_workspace(self, request: Request, params: dict[str, str]) -> Response:
        workspace_id = _guid_field(_object_body(request), "workspaceId")
        self.state.assign_workspace(params["pipeline"], params["stage"], str(workspace_id))
        return Response(200)

    def unassign_workspace(self, request: Request, params: dict[str, str]) -> Response:
        self.state.unassign_workspace(params["pipeline"], params["stage"], caller=self._caller(request))
        return Response(200)

    # -- deployments ------------------------------------------------------------------------------------

    def deploy(self, request: Request, params: dict[str, str]) -> Response:
        body = _object_body(request)
        source = _guid_field(body, "sourceStageId")
        target = _guid_field(body, "targetStageId")
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            raise _invalid("'note' must be a string.")
        items = self._requested_items(body.get("items"))
        new_workspace = body.get("createdWorkspaceDetails")
        new_workspace_name = None
        if new_workspace is not None:
            if not isinstance(new_workspace, dict):
                raise _invalid("'createdWorkspaceDetails' must be an object.")
            new_workspace_name = _string_field(new_workspace, "name", 256, required=True)
            _guid_field(new_workspace, "capacityId", required=False)
        options = body.get("options")
        if options is not None and (
            not isinstance(options, dict) or not isinstance(options.get("allowCrossRegionDeployment", False), bool)
        ):
            raise _invalid("'options' must be an object; allowCrossRegionDeployment must be a boolean.")
        deployment = self.state.deploy(
            params["pipeline"], str(source), str(target), items, note, new_workspace_name, caller=self._caller(request)
        )
        headers = self._lro_headers(deployment.lro_id, "NotStarted", retry_after=self.state.settings.deploy_retry_after)
        headers["deployment-id"] = deployment.id
        return Response(202, None, headers)

    @staticmethod
    def _requested_items(items: Any) -> list[tuple[str, str]] | None:
        if items is None:
            return None
        if not isinstance(items, list):
            raise _invalid("'items' must be a list of {sourceItemId, itemType}.")
        requested = []
        for index, entry in enumerate(items):
            if not isinstance(entry, dict) or not is_guid(entry.get("sourceItemId")):
                raise _invalid(f"items[{index}].sourceItemId is required and must be a GUID.")
            item_type = entry.get("itemType")
            if not isinstance(item_type, str):
                raise _invalid(f"items[{index}].itemType is required.")
            if item_type not in ITEM_TYPES:
                raise FabricError(400, "InvalidItemType", f"items[{index}].itemType '{item_type}' is not an item type.")
            requested.append((str(entry["sourceItemId"]), item_type))
        return requested

    def list_operations(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            values = [self._operation_json(d, with_plan=False) for d in self.state.recent_deployments(pipeline)]
            return Response(200, self._page(request, values))

    def get_operation(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            deployment = self.state.deployment_of(pipeline, params["operation"])
            return Response(200, self._operation_json(deployment, with_plan=True))

    # -- roles --------------------------------------------------------------------------------------------

    def _caller(self, request: Request) -> str:
        """The principal sending the request: role changes are checked against its own roles."""
        return self.state.caller(request.headers.get("authorization"))

    def list_role_assignments(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self._readable(request, params)
            values = [self._role_json(r) for r in pipeline.role_assignments]
            return Response(200, self._page(request, values))

    def add_role_assignment(self, request: Request, params: dict[str, str]) -> Response:
        body = _object_body(request)
        principal_id, principal_type = _principal_field(body)
        if body.get("role") != "Admin":
            raise _invalid("'role' is required; deployment pipelines have one role, 'Admin'.")
        assignment = self.state.add_role_assignment(
            params["pipeline"], str(principal_id), str(principal_type), "Admin", caller=self._caller(request)
        )
        return Response(200, self._role_json(assignment))

    def delete_role_assignment(self, request: Request, params: dict[str, str]) -> Response:
        self.state.delete_role_assignment(params["pipeline"], params["principal"], caller=self._caller(request))
        return Response(200)

    # -- workspace role assignments (the Power BI API's workspace users) ----------------------------------

    def _workspace_role_json(self, role: WorkspaceRole) -> dict[str, Any]:
        principal: dict[str, Any] = {"id": role.principal_id, "type": role.principal_type}
        known = self.state.principal(role.principal_id)
        if known is not None:
            principal["displayName"] = known.display_name
        # The role assignment id is the principal's id, as in the service.
        return {"id": role.principal_id, "principal": principal, "role": role.role}

    def list_workspace_roles(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            workspace = self.state.workspace(params["workspace"])
            # The spec: "The caller must have *member* or higher workspace role."
            self.state.check_workspace_reader(workspace, self._caller(request))
            return Response(200, self._page(request, [self._workspace_role_json(r) for r in workspace.roles]))

    @staticmethod
    def _workspace_role_name(body: dict[str, Any]) -> str:
        role = body.get("role")
        if role not in WORKSPACE_ROLES:
            raise FabricError(
                400, "InvalidParameter", f"Invalid workspace role {role!r}: use one of {', '.join(WORKSPACE_ROLES)}."
            )
        return str(role)

    def add_workspace_role(self, request: Request, params: dict[str, str]) -> Response:
        body = _object_body(request)
        principal_id, principal_type = _principal_field(body)
        role = self._workspace_role_name(body)
        with self.state.lock:
            added = self.state.add_workspace_role(
                params["workspace"], str(principal_id), str(principal_type), role, caller=self._caller(request)
            )
            location = f"{self.api_base}/workspaces/{params['workspace']}/roleAssignments/{added.principal_id}"
            return Response(201, self._workspace_role_json(added), {"Location": location})

    def get_workspace_role(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            role = self.state.workspace_role(params["workspace"], params["assignment"])
            return Response(200, self._workspace_role_json(role))

    def update_workspace_role(self, request: Request, params: dict[str, str]) -> Response:
        role = self._workspace_role_name(_object_body(request))
        with self.state.lock:
            updated = self.state.update_workspace_role(
                params["workspace"], params["assignment"], role, caller=self._caller(request)
            )
            return Response(200, self._workspace_role_json(updated))

    def delete_workspace_role(self, request: Request, params: dict[str, str]) -> Response:
        self.state.delete_workspace_role(params["workspace"], params["assignment"], caller=self._caller(request))
        return Response(200)

    # -- long-running operations ----------------------------------------------------------------------

    def _lro(self, lro_id: str) -> Deployment:
        deployment = self.state.operations.get(lro_id.lower())
        if deployment is None:
            raise FabricError(404, "EntityNotFound", f"The operation '{lro_id}' was not found.")
        return deployment

    def get_item_definition(self, request: Request, params: dict[str, str]) -> Response:
        operation = self.state.get_definition(params["workspace"], params["item"], caller=self._caller(request))
        headers = {
            "Location": f"{self._host_url()}/operations/{operation.lro_id}",
            "x-ms-operation-id": operation.lro_id,
            "Retry-After": str(self.state.settings.retry_after),
        }
        return Response(202, None, headers)

    def upstream_relations(self, request: Request, params: dict[str, str]) -> Response:
        # The spec: "callers must specify `true` as the value for the query parameter `beta`". How the
        # service refuses a call without it is not documented: 400 InvalidParameter is an assumption.
        if request.query.get("beta", "").lower() != "true":
            raise FabricError(
                400, "InvalidParameter", "This API is in beta: the query parameter 'beta' must be set to true."
            )
        found, edges = self.state.upstream_relations(params["workspace"], params["item"], caller=self._caller(request))
        workspaces = {ws.id: ws.name for _, ws in found}
        return Response(
            200,
            {
                "items": [
                    {"id": i.id, "type": i.item_type, "displayName": i.display_name, "workspaceId": ws.id}
                    for i, ws in found
                ],
                "relations": [
                    {"itemId": item, "dependentOnItemId": upstream, "relationType": kind}
                    for item, upstream, kind in edges
                ],
                "workspaces": [{"id": ws_id, "displayName": name} for ws_id, name in workspaces.items()],
            },
        )

    def _definition_state(self, operation: DefinitionOperation) -> Response:
        now = self.state.now()
        status = operation.status_at(now)
        body = {
            "status": status,
            "createdTimeUtc": utc(operation.accepted_at),
            "lastUpdatedTimeUtc": utc(min(now, operation.ready_at)),
            "percentComplete": operation.percent_complete_at(now),
        }
        return Response(200, body, self._lro_headers(operation.lro_id, status))

    def get_operation_state(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            definition = self.state.definition_operations.get(params["operation"].lower())
            if definition is not None:
                return self._definition_state(definition)
            deployment = self._lro(params["operation"])
            now = self.state.now()
            status = deployment.status_at(now)
            body: dict[str, Any] = {
                "status": status,
                "createdTimeUtc": utc(deployment.accepted_at),
                "lastUpdatedTimeUtc": utc(deployment.last_updated_at(now)),
                "percentComplete": deployment.percent_complete_at(now),
            }
            if status == "Failed":
                body["error"] = self._lro_error(request, deployment)
            return Response(200, body, self._lro_headers(deployment.lro_id, status))

    @staticmethod
    def _lro_error(request: Request, deployment: Deployment) -> dict[str, Any]:
        failed = next(s for s in deployment.steps if s.fails)
        return {
            "errorCode": "DeploymentFailed",
            "message": (
                f"The deployment failed at step {failed.index} ({failed.item_type} "
                f"'{failed.source_display_name}'). See deployment pipeline operation '{deployment.id}' "
                "for the detail of each item."
            ),
            "requestId": request.request_id,
            "moreDetails": [failed.error()],
        }

    def get_operation_result(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            definition = self.state.definition_operations.get(params["operation"].lower())
            if definition is not None:
                status = definition.status_at(self.state.now())
                if status == "Succeeded":
                    return Response(200, definition.result())
                return self._not_completed(request, definition.lro_id, status)
            deployment = self._lro(params["operation"])
            status = deployment.status_at(self.state.now())
            if status == "Succeeded":
                return Response(200, self._operation_json(deployment, with_plan=True))
            if status == "Failed":
                return fabric_error(
                    request,
                    400,
                    "OperationFailed",
                    f"Operation '{deployment.lro_id}' failed and has no result.",
                    more_details=[next(s for s in deployment.steps if s.fails).error()],
                )
            return self._not_completed(request, deployment.lro_id, status)

    def _not_completed(self, request: Request, lro_id: str, status: str) -> Response:
        """The result of an operation still NotStarted or Running: 400 OperationNotCompleted, Retry-After."""
        return fabric_error(
            request,
            400,
            "OperationNotCompleted",
            f"Operation '{lro_id}' is still {status}; its result is not available yet.",
            headers={"Retry-After": str(self.state.settings.retry_after)},
        )
