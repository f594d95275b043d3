"""End-to-end harness: a real emulator, and fabric-ci run as a real subprocess the way the
GitHub runner runs a Docker action (INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
files, GITHUB_ACTIONS=true)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from tests.support.fabric_spec import assert_log_conforms
from tests.support.github_runner import parse_output_file


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator per test. Afterwards, every request fabric-ci sent and every answer it got
    is checked against Microsoft's spec, so each end-to-end test is also a contract test."""
    with Emulator(EmulatorConfig(operation_seconds=1.5, retry_after=1, page_size=2)) as emu:
        yield emu
        assert_log_conforms(emu.requests)


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    output_file: str
    summary: str

    def commands(self, name: str) -> list[str]:
        """The workflow commands of one kind (e.g. `error`), as `properties::message` strings."""
        found = []
        for line in self.stdout.splitlines():
            match = re.match(rf"^::{name}(?: (?P<props>[^:]*))?::(?P<msg>.*)$", line)
            if match:
                found.append(f"{match['props'] or ''}::{match['msg']}")
        return found

    @property
    def errors(self) -> list[str]:
        return self.commands("error")


def step_env(inputs: dict[str, str], tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_", "RUNNER_", "FABRIC_CI_"))}
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    summary.touch()
    env.update(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


RunStep = Callable[..., StepRun]


@pytest.fixture
def run_step(emulator: Emulator, tmp_path: Path) -> RunStep:
    """Run `fabric-ci <command>` as a GitHub Docker action step would, pointed at the emulator."""
    counter = iter(range(1000))

    def run(
        command: str, inputs: dict[str, str], *, connect: bool = True, env: dict[str, str] | None = None
    ) -> StepRun:
        folder = tmp_path / f"step{next(counter)}"
        folder.mkdir()
        given = {**(emulator.inputs() if connect else {}), **inputs}
        given = {k: v for k, v in given.items() if v is not None}
        proc = subprocess.run(
            [sys.executable, "-m", "fabric_ci", command],
            env=step_env(given, folder, env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output_text = (folder / "github_output").read_text()
        return StepRun(
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            outputs=parse_output_file(output_text),
            output_file=output_text,
            summary=(folder / "step_summary").read_text(),
        )

    return run


def items_of(run: StepRun) -> list[dict[str, str]]:
    return list(json.loads(run.outputs["deployed-items"]))
