"""The poll planner, run in virtual time against simulated deployments.

The yardstick is Microsoft's sample: GET the operation right after deploying, then every 5 s.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from fabric_ci.api.polling import (
    BASELINE_INTERVAL,
    DeadlineReached,
    PollPlanner,
    SharedBudget,
    expected_duration,
)
from fabric_ci.clock import VirtualClock
from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import Progress
from tests.support.simulated import SimulatedDeployment, follow


def sample_poll_count(duration: float) -> int:
    """Requests Microsoft's sample sends: one at once, then one every 5 s until it sees the end."""
    return 1 + math.ceil(duration / BASELINE_INTERVAL)


def run(
    duration: float, expected: float | None, show_steps: bool = True, steps: int = 6, front: bool = False
) -> tuple[int, float]:
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, duration, steps, show_steps=show_steps, front=front)
    planner = PollPlanner(expected_duration=expected, history_uncertainty=0.05 * (expected or 0))
    follow(clock, deployment.fetch, planner)
    return len(deployment.polls), clock.now() - duration


DURATIONS = [0.5, 1, 1.7, 3, 4.9, 5, 8, 10, 12.5, 30, 61, 180, 600]


@pytest.mark.parametrize("duration", DURATIONS)
@pytest.mark.parametrize("history", ["none", "accurate", "half", "double", "tenfold"])
@pytest.mark.parametrize("show_steps", [True, False])
def test_never_sends_more_requests_than_the_fixed_5s_poll(duration: float, history: str, show_steps: bool) -> None:
    """Whatever the estimate, a deployment costs no more status requests than the 5 s sample spends on it."""
    expected = {"none": None, "accurate": duration, "half": duration / 2, "double": duration * 2}.get(
        history, duration * 10
    )
    polls, _late = run(duration, expected, show_steps)
    assert polls <= sample_poll_count(duration)


@pytest.mark.parametrize("duration", [d for d in DURATIONS if d <= 5])
@pytest.mark.parametrize("history", ["none", "accurate", "half", "double", "tenfold"])
@pytest.mark.parametrize("show_steps", [True, False])
def test_short_deployments_are_never_seen_later_than_the_sample_at_its_worst(
    duration: float, history: str, show_steps: bool
) -> None:
    """A deployment of 5 s or less is noticed at most 5 s after its end, whatever the estimate."""
    expected = {"none": None, "accurate": duration, "half": duration / 2, "double": duration * 2}.get(
        history, duration * 10
    )
    _polls, late = run(duration, expected, show_steps)
    assert late <= BASELINE_INTERVAL


@pytest.mark.parametrize("duration", DURATIONS)
def test_without_any_estimate_never_later_than_the_sample_at_its_worst(duration: float) -> None:
    """No history, no step progress: the end is noticed at most 5 s after it, as by the sample."""
    _polls, late = run(duration, None, show_steps=False)
    assert late <= BASELINE_INTERVAL


@pytest.mark.parametrize("duration", [3, 8, 12.5, 30, 61, 180, 600])
def test_notices_the_end_within_about_a_second_when_history_is_right(duration: float) -> None:
    """With an accurate history the end is seen within 1.5 s, while the sample averages 2.5 s late."""
    _polls, late = run(duration, duration, show_steps=False)
    assert late <= 1.5


@pytest.mark.parametrize("duration", [60, 61, 120, 180, 600, 601])
def test_step_progress_alone_sees_a_long_deployment_end_promptly_and_cheaply(duration: float) -> None:
    """Without history, this run's own step pace sees the end of a long deployment within the sample's worst
    5 s, with fewer requests (at most half of them from ten minutes on)."""
    polls, late = run(duration, None, show_steps=True)
    assert late <= BASELINE_INTERVAL
    assert polls <= (0.5 if duration >= 600 else 0.9) * sample_poll_count(duration)


@pytest.mark.parametrize("duration", [0.3, 0.9, 1.0])
def test_a_deployment_over_within_a_second_is_seen_at_once(duration: float) -> None:
    """With nothing to go on, the first look comes after a second, when short deployments are done."""
    polls, late = run(duration, None, show_steps=False)
    assert polls == 1
    assert late <= 1.0


def test_with_no_signal_at_all_it_is_the_fixed_5s_poll_after_one_early_look() -> None:
    """No history and no steps: one look after a second, then on the sample's 5 s ticks."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 22, show_steps=False)
    follow(clock, deployment.fetch, PollPlanner())
    assert deployment.polls == [1, 5, 10, 15, 20, 25]


def test_the_first_look_does_not_wait_for_an_lro_retry_after() -> None:
    """A 3 s deployment with a 3 s history is seen at once: nothing makes the first look wait 30 s."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 3)
    follow(clock, deployment.fetch, PollPlanner(expected_duration=3))
    assert deployment.polls == [pytest.approx(3.2)]


def test_unknown_statuses_keep_waiting() -> None:
    """A status the service adds later is treated as still running, not as the end."""
    clock = VirtualClock(0.0)
    answers = iter(["Queued", "SomethingNew", "Succeeded"])
    polls = []

    def fetch() -> DeploymentOperation:
        polls.append(clock.now())
        return DeploymentOperation(id="d", status=next(answers))

    op = follow(clock, fetch, PollPlanner(), timeout=60)
    assert op.status == "Succeeded"
    assert len(polls) == 3


def test_deadline_polls_at_the_deadline_when_the_budget_allows() -> None:
    """At the timeout, one last look is taken if the budget holds one, then DeadlineReached carries the last state."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 1000, show_steps=False)
    with pytest.raises(DeadlineReached) as reached:
        follow(clock, deployment.fetch, PollPlanner(), timeout=17)
    assert deployment.polls == [1, 5, 10, 15, 17]  # the sample: 0, 5, 10, 15 and, at 20, a fifth
    assert clock.now() == 17
    assert reached.value.last is not None
    assert reached.value.last.status == "Running"


@pytest.mark.parametrize("timeout", [3, 7, 12, 12.5])
def test_the_budget_always_holds_a_last_look_at_the_deadline(timeout: float) -> None:
    """The budget keeps a request for the deadline, so a deployment ending just before it is reported as ended."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 1000, show_steps=False)
    with pytest.raises(DeadlineReached):
        follow(clock, deployment.fetch, PollPlanner(), timeout=timeout)
    assert deployment.polls[-1] == timeout
    assert clock.now() == timeout


def test_expected_duration_is_the_median_of_successes_between_the_same_stages() -> None:
    """History gives the median of succeeded deployments between the same stages, and nothing from other stages."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def op(seconds: float, status: str = "Succeeded", source: str = "a") -> DeploymentOperation:
        return DeploymentOperation(
            id="x",
            status=status,
            source_stage_id=source,
            target_stage_id="b",
            execution_start_time=t0,
            execution_end_time=t0 + timedelta(seconds=seconds),
        )

    history = [op(10), op(30), op(20), op(999, "Failed"), op(500, source="other")]
    assert expected_duration(history, "a", "b") == (20, 10)  # the median, and half the range
    assert expected_duration(history, "z", "z") is None  # other stages are no guide
    assert expected_duration([], "a", "b") is None


def test_progress_ticks_between_polls_without_extra_requests() -> None:
    """Between sparse polls, progress is re-reported about every second with a fresh elapsed time."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 4.5, show_steps=False)
    seen: list[float] = []
    follow(
        clock,
        deployment.fetch,
        PollPlanner(expected_duration=4.5),
        on_progress=lambda p: seen.append(p.elapsed_seconds),
    )
    assert len(deployment.polls) == 1
    assert seen[:3] == [1.0, 2.0, 3.0]
    assert len(seen) >= 5


@pytest.mark.parametrize("timeout", [1, 2.2, 3, 4, 5, 6, 9.9, 11, 14, 21])
@pytest.mark.parametrize("history", [None, 2.0, 60.0])
@pytest.mark.parametrize("show_steps", [True, False])
def test_every_request_is_one_the_sample_is_sure_to_send_too(
    timeout: float, history: float | None, show_steps: bool
) -> None:
    """Each request is within what the sample must send for a deployment seen unfinished at the previous request.

    Seen unfinished at L, the sample sends its requests at 0, 5, ... up to L and one more: floor(L / 5) + 2."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 1000, show_steps=show_steps)
    with pytest.raises(DeadlineReached):
        follow(clock, deployment.fetch, PollPlanner(expected_duration=history), timeout=timeout)
    previous = 0.0
    for count, at in enumerate(deployment.polls, start=1):
        assert count <= 2 + math.floor(previous / BASELINE_INTERVAL), deployment.polls
        previous = at
    assert clock.now() == pytest.approx(timeout)


# -- a budget shared by waits side by side (deploy-many) ---------------------------------------------


def follow_sharing(
    budget: SharedBudget,
    duration: float,
    expected: float | None,
    show_steps: bool = False,
    steps: int = 6,
    front: bool = False,
) -> tuple[int, float, int]:
    """One wait drawing on `budget`: (requests, how late it saw the end, requests borrowed). The waits of
    a test run one after another in virtual time, each seeing what those before it deposited (side by
    side, a wait sees only what waits that ended before it deposited: less credit, fewer loans)."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, duration, steps, show_steps=show_steps, front=front)
    planner = PollPlanner(expected_duration=expected, history_uncertainty=0.05 * (expected or 0), budget=budget)
    follow(clock, deployment.fetch, planner)
    return len(deployment.polls), clock.now() - duration, planner.borrowed


def test_a_wait_whose_step_pace_puts_its_end_before_the_tick_borrows_what_an_accurate_one_saved() -> None:
    """An accurate estimate sees a 3 s deployment with one request where the sample sends two: it lends
    the other. A 1.9 s deployment with no history, seen half done at its first look (1 s), would wait for
    the sample's 5 s tick alone (its own budget has one request left, kept for the tick); it borrows the
    loan, looks where its pace is sure the end has come (end, doubt and margin: 3 s), and sees the end
    then: with the requests it would have sent alone, 2 s sooner."""
    budget = SharedBudget()
    saved, _late, _ = follow_sharing(budget, 3, 3)
    assert (saved, budget.credit) == (1, 1)
    polls, late, borrowed = follow_sharing(budget, 1.9, None, show_steps=True)
    # Its own proof allowed two; it sent one of them and the loan, so it deposits the other at its end.
    assert (borrowed, budget.lent, budget.credit) == (1, 1, 1)
    alone_polls, alone_late = run(1.9, None, show_steps=True)
    assert polls == alone_polls == 2
    assert late == pytest.approx(1.1)
    assert alone_late == pytest.approx(BASELINE_INTERVAL - 1.9)  # alone: the tick at 5 s


def test_an_overdue_wait_never_borrows() -> None:
    """Told 3 s, a 4 s deployment is overdue at its first look: its estimate no longer says when the end
    comes, and a borrowed look that found it running would cost a request alone would not. It waits for
    the tick as alone, and the credit stays for a wait with a better estimate."""
    budget = SharedBudget()
    budget.deposit(1)
    polls, late, borrowed = follow_sharing(budget, 4, 3)
    assert (borrowed, budget.credit) == (0, 1)
    assert (polls, late) == run(4, 3, show_steps=False)


def test_without_credit_a_wait_waits_for_the_tick_as_alone() -> None:
    """An empty shared budget changes nothing: the same requests at the same times as a wait of its own."""
    polls, late, borrowed = follow_sharing(SharedBudget(), 1.9, None, show_steps=True)
    assert borrowed == 0
    assert (polls, late) == run(1.9, None, show_steps=True)


def test_a_loan_taken_by_another_wait_meanwhile_falls_back_to_the_tick() -> None:
    """The credit is gone when the planned look comes (another wait borrowed it): the look waits for the
    tick, as alone, and nothing is recorded as borrowed."""
    budget = SharedBudget()
    budget.deposit(1)
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, 1.9, show_steps=True)
    planner = PollPlanner(budget=budget)

    heard: list[float] = []
    refused: list[float] = []
    spend = planner.spend

    def spend_and_note(at: float = 0.0, *, last: bool = False) -> bool:
        if not (spent := spend(at, last=last)):
            refused.append(at)
        return spent

    def another_wait_borrows(progress: Progress) -> None:
        # The first call with an answer is the first answer itself (the look is planned after it); the
        # next is a tick of the sleep before the planned look: the other wait borrows then.
        if progress.status != "Running":  # the ticks before the first answer
            return
        heard.append(progress.elapsed_seconds)
        if len(heard) == 2:
            assert budget.borrow()

    planner.spend = spend_and_note  # type: ignore[method-assign]
    follow(clock, deployment.fetch, planner, on_progress=another_wait_borrows)
    assert len(refused) == 1  # the planned loan was refused
    assert refused[0] < BASELINE_INTERVAL
    assert planner.borrowed == 0
    assert deployment.polls[1] == BASELINE_INTERVAL  # then the tick, as alone


SHARING_DURATIONS = [x / 2 for x in range(1, 41)] + [30, 61, 180]


@pytest.mark.parametrize(("steps", "front"), [(0, False), (1, False), (3, False), (6, False), (6, True), (30, True)])
def test_waits_sharing_a_budget_stay_within_the_sample_and_pay_only_for_loans(steps: int, front: bool) -> None:
    """Over a grid of durations (0.5 s to 3 min), estimates (none, right, half, double, 0.8x) and step
    paces (none shown, 1 to 30 steps, even or front-loaded): every wait sees its end no later than alone,
    sends more requests than alone only by what it borrowed, and all together stay within the sample's
    count. A loan that finds the deployment still running is one request more than alone: the loan
    margin keeps those few (when written: +0.4% with 3 even steps, +3.0% and +3.9% front-loaded, +1.3%
    over the grid, for 0.23 s sooner a wait; without it +0.6%, +3.0%, +4.2%, +1.4%; bench/shared_budget.py
    measures a wider grid). A pace needs a rise of the step count before the end: with no steps shown, or
    one step, nothing is lent."""
    cases = [
        (duration, expected)
        for duration in SHARING_DURATIONS
        for expected in (None, duration, duration / 2, duration * 2, duration * 0.8)
    ]
    budget = SharedBudget()
    total = alone_total = 0
    earlier = 0.0
    for duration, expected in cases:
        polls, late, borrowed = follow_sharing(budget, duration, expected, steps > 0, steps or 6, front)
        alone_polls, alone_late = run(duration, expected, steps > 0, steps or 6, front)
        assert polls <= alone_polls + borrowed, (duration, expected)
        assert late <= alone_late + 1e-9, (duration, expected)
        total += polls
        alone_total += alone_polls
        earlier += alone_late - late
    assert total <= sum(sample_poll_count(d) for d, _ in cases)
    if steps > 1:
        assert budget.lent > 0
        assert total <= alone_total * 1.05
        assert earlier > 20
    else:
        assert (budget.lent, total) == (0, alone_total)


def test_a_look_meant_for_the_tick_that_lands_a_hair_before_it_borrows_nothing() -> None:
    """Float arithmetic on a large monotonic clock can bring the tick's look in a hair early: with credit
    to lend, it is still not a loan (none was planned); the wait sleeps the hair and spends its own."""
    budget = SharedBudget()
    budget.deposit(1)
    planner = PollPlanner(budget=budget)
    assert planner.spend(0.0)
    planner.unfinished(1.0)  # seen running at 1 s: its budget holds one more request, for the 5 s tick
    assert not planner.spend(BASELINE_INTERVAL - 1e-9)
    assert (planner.borrowed, budget.credit) == (0, 1)
    assert planner.spend(BASELINE_INTERVAL)
    assert planner.borrowed == 0
