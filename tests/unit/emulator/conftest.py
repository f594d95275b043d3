"""Emulators for the sign-in tests: one shared per module, and fresh ones on a clock tests can move."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import httpx
import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from tests.unit.emulator.helpers import MsalHttp


class ShiftableClock:
    """Real time plus an offset: msal signs with the real clock, and tests jump ahead without sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.3)) as emu:
        yield emu


@pytest.fixture
def clock() -> ShiftableClock:
    return ShiftableClock()


@pytest.fixture
def fresh_emulator(clock: ShiftableClock) -> Iterator[Emulator]:
    """An emulator of the test's own, for tests that configure it or move its clock."""
    with Emulator(EmulatorConfig(operation_seconds=0.3), clock=clock) as emu:
        yield emu


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path), timeout=10) as client:
        yield client


@pytest.fixture
def fresh_http(fresh_emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=fresh_emulator.ca_path), timeout=10) as client:
        yield client


@pytest.fixture
def msal_http(emulator: Emulator, http: httpx.Client) -> MsalHttp:
    return MsalHttp(http, emulator)


@pytest.fixture
def fresh_msal_http(fresh_emulator: Emulator, fresh_http: httpx.Client) -> MsalHttp:
    return MsalHttp(fresh_http, fresh_emulator)
