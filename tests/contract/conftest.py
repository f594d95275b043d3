"""Contract tests: a real emulator over HTTPS, every response checked against Microsoft's spec."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from tests.support.emulator_client import EmulatorClient


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.6, retry_after=1, page_size=2)) as emu:
        yield emu


@pytest.fixture
def api(emulator: Emulator) -> Iterator[EmulatorClient]:
    client = EmulatorClient(emulator)
    yield client
    client.close()
