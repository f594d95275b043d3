"""The Fabric REST API's deployment-pipeline endpoints, returning typed models."""

from __future__ import annotations

from typing import Any

from fabric_ci.api.pagination import iter_values
from fabric_ci.api.transport import Transport
from fabric_ci.errors import ApiError, ErrorDetails
from fabric_ci.models.resources import (
    DeployAccepted,
    DeploymentOperation,
    Pipeline,
    PipelineWithStages,
    StageItem,
)


class FabricClient:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list_pipelines(self) -> list[Pipeline]:
        return [Pipeline.model_validate(v) for v in iter_values(self._t, "deploymentPipelines")]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        return PipelineWithStages.model_validate(self._t.get_json(f"deploymentPipelines/{pipeline_id}"))

    def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}/items"
        return [StageItem.model_validate(v) for v in iter_values(self._t, path)]

    def list_deployments(self, pipeline_id: str) -> list[DeploymentOperation]:
        """The pipeline's most recent operations (the service keeps 20), newest first."""
        path = f"deploymentPipelines/{pipeline_id}/operations"
        return [DeploymentOperation.model_validate(v) for v in iter_values(self._t, path)]

    def get_deployment(
        self, pipeline_id: str, deployment_id: str, *, time_left: float | None = None
    ) -> DeploymentOperation:
        path = f"deploymentPipelines/{pipeline_id}/operations/{deployment_id}"
        return DeploymentOperation.model_validate(self._t.get_json(path, time_left=time_left))

    def deploy(
        self,
        pipeline_id: str,
        *,
        source_stage_id: str,
        target_stage_id: str,
        items: list[tuple[str, str]] | None = None,
        note: str | None = None,
    ) -> DeployAccepted:
        """Start a deployment. Sent at most once: when its answer is lost, AmbiguousResponse is
        raised and the caller must look for the deployment rather than send it again."""
        body: dict[str, Any] = {"sourceStageId": source_stage_id, "targetStageId": target_stage_id}
        if items is not None:
            body["items"] = [{"sourceItemId": i, "itemType": t} for i, t in items]
        if note:
            body["note"] = note
        response = self._t.request("POST", f"deploymentPipelines/{pipeline_id}/deploy", json=body, replay_safe=False)
        if response.status_code == 200:  # finished synchronously: the body is the operation
            finished = DeploymentOperation.model_validate(response.json())
            return DeployAccepted(deployment_id=finished.id, finished=finished)
        retry_after = response.headers.get("Retry-After")
        deployment_id = response.headers.get("deployment-id")
        if not deployment_id:
            raise ApiError(
                ErrorDetails(response.status_code, "MissingDeploymentId", "202 without a deployment-id header")
            )
        return DeployAccepted(
            deployment_id=deployment_id,
            lro_id=response.headers.get("x-ms-operation-id"),
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None:
        path = f"deploymentPipelines/{pipeline_id}/stages/{stage_id}/assignWorkspace"
        self._t.request("POST", path, json={"workspaceId": workspace_id})

    def list_role_assignments(self, pipeline_id: str) -> list[dict[str, Any]]:
        return list(iter_values(self._t, f"deploymentPipelines/{pipeline_id}/roleAssignments"))

    def add_role_assignment(self, pipeline_id: str, principal_id: str, principal_type: str, role: str) -> None:
        body = {"principal": {"id": principal_id, "type": principal_type}, "role": role}
        self._t.request("POST", f"deploymentPipelines/{pipeline_id}/roleAssignments", json=body)
