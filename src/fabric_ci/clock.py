"""Time as the core sees it: injected everywhere something waits (retries, polling, the search
for a lost deployment), so tests and the chaos run go through hours of waiting in virtual time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SYSTEM_CLOCK", "Clock", "VirtualClock"]


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float]  # seconds, monotonic
    sleep: Callable[[float], None]

    def checkpoint(self) -> None:
        """Where a cancel may stop the caller without sleeping: deploy-many's worker clocks raise
        Cancelled from every sleep once the run is cancelled, a sleep of no time too."""
        self.sleep(0)


SYSTEM_CLOCK = Clock(time.monotonic, time.sleep)


class VirtualClock:
    """Seconds since the epoch that pass only when someone sleeps: give `now` to an emulator
    (`Emulator(clock=virtual.now)`) and `clock` to fabric-ci (`cli.run(..., clock=virtual.clock)`),
    with `emulator.inprocess.EmulatorTransport`, and hours of waiting take no time."""

    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        if seconds < 0:  # real time.sleep refuses it too; a negative wait is a planning bug
            raise ValueError(f"sleep length must be non-negative, got {seconds}")
        self.t += seconds

    @property
    def clock(self) -> Clock:
        return Clock(self.now, self.sleep)
