"""Waiting for a deployment: prompt and light at once.

A fixed poll every 5 s (what Microsoft's samples do: a status request right after the deploy
answer, then one every 5 s) notices the end up to 5 s late. We promise never to send more status
requests for a deployment than that poll would (for waits sharing a budget, below: for them all
together), and spend the budget where it matters.

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

Waits that run side by side (deploy-many's) may share a SharedBudget: a wait that saw its end
with requests to spare (an accurate estimate needs one where the fixed poll sends two) deposits
them, and a wait whose estimate puts its end, doubt and a second's margin included, before its own
budget lets it look (the fixed poll's next tick) may borrow one, to look then (never a wait already
overdue: its estimate no longer says when). The sum stays within the sum of the proofs, so N waits
cost no more requests than N fixed polls: that is the guarantee. Against the same waits each on its
own, a loan that finds the end replaces the look at the tick (the same count, sooner); one that
finds the deployment still running adds a request. bench/shared_budget.py measures both over a grid
of durations, estimates and step paces: 1.0% more requests than alone (at most 0.2% where steps
finish evenly or are not shown, up to 3.5% where they finish front-loaded and the pace misleads),
0.75x the fixed polls', for 0.24 s sooner a wait. No status request can serve two deployments (neither API
reads several in one request), so sharing buys time, never fewer requests.

Clock and sleep are injected so that tests run in virtual time.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import TERMINAL_STATUSES, Progress, normalise_status

BASELINE_INTERVAL = 5.0  # the fixed poll whose request count we never exceed
FASTEST_INTERVAL = 1.0  # how soon we look again once the expected end has passed
FIRST_LOOK = 1.0  # with nothing to go on, the first look: many deployments are over by then
TICK = 1.0  # how often a waiting progress line is refreshed (no request involved)
LONGEST_GAP = 30.0  # the most we sleep on any estimate: a step that fails ends a deployment early
FAR_STEP = 0.7  # far from the expected end, go this share of the way before looking again
OVERDUE_BACKOFF = 0.1  # once overdue, look again after this share of the time overdue (1 s to 5 s)
RECENT_HISTORY = 5  # how many recent same-stage deployments estimate this one
AIM_AFTER = 0.2  # poll this long after the expected end, so an accurate estimate needs one request
LOAN_MARGIN = 1.0  # a borrowed look goes this long after the estimate's end plus its doubt


class SharedBudget:
    """Status requests the waits of one run lend each other: deposited by a wait that saw its
    deployment end having sent fewer than its proof allowed, borrowed one at a time by a wait whose
    estimate says its end comes before its own budget lets it look. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credit = 0
        self.deposited = 0  # in all, for the log and the bench
        self.lent = 0

    @property
    def credit(self) -> int:
        with self._lock:
            return self._credit

    def deposit(self, requests: int) -> None:
        with self._lock:
            self._credit += requests
            self.deposited += requests

    def borrow(self) -> bool:
        """Take one request if one is there; False if another wait took the last."""
        with self._lock:
            if self._credit <= 0:
                return False
            self._credit -= 1
            self.lent += 1
            return True


@dataclass
class PollPlanner:
    """Decides how long to wait before the next status request. Pure: times are seconds since
    the wait began (for a deploy, since it was accepted), passed in by the caller."""

    expected_duration: float | None = None  # from history; None when unknown
    history_uncertainty: float = 0.0  # how far recent same-stage durations stray from it
    sent: int = 0  # status requests sent so far, borrowed ones included
    budget: SharedBudget | None = None  # shared with waits running beside this one, if any
    borrowed: int = 0  # of `sent`, how many the shared budget paid for
    _borrowed_in: int = -1  # the fixed poll's interval of the last borrowed request: one per interval
    _loan_planned: bool = False  # whether next_delay planned the next look as a borrowed one
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
        """Whether a status request sent at `at` stays within this wait's own budget. The `last` one
        (at the deadline) needs no answer to extend the proof, so it need not wait for the tick."""
        own = self.sent - self.borrowed
        if own + 1 < self._allowed():
            return True
        return own + 1 == self._allowed() and (last or at >= self._tick())

    def may_borrow(self, at: float) -> bool:
        """Whether a request at `at` could be borrowed: a shared budget with credit, and none
        borrowed yet in this interval of the fixed poll (so that one wait whose estimate keeps
        being wrong does not drain what the others saved)."""
        interval = math.floor(at / BASELINE_INTERVAL)
        return self.budget is not None and interval != self._borrowed_in and self.budget.credit > 0

    def spend(self, at: float = 0.0, *, last: bool = False) -> bool:
        """Record one status request about to be sent at `at`, on this wait's own budget or else
        borrowed. False (nothing recorded) when neither allows it: another wait took the credit
        this one planned to borrow."""
        planned, self._loan_planned = self._loan_planned, False
        if not self.can_spend(at, last=last):
            # Only a look next_delay planned as a loan borrows: one planned for the tick that comes out a
            # hair before it (float arithmetic on a large monotonic clock) waits the hair instead.
            if not (planned and self.may_borrow(at) and self.budget is not None and self.budget.borrow()):
                return False
            self.borrowed += 1
            self._borrowed_in = math.floor(at / BASELINE_INTERVAL)
        self.sent += 1
        return True

    def settle(self) -> None:
        """The deployment's end was seen: what this wait's own budget did not use goes to the
        shared budget. (Only then: a wait that timed out proves less about the fixed poll.)"""
        if self.budget is not None:
            self.budget.deposit(max(self._allowed() - (self.sent - self.borrowed), 0))

    def unfinished(self, sent_at: float) -> None:
        """The answer to the request sent at `sent_at` showed the deployment still going."""
        self.seen_unfinished_at = max(self.seen_unfinished_at, sent_at)

    def _track(self, now: float, progress: Progress | None) -> None:
        """Note when the count of finished steps went up: between the previous answer and this one."""
        done = progress.steps_done if progress is not None else 0
        if done > (self._rises[-1][0] if self._rises else 0):
            self._rises.append((done, self._last_answer_at, now))
        self._last_answer_at = now

    def _paced_end(self, total: int) -> tuple[float, float] | None:
        """When the last step should finish at the pace the steps so far kept, and how uncertain
        that is: a line through (steps done, time) for each rise of the count (with one rise,
        through the start: 0 steps at time 0); the latest rise is known only to within its share
        of the bracket around it, an error the steps still to run multiply."""
        if not self._rises or not total:
            return None
        # Where the latest of the steps that finished between two answers did: with j of them in
        # the bracket, about half a step (a j-th of the bracket) before the later answer.
        points = []
        previous = 0
        for done, after, by in self._rises:
            points.append((float(done), by - (by - after) / (2 * (done - previous))))
            previous = done
        if len(points) == 1:
            points.insert(0, (0.0, 0.0))
        mean_k = statistics.fmean(k for k, _ in points)
        mean_t = statistics.fmean(t for _, t in points)
        spread = sum((k - mean_k) ** 2 for k, _ in points)
        per_step = max(sum((k - mean_k) * (t - mean_t) for k, t in points) / spread, 0.0)
        done, after, by = self._rises[-1]
        jumped = done - (self._rises[-2][0] if len(self._rises) > 1 else 0)
        return mean_t + (total - mean_k) * per_step, (by - after) / (2 * jumped) * total / done

    def estimate_remaining(self, now: float, progress: Progress | None) -> tuple[float, float] | None:
        """Seconds until the expected end (negative once it has passed) and how uncertain that
        is, or None with nothing to go on.

        Two signals, each with its uncertainty: this run's own step pace, and how long recent
        deployments between the same stages took. Of the ends still to come, the surer one is
        trusted, unless the other comes sooner by more than that one's own uncertainty (then the
        two disagree, and the sooner is checked first). Once both have passed, the later one says
        by how much the end is overdue."""
        candidates = []
        paced = self._paced_end(progress.steps_total) if progress is not None else None
        if paced is not None:
            candidates.append(paced)
        if self.expected_duration is not None:
            candidates.append((self.expected_duration, self.history_uncertainty))
        if not candidates:
            return None
        ahead = [(end, doubt) for end, doubt in candidates if end > now]
        if not ahead:
            end, doubt = max(candidates)
            return end - now, doubt
        end, doubt = min(ahead, key=lambda c: c[1])
        soonest = min(ahead)
        if soonest[0] < end - doubt:
            end, doubt = soonest
        return end - now, doubt

    def next_delay(self, now: float, progress: Progress | None) -> float:
        self._track(now, progress)
        self._loan_planned = False
        estimate = self.estimate_remaining(now, progress)
        if estimate is None:
            # Nothing to go on: one early look, then the fixed poll's ticks (the budget's floor).
            delay = FIRST_LOOK if self.sent == 0 else 0.0
        else:
            remaining, doubt = estimate
            if remaining <= 0:
                # Overdue: look again soon, then less often the longer the estimate has been wrong.
                delay = min(max(FASTEST_INTERVAL, -remaining * OVERDUE_BACKOFF), BASELINE_INTERVAL)
            elif remaining <= 2 * BASELINE_INTERVAL:
                delay = remaining + AIM_AFTER  # near: aim just after the expected end
            else:
                # Far: go most of the way to the expected end, but not past the earliest the end
                # may plausibly come, so a wrong estimate is found out early.
                delay = min(remaining * FAR_STEP, max(remaining - doubt, BASELINE_INTERVAL))
        # Never sleep longer than we have waited so far (at least the sample's 5 s): a young
        # deployment may be a short one whatever the estimate says, and this bounds how late a
        # wrong estimate makes us to the deployment's own duration.
        delay = min(delay, max(BASELINE_INTERVAL, now), LONGEST_GAP)
        if self._borrowed_in == math.floor(self.seen_unfinished_at / BASELINE_INTERVAL):
            # A borrowed look saw it unfinished: the look alone would have made at the tick is still
            # made there, whatever the borrowed answer did to the estimate (else the loan made it later).
            delay = min(delay, self._tick() - now)
        if not self.can_spend(now + delay):
            tick = self._tick() - now
            # The last request the budget allows waits for the tick, unless an estimate puts the end
            # ahead and before it, with its doubt and a margin, and another wait has a request to lend
            # (spend() borrows it then). The borrowed look goes where the estimate is sure the end has
            # come (its end plus its doubt plus LOAN_MARGIN), not just after the likeliest end: a
            # borrowed look that finds the deployment unfinished costs a request the wait alone would
            # not have sent (the bench's cold round: a one-step pace put an end at 1.5 s +- 1.5 s, a
            # look at 1.7 s found it running; the doubt is a bracket's, and uneven steps stray past it).
            # For the same reason an overdue wait never borrows: its estimate is wrong already, and no
            # longer says when the end comes.
            near = estimate is not None and 0 < estimate[0] <= 2 * BASELINE_INTERVAL
            if near and estimate is not None:
                delay = max(delay, estimate[0] + estimate[1] + LOAN_MARGIN)
            if not near or delay >= tick or not self.may_borrow(now + delay):
                delay = tick
            else:
                self._loan_planned = True
        return max(delay, 0.0)

    def until_tick(self, now: float) -> float:
        """How long until this wait's own budget allows its next request."""
        return max(self._tick() - now, 0.0)


def expected_duration(
    history: Sequence[DeploymentOperation], source: str | None, target: str | None
) -> tuple[float, float] | None:
    """Median duration of this pipeline's recent successful deployments between the same stages,
    and how far they stray from it (half their range, at least 5% of the median).

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
    recent = found[:RECENT_HISTORY]  # newest first: what this pipeline is like now
    if not recent:
        return None
    median = statistics.median(recent)
    return median, max((max(recent) - min(recent)) / 2, 0.05 * median)


def progress_of(operation: DeploymentOperation, elapsed: float) -> Progress:
    steps = operation.steps
    return Progress(
        elapsed_seconds=elapsed,
        status=normalise_status(operation.status),
        steps_done=sum(1 for s in steps if normalise_status(s.status) in TERMINAL_STATUSES),
        steps_total=len(steps),
    )


class DeadlineReached(Exception):
    """The caller's timeout expired before the operation became terminal. `error`: why the last
    status requests got no answer, if they did not."""

    def __init__(self, last: DeploymentOperation | None, error: Exception | None = None) -> None:
        super().__init__("deadline reached")
        self.last = last
        self.error = error


class NoAnswer(Exception):
    """A status request got no usable answer (an outage outlasted its retries): the wait goes on
    to its deadline, no sooner than `retry_after`, and says why at the end if it comes to that."""

    def __init__(self, error: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


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
    error: Exception | None = None
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
            raise DeadlineReached(last, error)
        sleep_ticking(max(timeout - now, 0.0) if final else delay)
        sent_at = clock() - start
        # The last look at the deadline always fits this wait's own budget (its last own request is
        # kept for a tick, and an unfinished answer there raises the allowance): it is never borrowed.
        if not planner.spend(sent_at, last=final):
            delay = planner.until_tick(sent_at)  # the credit this look was to borrow went to another wait
            continue
        try:
            last = fetch()
        except DeadlineReached:
            raise DeadlineReached(last, error) from None
        except NoAnswer as missing:
            error = missing.error
            if final:
                raise DeadlineReached(last, error) from None
            # Its end not seen, as for the sample polling through the same outage; at the earliest
            # when the service asked, and never in a tight loop.
            planner.unfinished(sent_at)
            now = clock() - start
            known_or_none = known if last is not None else None
            delay = max(planner.next_delay(now, known_or_none), missing.retry_after or 0.0, FASTEST_INTERVAL)
            continue
        error = None
        now = clock() - start
        known = progress_of(last, now)
        on_progress(known)
        if known.status in TERMINAL_STATUSES:
            planner.settle()
            return last
        planner.unfinished(sent_at)
        if final:
            raise DeadlineReached(last, error)
        delay = planner.next_delay(now, known)
