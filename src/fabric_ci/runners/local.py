"""The terminal runner: for a person at a shell and for scripts outside any CI system.

Inputs come from the command line (secrets also from FABRIC_CI_* environment variables, so they
need not appear in shell history or `ps`). Text mode writes a readable report; JSON mode writes
every human line to stderr and exactly one JSON document to stdout, for scripts. A terminal has no
mask, so secrets read or registered are replaced by `***` wherever they stand as a value in what this
runner writes; fabric-ci's own text around them stays as written (the rule is in masking.py). Values
are redacted before they are formatted, cleaned or cut to fit a column.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TextIO

from pydantic import BaseModel, TypeAdapter

from fabric_ci.errors import FabricCiError, InputError
from fabric_ci.models.inputs import SECRET_INPUTS
from fabric_ci.models.results import DeployedItem, DeploymentResult, Progress, Result
from fabric_ci.runners.step import ProgressThrottle, StepRunner
from fabric_ci.runners.summary import (
    Table,
    facts,
    format_elapsed,
    headline,
    input_errors,
    item_rows,
    progress_line,
    tables,
)
from fabric_ci.runners.tables import WIDTH, cut, fit_table

__all__ = ["LocalRunner", "secret_env_var"]

OutputFormat = Literal["text", "json"]

# Terminal escape: carriage return, then erase the whole line, so a shorter line leaves no tail.
_REWRITE = "\r\x1b[2K"
_MAX_CELL = 60
# SGR colours, used only on a terminal (LocalRunner._colour).
_RED, _YELLOW, _CYAN = "31", "33", "36"
_DEBUG_VALUES = frozenset({"1", "true", "True", "TRUE"})


def secret_env_var(name: str) -> str:
    """`client-secret` -> `FABRIC_CI_CLIENT_SECRET`."""
    return "FABRIC_CI_" + name.upper().replace("-", "_")


# Bidirectional overrides and isolates: a name holding one can make the id after it read reversed.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _clean(text: str, *, keep_newlines: bool = True) -> str:
    # Remote text must not drive the terminal: drop control characters (ANSI escapes above all).
    out = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif char in "\t\r\n":
            out.append(" ")
        elif unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            out.append("?")
        else:
            out.append(char)
    return "".join(out)


def _cell(text: str) -> str:
    return cut(_clean(text, keep_newlines=False), _MAX_CELL)


# An error a person reads: a service may answer with pages of text (an HTML error page, a stack
# trace); the terminal shows the start and says how much more there is. JSON keeps all of it.
_MAX_MESSAGE = 500


def _fit(text: str, limit: int = _MAX_MESSAGE) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}… ({len(text) - limit:,} more characters; --output json has them all)"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        (indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
        for row in [header, *rows]
    ]


# Outputs that the runners write as text but that are numbers, true/false, or JSON: in a JSON
# document each is its value (a script should not parse JSON inside JSON, or "3" as a count).
_NUMBER_OUTPUTS = frozenset({"create", "overwrite", "unchanged", "skipped", "duration-seconds"})
_BOOLEAN_OUTPUTS = frozenset({"changed"})
_JSON_OUTPUTS = frozenset({"deployed-items", "deployments", "pipelines", "plan", "results", "stage-ids", "stages"})


def json_outputs(outputs: Mapping[str, str]) -> dict[str, Any]:
    """A result's outputs as JSON values: counts as numbers (null when not known), `changed` as a
    boolean, JSON outputs as arrays and objects; every other output stays text."""
    typed: dict[str, Any] = {}
    for name, value in outputs.items():
        if name in _NUMBER_OUTPUTS:
            typed[name] = int(value) if value.strip() else None
        elif name in _BOOLEAN_OUTPUTS:
            typed[name] = value == "true"
        elif name in _JSON_OUTPUTS:
            typed[name] = json.loads(value) if value.strip() else None
        else:
            typed[name] = value
    return typed


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def json_result(value: Any) -> Any:
    """A result as JSON with camelCase field names, the outputs' and the Fabric API's spelling
    (`diffState`, never also `diff_state`). Only models' field names change: a dict's keys are
    data (stage names) and stay as they are."""
    if isinstance(value, BaseModel):
        return {_camel(name): json_result(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {key: json_result(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_result(item) for item in value]
    return TypeAdapter(Any).dump_python(value, mode="json")


def _listing_lines(table: Table) -> list[str]:
    """A listing fitted to the terminal: names cut where they must be, ids whole; a row's details on
    the line under it, cut to the width."""
    lines = []
    if table.title:
        lines.append(cut(_clean(table.title, keep_newlines=False), WIDTH))
    if not table.rows:
        return [*lines, f"  {table.empty}"] if table.empty else lines
    # Headers too: one may hold a stage's name.
    header_cells = [_clean(cell, keep_newlines=False) for cell in table.header]
    clean = [[_clean(cell, keep_newlines=False) for cell in row] for row in table.rows]
    header, *rows = fit_table(header_cells, clean, table.shrinkable, indent="  ")
    lines.append(header)
    for index, row in enumerate(rows):
        lines.append(row)
        if table.details and table.details[index]:
            lines.append(cut("      " + _clean(table.details[index], keep_newlines=False), WIDTH))
    return lines


def report_lines(result: Result, error: FabricCiError | None = None) -> list[str]:
    """The plain-text report of a result (and of the error that stopped it): a headline, the facts,
    and the items."""
    lines = [_clean(headline(result, error), keep_newlines=False), ""]
    present = [(label, _cell(value)) for label, value in facts(result) if value]
    lines += _table(["", ""], [[f"{label}:", value] for label, value in present])[1:]
    for table in tables(result):
        # A blank line between the parts; the facts may be none (list-pipelines has only its table).
        lines += ([] if lines[-1] == "" else [""]) + _listing_lines(table)
    if isinstance(result, DeploymentResult) and result.items:
        rows = item_rows(result)
        lines.append("")
        lines += fit_table(
            ["Item", "Type", "Change", "Result"],
            [[_cell(r.name), _cell(r.type), _cell(r.change), _cell(r.result)] for r in rows],
            shrinkable=(0, 1),
            indent="  ",
        )
        failures = [r for r in rows if r.error]
        if failures:
            lines.append("")
            lines += [f"  {_cell(r.name)}: {_fit(_clean(r.error or '', keep_newlines=False))}" for r in failures]
    return lines


class LocalRunner(StepRunner):
    """Runner for a terminal or a script (selected when no CI system is detected)."""

    def __init__(
        self,
        cli_values: Mapping[str, str],
        *,
        output_format: OutputFormat = "text",
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        is_tty: bool | None = None,
        env: Mapping[str, str] | None = None,
        debug: bool | None = None,
        command: str | None = None,
    ) -> None:
        super().__init__()
        self._cli_values = dict(cli_values)
        # Named in JSON documents when no result says it (a failure before any result).
        self._command = command
        self._format: OutputFormat = output_format
        self._stdout = stdout if stdout is not None else sys.stdout
        self._stderr = stderr if stderr is not None else sys.stderr
        # In JSON mode stdout carries the one document and nothing else.
        self._human = self._stderr if output_format == "json" else self._stdout
        if is_tty is None:
            isatty = getattr(self._human, "isatty", None)
            is_tty = bool(isatty()) if callable(isatty) else False
        # A live line and colour are for a person at a terminal: never in a JSON run (its stderr is
        # usually a script's log too), and no colour when NO_COLOR is set (no-color.org) or TERM=dumb.
        self._is_tty = is_tty and output_format == "text"
        self._env = env if env is not None else os.environ
        if debug is None:
            debug = any(self._env.get(name, "") in _DEBUG_VALUES for name in ("FABRIC_CI_DEBUG", "RUNNER_DEBUG"))
        self._debug = debug
        self._progress_open = False
        # A log (no terminal) gets a line per change only: a script's output is not watched live.
        self._progress_lines = ProgressThrottle(heartbeat_seconds=None)
        self._operation_id: str | None = None
        self._colour = self._is_tty and not self._env.get("NO_COLOR") and self._env.get("TERM", "") != "dumb"
        # One frame further at each progress line, so the line shows that the wait goes on.
        self._spinner = itertools.cycle(self._symbol("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", "|/-\\"))

    # --- low level -------------------------------------------------------------------------------

    def _symbol(self, fancy: str, plain: str) -> str:
        encoding = getattr(self._human, "encoding", None) or "utf-8"
        try:
            fancy.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            return plain
        return fancy

    def _paint(self, colour: str, text: str) -> str:
        return f"\x1b[{colour}m{text}\x1b[0m" if self._colour else text

    def _shown(self, text: str) -> str:
        # Redact first: cleaning or cutting first could leave a secret's altered form or half of it.
        return _clean(self._redactor.text(text))

    def _end_progress(self) -> None:
        if self._progress_open:
            self._human.write("\n")
            self._progress_open = False

    def _emit(self, stream: TextIO, text: str) -> None:
        # `text` is fabric-ci's own text around values already redacted (by _shown, or from a
        # redacted result or error); redacting the whole line again could only garble it.
        self._end_progress()
        stream.write(text + "\n")
        stream.flush()

    # --- StepRunner hooks (a terminal has no mask to register: only the redactor hides secrets) ---------

    def _raw_input(self, name: str) -> str:
        value = self._cli_values.get(name, "").strip()
        if not value and name in SECRET_INPUTS:
            value = self._env.get(secret_env_var(name), "")
        return value

    def _accepted(self, operation_id: str) -> None:
        # Kept for a JSON failure document.
        self._operation_id = operation_id

    def _publish(self, result: Result) -> None:
        for line in report_lines(result):
            self._emit(self._human, line)
        if self._format == "json":
            self._json(
                {
                    "ok": True,
                    "command": result.command if result is not None else self._command,
                    "outputs": json_outputs(result.outputs()),
                    "result": json_result(result),
                }
            )

    def _fail_input(self, error: InputError) -> None:
        self._emit(self._stderr, f"{self._paint(_RED, 'error:')} {_fit(_clean(error.message))}")

    def _fail_error(self, error: FabricCiError) -> None:
        self._emit(self._stderr, f"{self._paint(_RED, 'error:')} {_fit(_clean(error.message))}")

    def _fail_item(self, item: DeployedItem) -> None:
        reason = _fit(_clean(item.error or "the service reported no reason", keep_newlines=False))
        self._emit(
            self._stderr, f"{self._paint(_RED, 'error:')} item {_cell(item.name)} ({_cell(item.type)}) failed: {reason}"
        )

    def _fail_result(self, error: FabricCiError, result: Result | None) -> None:
        errors = input_errors(error)
        if result is not None:
            self._emit(self._human, "")
            for line in report_lines(result, error):
                self._emit(self._human, line)
        if self._format == "json":
            if result is not None:
                outputs = json_outputs(result.outputs())
            else:
                outputs = {"operation-id": self._operation_id} if self._operation_id else {}
            self._json(
                {
                    "ok": False,
                    "command": result.command if result is not None else self._command,
                    "error": {
                        "title": error.title,
                        "message": error.message,
                        "inputs": [{"name": e.input_name, "message": e.message} for e in errors],
                    },
                    "outputs": outputs,
                    "result": json_result(result) if result is not None else None,
                }
            )

    # --- Runner ----------------------------------------------------------------------------------

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        self._emit(self._human, f"==> {_clean(self._redactor.text(title), keep_newlines=False)}")
        yield

    def info(self, message: str) -> None:
        self._emit(self._human, self._shown(message))

    def debug(self, message: str) -> None:
        if self._debug:
            self._emit(self._stderr, f"debug: {self._shown(message)}")

    def notice(self, message: str) -> None:
        self._emit(self._human, self._shown(message))

    def warning(self, message: str) -> None:
        self._emit(self._stderr, f"{self._paint(_YELLOW, 'warning:')} {self._shown(message)}")

    def progress(self, progress: Progress) -> None:
        if self._is_tty:
            steps = f"  {progress.steps_done}/{progress.steps_total} steps" if progress.steps_total else ""
            spinner = self._paint(_CYAN, next(self._spinner))
            line = f"{spinner} {progress.label}{steps}  {format_elapsed(progress.elapsed_seconds)}"
            self._human.write(_REWRITE + line)
            self._human.flush()
            self._progress_open = True
            return
        if self._progress_lines.due(progress):
            self._emit(self._human, progress_line(progress))

    def _json(self, document: Mapping[str, Any]) -> None:
        self._end_progress()
        # Built from redacted results and errors: redacting the serialised text instead could
        # break the document (a secret `"`) and would miss a secret in its escaped form.
        self._stdout.write(json.dumps(document) + "\n")
        self._stdout.flush()
