"""Turn what a person wrote (names, orders, `Type: name` lines) into the service's ids.

Every miss is an InputError naming the input, listing what does exist, and sent before any
change is requested from the service.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence

from fabric_ci.api.client import PipelinesClient
from fabric_ci.errors import InputError, InputErrors, NotFoundError
from fabric_ci.models.apis import canonical_item_type
from fabric_ci.models.inputs import ItemSelector, PipelineSelector, StageSelector
from fabric_ci.models.resources import Pipeline, PipelineWithStages, Stage, StageItem

NOT_VISIBLE = (
    "A principal sees only the pipelines it is an Admin of: add it with add-user, and check that the "
    "tenant setting 'Service principals can use Fabric APIs' (formerly 'Allow service principals to use "
    "Power BI APIs', which the Power BI API also obeys) includes it."
)


def close_matches(wanted: str, names: Sequence[str], limit: int = 5) -> list[str]:
    lowered = {n.lower(): n for n in names}
    found = difflib.get_close_matches(wanted.lower(), list(lowered), n=limit, cutoff=0.5)
    contains = [n for key, n in lowered.items() if wanted.lower() in key and key not in found]
    return [lowered[f] for f in found] + contains[: max(0, limit - len(found))]


def _named(pipelines: Sequence[Pipeline], name: str, fix: str = "Give the id instead.") -> Pipeline | None:
    """The one pipeline of that display name (case-insensitive); several are an InputError naming each."""
    matches = [p for p in pipelines if p.display_name.lower() == name.lower()]
    if len(matches) > 1:
        listed = ", ".join(f"{p.display_name!r} ({p.id})" for p in matches)
        raise InputError("pipeline", f"{len(matches)} pipelines are named {name!r}: {listed}. {fix}")
    return matches[0] if matches else None


def find_pipeline(client: PipelinesClient, selector: PipelineSelector) -> PipelineWithStages | None:
    """The pipeline, or None when this principal sees none by that id or name (for a command to which
    an absent pipeline is no error: delete-pipeline)."""
    if selector.id:
        try:
            return client.get_pipeline(selector.id)
        except NotFoundError:
            return None
    assert selector.name is not None
    found = _named(client.list_pipelines(), selector.name)
    return client.get_pipeline(found.id) if found else None


def pipeline_named(client: PipelinesClient, name: str) -> Pipeline | None:
    """The pipeline of that display name, None when there is none (create-pipeline's "does it exist")."""
    return _named(client.list_pipelines(), name, "A pipeline's name should be unique.")


def resolve_pipeline(
    client: PipelinesClient, selector: PipelineSelector, *, listing: Callable[[], Sequence[Pipeline]] | None = None
) -> PipelineWithStages:
    """The pipeline by id, or by name from `listing` (default: the client's list, read for this call alone;
    deploy-many passes one list read once for all its entries)."""
    if selector.id:
        try:
            return client.get_pipeline(selector.id)
        except NotFoundError:
            raise InputError("pipeline", f"no deployment pipeline with id {selector.id}. {NOT_VISIBLE}") from None
    assert selector.name is not None
    pipelines = listing() if listing is not None else client.list_pipelines()
    found = _named(pipelines, selector.name)
    if found is None:
        raise InputError(
            "pipeline",
            f"no deployment pipeline named {selector.name!r} among the {len(pipelines)} this principal can see."
            f" {NOT_VISIBLE}",
            candidates=close_matches(selector.name, [p.display_name for p in pipelines]),
        )
    return client.get_pipeline(found.id)


def _describe_stages(stages: Sequence[Stage]) -> str:
    return ", ".join(f"{s.display_name} ({s.order})" for s in sorted(stages, key=lambda s: s.order))


def resolve_stage(pipeline: PipelineWithStages, selector: StageSelector, input_name: str) -> Stage:
    for stage in pipeline.stages:
        if (
            (selector.id and stage.id == selector.id)
            or (selector.order is not None and stage.order == selector.order)
            or (selector.name and stage.display_name.lower() == selector.name.lower())
        ):
            return stage
    raise InputError(
        input_name,
        f"pipeline {pipeline.display_name!r} has no stage {selector}; its stages are "
        f"{_describe_stages(pipeline.stages)}.",
    )


def adjacent_stage(pipeline: PipelineWithStages, source: Stage, *, backward: bool) -> Stage:
    """The stage after `source`, or before it for a backward deployment."""
    if backward:
        candidates = sorted((s for s in pipeline.stages if s.order < source.order), key=lambda s: -s.order)
    else:
        candidates = sorted((s for s in pipeline.stages if s.order > source.order), key=lambda s: s.order)
    if not candidates:
        which = "first" if backward else "last"
        raise InputError(
            "target-stage",
            f"{source.display_name!r} is the {which} stage of {pipeline.display_name!r}, so there is no "
            f"{'previous' if backward else 'next'} stage to deploy to; set target-stage "
            f"(stages: {_describe_stages(pipeline.stages)}).",
        )
    return candidates[0]


def _label(item: StageItem) -> str:
    return f"{item.item_type}: {item.item_display_name}"


def resolve_items(stage: Stage, stage_items: Sequence[StageItem], selectors: Sequence[ItemSelector]) -> list[StageItem]:
    """Each `items` line to exactly one item of the source stage; all misses reported together."""
    chosen: dict[str, StageItem] = {}
    errors: list[InputError] = []
    labels = [_label(i) for i in stage_items]
    for sel in selectors:
        if sel.id:
            found = [i for i in stage_items if i.item_id == sel.id]
        else:
            assert sel.name is not None
            found = [i for i in stage_items if i.item_display_name.lower() == sel.name.lower()]
            if sel.type:
                wanted = canonical_item_type(sel.type).lower()
                found = [i for i in found if i.item_type.lower() == wanted]
        if len(found) == 1:
            chosen.setdefault(found[0].item_id, found[0])
        elif found:
            errors.append(
                InputError(
                    "items",
                    f"{sel.line!r} matches {len(found)} items in stage {stage.display_name!r}: "
                    + ", ".join(repr(_label(i)) for i in found)
                    + ". Write it as `Type: name`.",
                )
            )
        else:
            errors.append(
                InputError(
                    "items",
                    f"{sel.line!r} matches no item in stage {stage.display_name!r}.",
                    candidates=close_matches(sel.name or sel.line, labels),
                )
            )
    if errors:
        raise InputErrors(errors)
    return list(chosen.values())
