"""create-pipeline: create a deployment pipeline with its stages and assign workspaces to them, idempotently.

A pipeline of that name that already exists is compared with the inputs instead: the same stages is
success with nothing created; any difference is an error that shows it. fabric-ci changes nothing of an
existing pipeline but the workspaces of stages that have none: stages cannot be added or removed after
creation, and an existing pipeline's descriptions and public stages are someone's choice to change
(in the portal or through the API), not a side effect of a create step.
"""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.api.transport import AmbiguousResponse
from fabric_ci.errors import InputError, InputErrors
from fabric_ci.models.inputs import CreatePipelineInputs
from fabric_ci.models.requests import NewStage
from fabric_ci.models.resources import PipelineWithStages, Stage
from fabric_ci.models.results import CreatePipelineResult, StageRef
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import pipeline_named

EXISTS = "Deployment pipeline {pipeline!r} ({id}) already exists with these stages; it is not created again."
LOST_AND_FOUND = (
    "The create answer was lost, and deployment pipeline {pipeline!r} ({id}) is there now with the stages asked "
    "for: the request acted."
)
NO_ADD_OR_REMOVE = "a pipeline's stages cannot be added, removed or reordered after it is created"


def _stages(pipeline: PipelineWithStages) -> list[Stage]:
    return sorted(pipeline.stages, key=lambda s: s.order)


def _names(stages: list[str]) -> str:
    return ", ".join(stages) if stages else "none"


def _differences(inputs: CreatePipelineInputs, pipeline: PipelineWithStages) -> list[InputError]:
    """How the existing pipeline differs from the inputs; only what the inputs give is compared."""
    errors = []
    stages = _stages(pipeline)
    wanted = [s.name for s in inputs.stage_specs]
    have = [s.display_name for s in stages]
    where = f"deployment pipeline {pipeline.display_name!r} ({pipeline.id}) exists"
    if [n.lower() for n in have] != [n.lower() for n in wanted]:
        errors.append(
            InputError(
                "stages",
                f"{where} with stages {_names(have)}, not {_names(wanted)}"
                f"{'' if inputs.stages else ' (the stages of an empty stages input)'} ({NO_ADD_OR_REMOVE}): give "
                "its stages, or another pipeline name",
            )
        )
        return errors  # the other comparisons go stage by stage
    if inputs.description is not None and (pipeline.description or "") != inputs.description:
        errors.append(
            InputError(
                "description",
                f"{where} with the description {pipeline.description or ''!r}, not {inputs.description!r}: "
                "fabric-ci does not change an existing pipeline's description; change it in Fabric, or give its own",
            )
        )
    for spec, stage in zip(inputs.stage_specs, stages, strict=True):
        if spec.description is not None and (stage.description or "") != spec.description:
            errors.append(
                InputError(
                    "stages",
                    f"{where}, and its stage {stage.display_name!r} has the description "
                    f"{stage.description or ''!r}, not {spec.description!r}: fabric-ci does not change it; "
                    "change it in Fabric, or give its own",
                )
            )
    wanted_public = inputs.public_stage_names
    if wanted_public is not None:
        public = [s.display_name for s in stages if s.is_public]
        if {n.lower() for n in public} != {n.lower() for n in wanted_public}:
            errors.append(
                InputError(
                    "public-stages",
                    f"{where} with public stages {_names(public)}, not "
                    f"{_names([s.name for s in inputs.stage_specs if s.name in wanted_public])}: fabric-ci does "
                    "not change them; change them in Fabric, or give its own",
                )
            )
    return errors


def _to_assign(inputs: CreatePipelineInputs, pipeline: PipelineWithStages) -> list[tuple[Stage, str]]:
    """The (stage, workspace) pairs still to assign; a stage holding another workspace is an error."""
    wanted = {name.lower(): workspace for name, workspace in inputs.stage_workspaces.items()}
    pairs, errors = [], []
    for stage in _stages(pipeline):
        workspace = wanted.get(stage.display_name.lower())
        if workspace is None or (stage.workspace_id or "").lower() == workspace:
            continue
        if stage.workspace_id is None:
            pairs.append((stage, workspace))
        else:
            errors.append(
                InputError(
                    "workspaces",
                    f"stage {stage.display_name!r} of {pipeline.display_name!r} already holds workspace "
                    f"{stage.workspace_id}, not {workspace}: unassign it first (unassign-workspace), or give "
                    f"{stage.workspace_id}",
                )
            )
    if errors:
        raise InputErrors(errors)
    return pairs


def _create(inputs: CreatePipelineInputs, client: PipelinesClient, reporter: Reporter) -> PipelineWithStages:
    public = inputs.public_stage_names or frozenset()
    stages = [NewStage(display_name=s.name, description=s.description, is_public=s.name in public)
              for s in inputs.stage_specs]  # fmt: skip
    try:
        return client.create_pipeline(inputs.pipeline, inputs.description, stages)
    except AmbiguousResponse:
        # The answer was lost, so whether it acted shows only in the list of pipelines: sent again only
        # if no pipeline of that name is there. A refusal (400, 403) is never second-guessed.
        found = pipeline_named(client, inputs.pipeline)
        if found is None:
            return client.create_pipeline(inputs.pipeline, inputs.description, stages)
        pipeline = client.get_pipeline(found.id)
        # A pipeline of that name may also be another job's, made meanwhile: adopted only when it is
        # what was asked for, as an existing pipeline is.
        if differences := _differences(inputs, pipeline):
            raise InputErrors(differences) from None
        reporter.notice(LOST_AND_FOUND.format(pipeline=pipeline.display_name, id=pipeline.id))
        return pipeline


def create_pipeline(inputs: CreatePipelineInputs, client: PipelinesClient, reporter: Reporter) -> CreatePipelineResult:
    existing = pipeline_named(client, inputs.pipeline)
    if existing is None:
        pipeline = _create(inputs, client, reporter)
        reporter.info(
            f"Created deployment pipeline {pipeline.display_name!r} ({pipeline.id}) with stages "
            f"{_names([s.display_name for s in _stages(pipeline)])}"
        )
    else:
        pipeline = client.get_pipeline(existing.id)
        if differences := _differences(inputs, pipeline):
            raise InputErrors(differences)
    # Checked in full before the first assignment: a conflict leaves every stage as it was.
    pairs = _to_assign(inputs, pipeline)
    if existing is not None:
        reporter.notice(EXISTS.format(pipeline=pipeline.display_name, id=pipeline.id))
    assigned = []
    for stage, workspace in pairs:
        client.assign_workspace(pipeline.id, stage.id, workspace)
        assigned.append(stage.display_name)
        reporter.info(f"Assigned workspace {workspace} to stage {stage.display_name!r} of {pipeline.display_name!r}")
    workspaces = {
        **{s.display_name: s.workspace_id for s in pipeline.stages if s.workspace_id},
        **{stage.display_name: workspace for stage, workspace in pairs},
    }
    return CreatePipelineResult(
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        created=existing is None,
        stages=[StageRef(id=s.id, name=s.display_name, order=s.order) for s in _stages(pipeline)],
        workspaces=workspaces,
        assigned=assigned,
    )
