"""What each command produces: one result model per command, turned into runner outputs.

Output names are the GitHub (kebab-case) spellings; other runners map them in one place.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

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
    model_config = ConfigDict(frozen=True)

    command: str  # the command that produced it (fabric_ci.commands)

    def outputs(self) -> dict[str, str]:
        """The step outputs, by their GitHub names."""
        raise NotImplementedError


class StageRef(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    order: int


class DeployedItem(BaseModel):
    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True)
    elapsed_seconds: float
    status: Status | None  # None until the first status request has answered
    steps_done: int
    steps_total: int
    percent_complete: int | None = None

    @property
    def label(self) -> str:
        return self.status or "Waiting"


class DeploymentResult(Result):
    pipeline_id: str
    pipeline_name: str
    operation_id: str
    source_stage: StageRef | None = None
    target_stage: StageRef | None = None
    status: Status
    items: tuple[DeployedItem, ...] = ()
    duration_seconds: float | None = None
    note: str | None = None
    waited: bool = True

    def outputs(self) -> dict[str, str]:
        return {
            "operation-id": self.operation_id,
            "status": self.status,
            "pipeline-id": self.pipeline_id,
            "source-stage-id": self.source_stage.id if self.source_stage else "",
            "target-stage-id": self.target_stage.id if self.target_stage else "",
            "deployed-items": json.dumps([i.as_output() for i in self.items], separators=(",", ":")),
            "duration-seconds": "" if self.duration_seconds is None else f"{self.duration_seconds:.0f}",
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

    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True)
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
