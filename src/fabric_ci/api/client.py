"""The one interface operations use, whichever REST API is behind it (api/fabric.py, api/powerbi.py).

Everything is in the Fabric API's terms (models/resources.py): a stage has an id (the Power BI
client uses the stage order as its id), items have Fabric type names, statuses are Fabric's.
The clients normalise their API's answers; operations never learn which API they talk to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fabric_ci.models.requests import DeployRequest, NewStage
from fabric_ci.models.resources import (
    DefinitionFetch,
    DeployAccepted,
    DeploymentOperation,
    Member,
    Pipeline,
    PipelineWithStages,
    PrincipalRef,
    RelatedItem,
    Stage,
    StageItem,
    StageUpdate,
)


class PipelinesClient(Protocol):
    def list_pipelines(self) -> list[Pipeline]: ...

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages: ...

    def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]: ...

    def list_deployments(self, pipeline_id: str, *, time_left: float | None = None) -> list[DeploymentOperation]:
        """The pipeline's recent deployments, newest first; `time_left` bounds the retries."""

    def get_deployment(
        self, pipeline_id: str, deployment_id: str, *, time_left: float | None = None
    ) -> DeploymentOperation: ...

    def deploy(self, pipeline_id: str, request: DeployRequest) -> DeployAccepted:
        """Start a deployment. Sent at most once: when its answer is lost, AmbiguousResponse is
        raised and the caller must look for the deployment rather than send it again."""

    def requests_sent(self) -> int:
        """How many HTTP requests this client has sent so far, retries included."""

    def signed_in_principal(self) -> str | None:
        """The object id of the principal this client is signed in as (from its access token's
        `oid`), or None when the token names none."""

    def create_pipeline(
        self, display_name: str, description: str | None, stages: Sequence[NewStage]
    ) -> PipelineWithStages:
        """Create a pipeline, the caller its Admin. Sent once: when its answer is lost, AmbiguousResponse is
        raised and the caller must look for the pipeline by name rather than send it again."""

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None: ...

    def unassign_workspace(self, pipeline_id: str, stage_id: str) -> None:
        """Take the stage's workspace off it (the request has no body in either API)."""

    def delete_pipeline(self, pipeline_id: str) -> None:
        """Delete the pipeline. Sent once: when its answer is lost, AmbiguousResponse is raised and
        the caller must look for the pipeline rather than send it again."""

    def update_stage(self, pipeline_id: str, stage_id: str, changes: StageUpdate) -> Stage:
        """Change a stage's display name, description or public flag; the stage as the service
        answers it. The Fabric API only (the Power BI API's three stages are fixed)."""

    def upstream_relations(self, workspace_id: str, item_id: str) -> list[RelatedItem]:
        """Every item upstream of the item (what it reads, and what those read); RelationsUnavailable
        when the API cannot say."""

    def start_item_definition(self, workspace_id: str, item_id: str, *, time_left: float) -> DefinitionFetch:
        """Ask for an item's definition (Fabric API only): the definition, or an operation to poll.
        DefinitionUnavailable when the service has none for it or refuses."""

    def poll_item_definition(self, operation_id: str, *, time_left: float) -> DefinitionFetch: ...

    def list_pipeline_members(self, pipeline_id: str) -> list[Member]: ...

    def add_pipeline_member(self, pipeline_id: str, principal: PrincipalRef, role: str) -> None: ...

    def list_workspace_members(self, workspace_id: str) -> list[Member]: ...

    def add_workspace_member(self, workspace_id: str, principal: PrincipalRef, role: str) -> None: ...

    def change_workspace_role(self, workspace_id: str, member: Member, role: str) -> None: ...

    def remove_pipeline_member(self, pipeline_id: str, member: Member) -> None:
        """Take the member's role off the pipeline. Sent once: when its answer is lost, AmbiguousResponse
        is raised and the caller must list the members to learn whether it acted."""

    def remove_workspace_member(self, workspace_id: str, member: Member) -> None:
        """Take the member's role off the workspace; sent once, as remove_pipeline_member."""
