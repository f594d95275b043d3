"""A deployment simulated in virtual time, and a wait on it: for the poll planner's tests and for
bench/shared_budget.py."""

from __future__ import annotations

import math
from collections.abc import Callable

from fabric_ci.api.polling import PollPlanner, wait_until_terminal
from fabric_ci.clock import VirtualClock
from fabric_ci.models.resources import DeploymentOperation
from fabric_ci.models.results import Progress


class SimulatedDeployment:
    """Steps finish evenly over `duration` (`front`: half of them in its first tenth, the rest evenly
    after, as when quick items go first); the operation is terminal at exactly `duration`."""

    def __init__(
        self, clock: VirtualClock, duration: float, steps: int = 6, show_steps: bool = True, front: bool = False
    ) -> None:
        self.clock, self.duration, self.steps, self.show_steps, self.front = clock, duration, steps, show_steps, front
        self.polls: list[float] = []

    def _done(self, t: float) -> int:
        if not self.front:
            return min(self.steps, math.floor(self.steps * t / self.duration))
        half, early = self.steps // 2, 0.1 * self.duration
        if t < early:
            return math.floor(half * t / early)
        return min(self.steps, half + math.floor((self.steps - half) * (t - early) / (self.duration - early)))

    def fetch(self) -> DeploymentOperation:
        t = self.clock.now()
        self.polls.append(t)
        done = self._done(t)
        status = "Succeeded" if t >= self.duration else "Running"
        steps = [
            {"index": i, "status": "Succeeded" if i < done or status == "Succeeded" else "NotStarted"}
            for i in range(self.steps)
        ]
        body = {"id": "d", "status": status, "executionPlan": {"steps": steps if self.show_steps else []}}
        return DeploymentOperation.model_validate(body)


def follow(
    clock: VirtualClock,
    fetch: Callable[[], DeploymentOperation],
    planner: PollPlanner | None = None,
    *,
    timeout: float = 3600,
    on_progress: Callable[[Progress], None] = lambda _p: None,
) -> DeploymentOperation:
    """wait_until_terminal in virtual time."""
    return wait_until_terminal(
        fetch,
        planner=planner or PollPlanner(),
        timeout=timeout,
        clock=clock.now,
        sleep=clock.sleep,
        on_progress=on_progress,
    )
