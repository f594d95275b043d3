"""Fixtures for API tests: a mocked Fabric API (respx), a fake token source, recorded backoffs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import respx

from fabric_ci.api.fabric import FabricClient
from fabric_ci.api.transport import RetryPolicy, Transport

BASE = "https://api.fabric.test/v1"


class FakeTokens:
    def __init__(self) -> None:
        self.issued = 0

    def token(self, *, refresh: bool = False) -> str:
        if refresh or not self.issued:
            self.issued += 1
        return f"token-{self.issued}"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits, recorded instead of slept (tenacity sleeps through time.sleep)."""
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    return waited


@pytest.fixture
def tokens() -> FakeTokens:
    return FakeTokens()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def transport(tokens: FakeTokens, sleeps: list[float]) -> Iterator[Transport]:
    with httpx.Client() as http:
        yield Transport(http, BASE, tokens, RetryPolicy(attempts=4, total_seconds=600, wait_initial=0.5, wait_max=8))


@pytest.fixture
def client(transport: Transport) -> FabricClient:
    return FabricClient(transport)
