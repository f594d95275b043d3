"""The deploy operation with a fake client: lost answers and synchronous results."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ApiError, DeploymentFailed
from fabric_ci.models.inputs import DeployAllInputs, parse_inputs
from fabric_ci.models.resources import DeployAccepted, DeploymentOperation, PipelineWithStages
from fabric_ci.operations.deploy import LOST_ANSWER_CHECKS, deploy
from fabric_ci.operations.waiting import Clock

P, DEV, TEST = (
    "a5ded933-57b7-41f4-b072-ed4c1f9d5824",
    "db1577e0-0132-4d6d-92b9-952c359988f2",
    "f1c39546-6282-4590-8af3-847a6226ad16",
)
PIPELINE = PipelineWithStages.model_validate(
    {
        "id": P,
        "displayName": "Sales",
        "stages": [
            {"id": DEV, "order": 0, "displayName": "Development", "workspaceId": "w0"},
            {"id": TEST, "order": 1, "displayName": "Test", "workspaceId": "w1"},
        ],
    }
)


def op(
    op_id: str, status: str = "Running", source: str = DEV, target: str = TEST, note: str | None = None
) -> DeploymentOperation:
    body: dict[str, Any] = {"id": op_id, "status": status, "sourceStageId": source, "targetStageId": target}
    if note:
        body["note"] = {"content": note}
    return DeploymentOperation.model_validate(body)


class FakeClient:
    """Just enough of FabricClient: a history that can change after the POST, and a scripted deploy."""

    def __init__(self, before: list[DeploymentOperation], after: list[DeploymentOperation], deploy_result: Any) -> None:
        self.before, self.after, self.deploy_result = before, after, deploy_result
        self.deploy_calls = 0
        self.history_reads: list[float] = []
        self.clock: VirtualClock | None = None

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        return PIPELINE

    def list_deployments(self, _pipeline_id: str) -> list[DeploymentOperation]:
        self.history_reads.append(self.clock.t if self.clock else 0.0)
        return self.before if self.deploy_calls == 0 else self.after

    def get_deployment(self, _pipeline_id: str, deployment_id: str, **_kwargs: Any) -> DeploymentOperation:
        return next(o for o in self.after if o.id == deployment_id)

    def deploy(self, *_args: Any, **_kwargs: Any) -> DeployAccepted:
        self.deploy_calls += 1
        if isinstance(self.deploy_result, Exception):
            raise self.deploy_result
        return self.deploy_result


class VirtualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class QuietReporter:
    def __init__(self) -> None:
        self.accepted: list[str] = []

    def phase(self, _title: str) -> Any:
        import contextlib

        return contextlib.nullcontext()

    def info(self, _m: str) -> None: ...
    def debug(self, _m: str) -> None: ...
    def notice(self, _m: str) -> None: ...
    def warning(self, _m: str) -> None: ...
    def mask(self, _s: str) -> None: ...
    def progress(self, _p: Any) -> None: ...

    def deployment_accepted(self, operation_id: str) -> None:
        self.accepted.append(operation_id)


INPUTS = parse_inputs(
    DeployAllInputs,
    {
        "tenant-id": "contoso.com",
        "client-id": P,
        "client-secret": "x",
        "pipeline": P,
        "source-stage": "Development",
        "wait": "false",
        "note": "release 42",
    },
)
LOST = AmbiguousResponse("The service answered 500", httpx.Response(500))


def run(client: FakeClient) -> tuple[Any, QuietReporter, VirtualClock]:
    clock = VirtualClock()
    client.clock = clock
    reporter = QuietReporter()
    return deploy(INPUTS, client, reporter, Clock(lambda: clock.t, clock.sleep)), reporter, clock  # type: ignore[arg-type]


def test_lost_answer_adopts_the_one_new_deployment_with_our_note() -> None:
    """After a lost answer, the deployment that was not there before and carries our note is ours."""
    old = op("old", "Succeeded", note="release 42")
    client = FakeClient([old], [op("new", note="release 42"), old], LOST)
    result, reporter, _ = run(client)
    assert reporter.accepted == ["new"]
    assert result.operation_id == "new"
    assert client.deploy_calls == 1


def test_lost_answer_never_adopts_a_deployment_that_existed_before() -> None:
    """An earlier deployment between the same stages is not mistaken for ours; nothing is re-sent."""
    earlier = op("earlier", "Succeeded", note="release 42")
    client = FakeClient([earlier], [earlier], LOST)
    with pytest.raises(ApiError, match="Nothing was deployed"):
        run(client)
    assert client.deploy_calls == 1


def test_lost_answer_ignores_someone_elses_new_deployment() -> None:
    """A colleague's new deployment with another note is not ours."""
    client = FakeClient([], [op("theirs", note="hotfix")], LOST)
    with pytest.raises(ApiError, match="Nothing was deployed"):
        run(client)


def test_lost_answer_refuses_to_guess_between_two_candidates() -> None:
    """Two new deployments that both fit are reported, not guessed between."""
    client = FakeClient([], [op("a", note="release 42"), op("b", note="release 42")], LOST)
    with pytest.raises(ApiError, match="fabric-ci will not guess"):
        run(client)


def test_lost_answer_looks_again_for_a_while_before_concluding() -> None:
    """History is read before the POST, then at each scheduled look after the failure."""
    client = FakeClient([], [], LOST)
    with pytest.raises(ApiError):
        run(client)
    assert client.history_reads == [0.0, *LOST_ANSWER_CHECKS]


def test_a_synchronous_failed_deployment_fails_the_step() -> None:
    """A 200 whose operation ended Failed is a failed deployment, not a success."""
    finished = DeploymentOperation.model_validate(
        {
            "id": "d",
            "status": "Failed",
            "sourceStageId": DEV,
            "targetStageId": TEST,
            "executionPlan": {
                "steps": [
                    {
                        "index": 0,
                        "status": "Failed",
                        "sourceAndTarget": {"sourceItemDisplayName": "Sales", "itemType": "Report"},
                        "error": {"errorCode": "X", "message": "broken"},
                    }
                ]
            },
        }
    )
    client = FakeClient([], [], DeployAccepted(deployment_id="d", finished=finished))
    with pytest.raises(DeploymentFailed, match="Report 'Sales'"):
        run(client)
