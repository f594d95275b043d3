"""Waiting for a deployment: prompt and light at once.

A fixed poll every 5 s (what Microsoft's samples do: a status request right after the deploy
answer, then one every 5 s) notices the end up to 5 s late. We promise never to send more status
requests for a deployment than that poll would, and spend the budget where it matters.

The budget is a proof, not a guess: once we have seen the deployment unfinished at elapsed time
L, the fixed poll is certain to send at least floor(L / 5) + 2 requests (those at 0, 5, ... up to
L, all of which saw it unfinished, and one more that sees the end). So we may send that many. The
last request the proof allows is never sent before the fixed poll's next tick, so that an
unfinished answer to it extends the proof; every other request may be sent whenever it helps.

- From the service's own signals (steps done of total, and how long this pipeline's recent
  deployments between the same stages took) we estimate when the deployment will end;
- far from that moment we poll sparsely and save budget; close to it we poll every second;
- with no estimate we look once after a second (short deployments end there), then on the
  fixed poll's ticks;
- a 429's Retry-After is honoured by the transport; no sleep passes the caller's deadline.

Clock and sleep are injected so that tests run in virtual time.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import TERMINAL_STATUSES, Progress, normalise_status

BASELINE_INTERVAL = 5.0  # the fixed poll whose request count we never exceed
FASTEST_INTERVAL = 1.0  # how soon we look again once the expected end has passed
FIRST_LOOK = 1.0  # with nothing to go on, the first look: many deployments are over by then
TICK = 1.0  # how often a waiting progress line is refreshed (no request involved)
LONGEST_GAP = 30.0  # the most we sleep on any estimate: a step that fails ends a deployment early
AIM_AFTER = 0.2  # poll this long after the expected end, so an accurate estimate needs one request


@dataclass
class PollPlanner:
    """Decides how long to wait before the next status request. Pure: times are seconds since
    the wait began (for a deploy, since it was accepted), passed in by the caller."""

    expected_duration: float | None = None  # from history; None when unknown
    sent: int = 0  # status requests sent so far
    seen_unfinished_at: float = 0.0  # the latest time an answer showed it unfinished (accepted at 0)
    _last_answer_at: float = 0.0
    # (steps done, after the answer at, by the answer at): when each rise in the count happened.
    _rises: list[tuple[int, float, float]] = field(default_factory=list)

    def _tick(self) -> float:
        """The fixed poll's next tick after the latest unfinished sighting."""
        return BASELINE_INTERVAL * (math.floor(self.seen_unfinished_at / BASELINE_INTERVAL) + 1)

    def _allowed(self) -> int:
        """Requests the fixed poll is certain to send for this deployment, as far as we know."""
        return math.floor(self.seen_unfinished_at / BASELINE_INTERVAL) + 2

    def can_spend(self, at: float, *, last: bool = False) -> bool:
        """Whether a status request sent at `at` stays within the budget. The `last` one (at the
        deadline) needs no answer to extend the proof, so it need not wait for the tick."""
        if self.sent + 1 < self._allowed():
            return True
        return self.sent + 1 == self._allowed() and (last or at >= self._tick())

    def spend(self, now: float) -> None:
        """Record one status request sent at `now`."""
        self.sent += 1

    def unfinished(self, sent_at: float) -> None:
        """The answer to the request sent at `sent_at` showed the deployment still going."""
        self.seen_unfinished_at = max(self.seen_unfinished_at, sent_at)

    def _track(self, now: float, progress: Progress | None) -> None:
        """Note when the count of finished steps went up: between the previous answer and this one."""
        done = progress.steps_done if progress is not None else 0
        if done > (self._rises[-1][0] if self._rises else 0):
            self._rises.append((done, self._last_answer_at, now))
        self._last_answer_at = now

    def _paced_end(self, total: int) -> float | None:
        """When the last step should finish, at the pace the steps so far kept: a line through
        (steps done, time), each rise placed midway between the answers around it; with one rise,
        through the start (0 steps at time 0)."""
        if not self._rises or not total:
            return None
        points = [(float(done), (after + by) / 2) for done, after, by in self._rises]
        if len(points) == 1:
            points.insert(0, (0.0, 0.0))
        mean_k = statistics.fmean(k for k, _ in points)
        mean_t = statistics.fmean(t for _, t in points)
        spread = sum((k - mean_k) ** 2 for k, _ in points)
        per_step = sum((k - mean_k) * (t - mean_t) for k, t in points) / spread
        return mean_t + (total - mean_k) * max(per_step, 0.0)

    def estimate_remaining(self, now: float, progress: Progress | None) -> float | None:
        """Seconds until the expected end (negative once it has passed), or None with nothing to go on.

        Two signals: this run's own step pace, and how long recent deployments between the same
        stages took. The earlier end still to come is trusted (each catches the other being too
        late); once both have passed, the later one says by how much the end is overdue."""
        estimates = []
        paced = self._paced_end(progress.steps_total) if progress is not None else None
        if paced is not None:
            estimates.append(paced - now)
        if self.expected_duration is not None:
            estimates.append(self.expected_duration - now)
        if not estimates:
            return None
        ahead = [e for e in estimates if e > 0]
        return min(ahead) if ahead else max(estimates)

    def next_delay(self, now: float, progress: Progress | None) -> float:
        self._track(now, progress)
        remaining = self.estimate_remaining(now, progress)
        if remaining is None:
            # Nothing to go on: one early look, then the fixed poll's ticks (the budget's floor).
            delay = FIRST_LOOK if self.sent == 0 else 0.0
        elif remaining <= 0:
            # Overdue: look again soon, then less often the longer the estimate has been wrong.
            delay = min(max(FASTEST_INTERVAL, -remaining / 2), BASELINE_INTERVAL)
        elif remaining <= 2 * BASELINE_INTERVAL:
            delay = remaining + AIM_AFTER  # near: aim just after the expected end
        else:
            # Far: halve the distance to the expected end, so a wrong estimate is found out early.
            delay = remaining / 2
        # Never sleep longer than we have waited so far (at least the sample's 5 s): a young
        # deployment may be a short one whatever the estimate says, and this bounds how late a
        # wrong estimate makes us to the deployment's own duration.
        delay = min(delay, max(BASELINE_INTERVAL, now), LONGEST_GAP)
        if not self.can_spend(now + delay):
            delay = self._tick() - now  # the last request the budget allows waits for the tick
        return max(delay, 0.0)


def expected_duration(history: Sequence[DeploymentOperation], source: str | None, target: str | None) -> float | None:
    """Median duration of this pipeline's recent successful deployments between the same stages.

    Other stages are no guide (a Test -> Production run may take ten times a Development -> Test
    one), so without same-stage history there is no estimate."""
    found = [
        (op.execution_end_time - op.execution_start_time).total_seconds()
        for op in history
        if (op.source_stage_id, op.target_stage_id) == (source, target)
        and op.status == "Succeeded"
        and op.execution_start_time
        and op.execution_end_time
    ]
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
    last: DeploymentOperation | None = None,
) -> DeploymentOperation:
    """Poll `fetch` until the operation is Succeeded or Failed; unknown statuses keep waiting.

    `last` is an answer the caller already had (counted in the planner). `on_progress` hears after
    every status request and, between requests, about once a second with the last known state and
    a fresh elapsed time (so a progress line keeps ticking while we save requests). Those ticks
    cost no request.
    """
    start = clock()
    known = Progress(elapsed_seconds=0.0, status=None, steps_done=0, steps_total=0)
    if last is not None:
        known = progress_of(last, 0.0)

    def sleep_ticking(seconds: float) -> None:
        until = clock() + seconds
        while (left := until - clock()) > 0:
            sleep(min(TICK, left))
            on_progress(known.model_copy(update={"elapsed_seconds": clock() - start}))

    delay = planner.next_delay(0.0, known if last is not None else None)
    while True:
        now = clock() - start
        # The last poll lands on the deadline itself, so an operation that ends just before it
        # is reported as ended, not as timed out.
        final = now + delay >= timeout
        if final and not planner.can_spend(timeout, last=True):
            sleep_ticking(max(timeout - now, 0.0))  # no budget left for a last look
            raise DeadlineReached(last)
        sleep_ticking(max(timeout - now, 0.0) if final else delay)
        sent_at = clock() - start
        planner.spend(sent_at)
        try:
            last = fetch()
        except DeadlineReached:
            raise DeadlineReached(last) from None
        now = clock() - start
        known = progress_of(last, now)
        on_progress(known)
        if known.status in TERMINAL_STATUSES:
            return last
        planner.unfinished(sent_at)
        if final:
            raise DeadlineReached(last)
        delay = planner.next_delay(now, known)
