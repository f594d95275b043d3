"""The human report of a command, shared by every runner.

`render_summary` turns a result (and the error that stopped the command, if any) into
GitHub-flavoured Markdown for a job summary; the Azure Pipelines runner uploads the same text, told
in Azure Pipelines' words through a `Wording` (the `FabricCiWaitForDeployment` task and `operationId`
where GitHub reads the `wait-for-deployment` action and `operation-id`). `headline`, `item_rows` and
`format_duration` are the plain-text pieces the terminal runner and the one-line annotations reuse.
Everything here is a pure function of its arguments: no environment, no clock, no printing.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from fabric_ci.errors import DeploymentFailed, FabricCiError, InputError, InputErrors, WaitTimeout
from fabric_ci.models.results import (
    AddUserResult,
    AssignWorkspaceResult,
    CreatePipelineResult,
    DeletePipelineResult,
    DeployedItem,
    DeployManyResult,
    DeploymentPlan,
    DeploymentRecord,
    DeploymentResult,
    DeploymentStatusResult,
    EntryOutcome,
    HistoryResult,
    PipelineListResult,
    PipelineViewResult,
    Progress,
    Removal,
    RemoveUserResult,
    Result,
    UnassignWorkspaceResult,
    UpdateStageResult,
)

__all__ = [
    "GITHUB_WORDING",
    "PRESENTATIONS",
    "SUMMARY_BUDGET_BYTES",
    "ItemRow",
    "Presentation",
    "Table",
    "Wording",
    "facts",
    "format_duration",
    "format_elapsed",
    "headline",
    "input_errors",
    "item_rows",
    "md",
    "progress_line",
    "render_failure",
    "render_summary",
    "tables",
]

# GitHub refuses a step summary over 1 MiB; stay far below it so a summary written by an earlier
# step of the same action, or a caller's own additions, still fit.
SUMMARY_BUDGET_BYTES = 256 * 1024
# Remote text (item error messages, notes) is cut here: a table cell is no place for a stack trace.
MAX_CELL_CHARS = 500
MAX_MESSAGE_CHARS = 4000

R = TypeVar("R", bound=Result)

_STATUS_ICONS = {"Succeeded": "✅", "Failed": "❌", "Running": "⏳", "NotStarted": "⏳", "Skipped": "⏭️"}


def _as_written(text: str) -> str:
    return text


def _input_error_as_written(error: InputError) -> str:
    return error.message


@dataclass(frozen=True)
class Wording:
    """How a CI system's users name fabric-ci's steps, inputs and outputs, for the summary's sentences.

    The defaults are GitHub's (and the terminal's): the command's own kebab-case names. `message`
    rewrites one of fabric-ci's messages (an error, a grant's description) for the reader; `input_error`
    is how one invalid input is reported (the runner's own annotation text, so the two agree).
    """

    wait_step: str = "the `wait-for-deployment` action"  # what follows a deployment in a later step
    name: Callable[[str], str] = _as_written  # an input's or output's name: `operation-id`
    message: Callable[[str], str] = _as_written
    input_error: Callable[[InputError], str] = _input_error_as_written


GITHUB_WORDING = Wording()


class ItemRow(NamedTuple):
    """One deployed item as plain text; each runner formats it its own way."""

    name: str
    type: str
    change: str
    result: str
    error: str | None


# --- plain text ----------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """`9s`, `2m 05s`, `1h 02m`; an em dash when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_elapsed(seconds: float) -> str:
    """`00:12`, `12:34`, `1:02:03`."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def progress_line(progress: Progress) -> str:
    """A progress snapshot as one log line: `Running: 3/6 steps done, 00:12 elapsed`."""
    steps = f" {progress.steps_done}/{progress.steps_total} steps done," if progress.steps_total else ""
    return f"{progress.label}:{steps} {format_elapsed(progress.elapsed_seconds)} elapsed"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _route(result: DeploymentResult) -> str | None:
    if result.source_stage and result.target_stage:
        return f"{result.source_stage.name} → {result.target_stage.name}"
    return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _is_still_running(result: DeploymentResult, error: FabricCiError | None) -> bool:
    return isinstance(error, WaitTimeout) or (result.waited and result.status in ("NotStarted", "Running"))


def _deployment_headline(result: DeploymentResult, error: FabricCiError | None) -> str:
    src = result.source_stage.name if result.source_stage else None
    tgt = result.target_stage.name if result.target_stage else None
    between = f" from {src} to {tgt}" if src and tgt else ""
    if result.status == "Planned":
        counts = (result.plan or DeploymentPlan()).counts_text()
        if error is not None:
            return f"The deployment{between} would be refused ({counts}); nothing was deployed"
        return f"Plan of the deployment{between}: {counts}; nothing was deployed"
    if result.status == "Failed" or isinstance(error, DeploymentFailed):
        failed = len(result.failed_items)
        detail = f": {_plural(failed, 'item')} failed" if failed else ""
        return f"Deployment{between} failed{detail} (operation {result.operation_id})"
    if _is_still_running(result, error):
        return (
            f"Deployment{between} still {result.status} after the timeout; "
            f"it was left running (operation {result.operation_id})"
        )
    if result.status == "Succeeded":
        duration = f" in {format_duration(result.duration_seconds)}" if result.duration_seconds else ""
        return f"Deployed {_plural(len(result.items), 'item')}{between}{duration}"
    return f"Deployment{between} started (operation {result.operation_id}); not waiting for it"


def _deployment_facts(result: DeploymentResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", result.pipeline_name),
        ("Stages", _route(result)),
        ("Status", result.status),
        ("Operation", result.operation_id or None),
        ("Duration", format_duration(result.duration_seconds) if result.duration_seconds else None),
        ("Note", result.note),
    ]


def _assign_headline(result: AssignWorkspaceResult, _error: FabricCiError | None) -> str:
    if result.previous_workspace_id == result.workspace_id:
        return (
            f"Workspace {result.workspace_id} was already assigned to stage {result.stage.name} "
            f"of {result.pipeline_name}"
        )
    return f"Assigned workspace {result.workspace_id} to stage {result.stage.name} of {result.pipeline_name}"


def _assign_facts(result: AssignWorkspaceResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", result.pipeline_name),
        ("Stage", result.stage.name),
        ("Workspace", result.workspace_id),
        ("Previously", result.previous_workspace_id),
    ]


def _unassign_headline(result: UnassignWorkspaceResult, _error: FabricCiError | None) -> str:
    if not result.changed:
        return f"Stage {result.stage.name} of {result.pipeline_name} has no workspace assigned; nothing changed"
    return f"Unassigned workspace {result.workspace_id} from stage {result.stage.name} of {result.pipeline_name}"


def _unassign_facts(result: UnassignWorkspaceResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", result.pipeline_name),
        ("Stage", result.stage.name),
        ("Workspace", result.workspace_id),
        ("Changed", "yes" if result.changed else "no"),
    ]


def _create_headline(result: CreatePipelineResult, _error: FabricCiError | None) -> str:
    stages = ", ".join(s.name for s in result.stages)
    if result.created:
        return f"Created deployment pipeline {result.pipeline_name} with stages {stages}"
    if result.assigned:
        assigned = ", ".join(result.assigned)
        return f"Deployment pipeline {result.pipeline_name} was there already; assigned workspaces to {assigned}"
    return f"Deployment pipeline {result.pipeline_name} already exists with stages {stages}; nothing changed"


def _create_facts(result: CreatePipelineResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", f"{result.pipeline_name} ({result.pipeline_id})"),
        ("Stages", ", ".join(s.name for s in result.stages)),
        ("Assigned", ", ".join(result.assigned) or None),
        ("Changed", "yes" if result.changed else "no"),
    ]


def _delete_headline(result: DeletePipelineResult, _error: FabricCiError | None) -> str:
    if not result.changed:
        return f"No deployment pipeline {result.pipeline_name} is visible; nothing was deleted"
    return f"Deleted deployment pipeline {result.pipeline_name}"


def _delete_facts(result: DeletePipelineResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", result.pipeline_name),
        ("Pipeline id", result.pipeline_id),
        ("Unassigned workspaces", ", ".join(result.workspaces.values()) or None),
        ("Changed", "yes" if result.changed else "no"),
    ]


def _update_stage_headline(result: UpdateStageResult, _error: FabricCiError | None) -> str:
    if not result.changed:
        return f"Stage {result.stage.name} of {result.pipeline_name} already as asked; nothing changed"
    return f"Updated stage {result.stage.name} of {result.pipeline_name}: " + ", ".join(c.field for c in result.changes)


def _update_stage_facts(result: UpdateStageResult) -> list[tuple[str, str | None]]:
    return [
        ("Pipeline", result.pipeline_name),
        ("Stage", result.stage.name),
        *((c.field, f"{c.before} -> {c.after}") for c in result.changes),
        ("Changed", "yes" if result.changed else "no"),
    ]


def _add_user_headline(result: AddUserResult, _error: FabricCiError | None) -> str:
    who = f"{result.principal} ({result.principal_type})"
    return f"{who} " + "; ".join(g.describe() for g in result.grants)


def _add_user_facts(result: AddUserResult) -> list[tuple[str, str | None]]:
    facts: list[tuple[str, str | None]] = [("Principal", f"{result.principal} ({result.principal_type})")]
    facts += [(g.kind.capitalize(), f"{g.name or g.id}: {g.role}") for g in result.grants]
    return [*facts, ("Changed", "no" if result.already_had_role else "yes")]


def _remove_user_headline(result: RemoveUserResult, _error: FabricCiError | None) -> str:
    who = f"{result.principal} ({result.principal_type})"
    return f"{who} " + "; ".join(r.describe() for r in result.removals)


def _removal_fact(removal: Removal) -> str:
    return f"{removal.name or removal.id}: " + (f"{removal.removed_role} removed" if removal.changed else "no role")


def _remove_user_facts(result: RemoveUserResult) -> list[tuple[str, str | None]]:
    facts: list[tuple[str, str | None]] = [("Principal", f"{result.principal} ({result.principal_type})")]
    facts += [(r.kind.capitalize(), _removal_fact(r)) for r in result.removals]
    return [*facts, ("Changed", "yes" if result.changed else "no")]


def headline(result: Result, error: FabricCiError | None = None) -> str:
    """One plain-text line saying what happened, for a notice annotation or a terminal."""
    return presentation_of(result).headline(result, error)


def facts(result: Result) -> list[tuple[str, str | None]]:
    """The facts of a result as (label, plain text) pairs; None: not known, left out."""
    return presentation_of(result).facts(result)


def _item_row(item: DeployedItem) -> ItemRow:
    return ItemRow(
        name=item.name,
        type=item.type,
        change=item.diff_state or "—",
        result=item.status,
        error=item.error if item.status == "Failed" else None,
    )


def item_rows(result: DeploymentResult) -> list[ItemRow]:
    """The deployed items as plain-text rows, failed items first so they are seen."""
    rows = [_item_row(i) for i in result.items]
    return sorted(rows, key=lambda r: r.result != "Failed")


def input_errors(error: FabricCiError) -> list[InputError]:
    """The individual input errors inside an error, or none."""
    if isinstance(error, InputErrors):
        return list(error.errors)
    if isinstance(error, InputError):
        return [error]
    return []


# --- Markdown ------------------------------------------------------------------------------------


def md(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """Remote text made inert for a Markdown table cell or line.

    HTML-escaped so a name cannot open a tag; backslash before pipe, because GFM reads `\\\\|` as
    an escaped backslash followed by a cell boundary; brackets escaped so that a name any pipeline Admin
    can set (`[Approve here](https://...)`) is no link or image; newlines become `<br>` so a row stays a row.
    """
    text = html.escape(_truncate(text, limit), quote=False)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
    return text.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")


def _facts(pairs: Sequence[tuple[str, str | None]]) -> str:
    return " · ".join(f"**{label}:** {value}" for label, value in pairs if value)


def _error_section(error: FabricCiError, wording: Wording) -> list[str]:
    lines = ["#### What went wrong", ""]
    errors = input_errors(error)
    if errors:
        lines.append(f"**{md(error.title)}.** Nothing was changed. Fix these inputs and run again:")
        lines.append("")
        lines.extend(f"- {md(wording.input_error(e), MAX_MESSAGE_CHARS)}" for e in errors)
    else:
        lines.append(f"**{md(error.title)}.** {md(wording.message(error.message), MAX_MESSAGE_CHARS)}")
    return [*lines, ""]


def _item_table(result: DeploymentResult, budget: int, wording: Wording) -> list[str]:
    rows = item_rows(result)
    if not rows:
        return ["_The service reported no items for this deployment._", ""]
    lines = ["| Item | Type | Change | Result |", "| --- | --- | --- | --- |"]
    used = sum(len(line.encode()) + 1 for line in lines)
    for shown, row in enumerate(rows):
        outcome = f"{_STATUS_ICONS.get(row.result, '')} {md(row.result)}".strip()
        if row.error:
            outcome += f": {md(row.error)}"
        line = f"| {md(row.name)} | {md(row.type)} | {md(row.change)} | {outcome} |"
        size = len(line.encode()) + 1
        if used + size > budget:
            rest = len(rows) - shown
            output = wording.name("deployed-items")
            lines += ["", f"_…and {_plural(rest, 'more item')}, listed in the `{output}` output._"]
            break
        lines.append(line)
        used += size
    return [*lines, ""]


def _deployment(result: DeploymentResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if result.status == "Planned":
        return _plan_section(result, error, wording)
    route = _route(result)
    if result.status == "Failed" or isinstance(error, DeploymentFailed):
        heading = "### ❌ Deployment failed"
    elif _is_still_running(result, error):
        heading = "### ⏳ Still running after timeout"
    elif error is not None:
        heading = f"### ❌ {md(error.title)}"
    elif result.status == "Succeeded":
        heading = f"### ✅ Deployed {md(route)}" if route else "### ✅ Deployment succeeded"
    else:
        heading = f"### 🚀 Deployment started {md(route)}" if route else "### 🚀 Deployment started"
    facts = _facts(
        [
            ("Pipeline", md(result.pipeline_name)),
            ("Stages", md(route) if route and not heading.endswith(md(route)) else None),
            ("Operation", md(result.operation_id)),
            ("Status", md(result.status)),
            ("Duration", format_duration(result.duration_seconds) if result.duration_seconds else None),
        ]
    )
    lines = [heading, "", facts, ""]
    if result.note:
        lines += [f"**Note:** {md(result.note)}", ""]
    follow = f"{wording.wait_step} with `{wording.name('operation-id')}: {md(result.operation_id)}`"
    if _is_still_running(result, error):
        lines += [f"The deployment was left running. To wait for it in a later step, use {follow}.", ""]
    elif not result.waited and result.status not in ("Succeeded", "Failed"):
        lines += [
            f"Not waiting for the deployment (`{wording.name('wait')}: false`). To wait for it later, use {follow}.",
            "",
        ]
    # Everything but the table is small; the table gets what is left of the budget.
    head = "\n".join(lines)
    tail = "\n".join(_error_section(error, wording)) if error else ""
    budget = SUMMARY_BUDGET_BYTES - len(head.encode()) - len(tail.encode()) - 1024
    lines += _item_table(result, budget, wording)
    if error:
        lines += _error_section(error, wording)
    return lines


_ACTION_ICONS = {"create": "➕", "overwrite": "✏️", "skipped": "⏭️", "untouched": "▫️"}


def _plan_section(result: DeploymentResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    plan = result.plan or DeploymentPlan()
    route = _route(result)
    heading = f"### ❌ {md(error.title)}" if error else f"### 📋 Plan {md(route) if route else ''}".rstrip()
    facts = _facts(
        [
            ("Pipeline", md(result.pipeline_name)),
            ("Stages", md(route) if route and error else None),
            ("Plan", md(plan.counts_text())),
            ("Definition requests", str(plan.definition_requests) if plan.compared else None),
        ]
    )
    lines = [heading, "", facts, ""]
    if not error:
        lines += [f"Nothing was deployed (`{wording.name('plan')}: true`).", ""]
    if not plan.items:
        lines += ["_Neither stage holds any item._", ""]
    else:
        rows = ["| Item | Type | Action | Details |", "| --- | --- | --- | --- |"]
        used = sum(len(line.encode()) + 1 for line in lines + rows)
        budget = SUMMARY_BUDGET_BYTES - 8 * 1024
        for shown, item in enumerate(plan.items):
            action = f"{_ACTION_ICONS.get(item.action, '')} {item.action}".strip()
            row = f"| {md(item.name)} | {md(item.type)} | {action} | {md(item.details())} |"
            if used + len(row.encode()) + 1 > budget:
                rest = len(plan.items) - shown
                rows += ["", f"_…and {_plural(rest, 'more item')}, listed in the `{wording.name('plan')}` output._"]
                break
            rows.append(row)
            used += len(row.encode()) + 1
        lines += [*rows, ""]
    return lines + (_error_section(error, wording) if error else [])


def _assign(result: AssignWorkspaceResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    heading = f"### ❌ {md(error.title)}" if error else "### ✅ Workspace assigned"
    previous = result.previous_workspace_id
    facts = _facts(
        [
            ("Pipeline", md(result.pipeline_name)),
            ("Stage", md(result.stage.name)),
            ("Workspace", md(result.workspace_id)),
            ("Previously", md(previous) if previous and previous != result.workspace_id else None),
        ]
    )
    lines = [heading, "", facts, ""]
    if previous == result.workspace_id:
        lines += ["The workspace was already assigned to this stage; nothing changed.", ""]
    return lines + (_error_section(error, wording) if error else [])


def _unassign(result: UnassignWorkspaceResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    else:
        heading = "### ✅ Workspace unassigned" if result.changed else "### ✅ Stage already without a workspace"
    workspace = result.workspace_id
    if workspace and result.workspace_name:
        workspace = f"{workspace} ({result.workspace_name})"
    facts = _facts(
        [
            ("Pipeline", md(result.pipeline_name)),
            ("Stage", md(result.stage.name)),
            ("Workspace", md(workspace) if workspace else None),
        ]
    )
    lines = [heading, "", facts, ""]
    if not error and result.changed:
        lines += [
            "The stage has no workspace now, and its deployment history and deployment rules are gone. "
            "The workspace itself was not deleted.",
            "",
        ]
    elif not error:
        lines += ["The stage had no workspace assigned; nothing changed.", ""]
    return lines + (_error_section(error, wording) if error else [])


def _create(result: CreatePipelineResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    elif result.created:
        heading = "### ✅ Pipeline created"
    else:
        heading = "### ✅ Pipeline already there" + (", workspaces assigned" if result.assigned else "")
    lines = [heading, "", _facts([("Pipeline", md(result.pipeline_name)), ("Id", md(result.pipeline_id))]), ""]
    lines += ["| Order | Stage | Stage id | Workspace |", "| --- | --- | --- | --- |"]
    for stage in result.stages:
        workspace = result.workspaces.get(stage.name)
        shown = "—"
        if workspace:
            shown = md(workspace) + (" (assigned now)" if stage.name in result.assigned else "")
        lines.append(f"| {stage.order} | {md(stage.name)} | {md(stage.id)} | {shown} |")
    lines.append("")
    if not error and not result.changed:
        lines += ["A pipeline of that name with these stages was there already; nothing changed.", ""]
    return lines + (_error_section(error, wording) if error else [])


def _delete(result: DeletePipelineResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    else:
        heading = "### ✅ Deployment pipeline deleted" if result.changed else "### ✅ No such deployment pipeline"
    facts = _facts([("Pipeline", md(result.pipeline_name)), ("Pipeline id", md(result.pipeline_id or "") or None)])
    lines = [heading, "", facts, ""]
    if not error and result.changed:
        lines += [
            "The pipeline, its stages' deployment history, its deployment rules and the pairing of items between "
            "stages are gone. Its workspaces and their content were not deleted: they are no longer assigned to "
            "any stage.",
            "",
        ]
        if result.workspaces:
            lines += ["| Stage | Workspace (now unassigned) |", "| --- | --- |"]
            lines += [f"| {md(stage)} | {md(ws)} |" for stage, ws in result.workspaces.items()]
            lines.append("")
    elif not error:
        lines += [
            "This principal sees no such pipeline, so nothing was deleted. A principal sees only the pipelines it "
            "is an Admin of: the pipeline may exist without this principal having access to it.",
            "",
        ]
    return lines + (_error_section(error, wording) if error else [])


def _update_stage(result: UpdateStageResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    else:
        heading = "### ✅ Stage updated" if result.changed else "### ✅ Stage already as asked"
    facts = _facts([("Pipeline", md(result.pipeline_name)), ("Stage", md(result.stage.name))])
    lines = [heading, "", facts, ""]
    if result.changes:
        lines += ["| Field | Before | After |", "| --- | --- | --- |"]
        lines += [f"| {c.field} | {md(c.before)} | {md(c.after)} |" for c in result.changes]
        lines.append("")
    elif not error:
        lines += ["The stage already had what was asked; nothing was sent.", ""]
    return lines + (_error_section(error, wording) if error else [])


def _add_user(result: AddUserResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    else:
        heading = "### ✅ Access unchanged" if result.already_had_role else "### ✅ Access granted"
    facts = _facts(
        [("Principal", f"{md(result.principal)} ({md(result.principal_type)})")]
        + [(g.kind.capitalize(), f"{md(g.name or g.id)}: {md(g.role)}") for g in result.grants]
    )
    lines = [heading, "", facts, ""]
    lines += [f"The principal {md(wording.message(g.describe()))}." for g in result.grants] + [""]
    return lines + (_error_section(error, wording) if error else [])


def _remove_user(result: RemoveUserResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    if error:
        heading = f"### ❌ {md(error.title)}"
    else:
        heading = "### ✅ Access removed" if result.changed else "### ✅ Access unchanged"
    facts = _facts(
        [("Principal", f"{md(result.principal)} ({md(result.principal_type)})")]
        + [(r.kind.capitalize(), md(_removal_fact(r))) for r in result.removals]
    )
    lines = [heading, "", facts, ""]
    lines += [f"The principal {md(wording.message(r.describe()))}." for r in result.removals] + [""]
    return lines + (_error_section(error, wording) if error else [])


def render_summary(result: Result, error: FabricCiError | None = None, wording: Wording = GITHUB_WORDING) -> str:
    """Markdown for a job summary: what happened, and what failed and how to fix it."""
    return "\n".join(presentation_of(result).markdown(result, error, wording))


def render_failure(error: FabricCiError, wording: Wording = GITHUB_WORDING) -> str:
    """Markdown for a command that failed before it had any result (bad inputs, sign-in)."""
    return "\n".join([f"### ❌ {md(error.title)}", "", *_error_section(error, wording)])


# --- deploy-many --------------------------------------------------------------------------------

_ENTRY_ICONS = {
    "Succeeded": "✅",
    "Failed": "❌",
    "TimedOut": "⏳",
    "Cancelled": "🛑",
    "Skipped": "⏭️",
    "NotStarted": "▫️",
}


def _changed(entry: EntryOutcome) -> int | None:
    if entry.result is None:
        return None
    return sum(1 for item in entry.result.items if item.diff_state in ("New", "Different"))


def _many_headline(result: DeployManyResult, error: FabricCiError | None) -> str:
    ok = sum(e.status == "Succeeded" for e in result.entries)
    if error is None:
        return f"All {len(result.entries)} deployments succeeded"
    return f"{ok} of {len(result.entries)} deployments succeeded"


def _many_facts(result: DeployManyResult) -> list[tuple[str, str | None]]:
    facts: list[tuple[str, str | None]] = []
    for entry in result.entries:
        operation = entry.result.operation_id if entry.result and entry.result.operation_id else None
        text = entry.status + (f" ({operation})" if operation else "")
        if entry.started is not None and entry.ended is not None:
            text += f", {format_duration(entry.ended - entry.started)}"
        facts.append((entry.name, text))
    return facts


def _gantt(result: DeployManyResult) -> list[str]:
    """A Mermaid Gantt chart of the run (GitHub renders it): what ran in parallel, what waited.
    Times are seconds from the run's start; Mermaid's `dateFormat X` reads them as epoch seconds."""
    ran = [(e, e.started, e.ended) for e in result.entries if e.started is not None and e.ended is not None]
    if not ran:
        return []
    lines = ["```mermaid", "gantt", "    dateFormat X", "    axisFormat %M:%S"]
    for entry, started, ended in ran:
        tag = {"Failed": "crit, ", "TimedOut": "active, ", "Cancelled": "active, "}.get(entry.status, "")
        # Mermaid reads `:` and `#` in a task's name as syntax.
        name = entry.name.replace(":", " ").replace("#", " ").replace(";", " ")
        end = max(int(ended), int(started) + 1)
        lines.append(f"    {name} : {tag}{int(started)}, {end}")
    return [*lines, "```", ""]


def _many(result: DeployManyResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    heading = (
        f"### ✅ {md(_many_headline(result, None))}" if error is None else f"### ❌ {md(_many_headline(result, error))}"
    )
    lines = [
        heading,
        "",
        "| Entry | Status | Operation | Duration | Items changed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in result.entries:
        status = f"{_ENTRY_ICONS.get(entry.status, '')} {entry.status}".strip()
        if entry.error and entry.status != "Succeeded":
            status += f": {md(entry.error)}"
        operation = md(entry.result.operation_id) if entry.result and entry.result.operation_id else "—"
        took = (
            format_duration(entry.ended - entry.started)
            if entry.started is not None and entry.ended is not None
            else "—"
        )
        changed = _changed(entry)
        lines.append(f"| {md(entry.name)} | {status} | {operation} | {took} | {'—' if changed is None else changed} |")
    lines.append("")
    lines += _gantt(result)
    if result.running:
        follow = ", ".join(f"{md(e.name)} (`{md(e.result.operation_id)}`)" for e in result.running if e.result)
        lines += [f"Left running, not cancelled: {follow}. Follow each with {wording.wait_step}.", ""]
    return lines + (_error_section(error, wording) if error else [])


# --- the read-only commands: listings --------------------------------------------------------------


class Table(NamedTuple):
    """A listing for people, in plain text: the terminal fits it to its width (runners/tables.py), a
    job summary writes it as Markdown. Cells are text; an unknown value is an em dash."""

    title: str | None
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    shrinkable: tuple[int, ...] = ()  # the name columns, cut to fit a terminal; ids and counts never are
    details: tuple[str, ...] = ()  # one line under each row (history's stages, who and note); () for none
    empty: str = ""  # what the terminal says instead of a table without rows


def _no_tables(_result: Result) -> list[Table]:
    return []


def _no_facts(_result: Result) -> list[tuple[str, str | None]]:
    return []


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def _list_headline(result: PipelineListResult, _error: FabricCiError | None) -> str:
    if not result.pipelines:
        return "No deployment pipeline is visible to this principal"
    return f"{_plural(len(result.pipelines), 'deployment pipeline')} visible to this principal"


def _list_tables(result: PipelineListResult) -> list[Table]:
    rows = tuple((p.name, p.id, _count(p.stage_count), _yes_no(p.admin)) for p in result.pipelines)
    return [Table(None, ("Name", "Id", "Stages", "Admin"), rows, shrinkable=(0,))] if rows else []


def _show_headline(result: PipelineViewResult, _error: FabricCiError | None) -> str:
    return f"{result.pipeline_name}: {_plural(len(result.stages), 'stage')}"


def _show_facts(result: PipelineViewResult) -> list[tuple[str, str | None]]:
    return [("Pipeline id", result.pipeline_id), ("Description", result.description or None)]


def _show_tables(result: PipelineViewResult) -> list[Table]:
    stages = result.stages
    tables = [
        Table(
            None,
            ("#", "Stage", "Workspace", "Items", "Public"),
            tuple(
                (str(s.order), s.name, s.workspace_name or "—", _count(s.item_count), _yes_no(s.public)) for s in stages
            ),
            shrinkable=(1, 2),
        ),
        # The ids apart: two GUIDs take 72 of a terminal's 80 columns, and they are what a script copies.
        Table(
            None, ("#", "Stage id", "Workspace id"), tuple((str(s.order), s.id, s.workspace_id or "—") for s in stages)
        ),
    ]
    for index, stage in enumerate(stages):
        if stage.items is None:
            continue
        following = stages[index + 1] if index + 1 < len(stages) else None
        header: tuple[str, ...] = ("Type", "Item", "Last deployed (UTC)")
        if following is not None:
            # The stage's name, remote text, kept short: a header is the least a column can be cut to.
            header = ("Type", "Item", f"Paired in {_truncate(following.name, 20)}", "Last deployed (UTC)")
        rows = []
        for item in stage.items:
            # A pair the next stage did not list has only its id, which the JSON keeps: a name column
            # is cut to fit, and ids are never cut.
            unlisted = "(not listed)" if item.paired_id else "—"
            paired = (item.paired_name or unlisted,) if following is not None else ()
            rows.append((item.type, item.name, *paired, _moment(item.last_deployed)))
        counted = stage.workspace_id is not None and stage.items_readable
        if stage.workspace_id is None:
            empty = "no workspace assigned"
        elif not stage.items_readable:
            empty = "not shown: listing them needs the Contributor role on the stage's workspace"
        else:
            empty = "no items"
        tables.append(
            Table(
                f"{stage.name}: {_plural(len(stage.items), 'item')}" if counted else stage.name,
                header,
                tuple(rows),
                shrinkable=(1, 2) if following is not None else (1,),
                empty=empty,
            )
        )
    return tables


def _moment(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _history_headline(result: HistoryResult, _error: FabricCiError | None) -> str:
    if not result.deployments:
        return f"No deployment in the history of {result.pipeline_name}"
    return f"{_plural(len(result.deployments), 'most recent deployment')} of {result.pipeline_name}, newest first"


def _history_facts(result: HistoryResult) -> list[tuple[str, str | None]]:
    return [("Pipeline id", result.pipeline_id)]


def _history_detail(record: DeploymentRecord) -> str:
    parts = []
    if record.source_stage or record.target_stage:
        parts.append(f"{record.source_stage or '?'} → {record.target_stage or '?'}")
    if record.performed_by:
        parts.append(f"by {record.performed_by}")
    if record.note:
        parts.append(f"note: {record.note}")
    return " · ".join(parts)


def _history_tables(result: HistoryResult) -> list[Table]:
    if not result.deployments:
        return []
    rows = tuple((d.id, d.status, _moment(d.started), format_duration(d.duration_seconds)) for d in result.deployments)
    details = tuple(_history_detail(d) for d in result.deployments)
    return [Table(None, ("Deployment id", "Status", "Started (UTC)", "Took"), rows, details=details)]


def _listing_presentation(
    headline: Callable[[R, FabricCiError | None], str],
    facts: Callable[[R], list[tuple[str, str | None]]],
    listed: Callable[[R], list[Table]],
    output: str,
) -> Presentation[R]:
    """A read-only command's presentation: its headline, its facts and its tables, which the job summary
    writes as Markdown until the summary budget is spent (the rest is in the `output` output)."""

    def markdown(result: R, error: FabricCiError | None, wording: Wording) -> list[str]:
        heading = f"### ❌ {md(error.title)}" if error else f"### {md(headline(result, None))}"
        lines = [heading, ""]
        pairs = [(label, md(value)) for label, value in facts(result) if value]
        if pairs:
            lines += [_facts(pairs), ""]
        budget = SUMMARY_BUDGET_BYTES - 8 * 1024
        used = sum(len(line.encode()) + 1 for line in lines)
        left_out = 0
        for table in listed(result):
            if left_out:
                left_out += len(table.rows)
                continue
            if table.title:
                lines += [f"#### {md(table.title)}", ""]
            if not table.rows:
                lines += [f"_{md(table.empty or 'none')}_", ""]
                continue
            header = [*table.header, *(("Details",) if table.details else ())]
            lines += ["| " + " | ".join(md(h) for h in header) + " |", "|" + " --- |" * len(header)]
            for index, row in enumerate(table.rows):
                cells = [*row, *((table.details[index],) if table.details else ())]
                line = "| " + " | ".join(md(c) for c in cells) + " |"
                used += len(line.encode()) + 1
                if used > budget:
                    left_out = len(table.rows) - index
                    break
                lines.append(line)
            lines.append("")
        if left_out:
            lines += [f"_…and {_plural(left_out, 'more row')}, in the `{wording.name(output)}` output._", ""]
        return lines + (_error_section(error, wording) if error else [])

    return Presentation(headline, facts, markdown, listed)


_ENDED_ITEM_STATUSES = frozenset({"Succeeded", "Failed", "Skipped"})


def _status_headline(result: DeploymentStatusResult, _error: FabricCiError | None) -> str:
    route = _route(result)
    between = f" from {route.replace(' → ', ' to ')}" if route else ""
    which = f"Deployment {result.operation_id}{between}"
    if result.status == "Succeeded":
        took = f" in {format_duration(result.duration_seconds)}" if result.duration_seconds else ""
        return f"{which} succeeded{took}: {_plural(len(result.items), 'item')}"
    if result.status == "Failed":
        return f"{which} failed: {_plural(len(result.failed_items), 'item')} failed"
    if result.status == "NotStarted":
        return f"{which} has not started yet"
    done = sum(1 for i in result.items if i.status in _ENDED_ITEM_STATUSES)
    steps = f": {done} of {len(result.items)} items done" if result.items else ""
    return f"{which} is running{steps}"


def _status(result: DeploymentStatusResult, error: FabricCiError | None, wording: Wording) -> list[str]:
    icon = _STATUS_ICONS.get(result.status, "")
    heading = f"### ❌ {md(error.title)}" if error else f"### {icon} {md(_status_headline(result, None))}"
    facts = _facts([(label, md(value)) for label, value in _deployment_facts(result) if value])
    lines = [heading, "", facts, ""]
    if result.status in ("NotStarted", "Running"):
        follow = f"{wording.wait_step} with `{wording.name('operation-id')}: {md(result.operation_id)}`"
        lines += [f"Not finished yet. To wait for it, use {follow}.", ""]
    lines += _item_table(result, SUMMARY_BUDGET_BYTES - 8 * 1024, wording)
    return lines + (_error_section(error, wording) if error else [])


@dataclass(frozen=True)
class Presentation(Generic[R]):
    """How one kind of result is shown: the headline, the plain-text facts (a terminal's report), its
    listings (`tables`: the read-only commands') and the Markdown of a job summary. Every runner
    shows results through these, and nothing else."""

    headline: Callable[[R, FabricCiError | None], str]
    facts: Callable[[R], list[tuple[str, str | None]]]
    markdown: Callable[[R, FabricCiError | None, Wording], list[str]]
    tables: Callable[[R], list[Table]] = _no_tables


# One per result type of the command registry (fabric_ci.commands; a test holds them in step).
PRESENTATIONS: dict[type[Result], Presentation[Any]] = {
    DeploymentResult: Presentation(_deployment_headline, _deployment_facts, _deployment),
    AssignWorkspaceResult: Presentation(_assign_headline, _assign_facts, _assign),
    UnassignWorkspaceResult: Presentation(_unassign_headline, _unassign_facts, _unassign),
    DeletePipelineResult: Presentation(_delete_headline, _delete_facts, _delete),
    UpdateStageResult: Presentation(_update_stage_headline, _update_stage_facts, _update_stage),
    CreatePipelineResult: Presentation(_create_headline, _create_facts, _create),
    AddUserResult: Presentation(_add_user_headline, _add_user_facts, _add_user),
    RemoveUserResult: Presentation(_remove_user_headline, _remove_user_facts, _remove_user),
    DeployManyResult: Presentation(_many_headline, _many_facts, _many),
    PipelineListResult: _listing_presentation(_list_headline, _no_facts, _list_tables, "pipelines"),
    PipelineViewResult: _listing_presentation(_show_headline, _show_facts, _show_tables, "stages"),
    HistoryResult: _listing_presentation(_history_headline, _history_facts, _history_tables, "deployments"),
    DeploymentStatusResult: Presentation(_status_headline, _deployment_facts, _status),
}


def presentation_of(result: Result) -> Presentation[Any]:
    return PRESENTATIONS[type(result)]


def tables(result: Result) -> list[Table]:
    """A result's listings, for a terminal (none for most commands)."""
    return presentation_of(result).tables(result)
