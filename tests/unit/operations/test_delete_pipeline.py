"""The delete-pipeline operation with a fake client: one DELETE when the pipeline is there, none when it is
absent or a deployment of it runs, a warning of what is lost first, and a lost answer settled by looking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import (
    DeploymentRunning,
    ErrorDetails,
    FabricCiError,
    ForbiddenError,
    InputError,
    NotFoundError,
)
from fabric_ci.models.inputs import DeletePipelineInputs, parse_inputs
from fabric_ci.models.resources import DeploymentOperation, Pipeline, PipelineWithStages
from fabric_ci.operations.delete_pipeline import DOCS_URL, delete_pipeline

from .test_add_user import SIGN_IN, RecordingReporter

PIPELINE_ID = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
DEV_WORKSPACE = "0086393a-7234-43f6-8dfd-a6f7d79a41a4"
OPERATION = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"


def operation(status: str, **fields: object) -> DeploymentOperation:
    return DeploymentOperation.model_validate({"id": OPERATION, "status": status, **fields})


class FakeClient:
    """One pipeline "Sales" of two stages, Dev (with a workspace) and Test (without); deletes recorded."""

    def __init__(
        self,
        *,
        deployments: list[DeploymentOperation] | None = None,
        refuse: FabricCiError | None = None,
        acts_before_refusing: bool = False,
    ) -> None:
        self.exists = True
        self.deployments = deployments or []
        self.deleted: list[str] = []
        self.refuse, self.acts_before_refusing = refuse, acts_before_refusing

    def list_pipelines(self) -> list[Pipeline]:
        return [Pipeline(id=PIPELINE_ID, display_name="Sales")] if self.exists else []

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        if not self.exists or pipeline_id != PIPELINE_ID:
            raise NotFoundError(ErrorDetails(404, "EntityNotFound", "not found"))
        stages = [
            {"id": "s0", "order": 0, "displayName": "Dev", "workspaceId": DEV_WORKSPACE},
            {"id": "s1", "order": 1, "displayName": "Test"},
        ]
        return PipelineWithStages.model_validate({"id": PIPELINE_ID, "displayName": "Sales", "stages": stages})

    def list_deployments(self, _pipeline_id: str) -> list[DeploymentOperation]:
        return self.deployments

    def delete_pipeline(self, pipeline_id: str) -> None:
        assert pipeline_id == PIPELINE_ID
        self.deleted.append(pipeline_id)
        if self.acts_before_refusing:
            self.exists = False
        if self.refuse:
            raise self.refuse
        self.exists = False


def inputs(pipeline: str = "sales") -> DeletePipelineInputs:
    return parse_inputs(DeletePipelineInputs, {**SIGN_IN, "pipeline": pipeline})


def test_a_pipeline_is_deleted_once_after_a_warning_of_what_is_lost() -> None:
    """By name: one DELETE; the warning names the pipeline, what goes, the workspace that stays, and the docs."""
    client, reporter = FakeClient(deployments=[operation("Succeeded")]), RecordingReporter()
    result = delete_pipeline(inputs(), client, reporter)  # type: ignore[arg-type]
    assert client.deleted == [PIPELINE_ID]
    assert result.outputs() == {"pipeline-id": PIPELINE_ID, "changed": "true"}
    assert result.workspaces == {"Dev": DEV_WORKSPACE}
    (warning,) = reporter.warnings
    assert warning.startswith(f"Deleting deployment pipeline 'Sales' ({PIPELINE_ID}): ")
    assert "deployment history, deployment rules and the pairing of items between stages will be lost" in warning
    assert f"Its workspaces ({DEV_WORKSPACE} of stage 'Dev') and their content stay, unassigned." in warning
    assert DOCS_URL in warning
    assert reporter.infos == [f"Deleted deployment pipeline 'Sales' ({PIPELINE_ID})"]


@pytest.mark.parametrize("pipeline", ["Nope", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"])
def test_an_absent_pipeline_sends_nothing_and_says_absent_may_mean_no_access(pipeline: str) -> None:
    """By name or id: no pipeline seen, no DELETE, no warning; a notice that it may be a missing Admin role."""
    client, reporter = FakeClient(), RecordingReporter()
    result = delete_pipeline(inputs(pipeline), client, reporter)  # type: ignore[arg-type]
    assert client.deleted == []
    assert result.outputs() == {"pipeline-id": "", "changed": "false"}
    assert reporter.warnings == []
    (notice,) = reporter.notices
    assert "nothing to delete" in notice
    assert "sees only the pipelines it is an Admin of" in notice


def test_a_second_run_finds_the_pipeline_gone_and_changes_nothing() -> None:
    """Idempotent: after a deletion the same inputs are a success with changed false and no request."""
    client = FakeClient()
    delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    again = delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.deleted == [PIPELINE_ID]
    assert again.changed is False


@pytest.mark.parametrize("status", ["NotStarted", "Running", "Executing"])
def test_a_running_deployment_refuses_the_delete_naming_it(status: str) -> None:
    """Before any write: the deployment's id, its stages and its start time are in the error (exit 1)."""
    running = operation(
        status,
        sourceStageId="s0",
        targetStageId="s1",
        executionStartTime="2026-12-02T06:30:00Z",
    )
    client, reporter = FakeClient(deployments=[running, operation("Succeeded")]), RecordingReporter()
    with pytest.raises(DeploymentRunning) as raised:
        delete_pipeline(inputs(), client, reporter)  # type: ignore[arg-type]
    message = str(raised.value)
    assert f"Deployment {OPERATION} of pipeline 'Sales' is still running" in message
    assert "from Dev to Test" in message
    assert f"started {datetime(2026, 12, 2, 6, 30, tzinfo=UTC).isoformat()}" in message
    assert "Nothing was deleted" in message
    assert raised.value.exit_code == 1
    assert client.deleted == []
    assert reporter.warnings == []


def test_a_deployment_not_started_yet_says_so() -> None:
    """A queued deployment has no start time: the error says it has not started, rather than a blank."""
    client = FakeClient(deployments=[operation("NotStarted")])
    with pytest.raises(DeploymentRunning, match="not started yet"):
        delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]


def test_a_lost_answer_after_the_request_acted_is_a_success_without_a_second_request() -> None:
    """The answer is lost (AmbiguousResponse) but the pipeline is gone now: the request acted."""
    lost = AmbiguousResponse("DELETE .../deploymentPipelines/x: the connection broke", RuntimeError("reset"))
    client = FakeClient(refuse=lost, acts_before_refusing=True)
    result = delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.deleted == [PIPELINE_ID]
    assert result.changed is True


def test_a_lost_answer_before_the_request_acted_sends_it_once_more() -> None:
    """The pipeline is still there after the lost answer: the request did not act, and is sent again."""

    class LosesTheFirst(FakeClient):
        def delete_pipeline(self, pipeline_id: str) -> None:
            if not self.deleted:
                self.deleted.append(pipeline_id)
                raise AmbiguousResponse("DELETE .../deploymentPipelines/x was answered 503", RuntimeError("503"))
            super().delete_pipeline(pipeline_id)

    client = LosesTheFirst()
    result = delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.deleted == [PIPELINE_ID, PIPELINE_ID]
    assert result.changed is True
    assert client.exists is False


def test_a_refusal_is_never_taken_for_success_even_if_the_pipeline_is_gone_now() -> None:
    """A 403 on the first and only try stands, whatever another job did to the pipeline meanwhile."""
    refusal = ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "Only pipeline Admins may do this."))
    client = FakeClient(refuse=refusal, acts_before_refusing=True)
    with pytest.raises(ForbiddenError):
        delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.deleted == [PIPELINE_ID]


def test_two_pipelines_of_the_name_are_an_input_error_before_any_request() -> None:
    """A name that two visible pipelines share is refused, naming the input, and nothing is deleted."""

    class Twice(FakeClient):
        def list_pipelines(self) -> list[Pipeline]:
            return [Pipeline(id=PIPELINE_ID, display_name="Sales"), Pipeline(id="other", display_name="SALES")]

    client = Twice()
    with pytest.raises(InputError) as raised:
        delete_pipeline(inputs(), client, RecordingReporter())  # type: ignore[arg-type]
    assert raised.value.input_name == "pipeline"
    assert "2 pipelines are named 'sales'" in str(raised.value)
    assert client.deleted == []
