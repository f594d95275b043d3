"""The Power BI REST API's deployment-pipeline endpoints (`/v1.0/myorg`), in the Fabric API's terms.

Every difference between the two APIs is normalised here, so operations never see it:
- stages are addressed by order (0 Development, 1 Test, 2 Production): a Stage's id is its order
  as text, and its name is the one the Power BI UI gives it;
- a stage's items come as arrays by type (`datasets`, `reports`, ...): flattened into StageItems
  with Fabric's type names (a dataset is a SemanticModel);
- a selective deploy sends those arrays of `{sourceId}`; the target stage is implied by
  `isBackwardDeployment` (input validation checked that it is the adjacent one);
- a deploy answers 202 with the operation in its body, and no Location or Retry-After;
- `Executing` is Fabric's `Running`; a step says `type: ReportDeployment`, `sourceAndTarget.source`
  and `error.errorDetails`; diff counts are `...ArtifactsCount`;
- Microsoft's own examples write `"Steps"` where the schema says `steps`, and `artifactName`
  where it says `artifactDisplayName`: both spellings are read;
- users are `{identifier, principalType, accessRight}`: `App` is a ServicePrincipal, and a user's
  identifier is its UPN; OData error bodies are mapped by api/errors.py like Fabric's.

With `admin=True` (add-user with `admin: true`) pipelines and their users come from the admin
API (`/admin/pipelines`), which sees every pipeline in the tenant but allows only 200 requests an
hour: one listing, with stages and users expanded, serves the whole run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from pydantic import AliasChoices, Field
from pydantic.alias_generators import to_camel

from fabric_ci.api.transport import AmbiguousResponse, Transport
from fabric_ci.auth.token import token_principal
from fabric_ci.errors import (
    BadRequestError,
    DefinitionUnavailable,
    ErrorDetails,
    InputError,
    NotFoundError,
    RelationsUnavailable,
    ThrottledError,
)
from fabric_ci.models.apis import POWERBI_STAGE_NAMES
from fabric_ci.models.requests import POWERBI_OPTIONS, DeployRequest, NewStage
from fabric_ci.models.resources import (
    DefinitionFetch,
    DeployAccepted,
    DeploymentOperation,
    DeploymentStep,
    DiffInformation,
    ExecutionPlan,
    Member,
    OperationNote,
    Pipeline,
    PipelineWithStages,
    PrincipalRef,
    RelatedItem,
    Resource,
    SourceAndTarget,
    Stage,
    StageItem,
    StageUpdate,
    StepError,
    UtcDatetime,
)

# The artifact arrays of a stage (and of a selective deploy) -> Fabric's item type names.
ARTIFACT_ARRAYS = {
    "datasets": "SemanticModel",
    "reports": "Report",
    "dashboards": "Dashboard",
    "dataflows": "Dataflow",
    "datamarts": "Datamart",
}
ARRAY_OF_TYPE = {item_type: array for array, item_type in ARTIFACT_ARRAYS.items()}
# Step types -> Fabric's item type names (the rest are "<Type>Deployment").
STEP_ITEM_TYPES = {"DatasetDeployment": "SemanticModel"}
STATUSES = {"Executing": "Running"}
PRINCIPAL_TYPES = {"App": "ServicePrincipal"}
POWERBI_PRINCIPAL_TYPES = {fabric: powerbi for powerbi, fabric in PRINCIPAL_TYPES.items()}

ADMIN_THROTTLED_HINT = (
    "The Power BI admin API allows 200 requests per hour per tenant, shared by every caller; wait for the "
    "hour to pass, or add the user without `admin: true` (as an Admin of the pipeline)."
)
# The codes of the opaque 400 the Power BI API gives for update-app without an app (and only those:
# any other refusal keeps its own code and message).
OPAQUE_BAD_REQUEST = frozenset({"", "BadRequest", "InvalidRequest"})
ADMIN_PAGE_SIZE = 5000  # the admin API's largest $top
UPDATE_APP_HINT = (
    "With update-app: true the Power BI API answers this opaque 400 when the target stage's workspace has no "
    "app. Publish an app from that workspace once (Power BI service: the workspace > Create app), or set "
    "update-app: false."
)


# --- the Power BI shapes, as sent ------------------------------------------------------------------


class _Stage(Resource):
    order: int
    workspace_id: str | None = None
    workspace_name: str | None = None


class _User(Resource):
    identifier: str
    principal_type: str = ""
    access_right: str | None = None
    group_user_access_right: str | None = None


class _Pipeline(Resource):
    id: str
    display_name: str = ""
    description: str | None = None
    stages: list[_Stage] = Field(default_factory=list)
    users: list[_User] = Field(default_factory=list)


class _Artifact(Resource):
    artifact_id: str
    artifact_display_name: str = Field(
        "", validation_alias=AliasChoices("artifactDisplayName", "artifactName", "artifact_display_name")
    )
    source_artifact_id: str | None = None
    target_artifact_id: str | None = None
    last_deployment_time: UtcDatetime | None = None


class _SourceAndTarget(Resource):
    source: str | None = None
    source_display_name: str | None = None
    target: str | None = None
    target_display_name: str | None = None


class _StepError(Resource):
    error_code: str | None = None
    error_details: str | None = None


class _Step(Resource):
    index: int
    type: str = ""
    status: str
    pre_deployment_diff_state: str | None = None
    source_and_target: _SourceAndTarget | None = None
    error: _StepError | None = None


class _Plan(Resource):
    steps: list[_Step] = Field(default_factory=list, validation_alias=AliasChoices("steps", "Steps"))


class _Diff(Resource):
    new_artifacts_count: int | None = None
    different_artifacts_count: int | None = None
    no_difference_artifacts_count: int | None = None


class _Operation(Resource):
    id: str
    type: str = "Deploy"
    status: str
    last_updated_time: UtcDatetime | None = None
    execution_start_time: UtcDatetime | None = None
    execution_end_time: UtcDatetime | None = None
    source_stage_order: int | None = None
    target_stage_order: int | None = None
    execution_plan: _Plan | None = None
    pre_deployment_diff_information: _Diff | None = None
    note: OperationNote | None = None
    performed_by: dict[str, Any] | None = None


# --- conversions to the Fabric shapes -------------------------------------------------------------------


def stage_name(order: int) -> str:
    return POWERBI_STAGE_NAMES[order] if 0 <= order < len(POWERBI_STAGE_NAMES) else f"Stage {order}"


def _stage(stage: _Stage) -> Stage:
    return Stage(
        id=str(stage.order),
        order=stage.order,
        display_name=stage_name(stage.order),
        workspace_id=stage.workspace_id,
        workspace_name=stage.workspace_name,
    )


def _pipeline(raw: _Pipeline) -> PipelineWithStages:
    return PipelineWithStages(
        id=raw.id,
        display_name=raw.display_name,
        description=raw.description,
        stages=[_stage(s) for s in sorted(raw.stages, key=lambda s: s.order)],
    )


def _step(step: _Step) -> DeploymentStep:
    item_type = STEP_ITEM_TYPES.get(step.type, step.type.removesuffix("Deployment"))
    st = step.source_and_target
    return DeploymentStep(
        index=step.index,
        description=step.type or None,
        status=STATUSES.get(step.status, step.status),
        pre_deployment_diff_state=step.pre_deployment_diff_state,
        source_and_target=SourceAndTarget(
            source_item_id=st.source,
            source_item_display_name=st.source_display_name,
            target_item_id=st.target,
            target_item_display_name=st.target_display_name,
            item_type=item_type,
        )
        if st
        else None,
        error=StepError(error_code=step.error.error_code, message=step.error.error_details) if step.error else None,
    )


def _operation(raw: _Operation) -> DeploymentOperation:
    diff = raw.pre_deployment_diff_information
    return DeploymentOperation(
        id=raw.id,
        type=raw.type,
        status=STATUSES.get(raw.status, raw.status),
        last_updated_time=raw.last_updated_time,
        execution_start_time=raw.execution_start_time,
        execution_end_time=raw.execution_end_time,
        source_stage_id=None if raw.source_stage_order is None else str(raw.source_stage_order),
        target_stage_id=None if raw.target_stage_order is None else str(raw.target_stage_order),
        execution_plan=ExecutionPlan(steps=[_step(s) for s in raw.execution_plan.steps])
        if raw.execution_plan
        else None,
        pre_deployment_diff_information=DiffInformation(
            new_items_count=diff.new_artifacts_count,
            different_items_count=diff.different_artifacts_count,
            no_difference_items_count=diff.no_difference_artifacts_count,
        )
        if diff
        else None,
        note=raw.note,
        performed_by=_performer(raw.performed_by),
    )


def _performer(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Power BI API's PerformedBy ({principalType, userPrincipalName | principalObjectID}) as the
    Fabric API's Principal ({id, type, userDetails: {userPrincipalName}})."""
    if not raw:
        return None
    kind = str(raw.get("principalType") or "")
    principal: dict[str, Any] = {"id": raw.get("principalObjectID"), "type": PRINCIPAL_TYPES.get(kind, kind)}
    if raw.get("userPrincipalName"):
        principal["id"] = principal["id"] or raw["userPrincipalName"]
        principal["userDetails"] = {"userPrincipalName": raw["userPrincipalName"]}
    return principal


def _member(user: _User) -> Member:
    return Member(
        principal_id=user.identifier,
        principal_type=PRINCIPAL_TYPES.get(user.principal_type, user.principal_type),
        role=user.access_right or user.group_user_access_right or "",
    )


def _principal(principal: PrincipalRef) -> dict[str, str]:
    return {"identifier": principal.id, "principalType": POWERBI_PRINCIPAL_TYPES.get(principal.type, principal.type)}


def _identifier(member: Member) -> str:
    """A user's UPN or another principal's object id, as a path segment. Quoted: a guest's UPN holds
    `#EXT#` (Microsoft's example: `john_contoso.com%23EXT%23@test.com`), and a bare `#` ends a path."""
    return quote(member.principal_id, safe="@")


def _options(request: DeployRequest) -> dict[str, bool]:
    return {to_camel(name): bool(getattr(request.options, name)) for name in POWERBI_OPTIONS}


class PowerBiClient:
    """The Power BI REST API; implements api.client.PipelinesClient."""

    def __init__(self, transport: Transport, *, admin: bool = False) -> None:
        self._t = transport
        self._admin = admin
        self._admin_listing: list[_Pipeline] | None = None

    # -- pipelines and stages ---------------------------------------------------------------------------

    def _admin_pipelines(self) -> list[_Pipeline]:
        if self._admin_listing is None:
            # The admin API pages with $top/$skip; each page is one of its 200 requests an hour,
            # so pages are as large as it allows.
            listing: list[_Pipeline] = []
            while True:
                params = {"$expand": "users,stages", "$top": str(ADMIN_PAGE_SIZE), "$skip": str(len(listing))}
                with _admin_throttle():
                    page = self._t.get_json("admin/pipelines", params=params).get("value", [])
                listing += [_Pipeline.model_validate(v) for v in page]
                if len(page) < ADMIN_PAGE_SIZE:
                    break
            self._admin_listing = listing
        return self._admin_listing

    def _admin_pipeline(self, pipeline_id: str) -> _Pipeline:
        found = next((p for p in self._admin_pipelines() if p.id.lower() == pipeline_id.lower()), None)
        if found is None:
            raise NotFoundError(ErrorDetails(404, "PipelineNotFound", f"No pipeline {pipeline_id} in the tenant."))
        return found

    def list_pipelines(self) -> list[Pipeline]:
        if self._admin:
            return [_pipeline(p) for p in self._admin_pipelines()]
        body = self._t.get_json("pipelines")
        return [Pipeline.model_validate(v) for v in body.get("value", [])]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        if self._admin:
            return _pipeline(self._admin_pipeline(pipeline_id))
        raw = self._t.get_json(f"pipelines/{pipeline_id}", params={"$expand": "stages"})
        return _pipeline(_Pipeline.model_validate(raw))

    def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
        body = self._t.get_json(f"pipelines/{pipeline_id}/stages/{stage_id}/artifacts")
        items = []
        for array, item_type in ARTIFACT_ARRAYS.items():
            for value in body.get(array) or []:
                artifact = _Artifact.model_validate(value)
                items.append(
                    StageItem(
                        item_id=artifact.artifact_id,
                        item_display_name=artifact.artifact_display_name,
                        item_type=item_type,
                        source_item_id=artifact.source_artifact_id,
                        target_item_id=artifact.target_artifact_id,
                        last_deployment_time=artifact.last_deployment_time,
                    )
                )
        return items

    # -- deployments --------------------------------------------------------------------------------------

    def list_deployments(self, pipeline_id: str, *, time_left: float | None = None) -> list[DeploymentOperation]:
        body = self._t.get_json(f"pipelines/{pipeline_id}/operations", time_left=time_left)
        return [_operation(_Operation.model_validate(v)) for v in body.get("value", [])]

    def get_deployment(
        self, pipeline_id: str, deployment_id: str, *, time_left: float | None = None
    ) -> DeploymentOperation:
        raw = self._t.get_json(f"pipelines/{pipeline_id}/operations/{deployment_id}", time_left=time_left)
        return _operation(_Operation.model_validate(raw))

    def deploy(self, pipeline_id: str, request: DeployRequest) -> DeployAccepted:
        """deployAll, or a selective deploy when items are chosen; sent at most once (see Transport)."""
        body: dict[str, Any] = {"sourceStageOrder": request.source.order, "options": _options(request)}
        if request.backward:
            body["isBackwardDeployment"] = True
        if request.sent_note:
            body["note"] = request.sent_note
        if request.new_workspace:
            body["newWorkspace"] = {"name": request.new_workspace.name}
            if request.new_workspace.capacity_id:
                body["newWorkspace"]["capacityId"] = request.new_workspace.capacity_id
        if request.update_app:
            body["updateAppSettings"] = {"updateAppInTargetWorkspace": True}
        path = f"pipelines/{pipeline_id}/deployAll"
        if request.items is not None:
            path = f"pipelines/{pipeline_id}/deploy"
            for item in request.items:
                body.setdefault(ARRAY_OF_TYPE[item.item_type], []).append({"sourceId": item.item_id})
        try:
            response = self._t.request("POST", path, json=body, replay_safe=False)
        except BadRequestError as refused:
            if request.update_app and refused.details.error_code in OPAQUE_BAD_REQUEST:
                raise InputError(
                    "update-app",
                    f"the service refused the deployment: {refused.details.error_code or 'HTTP 400'}: "
                    f"{refused.details.message}. {UPDATE_APP_HINT}",
                ) from None
            raise
        try:
            # The schema says the body is the operation; Microsoft's examples wrap it in `value`.
            found = response.json()
            if isinstance(found, dict) and isinstance(found.get("value"), list) and found["value"]:
                found = found["value"][0]
            operation = _Operation.model_validate(found)
        except ValueError as unreadable:
            # The deployment may well have started: find it in the history, never send it again.
            raise AmbiguousResponse(f"The deploy answer could not be read ({unreadable})", response) from None
        return DeployAccepted(deployment_id=operation.id)

    def signed_in_principal(self) -> str | None:
        return token_principal(self._t.access_token())

    def create_pipeline(
        self, display_name: str, description: str | None, stages: Sequence[NewStage]
    ) -> PipelineWithStages:
        """Pipelines_CreatePipeline: `{displayName, description}` only, the service adds its three stages
        (input validation allowed no others). Its 201 is the pipeline without stages; they are the
        three stages by order, none with a workspace yet, so they are not asked for."""
        body = {"displayName": display_name, **({"description": description} if description is not None else {})}
        response = self._t.request("POST", "pipelines", json=body, replay_safe=False)
        try:
            created = _Pipeline.model_validate(response.json())
        except ValueError:  # created, but we cannot tell its id from this answer
            raise AmbiguousResponse(f"The create answer ({response.status_code}) is not a pipeline", response) from None
        return _pipeline(
            created.model_copy(update={"stages": [_Stage(order=o) for o in range(len(POWERBI_STAGE_NAMES))]})
        )

    def requests_sent(self) -> int:
        return self._t.requests_sent

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None:
        path = f"pipelines/{pipeline_id}/stages/{stage_id}/assignWorkspace"
        self._t.request("POST", path, json={"workspaceId": workspace_id})

    def unassign_workspace(self, pipeline_id: str, stage_id: str) -> None:
        # stage_id is the stage order (see _stage); the spec's request has no body. Sent once: a lost
        # answer is AmbiguousResponse, for the caller to look at the stage.
        self._t.request("POST", f"pipelines/{pipeline_id}/stages/{stage_id}/unassignWorkspace", replay_safe=False)

    def delete_pipeline(self, pipeline_id: str) -> None:
        # Pipelines_DeletePipeline. Sent once: a lost answer is AmbiguousResponse, for the caller to
        # look for the pipeline.
        self._t.request("DELETE", f"pipelines/{pipeline_id}", replay_safe=False)

    def update_stage(self, pipeline_id: str, stage_id: str, changes: StageUpdate) -> Stage:
        # The Power BI API has no stage update; update-stage refuses api: powerbi at input validation,
        # so this is reached only by a caller that skipped it.
        raise InputError("api", "update-stage needs the Fabric API (api: fabric)")

    # plan-compare is an input of the Fabric API only, refused with api: powerbi before any request.
    def upstream_relations(self, workspace_id: str, item_id: str) -> list[RelatedItem]:
        raise RelationsUnavailable("the Power BI REST API has no item relations (the Fabric API's are in beta)")

    def start_item_definition(self, workspace_id: str, item_id: str, *, time_left: float) -> DefinitionFetch:
        raise DefinitionUnavailable("the Power BI REST API has no item definitions")

    def poll_item_definition(self, operation_id: str, *, time_left: float) -> DefinitionFetch:
        raise DefinitionUnavailable("the Power BI REST API has no item definitions")

    # -- users --------------------------------------------------------------------------------------------

    def list_pipeline_members(self, pipeline_id: str) -> list[Member]:
        if self._admin:
            return [_member(u) for u in self._admin_pipeline(pipeline_id).users]
        body = self._t.get_json(f"pipelines/{pipeline_id}/users")
        return [_member(_User.model_validate(v)) for v in body.get("value", [])]

    def add_pipeline_member(self, pipeline_id: str, principal: PrincipalRef, role: str) -> None:
        body = {**_principal(principal), "accessRight": role}
        if self._admin:
            with _admin_throttle():
                self._t.request("POST", f"admin/pipelines/{pipeline_id}/users", json=body)
            return
        self._t.request("POST", f"pipelines/{pipeline_id}/users", json=body)

    def list_workspace_members(self, workspace_id: str) -> list[Member]:
        body = self._t.get_json(f"groups/{workspace_id}/users")
        return [_member(_User.model_validate(v)) for v in body.get("value", [])]

    def add_workspace_member(self, workspace_id: str, principal: PrincipalRef, role: str) -> None:
        body = {**_principal(principal), "groupUserAccessRight": role}
        self._t.request("POST", f"groups/{workspace_id}/users", json=body)

    def change_workspace_role(self, workspace_id: str, member: Member, role: str) -> None:
        body = {**_principal(member.principal), "groupUserAccessRight": role}
        self._t.request("PUT", f"groups/{workspace_id}/users", json=body)

    def remove_pipeline_member(self, pipeline_id: str, member: Member) -> None:
        self._t.request("DELETE", f"pipelines/{pipeline_id}/users/{_identifier(member)}", replay_safe=False)

    def remove_workspace_member(self, workspace_id: str, member: Member) -> None:
        self._t.request("DELETE", f"groups/{workspace_id}/users/{_identifier(member)}", replay_safe=False)


@contextmanager
def _admin_throttle() -> Iterator[None]:
    """A 429 from the admin API says why: its hourly quota, which waiting minutes will not fix."""
    try:
        yield
    except ThrottledError as throttled:
        raise ThrottledError(throttled.details, hint=ADMIN_THROTTLED_HINT) from None
