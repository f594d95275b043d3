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
from fabric_ci.errors import InputError
from fabric_ci.models.inputs import UpdateStageInputs
from fabric_ci.models.resources import Stage, StageUpdate
from fabric_ci.models.results import StageChange, StageRef, UpdateStageResult
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline, resolve_stage

UNCHANGED = "Stage {stage!r} of {pipeline!r} already has {what}; nothing to change."
NAME_TAKEN = (
    "stage {other!r} of pipeline {pipeline!r} is already named so; stage names are told apart "
    "case-insensitively (every stage input finds a stage by its name that way), so choose another name"
)


def update_stage(inputs: UpdateStageInputs, client: PipelinesClient, reporter: Reporter) -> UpdateStageResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    stage = resolve_stage(pipeline, inputs.stage, "stage")
    wanted = _wanted(inputs)
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
    updated = client.update_stage(pipeline.id, stage.id, request)
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


_NAMES = {"displayName": "display name", "description": "description", "isPublic": "public"}


def _wanted(inputs: UpdateStageInputs) -> dict[str, str | bool]:
    """What the inputs ask for, by the API's field names (only the inputs given)."""
    given: dict[str, str | bool | None] = {
        "displayName": inputs.display_name,
        "description": inputs.description,
        "isPublic": inputs.public,
    }
    return {field: value for field, value in given.items() if value is not None}


def _compare(stage: Stage, wanted: dict[str, str | bool]) -> list[tuple[str, str | bool | None, str | bool]]:
    current: dict[str, str | bool | None] = {
        "displayName": stage.display_name,
        # The API leaves an empty description out of the stage: none and "" are the same to it.
        "description": stage.description or "",
        "isPublic": stage.is_public,
    }
    return [(field, current[field], value) for field, value in wanted.items() if current[field] != value]


def _text(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value
