"""The create-pipeline operation with a fake client: one create for a new name, none for an existing pipeline
with the same stages, every difference an error before any write, and a lost answer settled by the list."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import ErrorDetails, ForbiddenError, InputError, InputErrors
from fabric_ci.models.inputs import CreatePipelineInputs, parse_inputs
from fabric_ci.models.requests import NewStage
from fabric_ci.models.resources import Pipeline, PipelineWithStages
from fabric_ci.operations.create_pipeline import create_pipeline

from .test_add_user import SIGN_IN, RecordingReporter

WS1, WS2 = "0086393a-7234-43f6-8dfd-a6f7d79a41a4", "0fc2db42-5823-4fc4-b1c2-302ba2ae73ad"
WS3 = "0c84e1f0-e3c5-4a17-af9d-475b7b19fff9"


class FakeClient:
    """Pipelines in memory; creates and assignments recorded, and a create can lose its answer (after acting
    or before)."""

    def __init__(self, *pipelines: PipelineWithStages, lose: str | None = None) -> None:
        self.pipelines = {p.id: p for p in pipelines}
        self.created: list[tuple[str, str | None, list[NewStage]]] = []
        self.assigned: list[tuple[str, str, str]] = []
        self.lose = lose  # "after": the create acts, then its answer is lost; "before": lost without acting

    def list_pipelines(self) -> list[Pipeline]:
        return [Pipeline(id=p.id, display_name=p.display_name) for p in self.pipelines.values()]

    def get_pipeline(self, pipeline_id: str) -> PipelineWithStages:
        return self.pipelines[pipeline_id]

    def create_pipeline(self, name: str, description: str | None, stages: Sequence[NewStage]) -> PipelineWithStages:
        self.created.append((name, description, list(stages)))
        lose, self.lose = self.lose, None
        if lose == "before":
            raise AmbiguousResponse("POST deploymentPipelines: the connection broke", RuntimeError("reset"))
        number = len(self.pipelines)
        pipeline = PipelineWithStages.model_validate(
            {
                "id": f"p{number}",
                "displayName": name,
                "description": description,
                "stages": [
                    {"id": f"p{number}s{o}", "order": o, "displayName": s.display_name, "isPublic": s.is_public}
                    for o, s in enumerate(stages)
                ],
            }
        )
        self.pipelines[pipeline.id] = pipeline
        if lose == "after":
            raise AmbiguousResponse("POST deploymentPipelines was answered 503", RuntimeError("503"))
        return pipeline

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None:
        self.assigned.append((pipeline_id, stage_id, workspace_id))


def existing(*stages: dict[str, object], description: str = "") -> PipelineWithStages:
    return PipelineWithStages.model_validate(
        {
            "id": "old",
            "displayName": "Sales",
            "description": description,
            "stages": [{"id": f"old{o}", "order": o, **s} for o, s in enumerate(stages)],
        }
    )


THREE = ({"displayName": "Dev"}, {"displayName": "Test"}, {"displayName": "Prod", "isPublic": True})


def inputs(**given: str) -> CreatePipelineInputs:
    return parse_inputs(CreatePipelineInputs, {**SIGN_IN, "pipeline": "Sales", **given})


def run(client: FakeClient, **given: str) -> tuple[dict[str, str], RecordingReporter]:
    reporter = RecordingReporter()
    result = create_pipeline(inputs(**given), client, reporter)  # type: ignore[arg-type]
    return result.outputs(), reporter


def test_a_new_name_is_created_with_its_stages_and_workspaces() -> None:
    """One create with the stages in order, descriptions and public flags as given, then one assignment."""
    client = FakeClient()
    outputs, reporter = run(
        client,
        description="d",
        stages="Dev: Build here\nProd",
        **{"public-stages": "prod", "workspaces": f"dev: {WS1}"},
    )
    assert client.created == [
        (
            "Sales",
            "d",
            [NewStage(display_name="Dev", description="Build here"), NewStage(display_name="Prod", is_public=True)],
        )
    ]
    assert client.assigned == [("p0", "p0s0", WS1)]
    assert outputs == {"pipeline-id": "p0", "stage-ids": '{"Dev":"p0s0","Prod":"p0s1"}', "changed": "true"}
    assert reporter.infos[0] == "Created deployment pipeline 'Sales' (p0) with stages Dev, Prod"


def test_no_stages_means_development_test_production() -> None:
    """Empty stages: the three stages both APIs know, none public."""
    client = FakeClient()
    outputs, _ = run(client)
    assert [s.display_name for s in client.created[0][2]] == ["Development", "Test", "Production"]
    assert list(json.loads(outputs["stage-ids"])) == ["Development", "Test", "Production"]


def test_an_existing_pipeline_with_the_same_stages_is_unchanged() -> None:
    """Same names in another case, the same public stage: no write, a notice, changed false."""
    client = FakeClient(existing(*THREE))
    outputs, reporter = run(client, stages="dev\ntest\nprod", **{"public-stages": "Prod"})
    assert (client.created, client.assigned) == ([], [])
    assert outputs == {
        "pipeline-id": "old",
        "stage-ids": '{"Dev":"old0","Test":"old1","Prod":"old2"}',
        "changed": "false",
    }
    assert reporter.notices == [
        "Deployment pipeline 'Sales' (old) already exists with these stages; it is not created again."
    ]


def test_an_existing_pipeline_gets_the_workspaces_its_stages_lack() -> None:
    """A stage without a workspace is assigned; one already holding the same workspace is left alone."""
    client = FakeClient(existing({"displayName": "Dev", "workspaceId": WS1}, {"displayName": "Prod"}))
    outputs, _ = run(client, stages="Dev\nProd", workspaces=f"Dev: {WS1}\nProd: {WS2}")
    assert client.assigned == [("old", "old1", WS2)]
    assert outputs["changed"] == "true"


def test_other_stages_are_an_error_showing_both_lists() -> None:
    """Stages cannot be added or removed: the difference is shown, nothing is written."""
    client = FakeClient(existing(*THREE))
    with pytest.raises(InputErrors) as raised:
        run(client, stages="Dev\nTest\nStaging\nProd")
    (error,) = raised.value.errors
    assert error.input_name == "stages"
    assert "with stages Dev, Test, Prod, not Dev, Test, Staging, Prod" in error.message
    assert (client.created, client.assigned) == ([], [])


def test_other_descriptions_and_public_stages_are_errors_naming_each_input() -> None:
    """Only what the inputs give is compared, and fabric-ci changes none of it: one error per difference."""
    client = FakeClient(existing(*THREE, description="old text"))
    with pytest.raises(InputErrors) as raised:
        run(client, description="new text", stages="Dev: Build\nTest\nProd", **{"public-stages": "Test"})
    assert [e.input_name for e in raised.value.errors] == ["description", "stages", "public-stages"]
    assert "with the description 'old text', not 'new text'" in raised.value.errors[0].message
    assert "stage 'Dev' has the description '', not 'Build'" in raised.value.errors[1].message
    assert "with public stages Prod, not Test" in raised.value.errors[2].message
    assert client.created == []


def test_a_stage_holding_another_workspace_stops_every_assignment() -> None:
    """Prod holds WS2 and WS1 is asked for it: an error naming both, and Test, which has none, is not assigned."""
    client = FakeClient(
        existing({"displayName": "Dev"}, {"displayName": "Test"}, {"displayName": "Prod", "workspaceId": WS2})
    )
    with pytest.raises(InputErrors) as raised:
        run(client, stages="Dev\nTest\nProd", workspaces=f"Test: {WS3}\nProd: {WS1}")
    (error,) = raised.value.errors
    assert error.input_name == "workspaces"
    assert f"already holds workspace {WS2}, not {WS1}" in error.message
    assert client.assigned == []


def test_two_pipelines_of_that_name_are_an_error_naming_both() -> None:
    """Names are compared case-insensitively, as everywhere: two matches cannot be told apart."""
    other = existing(*THREE).model_copy(update={"id": "other", "display_name": "SALES"})
    client = FakeClient(existing(*THREE), other)
    with pytest.raises(InputError) as raised:
        run(client)
    assert raised.value.input_name == "pipeline"
    assert "'Sales' (old)" in str(raised.value)
    assert "'SALES' (other)" in str(raised.value)


def test_a_lost_answer_after_the_create_acted_uses_the_pipeline_found() -> None:
    """The pipeline is in the list after the lost answer: it is not created again."""
    client = FakeClient(lose="after")
    outputs, _ = run(client)
    assert len(client.created) == 1
    assert (outputs["pipeline-id"], outputs["changed"]) == ("p0", "true")


def test_a_lost_answer_and_a_same_named_pipeline_of_other_stages_is_the_difference() -> None:
    """Another job's pipeline of that name, with other stages, appears while our create's answer is lost:
    it is not adopted; the error shows both lists of stages, and nothing is assigned."""

    class Raced(FakeClient):
        def create_pipeline(self, name: str, description: str | None, stages: Sequence[NewStage]) -> PipelineWithStages:
            self.created.append((name, description, list(stages)))
            self.pipelines["old"] = existing({"displayName": "Build"}, {"displayName": "Live"})
            raise AmbiguousResponse("POST deploymentPipelines: the connection broke", RuntimeError("reset"))

    client = Raced()
    with pytest.raises(InputErrors) as raised:
        run(client, stages="Dev\nTest\nProd", workspaces=f"Dev: {WS1}")
    ((name, message),) = [(e.input_name, e.message) for e in raised.value.errors]
    assert name == "stages"
    assert "with stages Build, Live, not Dev, Test, Prod" in message
    assert len(client.created) == 1
    assert client.assigned == []


def test_a_lost_answer_before_the_create_acted_sends_it_once_more() -> None:
    """No pipeline of that name after the lost answer: the create did not act, and is sent a second time."""
    client = FakeClient(lose="before")
    outputs, _ = run(client)
    assert len(client.created) == 2
    assert [p.display_name for p in client.pipelines.values()] == ["Sales"]
    assert outputs["changed"] == "true"


def test_a_refusal_is_never_retried() -> None:
    """A 403 (no permission to create pipelines) stands: one create, no look for the pipeline."""

    class Refuses(FakeClient):
        def create_pipeline(self, name: str, description: str | None, stages: Sequence[NewStage]) -> PipelineWithStages:
            self.created.append((name, description, list(stages)))
            raise ForbiddenError(ErrorDetails(403, "InsufficientPrivileges", "Service principals cannot create"))

    client = Refuses()
    with pytest.raises(ForbiddenError):
        run(client)
    assert len(client.created) == 1


@pytest.mark.parametrize(
    ("given", "name", "expected"),
    [
        ({"stages": "Only"}, "stages", "2 to 10 stages, got 1"),
        ({"stages": "\n".join(f"S{n}" for n in range(11))}, "stages", "2 to 10 stages, got 11"),
        ({"stages": "Dev\nDEV"}, "stages", "must differ (case-insensitively), got 'Dev' and 'DEV'"),
        ({"stages": "Dev:\nProd"}, "stages", "'Dev:': expected a stage name, or `name: description`"),
        ({"stages": ": nameless\nProd"}, "stages", "expected a stage name"),
        ({"workspaces": f"UAT: {WS1}"}, "workspaces", "'UAT' is not one of the stages: Development, Test, Production"),
        ({"workspaces": "Test: not-a-guid"}, "workspaces", "expected `stage: workspace id` (a GUID)"),
        ({"workspaces": WS1}, "workspaces", "expected `stage: workspace id`"),
        ({"workspaces": f"Test: {WS1}\ntest: {WS2}"}, "workspaces", "stage 'test' is given more than once"),
        ({"workspaces": f"Test: {WS1}\nProduction: {WS1}"}, "workspaces", "a workspace can be in one stage only"),
        ({"public-stages": "Prod"}, "public-stages", "'Prod' is not one of the stages"),
        ({"public-stages": "Test", "api": "powerbi"}, "public-stages", "is an input of the Fabric REST API only"),
        ({"stages": "Dev\nTest\nProd", "api": "powerbi"}, "stages", "creates its own three stages"),
        ({"stages": "Development: d\nTest\nProduction", "api": "powerbi"}, "stages", "takes no stage descriptions"),
        ({"pipeline": "x" * 257}, "pipeline", "at most 256 characters"),
        ({"description": "x" * 1025}, "description", "at most 1024 characters"),
    ],
)
def test_bad_input_is_refused_before_any_request(given: dict[str, str], name: str, expected: str) -> None:
    """Each mistake names its input and says what was expected; the model never reaches an operation."""
    with pytest.raises(InputErrors) as raised:
        inputs(**given)
    (error,) = raised.value.errors
    assert (error.input_name, expected in error.message) == (name, True), error.message


def test_power_bi_takes_its_three_stages_in_any_case() -> None:
    """With api: powerbi the three stage names are accepted as written, in order."""
    assert [s.name for s in inputs(api="powerbi", stages="development\ntest\nPRODUCTION").stage_specs] == [
        "development",
        "test",
        "PRODUCTION",
    ]
