"""The runner interface: everything that differs between GitHub Actions, Azure Pipelines and a
terminal. A runner is also the operations' Reporter. What the runners do alike (secret registration,
redaction, the order of a failure's reports, progress throttling) is written once, in step.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fabric_ci.errors import FabricCiError
from fabric_ci.models.results import Result
from fabric_ci.operations.reporter import Reporter


class Runner(Reporter, Protocol):
    def read_inputs(self, names: Sequence[str]) -> dict[str, str]:
        """Raw values of the named inputs (kebab-case names) that were given, trimmed.
        Inputs that were not given or are empty are left out."""

    def publish(self, result: Result) -> None:
        """The command succeeded: write outputs and the summary."""

    def fail(self, error: FabricCiError, result: Result | None = None) -> None:
        """The command failed: annotate the error, and write whatever outputs and summary the
        partial result allows (a failed or timed-out deployment still has an operation id)."""
