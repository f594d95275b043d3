"""Benchmark: what deploy-many's shared budget of status requests (api/polling.py SharedBudget) costs
and buys, against the same waits each on its own.

A grid of simulated deployments in virtual time (tests/support/simulated.py): durations 0.5 s to
20 s by 0.25 s and a few long ones, estimates from history (none, right, half, double, 0.8x),
1 to 30 steps, finishing evenly or front-loaded (half of them in the first tenth). The waits of a
slice draw on one budget one after another, each seeing what those before it deposited (more credit
than side by side, where only waits that already ended have deposited: an upper bound on loans).
Per slice: status requests shared against alone and against Microsoft's 5 s sample poll, requests
lent, and how much sooner in all the waits saw their ends; with the loan margin as shipped and
without it (a borrowed look aimed at the estimate's end plus its doubt). Figures, not assertions:
`make bench` (or `python -m bench.shared_budget`); under a minute.
"""

from __future__ import annotations

import argparse
import math

from tests.support.simulated import SimulatedDeployment, follow

from fabric_ci.api import polling
from fabric_ci.api.polling import BASELINE_INTERVAL, PollPlanner, SharedBudget
from fabric_ci.clock import VirtualClock

DURATIONS = [x / 4 for x in range(2, 81)] + [25, 30, 45, 61, 90, 180, 600]
ESTIMATES = {"none": None, "right": 1.0, "half": 0.5, "double": 2.0, "0.8x": 0.8}
PACES = [(0, False), (1, False), (2, False), (3, False), (6, False), (10, False), (30, False)] + [
    (steps, True) for steps in (2, 4, 6, 10, 30)
]


def one(
    budget: SharedBudget | None, duration: float, factor: float | None, steps: int, front: bool
) -> tuple[int, float]:
    """(status requests, how late the end was seen) for one wait."""
    clock = VirtualClock(0.0)
    deployment = SimulatedDeployment(clock, duration, steps or 6, show_steps=steps > 0, front=front)
    expected = duration * factor if factor is not None else None
    planner = PollPlanner(expected_duration=expected, history_uncertainty=0.05 * (expected or 0), budget=budget)
    follow(clock, deployment.fetch, planner)
    return len(deployment.polls), clock.now() - duration


def sample_requests(duration: float) -> int:
    return 1 + math.ceil(duration / BASELINE_INTERVAL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    shipped = polling.LOAN_MARGIN
    print(f"\n== shared budget: {len(DURATIONS) * len(ESTIMATES)} waits a slice, virtual time ==")
    print(f"slice (steps, finish)      alone  sample | shared, margin {shipped:.0f} s           | shared, no margin")
    totals = {"alone": 0, "sample": 0, "margin": 0, "none": 0, "margin_s": 0.0, "none_s": 0.0, "waits": 0}
    for steps, front in PACES:
        cases = [(d, f) for d in DURATIONS for f in ESTIMATES.values()]
        alone = [one(None, d, f, steps, front) for d, f in cases]
        row = {}
        for label, margin in (("margin", shipped), ("none", 0.0)):
            polling.LOAN_MARGIN = margin
            try:
                budget = SharedBudget()
                shared = [one(budget, d, f, steps, front) for d, f in cases]
            finally:
                polling.LOAN_MARGIN = shipped
            sooner = sum(a[1] - s[1] for a, s in zip(alone, shared, strict=True))
            row[label] = (sum(s[0] for s in shared), budget.lent, sooner)
            totals[label] += row[label][0]
            totals[f"{label}_s"] += sooner
        n_alone, n_sample = sum(a[0] for a in alone), sum(sample_requests(d) for d, _ in cases)
        totals["alone"] += n_alone
        totals["sample"] += n_sample
        totals["waits"] += len(cases)
        name = "no steps shown" if not steps else f"{steps} {'front-loaded' if front else 'even'}"
        cells = [
            f"{row[k][0]:5} ({row[k][0] / n_alone - 1:+.1%}), lent {row[k][1]:3}, {row[k][2]:6.1f} s sooner"
            for k in ("margin", "none")
        ]
        print(f"{name:26} {n_alone:5}  {n_sample:6} | {cells[0]} | {cells[1]}")
    waits = totals["waits"]
    for label, title in (("margin", f"margin {shipped:.0f} s"), ("none", "no margin")):
        print(
            f"all slices, {title}: {totals[label]} status requests against {totals['alone']} alone "
            f"({totals[label] / totals['alone'] - 1:+.1%}) and {totals['sample']} for the 5 s sample "
            f"({totals[label] / totals['sample']:.2f}x); {totals[f'{label}_s'] / waits:.2f} s sooner a wait"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
