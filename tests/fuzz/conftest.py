"""The fuzz run: hypothesis profiles, one emulator in virtual time behind a network guard, and the count.

Profiles (HYPOTHESIS_PROFILE): `slice` (the default, what `make test` runs: a few dozen cases per test,
about 200 in all) and `fuzz` (`make fuzz`: 1,500 per test, over 10,000 in all); FUZZ_EXAMPLES=<n> sets
the cases per test of either. FUZZ_LOG=<file> appends one line per case (runner, command, exit status,
last line written), to see what the generator reaches. Both are derandomized
(the same cases on every machine, so a failure in CI reproduces anywhere) and keep no example database.
The last line of the terminal summary is `fuzz: <cases> cases in <seconds> s`.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings

from fabric_ci import cli
from fabric_ci.emulator import Emulator, EmulatorConfig

from .harness import Harness, NetworkGuard, VirtualTime

_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": timedelta(seconds=30),
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
settings.register_profile("slice", max_examples=25, **_COMMON)
settings.register_profile("fuzz", max_examples=1500, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "slice"))
if os.environ.get("FUZZ_EXAMPLES"):  # any size in between, per test: FUZZ_EXAMPLES=300
    settings.register_profile("sized", settings.default, max_examples=int(os.environ["FUZZ_EXAMPLES"]))
    settings.load_profile("sized")

_TALLY: dict[str, float] = {"cases": 0, "seconds": 0.0}
_STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One emulator for the whole run, sharing a virtual clock with fabric-ci, behind the network guard."""
    virtual_time = VirtualTime()
    guard = NetworkGuard()
    guard.install()
    config = EmulatorConfig(operation_seconds=0.2, token_lifetime_seconds=30 * 24 * 3600)
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch, Emulator(config, clock=virtual_time.wall) as emulator:
        # Every wait of fabric-ci (retries, polling, timeouts) goes through the run's clock.
        patch.setattr(cli, "SYSTEM_CLOCK", virtual_time.clock, raising=False)
        runs = Harness(emulator, virtual_time, tmp_path_factory.mktemp("fuzz"))
        try:
            yield runs
        finally:
            guard.uninstall()
            _TALLY["cases"] += runs.cases
            _STATUSES.update(runs.statuses)
            _TALLY["seconds"] += time.perf_counter() - started


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TALLY["cases"]:
        statuses = ", ".join(f"exit {status}: {count}" for status, count in sorted(_STATUSES.items()))
        terminalreporter.write_line(f"fuzz: {int(_TALLY['cases'])} cases in {_TALLY['seconds']:.0f} s ({statuses})")
