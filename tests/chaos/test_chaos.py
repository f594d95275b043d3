"""A slice of the chaos run in `make test` (`make chaos` runs 500 deployments): every invariant
holds while about a quarter of all requests fail the way the service fails."""

from __future__ import annotations

import pytest

from tests.chaos.harness import iter_problems, run_chaos


@pytest.mark.parametrize("seed", [1, 2])
def test_faults_never_duplicate_hide_or_crash_a_deployment(seed: int) -> None:
    """60 deployments over both APIs, with and without wait, ~24% of requests faulted: no duplicate,
    no deployment without its id, no traceback, every failure names its fault, every success is right."""
    report = run_chaos(60, seed)
    assert report.faulted_share >= 0.2, report.lines()
    assert list(iter_problems(report)) == [], report.lines()
    assert report.duplicates == 0
    assert report.right >= 40, report.lines()  # most survive the faults; the rest failed, naming them
