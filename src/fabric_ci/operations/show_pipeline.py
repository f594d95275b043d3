"""show-pipeline: a pipeline's stages in order, their workspaces, and what each stage holds."""

from __future__ import annotations

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import ForbiddenError
from fabric_ci.models.inputs import ShowPipelineInputs
from fabric_ci.models.resources import StageItem
from fabric_ci.models.results import PipelineViewResult, StageItemView, StageView
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.resolve import resolve_pipeline


def show_pipeline(inputs: ShowPipelineInputs, client: PipelinesClient, reporter: Reporter) -> PipelineViewResult:
    pipeline = resolve_pipeline(client, inputs.pipeline)
    stages = sorted(pipeline.stages, key=lambda s: s.order)
    # A stage without a workspace holds nothing: no request for it. One whose workspace the principal
    # is no Contributor of is refused (both APIs' rule for listing a stage's items): it is shown
    # without items, not allowed to stop the rest.
    held: list[list[StageItem] | None] = []
    unreadable: set[str] = set()
    for stage in stages:
        items = None
        if stage.workspace_id:
            try:
                items = client.list_stage_items(pipeline.id, stage.id)
            except ForbiddenError:
                unreadable.add(stage.id)
                reporter.warning(
                    f"Stage {stage.display_name!r}: its items are not shown, since listing them needs at least the "
                    f"Contributor role on its workspace ({stage.workspace_id}), which this principal does not have"
                )
        held.append(items)
    views = []
    for index, stage in enumerate(stages):
        items = held[index]
        following = held[index + 1] if index + 1 < len(held) else None
        views.append(
            StageView(
                id=stage.id,
                name=stage.display_name,
                order=stage.order,
                description=stage.description,
                workspace_id=stage.workspace_id,
                workspace_name=stage.workspace_name,
                public=stage.is_public,
                item_count=None if items is None else len(items),
                items_readable=stage.id not in unreadable,
                items=_paired(items or [], following or []) if inputs.items else None,
            )
        )
    return PipelineViewResult(
        command="show-pipeline",
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.display_name,
        description=pipeline.description,
        stages=tuple(views),
    )


def _paired(items: list[StageItem], following: list[StageItem]) -> tuple[StageItemView, ...]:
    """Each item with the next stage's item it is paired with: the one a deployment overwrites. Both
    APIs say it twice (this item's targetItemId, that item's sourceItemId); either is enough."""
    by_id = {i.item_id: i for i in following}
    by_source = {i.source_item_id: i for i in following if i.source_item_id}
    views = []
    for item in sorted(items, key=lambda i: (i.item_type, i.item_display_name.lower())):
        paired = by_id.get(item.target_item_id or "") or by_source.get(item.item_id)
        paired_id = paired.item_id if paired else item.target_item_id
        views.append(
            StageItemView(
                id=item.item_id,
                name=item.item_display_name,
                type=item.item_type,
                last_deployed=item.last_deployment_time,
                paired_id=paired_id,
                paired_name=paired.item_display_name if paired else None,
            )
        )
    return tuple(views)
