"""Deployment timing and effects in the emulator's state, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import pytest

from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, DEV_ITEMS, DEV_STAGE_ID, TEST_STAGE_ID
from fabric_ci.emulator.state import FabricError, Settings, TenantState
from tests.unit.emulator.fake_clock import START, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_state(clock: FakeClock, **settings: object) -> TenantState:
    return TenantState(Settings(operation_seconds=10.0, **settings), clock=clock)  # type: ignore[arg-type]


def deploy_two(state: TenantState) -> str:
    items = [
        (DEV_ITEMS[("Report", "Sales Overview")], "Report"),
        (DEV_ITEMS[("SemanticModel", "Sales Model")], "SemanticModel"),
    ]
    return state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, items, None).id


def test_status_is_not_started_then_running_then_succeeded_exactly_at_the_end(clock: FakeClock) -> None:
    """NotStarted for the first 5%, Running until accepted_at + operation_seconds, then Succeeded."""
    state = make_state(clock)
    deployment = state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, None, None)
    assert deployment.finishes_at == START + 10.0
    assert deployment.status_at(START + 0.4) == "NotStarted"
    assert deployment.status_at(START + 0.6) == "Running"
    assert deployment.status_at(START + 9.999) == "Running"
    assert deployment.status_at(START + 10.0) == "Succeeded"


def test_steps_succeed_one_after_another_at_even_intervals(clock: FakeClock) -> None:
    """With two steps over 9.5 s of running time, the first ends at 5.25 s and the second at 10 s."""
    state = make_state(clock)
    deploy_two(state)
    deployment = state.deployments[0]
    # Dependencies first: the semantic model is step 0, the report step 1.
    assert [s.item_type for s in deployment.steps] == ["SemanticModel", "Report"]
    assert [deployment.step_status_at(i, START + 5.0) for i in (0, 1)] == ["Running", "NotStarted"]
    assert [deployment.step_status_at(i, START + 5.3) for i in (0, 1)] == ["Succeeded", "Running"]
    assert deployment.percent_complete_at(START + 5.3) == 50
    assert [deployment.step_status_at(i, START + 10.0) for i in (0, 1)] == ["Succeeded", "Succeeded"]
    assert deployment.last_updated_at(START + 6.0) == pytest.approx(START + 5.25)


def test_failing_item_fails_its_step_and_leaves_the_rest_not_started(clock: FakeClock) -> None:
    """A fail_items item ends its step Failed with an error; later steps stay NotStarted; the end time is unchanged."""
    state = make_state(clock, fail_items=frozenset({"Sales Model"}))
    deploy_two(state)
    deployment = state.deployments[0]
    assert deployment.final_status == "Failed"
    assert deployment.status_at(START + 9.0) == "Running"
    assert deployment.status_at(START + 10.0) == "Failed"
    assert deployment.step_status_at(0, START + 10.0) == "Failed"
    assert deployment.step_status_at(1, START + 10.0) == "NotStarted"
    assert "Sales Model" in deployment.steps[0].error()["message"]


def test_finished_deployment_updates_the_target_stage_lazily(clock: FakeClock) -> None:
    """The target stage changes only once the deployment has ended and someone looks; then nothing differs."""
    state = make_state(clock)
    state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, None, None)
    test_stage = state.pipeline(DEMO_PIPELINE_ID).stages[1]
    before = len(state.stage_items(test_stage))
    clock.now = START + 9.9
    state.settle()
    assert len(state.stage_items(test_stage)) == before
    clock.now = START + 10.0
    state.settle()
    assert len(state.stage_items(test_stage)) == 10
    again = state.deploy(DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID, None, None)
    assert {s.diff_state for s in again.steps} == {"NoDifference"}


def test_a_second_deployment_is_refused_while_one_is_active(clock: FakeClock) -> None:
    """One active deployment per pipeline: 409 until the first one ends."""
    state = make_state(clock)
    deploy_two(state)
    with pytest.raises(FabricError) as refused:
        deploy_two(state)
    assert refused.value.status == 409
    clock.now = START + 10.0
    deploy_two(state)
    assert len(state.deployments) == 2


def test_seeded_history_durations_match_operation_seconds(clock: FakeClock) -> None:
    """The three seeded past deployments are Succeeded, in the past, and last operation_seconds each."""
    state = make_state(clock)
    history = state.pipeline(DEMO_PIPELINE_ID).deployments
    assert len(history) == 3
    assert state.deployments == []
    for deployment in history:
        assert deployment.status_at(START) == "Succeeded"
        assert deployment.finishes_at < START
        assert deployment.duration == pytest.approx(10.0, rel=0.1)


def test_expired_tokens_are_told_apart_from_unknown_ones(clock: FakeClock) -> None:
    """A token is valid until its lifetime passes, then 'expired'; a token never issued is 'unknown'."""
    state = make_state(clock, token_lifetime_seconds=60)
    token, lifetime = state.issue_token()
    assert lifetime == 60
    assert state.token_status(token) == "valid"
    clock.now = START + 60
    assert state.token_status(token) == "expired"
    assert state.token_status("nope") == "unknown"
