"""Fixtures for runner tests: a clean GitHub step environment and predictable tokens."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class GitHubStep:
    output: Path
    summary: Path


@pytest.fixture
def github_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GitHubStep:
    """A step environment as the runner makes it: empty output and summary files, no INPUT_*."""
    for name in list(os.environ):
        if name.startswith(("INPUT_", "GITHUB_", "RUNNER_")):
            monkeypatch.delenv(name)
    step = GitHubStep(output=tmp_path / "output", summary=tmp_path / "step_summary")
    step.output.write_text("")
    step.summary.write_text("")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(step.output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step.summary))
    return step


@pytest.fixture
def tokens() -> Callable[[], str]:
    """Predictable tokens: t1, t2, ... in the order the runner asks for them."""
    counter = itertools.count(1)
    return lambda: f"t{next(counter)}"
