"""The read-only operations with a fake client: what each reads, and how it puts it together (the
Admin column from a refused read, pairs from either side, history's order and limit, who deployed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fabric_ci.api.powerbi import _performer
from fabric_ci.errors import ErrorDetails, ForbiddenError, InputError, InputErrors, NotFoundError, ThrottledError
from fabric_ci.models.inputs import HistoryInputs, ListPipelinesInputs, ShowPipelineInputs, StatusInputs, parse_inputs
from fabric_ci.models.resources import DeploymentOperation, Pipeline, PipelineWithStages, StageItem
from fabric_ci.operations.history import history, performed_by
from fabric_ci.operations.list_pipelines import list_pipelines
from fabric_ci.operations.show_pipeline import show_pipeline
from fabric_ci.operations.status import status

from .test_add_user import SIGN_IN, RecordingReporter

SALES = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"
LOCKED = "b6efe044-68c8-42a5-a183-fe8e0a5bd935"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def item(item_id: str, name: str, **links: str) -> StageItem:
    return StageItem(item_id=item_id, item_display_name=name, item_type="Report", **links)


class FakeClient:
    """Two pipelines; "Locked" is listed but its read refused (no Admin role). "Sales" has Dev, Test
    and Prod (Prod without a workspace)."""

    def __init__(self, operations: list[DeploymentOperation] | None = None) -> None:
        self.operations = operations or []
        self.item_reads: list[str] = []

    def list_pipelines(self) -> list[Pipeline]:
        return [Pipeline(id=LOCKED, display_name="Locked"), Pipeline(id=SALES, display_name="Sales")]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        if pipeline_id == LOCKED:
            raise ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "no"))
        stages = [
            {"id": "s0", "order": 0, "displayName": "Dev", "workspaceId": "w0", "workspaceName": "Sales Dev"},
            {"id": "s1", "order": 1, "displayName": "Test", "workspaceId": "w1", "isPublic": True},
            {"id": "s2", "order": 2, "displayName": "Prod"},
        ]
        return PipelineWithStages.model_validate({"id": SALES, "displayName": "Sales", "stages": stages})

    def list_stage_items(self, pipeline_id: str, stage_id: str) -> list[StageItem]:
        self.item_reads.append(stage_id)
        if stage_id == "s0":
            # "A" says its pair; "B" does not, but Test's "B copy" names it as its source.
            return [item("a0", "A", target_item_id="a1"), item("b0", "B"), item("c0", "C")]
        return [item("a1", "A"), item("b1", "B copy", source_item_id="b0")]

    def list_deployments(self, pipeline_id: str, *, time_left: float | None = None) -> list[DeploymentOperation]:
        return self.operations

    def get_deployment(
        self, pipeline_id: str, deployment_id: str, *, time_left: float | None = None
    ) -> DeploymentOperation:
        found = [o for o in self.operations if o.id == deployment_id]
        if not found:
            raise NotFoundError(ErrorDetails(404, "EntityNotFound", "not found"))
        return found[0]


def test_list_pipelines_reads_each_and_a_refused_read_means_no_admin() -> None:
    inputs = parse_inputs(ListPipelinesInputs, SIGN_IN)
    result = list_pipelines(inputs, FakeClient(), RecordingReporter())  # type: ignore[arg-type]
    assert [(p.name, p.stage_count, p.admin) for p in result.pipelines] == [("Locked", None, False), ("Sales", 3, True)]


class FlakyClient(FakeClient):
    """ "Locked" throttled past every retry; a third pipeline deleted between the list and its read."""

    def list_pipelines(self) -> list[Pipeline]:
        return [*super().list_pipelines(), Pipeline(id="c7f0f155-79d9-43b6-b294-0f9f1b6cea46", display_name="Gone")]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        if pipeline_id == LOCKED:
            raise ThrottledError(ErrorDetails(429, "TooManyRequests", "slow down"))
        if pipeline_id != SALES:
            raise NotFoundError(ErrorDetails(404, "EntityNotFound", "gone"))
        return super().get_pipeline(pipeline_id)


def test_list_pipelines_keeps_the_list_when_one_read_fails() -> None:
    reporter = RecordingReporter()
    result = list_pipelines(parse_inputs(ListPipelinesInputs, SIGN_IN), FlakyClient(), reporter)  # type: ignore[arg-type]
    assert [(p.name, p.stage_count, p.admin) for p in result.pipelines] == [("Locked", None, None), ("Sales", 3, True)]
    assert reporter.warnings == [
        "1 of 3 pipelines could not be read (the service kept failing or throttling), so their stages and Admin "
        "role are not known: 'Locked'"
    ]


def test_list_pipelines_takes_no_pipeline() -> None:
    with pytest.raises(InputErrors) as refused:
        parse_inputs(ListPipelinesInputs, {**SIGN_IN, "pipeline": "Sales"})
    assert [(e.input_name, e.message) for e in refused.value.errors] == [
        ("pipeline", "Input 'pipeline': is not an input of this command")
    ]


def test_show_pipeline_pairs_from_either_side_and_skips_a_stage_without_workspace() -> None:
    client = FakeClient()
    inputs = parse_inputs(ShowPipelineInputs, {**SIGN_IN, "pipeline": "Sales", "items": "true"})
    result = show_pipeline(inputs, client, RecordingReporter())  # type: ignore[arg-type]
    assert client.item_reads == ["s0", "s1"]
    dev, test, prod = result.stages
    assert [(i.name, i.paired_id, i.paired_name) for i in dev.items or ()] == [
        ("A", "a1", "A"),
        ("B", "b1", "B copy"),
        ("C", None, None),
    ]
    assert (dev.workspace_name, dev.item_count, test.public, prod.item_count, prod.items) == (
        "Sales Dev",
        3,
        True,
        None,
        (),
    )
    assert all(i.paired_id is None for i in test.items or ())  # Prod holds nothing to pair with


def test_show_pipeline_without_items_counts_them_only() -> None:
    inputs = parse_inputs(ShowPipelineInputs, {**SIGN_IN, "pipeline": "Sales"})
    result = show_pipeline(inputs, FakeClient(), RecordingReporter())  # type: ignore[arg-type]
    assert [(s.item_count, s.items) for s in result.stages] == [(3, None), (2, None), (None, None)]


def op(n: int, started: datetime | None, **fields: object) -> DeploymentOperation:
    return DeploymentOperation.model_validate(
        {
            "id": f"00000000-0000-4000-8000-00000000000{n}",
            "status": "Succeeded",
            "executionStartTime": started,
            **fields,
        }
    )


def test_history_newest_first_limited_and_deploys_only() -> None:
    operations = [
        op(1, T0, executionEndTime=T0 + timedelta(seconds=90), sourceStageId="s0", targetStageId="s1"),
        op(2, T0 + timedelta(hours=2), status="Executing"),
        op(3, T0 + timedelta(hours=1), type="Other"),
        op(4, T0 - timedelta(hours=1)),
    ]
    inputs = parse_inputs(HistoryInputs, {**SIGN_IN, "pipeline": "Sales", "limit": "2"})
    result = history(inputs, FakeClient(operations), RecordingReporter())  # type: ignore[arg-type]
    assert [(d.id[-1], d.status) for d in result.deployments] == [("2", "Running"), ("1", "Succeeded")]
    assert (result.deployments[1].source_stage, result.deployments[1].target_stage) == ("Dev", "Test")
    assert result.deployments[1].duration_seconds == 90
    assert result.deployments[0].duration_seconds is None


@pytest.mark.parametrize(
    ("principal", "shown"),
    [
        ({"id": "o1", "displayName": "Release bot", "type": "ServicePrincipal"}, "Release bot"),
        ({"id": "o2", "type": "User", "userDetails": {"userPrincipalName": "ana@contoso.com"}}, "ana@contoso.com"),
        (_performer({"userPrincipalName": "ana@contoso.com", "principalType": "User"}), "ana@contoso.com"),
        (_performer({"principalObjectID": "o3", "principalType": "App"}), "o3"),
        (None, None),
    ],
)
def test_who_deployed_in_each_api_s_words(principal: dict[str, object] | None, shown: str | None) -> None:
    """Fabric's Principal as it comes; the Power BI API's PerformedBy as its client converts it."""
    assert performed_by(principal) == shown


def test_power_bi_performer_becomes_a_fabric_principal() -> None:
    assert _performer({"principalObjectID": "o3", "principalType": "App"}) == {"id": "o3", "type": "ServicePrincipal"}


def test_a_time_without_offset_is_utc_and_sorts_with_the_others() -> None:
    """The Fabric spec's examples write lastUpdatedTime without an offset; a queued deployment has no start."""
    queued = DeploymentOperation.model_validate(
        {
            "id": "00000000-0000-4000-8000-000000000005",
            "status": "NotStarted",
            "lastUpdatedTime": "2026-12-01T12:00:00.153",
        }
    )
    assert queued.last_updated_time == datetime(2026, 12, 1, 12, 0, 0, 153000, tzinfo=UTC)
    inputs = parse_inputs(HistoryInputs, {**SIGN_IN, "pipeline": "Sales"})
    result = history(inputs, FakeClient([op(1, T0), queued]), RecordingReporter())  # type: ignore[arg-type]
    assert [d.status for d in result.deployments] == ["NotStarted", "Succeeded"]


def test_an_end_before_the_start_is_no_duration() -> None:
    backwards = op(1, T0, executionEndTime=T0 - timedelta(days=1))
    inputs = parse_inputs(HistoryInputs, {**SIGN_IN, "pipeline": "Sales"})
    result = history(inputs, FakeClient([backwards]), RecordingReporter())  # type: ignore[arg-type]
    assert result.deployments[0].duration_seconds is None


def test_status_of_an_unknown_id_names_the_input_and_a_failed_one_is_reported() -> None:
    failed = op(1, T0, status="Failed", executionEndTime=T0 + timedelta(seconds=5))
    client = FakeClient([failed])
    result = status(
        parse_inputs(StatusInputs, {**SIGN_IN, "pipeline": "Sales", "operation-id": failed.id}),
        client,  # type: ignore[arg-type]
        RecordingReporter(),  # type: ignore[arg-type]
    )
    assert (result.command, result.status, result.duration_seconds, result.waited) == ("status", "Failed", 5, False)
    unknown = parse_inputs(
        StatusInputs, {**SIGN_IN, "pipeline": "Sales", "operation-id": "00000000-0000-4000-8000-000000000009"}
    )
    with pytest.raises(InputError) as refused:
        status(unknown, client, RecordingReporter())  # type: ignore[arg-type]
    assert refused.value.input_name == "operation-id"
