"""What every runner does the same way, whatever it writes.

A runner differs from another in its formats (a workflow command, a logging command, a terminal
line) and in where inputs come from. What it does with them is the same everywhere, and lives here
once, so that a new runner is not a copy:

- inputs: read one by one (`_raw_input`), trimmed, empty ones left out; then every secret among
  them registered before the runner prints anything (`_secret_registered` tells the CI system);
- secrets: kept in one Redactor, through which every result, error and message is passed before
  it is formatted (masking.py has the rule);
- `fail`: the error redacted; each invalid input reported on its own, or else the error, and then
  each failed item of a failed deployment; then whatever the partial result allows;
- phases: a CI log's folded group, never nested (neither CI system nests them: an inner phase is a
  plain line inside the outer group);
- progress: a line when the state changes, and (in logs) again after a heartbeat without change.

The hooks (`_fail_input`, `_fail_error`, `_fail_item`, `_fail_result`, `_publish`, `_interim`, `_accepted`) are
handed redacted values only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fabric_ci.errors import DeploymentFailed, FabricCiError, InputError
from fabric_ci.models.inputs import masked_input_values
from fabric_ci.models.results import DeployedItem, DeployManyResult, DeploymentResult, Progress, Result
from fabric_ci.runners.masking import SHORT_SECRET_LENGTH, Redactor
from fabric_ci.runners.summary import input_errors

__all__ = ["LOG_HEARTBEAT_SECONDS", "ProgressThrottle", "StepRunner", "result_of"]

# Logs are not a terminal: without a change, repeat the progress line at most this often.
LOG_HEARTBEAT_SECONDS = 30.0


def result_of(error: FabricCiError) -> Result | None:
    """The partial result an error carries: DeploymentFailed, WaitTimeout and StepCancelled carry the
    deployment as it stood."""
    result = getattr(error, "result", None)
    return result if isinstance(result, Result) else None


class ProgressThrottle:
    """When a progress snapshot is worth a line: its state (status, steps) changed, or, with a
    heartbeat, that long has passed since the last line (a log is not a terminal: a line every
    second would bury everything else, no line at all would look hung)."""

    def __init__(self, heartbeat_seconds: float | None) -> None:
        self._heartbeat = heartbeat_seconds
        self._last: tuple[str, int, int] | None = None
        self._last_at = 0.0

    def due(self, progress: Progress) -> bool:
        key = (progress.label, progress.steps_done, progress.steps_total)
        changed = key != self._last
        beat = self._heartbeat is not None and progress.elapsed_seconds - self._last_at >= self._heartbeat
        if changed or beat:
            self._last = key
            self._last_at = progress.elapsed_seconds
            return True
        return False


class StepRunner:
    """The part of a runner that is the same for every CI system and the terminal (see the module
    docstring); subclasses supply the formats through the hooks."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redactor = redactor if redactor is not None else Redactor()
        self._in_group = False

    # --- hooks -----------------------------------------------------------------------------------

    def _raw_input(self, name: str) -> str:
        """The value given for input `name` (kebab-case), untrimmed; "" when not given."""
        raise NotImplementedError

    def _inputs_read(self, short_secrets: dict[str, int]) -> None:
        """After the inputs are read and their secrets registered: `short_secrets` maps an input to
        the length of its shortest secret fragment below SHORT_SECRET_LENGTH."""

    def _secret_registered(self, form: str) -> None:
        """Tell the CI system to mask `form` (one line: CI systems mask line by line, so a form with a
        newline could never match there and only fabric-ci's own redaction hides it)."""

    def _open_group(self, title: str) -> None:
        raise NotImplementedError

    def _close_group(self) -> None:
        raise NotImplementedError

    def _accepted(self, operation_id: str) -> None:
        """The deployment was accepted (the id redacted)."""

    def _interim(self, result: Result) -> None:
        """Outputs as they stand mid-run (the result redacted); where outputs are written at once."""

    def _publish(self, result: Result) -> None:
        raise NotImplementedError

    def _fail_input(self, error: InputError) -> None:
        raise NotImplementedError

    def _fail_error(self, error: FabricCiError) -> None:
        raise NotImplementedError

    def _fail_item(self, item: DeployedItem) -> None:
        raise NotImplementedError

    def _fail_result(self, error: FabricCiError, result: Result | None) -> None:
        """After the errors: the outputs and summary (or report) of the partial result, if any."""
        raise NotImplementedError

    # --- Runner ----------------------------------------------------------------------------------

    def read_inputs(self, names: Sequence[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name in names:
            value = self._raw_input(name).strip()
            if value:
                values[name] = value
        # Masks first: nothing may print before the runner knows what to hide.
        short: dict[str, int] = {}
        for name in names:
            for fragment in masked_input_values(name, values.get(name, "")):
                self.mask(fragment)
                if len(fragment) < SHORT_SECRET_LENGTH:
                    short[name] = min(len(fragment), short.get(name, len(fragment)))
        self._inputs_read(short)
        return values

    def info(self, message: str) -> None:
        raise NotImplementedError

    @contextmanager
    def phase(self, title: str) -> Iterator[None]:
        if self._in_group:
            self.info(title)
            yield
            return
        self._open_group(title)
        self._in_group = True
        try:
            yield
        finally:
            self._in_group = False
            self._close_group()

    def mask(self, secret: str) -> None:
        # The secret and the escaped forms fabric-ci could print it in, each once.
        for form in self._redactor.add(secret) if secret.strip() else ():
            if "\n" not in form and "\r" not in form:
                self._secret_registered(form)

    def deployment_accepted(self, operation_id: str) -> None:
        # The operation logs the acceptance itself; here only what the runner keeps or writes at once.
        self._accepted(self._redactor.text(operation_id))

    def interim(self, result: Result) -> None:
        self._interim(self._redactor.model(result))

    def publish(self, result: Result) -> None:
        # Redacted field by field, before outputs are serialised and the summary escaped.
        self._publish(self._redactor.model(result))

    def fail(self, error: FabricCiError, result: Result | None = None) -> None:
        if result is None:
            result = result_of(error)
        error = self._redactor.error(error)
        result = self._redactor.model(result) if result is not None else None
        errors = input_errors(error)
        if errors:
            for e in errors:
                self._fail_input(e)
        else:
            self._fail_error(error)
            if isinstance(error, DeploymentFailed) and isinstance(result, DeploymentResult):
                for item in result.failed_items:
                    self._fail_item(item)
            elif isinstance(result, DeployManyResult):
                # Every entry's failed items, as its own step would show them, each named with its entry.
                for entry in result.entries:
                    for item in entry.result.failed_items if entry.result else ():
                        self._fail_item(item.model_copy(update={"name": f"[{entry.name}] {item.name}"}))
        self._fail_result(error, result)
