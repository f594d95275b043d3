"""Waiting for a deployment: prompt and light at once.

A fixed poll every 5 s (what Microsoft's samples do) notices completion up to 5 s late and
sends one request per 5 s. We promise never to send more status requests than that fixed poll
would have sent by the same moment, and spend that budget where it matters:

- a token bucket holds the budget: one request's worth at the start, one more every 5 s;
- from the service's own signals (steps done of total, and how long this pipeline's recent
  deployments took) we estimate when the deployment will end;
- far from that moment we poll sparsely and save tokens; close to it we poll every second;
- with no estimate we poll every 5 s, which is exactly the fixed poll;
- we never poll sooner than the service asked (Retry-After), nor past the caller's deadline.

Clock and sleep are injected so that tests run in virtual time.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import TERMINAL_STATUSES, Progress, normalise_status

BASELINE_INTERVAL = 5.0  # the fixed poll whose request count we never exceed
FASTEST_INTERVAL = 1.0  # how often we poll when completion is imminent
LONGEST_GAP = 10.0  # the most we sleep on an estimate, in case it is wrong
TICK = 1.0  # how often a waiting progress line is refreshed (no request involved)
BUCKET_CAPACITY = 12.0  # at most a minute of saved budget
HOT_WINDOW = 0.1  # estimates are this good: within 10% of the expected total, poll every second
AIM_AFTER = 0.2  # poll this long after the expected end, so an accurate estimate needs one request


@dataclass
class PollPlanner:
    """Decides how long to wait before the next status request. Pure: times are seconds since
    the wait began, passed in by the caller."""

    expected_duration: float | None = None  # from history; None when unknown
    tokens: float = 1.0
    _last_refill: float = 0.0

    def _refill(self, now: float) -> None:
        self.tokens = min(BUCKET_CAPACITY, self.tokens + (now - self._last_refill) / BASELINE_INTERVAL)
        self._last_refill = now

    def can_spend(self, at: float) -> bool:
        """Whether the budget holds one request at time `at` (no later than the next spend)."""
        return min(BUCKET_CAPACITY, self.tokens + (at - self._last_refill) / BASELINE_INTERVAL) >= 1.0

    def spend(self, now: float) -> None:
        """Record one status request sent at `now`."""
        self._refill(now)
        self.tokens -= 1.0

    def estimate_remaining(self, now: float, progress: Progress | None) -> float | None:
        if progress is not None and progress.steps_total and progress.steps_done:
            # Extrapolate from this run's own pace, the most specific signal there is. Time is
            # counted from the start of the wait (for a deploy, the moment it was accepted), and
            # a step count is a floor, so on average half a step more is done than it says.
            done = min(progress.steps_done + 0.5, progress.steps_total)
            return now * progress.steps_total / done - now
        if self.expected_duration is not None:
            return self.expected_duration - now
        return None

    def next_delay(self, now: float, progress: Progress | None, retry_after: float | None = None) -> float:
        self._refill(now)
        remaining = self.estimate_remaining(now, progress)
        if remaining is None:
            delay = BASELINE_INTERVAL
        elif remaining <= max(FASTEST_INTERVAL, HOT_WINDOW * (now + remaining)):
            delay = FASTEST_INTERVAL  # the end is due (or overdue): look every second
        else:
            # Aim just after the expected end, but not so far ahead that a wrong guess costs much.
            delay = min(remaining + AIM_AFTER, LONGEST_GAP)
        # Never spend budget we do not have: wait until the bucket holds one request's worth.
        if self.tokens + delay / BASELINE_INTERVAL < 1.0:
            delay = (1.0 - self.tokens) * BASELINE_INTERVAL
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def expected_duration(history: Sequence[DeploymentOperation], source: str | None, target: str | None) -> float | None:
    """Median duration of this pipeline's recent successful deployments between the same stages
    (any stages if none match)."""

    def durations(ops: Sequence[DeploymentOperation]) -> list[float]:
        return [
            (op.execution_end_time - op.execution_start_time).total_seconds()
            for op in ops
            if op.status == "Succeeded" and op.execution_start_time and op.execution_end_time
        ]

    same = [op for op in history if (op.source_stage_id, op.target_stage_id) == (source, target)]
    found = durations(same) or durations(history)
    return statistics.median(found) if found else None


def progress_of(operation: DeploymentOperation, elapsed: float) -> Progress:
    steps = operation.steps
    return Progress(
        elapsed_seconds=elapsed,
        status=normalise_status(operation.status),
        steps_done=sum(1 for s in steps if normalise_status(s.status) in TERMINAL_STATUSES),
        steps_total=len(steps),
    )


class DeadlineReached(Exception):
    """The caller's timeout expired before the operation became terminal."""

    def __init__(self, last: DeploymentOperation | None) -> None:
        super().__init__("deadline reached")
        self.last = last


def wait_until_terminal(
    fetch: Callable[[], DeploymentOperation],
    *,
    planner: PollPlanner,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_progress: Callable[[Progress], None],
    first_delay: float | None = None,
) -> DeploymentOperation:
    """Poll `fetch` until the operation is Succeeded or Failed; unknown statuses keep waiting.

    `on_progress` hears after every status request and, between requests, about once a second
    with the last known state and a fresh elapsed time (so a progress line keeps ticking while we
    save requests). Those ticks cost no request.
    """
    start = clock()
    last: DeploymentOperation | None = None
    known = Progress(elapsed_seconds=0.0, status=None, steps_done=0, steps_total=0)

    def sleep_ticking(seconds: float) -> None:
        until = clock() + seconds
        while (left := until - clock()) > 0:
            sleep(min(TICK, left))
            on_progress(known.model_copy(update={"elapsed_seconds": clock() - start}))

    delay = first_delay if first_delay is not None else planner.next_delay(0.0, None)
    while True:
        now = clock() - start
        # The last poll lands on the deadline itself, so an operation that ends just before it
        # is reported as ended, not as timed out.
        final = now + delay >= timeout
        if final and not planner.can_spend(timeout):
            sleep_ticking(max(timeout - now, 0.0))  # no budget left for a last look
            raise DeadlineReached(last)
        sleep_ticking(max(timeout - now, 0.0) if final else delay)
        planner.spend(clock() - start)
        try:
            last = fetch()
        except DeadlineReached:
            raise DeadlineReached(last) from None
        now = clock() - start
        known = progress_of(last, now)
        on_progress(known)
        if known.status in TERMINAL_STATUSES:
            return last
        if final:
            raise DeadlineReached(last)
        delay = planner.next_delay(now, known)
