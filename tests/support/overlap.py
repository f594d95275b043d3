"""A read that overlaps others: for the tests of reads side by side (operations/reads.py)."""

from __future__ import annotations

import threading
import time


class Overlap:
    """A read that takes `seconds` and records how many such reads were under way at once."""

    def __init__(self, seconds: float = 0.2, fail: set[int] | None = None) -> None:
        self.seconds, self.fail = seconds, fail or set()
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.begun: list[int] = []

    def __call__(self, arg: int) -> int:
        with self.lock:
            self.begun.append(arg)
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self.seconds)
        with self.lock:
            self.now -= 1
        if arg in self.fail:
            raise RuntimeError(f"read {arg} failed")
        return arg * 10
