"""Time as the core sees it: injected everywhere something waits (retries, polling, the search
for a lost deployment), so tests and the chaos run go through hours of waiting in virtual time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SYSTEM_CLOCK", "Clock"]


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float]  # seconds, monotonic
    sleep: Callable[[float], None]


SYSTEM_CLOCK = Clock(time.monotonic, time.sleep)
