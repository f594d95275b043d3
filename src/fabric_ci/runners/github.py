"""The GitHub Actions runner: INPUT_* in; workflow commands, file-command outputs and a job summary out.

Formats follow actions/runner byte for byte (see runner-protocols.md in the shared docs). actions-toolkit is
used for what it gets right (reading inputs, formatting and escaping commands); three of its
defects are worked around here:

- its commands always go to `sys.stdout`, so commands are formatted with its `Command` and
  written to our own stream (tests capture it, and order with our other lines is kept);
- `core.error/warning/notice` with properties emit every property, even empty ones, so
  annotations are issued with the non-empty properties only;
- `core.set_output` falls back to the deprecated `::set-output` when GITHUB_OUTPUT is unset,
  and `prepare_key_value_message` draws its own delimiter; outputs are written here through
  the heredoc file command with an injectable delimiter, and a missing GITHUB_OUTPUT is an error.

Secrets are registered with `::add-mask::` the moment they are read or obtained, and GitHub hides
them in the log and the summary by its own rule: every occurrence, even inside words. What this
runner writes is redacted by fabric-ci's rule as well (masking.py: values hidden, fabric-ci's own
text kept), before any escaping, so that the outputs file, which GitHub does not mask, carries no
secret and no garbled value either. A secret short enough for GitHub's rule to garble the log is
registered all the same, with a warning that says why the log may show `***` in odd places.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from actions_toolkit import core
from actions_toolkit.command import Command
from actions_toolkit.file_command import issue_file_command

from fabric_ci.errors import FabricCiError, InputError
from fabric_ci.models.results import DeployedItem, Progress, Result
from fabric_ci.runners.step import LOG_HEARTBEAT_SECONDS, ProgressThrottle, StepRunner
from fabric_ci.runners.summary import headline, progress_line, render_failure, render_summary

__all__ = ["GitHubRunner", "RunnerEnvironmentError"]

# GitHub rejects a step summary over 1 MiB; never let an append cross it.
STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024

MISSING_OUTPUT_FILE = (
    "GITHUB_OUTPUT is not set, so this step's outputs cannot be written. fabric-ci runs in GitHub "
    "mode because GITHUB_ACTIONS=true; run it as an action step on a current GitHub runner, or unset "
    "GITHUB_ACTIONS to run it in a terminal."
)
SHORT_MASK_WARNING = (
    "is only {length} characters long: GitHub hides every occurrence of a masked value in this log and the "
    "job summary, even inside other words, so they may show *** in odd places. Check that it holds the whole "
    "secret."
)
UNUSABLE_OUTPUT_FILE = (
    "GITHUB_OUTPUT points at {path}, which does not exist, so this step's outputs cannot be written. "
    "The runner creates that file for each step; do not override GITHUB_OUTPUT in the step's env."
)


class RunnerEnvironmentError(FabricCiError):
    """GitHub mode was selected but the runner did not provide what a step needs."""

    title = "Incomplete GitHub Actions environment"


def _looks_like_command(line: str) -> bool:
    # actions/runner parses `::cmd::` after trimming leading whitespace, and the legacy
    # `##[cmd]` form anywhere in a line.
    return line.lstrip().startswith("::") or "##[" in line


def _key_value_message(name: str, value: str, delimiter: str) -> str:
    # The heredoc form of actions-toolkit's prepare_key_value_message, with the delimiter given.
    if delimiter in name:
        raise ValueError(f"Unexpected input: name should not contain the delimiter {delimiter!r}")
    if delimiter in value:
        raise ValueError(f"Unexpected input: value should not contain the delimiter {delimiter!r}")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}"


def _new_token() -> str:
    return str(uuid.uuid4())


class GitHubRunner(StepRunner):
    """Runner for a GitHub Actions step (selected when GITHUB_ACTIONS=true)."""

    def __init__(
        self,
        cli_values: Mapping[str, str],
        *,
        stdout: TextIO | None = None,
        token_factory: Callable[[], str] = _new_token,
    ) -> None:
        super().__init__()
        self._cli_values = dict(cli_values)
        self._stdout = stdout if stdout is not None else sys.stdout
        self._token_factory = token_factory
        self._written_outputs: dict[str, str] = {}
        self._progress = ProgressThrottle(LOG_HEARTBEAT_SECONDS)

    # --- low level -------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()

    def _command(self, name: str, message: str, properties: Mapping[str, str | None] | None = None) -> None:
        # `message` and `properties` are fabric-ci's text around redacted values (see _redacted).
        # The runner drops empty properties; so do we, so the line is what a person would write.
        props = {k: v for k, v in (properties or {}).items() if v}
        self._write(str(Command(name, props, message)))

    def _redacted(self, text: str) -> str:
        return self._redactor.text(text)

    def _output_file(self) -> Path:
        path = os.environ.get("GITHUB_OUTPUT", "")
        if not path:
            raise RunnerEnvironmentError(MISSING_OUTPUT_FILE)
        if not Path(path).is_file():
            raise RunnerEnvironmentError(UNUSABLE_OUTPUT_FILE.format(path=path))
        return Path(path)

    def _set_output(self, name: str, value: str) -> None:
        if self._written_outputs.get(name) == value:
            return
        self._output_file()  # a clear error rather than actions-toolkit's bare Exception
        delimiter = f"ghadelimiter_{self._token_factory()}"
        issue_file_command("OUTPUT", _key_value_message(name, value, delimiter))
        self._written_outputs[name] = value

    def _write_outputs(self, result: Result) -> None:
        for name, value in result.outputs().items():
            self._set_output(name, value)

    def _append_summary(self, markdown: str) -> None:
        path = os.environ.get("GITHUB_STEP_SUMMARY", "")
        if not path:
            return
        target = Path(path)
        used = target.stat().st_size if target.is_file() else 0
        data = (markdown.rstrip("\n") + "\n").encode("utf-8")
        room = STEP_SUMMARY_LIMIT_BYTES - used - 64
        if len(data) > room:
            # render_summary already stays far below the limit; this guards a file that an
            # earlier step of this action filled. Cut on a character boundary.
            note = b"\n\n_Summary truncated: GitHub allows 1 MiB per step._\n"
            if room <= len(note):
                return
            data = data[: room - len(note)].decode("utf-8", errors="ignore").encode("utf-8") + note
        with target.open("ab") as handle:
            handle.write(data)

    # --- StepRunner hooks ------------------------------------------------------------------------

    def _raw_input(self, name: str) -> str:
        given = self._cli_values.get(name)
        return given if given is not None else str(core.get_input(name))

    def _secret_registered(self, form: str) -> None:
        # GitHub adds JSON- and URI-escaped forms of each value itself.
        self._command("add-mask", form)

    def _inputs_read(self, short_secrets: dict[str, int]) -> None:
        for name, length in short_secrets.items():
            self._command("warning", f"Input '{name}' {SHORT_MASK_WARNING.format(length=length)}")
        # Fail before anything is changed if the outputs (the operation id above all) have
        # nowhere to go.
        self._output_file()

    def _open_group(self, title: str) -> None:
        self._command("group", self._redacted(title))

    def _close_group(self) -> None:
        self._command("endgroup", "")

    def _accepted(self, operation_id: str) -> None:
        self._set_output("operation-id", operation_id)

    def _interim(self, result: Result) -> None:
        # GITHUB_OUTPUT is appended to and the last value of a name wins: a killed step keeps this one.
        self._write_outputs(result)

    def _publish(self, result: Result) -> None:
        self._write_outputs(result)
        self._append_summary(render_summary(result))
        self._command("notice", headline(result))

    def _fail_input(self, error: InputError) -> None:
        self._command("error", error.message, {"title": f"Invalid input '{error.input_name}'"})

    def _fail_error(self, error: FabricCiError) -> None:
        self._command("error", error.message, {"title": error.title})

    def _fail_item(self, item: DeployedItem) -> None:
        self._command("error", item.error or "The service reported no reason.", {"title": f"Item failed: {item.name}"})

    def _fail_result(self, error: FabricCiError, result: Result | None) -> None:
        if result is not None:
            try:
                self._write_outputs(result)
            except RunnerEnvironmentError as missing:
                # Already failing: say why the outputs are missing, but keep the first error.
                self._command("error", missing.message, {"title": missing.title})
            self._append_summary(render_summary(result, error))
        else:
            self._append_summary(render_failure(error))

    # --- Runner ----------------------------------------------------------------------------------

    def info(self, message: str) -> None:
        lines = self._redacted(message).splitlines() or [""]
        if not any(_looks_like_command(line) for line in lines):
            self._write("\n".join(lines))
            return
        # Text from the service could carry workflow commands: turn command processing off
        # around it, with a token nobody can guess to turn it back on.
        token = self._token_factory()
        self._command("stop-commands", token)
        self._write("\n".join(lines))
        self._write(f"::{token}::")

    def debug(self, message: str) -> None:
        self._command("debug", self._redacted(message))

    def notice(self, message: str) -> None:
        self._command("notice", self._redacted(message))

    def warning(self, message: str) -> None:
        self._command("warning", self._redacted(message))

    def error(self, message: str, *, title: str | None = None) -> None:
        self._command("error", self._redacted(message), {"title": self._redacted(title) if title else None})

    def progress(self, progress: Progress) -> None:
        if self._progress.due(progress):
            self._write(progress_line(progress))
