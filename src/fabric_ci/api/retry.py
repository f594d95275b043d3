"""The retry policy every request follows: API calls, token requests, CI OIDC requests, IMDS.

Throttling (429) and transient faults (5xx, 408, connection errors) are retried with
exponential backoff, honouring `Retry-After`, bounded by attempts and by total time. A request
that is not safe to replay (the deploy POST) is re-sent only when the service cannot have acted
on it: a 429 (explicitly refused) or a connection that was never established.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import stamina

from fabric_ci.api.errors import retry_after_seconds

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    total_seconds: float = 600.0
    wait_initial: float = 1.0
    wait_max: float = 60.0


class _Retry(Exception):
    """Internal: a response worth retrying, carrying how long the service asked us to wait."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def worth_retrying(response: httpx.Response, *, replay_safe: bool = True) -> bool:
    return response.status_code == 429 or (replay_safe and response.status_code in RETRYABLE_STATUSES)


def send_with_retries(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    replay_safe: bool = True,
    time_left: float | None = None,
) -> httpx.Response:
    """Call `send` until it gives a response not worth retrying, or the policy runs out.

    Returns that response, or the last retryable one when the attempts or time ran out (the
    caller turns it into an error). Raises the httpx.TransportError of the last attempt when no
    response came. `time_left` (a caller's own deadline) bounds the retries on top of the
    policy's total time: a retry that would wait past it is not made.
    """
    budget = policy.total_seconds if time_left is None else min(policy.total_seconds, max(time_left, 0.0))
    give_up_at = time.monotonic() + budget

    def backoff(exc: Exception) -> bool | float:
        if isinstance(exc, _Retry):
            wait = retry_after_seconds(exc.response)
            if wait is None:
                return True
            # Never come back sooner than the service asked; if that is past our budget, stop.
            return wait if time.monotonic() + wait <= give_up_at else False
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return True  # the request never left: safe even for a deploy
        return replay_safe and isinstance(exc, httpx.TransportError)

    try:
        for attempt in stamina.retry_context(
            on=backoff,
            # No time left (a last look at a deadline): one attempt, no retries.
            attempts=policy.attempts if budget > 0 else 1,
            timeout=budget if budget > 0 else None,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
        ):
            with attempt:
                response = send()
                if worth_retrying(response, replay_safe=replay_safe):
                    raise _Retry(response)
    except _Retry as exhausted:
        return exhausted.response
    return response
