"""The deploy-many manifest: deployments of several pipelines and the order between them.

Validated as a whole before any request: every problem of every entry is reported at once, each
naming the entry and the key, so that a run never stops half-way on a typo in its last entry.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, Field, PrivateAttr, field_validator, model_validator

from fabric_ci.errors import InputError, InputErrors
from fabric_ci.models.inputs import (
    DeployAllInputs,
    Inputs,
    SelectiveDeployInputs,
    input_names,
    parse_inputs,
)

MANIFEST_INPUT = "manifest"
TOP_KEYS = ("defaults", "deployments")
# Keys of an entry that are the manifest's own, not a deploy input.
ENTRY_KEYS = ("name", "depends-on")
# In `depends-on`, alone or among names: also depend on the entries whose items this entry's items read
# (inferred from the Fabric API's item relations before deploying; never an entry's name).
AUTO = "auto"
# Sign-in, endpoint and API inputs are the step's, not an entry's: one sign-in and one client for
# the run (the two APIs differ in token scope, so `api` too).
RUN_INPUTS = frozenset(input_names(Inputs)) - {"pipeline"}
# Dependents start only once an entry has succeeded, so every entry waits for its deployment.
# Deploy inputs an entry may not take, and why.
NOT_ENTRY_INPUTS = {
    "wait": "is not an entry's: deploy-many waits for every deployment, its dependents start on success",
    "plan": "is not an entry's: a planned entry deploys nothing, so its dependents could never start",
}
ENTRY_INPUTS = tuple(
    name for name in input_names(SelectiveDeployInputs) if name not in RUN_INPUTS | NOT_ENTRY_INPUTS.keys()
)


@dataclass(frozen=True)
class ManifestEntry:
    """One deployment of the manifest, its inputs validated as deploy-all or selective-deploy would."""

    name: str
    depends_on: tuple[str, ...]
    inputs: DeployAllInputs  # SelectiveDeployInputs when the entry has `items`
    infer: bool = False  # `depends-on: auto`: edges from item relations are added to `depends_on`


@dataclass(frozen=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]
    file: str | None = None  # the file it was read from, as the input named it; None: given inline

    def where(self, name: str) -> str:
        """An entry as an error names it: in its file, when the manifest is one."""
        return (f"file {self.file!r}: " if self.file else "") + f"entry {name!r}"

    def entry(self, name: str) -> ManifestEntry:
        return next(entry for entry in self.entries if entry.name == name)

    def dependents(self, name: str) -> list[str]:
        """Every entry that depends on `name`, directly or through others, in manifest order."""
        found: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            for entry in self.entries:
                if current in entry.depends_on and entry.name not in found:
                    found.add(entry.name)
                    todo.append(entry.name)
        return [entry.name for entry in self.entries if entry.name in found]


def _error(where: str, key: str | None, message: str, candidates: Sequence[str] = ()) -> InputError:
    at = f"{where}, key {key!r}" if key else where
    return InputError(MANIFEST_INPUT, f"{at}: {message}", candidates=candidates)


def load_manifest_text(value: str, cwd: Path) -> tuple[str, str | None]:
    """The manifest's text and the file it came from: `value` itself (no file), or the file it names
    relative to the working directory (a runner's workspace). A one-line value is a path unless it
    is a JSON object: a manifest with a deployment is never one line of YAML."""
    text = value.strip()
    if "\n" in text or text.startswith("{"):
        return value, None
    path = cwd / text
    try:
        return path.read_text(encoding="utf-8"), text
    except (OSError, ValueError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputErrors(
            [
                InputError(
                    MANIFEST_INPUT,
                    f"expected a YAML or JSON manifest, or the path of one relative to {str(cwd)!r}; "
                    f"{text!r} cannot be read: {reason}",
                )
            ]
        ) from None


def _document(text: str) -> Any:
    if not text.strip():
        raise InputErrors([InputError(MANIFEST_INPUT, "is empty: expected a mapping with `deployments`")])
    try:
        # JSON is YAML too, but its own parser gives the better message for JSON. BaseLoader keeps every
        # scalar the text it was (as a runner's input is): safe_load would turn `timeout: 1:30` into 90,
        # `note: no` into false and `note: 1.10` into 1.1. It constructs only strings, lists and mappings
        # (ruff's S506 takes any Loader but SafeLoader for an unsafe one).
        if text.lstrip().startswith("{"):
            return json.loads(text)
        return yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506
    except json.JSONDecodeError as error:
        raise InputErrors([InputError(MANIFEST_INPUT, f"is not valid JSON: {error}")]) from None
    except yaml.MarkedYAMLError as error:
        # Said by line and column of the manifest, not of PyYAML's "<unicode string>".
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = ": ".join(part for part in (error.context, error.problem) if part)
        raise InputErrors([InputError(MANIFEST_INPUT, f"is not valid YAML{where}: {what}")]) from None
    except yaml.YAMLError as error:
        raise InputErrors([InputError(MANIFEST_INPUT, f"is not valid YAML: {error}")]) from None


def _scalar(value: Any) -> str | None:
    """A YAML scalar as the string a runner would have given; None for a list or mapping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _item_lines(items: list[Any]) -> str | None:
    """A YAML list of items as the input's one item a line. Unquoted, `- Report: Sales` is YAML for a
    mapping of one key: taken as the line it was written as."""
    lines = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1:
            [(kind, name)] = item.items()
            item = f"{kind}: {name}" if _scalar(kind) is not None and _scalar(name) is not None else None
        line = _scalar(item)
        # `- Report:` (a mapping to nothing) names no item, and a line break would make one element two.
        if line is None or not line.strip() or line.rstrip().endswith(":") or "\n" in line.strip():
            return None
        lines.append(line)
    return "\n".join(lines)


def _depends_on(where: str, value: Any) -> tuple[list[str], list[InputError]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return [], [_error(where, "depends-on", "expected a list of entry names")]
    return [v.strip() for v in value], []


def _raw_inputs(
    where: str, mapping: Mapping[Any, Any], allowed: Sequence[str]
) -> tuple[dict[str, str], list[InputError]]:
    raw: dict[str, str] = {}
    errors = []
    for key, value in mapping.items():
        key = str(key)
        if key in ENTRY_KEYS:
            continue
        if key not in allowed:
            if key in RUN_INPUTS:
                why = "is an input of the step, shared by every entry (one sign-in for the run), not of an entry"
            elif key in NOT_ENTRY_INPUTS:
                why = NOT_ENTRY_INPUTS[key]
            else:
                why = "is not a key of the manifest (name, depends-on) or a deploy input"
            close = difflib.get_close_matches(key, [*ENTRY_KEYS, *allowed], n=3)
            errors.append(_error(where, key, why, close))
            continue
        scalar = _scalar(value)
        if scalar is None and key == "items" and isinstance(value, list):
            scalar = _item_lines(value)
        if scalar is None:
            errors.append(_error(where, key, "expected a single value (items: one item a line, or a list)"))
            continue
        raw[key] = scalar
    return raw, errors


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as the path round it (`a`, `b`, `a`), or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def parse_manifest(text: str, step: Mapping[str, str]) -> Manifest:
    """Validate a manifest whole; `step` holds the step's own raw inputs (sign-in, endpoints, api),
    which every entry shares. Raises InputErrors naming every problem at once."""
    document = _document(text)
    if document is None or document == "":  # only comments
        raise InputErrors(
            [InputError(MANIFEST_INPUT, "has no content (comments at most): expected a mapping with `deployments`")]
        )
    if not isinstance(document, dict):
        raise InputErrors([InputError(MANIFEST_INPUT, "expected a mapping with `deployments` (and `defaults`)")])
    errors = [
        _error(
            "manifest",
            str(key),
            "is not a manifest key; expected defaults or deployments",
            difflib.get_close_matches(str(key), TOP_KEYS, n=1),
        )
        for key in document
        if key not in TOP_KEYS
    ]
    defaults_doc = document.get("defaults") or {}
    defaults: dict[str, str] = {}
    default_depends_on: list[str] = []
    if not isinstance(defaults_doc, dict):
        errors.append(_error("manifest", "defaults", "expected a mapping of deploy inputs"))
    else:
        if "name" in defaults_doc:
            errors.append(_error("defaults", "name", "belongs to an entry, not to defaults"))
        if "depends-on" in defaults_doc:
            # Only `auto` is a default that means something for every entry (names would make an entry
            # depend on itself); an entry's own depends-on replaces it, as every key of an entry does.
            default_depends, problems = _depends_on("defaults", defaults_doc["depends-on"])
            if problems or set(default_depends) != {AUTO}:
                errors.append(
                    _error(
                        "defaults",
                        "depends-on",
                        f"can only be {AUTO!r} (infer every entry's dependencies from item relations); "
                        "name an entry's dependencies in the entry",
                    )
                )
            else:
                default_depends_on = [AUTO]
        defaults, problems = _raw_inputs("defaults", defaults_doc, ENTRY_INPUTS)
        errors += problems
    deployments = document.get("deployments")
    if not isinstance(deployments, list) or not deployments:
        errors.append(_error("manifest", "deployments", "expected a non-empty list of deployments"))
        raise InputErrors(errors)

    names: list[str] = []
    named: set[str] = set()  # the names given as `name`
    parsed: list[tuple[str, list[str], dict[str, str]] | None] = []
    for index, entry in enumerate(deployments):
        where = f"deployments[{index}]"
        if not isinstance(entry, dict):
            errors.append(_error(where, None, "expected a mapping with at least `pipeline`"))
            parsed.append(None)
            continue
        name = _scalar(entry.get("name", entry.get("pipeline")))
        if name is None or not name.strip():
            errors.append(_error(where, "pipeline", "required and not supplied"))
            parsed.append(None)
            continue
        name = name.strip()
        where = f"entry {name!r}"
        if name in names:
            if "name" in entry:
                errors.append(_error(where, "name", "is already an earlier entry's name: give this entry another"))
            elif name in named:
                errors.append(_error(where, "pipeline", "is an earlier entry's `name`: give this entry a `name` too"))
            else:
                errors.append(
                    _error(
                        where,
                        "pipeline",
                        "is used by an earlier entry too: give each entry on the same pipeline a `name`",
                    )
                )
        if name == AUTO:
            key = "name" if "name" in entry else "pipeline"
            errors.append(_error(where, key, f"{AUTO!r} is reserved in depends-on: give this entry another `name`"))
        names.append(name)
        if "name" in entry:
            named.add(name)
        depends, problems = _depends_on(where, entry.get("depends-on", default_depends_on))
        raw, more = _raw_inputs(where, entry, ENTRY_INPUTS)
        errors += problems + more
        parsed.append((name, depends, {**defaults, **raw}))

    entries = []
    step_broken = False
    known = set(names)
    for item in parsed:
        if item is None:
            continue
        name, depends, raw = item
        where = f"entry {name!r}"
        infer = AUTO in depends
        depends = [d for d in depends if d != AUTO]
        for dependency in depends:
            if dependency == name:
                errors.append(_error(where, "depends-on", "an entry cannot depend on itself"))
            elif dependency not in known:
                close = difflib.get_close_matches(dependency, names, n=3)
                errors.append(_error(where, "depends-on", f"names no entry: {dependency!r}", close))
        model = SelectiveDeployInputs if "items" in raw else DeployAllInputs
        try:
            inputs = parse_inputs(model, {**step, **raw})
        except InputErrors as exc:
            # The step's own inputs are reported once, by the step, not again for every entry.
            entry_errors = [error for error in exc.errors if error.input_name not in RUN_INPUTS]
            for error in entry_errors:
                errors.append(_error(where, error.input_name, str(error.args[0]), error.candidates))
            if not entry_errors:
                step_broken = True
            continue
        entries.append(ManifestEntry(name=name, depends_on=tuple(dict.fromkeys(depends)), inputs=inputs, infer=infer))
    # Over every named entry, valid or not: a cycle is worth showing with the other problems.
    edges = {item[0]: [d for d in item[1] if d in known and d not in (item[0], AUTO)] for item in parsed if item}
    if cycle := find_cycle(edges):
        errors.append(
            _error(f"entry {cycle[0]!r}", "depends-on", "the dependencies form a cycle: " + " -> ".join(cycle))
        )
    if errors or step_broken:
        raise InputErrors(errors)
    return Manifest(entries=tuple(entries))


OnFailure = Literal["skip-dependents", "stop", "continue"]
MAX_PARALLEL_LIMIT = 32  # beyond this the service throttles the caller long before it helps


def parse_max_parallel(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARALLEL_LIMIT:
        raise ValueError(f"expected a whole number from 1 to {MAX_PARALLEL_LIMIT}, got {value!r}")
    return int(text)


class DeployManyInputs(Inputs):
    """Deploy several pipelines, at the same time where they can and in dependency order where they must."""

    # The pipelines are the manifest's entries'; the step names none.
    pipeline: Annotated[None, Field(exclude=True)] = None  # type: ignore[assignment]
    manifest: Annotated[str, Field(min_length=1)]
    max_parallel: Annotated[int, BeforeValidator(parse_max_parallel)] = 4
    on_failure: OnFailure = "skip-dependents"

    _step: dict[str, str] = PrivateAttr(default_factory=dict)
    _manifest: Manifest | None = PrivateAttr(default=None)

    @field_validator("on_failure", mode="before")
    @classmethod
    def _lower_on_failure(cls, value: object) -> object:
        return str(value).strip().lower()

    @model_validator(mode="wrap")
    @classmethod
    def _keep_step_inputs(cls, data: Any, handler: Any) -> Any:
        # Each entry is validated as its own deploy step would be: with the step's raw inputs.
        model = handler(data)
        if isinstance(data, dict):
            model._step = {str(k): v for k, v in data.items() if k in RUN_INPUTS}
        return model

    @property
    def deployments(self) -> Manifest:
        """The validated manifest; valid once `problems()` is empty."""
        if self._manifest is None:
            raise RuntimeError("problems() was not called, or found problems")
        return self._manifest

    def problems(self) -> list[InputError]:
        errors = super().problems()
        try:
            text, file = load_manifest_text(self.manifest, Path.cwd())
        except InputErrors as exc:
            return errors + exc.errors
        try:
            self._manifest = replace(parse_manifest(text, self._step), file=file)
        except InputErrors as exc:
            # A step may read one of several manifest files: its errors say which (as written).
            errors += [
                InputError(e.input_name, f"file {file!r}: {e.args[0]}", candidates=e.candidates) if file else e
                for e in exc.errors
            ]
        return errors
