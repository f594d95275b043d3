"""What each command produces: one result model per command, turned into runner outputs.

Output names are the GitHub (kebab-case) spellings; other runners map them in one place.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

Status = Literal["NotStarted", "Running", "Succeeded", "Failed"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"Succeeded", "Failed"})


def normalise_status(raw: str) -> Status:
    """Map a service status to the four fabric-ci reports.

    Unknown statuses count as still running: both APIs say more may be added.
    """
    mapping: dict[str, Status] = {
        "NotStarted": "NotStarted",
        "Undefined": "NotStarted",
        "Running": "Running",
        "Executing": "Running",  # the Power BI API's spelling
        "Succeeded": "Succeeded",
        "Failed": "Failed",
    }
    return mapping.get(raw, "Running")


class Result(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    command: str  # the command that produced it (fabric_ci.commands)

    def outputs(self) -> dict[str, str]:
        """The step outputs, by their GitHub names."""
        raise NotImplementedError


class StageRef(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    order: int


class DeployedItem(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    type: str
    diff_state: str | None = None
    status: str
    error: str | None = None

    def as_output(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "diffState": self.diff_state,
            "status": self.status,
        }


class Progress(BaseModel):
    """A snapshot while waiting: enough for a progress line."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    elapsed_seconds: float
    status: Status | None  # None until the first status request has answered
    steps_done: int
    steps_total: int
    percent_complete: int | None = None

    @property
    def label(self) -> str:
        return self.status or "Waiting"


PlanAction = Literal["create", "overwrite", "skipped", "untouched"]
# With plan-compare: definitions, what the comparison of an overwritten item's definitions found.
PlanDiff = Literal["different", "unchanged", "not comparable"]


class PlannedItem(BaseModel):
    """What a deployment will do to one item (operations/plan.py).

    `create`: no paired item in the target stage; `overwrite`: the paired target item is replaced;
    `skipped`: a source item the deployment leaves out (`reason` says why); `untouched`: a target
    stage item no deployed item is paired with, which the deployment leaves as it is.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str  # the source item's id (for `untouched`, the target item's)
    name: str
    type: str
    action: PlanAction
    reason: str | None = None
    diff: PlanDiff | None = None  # None: not compared
    target_id: str | None = None  # the paired target item, for overwrite and untouched
    last_deployed: datetime | None = None  # the target item's last deployment time, when the service says

    def as_output(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "action": self.action,
            "reason": self.reason,
            "diff": self.diff,
            "lastDeployed": self.last_deployed.isoformat().replace("+00:00", "Z") if self.last_deployed else None,
        }

    def details(self) -> str:
        """Its last deployment, comparison and reason, for a log line or a table cell."""
        details = []
        if self.last_deployed is not None and self.action == "overwrite":
            details.append(f"last deployed {self.last_deployed:%Y-%m-%d %H:%M} UTC")
        if self.diff is not None:
            details.append(self.diff)
        if self.reason:
            details.append(self.reason)
        return "; ".join(details)


class DeploymentPlan(BaseModel):
    """What a deployment will do, read before it is sent; `refusals`: why the service would refuse it."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    items: tuple[PlannedItem, ...] = ()
    compared: bool = False  # plan-compare: definitions ran
    definition_requests: int = 0  # the requests plan-compare sent (getDefinition, its polls and results)
    refusals: tuple[str, ...] = ()

    def count(self, action: PlanAction, *, diff: PlanDiff | None = None) -> int:
        return sum(1 for i in self.items if i.action == action and (diff is None or i.diff == diff))

    @property
    def create(self) -> int:
        return self.count("create")

    @property
    def overwrite(self) -> int:
        return self.count("overwrite")

    @property
    def unchanged(self) -> int:
        """The overwrites plan-compare found unchanged (counted in `overwrite` too)."""
        return self.count("overwrite", diff="unchanged")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def deployed(self) -> int:
        return self.create + self.overwrite

    def counts_text(self) -> str:
        """`6 to create, 4 to overwrite (2 unchanged), 0 skipped`."""
        overwrite = f"{self.overwrite} to overwrite" + (f" ({self.unchanged} unchanged)" if self.compared else "")
        return f"{self.create} to create, {overwrite}, {self.skipped} skipped"

    def outputs(self) -> dict[str, str]:
        return {
            "plan": json.dumps([i.as_output() for i in self.items], separators=(",", ":")),
            "create": str(self.create),
            "overwrite": str(self.overwrite),
            "unchanged": str(self.unchanged),
            "skipped": str(self.skipped),
        }


class DeploymentResult(Result):
    pipeline_id: str
    pipeline_name: str
    operation_id: str  # "" for a plan (plan: true), which sends no deployment
    source_stage: StageRef | None = None
    target_stage: StageRef | None = None
    status: Status | Literal["Planned"]
    items: tuple[DeployedItem, ...] = ()
    duration_seconds: float | None = None
    note: str | None = None
    waited: bool = True
    plan: DeploymentPlan | None = None  # None for wait-for-deployment, which plans nothing

    def outputs(self) -> dict[str, str]:
        return {
            "operation-id": self.operation_id,
            "status": self.status,
            "pipeline-id": self.pipeline_id,
            "source-stage-id": self.source_stage.id if self.source_stage else "",
            "target-stage-id": self.target_stage.id if self.target_stage else "",
            "deployed-items": json.dumps([i.as_output() for i in self.items], separators=(",", ":")),
            "duration-seconds": "" if self.duration_seconds is None else f"{self.duration_seconds:.0f}",
            # deploy-all and selective-deploy always plan; wait-for-deployment never does.
            **(self.plan.outputs() if self.plan is not None else {}),
        }

    @property
    def failed_items(self) -> tuple[DeployedItem, ...]:
        return tuple(i for i in self.items if i.status == "Failed")


class AssignWorkspaceResult(Result):
    command: str = "assign-workspace"
    pipeline_id: str
    pipeline_name: str
    stage: StageRef
    workspace_id: str
    previous_workspace_id: str | None = None

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline_id,
            "stage-id": self.stage.id,
            "workspace-id": self.workspace_id,
        }


class UnassignWorkspaceResult(Result):
    command: str = "unassign-workspace"
    pipeline_id: str
    pipeline_name: str
    stage: StageRef
    workspace_id: str | None = None  # the workspace the stage had; None: it had none
    workspace_name: str | None = None

    @property
    def changed(self) -> bool:
        return self.workspace_id is not None

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline_id,
            "stage-id": self.stage.id,
            "workspace-id": self.workspace_id or "",
            "changed": "true" if self.changed else "false",
        }


class CreatePipelineResult(Result):
    command: str = "create-pipeline"
    pipeline_id: str
    pipeline_name: str
    created: bool  # False: a pipeline of that name and these stages was there already
    stages: list[StageRef]
    workspaces: dict[str, str] = {}  # stage name -> its workspace id, after the step
    assigned: list[str] = []  # the stages given their workspace by this step

    @property
    def changed(self) -> bool:
        return self.created or bool(self.assigned)

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline_id,
            "stage-ids": json.dumps({s.name: s.id for s in self.stages}, separators=(",", ":")),
            "changed": "true" if self.changed else "false",
        }


class DeletePipelineResult(Result):
    command: str = "delete-pipeline"
    pipeline_id: str | None = None  # None: no such pipeline was visible, nothing was deleted
    pipeline_name: str  # the pipeline's display name; as given when it was absent
    # The workspaces the stages had, each by its stage's name: unassigned now, not deleted.
    workspaces: dict[str, str] = {}

    @property
    def changed(self) -> bool:
        return self.pipeline_id is not None

    def outputs(self) -> dict[str, str]:
        return {"pipeline-id": self.pipeline_id or "", "changed": "true" if self.changed else "false"}


class StageChange(BaseModel):
    """One field update-stage changed, as the API names it, with its value before and after."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    field: str  # displayName, description or isPublic
    before: str
    after: str


class UpdateStageResult(Result):
    command: str = "update-stage"
    pipeline_id: str
    pipeline_name: str
    stage: StageRef  # as it is now (its new name when renamed)
    changes: list[StageChange] = []

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline_id,
            "stage-id": self.stage.id,
            "changed": "true" if self.changed else "false",
        }


class Grant(BaseModel):
    """A principal's role on one pipeline or workspace, as add-user left it."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    kind: Literal["pipeline", "workspace"]
    id: str
    name: str
    role: str  # the role the principal holds there now
    previous_role: str | None = None  # None: the principal had no role there
    # The role asked for, when the principal kept a higher one (add-user lowers none unless told to).
    asked_role: str | None = None

    @property
    def changed(self) -> bool:
        return self.previous_role != self.role

    @property
    def kept_higher(self) -> bool:
        return self.asked_role is not None and self.asked_role != self.role

    def describe(self) -> str:
        where = f"{self.kind} {self.name!r}" if self.name else f"{self.kind} {self.id}"
        if self.kept_higher:
            return (
                f"keeps {self.role} on {where}; asked for {self.asked_role}, which is lower: "
                "set allow-downgrade: true to lower it"
            )
        if not self.changed:
            return f"already was {self.role} of {where}"
        if self.previous_role:
            return f"was moved from {self.previous_role} to {self.role} on {where}"
        return f"was added as {self.role} of {where}"


class AddUserResult(Result):
    command: str = "add-user"
    principal: str
    principal_type: str
    pipeline: Grant | None = None
    workspace: Grant | None = None

    @property
    def grants(self) -> tuple[Grant, ...]:
        return tuple(g for g in (self.pipeline, self.workspace) if g is not None)

    @property
    def already_had_role(self) -> bool:
        return not any(g.changed for g in self.grants)

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline.id if self.pipeline else "",
            "principal": self.principal,
            "role": self.pipeline.role if self.pipeline else "",
            "workspace-id": self.workspace.id if self.workspace else "",
            "workspace-role": self.workspace.role if self.workspace else "",
            "changed": "false" if self.already_had_role else "true",
        }


class Removal(BaseModel):
    """A principal's role on one pipeline or workspace, as remove-user found it and took it off."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    kind: Literal["pipeline", "workspace"]
    id: str
    name: str
    removed_role: str | None = None  # the role taken off; None: the principal had none there

    @property
    def changed(self) -> bool:
        return self.removed_role is not None

    def describe(self) -> str:
        where = f"{self.kind} {self.name!r}" if self.name else f"{self.kind} {self.id}"
        if self.removed_role is None:
            return f"had no role on {where}; nothing to remove"
        return f"was removed from {where}, where it was {self.removed_role}"


class RemoveUserResult(Result):
    command: str = "remove-user"
    principal: str
    principal_type: str
    pipeline: Removal | None = None
    workspace: Removal | None = None

    @property
    def removals(self) -> tuple[Removal, ...]:
        return tuple(r for r in (self.pipeline, self.workspace) if r is not None)

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.removals)

    def outputs(self) -> dict[str, str]:
        return {
            "pipeline-id": self.pipeline.id if self.pipeline else "",
            "principal": self.principal,
            "removed-role": (self.pipeline.removed_role or "") if self.pipeline else "",
            "workspace-id": self.workspace.id if self.workspace else "",
            "removed-workspace-role": (self.workspace.removed_role or "") if self.workspace else "",
            "changed": "true" if self.changed else "false",
        }


# Running: accepted and not ended, only in the interim `results` written while the step runs.
EntryStatus = Literal["Succeeded", "Failed", "TimedOut", "Cancelled", "Skipped", "NotStarted", "Running"]


class EntryOutcome(BaseModel):
    """How one deploy-many entry ended; `started`/`ended` are seconds from the run's start."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    status: EntryStatus
    pipeline_id: str = ""
    result: DeploymentResult | None = None
    error: str | None = None  # why it failed, or why it was skipped or not started
    operation_id: str | None = None  # once accepted, before `result` exists (a Running entry)
    started: float | None = None
    ended: float | None = None

    def as_output(self) -> dict[str, object]:
        result = self.result
        return {
            "pipeline-id": (result.pipeline_id if result else self.pipeline_id) or None,
            "operation-id": (result.operation_id if result else self.operation_id) or None,
            "status": self.status,
            "duration-seconds": None
            if result is None or result.duration_seconds is None
            else round(result.duration_seconds),
            "deployed-items": [i.as_output() for i in result.items] if result else [],
        }


class DeployManyResult(Result):
    entries: tuple[EntryOutcome, ...]

    @property
    def succeeded(self) -> bool:
        return all(entry.status == "Succeeded" for entry in self.entries)

    @property
    def running(self) -> tuple[EntryOutcome, ...]:
        """Entries whose deployment was accepted and left running (timed out or cancelled)."""
        return tuple(
            e for e in self.entries if e.status in ("TimedOut", "Cancelled") and e.result and e.result.operation_id
        )

    def outputs(self) -> dict[str, str]:
        results = {entry.name: entry.as_output() for entry in self.entries}
        return {"results": json.dumps(results, separators=(",", ":"))}


# --- the read-only commands ---------------------------------------------------------------------


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _when(moment: datetime | None) -> str | None:
    # As pydantic writes it in the JSON document's `result` (`...Z`), so the two halves agree.
    return TypeAdapter(datetime).dump_python(moment, mode="json") if moment else None


class PipelineSummary(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    description: str | None = None
    stage_count: int | None = None  # None: the pipeline could not be read
    admin: bool | None  # None: not known (reading it kept failing)

    def as_output(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "stageCount": self.stage_count, "admin": self.admin}


class PipelineListResult(Result):
    pipelines: tuple[PipelineSummary, ...]

    def outputs(self) -> dict[str, str]:
        return {"pipelines": _compact([p.as_output() for p in self.pipelines])}


class StageItemView(BaseModel):
    """An item of a stage, and the item of the next stage it is paired with (deployments overwrite it)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    type: str
    last_deployed: datetime | None = None
    paired_id: str | None = None
    paired_name: str | None = None  # None with a paired_id: the next stage did not list it

    def as_output(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "lastDeployed": _when(self.last_deployed),
            "pairedId": self.paired_id,
            "pairedName": self.paired_name,
        }


class StageView(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    name: str
    order: int
    description: str | None = None
    workspace_id: str | None = None
    workspace_name: str | None = None
    public: bool | None = None  # None: the API does not say (Power BI)
    item_count: int | None = None  # None: no workspace, or its items not readable
    items_readable: bool = True  # False: listing them was refused (no Contributor role on the workspace)
    items: tuple[StageItemView, ...] | None = None  # None: not asked for (show-pipeline without items)

    def as_output(self) -> dict[str, object]:
        output: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "order": self.order,
            "workspaceId": self.workspace_id,
            "workspaceName": self.workspace_name,
            "public": self.public,
            "itemCount": self.item_count,
            "itemsReadable": self.items_readable,
        }
        if self.items is not None:
            output["items"] = [i.as_output() for i in self.items]
        return output


class PipelineViewResult(Result):
    pipeline_id: str
    pipeline_name: str
    description: str | None = None
    stages: tuple[StageView, ...]

    def outputs(self) -> dict[str, str]:
        return {"pipeline-id": self.pipeline_id, "stages": _compact([s.as_output() for s in self.stages])}


class DeploymentRecord(BaseModel):
    """One deployment of a pipeline's history."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    id: str
    status: Status
    source_stage: str | None = None  # the stage's name
    target_stage: str | None = None
    started: datetime | None = None
    duration_seconds: float | None = None  # None: still running, or the service gave no end
    performed_by: str | None = None
    note: str | None = None

    def as_output(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "sourceStage": self.source_stage,
            "targetStage": self.target_stage,
            "started": _when(self.started),
            "durationSeconds": None if self.duration_seconds is None else round(self.duration_seconds),
            "performedBy": self.performed_by,
            "note": self.note,
        }


class HistoryResult(Result):
    pipeline_id: str
    pipeline_name: str
    deployments: tuple[DeploymentRecord, ...]  # newest first

    def outputs(self) -> dict[str, str]:
        return {"pipeline-id": self.pipeline_id, "deployments": _compact([d.as_output() for d in self.deployments])}


class DeploymentStatusResult(DeploymentResult):
    """status: one deployment as it stands, read once (DeploymentResult's outputs, its own headline)."""
