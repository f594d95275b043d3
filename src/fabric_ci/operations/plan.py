"""What a deployment will do, worked out before it is sent: `plan: true` stops there, and every deploy
prints it first.

Neither API has a compare endpoint, so the plan is built from what both APIs do show: the items of
the source and target stages, how they are paired (`sourceItemId` / `targetItemId`: the pairing a
deployment overwrites), and the target items' last deployment times. That tells which items a
deployment creates, overwrites and leaves alone, and what the service would refuse. It cannot tell
whether an overwrite changes anything: with `plan-compare: definitions` (Fabric API) both items'
definitions are fetched and compared, after normalising what a deployment rebinds by itself
(workspace and item ids, the `.platform` file's logicalId). Deployment rules, and the connections
they rebind, cannot be read through either API, so an item with such rules shows as different; an
item type without a definition API is "not comparable", never guessed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from fabric_ci.api.client import PipelinesClient
from fabric_ci.clock import Clock
from fabric_ci.errors import FabricCiError, InputError
from fabric_ci.models.apis import DEFINITION_ITEM_TYPES
from fabric_ci.models.inputs import MAX_ITEMS_PER_DEPLOYMENT
from fabric_ci.models.resources import DefinitionFetch, ItemDefinition, Stage, StageItem
from fabric_ci.models.results import DeploymentPlan, PlanAction, PlannedItem
from fabric_ci.operations.reporter import Reporter

# At most this many definitions are in the making at once: the service throttles per principal, and
# a plan must not crowd out the deployment that follows it.
COMPARE_CONCURRENCY = 4
NOT_CHOSEN = "not in items: the selective deployment leaves it out"
ONLY_IN_TARGET = "only in the target stage"
NO_DEFINITION = "the Fabric API has no definition for a {type}"
OUT_OF_TIME = "the deployment's timeout ran out before its definition was ready"


@dataclass(frozen=True)
class StageContent:
    """A stage and the items it holds (none when it has no workspace)."""

    stage: Stage
    items: Sequence[StageItem] = ()


def pair_of(source: StageItem, targets: Iterable[StageItem]) -> StageItem | None:
    """The target-stage item a deployment of `source` overwrites. Both APIs link paired items both
    ways (the later stage's item names its `sourceItemId`, the earlier one its `targetItemId`), so a
    link either way is a pair, whichever way the deployment goes."""
    for target in targets:
        if target.item_id in (source.target_item_id, source.source_item_id) or source.item_id in (
            target.source_item_id,
            target.target_item_id,
        ):
            return target
    return None


def build_plan(source: StageContent, target: StageContent, chosen: set[str] | None) -> DeploymentPlan:
    """The plan from the two stages' items; `chosen`: the source item ids a selective deployment
    sends (None: all of them)."""
    items: list[PlannedItem] = []
    paired: set[str] = set()
    for item in source.items:
        if chosen is not None and item.item_id not in chosen:
            items.append(_planned(item, "skipped", reason=NOT_CHOSEN))
            continue
        match = pair_of(item, target.items)
        if match is None:
            items.append(_planned(item, "create"))
            continue
        paired.add(match.item_id)
        items.append(_planned(item, "overwrite", target_id=match.item_id, last_deployed=match.last_deployment_time))
    for left in target.items:
        if left.item_id not in paired:
            items.append(_planned(left, "untouched", reason=ONLY_IN_TARGET, target_id=left.item_id))
    return DeploymentPlan(items=tuple(items))


def size_refusals(plan: DeploymentPlan, *, selective: bool) -> list[InputError]:
    """What the service refuses for the plan's size alone."""
    if plan.deployed <= MAX_ITEMS_PER_DEPLOYMENT:
        return []
    return [
        InputError(
            "items" if selective else "source-stage",
            f"the deployment would send {plan.deployed} items, and the service deploys at most "
            f"{MAX_ITEMS_PER_DEPLOYMENT} at once; deploy them in parts with selective-deploy",
        )
    ]


def _planned(item: StageItem, action: PlanAction, **details: object) -> PlannedItem:
    return PlannedItem.model_validate(
        {"id": item.item_id, "name": item.item_display_name, "type": item.item_type, "action": action, **details}
    )


def describe(plan: DeploymentPlan, source: Stage, target: Stage) -> list[str]:
    """The plan as log lines: a count line, then one line an item."""
    counts = [f"{plan.create} to create", f"{plan.count('overwrite')} to overwrite"]
    if plan.compared:
        counts[-1] += f" ({plan.unchanged} unchanged)"
    counts.append(f"{plan.skipped} skipped")
    untouched = plan.count("untouched")
    head = f"Plan, {source.display_name} -> {target.display_name}: " + ", ".join(counts)
    if untouched:
        head += f"; {untouched} left as they are in {target.display_name}"
    if plan.compared:
        head += f" ({plan.definition_requests} definition requests)"
    lines = [head]
    for item in plan.items:
        detail = []
        if item.last_deployed is not None:
            detail.append(f"last deployed {item.last_deployed:%Y-%m-%d %H:%M} UTC")
        if item.diff is not None:
            detail.append(item.diff)
        if item.reason:
            detail.append(item.reason)
        suffix = f" ({'; '.join(detail)})" if detail else ""
        lines.append(f"  {item.action:<9} {item.type:<14} {item.name}{suffix}")
    return lines


# --- plan-compare: definitions ---------------------------------------------------------------------


@dataclass
class _Fetch:
    """One definition being fetched: `state` is None until it is asked for."""

    workspace_id: str
    item_id: str
    state: DefinitionFetch | None = None
    due: float = 0.0  # when its operation may be polled again
    failure: str | None = None
    requests: int = 0

    @property
    def definition(self) -> ItemDefinition | None:
        return self.state.definition if self.state is not None else None

    @property
    def done(self) -> bool:
        return self.failure is not None or self.definition is not None


def compare_definitions(
    client: PipelinesClient,
    plan: DeploymentPlan,
    source: Stage,
    target: Stage,
    reporter: Reporter,
    clock: Clock,
    deadline: float,
) -> DeploymentPlan:
    """The plan with `diff` set on every overwrite: both definitions fetched, at most
    COMPARE_CONCURRENCY in the making at once, all within `deadline` (the deployment's own timeout:
    time the plan takes is time the deployment does not get, so it is bounded the same way)."""
    items = list(plan.items)
    pairs: dict[int, tuple[_Fetch, _Fetch]] = {}
    for index, item in enumerate(items):
        if item.action != "overwrite" or not item.target_id or not source.workspace_id or not target.workspace_id:
            continue
        if item.type not in DEFINITION_ITEM_TYPES:
            reason = NO_DEFINITION.format(type=item.type)
            items[index] = item.model_copy(update={"diff": "not comparable", "reason": reason})
            continue
        pairs[index] = (_Fetch(source.workspace_id, item.id), _Fetch(target.workspace_id, item.target_id))
    fetches = [fetch for pair in pairs.values() for fetch in pair]
    with reporter.phase(f"Comparing the definitions of {len(pairs)} item(s) with their targets'"):
        _fetch_all(client, fetches, clock, deadline)
    ids = _rebound_ids(plan, source, target)
    for index, (theirs, ours) in pairs.items():
        failure = theirs.failure or ours.failure
        if failure or theirs.definition is None or ours.definition is None:
            items[index] = items[index].model_copy(update={"diff": "not comparable", "reason": failure})
            continue
        same = _normalised(theirs.definition, ids) == _normalised(ours.definition, ids)
        items[index] = items[index].model_copy(update={"diff": "unchanged" if same else "different"})
    requests = sum(fetch.requests for fetch in fetches)
    return plan.model_copy(update={"items": tuple(items), "compared": True, "definition_requests": requests})


def _fetch_all(client: PipelinesClient, fetches: list[_Fetch], clock: Clock, deadline: float) -> None:
    """Fetch every definition, one request at a time, with up to COMPARE_CONCURRENCY operations in
    the making: their waits overlap, their requests do not. No threads, so a cancel (a signal, in the
    main thread) stops it at once, and the requests stay within the transport's retry budget."""
    waiting = list(fetches)
    active: list[_Fetch] = []
    while waiting or active:
        while waiting and len(active) < COMPARE_CONCURRENCY:
            fetch = waiting.pop(0)
            _advance(fetch, clock, deadline, partial(client.start_item_definition, fetch.workspace_id, fetch.item_id))
            if not fetch.done:
                active.append(fetch)
        if not active:
            continue
        fetch = min(active, key=lambda f: f.due)
        if fetch.due >= deadline:
            for late in active + waiting:
                late.failure = OUT_OF_TIME
            return
        clock.sleep(max(fetch.due - clock.now(), 0.0))
        operation = fetch.state.operation_id if fetch.state is not None else None
        assert operation is not None  # an active fetch is an operation in the making
        _advance(fetch, clock, deadline, partial(client.poll_item_definition, operation))
        if fetch.done:
            active.remove(fetch)


def _advance(fetch: _Fetch, clock: Clock, deadline: float, call: Callable[..., DefinitionFetch]) -> None:
    """One request of a fetch: `call(time_left=...)` asks for or polls the definition."""
    left = deadline - clock.now()
    if left <= 0:
        fetch.failure = OUT_OF_TIME
        return
    try:
        state = call(time_left=left)
    except FabricCiError as error:  # DefinitionUnavailable, or the service unreachable after the retries
        fetch.failure = error.message
        fetch.requests += 1
        return
    fetch.state = state
    fetch.requests += state.requests
    fetch.due = clock.now() + state.retry_after


def _rebound_ids(plan: DeploymentPlan, source: Stage, target: Stage) -> dict[str, str]:
    """The ids a deployment rebinds by itself, each with the placeholder both sides get: the two
    workspaces, and each pair of items (a report names its semantic model by id)."""
    ids = {}
    for workspace in (source.workspace_id, target.workspace_id):
        if workspace:
            ids[workspace.lower()] = "<workspace>"
    for number, item in enumerate(plan.items):
        if item.action == "overwrite" and item.target_id:
            ids[item.id.lower()] = ids[item.target_id.lower()] = f"<item {number}>"
    return ids


def _normalised(definition: ItemDefinition, ids: dict[str, str]) -> dict[str, str]:
    """Each part's text, with the ids a deployment rebinds replaced and the `.platform` file's
    logicalId (different in every stage) left out. A payload that is not text is kept as base64."""
    parts = {}
    for part in definition.parts:
        try:
            text = base64.b64decode(part.payload, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            text = part.payload
        if part.path.endswith(".platform"):
            text = _without_logical_id(text)
        lowered = text
        for old, new in ids.items():
            lowered = _replace_ignoring_case(lowered, old, new)
        parts[part.path] = lowered
    return parts


def _without_logical_id(text: str) -> str:
    try:
        platform = json.loads(text)
    except ValueError:
        return text
    if isinstance(platform, dict) and isinstance(platform.get("config"), dict):
        platform["config"].pop("logicalId", None)
    return json.dumps(platform, sort_keys=True)


def _replace_ignoring_case(text: str, old: str, new: str) -> str:
    position = text.lower().find(old)
    while position != -1:
        text = text[:position] + new + text[position + len(old) :]
        position = text.lower().find(old, position + len(new))
    return text
