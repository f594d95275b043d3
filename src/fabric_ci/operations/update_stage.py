"""update-stage: rename a stage of a deployment pipeline, or change its description or public flag.

The Fabric API only: the Power BI API has no stage update. Two surprises in Microsoft's words: the spec's
PATCH body (DeploymentPipelineStageRequest) requires displayName even when only the description or the
public flag changes; and "The deployment pipelines process" says a pipeline's stage names "are
permanent, and can't be changed after the pipeline is created" (an older page, from before the Fabric
API's stage update, which renames them:
https://learn.microsoft.com/power-bi/create-reports/deployment-pipelines-process).
"""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import InputError
from fabric_ci.models.inputs import UpdateStageInputs
from fabric_ci.models.resources import PipelineWithStages, Stage, StageUpdate
from fabric_ci.models.results import StageChange, StageRef, UpdateStageResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline, resolve_stage

UNCHANGED = "Stage {stage!r} of {pipeline!r} already has {what}; nothing to change."
RENAMED_BEFORE = (
    "No stage of {pipeline!r} is named {old!r}, and stage {stage!r} (order {order}) already has every value "
    "asked for: taken as renamed by an earlier run of this step."
)
LOST_AND_DONE = "The answer to the stage update was lost, and the stage now shows the values sent: the update acted."
LOST_NOT_DONE = "The answer to the stage update was lost, and the stage is as it was: sending the update once more."
LOST_AND_CHANGED = (
    "{lost}; stage {stage!r} of {pipeline!r} now shows neither the values sent nor those read before "
    "({diff}): someone else changed it meanwhile, so fabric-ci sends nothing more. Look at the stage, then run "
    "the step again"
)
NAME_TAKEN = (
    "stage {other!r} of pipeline {pipeline!r} is already named so; stage names are told apart "
    "case-insensitively (every stage input finds a stage by its name that way), so choose another name"
)


def update_stage(inputs: UpdateStageInputs, client: PipelinesClient, reporter: Reporter) -> UpdateStageResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    wanted = _wanted(inputs)
    stage = _renamed_already(pipeline, inputs, wanted, reporter) or resolve_stage(pipeline, inputs.stage, "stage")
    changes = [
        StageChange(field=field, before=_text(before), after=_text(after))
        for field, before, after in _compare(stage, wanted)
    ]
    result = UpdateStageResult(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        stage=StageRef(id=stage.id, name=stage.display_name, order=stage.order),
    )
    if not changes:
        what = " and ".join(f"{_NAMES[field]} {_text(value)!r}" for field, value in wanted.items())
        reporter.notice(UNCHANGED.format(stage=stage.display_name, pipeline=pipeline.display_name, what=what))
        return result
    new_name = inputs.display_name
    if new_name is not None and new_name != stage.display_name:
        # Neither the spec nor Microsoft's docs say whether a pipeline's stage names must differ; two stages
        # of one name would make every stage input that names them ambiguous, so fabric-ci never makes them.
        other = next(
            (s for s in pipeline.stages if s.id != stage.id and s.display_name.lower() == new_name.lower()), None
        )
        if other is not None:
            raise InputError(
                "display-name", NAME_TAKEN.format(other=other.display_name, pipeline=pipeline.display_name)
            )
    changed = {c.field for c in changes}
    # The spec's DeploymentPipelineStageRequest requires displayName, so the current name goes along when
    # it does not change; the other fields are sent only when they change.
    request = StageUpdate(
        display_name=new_name if "displayName" in changed and new_name is not None else stage.display_name,
        description=inputs.description if "description" in changed else None,
        is_public=inputs.public if "isPublic" in changed else None,
    )
    updated = _send(client, pipeline, stage, request, wanted, reporter)
    reporter.info(
        f"Updated stage {stage.display_name!r} of {pipeline.display_name!r}: "
        + "; ".join(f"{_NAMES[c.field]} {c.before!r} -> {c.after!r}" for c in changes)
    )
    return result.model_copy(
        update={
            "stage": StageRef(id=stage.id, name=updated.display_name, order=stage.order),
            "changes": changes,
        }
    )


def _renamed_already(
    pipeline: PipelineWithStages, inputs: UpdateStageInputs, wanted: dict[str, str | bool], reporter: Reporter
) -> Stage | None:
    """A re-run of a rename: `stage` names the old name, which no stage has now, and exactly one stage
    already has display-name and every other value asked for. Only for a stage given by name (an id or
    an order finds the stage whatever it is called), and only one match, so no other stage is taken."""
    name = inputs.stage.name
    if name is None or inputs.stage.id or inputs.stage.order is not None or inputs.display_name is None:
        return None
    if any(s.display_name.lower() == name.lower() for s in pipeline.stages):
        return None
    matches = [s for s in pipeline.stages if not _compare(s, wanted)]
    if len(matches) != 1:
        return None
    (stage,) = matches
    reporter.notice(
        RENAMED_BEFORE.format(pipeline=pipeline.display_name, old=name, stage=stage.display_name, order=stage.order)
    )
    return stage


def _send(
    client: PipelinesClient,
    pipeline: PipelineWithStages,
    stage: Stage,
    request: StageUpdate,
    wanted: dict[str, str | bool],
    reporter: Reporter,
) -> Stage:
    """The PATCH, sent once (the transport does not replay it: a rename replayed after someone else's
    rename would undo theirs). A lost answer is settled by reading the stage again: the values sent
    there means it acted; the values read before means it did not, and it is sent once more."""
    try:
        return client.update_stage(pipeline.id, stage.id, request)
    except AmbiguousResponse as lost:
        now = next((s for s in client.get_pipeline(pipeline.id).stages if s.id == stage.id), None)
        if now is None:  # the stage is gone from the pipeline: nothing to settle the lost answer with
            raise
        if not _compare(now, wanted):
            reporter.notice(LOST_AND_DONE)
            return now
        if _fields(now) != _fields(stage):
            diff = "; ".join(f"{_NAMES[f]} {_text(v)!r}" for f, v in _fields(now).items())
            raise AmbiguousResponse(
                LOST_AND_CHANGED.format(lost=lost.message, stage=now.display_name, pipeline=pipeline.display_name,
                                        diff=diff),
                lost.cause,
            ) from lost  # fmt: skip
        reporter.notice(LOST_NOT_DONE)
        return client.update_stage(pipeline.id, stage.id, request)


_NAMES = {"displayName": "display name", "description": "description", "isPublic": "public"}


def _wanted(inputs: UpdateStageInputs) -> dict[str, str | bool]:
    """What the inputs ask for, by the API's field names (only the inputs given)."""
    given: dict[str, str | bool | None] = {
        "displayName": inputs.display_name,
        "description": inputs.description,
        "isPublic": inputs.public,
    }
    return {field: value for field, value in given.items() if value is not None}


def _fields(stage: Stage) -> dict[str, str | bool]:
    """The stage's values as update-stage compares them."""
    return {
        "displayName": stage.display_name,
        # The API leaves an empty description out of the stage: none and "" are the same to it.
        "description": stage.description or "",
        # And an absent isPublic is a stage that is not public (the spec's default), so public: false
        # against it is no change.
        "isPublic": stage.is_public or False,
    }


def _compare(stage: Stage, wanted: dict[str, str | bool]) -> list[tuple[str, str | bool | None, str | bool]]:
    current = _fields(stage)
    return [(field, current[field], value) for field, value in wanted.items() if current[field] != value]


def _text(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value
