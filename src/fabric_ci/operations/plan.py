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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from fabric_ci.api.client import PipelinesClient
from fabric_ci.clock import Clock
from fabric_ci.errors import FabricCiError, InputError
from fabric_ci.models.apis import NO_DEFINITION_TYPES
from fabric_ci.models.inputs import MAX_ITEMS_PER_DEPLOYMENT, DeployAllInputs
from fabric_ci.models.resources import DefinitionFetch, ItemDefinition, Stage, StageItem
from fabric_ci.models.results import DeploymentPlan, PlanAction, PlannedItem
from fabric_ci.operations.reporter import Reporter

# At most this many definitions are in the making at once: the service throttles per principal, and
# a plan must not crowd out the deployment that follows it.
COMPARE_CONCURRENCY = 4
NOT_CHOSEN = "not in items: the selective deployment leaves it out"
ONLY_IN_TARGET = "only in the target stage"
NOT_DEPLOYED = "paired with {name!r}, which this deployment leaves out"
NO_DEFINITION = "the Fabric API has no definition for a {type}"
OUT_OF_TIME = "the deployment's timeout ran out before its definition was ready"


@dataclass(frozen=True)
class StageContent:
    """A stage and the items it holds (none when it has no workspace)."""

    stage: Stage
    items: Sequence[StageItem] = ()


def pair_of(source: StageItem, stages: Sequence[StageContent]) -> StageItem | None:
    """The item a deployment of `source` overwrites in the last of `stages` (the stages from the one
    after the source to the target, in the deployment's direction), or None. Both APIs link paired
    items of neighbouring stages both ways (the later stage's item names its `sourceItemId`, the
    earlier one its `targetItemId`), so a pair is followed link by link, through any stages between.
    An item of the same name without a link is no pair: the service creates another beside it."""
    current: StageItem | None = source
    for stage in stages:
        current = next((i for i in stage.items if current is not None and _linked(current, i)), None)
        if current is None:
            return None
    return current


def _linked(one: StageItem, other: StageItem) -> bool:
    return other.item_id in (one.target_item_id, one.source_item_id) or one.item_id in (
        other.source_item_id,
        other.target_item_id,
    )


def build_plan(
    source: StageContent, target: StageContent, chosen: set[str] | None, between: Sequence[StageContent] = ()
) -> DeploymentPlan:
    """The plan from the stages' items; `chosen`: the source item ids a selective deployment sends
    (None: all of them); `between`: the stages between source and target, in order, through which
    items are paired when the target is not the next stage."""
    items: list[PlannedItem] = []
    paired: dict[str, PlannedItem] = {}  # target item id -> the source item paired with it
    for item in source.items:
        match = pair_of(item, [*between, target])
        details = {"target_id": match.item_id, "last_deployed": match.last_deployment_time} if match else {}
        if chosen is not None and item.item_id not in chosen:
            planned = _planned(item, "skipped", reason=NOT_CHOSEN, **details)
        else:
            planned = _planned(item, "overwrite" if match else "create", **details)
        if match is not None:
            paired[match.item_id] = planned
        items.append(planned)
    for left in target.items:
        pair = paired.get(left.item_id)
        if pair is None:
            items.append(_planned(left, "untouched", reason=ONLY_IN_TARGET, target_id=left.item_id))
        elif pair.action == "skipped":
            reason = NOT_DEPLOYED.format(name=pair.name)
            items.append(_planned(left, "untouched", reason=reason, target_id=left.item_id))
    return DeploymentPlan(items=tuple(items))


def refusals(plan: DeploymentPlan, *, selective: bool) -> list[InputError]:
    """What the service refuses for the plan's items: none at all, or more than it deploys at once."""
    where = "items" if selective else "source-stage"
    found = []
    if plan.deployed == 0:
        found.append(InputError(where, "there is nothing to deploy: the plan holds no item to create or overwrite"))
    if plan.deployed > MAX_ITEMS_PER_DEPLOYMENT:
        found.append(
            InputError(
                where,
                f"the deployment would send {plan.deployed} items, and the service deploys at most "
                f"{MAX_ITEMS_PER_DEPLOYMENT} at once; deploy them in parts with selective-deploy",
            )
        )
    return found


def forbidden_by_options(plan: DeploymentPlan, inputs: DeployAllInputs) -> tuple[DeploymentPlan, list[str]]:
    """The Power BI API accepts a deployment that needs an option it was told not to use, and then
    fails those items (allow-create-artifact and allow-overwrite-artifact default to true): the plan
    says so of each, and returns a warning for the log."""
    options: tuple[tuple[str, PlanAction], ...] = (
        ("allow-create-artifact", "create"),
        ("allow-overwrite-artifact", "overwrite"),
    )
    items, warnings = list(plan.items), []
    for option, action in options:
        if getattr(inputs, option.replace("-", "_")) is not False or not plan.count(action):
            continue
        reason = f"{option} is false: the service fails this item"
        items = [i.model_copy(update={"reason": reason}) if i.action == action else i for i in items]
        warnings.append(
            f"{option} is false, and the deployment would {action} {plan.count(action)} item(s): they will fail"
        )
    return plan.model_copy(update={"items": tuple(items)}), warnings


def _planned(item: StageItem, action: PlanAction, **details: object) -> PlannedItem:
    return PlannedItem.model_validate(
        {"id": item.item_id, "name": item.item_display_name, "type": item.item_type, "action": action, **details}
    )


def describe(plan: DeploymentPlan, source: Stage, target: Stage) -> list[str]:
    """The plan as log lines: a count line, then one line an item."""
    head = f"Plan, {source.display_name} -> {target.display_name}: {plan.counts_text()}"
    untouched = plan.count("untouched")
    if untouched:
        head += f"; {untouched} left as they are in {target.display_name}"
    if plan.compared:
        head += f" ({plan.definition_requests} definition requests)"
    lines = [head]
    for item in plan.items:
        details = item.details()
        lines.append(f"  {item.action:<9} {item.type:<14} {item.name}" + (f" ({details})" if details else ""))
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
        if item.type in NO_DEFINITION_TYPES:
            reason = NO_DEFINITION.format(type=item.type)
            items[index] = item.model_copy(update={"diff": "not comparable", "reason": reason})
            continue
        pairs[index] = (_Fetch(source.workspace_id, item.id), _Fetch(target.workspace_id, item.target_id))
    fetches = [fetch for pair in pairs.values() for fetch in pair]
    sent_before = client.requests_sent()
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
    requests = client.requests_sent() - sent_before  # retries included
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
        return
    fetch.state = state
    fetch.due = clock.now() + state.retry_after


def _rebound_ids(plan: DeploymentPlan, source: Stage, target: Stage) -> dict[str, str]:
    """The ids a deployment rebinds by itself, each with the placeholder both sides get: the two
    workspaces, and each pair of items (a report names its semantic model by id)."""
    ids = {}
    for workspace in (source.workspace_id, target.workspace_id):
        if workspace:
            ids[workspace.lower()] = "<workspace>"
    for number, item in enumerate(plan.items):
        # Every pair, deployed or not: a report names its semantic model, which may be left out.
        if item.action in ("overwrite", "skipped") and item.target_id:
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
