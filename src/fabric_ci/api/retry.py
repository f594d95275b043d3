"""The retry policy every request follows: API calls, token requests, CI OIDC requests, IMDS.

Throttling (429) and transient faults (5xx, 408, dropped connections) are retried with
exponential backoff and jitter, honouring `Retry-After`, bounded by attempts and by total time.
Both bounds are checked *before* each sleep: no sleep crosses the caller's deadline.

What no retry can fix is not retried: a certificate that does not verify fails at once, and a
refused connection (a wrong host or port) is retried only for a few seconds (`connect_seconds`),
in case the service was restarting.

A request that is not safe to replay (the deploy POST) is re-sent only when the service cannot
have acted on it: a 429 (explicitly refused) or a connection that was never established.

The loop is ours rather than a retry library's because its clock must be injectable (tests and
the chaos run wait in virtual time) and its retries reported through the runner, not a logger.
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

from fabric_ci.api.errors import retry_after_seconds
from fabric_ci.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "RETRYABLE_STATUSES",
    "Retries",
    "RetryPolicy",
    "Retrying",
    "is_certificate_failure",
    "send_with_retries",
    "worth_retrying",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    total_seconds: float = 600.0
    wait_initial: float = 1.0
    wait_max: float = 60.0
    # Refused or timed-out connections in a row: retried this long from the first of them, then reported.
    connect_seconds: float = 10.0


@dataclass(frozen=True)
class Retrying:
    """One retry about to happen: what failed, and how long we wait before the next attempt."""

    attempt: int  # the attempt that failed, from 1
    wait: float
    cause: str  # "HTTP 503", "HTTP 429", or the connection error
    throttled: bool  # a 429: the service asked us to slow down


def worth_retrying(response: httpx.Response, *, replay_safe: bool = True) -> bool:
    return response.status_code == 429 or (replay_safe and response.status_code in RETRYABLE_STATUSES)


def is_certificate_failure(exc: BaseException) -> bool:
    """The server's certificate did not verify (httpx wraps ssl's error in a ConnectError)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _never_connected(exc: httpx.TransportError) -> bool:
    # PoolTimeout: no connection of the client's pool came free, so the request never left either.
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def backoff(policy: RetryPolicy, attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: initial * 2^(attempt-1), plus up to half again, capped."""
    base = policy.wait_initial * 2.0 ** (attempt - 1)
    return min(policy.wait_max, base * (1.0 + 0.5 * rng()))


def send_with_retries(
    send: Callable[[], httpx.Response],
    policy: RetryPolicy,
    *,
    replay_safe: bool = True,
    time_left: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
    on_retry: Callable[[Retrying], None] | None = None,
    rng: Callable[[], float] = random.random,
) -> httpx.Response:
    """Call `send` until it gives a response not worth retrying, or the policy runs out.

    Returns that response, or the last retryable one when the attempts or time ran out (the
    caller turns it into an error). Raises the httpx.TransportError of the last attempt when no
    response came. `time_left` (a caller's own deadline) bounds the retries on top of the
    policy's total time: a retry whose wait would pass it is not made.
    """
    started = clock.now()
    budget = policy.total_seconds if time_left is None else min(policy.total_seconds, max(time_left, 0.0))
    give_up_at = started + budget
    connect_give_up_at: float | None = None  # set by a connection that could not be made, after an answer
    attempt = 0
    while True:
        attempt += 1
        try:
            response = send()
        except httpx.TransportError as exc:
            if is_certificate_failure(exc):
                raise  # no retry makes a certificate verify
            never_connected = _never_connected(exc)
            if not (never_connected or replay_safe):
                raise  # the request may have been acted on: the caller must find out
            wait = backoff(policy, attempt, rng)
            deadline = give_up_at
            if never_connected:
                if connect_give_up_at is None:
                    connect_give_up_at = min(clock.now() + policy.connect_seconds, give_up_at)
                deadline = connect_give_up_at
            if attempt >= policy.attempts or clock.now() + wait > deadline:
                raise
            cause = str(exc) or type(exc).__name__
            throttled = False
        else:
            connect_give_up_at = None  # the service answered: a later refusal opens a new window
            if not worth_retrying(response, replay_safe=replay_safe):
                return response
            asked = retry_after_seconds(response)
            # Never come back sooner than the service asked; if that is past our budget, stop.
            wait = asked if asked is not None else backoff(policy, attempt, rng)
            if attempt >= policy.attempts or clock.now() + wait > give_up_at:
                return response
            cause = f"HTTP {response.status_code}"
            throttled = response.status_code == 429
        if on_retry is not None:
            on_retry(Retrying(attempt=attempt, wait=wait, cause=cause, throttled=throttled))
        clock.sleep(wait)


@dataclass(frozen=True)
class Retries:
    """How one run retries: the policy, the clock its waits use, and who hears of each retry
    (`on_retry(what, retry)`, with `what` such as "GET https://host/v1/..."). Shared by the API
    transport, msal's HTTP client and the CI OIDC requests."""

    policy: RetryPolicy = RetryPolicy()
    clock: Clock = SYSTEM_CLOCK
    on_retry: Callable[[str, Retrying], None] | None = None

    def with_policy(self, policy: RetryPolicy) -> Retries:
        return replace(self, policy=policy)

    def send(
        self,
        what: str,
        send: Callable[[], httpx.Response],
        *,
        replay_safe: bool = True,
        time_left: float | None = None,
    ) -> httpx.Response:
        hear = self.on_retry
        return send_with_retries(
            send,
            self.policy,
            replay_safe=replay_safe,
            time_left=time_left,
            clock=self.clock,
            on_retry=(lambda retry: hear(what, retry)) if hear is not None else None,
        )
