"""The unassign-workspace operation with a fake client: one request when the stage has a workspace, none
when it has not, a warning before the request, and a refusal kept unless the stage is now without one."""

from __future__ import annotations

import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ConflictError, ErrorDetails, FabricCiError, ForbiddenError, InputError, InputErrors
from fabric_ci.models.inputs import UnassignWorkspaceInputs, parse_inputs
from fabric_ci.models.resources import PipelineWithStages
from fabric_ci.operations.unassign_workspace import DOCS_URL, unassign_workspace

from .test_add_user import SIGN_IN, RecordingReporter

PIPELINE_ID = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
WORKSPACE = "0086393a-7234-43f6-8dfd-a6f7d79a41a4"


class FakeClient:
    """A pipeline of two stages, Dev (with a workspace) and Test (without); unassign requests recorded."""

    def __init__(self, *, refuse: FabricCiError | None = None, acts_before_refusing: bool = False) -> None:
        self.workspaces: dict[str, str | None] = {"s0": WORKSPACE, "s1": None}
        self.unassigned: list[str] = []
        self.refuse, self.acts_before_refusing = refuse, acts_before_refusing

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        stages = [
            {"id": "s0", "order": 0, "displayName": "Dev", "workspaceId": self.workspaces["s0"]},
            {"id": "s1", "order": 1, "displayName": "Test", "workspaceId": self.workspaces["s1"]},
        ]
        if self.workspaces["s0"]:
            stages[0]["workspaceName"] = "Sales [Dev]"
        return PipelineWithStages.model_validate({"id": PIPELINE_ID, "displayName": "Sales", "stages": stages})

    def unassign_workspace(self, pipeline_id: str, stage_id: str) -> None:
        assert pipeline_id == PIPELINE_ID
        self.unassigned.append(stage_id)
        if self.acts_before_refusing:
            self.workspaces[stage_id] = None
        if self.refuse:
            raise self.refuse
        self.workspaces[stage_id] = None


def inputs(stage: str, **extra: str) -> UnassignWorkspaceInputs:
    return parse_inputs(UnassignWorkspaceInputs, {**SIGN_IN, "pipeline": PIPELINE_ID, "stage": stage, **extra})


def test_a_stage_with_a_workspace_is_unassigned_after_a_warning() -> None:
    """One request; the warning names the workspace and what is lost, with Microsoft's page; changed is true."""
    client, reporter = FakeClient(), RecordingReporter()
    result = unassign_workspace(inputs("dev"), client, reporter)  # type: ignore[arg-type]
    assert client.unassigned == ["s0"]
    assert result.outputs() == {
        "pipeline-id": PIPELINE_ID,
        "stage-id": "s0",
        "workspace-id": WORKSPACE,
        "changed": "true",
    }
    (warning,) = reporter.warnings
    assert warning.startswith(f"Unassigning workspace {WORKSPACE} ('Sales [Dev]') from stage 'Dev' of 'Sales': ")
    assert "deployment history and its deployment rules will be lost" in warning
    assert DOCS_URL in warning
    assert reporter.infos == [f"Unassigned workspace {WORKSPACE} ('Sales [Dev]') from stage 'Dev' of 'Sales'"]


def test_a_stage_without_a_workspace_sends_nothing_and_says_so() -> None:
    """By order: the Test stage has none, so no request and no warning, a notice, and changed is false."""
    client, reporter = FakeClient(), RecordingReporter()
    result = unassign_workspace(inputs("1"), client, reporter)  # type: ignore[arg-type]
    assert client.unassigned == []
    assert result.outputs() == {"pipeline-id": PIPELINE_ID, "stage-id": "s1", "workspace-id": "", "changed": "false"}
    assert reporter.warnings == []
    assert reporter.notices == ["Stage 'Test' of 'Sales' has no workspace assigned; nothing to unassign."]


def test_an_unknown_stage_is_an_input_error_before_any_change() -> None:
    """A stage the pipeline lacks names the input and lists the stages; nothing is sent."""
    client = FakeClient()
    with pytest.raises(InputError) as raised:
        unassign_workspace(inputs("Production"), client, RecordingReporter())  # type: ignore[arg-type]
    assert raised.value.input_name == "stage"
    assert "Dev (0), Test (1)" in str(raised.value)
    assert client.unassigned == []


def test_a_refusal_is_reported_when_the_stage_keeps_its_workspace() -> None:
    """A deployment in progress (409): the service's error stands, the workspace is still there."""
    refusal = ConflictError(ErrorDetails(409, "DeploymentInProgress", "A deployment is in progress."))
    client = FakeClient(refuse=refusal)
    with pytest.raises(ConflictError):
        unassign_workspace(inputs("Dev"), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.workspaces["s0"] == WORKSPACE


def test_a_lost_answer_after_the_request_acted_is_a_success_without_a_second_request() -> None:
    """The answer is lost (AmbiguousResponse) but the stage has no workspace now: the request acted."""
    lost = AmbiguousResponse("POST .../unassignWorkspace: the connection broke", RuntimeError("reset"))
    client = FakeClient(refuse=lost, acts_before_refusing=True)
    result = unassign_workspace(inputs("Dev"), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.unassigned == ["s0"]
    assert (result.outputs()["workspace-id"], result.outputs()["changed"]) == (WORKSPACE, "true")


def test_a_lost_answer_before_the_request_acted_sends_it_once_more() -> None:
    """The stage still has its workspace after the lost answer: the request did not act, and is sent again."""

    class LosesTheFirst(FakeClient):
        def unassign_workspace(self, pipeline_id: str, stage_id: str) -> None:
            if not self.unassigned:
                self.unassigned.append(stage_id)
                raise AmbiguousResponse("POST .../unassignWorkspace was answered 503", RuntimeError("503"))
            super().unassign_workspace(pipeline_id, stage_id)

    client = LosesTheFirst()
    result = unassign_workspace(inputs("Dev"), client, RecordingReporter())  # type: ignore[arg-type]
    assert client.unassigned == ["s0", "s0"]
    assert result.outputs()["changed"] == "true"
    assert client.workspaces["s0"] is None


def test_a_refusal_is_never_taken_for_success_even_if_the_stage_is_empty_now() -> None:
    """A 403 on the first and only try stands, whatever another job did to the stage meanwhile."""
    refusal = ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "Only pipeline Admins may do this."))
    client = FakeClient(refuse=refusal, acts_before_refusing=True)
    with pytest.raises(ForbiddenError):
        unassign_workspace(inputs("Dev"), client, RecordingReporter())  # type: ignore[arg-type]


def test_power_bi_stages_are_checked_before_any_request() -> None:
    """With api: powerbi a stage outside its three is refused by validation, naming the input."""
    with pytest.raises(InputErrors) as raised:
        inputs("5", api="powerbi")
    (error,) = raised.value.errors
    assert error.input_name == "stage"
    assert "three stages" in error.message
