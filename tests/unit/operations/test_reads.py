"""read_at_once: reads side by side, in order, stopped by a failure or a cancel."""

from __future__ import annotations

import time

import pytest

from fabric_ci.errors import Cancelled
from fabric_ci.operations.reads import read_at_once
from tests.support.overlap import Overlap


@pytest.mark.parametrize(("width", "first_alone", "most"), [(1, True, 1), (3, True, 3), (32, True, 6), (32, False, 7)])
def test_reads_go_out_side_by_side_up_to_the_width_and_answer_in_order(
    width: int, first_alone: bool, most: int
) -> None:
    """The first read alone (it signs in) unless the run has read already, then up to `width` at once;
    the answers in order."""
    read = Overlap()
    assert read_at_once(read, list(range(7)), width, first_alone=first_alone) == [0, 10, 20, 30, 40, 50, 60]
    assert read.begun[0] == 0 or not first_alone
    assert read.most == most


def test_a_failing_first_read_is_the_only_one() -> None:
    """A failure every read would meet (a sign-in that fails, a 403) is met once, not once a thread."""
    read = Overlap(fail={0})
    with pytest.raises(RuntimeError, match="read 0 failed"):
        read_at_once(read, list(range(20)), 8)
    assert read.begun == [0]


def test_after_a_failure_no_read_begins_and_the_first_failure_in_order_is_raised() -> None:
    """Reads 3 and 4 fail side by side: 3's error is raised, whichever came first, once every read under
    way has ended; the reads not begun never are."""
    read = Overlap(fail={3, 4})
    with pytest.raises(RuntimeError, match="read 3 failed"):
        read_at_once(read, list(range(20)), 4)
    assert read.now == 0
    assert len(read.begun) < 20


def test_a_checkpoint_that_raises_stops_the_caller_at_once_and_no_read_begins() -> None:
    """deploy-many's cancel reaches an entry reading its stages: the caller's checkpoint raises between
    join slices, the caller leaves without waiting for the slow reads, and no read begins after it."""
    read = Overlap(seconds=0.5)
    calls = 0

    def checkpoint() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Cancelled(2)

    began = time.monotonic()
    with pytest.raises(Cancelled):
        read_at_once(read, list(range(8)), 2, first_alone=False, checkpoint=checkpoint)
    assert time.monotonic() - began < 0.5  # before the reads under way answered
    time.sleep(1.0)  # they have answered now: had the readers gone on, reads 2 and 3 would have begun
    assert read.begun == [0, 1]
