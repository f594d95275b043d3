"""The Power BI REST API stand-in: deployment pipelines, their users and workspace users, under /v1.0/myorg.

It serves the same `TenantState` as the Fabric API: a deployment started here shows in Fabric's
operations view and the other way round, pipeline users are Fabric's pipeline role assignments,
and workspace users are Fabric's workspace role assignments. What differs is the view:

- stages are addressed by order (0, 1, 2...) and deployments name a source order; the target is
  the next stage, or the previous one with `isBackwardDeployment`;
- only Power BI items are visible: SemanticModel (datasets), Report and PaginatedReport
  (reports), Dashboard, Dataflow and Datamart. Notebooks, lakehouses and other Fabric items are
  absent from stage artifacts, cannot be selected, are left out of deployAll, and their steps are
  left out of an operation's execution plan (the indices of the remaining steps are kept);
- deploy and deployAll answer 202 with the PipelineOperation (NotStarted), and the shared
  simulation's `Running` is rendered `Executing`;
- the execution plan's step list is sent as `"Steps"`, capital S, because that is what Microsoft's
  own examples of Pipelines_GetPipelineOperation show (the schema says `steps`; clients must accept
  both). Steps also carry the `lastUpdatedTime` the schema requires;
- errors are OData bodies `{"error": {"code", "message"}}` (the server renders `FabricError`s of
  the shared state that way on these routes);
- principals are `{identifier, principalType: User|Group|App}`: a user's identifier is the UPN,
  resolved through the tenant's directory, anything else the object id; App is Fabric's
  ServicePrincipal.

Judgement calls, where the real service documents nothing:
- a stage without a workspace has no artifacts: 200 with five empty lists;
- a user UPN the directory does not know: 400 `PrincipalNotFound`;
- adding a pipeline user who already is one: 200, nothing changes (the only role is Admin);
- adding a workspace user who already has a role: 400 `AddingAlreadyExistsGroupUserNotSupportedError`
  (PUT changes a role);
- reading a pipeline (Get Pipeline, its stages, a stage's artifacts, its operations, its users) and
  deploying it need access to it, as Get Pipelines lists "the deployment pipelines that the user has
  access to": a role in it, whose only one is Admin. Without: 403 `InsufficientPrivileges`, as for
  its users' changes (the spec names no code). Deploying also needs Contributor or higher on the
  source and target workspaces (the spec);
- the admin APIs (`/admin/...`) see every pipeline and share one quota of
  `Settings.admin_requests_per_hour` per rolling hour; beyond it they answer 429 `TooManyRequests`
  with Retry-After = seconds until the oldest counted request leaves the hour.
Deployment options, apps and the 300-item limit are the shared state's rules (`state.py`).
"""

from __future__ import annotations

from typing import Any

from fabric_ci.emulator.protocol import Request, Response, is_guid, utc
from fabric_ci.emulator.state import (
    OPTION_ERROR_CODES,
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

BASE_PATH = "/v1.0/myorg"
STAGE_NAMES = ("Development", "Test", "Production")  # the stages of a pipeline created through this API
# The stage-artifact collections of the Power BI API and the Fabric item types each holds.
COLLECTIONS: dict[str, tuple[str, ...]] = {
    "datasets": ("SemanticModel",),
    "reports": ("Report", "PaginatedReport"),
    "dashboards": ("Dashboard",),
    "dataflows": ("Dataflow",),
    "datamarts": ("Datamart",),
}
_COLLECTION_OF = {item_type: name for name, types in COLLECTIONS.items() for item_type in types}
_STEP_TYPES = {
    "datasets": "DatasetDeployment",
    "reports": "ReportDeployment",
    "dashboards": "DashboardDeployment",
    "dataflows": "DataflowDeployment",
    "datamarts": "DatamartDeployment",
}
# Fabric principal types as the Power BI API names them, and back.
_TO_POWERBI = {"User": "User", "Group": "Group", "ServicePrincipal": "App", "ServicePrincipalProfile": "App"}
_TO_FABRIC = {"User": "User", "Group": "Group", "App": "ServicePrincipal"}
MAX_ADMIN_TOP = 5000


def is_powerbi_item(item_type: str) -> bool:
    """Whether the Power BI API shows (and deploys) items of this Fabric type."""
    return item_type in _COLLECTION_OF


def _bad(message: str, code: str = "InvalidRequest") -> FabricError:
    return FabricError(400, code, message)


def _object_body(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.")
    return body


def _optional_bool(body: dict[str, Any], name: str, where: str = "") -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"'{where}{name}' must be a boolean.")
    return value


def _options(value: Any, where: str) -> dict[str, bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"'{where}' must be an object of deployment options.")
    unknown = sorted(set(value) - set(OPTION_ERROR_CODES))
    if unknown:
        raise _bad(f"'{where}' has unknown options: {', '.join(unknown)}.")
    return {name: _optional_bool(value, name, f"{where}.") for name in value}


def _int_query(request: Request, name: str, minimum: int, maximum: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"'{name}' must be an integer.") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise _bad(f"'{name}' must be at least {minimum}{upper}.")
    return value


class PowerBiApi:
    """Route handlers for /v1.0/myorg/pipelines/..., /v1.0/myorg/admin/pipelines/... and /groups/{id}/users."""

    def __init__(self, state: TenantState) -> None:
        self.state = state

    # -- principals ----------------------------------------------------------------------------------------

    def _identifier(self, principal_id: str, fabric_type: str) -> str:
        """A principal as the Power BI API names it: the UPN for users, the object id otherwise."""
        principal = self.state.principal(principal_id)
        if fabric_type == "User" and principal is not None and principal.user_principal_name:
            return principal.user_principal_name
        return principal_id

    def _resolve(self, identifier: Any, principal_type: Any) -> tuple[str, str]:
        """(object id, Fabric principal type) of a Power BI {identifier, principalType}."""
        if principal_type not in _TO_FABRIC:
            raise _bad(f"'principalType' must be one of {', '.join(_TO_FABRIC)}; got {principal_type!r}.")
        if not isinstance(identifier, str) or not identifier:
            raise _bad("'identifier' is required: the UPN of a user, the object id of a group or app.")
        if principal_type == "User":
            return self._user_id(identifier), "User"
        if not is_guid(identifier):
            raise _bad(f"The identifier of a {principal_type} must be its object id (a GUID); got {identifier!r}.")
        return identifier.lower(), _TO_FABRIC[str(principal_type)]

    def _user_id(self, user_principal_name: str) -> str:
        if is_guid(user_principal_name):
            return user_principal_name.lower()
        principal = self.state.principal_by_upn(user_principal_name)
        if principal is None:
            raise _bad(f"No user with the principal name '{user_principal_name}' was found.", "PrincipalNotFound")
        return principal.id

    def _path_principal(self, identifier: str) -> str:
        """The object id behind a path segment: a GUID as is, anything else a user's UPN."""
        return identifier.lower() if is_guid(identifier) else self._user_id(identifier)

    # -- rendering -----------------------------------------------------------------------------------------

    def _pipeline_json(self, pipeline: Pipeline, *, stages: bool, users: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": pipeline.id,
            "displayName": pipeline.display_name,
            "description": pipeline.description,
        }
        if stages:
            body["stages"] = [self._stage_json(s) for s in pipeline.stages]
        if users:
            body["users"] = [self._pipeline_user_json(r) for r in pipeline.role_assignments]
        return body

    def _stage_json(self, stage: Stage) -> dict[str, Any]:
        body: dict[str, Any] = {"order": stage.order}
        if stage.workspace_id is not None:
            body["workspaceId"] = stage.workspace_id
            body["workspaceName"] = self.state.workspaces[stage.workspace_id].name
        return body

    def _pipeline_user_json(self, assignment: RoleAssignment) -> dict[str, Any]:
        return {
            "identifier": self._identifier(assignment.principal_id, assignment.principal_type),
            "accessRight": assignment.role,
            "principalType": _TO_POWERBI.get(assignment.principal_type, "None"),
        }

    def _group_user_json(self, role: WorkspaceRole) -> dict[str, Any]:
        body: dict[str, Any] = {
            "identifier": self._identifier(role.principal_id, role.principal_type),
            "principalType": _TO_POWERBI.get(role.principal_type, "None"),
            "groupUserAccessRight": role.role,
        }
        principal = self.state.principal(role.principal_id)
        if principal is not None:
            body["displayName"] = principal.display_name
            if principal.user_principal_name:
                body["emailAddress"] = principal.user_principal_name
        return body

    @staticmethod
    def _artifact_json(item: Item) -> dict[str, Any]:
        body: dict[str, Any] = {"artifactId": item.id, "artifactDisplayName": item.display_name}
        if item.source_item_id:
            body["sourceArtifactId"] = item.source_item_id
        if item.target_item_id:
            body["targetArtifactId"] = item.target_item_id
        if item.last_deployment_time is not None:
            body["lastDeploymentTime"] = utc(item.last_deployment_time)
        return body

    @staticmethod
    def _status(status: str) -> str:
        return "Executing" if status == "Running" else status

    @staticmethod
    def _performed_by(deployment: Deployment) -> dict[str, Any]:
        who = deployment.performed_by
        if who.get("type") == "User":
            return {"userPrincipalName": who.get("userPrincipalName", who["id"]), "principalType": "User"}
        return {"principalObjectID": who["id"], "principalType": "App"}

    def _operation_json(self, deployment: Deployment, *, with_plan: bool) -> dict[str, Any]:
        now = self.state.now()
        status = deployment.status_at(now)
        pipeline = self.state.pipelines[deployment.pipeline_id]
        source, target = pipeline.stage(deployment.source_stage_id), pipeline.stage(deployment.target_stage_id)
        steps = [s for s in deployment.steps if is_powerbi_item(s.item_type)]
        states = [s.diff_state for s in steps]
        body: dict[str, Any] = {
            "id": deployment.id,
            "type": "Deploy",
            "status": self._status(status),
            # Without a UTC offset, as in every example of the spec (the other times carry a Z).
            "lastUpdatedTime": utc(deployment.last_updated_at(now), offset=False),
            # Kept while NotStarted, unlike Fabric's: the spec's one NotStarted example (deployAll) has it.
            "executionStartTime": utc(deployment.accepted_at),
            "sourceStageOrder": source.order if source else 0,
            "targetStageOrder": target.order if target else 0,
            "performedBy": self._performed_by(deployment),
            "preDeploymentDiffInformation": {
                "newArtifactsCount": states.count("New"),
                "differentArtifactsCount": states.count("Different"),
                "noDifferenceArtifactsCount": states.count("NoDifference"),
            },
        }
        if status in TERMINAL_STATUSES:
            body["executionEndTime"] = utc(deployment.finishes_at)
        if deployment.note:
            body["note"] = {"content": deployment.note, "isTruncated": False}
        if with_plan:
            # "Steps", capital S: what Microsoft's examples show the service sending (the schema says "steps").
            body["executionPlan"] = {"Steps": [self._step_json(deployment, s.index, now) for s in steps]}
        return body

    def _step_json(self, deployment: Deployment, index: int, now: float) -> dict[str, Any]:
        step = deployment.steps[index]
        status = deployment.step_status_at(index, now)
        collection = _COLLECTION_OF[step.item_type]
        source_and_target: dict[str, Any] = {
            "source": step.source_item_id,
            "sourceDisplayName": step.source_display_name,
            "type": collection.removesuffix("s"),
        }
        target_id, target_name = step.target_item_id, step.target_display_name
        if target_id is None and status == "Succeeded":
            target_id, target_name = deployment.created_targets.get(index, (None, None))
        if target_id is not None:
            source_and_target["target"] = target_id
            source_and_target["targetDisplayName"] = target_name
        if status in TERMINAL_STATUSES:
            updated = deployment.step_end(index)
        elif status == "Running":
            updated = deployment.started_at if index == 0 else deployment.step_end(index - 1)
        else:
            updated = deployment.accepted_at
        body: dict[str, Any] = {
            "index": step.index,
            "type": _STEP_TYPES[collection],
            "status": self._status(status),
            "lastUpdatedTime": utc(updated),
            "preDeploymentDiffState": step.diff_state,
            "sourceAndTarget": source_and_target,
        }
        if status == "Failed":
            error = step.error()
            body["error"] = {"errorCode": error["errorCode"], "errorDetails": error["message"]}
        return body

    # -- pipelines and stages --------------------------------------------------------------------------------

    def _stage(self, pipeline: Pipeline, order: Any) -> Stage:
        try:
            wanted = int(order)
        except (TypeError, ValueError):
            raise _bad(f"The stage order must be an integer; got {order!r}.") from None
        stage = next((s for s in pipeline.stages if s.order == wanted), None)
        if stage is None:
            raise FabricError(
                404,
                "EntityNotFound",
                f"Deployment pipeline '{pipeline.display_name}' has no stage with order {wanted} "
                f"(its stages are 0 to {len(pipeline.stages) - 1}).",
            )
        return stage

    def _readable(self, request: Request, params: dict[str, str]) -> Pipeline:
        """The pipeline, for a caller with access to it (see the module docstring)."""
        pipeline = self.state.pipeline(params["pipeline"])
        self.state.check_pipeline_admin(pipeline.id, self._caller(request), "reading")
        return pipeline

    def list_pipelines(self, request: Request, params: dict[str, str]) -> Response:
        # Get Pipelines: "Returns a list of deployment pipelines that the user has access to" (the admin
        # API's Get Pipelines As Admin lists them all): those the caller has a role in.
        caller = self._caller(request)
        with self.state.lock:
            visible = [p for p in self.state.pipelines.values() if self.state.has_pipeline_role(p, caller)]
            return Response(200, {"value": [self._pipeline_json(p, stages=False) for p in visible]})

    def get_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        expand = {e.strip() for e in request.query.get("$expand", "stages").split(",") if e.strip()}
        with self.state.lock:
            pipeline = self._readable(request, params)
            return Response(200, self._pipeline_json(pipeline, stages="stages" in expand))

    def delete_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        self.state.delete_pipeline(params["pipeline"], caller=self._caller(request))
        return Response(200)  # Pipelines_DeletePipeline: 200, no body

    def create_pipeline(self, request: Request, params: dict[str, str]) -> Response:
        """Pipelines_CreatePipeline: `{displayName, description?}`; the service gives the pipeline its three
        stages (Development, Test, Production; none public, no workspace) and the caller its Admin role.
        201 with `{id, displayName, description}`, as the spec's example."""
        body = _object_body(request)
        fields = {}
        for name, required in (("displayName", True), ("description", False)):
            value = body.get(name)
            if value is None and not required:
                continue
            # The spec's CreatePipelineRequest gives displayName no minLength either, but an empty name is
            # no pipeline name; its description may be empty (only a maxLength of 1024).
            if not isinstance(value, str) or (required and not value.strip()):
                raise _bad(f"'{name}' must be a non-empty string." if required else f"'{name}' must be a string.")
            if len(value) > (256 if name == "displayName" else 1024):
                raise _bad(f"'{name}' is too long.")
            fields[name] = value
        stages = [{"displayName": name} for name in STAGE_NAMES]
        with self.state.lock:
            pipeline = self.state.create_pipeline(
                fields["displayName"], fields.get("description"), stages, caller=self._caller(request)
            )
            return Response(201, self._pipeline_json(pipeline, stages=False))

    def list_stages(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self._readable(request, params)
            return Response(200, {"value": [self._stage_json(s) for s in pipeline.stages]})

    def stage_artifacts(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            stage = self._stage(pipeline, params["stage"])
            # Pipelines_GetPipelineStageArtifacts: "The user must at least be a contributor on the workspace
            # assigned to the specified stage."
            if stage.workspace_id is not None:
                self.state.check_workspace_contributor(
                    self.state.workspaces[stage.workspace_id], self._caller(request), "listing the items of a stage"
                )
            body: dict[str, list[dict[str, Any]]] = {name: [] for name in COLLECTIONS}
            for item in self.state.stage_items(stage):  # none when the stage has no workspace
                if is_powerbi_item(item.item_type):
                    body[_COLLECTION_OF[item.item_type]].append(self._artifact_json(item))
            return Response(200, body)

    def assign_workspace(self, request: Request, params: dict[str, str]) -> Response:
        workspace_id = _object_body(request).get("workspaceId")
        if not is_guid(workspace_id):
            raise _bad("'workspaceId' is required and must be a GUID.")
        with self.state.lock:
            pipeline = self.state.pipeline(params["pipeline"])
            stage = self._stage(pipeline, params["stage"])
            self.state.assign_workspace(pipeline.id, stage.id, str(workspace_id))
        return Response(200)

    def unassign_workspace(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            pipeline = self.state.pipeline(params["pipeline"])
            stage = self._stage(pipeline, params["stage"])
            self.state.unassign_workspace(pipeline.id, stage.id, caller=self._caller(request))
        return Response(200)

    # -- deployments -----------------------------------------------------------------------------------------

    def deploy_all(self, request: Request, params: dict[str, str]) -> Response:
        return self._deploy(request, params, selective=False)

    def selective_deploy(self, request: Request, params: dict[str, str]) -> Response:
        return self._deploy(request, params, selective=True)

    def _deploy(self, request: Request, params: dict[str, str], *, selective: bool) -> Response:
        body = _object_body(request)
        source_order = body.get("sourceStageOrder")
        if not isinstance(source_order, int) or isinstance(source_order, bool):
            raise _bad("'sourceStageOrder' is required and must be an integer: Development (0), Test (1)...")
        backward = _optional_bool(body, "isBackwardDeployment")
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            raise _bad("'note' must be a string.")
        new_workspace_name = None
        new_workspace = body.get("newWorkspace")
        if new_workspace is not None:
            name = new_workspace.get("name") if isinstance(new_workspace, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise _bad("'newWorkspace.name' is required and must be a non-empty string.")
            capacity = new_workspace.get("capacityId")
            if capacity is not None and not is_guid(capacity):
                raise _bad("'newWorkspace.capacityId' must be a GUID.")
            new_workspace_name = name
        app_settings = body.get("updateAppSettings")
        if app_settings is not None and not isinstance(app_settings, dict):
            raise _bad("'updateAppSettings' must be an object.")
        update_app = _optional_bool(app_settings or {}, "updateAppInTargetWorkspace", "updateAppSettings.")
        options = _options(body.get("options"), "options")
        with self.state.lock:
            self.state.settle()
            pipeline = self.state.pipeline(params["pipeline"])
            source = self._stage(pipeline, source_order)
            target_order = source_order - 1 if backward else source_order + 1
            target = next((s for s in pipeline.stages if s.order == target_order), None)
            if target is None:
                direction = "before" if backward else "after"
                raise _bad(f"There is no stage {direction} stage {source_order} to deploy to.")
            self.state.check_deployer(pipeline, source, target, self._caller(request))  # before the items' 400s
            if selective:
                items, item_options = self._selected(body, source)
            else:
                visible = [i for i in self.state.stage_items(source) if is_powerbi_item(i.item_type)]
                items, item_options = [(i.id, i.item_type) for i in visible], {}
            deployment = self.state.deploy(
                pipeline.id,
                source.id,
                target.id,
                items,
                note,
                new_workspace_name,
                api="powerbi",
                options=options,
                item_options=item_options,
                update_app=update_app,
                caller=self._caller(request),
            )
            return Response(202, self._operation_json(deployment, with_plan=False))

    def _selected(
        self, body: dict[str, Any], source: Stage
    ) -> tuple[list[tuple[str, str]], dict[str, dict[str, bool]]]:
        """The requested items as (id, Fabric type), and their own options by id."""
        available = {i.id: i for i in self.state.stage_items(source)}
        items: list[tuple[str, str]] = []
        item_options: dict[str, dict[str, bool]] = {}
        for collection, types in COLLECTIONS.items():
            entries = body.get(collection)
            if entries is None:
                continue
            if not isinstance(entries, list):
                raise _bad(f"'{collection}' must be a list of {{sourceId, options?}}.")
            for index, entry in enumerate(entries):
                where = f"{collection}[{index}]"
                if not isinstance(entry, dict) or not is_guid(entry.get("sourceId")):
                    raise _bad(f"'{where}.sourceId' is required and must be a GUID.")
                source_id = str(entry["sourceId"]).lower()
                found = available.get(source_id)
                # An id of another type is passed on as this collection's type: the state answers ItemNotFound.
                item_type = found.item_type if found is not None and found.item_type in types else types[0]
                items.append((source_id, item_type))
                if entry.get("options") is not None:
                    item_options[source_id] = _options(entry["options"], f"{where}.options")
        if not items:
            raise _bad("A selective deployment names at least one item.", "NoItemsToDeploy")
        return items, item_options

    def list_operations(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            recent = self.state.recent_deployments(pipeline)
            return Response(200, {"value": [self._operation_json(d, with_plan=False) for d in recent]})

    def get_operation(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.settle()
            pipeline = self._readable(request, params)
            deployment = self.state.deployment_of(pipeline, params["operation"])
            return Response(200, self._operation_json(deployment, with_plan=True))

    # -- pipeline users ------------------------------------------------------------------------------------

    def _caller(self, request: Request) -> str:
        """The principal sending the request: role changes are checked against its own roles."""
        return self.state.caller(request.headers.get("authorization"))

    def list_pipeline_users(self, request: Request, params: dict[str, str]) -> Response:
        # Like every other read of a pipeline here: only a caller with access to it.
        with self.state.lock:
            return self._pipeline_users(self._readable(request, params))

    def _pipeline_users(self, pipeline: Pipeline) -> Response:
        return Response(200, {"value": [self._pipeline_user_json(r) for r in pipeline.role_assignments]})

    def add_pipeline_user(self, request: Request, params: dict[str, str]) -> Response:
        return self._add_pipeline_user(request, params, self._caller(request))

    def _add_pipeline_user(self, request: Request, params: dict[str, str], caller: str | None) -> Response:
        body = _object_body(request)
        access = body.get("accessRight", "Admin")
        if access != "Admin":
            raise _bad(f"'accessRight' must be 'Admin', the only pipeline role; got {access!r}.")
        with self.state.lock:
            principal_id, principal_type = self._resolve(body.get("identifier"), body.get("principalType"))
            pipeline = self.state.pipeline(params["pipeline"])
            # Checked first: a caller that may not add users learns nothing from an "already there" 200.
            self.state.check_pipeline_admin(pipeline.id, caller)
            if not any(r.principal_id == principal_id for r in pipeline.role_assignments):
                self.state.add_role_assignment(pipeline.id, principal_id, principal_type, "Admin", caller=caller)
        return Response(200)

    def delete_pipeline_user(self, request: Request, params: dict[str, str]) -> Response:
        return self._delete_pipeline_user(request, params, self._caller(request))

    def _delete_pipeline_user(self, request: Request, params: dict[str, str], caller: str | None) -> Response:
        with self.state.lock:
            pipeline = self.state.pipeline(params["pipeline"])
            self.state.delete_role_assignment(pipeline.id, self._path_principal(params["identifier"]), caller=caller)
        return Response(200)

    # -- admin -----------------------------------------------------------------------------------------------

    def _count_admin_request(self) -> None:
        retry_after = self.state.take_admin_request()
        if retry_after is not None:
            raise FabricError(
                429,
                "TooManyRequests",
                f"The admin APIs allow {self.state.settings.admin_requests_per_hour} requests per hour. "
                f"Retry in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    def admin_list_pipelines(self, request: Request, params: dict[str, str]) -> Response:
        self._count_admin_request()
        expand = {e.strip() for e in request.query.get("$expand", "").split(",") if e.strip()}
        top = _int_query(request, "$top", 1, MAX_ADMIN_TOP)
        skip = _int_query(request, "$skip", 0) or 0
        # The one filter the service supports (orphaned pipelines); any other filter is ignored, as documented.
        orphaned = "".join(request.query.get("$filter", "").split()).lower() in ("notusers/any()", "(notusers/any())")
        with self.state.lock:
            pipelines = [p for p in self.state.pipelines.values() if not orphaned or not p.role_assignments]
            chosen = pipelines[skip : skip + top if top is not None else None]
            values = [self._pipeline_json(p, stages="stages" in expand, users="users" in expand) for p in chosen]
            return Response(200, {"value": values})

    def admin_list_pipeline_users(self, request: Request, params: dict[str, str]) -> Response:
        self._count_admin_request()
        with self.state.lock:  # a tenant admin reads any pipeline's users, whatever its own roles
            return self._pipeline_users(self.state.pipeline(params["pipeline"]))

    # A tenant admin changes any pipeline's users through the admin APIs, whatever its own roles: no caller check.

    def admin_add_pipeline_user(self, request: Request, params: dict[str, str]) -> Response:
        self._count_admin_request()
        return self._add_pipeline_user(request, params, None)

    def admin_delete_pipeline_user(self, request: Request, params: dict[str, str]) -> Response:
        self._count_admin_request()
        return self._delete_pipeline_user(request, params, None)

    # -- workspace users -------------------------------------------------------------------------------------

    def list_group_users(self, request: Request, params: dict[str, str]) -> Response:
        top = _int_query(request, "$top", 1)
        skip = _int_query(request, "$skip", 0) or 0
        with self.state.lock:
            workspace = self.state.workspace(params["group"])
            chosen = workspace.roles[skip : skip + top if top is not None else None]
            return Response(200, {"value": [self._group_user_json(r) for r in chosen]})

    def _group_user(self, request: Request) -> tuple[str, str, str]:
        """(object id, Fabric type, role) of a GroupUser body: identifier, or a user's emailAddress."""
        body = _object_body(request)
        role = body.get("groupUserAccessRight")
        if role not in WORKSPACE_ROLES:
            raise _bad(f"'groupUserAccessRight' must be one of {', '.join(WORKSPACE_ROLES)}; got {role!r}.")
        identifier = body.get("identifier") or body.get("emailAddress")
        principal_type = body.get("principalType") or ("User" if body.get("emailAddress") else None)
        principal_id, fabric_type = self._resolve(identifier, principal_type)
        return principal_id, fabric_type, str(role)

    def add_group_user(self, request: Request, params: dict[str, str]) -> Response:
        principal_id, principal_type, role = self._group_user(request)
        try:
            self.state.add_workspace_role(
                params["group"], principal_id, principal_type, role, caller=self._caller(request)
            )
        except FabricError as error:
            if error.error_code != "PrincipalAlreadyHasWorkspaceRolePermissions":
                raise
            raise FabricError(
                400,
                "AddingAlreadyExistsGroupUserNotSupportedError",
                f"Principal '{principal_id}' already has access to the workspace; update its role with PUT instead.",
            ) from None
        return Response(200)

    def update_group_user(self, request: Request, params: dict[str, str]) -> Response:
        principal_id, _, role = self._group_user(request)
        self.state.update_workspace_role(params["group"], principal_id, role, caller=self._caller(request))
        return Response(200)

    def delete_group_user(self, request: Request, params: dict[str, str]) -> Response:
        with self.state.lock:
            self.state.delete_workspace_role(
                params["group"], self._path_principal(params["user"]), caller=self._caller(request)
            )
        return Response(200)
