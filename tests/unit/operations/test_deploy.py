"""The deploy operation with a fake client: lost answers, the run marker and synchronous results."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.clock import Clock, VirtualClock
from fabric_ci.errors import (
    Cancelled,
    DeploymentFailed,
    DeploymentOutcomeUnknown,
    DeploymentRefused,
    ErrorDetails,
    NotFoundError,
    ServerError,
    StepCancelled,
    WaitTimeout,
)
from fabric_ci.models.inputs import DeployAllInputs, parse_inputs
from fabric_ci.models.requests import DeployRequest
from fabric_ci.models.resources import DeployAccepted, DeploymentOperation, PipelineWithStages, StageItem
from fabric_ci.operations.deploy import LOST_ANSWER_CHECKS, deploy
from fabric_ci.operations.waiting import NEWLY_ACCEPTED_GRACE

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


History = list[DeploymentOperation] | Callable[[DeployRequest, float], list[DeploymentOperation]]


class FakeClient:
    """Just enough of FabricClient: a history that can change after the POST (as a function of the
    request sent and the time, to show our deployment late), and a scripted deploy."""

    def __init__(self, before: list[DeploymentOperation], after: History, deploy_result: Any) -> None:
        self.before, self.after, self.deploy_result = before, after, deploy_result
        self.deploy_calls = 0
        self.sent: DeployRequest | None = None
        self.history_reads: list[float] = []
        self.clock: VirtualClock | None = None
        self.failing_reads = 0  # history reads after the POST that fail (an outage outlasting retries)
        self.failing_status: bool | int = False  # status reads fail: always (True) or this many times

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        return PIPELINE

    def list_stage_items(self, _pipeline_id: str, stage_id: str) -> list[StageItem]:
        # The plan's reads: one report in Development (an empty stage is a refusal), nothing in Test.
        if stage_id != DEV:
            return []
        return [StageItem(item_id="r1", item_display_name="Sales", item_type="Report")]

    def _after(self) -> list[DeploymentOperation]:
        if callable(self.after):
            assert self.sent is not None
            return self.after(self.sent, self.clock.t if self.clock else 0.0)
        return self.after

    def list_deployments(self, _pipeline_id: str, **_kwargs: Any) -> list[DeploymentOperation]:
        self.history_reads.append(self.clock.t if self.clock else 0.0)
        if self.deploy_calls and self.failing_reads:
            self.failing_reads -= 1
            raise ServerError(ErrorDetails(503, "ServiceUnavailable", "unavailable"))
        return self.before if self.deploy_calls == 0 else self._after()

    def get_deployment(self, _pipeline_id: str, deployment_id: str, **_kwargs: Any) -> DeploymentOperation:
        if self.failing_status is True or (self.failing_status and self.failing_status > 0):
            if self.failing_status is not True:
                self.failing_status -= 1
            raise ServerError(ErrorDetails(503, "ServiceUnavailable", "unavailable"))
        return next(o for o in self._after() if o.id == deployment_id)

    def deploy(self, _pipeline_id: str, request: DeployRequest) -> DeployAccepted:
        self.deploy_calls += 1
        self.sent = request
        if isinstance(self.deploy_result, Exception):
            raise self.deploy_result
        return self.deploy_result  # type: ignore[no-any-return]


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


RAW_INPUTS = {
    "tenant-id": "contoso.com",
    "client-id": P,
    "client-secret": "x",
    "pipeline": P,
    "source-stage": "Development",
    "wait": "false",
    "note": "release 42",
}
INPUTS = parse_inputs(DeployAllInputs, RAW_INPUTS)
LOST = AmbiguousResponse("The service answered 500", httpx.Response(500))


def run(client: FakeClient, inputs: Any = INPUTS) -> tuple[Any, QuietReporter, VirtualClock]:
    clock = VirtualClock(0.0)
    client.clock = clock
    reporter = QuietReporter()
    return deploy(inputs, client, reporter, clock.clock), reporter, clock  # type: ignore[arg-type]


def ours(op_id: str, status: str = "Running", *, appears_at: float = 0.0) -> History:
    """A history where the deployment we sent (with the note as sent) shows from `appears_at` on."""

    def history(request: DeployRequest, now: float) -> list[DeploymentOperation]:
        return [op(op_id, status, note=request.sent_note)] if now >= appears_at else []

    return history


def test_the_note_sent_carries_a_run_marker_after_the_users_note() -> None:
    """The deploy request's note is the user's note, then this run's marker, within the service's 1024."""
    client = FakeClient([], ours("new"), DeployAccepted(deployment_id="new"))
    run(client)
    assert client.sent is not None
    assert re.fullmatch(r"release 42 \[fabric-ci [0-9a-f]{8}\]", client.sent.sent_note or "")
    longest = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "note": "n" * 1000})
    assert isinstance(longest, DeployAllInputs)
    request = client.sent.model_copy(update={"note": longest.note})
    assert len(request.sent_note or "") <= 1024


def test_lost_answer_adopts_the_new_deployment_with_this_runs_marker() -> None:
    """After a lost answer, the deployment that was not there before and carries our marker is ours."""
    old = op("old", "Succeeded", note="release 42")
    client = FakeClient([old], lambda req, now: [op("new", note=req.sent_note), old], LOST)
    result, reporter, _ = run(client)
    assert reporter.accepted == ["new"]
    assert result.operation_id == "new"
    assert client.deploy_calls == 1


def test_lost_answer_never_adopts_a_deployment_that_existed_before() -> None:
    """An earlier deployment between the same stages is not mistaken for ours; nothing is re-sent."""
    earlier = op("earlier", "Succeeded", note="release 42")
    client = FakeClient([earlier], [earlier], LOST)
    with pytest.raises(DeploymentOutcomeUnknown):
        run(client)
    assert client.deploy_calls == 1


def test_lost_answer_ignores_a_concurrent_runs_deployment_with_the_same_note() -> None:
    """Another run of the same principal, same stages and same note, deploying at the same moment, is not ours."""
    client = FakeClient([], [op("theirs", note="release 42 [fabric-ci 0badc0de]")], LOST)
    with pytest.raises(DeploymentOutcomeUnknown):
        run(client)
    assert client.deploy_calls == 1


def test_lost_answer_without_a_note_still_tells_ours_from_theirs() -> None:
    """With no note given, the marker alone identifies our deployment among others' new ones."""
    inputs = parse_inputs(DeployAllInputs, {k: v for k, v in RAW_INPUTS.items() if k != "note"})
    client = FakeClient(
        [], lambda req, now: [op("theirs"), op("mine", note=req.sent_note), op("other", note="x")], LOST
    )
    result, _, _ = run(client, inputs)
    assert result.operation_id == "mine"


def test_lost_answer_found_late_within_the_grace_is_adopted() -> None:
    """A deployment that shows in the history only 12 s after the lost answer is found, not sent again."""
    client = FakeClient([], ours("late", appears_at=12.0), LOST)
    result, _, _ = run(client)
    assert result.operation_id == "late"
    assert client.deploy_calls == 1


def test_lost_answer_not_found_says_the_outcome_is_unknown_and_how_to_check() -> None:
    """None found: never "nothing was deployed"; the message names the marker to look for, and no status 0."""
    client = FakeClient([], [], LOST)
    with pytest.raises(DeploymentOutcomeUnknown) as raised:
        run(client)
    message = raised.value.message
    assert client.sent is not None
    assert client.sent.marker in message
    assert "may still have started" in message
    assert "othing was deployed" not in message
    assert not message.startswith("0 ")


def test_lost_answer_looks_again_for_as_long_as_the_grace() -> None:
    """History is read before the POST, then at each scheduled look up to the grace a new deployment may need."""
    client = FakeClient([], [], LOST)
    with pytest.raises(DeploymentOutcomeUnknown):
        run(client)
    assert client.history_reads == [0.0, *LOST_ANSWER_CHECKS]
    assert LOST_ANSWER_CHECKS[-1] >= NEWLY_ACCEPTED_GRACE


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


def test_lost_answer_survives_failed_looks_at_the_history() -> None:
    """History reads that fail after the lost answer are looks without an answer: a later look still finds ours."""
    client = FakeClient([], ours("found"), LOST)
    client.failing_reads = 3
    result, _, _ = run(client)
    assert result.operation_id == "found"
    assert client.deploy_calls == 1


def test_lost_answer_with_every_look_failing_is_an_unknown_outcome_naming_the_marker() -> None:
    """If no look at the history succeeds, the step still says the outcome is unknown and what to look for."""
    client = FakeClient([], ours("exists"), LOST)
    client.failing_reads = 100
    with pytest.raises(DeploymentOutcomeUnknown) as raised:
        run(client)
    assert client.sent is not None
    assert client.sent.marker in raised.value.message
    assert "look at the history failed too" in raised.value.message


def test_lost_answer_search_ends_at_the_steps_deadline() -> None:
    """With timeout: 10s the search for a lost answer stops by then, instead of looking for the full 30 s."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "timeout": "10s"})
    client = FakeClient([], [], LOST)
    with pytest.raises(DeploymentOutcomeUnknown):
        run(client, inputs)
    assert max(client.history_reads) <= 10


def test_lost_answer_reads_a_truncated_note_in_full() -> None:
    """A list view that truncates our note before the marker does not hide our deployment: it is read in full."""

    def truncated(request: DeployRequest, now: float) -> list[DeploymentOperation]:
        full = op("ours", note=request.sent_note)
        shown = full.model_copy(
            update={"note": full.note.model_copy(update={"content": "release", "is_truncated": True})}
        )  # type: ignore[union-attr]
        return [shown] if now >= 0 else [full]

    client = FakeClient([], truncated, LOST)
    client.get_deployment = lambda _p, deployment_id, **_k: op(deployment_id, note=client.sent.sent_note)  # type: ignore[method-assign,union-attr]
    result, _, _ = run(client)
    assert result.operation_id == "ours"


def test_lost_answer_with_two_marked_deployments_refuses_to_guess() -> None:
    """Two deployments carrying this run's marker (the service acted twice) are reported, not guessed between."""
    client = FakeClient([], lambda req, now: [op("a", note=req.sent_note), op("b", note=req.sent_note)], LOST)
    with pytest.raises(DeploymentOutcomeUnknown, match="will not guess"):
        run(client)


def test_with_wait_false_a_status_look_that_fails_does_not_fail_the_accepted_deployment() -> None:
    """wait: false, the deployment accepted, its one status look failing: exit 0 with the id, and a warning."""
    client = FakeClient([], ours("accepted"), DeployAccepted(deployment_id="accepted"))
    client.failing_status = True
    result, reporter, _ = run(client)
    assert result.operation_id == "accepted"
    assert reporter.accepted == ["accepted"]


def test_an_outage_of_status_reads_mid_wait_does_not_end_the_wait() -> None:
    """Status reads whose retries run out are looks without an answer: the wait goes on and sees the end."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "wait": "true"})
    client = FakeClient([], ours("d", "Succeeded"), DeployAccepted(deployment_id="d"))
    client.failing_status = 3
    result, _, _ = run(client, inputs)
    assert result.status == "Succeeded"


def test_status_reads_failing_to_the_deadline_end_in_a_timeout_that_says_why() -> None:
    """No status answer until the timeout: a WaitTimeout (not a bare 503) saying none came, why, and how to follow."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "wait": "true", "timeout": "2m"})
    client = FakeClient([], ours("d"), DeployAccepted(deployment_id="d"))
    client.failing_status = True
    with pytest.raises(WaitTimeout) as raised:
        run(client, inputs)
    message = raised.value.message
    assert "could not be seen" in message
    assert "503 ServiceUnavailable" in message
    assert "wait-for-deployment" in message
    assert raised.value.result.operation_id == "d"


def test_the_listing_grace_counts_from_acceptance_not_from_a_slow_deploy_request() -> None:
    """A deploy request that took 40 s to be accepted still gets 30 s for the deployment to be listed."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "wait": "true"})
    accepted_at: list[float] = []

    class SlowAccept(FakeClient):
        def deploy(self, pipeline_id: str, request: DeployRequest) -> DeployAccepted:
            assert self.clock is not None
            self.clock.sleep(40)  # throttled, then accepted
            accepted_at.append(self.clock.t)
            return super().deploy(pipeline_id, request)

        def get_deployment(self, pipeline_id: str, deployment_id: str, **kwargs: Any) -> DeploymentOperation:
            assert self.clock is not None
            if self.clock.t < accepted_at[0] + 20:  # listed 20 s after acceptance
                raise NotFoundError(ErrorDetails(404, "EntityNotFound", "not found"))
            return super().get_deployment(pipeline_id, deployment_id, **kwargs)

    client = SlowAccept([], ours("d", "Succeeded"), DeployAccepted(deployment_id="d"))
    result, _, _ = run(client, inputs)
    assert result.status == "Succeeded"


def test_a_deploy_request_that_used_up_the_timeout_still_gets_one_look_for_its_lost_answer() -> None:
    """timeout: 30s, a deploy POST hung for 60 s before its answer was lost: one look is still made, and finds it."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "timeout": "30s"})

    class Hung(FakeClient):
        def deploy(self, pipeline_id: str, request: DeployRequest) -> DeployAccepted:
            assert self.clock is not None
            self.clock.sleep(60)
            return super().deploy(pipeline_id, request)

    client = Hung([], ours("found"), LOST)
    result, _, _ = run(client, inputs)
    assert result.operation_id == "found"


def test_an_unreadable_status_answer_mid_wait_is_no_answer_not_a_bug() -> None:
    """A status answer that is not a deployment (a proxy's page) is a look without an answer: the wait goes on."""
    inputs = parse_inputs(DeployAllInputs, {**RAW_INPUTS, "wait": "true"})
    unreadable = [2]

    class Proxy(FakeClient):
        def get_deployment(self, pipeline_id: str, deployment_id: str, **kwargs: Any) -> DeploymentOperation:
            if unreadable[0]:
                unreadable[0] -= 1
                return DeploymentOperation.model_validate({"no": "id"})  # raises pydantic's ValidationError
            return super().get_deployment(pipeline_id, deployment_id, **kwargs)

    client = Proxy([], ours("d", "Succeeded"), DeployAccepted(deployment_id="d"))
    result, _, _ = run(client, inputs)
    assert result.status == "Succeeded"


def test_a_cancel_that_arrives_while_the_stages_are_read_sends_no_deployment() -> None:
    """deploy-many cancels its run while an entry reads (its worker clock raises Cancelled from any
    sleep once the run is cancelled): the entry stops before its deploy request, saying nothing was
    deployed, however quick the reads' answers were."""
    cancelled = threading.Event()

    class CancelledMidRead(FakeClient):
        def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
            cancelled.set()
            return super().list_stage_items(pipeline_id, stage_id)

    def sleep(_seconds: float) -> None:
        if cancelled.is_set():
            raise Cancelled(signal.SIGINT)

    client = CancelledMidRead([], ours("new"), DeployAccepted(deployment_id="new"))
    with pytest.raises(StepCancelled, match="before the deployment was requested: nothing was deployed"):
        deploy(INPUTS, client, QuietReporter(), Clock(time.monotonic, sleep))  # type: ignore[arg-type]
    assert client.deploy_calls == 0


def test_a_cancel_while_a_stage_read_is_slow_stops_the_deploy_without_waiting_for_its_answer() -> None:
    """The stages' items and the history go out side by side in threads the deploy joins in slices,
    calling its clock's checkpoint: a cancel meanwhile stops it at once, not when the read answers."""
    cancelled = threading.Event()

    class SlowStage(FakeClient):
        def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
            cancelled.set()
            time.sleep(5)
            return super().list_stage_items(pipeline_id, stage_id)

    def sleep(_seconds: float) -> None:
        if cancelled.is_set():
            raise Cancelled(signal.SIGINT)

    client = SlowStage([], ours("new"), DeployAccepted(deployment_id="new"))
    began = time.monotonic()
    with pytest.raises(StepCancelled, match="before the deployment was requested: nothing was deployed"):
        deploy(INPUTS, client, QuietReporter(), Clock(time.monotonic, sleep))  # type: ignore[arg-type]
    assert time.monotonic() - began < 2
    assert client.deploy_calls == 0


def test_a_refused_deployment_says_why_even_when_the_history_cannot_be_read() -> None:
    """The history is read beside the stages, but its failure is raised only once the plan passed:
    a deployment the service would refuse (here: nothing in the source stage) says so first."""

    class NoHistory(FakeClient):
        def list_deployments(self, _pipeline_id: str, **_kwargs: Any) -> list[DeploymentOperation]:
            raise ServerError(ErrorDetails(503, "ServiceUnavailable", "unavailable"))

    class EmptySourceNoHistory(NoHistory):
        def list_stage_items(self, _pipeline_id: str, _stage_id: str) -> list[StageItem]:
            return []

    client = EmptySourceNoHistory([], ours("new"), DeployAccepted(deployment_id="new"))
    with pytest.raises(DeploymentRefused):
        run(client)
    history_fails = NoHistory([], ours("new"), DeployAccepted(deployment_id="new"))
    with pytest.raises(ServerError):  # a deployment the plan allows: the history's failure is raised
        run(history_fails)
    assert client.deploy_calls == history_fails.deploy_calls == 0
