"""The Azure Pipelines runner: INPUT_* in; logging commands, output variables and an attached summary out.

Selected when TF_BUILD=True: the task wrapper (azure-devops-task/) starts `python -m fabric_ci <command>`
with the inputs as INPUT_<TASK INPUT NAME> variables, and the agent reads this process's stdout itself.
Formats follow microsoft/azure-pipelines-agent (Command.cs, CommandStringConvertor.cs) and
azure-pipelines-task-lib (taskcommand.ts) byte for byte; see runner-protocols.md in the shared docs:

    ##vso[task.setsecret]<value>                                  before anything else is printed
    ##vso[task.setvariable variable=operationId;isOutput=true;issecret=false;]<value>
    ##vso[task.logissue type=error;]<message>                     also type=warning
    ##vso[task.debug]<message>                                    shown when System.Debug is true
    ##[group]<title>  /  ##[endgroup]
    ##vso[task.uploadsummary]<absolute path of a .md file>
    ##vso[task.complete result=Succeeded;]<headline>              or result=Failed; with the error

Data is escaped as the agent unescapes it (`%` -> `%AZP25` first, CR -> `%0D`, LF -> `%0A`), property
values also `]` -> `%5D` and `;` -> `%3B`.

Names. Azure Pipelines users know inputs and outputs in camelCase (`sourceStage`, `operationId`) and the
commands as tasks (`FabricCiWaitForDeployment`): every message of fabric-ci's this runner writes is
respelled so (fabric_ci.commands.respell), and an invalid input is named as the pipeline's YAML names it,
or, when the wrapper says a service connection supplied it (FABRIC_CI_CONNECTION and
FABRIC_CI_CONNECTION_INPUTS), as "Input tenantId (from the service connection in azureSubscription)".
Text that is only the service's (item names, item errors) is not respelled.

Secrets. Each secret input is registered with `##vso[task.setsecret]` the moment it is read, and the agent
masks every occurrence of it in the log by its own rule (any length, even inside words). What this runner
writes is also redacted by fabric-ci's rule (masking.py) before it is escaped: the summary file is uploaded
as it is, unmasked by the agent. Because messages are respelled before they are redacted, the redactor
protects fabric-ci's literals in both spellings (`azure_literals`).

Commands in service text. The agent runs a `##vso[` found ANYWHERE in a line (Command.TryParse takes the
first), warns about any other line that holds `##vso`, and the log viewer formats lines that start with
`##[` (`##[group]`, `##[error]`...); a multi-line issue or debug message is unescaped into several log
lines. So every text this runner writes to stdout that could hold the service's text (messages, names,
notes, output values) is neutralised (`neutralise`): a space goes after the `##`, so `##vso[` reads
`## vso[` and `##[` reads `## [`. It stays visible and readable, runs nothing, and draws no agent
warning. The summary file is not neutralised: the agent uploads it without reading it for commands.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TextIO

from fabric_ci.commands import COMMANDS, TASK_SPELLINGS, camel_case, respell
from fabric_ci.errors import FabricCiError, InputError, StepCancelled
from fabric_ci.models.inputs import SECRET_INPUTS
from fabric_ci.models.results import DeployedItem, DeploymentResult, Progress, Result
from fabric_ci.runners.local import secret_env_var
from fabric_ci.runners.masking import Redactor, product_literals
from fabric_ci.runners.step import LOG_HEARTBEAT_SECONDS, ProgressThrottle, StepRunner, result_of
from fabric_ci.runners.summary import (
    Wording,
    headline,
    input_errors,
    progress_line,
    render_failure,
    render_summary,
)

__all__ = [
    "AzureDevOpsRunner",
    "azure_literals",
    "azure_spelling",
    "escape_data",
    "escape_property",
    "input_variable",
    "logging_command",
    "neutralise",
]

# Every input and output name of every command, and each command's task name.
_NAMES = frozenset(name for c in COMMANDS.values() for name in (*c.input_names, *c.outputs))
WAIT_TASK = TASK_SPELLINGS["wait-for-deployment"]

# Set by the wrapper when a service connection supplied inputs (see azure-devops-task/README.md, "How the wrapper
# starts the core"): the connection's input (azureSubscription or fabricConnection) and, comma-separated,
# the task inputs it supplied.
CONNECTION = "FABRIC_CI_CONNECTION"
CONNECTION_INPUTS = "FABRIC_CI_CONNECTION_INPUTS"
# The job's access token, passed by the wrapper for workload identity federation. The agent masks it
# (System.AccessToken is a secret variable); fabric-ci's redaction hides it in the summary file too.
ACCESS_TOKEN = "SYSTEM_ACCESSTOKEN"  # noqa: S105 - a variable's name
TEMP_DIRECTORY = "AGENT_TEMPDIRECTORY"

SHORT_MASK_WARNING = (
    "is only {length} characters long: Azure Pipelines hides every occurrence of a secret in this log, even "
    "inside other words, so it may show *** in odd places. Check that it holds the whole secret."
)
NO_TEMP_DIRECTORY = (
    "AGENT_TEMPDIRECTORY is not set, so no summary is attached to this run. fabric-ci runs in Azure "
    "Pipelines mode because TF_BUILD=True; run it as a pipeline step (the agent sets AGENT_TEMPDIRECTORY), "
    "or unset TF_BUILD to run it in a terminal."
)
UNWRITABLE_SUMMARY = "The summary could not be written to {folder} ({reason}), so none is attached to this run."
FOLLOW_CANCELLED = (
    " Deployment {operation_id} was left running, not cancelled: follow it with the {task} task and "
    "operationId {operation_id}."
)


def azure_spelling(text: str) -> str:
    """fabric-ci's text in Azure Pipelines' words: inputs and outputs camelCased, commands as task names."""
    return respell(text, _NAMES, TASK_SPELLINGS)


@cache
def azure_literals() -> frozenset[str]:
    """fabric-ci's own text in both spellings: what the redactor keeps when it lies around a secret."""
    literals = product_literals()
    # Only a literal with a hyphen can hold a kebab-case name (commands' too); respelling all of them
    # would cost a tenth of a second at the first redaction.
    return literals | {azure_spelling(literal) for literal in literals if "-" in literal}


def input_variable(name: str) -> str:
    """`source-stage` -> `INPUT_SOURCESTAGE`: the task input's name (camelCase) upper-cased, as the agent
    (and the wrapper, for values from a service connection) sets it."""
    return "INPUT_" + camel_case(name).upper()


# --- escaping and neutralising --------------------------------------------------------------------

# What .NET's culture-sensitive search may skip as if absent. The agent finds commands with
# `message.IndexOf("##vso[")`, which is culture-sensitive: with ICU (.NET 5 and later) control and
# format characters (zero-width space, soft hyphen, BOM, bidi marks...), variation selectors and the
# other default-ignorable code points weigh nothing, so `#\u200b#vso[` is found as `##vso[`. A pattern
# that looked for `##vso[` only would miss it; this one allows any of them between the characters.
_IGNORABLE = (
    "["
    "\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\U000110bd\U000110cd\U00013430-\U0001345f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
    "]"
)
# `##` before `[` (a formatting command, or the agent's `##[...]`) or before `vso` (a logging command,
# or the keyword the agent warns about); case-insensitive, which costs nothing and spares a doubt.
# Possessive quantifiers: no backtracking, so a long run of `#`s and ignorables stays linear.
_COMMAND_OPENING = re.compile(
    rf"#{_IGNORABLE}*+#{_IGNORABLE}*+(?=\[|v{_IGNORABLE}*+s{_IGNORABLE}*+o)",
    re.IGNORECASE,
)


def neutralise(text: str) -> str:
    """`text` with a space after every `##` that would open a command: `##vso[` -> `## vso[`, `##[` -> `## [`.

    Visible and harmless: the agent runs no command from it and warns about nothing, and a reader sees
    the service's text with one space more."""
    return _COMMAND_OPENING.sub(lambda match: match.group(0) + " ", text)


def escape_data(text: str) -> str:
    """A logging command's data (after `]`), escaped as the agent unescapes it: `%` first."""
    # `%AZP25` is decoded since agents of 2021 unless a job sets DECODE_PERCENTS=false; there a `%` reads
    # `%AZP25`. Escaping `%` is still right: the agent decodes `%3B`, `%0D`, `%0A` and `%5D` in data too,
    # so a literal `%0A` in a message would otherwise become a line break.
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as data, and `]` and `;`, which would end the property list or the property."""
    return escape_data(text).replace("]", "%5D").replace(";", "%3B")


def logging_command(name: str, properties: Mapping[str, str | None] | None, data: str) -> str:
    """`##vso[name key=value;...]data`, as task-lib's TaskCommand writes it; empty properties are left out."""
    props = "".join(f"{key}={escape_property(value)};" for key, value in (properties or {}).items() if value)
    return f"##vso[{name}{' ' + props if props else ''}]{escape_data(data)}"


def _utf8(stream: TextIO) -> TextIO:
    # The agent decodes a Node task's output as UTF-8 (NodeHandler.cs: "node.exe outputs UTF8"), and the
    # wrapper passes our stdout through. Python on Windows writes a pipe in the ANSI code page: an item
    # named in Japanese would end the run with UnicodeEncodeError, and "ü" would arrive garbled.
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    reconfigure = getattr(stream, "reconfigure", None)
    if encoding != "utf8" and callable(reconfigure):
        reconfigure(encoding="utf-8", errors="backslashreplace")
    return stream


class AzureDevOpsRunner(StepRunner):
    """Runner for an Azure Pipelines step (selected when TF_BUILD=True, after the GitHub check)."""

    def __init__(
        self,
        cli_values: Mapping[str, str],
        *,
        command: str | None = None,
        stdout: TextIO | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(Redactor(literals=azure_literals))
        self._cli_values = dict(cli_values)
        self._command_name = command  # names the summary file when no result does
        self._stdout = stdout if stdout is not None else _utf8(sys.stdout)
        self._env = env if env is not None else os.environ
        self._written_outputs: dict[str, str] = {}
        self._progress = ProgressThrottle(LOG_HEARTBEAT_SECONDS)
        self._operation_id: str | None = None
        self._connection = self._env.get(CONNECTION, "").strip()
        supplied = self._env.get(CONNECTION_INPUTS, "") if self._connection else ""
        # Compared case-insensitively, as the agent treats input names.
        self._from_connection = {name.strip().lower() for name in supplied.split(",") if name.strip()}
        self._wording = Wording(
            wait_step=f"the `{WAIT_TASK}` task",
            name=camel_case,
            message=self._spelled,
            input_error=self._input_error_text,
        )

    # --- low level -------------------------------------------------------------------------------

    def _write(self, line: str) -> None:
        self._stdout.write(line + "\n")
        self._stdout.flush()

    def _command(self, name: str, properties: Mapping[str, str | None] | None, data: str) -> None:
        self._write(logging_command(name, properties, data))

    def _spelled(self, text: str) -> str:
        """One of fabric-ci's messages in Azure Pipelines' words, redacted (after respelling, which could
        otherwise spell a secret out of fabric-ci's own words)."""
        return self._redactor.text(azure_spelling(text))

    def _shown(self, text: str) -> str:
        """A message for the log: respelled, redacted, neutralised."""
        return neutralise(self._spelled(text))

    def _input_error_text(self, error: InputError) -> str:
        name = camel_case(error.input_name)
        own = f"Input '{error.input_name}': "
        detail = error.message[len(own) :] if error.message.startswith(own) else error.message
        if name.lower() in self._from_connection:
            return f"Input {name} (from the service connection in {self._connection}): {self._spelled(detail)}"
        return f"Input '{name}': {self._spelled(detail)}"

    def _error_text(self, error: FabricCiError) -> str:
        errors = input_errors(error)
        if errors:
            return "; ".join(self._input_error_text(e) for e in errors)
        text = self._spelled(error.message)
        if isinstance(error, StepCancelled):
            # The operations say how to follow a deployment left running; should a cancel arrive where
            # none does (cli.py's own, after the id was published), the runner still knows the id.
            partial = result_of(error)
            operation_id = partial.operation_id if isinstance(partial, DeploymentResult) else self._operation_id
            if operation_id and WAIT_TASK not in text:
                text += FOLLOW_CANCELLED.format(operation_id=operation_id, task=WAIT_TASK)
        return text

    def _set_output(self, name: str, value: str) -> None:
        if self._written_outputs.get(name) == value:
            return
        # A value is data, not a log line, but the agent's debug line `Processed: ##vso[...]` and a later
        # script's `echo $(step.deployedItems)` put it back into a log: neutralised like any other text.
        self._command(
            "task.setvariable",
            {"variable": camel_case(name), "isOutput": "true", "issecret": "false"},
            neutralise(value),
        )
        self._written_outputs[name] = value

    def _write_outputs(self, result: Result) -> None:
        for name, value in result.outputs().items():
            self._set_output(name, value)

    def _summary_name(self, result: Result | None) -> str:
        command = result.command if result is not None else self._command_name
        return f"fabric-ci {command}" if command else "fabric-ci"

    def _attach_summary(self, markdown: str, result: Result | None) -> None:
        folder = self._env.get(TEMP_DIRECTORY, "").strip()
        if not folder:
            self.warning(NO_TEMP_DIRECTORY)
            return
        # The agent names the summary's section after the file, so the file is `fabric-ci deploy-all.md`.
        # The agent uploads it after the step, from this path: a second step of the job with the same
        # command must not overwrite it, so it takes the next free name, created exclusively.
        stem = self._summary_name(result)
        directory = Path(os.path.abspath(folder))
        for number in itertools.count(1):
            path = directory / (f"{stem}.md" if number == 1 else f"{stem} ({number}).md")
            try:
                with path.open("x", encoding="utf-8", newline="\n") as handle:
                    handle.write(markdown.rstrip("\n") + "\n")
            except FileExistsError:
                if number < 1000:
                    continue
                reason = "every summary name is taken"
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
            else:
                self._command("task.uploadsummary", None, str(path))
                return
            self.warning(UNWRITABLE_SUMMARY.format(folder=directory, reason=reason))
            return

    def _complete(self, result: str, message: str) -> None:
        # task.complete logs no issue: its message only becomes the step's current operation
        # (TaskCompleteCommand: context.Progress(100, data)). What a user reads of a failure are the
        # logissue lines, so they are written in any case, and the result comes last.
        self._command("task.complete", {"result": result}, message)

    # --- StepRunner hooks ------------------------------------------------------------------------

    def _raw_input(self, name: str) -> str:
        given = self._cli_values.get(name)
        if given is not None:
            return given
        value = self._env.get(input_variable(name), "")
        if not value.strip() and name in SECRET_INPUTS:
            # In a `script:` step the command line's own way to keep a secret off the command line
            # (`fabric-ci --help`: "or set FABRIC_CI_CLIENT_SECRET") works here too.
            value = self._env.get(secret_env_var(name), "")
        return value

    def _secret_registered(self, form: str) -> None:
        self._command("task.setsecret", None, form)

    def _inputs_read(self, short_secrets: dict[str, int]) -> None:
        token = self._env.get(ACCESS_TOKEN, "").strip()
        if token:
            self._redactor.add(token)  # no setsecret: the agent masks it already
        for name, length in short_secrets.items():
            self.warning(f"Input '{camel_case(name)}' {SHORT_MASK_WARNING.format(length=length)}")

    def _open_group(self, title: str) -> None:
        self._write("##[group]" + " ".join(self._shown(title).splitlines()))

    def _close_group(self) -> None:
        self._write("##[endgroup]")

    def _accepted(self, operation_id: str) -> None:
        self._operation_id = operation_id
        self._set_output("operation-id", operation_id)

    def _interim(self, result: Result) -> None:
        # A repeated task.setvariable replaces the variable: a killed task keeps the last one written.
        self._write_outputs(result)

    def _publish(self, result: Result) -> None:
        self._write_outputs(result)
        self._attach_summary(render_summary(result, wording=self._wording), result)
        line = self._shown(headline(result))
        self._write(line)
        self._complete("Succeeded", line)

    def _fail_input(self, error: InputError) -> None:
        self._command("task.logissue", {"type": "error"}, neutralise(self._input_error_text(error)))

    def _fail_error(self, error: FabricCiError) -> None:
        self._command("task.logissue", {"type": "error"}, neutralise(self._error_text(error)))

    def _fail_item(self, item: DeployedItem) -> None:
        # Service text only: not respelled (an item may well be named like a command).
        reason = item.error or "The service reported no reason."
        self._command(
            "task.logissue", {"type": "error"}, neutralise(f"Item {item.name!r} ({item.type}) failed: {reason}")
        )

    def _fail_result(self, error: FabricCiError, result: Result | None) -> None:
        if result is not None:
            self._write_outputs(result)
            self._attach_summary(render_summary(result, error, self._wording), result)
        else:
            self._attach_summary(render_failure(error, self._wording), None)
        self._complete("Failed", neutralise(self._error_text(error)))

    # --- Runner ----------------------------------------------------------------------------------

    def info(self, message: str) -> None:
        self._write(self._shown(message))

    def notice(self, message: str) -> None:
        # Azure Pipelines has errors and warnings only: a notice is a line of the log.
        self._write(self._shown(message))

    def debug(self, message: str) -> None:
        self._command("task.debug", None, self._shown(message))

    def warning(self, message: str) -> None:
        self._command("task.logissue", {"type": "warning"}, self._shown(message))

    def progress(self, progress: Progress) -> None:
        if self._progress.due(progress):
            self._write(progress_line(progress))
