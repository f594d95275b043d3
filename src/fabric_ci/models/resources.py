"""What the APIs return, in the Fabric API's shapes, parsed tolerantly: unknown fields are
ignored, enums stay strings. The Power BI client (api/powerbi.py) converts its answers to these.

The services document their enums as extensible ("additional statuses may be added over time"),
so statuses and types are plain strings here and are interpreted where they are used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


def _as_utc(moment: datetime) -> datetime:
    # The services write some times without an offset (the Fabric spec's examples:
    # "2020-12-13T09:26:43.153" beside "...Z"); they are UTC, and a naive one compared with an aware
    # one would raise.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class Resource(BaseModel):
    # defer_build (on every model of the package; tests/unit/models/test_deferred.py checks): a model's
    # validator is built when it is first used, so a command builds the few it uses instead of all 81
    # at import (about 70 ms of every start; measured as the time from a step's start to its first
    # request). Built on first use means built in whichever thread first uses it: deploy-many's
    # workers do so side by side, which pydantic makes safe from 2.14 (its rebuild lock; before, a
    # racing thread could validate with the parent's validator), hence the floor in pyproject.toml.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )


class Pipeline(Resource):
    id: str
    display_name: str
    description: str | None = None


class Stage(Resource):
    id: str
    order: int
    display_name: str
    description: str | None = None
    workspace_id: str | None = None
    workspace_name: str | None = None
    is_public: bool | None = None


class StageUpdate(BaseModel):
    """What update-stage sends: the Fabric API's DeploymentPipelineStageRequest, whose displayName is
    required (the current name when it does not change); None: the field is not sent."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    display_name: str
    description: str | None = None
    is_public: bool | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"displayName": self.display_name}
        if self.description is not None:
            body["description"] = self.description
        if self.is_public is not None:
            body["isPublic"] = self.is_public
        return body


class PipelineWithStages(Pipeline):
    stages: list[Stage] = Field(default_factory=list)


class StageItem(Resource):
    item_id: str
    item_display_name: str
    item_type: str
    source_item_id: str | None = None
    target_item_id: str | None = None
    last_deployment_time: UtcDatetime | None = None


class RelatedItem(Resource):
    """An item of the relations API (relations.json's RelationsRelatedItem)."""

    id: str
    type: str | None = None
    display_name: str | None = None
    workspace_id: str | None = None


class Relations(Resource):
    """The relations API's answer; only the related items are read (their edges are not needed)."""

    items: list[RelatedItem] = Field(default_factory=list)


class SourceAndTarget(Resource):
    source_item_id: str | None = None
    source_item_display_name: str | None = None
    target_item_id: str | None = None
    target_item_display_name: str | None = None
    item_type: str | None = None


class StepError(Resource):
    error_code: str | None = None
    message: str | None = None


class DeploymentStep(Resource):
    index: int
    description: str | None = None
    status: str
    pre_deployment_diff_state: str | None = None
    source_and_target: SourceAndTarget | None = None
    error: StepError | None = None


class ExecutionPlan(Resource):
    steps: list[DeploymentStep] = Field(default_factory=list)


class DiffInformation(Resource):
    new_items_count: int | None = None
    different_items_count: int | None = None
    no_difference_items_count: int | None = None


class OperationNote(Resource):
    content: str | None = None
    is_truncated: bool | None = None


class DeploymentOperation(Resource):
    """A deployment as the pipeline's operations view shows it (status and per-step detail)."""

    id: str
    type: str = "Deploy"
    status: str
    last_updated_time: UtcDatetime | None = None
    execution_start_time: UtcDatetime | None = None
    execution_end_time: UtcDatetime | None = None
    source_stage_id: str | None = None
    target_stage_id: str | None = None
    execution_plan: ExecutionPlan | None = None
    pre_deployment_diff_information: DiffInformation | None = None
    note: OperationNote | None = None
    performed_by: dict[str, Any] | None = None

    @property
    def steps(self) -> list[DeploymentStep]:
        return self.execution_plan.steps if self.execution_plan else []


class LongRunningOperationState(Resource):
    """`GET /operations/{id}`: the generic Fabric long-running-operation state."""

    status: str
    created_time_utc: UtcDatetime | None = None
    last_updated_time_utc: UtcDatetime | None = None
    percent_complete: int | None = None
    error: dict[str, Any] | None = None


class DefinitionPart(Resource):
    path: str
    payload: str = ""
    payload_type: str = "InlineBase64"


class ItemDefinition(Resource):
    """An item's definition (`getDefinition`)."""

    parts: list[DefinitionPart] = Field(default_factory=list)
    format: str | None = None


class DefinitionFetch(Resource):
    """Where fetching a definition stands: the definition, or the long-running operation to poll
    after `retry_after` seconds."""

    definition: ItemDefinition | None = None
    operation_id: str | None = None
    retry_after: float = 0.0


class DeployAccepted(Resource):
    """What a deploy request returned: the ids to follow, or the finished deployment."""

    deployment_id: str
    finished: DeploymentOperation | None = None


class PrincipalRef(BaseModel):
    """A user, group or service principal: by object id, or (users, Power BI API) by UPN."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    type: str  # User, Group, ServicePrincipal or ServicePrincipalProfile (Fabric's names)


class Member(Resource):
    """A principal's role on a pipeline or a workspace, as either API lists it."""

    principal_id: str  # the object id; the Power BI API names users by UPN instead
    principal_type: str  # Fabric's names: User, Group, ServicePrincipal, ServicePrincipalProfile
    role: str
    assignment_id: str | None = None  # the Fabric API's role assignment id

    @property
    def principal(self) -> PrincipalRef:
        return PrincipalRef(id=self.principal_id, type=self.principal_type)

    def is_principal(self, principal_id: str) -> bool:
        return self.principal_id.lower() == principal_id.lower()
