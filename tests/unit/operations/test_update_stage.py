"""The update-stage operation with a fake client: one PATCH with the required displayName and only the
fields that change, none when nothing changes, and every refusal before the PATCH."""

from __future__ import annotations

from typing import Any

import pytest

from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import InputError, InputErrors
from fabric_ci.models.inputs import UpdateStageInputs, parse_inputs
from fabric_ci.models.resources import PipelineWithStages, Stage, StageUpdate
from fabric_ci.operations.update_stage import update_stage

from .test_add_user import SIGN_IN, RecordingReporter

PIPELINE_ID = "a5ded933-57b7-41f4-b072-ed4c1f9d5824"


class FakeClient:
    """A pipeline "Sales" of three stages; Test has a description and is not public. PATCHes recorded."""

    def __init__(self) -> None:
        self.stages: list[dict[str, Any]] = [
            {"id": "s0", "order": 0, "displayName": "Development", "isPublic": False},
            {"id": "s1", "order": 1, "displayName": "Test", "description": "QA", "isPublic": False},
            {"id": "s2", "order": 2, "displayName": "Production", "isPublic": True},
        ]
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.lose: list[str] = []  # per PATCH: "after" acts and loses the answer, "before" loses it unacted

    def get_pipeline(self, _pipeline_id: str) -> PipelineWithStages:
        return PipelineWithStages.model_validate({"id": PIPELINE_ID, "displayName": "Sales", "stages": self.stages})

    def update_stage(self, pipeline_id: str, stage_id: str, changes: StageUpdate) -> Stage:
        assert pipeline_id == PIPELINE_ID
        self.sent.append((stage_id, changes.body()))
        lose = self.lose.pop(0) if self.lose else None
        if lose == "before":
            raise AmbiguousResponse("PATCH stage: the connection broke", RuntimeError("reset"))
        (stage,) = [s for s in self.stages if s["id"] == stage_id]
        stage.update(changes.body())
        if lose == "after":
            raise AmbiguousResponse("PATCH stage was answered 503", RuntimeError("503"))
        return Stage.model_validate(stage)


def inputs(**given: str) -> UpdateStageInputs:
    return parse_inputs(UpdateStageInputs, {**SIGN_IN, "pipeline": PIPELINE_ID, "stage": "test", **given})


def run(client: FakeClient, **given: str) -> tuple[Any, RecordingReporter]:
    reporter = RecordingReporter()
    return update_stage(inputs(**given), client, reporter), reporter  # type: ignore[arg-type]


def test_a_rename_sends_the_new_name_only() -> None:
    """display-name alone: the PATCH carries displayName and nothing else; the result has the new name."""
    client = FakeClient()
    result, reporter = run(client, **{"display-name": "QA"})
    assert client.sent == [("s1", {"displayName": "QA"})]
    assert result.outputs() == {"pipeline-id": PIPELINE_ID, "stage-id": "s1", "changed": "true"}
    assert result.stage.name == "QA"
    assert [(c.field, c.before, c.after) for c in result.changes] == [("displayName", "Test", "QA")]
    assert reporter.infos == ["Updated stage 'Test' of 'Sales': display name 'Test' -> 'QA'"]


def test_a_description_change_sends_the_required_current_name_too() -> None:
    """The spec requires displayName: the current one goes along, unchanged; isPublic is not sent."""
    client = FakeClient()
    result, _ = run(client, description="Quality assurance", public="false")
    assert client.sent == [("s1", {"displayName": "Test", "description": "Quality assurance"})]
    assert [c.field for c in result.changes] == ["description"]


def test_making_a_stage_public_sends_is_public() -> None:
    """public: true on a private stage sends isPublic true (with the required name)."""
    client = FakeClient()
    run(client, public="true")
    assert client.sent == [("s1", {"displayName": "Test", "isPublic": True})]


def test_a_stage_that_already_matches_sends_nothing_and_says_so() -> None:
    """Every given value already there (the name differing only in case counts as a change, not this):
    no PATCH, changed false, and a notice naming the values."""
    client = FakeClient()
    result, reporter = run(client, **{"display-name": "Test", "description": "QA", "public": "false"})
    assert client.sent == []
    assert result.outputs()["changed"] == "false"
    assert reporter.notices == [
        "Stage 'Test' of 'Sales' already has display name 'Test' and description 'QA' and public 'false'; "
        "nothing to change."
    ]


def test_a_second_run_changes_nothing() -> None:
    """Idempotent: the same inputs twice send one PATCH; the second run is changed false."""
    client = FakeClient()
    run(client, **{"display-name": "QA", "public": "true"})
    again, _ = run(client, **{"display-name": "QA", "public": "true", "stage": "1"})
    assert len(client.sent) == 1
    assert again.changed is False


def test_a_name_another_stage_has_is_an_input_error_before_the_patch() -> None:
    """Case-insensitively: renaming Test to 'production' clashes with Production; nothing is sent."""
    client = FakeClient()
    with pytest.raises(InputError) as raised:
        run(client, **{"display-name": "production"})
    assert raised.value.input_name == "display-name"
    assert "stage 'Production' of pipeline 'Sales' is already named so" in str(raised.value)
    assert client.sent == []


def test_a_change_of_case_of_its_own_name_is_a_rename() -> None:
    """'TEST' for the Test stage clashes with no other stage: it is sent."""
    client = FakeClient()
    run(client, **{"display-name": "TEST"})
    assert client.sent == [("s1", {"displayName": "TEST"})]


def test_an_unknown_stage_is_an_input_error_listing_the_stages() -> None:
    """A stage the pipeline lacks names the input and lists the stages; nothing is sent."""
    client = FakeClient()
    with pytest.raises(InputError) as raised:
        run(client, stage="UAT", description="x")
    assert raised.value.input_name == "stage"
    assert "Development (0), Test (1), Production (2)" in str(raised.value)
    assert client.sent == []


def test_a_rerun_of_a_rename_by_the_old_name_changes_nothing_and_says_so() -> None:
    """The old name no stage has now, and one stage has the new name and description: changed false, a
    notice saying it was renamed before, no second PATCH."""
    client = FakeClient()
    run(client, **{"display-name": "QA", "description": "Quality"})
    again, reporter = run(client, **{"display-name": "QA", "description": "Quality"})
    assert len(client.sent) == 1
    assert again.outputs() == {"pipeline-id": PIPELINE_ID, "stage-id": "s1", "changed": "false"}
    assert reporter.notices[0] == (
        "No stage of 'Sales' is named 'test', and stage 'QA' (order 1) already has every value asked for: "
        "taken as renamed by an earlier run of this step."
    )


@pytest.mark.parametrize(
    "given",
    [
        {"display-name": "QA", "description": "other"},  # the new name, but not every value asked for
        {"stage": "1", "display-name": "Production"},  # an order finds its stage, never another one
    ],
)
def test_the_rerun_fallback_never_takes_a_stage_that_does_not_fully_match(given: dict[str, str]) -> None:
    """No stage of the old name and the new name's stage differing in another value is the stage error;
    a stage given by order is never swapped for the one that has the name."""
    client = FakeClient()
    client.stages[1]["displayName"] = "QA"
    with pytest.raises(InputError) as raised:
        run(client, **given)
    assert raised.value.input_name in {"stage", "display-name"}
    assert client.sent == []


def test_the_rerun_fallback_needs_a_unique_match() -> None:
    """Two stages named Development that are both private (the service does not forbid repeated names):
    no guess between them, the stage error, nothing sent."""
    client = FakeClient()
    client.stages[1] = {"id": "s1", "order": 1, "displayName": "Development", "isPublic": False}
    with pytest.raises(InputError) as raised:
        run(client, stage="UAT", **{"display-name": "Development", "public": "false"})
    assert raised.value.input_name == "stage"
    assert "has no stage 'UAT'" in str(raised.value)
    assert client.sent == []


def test_a_lost_answer_after_the_patch_acted_is_not_sent_again() -> None:
    """The re-read shows the values sent: done, changed true, one PATCH."""
    client = FakeClient()
    client.lose = ["after"]
    result, reporter = run(client, **{"display-name": "QA"})
    assert len(client.sent) == 1
    assert (result.changed, result.stage.name) == (True, "QA")
    assert reporter.notices == [
        "The answer to the stage update was lost, and the stage now shows the values sent: the update acted."
    ]


def test_a_lost_answer_before_the_patch_acted_sends_it_once_more() -> None:
    """The re-read shows the stage as before: the PATCH is sent a second time, and a second loss stands."""
    client = FakeClient()
    client.lose = ["before"]
    result, _ = run(client, **{"display-name": "QA"})
    assert client.sent == [("s1", {"displayName": "QA"}), ("s1", {"displayName": "QA"})]
    assert result.stage.name == "QA"
    client.lose = ["before", "before"]
    with pytest.raises(AmbiguousResponse):
        run(client, **{"display-name": "QB", "stage": "1"})
    assert len(client.sent) == 4


def test_a_lost_answer_and_a_stage_changed_by_someone_else_sends_nothing_more() -> None:
    """Neither the values sent nor those read before: the error says so, and no second PATCH."""

    class Meddled(FakeClient):
        def update_stage(self, pipeline_id: str, stage_id: str, changes: StageUpdate) -> Stage:
            self.sent.append((stage_id, changes.body()))
            self.stages[1]["description"] = "someone else's"
            raise AmbiguousResponse("PATCH stage: the connection broke", RuntimeError("reset"))

    client = Meddled()
    with pytest.raises(AmbiguousResponse) as raised:
        run(client, **{"display-name": "QA"})
    assert "someone else changed it meanwhile" in raised.value.message
    assert 'description "someone else\'s"' in raised.value.message
    assert len(client.sent) == 1


def test_public_false_against_an_absent_is_public_is_no_change() -> None:
    """A stage answered without isPublic is not public: public: false sends nothing, changed false."""
    client = FakeClient()
    del client.stages[1]["isPublic"]
    result, _ = run(client, public="false")
    assert client.sent == []
    assert result.changed is False


@pytest.mark.parametrize(
    ("given", "name", "expected"),
    [
        ({}, "display-name", "give at least one of display-name, description and public"),
        ({"api": "powerbi", "description": "x"}, "api", "update-stage needs the Fabric API"),
        ({"display-name": "x" * 257}, "display-name", "at most 256 characters"),
        ({"description": "x" * 1025}, "description", "at most 1024 characters"),
        ({"public": "yes please"}, "public", "expected true or false"),
    ],
)
def test_bad_inputs_are_refused_by_validation(given: dict[str, str], name: str, expected: str) -> None:
    """Each input error names the input as written, before any request."""
    with pytest.raises(InputErrors) as raised:
        inputs(**given)
    assert [(e.input_name, expected in e.message) for e in raised.value.errors] == [(name, True)]
