"""Reads side by side: what an operation must know before it acts, read up to a few at once.

Each read is a round trip (about 0.3 s on the service); one after another they are what a user
waits on before anything is deployed. deploy-many reads every entry's pipeline (and with
depends-on: auto their items and relations) this way, and each deploy its stages' items and the
pipeline's history.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["JOIN_SLICE", "read_at_once"]

A = TypeVar("A")
R = TypeVar("R")

# How often the caller looks up from the readers: bounds how late a signal or a cancel is noticed.
JOIN_SLICE = 0.2


def read_at_once(
    read: Callable[[A], R],
    args: Sequence[A],
    width: int,
    *,
    first_alone: bool = True,
    checkpoint: Callable[[], None] | None = None,
) -> list[R]:
    """`read` over `args`, up to `width` at once; the answers in `args`' order.

    Unless the caller has read something already (`first_alone` false), the first read goes alone:
    it signs in (a failing sign-in is tried once, not once a thread) and meets first any error every
    read would (a 403). After a failure no read begins; the error raised, once the reads under way
    have ended, is the first in `args`' order.

    The readers are daemon threads, which the caller joins in JOIN_SLICE slices, calling `checkpoint`
    after each (a deploy-many worker's clock.checkpoint raises Cancelled once the run is cancelled):
    a signal or a cancel is noticed at once, and a read stuck in a slow answer or the transport's
    retries (up to minutes when throttled) does not hold up the exit. Its answer is dropped.
    """
    answers: list[R] = [read(arg) for arg in args[:1]] if first_alone else []
    rest = list(args[len(answers) :])
    if width <= 1 or len(rest) <= 1:
        return answers + [read(arg) for arg in rest]
    found: dict[int, R] = {}
    failures: dict[int, BaseException] = {}
    lock, stop = threading.Lock(), threading.Event()
    indexes = iter(range(len(rest)))

    def reader() -> None:
        while not stop.is_set():
            with lock:
                index = next(indexes, None)
            if index is None:
                return
            try:
                answer = read(rest[index])
            except BaseException as error:  # raised in the caller's thread, below
                with lock:
                    failures[index] = error
                stop.set()
                return
            with lock:
                found[index] = answer

    threads = [threading.Thread(target=reader, name=f"read-{n}", daemon=True) for n in range(min(width, len(rest)))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(JOIN_SLICE)
                if checkpoint is not None:
                    checkpoint()
    finally:
        stop.set()  # on a signal or a cancel too: no read begins after it
    if failures:
        raise failures[min(failures)]
    return answers + [found[index] for index in range(len(rest))]
