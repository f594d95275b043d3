"""The plan of a deployment: pairing, refusals, and plan-compare's fetching and normalising, with a fake client."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from fabric_ci.clock import VirtualClock
from fabric_ci.errors import DefinitionUnavailable
from fabric_ci.models.inputs import DeployAllInputs, parse_inputs
from fabric_ci.models.resources import DefinitionFetch, ItemDefinition, Stage, StageItem
from fabric_ci.models.results import DeploymentPlan
from fabric_ci.operations.plan import (
    COMPARE_CONCURRENCY,
    NOT_CHOSEN,
    ONLY_IN_TARGET,
    OUT_OF_TIME,
    StageContent,
    build_plan,
    compare_definitions,
    describe,
    forbidden_by_options,
    refusals,
)

DEV = Stage(id="s0", order=0, display_name="Development", workspace_id="aaaaaaaa-0000-0000-0000-000000000000")
TEST = Stage(id="s1", order=1, display_name="Test", workspace_id="bbbbbbbb-0000-0000-0000-000000000000")
PROD = Stage(id="s2", order=2, display_name="Production", workspace_id="cccccccc-0000-0000-0000-000000000000")
SIGN_IN = {"tenant-id": "contoso.com", "client-id": "57760066-428a-4acd-b192-e392b8e2b8d3", "client-secret": "x"}


def deploy_inputs(**raw: str) -> DeployAllInputs:
    return parse_inputs(DeployAllInputs, {**SIGN_IN, "pipeline": "Sales", "source-stage": "0", **raw})


def item(item_id: str, name: str, item_type: str = "Report", **links: Any) -> StageItem:
    return StageItem(item_id=item_id, item_display_name=name, item_type=item_type, **links)


def by_name(plan: DeploymentPlan) -> dict[str, tuple[str, str | None]]:
    return {i.name: (i.action, i.diff) for i in plan.items}


def test_pairs_are_found_by_either_link_and_the_rest_is_created_or_left_alone() -> None:
    """An item linked forward (targetItemId) or back (sourceItemId) is overwritten; an unpaired one is
    created; a target item nothing is paired with is untouched."""
    source = [
        item("d1", "Sales", targetItemId="t1"),
        item("d2", "Model", "SemanticModel"),
        item("d3", "New report"),
    ]
    target = [
        item("t1", "Sales", lastDeploymentTime="2026-11-30T10:00:00Z"),
        item("t2", "Model", "SemanticModel", sourceItemId="d2"),
        item("t3", "Old report"),
    ]
    plan = build_plan(StageContent(DEV, source), StageContent(TEST, target), None)
    assert by_name(plan) == {
        "Sales": ("overwrite", None),
        "Model": ("overwrite", None),
        "New report": ("create", None),
        "Old report": ("untouched", None),
    }
    sales = plan.items[0]
    assert (sales.target_id, sales.last_deployed.isoformat() if sales.last_deployed else None) == (
        "t1",
        "2026-11-30T10:00:00+00:00",
    )
    assert plan.items[-1].reason == ONLY_IN_TARGET
    assert (plan.create, plan.overwrite, plan.unchanged, plan.skipped, plan.deployed) == (1, 2, 0, 0, 3)


def test_a_backward_deployment_pairs_by_the_earlier_stages_links() -> None:
    """Deploying Test -> Development: the Test item's sourceItemId names its Development pair."""
    source = [item("t1", "Sales", sourceItemId="d1")]
    target = [item("d1", "Sales", targetItemId="t1")]
    assert by_name(build_plan(StageContent(TEST, source), StageContent(DEV, target), None)) == {
        "Sales": ("overwrite", None)
    }


def test_a_selective_deployment_skips_the_unchosen_and_says_why_their_pairs_are_untouched() -> None:
    source = [item("d1", "Sales", targetItemId="t1"), item("d2", "Finance", targetItemId="t2")]
    target = [item("t1", "Sales"), item("t2", "Finance"), item("t3", "Old")]
    plan = build_plan(StageContent(DEV, source), StageContent(TEST, target), {"d1"})
    assert [(i.action, i.name, i.reason) for i in plan.items] == [
        ("overwrite", "Sales", None),
        ("skipped", "Finance", NOT_CHOSEN),
        ("untouched", "Finance", "paired with 'Finance', which this deployment leaves out"),
        ("untouched", "Old", ONLY_IN_TARGET),
    ]
    assert plan.items[1].target_id == "t2"  # a skipped item's pair is known: plan-compare rebinds its id
    assert plan.skipped == 1


def test_a_deployment_past_the_next_stage_pairs_through_the_stages_between() -> None:
    """Development -> Production: Sales is paired through Test; Finance's Test copy has no Production pair;
    an unlinked Production item of the same name as a Development one is no pair (the service adds another)."""
    dev = [item("d1", "Sales", targetItemId="t1"), item("d2", "Finance", targetItemId="t2"), item("d3", "Legacy")]
    test = [item("t1", "Sales", sourceItemId="d1", targetItemId="p1"), item("t2", "Finance", sourceItemId="d2")]
    prod = [item("p1", "Sales", sourceItemId="t1"), item("p3", "Legacy")]
    plan = build_plan(StageContent(DEV, dev), StageContent(PROD, prod), None, [StageContent(TEST, test)])
    assert [(i.action, i.name, i.target_id) for i in plan.items] == [
        ("overwrite", "Sales", "p1"),
        ("create", "Finance", None),
        ("create", "Legacy", None),
        ("untouched", "Legacy", "p3"),
    ]


def test_refusals_name_the_input_for_nothing_to_deploy_and_too_many_items() -> None:
    empty = build_plan(StageContent(DEV), StageContent(TEST), None)
    (nothing,) = refusals(empty, selective=False)
    assert (nothing.input_name, "nothing to deploy" in nothing.message) == ("source-stage", True)
    many = build_plan(StageContent(DEV, [item(f"d{n}", f"Report {n}") for n in range(301)]), StageContent(TEST), None)
    (too_many,) = refusals(many, selective=True)
    assert too_many.input_name == "items"
    assert "301 items" in too_many.message
    assert "at most 300" in too_many.message
    assert refusals(build_plan(StageContent(DEV, [item("d1", "A")]), StageContent(TEST), None), selective=True) == []


def test_power_bi_options_that_forbid_an_action_mark_its_items_and_warn() -> None:
    """The service accepts such a deployment and fails the items: a warning and a reason, not a refusal."""
    powerbi = deploy_inputs(api="powerbi", **{"allow-create-artifact": "false"})
    source = [item("d1", "A", targetItemId="t1"), item("d2", "B")]
    plan, warnings = forbidden_by_options(
        build_plan(StageContent(DEV, source), StageContent(TEST, [item("t1", "A")]), None), powerbi
    )
    assert [(i.name, i.reason) for i in plan.items] == [
        ("A", None),
        ("B", "allow-create-artifact is false: the service fails this item"),
    ]
    assert warnings == ["allow-create-artifact is false, and the deployment would create 1 item(s): they will fail"]
    assert forbidden_by_options(plan, deploy_inputs())[1] == []


def test_describe_gives_a_count_line_then_one_line_an_item() -> None:
    plan = build_plan(
        StageContent(DEV, [item("d1", "Sales", targetItemId="t1"), item("d2", "New")]),
        StageContent(TEST, [item("t1", "Sales", lastDeploymentTime="2026-11-30T10:00:00Z")]),
        None,
    )
    assert describe(plan, DEV, TEST) == [
        "Plan, Development -> Test: 1 to create, 1 to overwrite, 0 skipped",
        "  overwrite Report         Sales (last deployed 2026-11-30 10:00 UTC)",
        "  create    Report         New",
    ]


# --- plan-compare ----------------------------------------------------------------------------------


def definition(*parts: tuple[str, str]) -> ItemDefinition:
    return ItemDefinition(
        parts=[
            {"path": p, "payload": base64.b64encode(t.encode()).decode(), "payloadType": "InlineBase64"}
            for p, t in parts
        ]  # type: ignore[misc]
    )


def platform(logical_id: str) -> tuple[str, str]:
    return (".platform", json.dumps({"metadata": {"type": "Report"}, "config": {"logicalId": logical_id}}))


class DefinitionClient:
    """getDefinition as a long-running operation: each takes `ready_after` seconds and asks for
    `retry_after`; records what was in the making at once and when each poll came."""

    def __init__(
        self, clock: VirtualClock, definitions: dict[str, ItemDefinition | Exception], ready_after: float = 10.0
    ):
        self.clock, self.definitions, self.ready_after = clock, definitions, ready_after
        self.started: dict[str, float] = {}  # operation -> when
        self.finished: set[str] = set()
        self.most_in_making = 0
        self.early_polls = 0
        self.requests = 0  # HTTP requests, as a transport would count them
        self.retry_after = 4.0
        self.due: dict[str, float] = {}

    def requests_sent(self) -> int:
        return self.requests

    def start_item_definition(self, workspace_id: str, item_id: str, *, time_left: float) -> DefinitionFetch:
        self.requests += 1
        found = self.definitions[item_id]
        if isinstance(found, Exception):
            raise found
        operation = f"op-{item_id}"
        self.started[operation] = self.clock.t
        self.due[operation] = self.clock.t + self.retry_after
        in_making = len(set(self.started) - self.finished)
        self.most_in_making = max(self.most_in_making, in_making)
        return DefinitionFetch(operation_id=operation, retry_after=self.retry_after)

    def poll_item_definition(self, operation_id: str, *, time_left: float) -> DefinitionFetch:
        self.requests += 1
        if self.clock.t < self.due[operation_id]:
            self.early_polls += 1
        if self.clock.t - self.started[operation_id] < self.ready_after:
            self.due[operation_id] = self.clock.t + self.retry_after
            return DefinitionFetch(operation_id=operation_id, retry_after=self.retry_after)
        self.requests += 1  # the state, then the result
        self.finished.add(operation_id)
        found = self.definitions[operation_id.removeprefix("op-")]
        assert isinstance(found, ItemDefinition)
        return DefinitionFetch(operation_id=operation_id, definition=found)


class Quiet:
    def phase(self, _title: str) -> Any:
        return contextlib.nullcontext()

    def __getattr__(self, _name: str) -> Any:
        return lambda *_a, **_k: None


def compare(
    client: DefinitionClient, plan: DeploymentPlan, clock: VirtualClock, timeout: float = 600
) -> DeploymentPlan:
    return compare_definitions(client, plan, DEV, TEST, Quiet(), clock.clock, clock.t + timeout)  # type: ignore[arg-type]


def pairs(count: int, item_type: str = "Report") -> DeploymentPlan:
    source = [item(f"d{n}", f"R{n}", item_type, targetItemId=f"t{n}") for n in range(count)]
    target = [item(f"t{n}", f"R{n}", item_type) for n in range(count)]
    return build_plan(StageContent(DEV, source), StageContent(TEST, target), None)


def test_ids_a_deployment_rebinds_do_not_make_a_difference_but_content_does() -> None:
    """Workspace ids, the pair's own ids and the logicalId differ in every stage; the content version does not."""
    clock = VirtualClock(0)
    ws_dev, ws_test = DEV.workspace_id, TEST.workspace_id
    client = DefinitionClient(
        clock,
        {
            "d0": definition(("report.json", f'{{"v": 1, "ws": "{ws_dev}", "self": "d0"}}'), platform("L1")),
            "t0": definition(("report.json", f'{{"v": 1, "ws": "{ws_test.upper()}", "self": "t0"}}'), platform("L2")),
            "d1": definition(("report.json", f'{{"v": 2, "ws": "{ws_dev}"}}'), platform("L3")),
            "t1": definition(("report.json", f'{{"v": 1, "ws": "{ws_test}"}}'), platform("L4")),
        },
    )
    plan = compare(client, pairs(2), clock)
    assert by_name(plan) == {"R0": ("overwrite", "unchanged"), "R1": ("overwrite", "different")}
    assert (plan.overwrite, plan.unchanged, plan.compared) == (2, 1, True)
    # Each definition: the request, two polls before it is ready (at 4 s and 8 s), the last poll and the result.
    assert plan.definition_requests == client.requests == 4 * 5


def test_no_more_than_the_concurrency_bound_is_in_the_making_and_retry_after_is_honoured() -> None:
    clock = VirtualClock(0)
    ids = [f"{side}{n}" for n in range(6) for side in "dt"]
    client = DefinitionClient(clock, {i: definition(("a", "same"), platform(i)) for i in ids})
    plan = compare(client, pairs(6), clock)
    assert {i.diff for i in plan.items} == {"unchanged"}
    assert client.most_in_making == COMPARE_CONCURRENCY
    assert client.early_polls == 0
    # 12 definitions, 4 at a time, each ready after 10 s and polled every 4 s: three rounds of 12 s.
    assert clock.t == 36.0


def test_types_without_a_definition_and_refusals_are_not_comparable_with_the_reason() -> None:
    clock = VirtualClock(0)
    source = [
        item("d0", "Board", "Dashboard", targetItemId="t0"),
        item("d1", "Secret", "Report", targetItemId="t1"),
    ]
    target = [item("t0", "Board", "Dashboard"), item("t1", "Secret", "Report")]
    plan = build_plan(StageContent(DEV, source), StageContent(TEST, target), None)
    refused = DefinitionUnavailable("403 InsufficientPrivileges: no")
    client = DefinitionClient(clock, {"d1": definition(("a", "x")), "t1": refused})
    plan = compare(client, plan, clock)
    board, secret = plan.items
    assert (board.diff, board.reason) == ("not comparable", "the Fabric API has no definition for a Dashboard")
    assert (secret.diff, secret.reason) == ("not comparable", "403 InsufficientPrivileges: no")
    assert "d0" not in {o.removeprefix("op-") for o in client.started}  # never asked for a Dashboard's


def test_definitions_not_ready_by_the_deadline_are_not_comparable_and_the_wait_ends_there() -> None:
    clock = VirtualClock(0)
    client = DefinitionClient(clock, {i: definition(("a", "x")) for i in ("d0", "t0")}, ready_after=100)
    plan = compare(client, pairs(1), clock, timeout=30)
    assert [(i.diff, i.reason) for i in plan.items] == [("not comparable", OUT_OF_TIME)]
    assert clock.t <= 30
