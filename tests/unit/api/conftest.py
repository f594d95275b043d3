"""Fixtures for API tests: a mocked Fabric API (respx), a fake token source, recorded backoffs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from fabric_ci import clock
from fabric_ci.api.fabric import FabricClient
from fabric_ci.api.retry import Retries, RetryPolicy
from fabric_ci.api.transport import Transport

BASE = "https://api.fabric.test/v1"


class FakeTokens:
    def __init__(self) -> None:
        self.issued = 0

    def token(self, *, refresh: bool = False, rejected: str | None = None) -> str:
        if refresh or not self.issued:
            self.issued += 1
        return f"token-{self.issued}"


class VirtualClock(clock.VirtualClock):
    """Time that passes only when slept, from 0; every sleep is recorded."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.sleeps.append(seconds)


@pytest.fixture
def virtual() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sleeps(virtual: VirtualClock) -> list[float]:
    """Backoff waits, recorded instead of slept."""
    return virtual.sleeps


def retries(virtual: VirtualClock, **policy: float) -> Retries:
    return Retries(policy=RetryPolicy(**policy), clock=virtual.clock)  # type: ignore[arg-type]


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def transport(tokens: FakeTokens, virtual: VirtualClock) -> Iterator[Transport]:
    with httpx.Client() as http:
        yield Transport(
            http, BASE, tokens, retries(virtual, attempts=4, total_seconds=600, wait_initial=0.5, wait_max=8)
        )


@pytest.fixture
def client(transport: Transport) -> FabricClient:
    return FabricClient(transport)
