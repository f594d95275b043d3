"""A clock that stands still until a test moves it, for state tests that must not sleep."""

from __future__ import annotations

START = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now
