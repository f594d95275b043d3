"""The emulated tenant in memory: pipelines, workspaces, deployments, tokens, injected failures, request log.

Deployments are simulated from the clock alone: nothing runs in the background. Each query asks
"what does this deployment look like at time t?", and finished deployments are applied to the
target stage the first time anyone looks after they end (`settle`). The clock is injectable so
the timing can be tested without sleeping.

All public methods take the state's lock: the HTTP server answers requests on several threads.

Both APIs work on this one state: a deployment started through the Power BI API shows in the
Fabric operations view and the other way round, and a workspace's users are the Fabric API's
workspace role assignments. What only Power BI deployments do (`deploy(..., api="powerbi")`):

- Deployment options. A step whose item is New in the target needs allowCreateArtifact, one that
  overwrites an existing target item (Different or NoDifference) needs allowOverwriteArtifact; the
  effective value is the item's own option, else the deployment-wide one, else false. A name in
  `Settings.option_requirements` needs the named option as well. A missing option fails that step
  with the errorCode in `OPTION_ERROR_CODES` (its message names the option), and the deployment
  ends Failed there, as with `fail_items`. Fabric deployments have no such options.
- Apps. With updateAppInTargetWorkspace the target workspace must have an app, else the deploy
  request is refused with an opaque 400 `BadRequest` (the real service's error says nothing about
  apps either). When such a deployment ends Succeeded, the app records it: `App.last_updated_by`
  is the deployment id (read it from `TenantState.workspaces[id].app`).
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from fabric_ci.emulator import seed
from fabric_ci.emulator.definitions import DEFINITION_TYPES, DefinitionOperation, definition_parts
from fabric_ci.emulator.protocol import is_guid

Clock = Callable[[], float]

# The share of a deployment's duration spent NotStarted, before the first step runs.
NOT_STARTED_SHARE = 0.05
MAX_ITEMS_PER_DEPLOYMENT = 300
MAX_NOTE_LENGTH = 1024
# The pipeline operations list shows the most recent deployments only.
MAX_LISTED_OPERATIONS = 20
# The request log keeps the most recent requests only (the oldest are dropped), so that an emulator
# serving a long job stays small: about 10 MB at the usual 1 KB an entry, and at most about 700 MB
# with every body at the per-entry cap (server.MAX_LOGGED_BODY_BYTES).
MAX_LOGGED_REQUESTS = 10_000

TERMINAL_STATUSES = frozenset({"Succeeded", "Failed"})

# Power BI deployment options, and the step errorCode when a deployment needs one that is not true.
OPTION_ERROR_CODES = {
    "allowCreateArtifact": "ArtifactCreationNotAllowed",
    "allowOverwriteArtifact": "ArtifactOverwriteNotAllowed",
    "allowPurgeData": "PurgeDataNotAllowed",
    "allowOverwriteTargetArtifactLabel": "TargetArtifactLabelOverwriteNotAllowed",
    "allowSkipTilesWithMissingPrerequisites": "TilesWithMissingPrerequisitesNotAllowed",
    "allowTakeOver": "TakeOverNotAllowed",
}
_OPTION_REASONS = {
    "allowCreateArtifact": "it does not exist in the target stage and would be created",
    "allowOverwriteArtifact": "it would overwrite an existing item in the target stage",
    "allowPurgeData": "its schema differs from the target's, and the target's data must be purged",
    "allowOverwriteTargetArtifactLabel": "its sensitivity label would replace the target item's label",
    "allowSkipTilesWithMissingPrerequisites": "some of its tiles have no model or report in the target stage",
    "allowTakeOver": "the target copy is owned by someone else, and deploying takes it over",
}
WORKSPACE_ROLES = ("Admin", "Member", "Contributor", "Viewer")
# The error both APIs' role changes answer when the caller's own role does not allow them (the code
# the Fabric spec lists for "The caller does not have sufficient workspace permissions").
INSUFFICIENT_PRIVILEGES = "InsufficientPrivileges"
LAST_WORKSPACE_ADMIN = "LastWorkspaceAdmin"  # the emulator's code: the spec names none
# The Power BI admin APIs' quota: requests per rolling hour.
ADMIN_WINDOW_SECONDS = 3600

# Deployments run dependencies first: storage, then code, then models, then what sits on models.
_TYPE_RANK = {
    "Lakehouse": 0,
    "Warehouse": 0,
    "Eventhouse": 0,
    "KQLDatabase": 0,
    "Datamart": 1,
    "Environment": 1,
    "Notebook": 1,
    "DataPipeline": 1,
    "SparkJobDefinition": 1,
    "Dataflow": 1,
    "SemanticModel": 2,
    "Report": 3,
    "PaginatedReport": 3,
    "Dashboard": 4,
}
# Step descriptions as the service names them (the API still says "Dataset" for semantic models).
_STEP_DESCRIPTIONS = {"SemanticModel": "DatasetDeployment"}

_TYPE_LABELS = {"SemanticModel": "Semantic model", "PaginatedReport": "Paginated report"}


class FabricError(Exception):
    """A request the emulated service refuses; becomes a Fabric error body with this status and code."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        *,
        more_details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.more_details = more_details or []
        self.headers = headers or {}


@dataclass
class Settings:
    """What `Emulator.configure` can change while the emulator runs (each value is checked by `checked_settings`)."""

    operation_seconds: float = 8.0
    # Pipeline id -> how long its deployments run, in place of operation_seconds: pipelines of one
    # release take different times (deploy-many's cascade and its bench).
    pipeline_operation_seconds: dict[str, float] = field(default_factory=dict)
    # Retry-After seconds, as Microsoft's examples show them: 30 on the deploy answer (202) in
    # DeployAll.json and SelectiveDeploy.json, 20 on a running operation's state in
    # GetLongRunningOperationStateRunning.json. `retry_after` is also what injected 429s send
    # when the rule names none, and what a not-yet-available operation result asks.
    deploy_retry_after: int = 30
    retry_after: int = 20
    page_size: int = 2
    token_lifetime_seconds: int = 3600
    fail_items: frozenset[str] = frozenset()
    # Lifetime of the OIDC tokens the CI stand-ins issue; real ones live about 10 minutes.
    assertion_lifetime_seconds: int = 600
    # The subjects the GitHub and Azure DevOps stand-ins put in their tokens, and the subjects of the
    # app's federated credentials: set one apart from the other to reproduce a subject mismatch.
    github_subject: str = seed.GITHUB_SUBJECT
    azure_devops_subject: str = seed.AZURE_DEVOPS_SUBJECT
    federated_subjects: frozenset[str] = frozenset(seed.FEDERATED_SUBJECTS)
    # Power BI: item display name -> the deployment option (OPTION_ERROR_CODES) deploying it needs.
    option_requirements: dict[str, str] = field(default_factory=dict)
    # The Power BI admin APIs answer 429 beyond this many requests in a rolling hour.
    admin_requests_per_hour: int = 200
    # How long a new deployment stays out of the operations views (list and GET); the service's
    # lag is not documented, and fabric-ci accepts up to 30 s of it.
    listing_delay_seconds: float = 0.0
    # How long a getDefinition operation runs before its result is ready (the service's time is not
    # documented; its 202 asks for Retry-After like every long-running operation: `retry_after`).
    definition_seconds: float = 3.0


SETTING_NAMES = tuple(f.name for f in fields(Settings))


@dataclass
class Item:
    id: str
    display_name: str
    item_type: str
    version: int
    source_item_id: str | None = None
    target_item_id: str | None = None
    last_deployment_time: float | None = None


@dataclass
class App:
    """A workspace's org app. `last_updated_by`: the deployment that last updated it (updateAppSettings)."""

    name: str
    last_updated_by: str | None = None
    last_updated_at: float | None = None


@dataclass
class WorkspaceRole:
    """A principal's role in a workspace (Fabric types: User, Group, ServicePrincipal...)."""

    principal_id: str
    principal_type: str
    role: str


@dataclass(frozen=True)
class Principal:
    """A directory entry: an object id, its Fabric type, a display name and, for users, the UPN."""

    id: str
    principal_type: str
    display_name: str
    user_principal_name: str | None = None


@dataclass
class Workspace:
    id: str
    name: str
    items: list[Item] = field(default_factory=list)
    app: App | None = None
    roles: list[WorkspaceRole] = field(default_factory=list)

    def find(self, item_id: str | None) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None) if item_id else None


@dataclass
class Stage:
    id: str
    order: int
    display_name: str
    description: str
    is_public: bool
    workspace_id: str | None


@dataclass
class RoleAssignment:
    principal_id: str
    principal_type: str
    role: str = "Admin"


@dataclass(frozen=True)
class PlannedStep:
    """One item of a deployment, as planned when it was accepted."""

    index: int
    source_item_id: str
    source_display_name: str
    item_type: str
    source_version: int
    target_item_id: str | None
    target_display_name: str | None
    diff_state: str  # New, Different or NoDifference
    fails: bool
    # Why it fails when not because of fail_items (a missing Power BI deployment option).
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def plan(
        cls, index: int, source: Item, target: Item | None, diff_state: str, *, fails: bool = False
    ) -> PlannedStep:
        """The step that deploys `source` onto `target` (None: the item is new in the target stage)."""
        return cls(
            index=index,
            source_item_id=source.id,
            source_display_name=source.display_name,
            item_type=source.item_type,
            source_version=source.version,
            target_item_id=target.id if target else None,
            target_display_name=target.display_name if target else None,
            diff_state=diff_state,
            fails=fails,
        )

    @property
    def description(self) -> str:
        return _STEP_DESCRIPTIONS.get(self.item_type, f"{self.item_type}Deployment")

    def error(self) -> dict[str, str]:
        if self.error_code is not None:
            return {"errorCode": self.error_code, "message": self.error_message or ""}
        label = _TYPE_LABELS.get(self.item_type, self.item_type)
        return {
            "errorCode": "ItemDeploymentFailed",
            "message": (
                f"{label} '{self.source_display_name}' couldn't be deployed: the target workspace "
                "is missing credentials for one of its data sources. (Simulated by the emulator: "
                "the item is listed in fail_items.)"
            ),
        }


@dataclass
class Deployment:
    """A deployment whose whole timeline is known when it is accepted.

    NotStarted for the first 5% of its duration, then each step that runs takes an equal slice;
    it ends, Succeeded or Failed, exactly at `finishes_at`. A failing step ends the run: the
    steps after it stay NotStarted.
    """

    id: str
    lro_id: str
    pipeline_id: str
    source_stage_id: str
    target_stage_id: str
    note: str | None
    accepted_at: float
    finishes_at: float
    steps: list[PlannedStep]
    performed_by: dict[str, Any]
    backward: bool = False
    applied: bool = False
    seeded: bool = False
    listed_from: float = 0.0  # when the operations views start to show it (listing_delay_seconds)
    api: str = "fabric"  # or "powerbi": the API that accepted it
    update_app: bool = False  # Power BI updateAppSettings.updateAppInTargetWorkspace
    # Items a step created in the target stage (step index -> id, name), known once applied.
    created_targets: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def final_status(self) -> str:
        return "Failed" if any(s.fails for s in self.steps) else "Succeeded"

    @property
    def duration(self) -> float:
        return self.finishes_at - self.accepted_at

    @property
    def started_at(self) -> float:
        return self.accepted_at + NOT_STARTED_SHARE * self.duration

    @property
    def steps_that_run(self) -> int:
        """How many steps execute: all of them, or up to and including the failing one."""
        for step in self.steps:
            if step.fails:
                return step.index + 1
        return len(self.steps)

    def _step_seconds(self) -> float:
        return (self.finishes_at - self.started_at) / max(self.steps_that_run, 1)

    def step_end(self, index: int) -> float:
        # The last step that runs ends exactly at finishes_at, free of rounding.
        if index == self.steps_that_run - 1:
            return self.finishes_at
        return self.started_at + (index + 1) * self._step_seconds()

    def status_at(self, now: float) -> str:
        if now >= self.finishes_at:
            return self.final_status
        if now < self.started_at:
            return "NotStarted"
        return "Running"

    def is_active(self, now: float) -> bool:
        return self.status_at(now) not in TERMINAL_STATUSES

    def step_status_at(self, index: int, now: float) -> str:
        if index >= self.steps_that_run or now < self.started_at:
            return "NotStarted"
        if now >= self.step_end(index):
            return "Failed" if self.steps[index].fails else "Succeeded"
        step_start = self.started_at if index == 0 else self.step_end(index - 1)
        return "Running" if now >= step_start else "NotStarted"

    def completed_steps_at(self, now: float) -> int:
        return sum(1 for s in self.steps if self.step_status_at(s.index, now) in TERMINAL_STATUSES)

    def percent_complete_at(self, now: float) -> int:
        if self.status_at(now) == "Succeeded":
            return 100
        return int(100 * self.completed_steps_at(now) / max(len(self.steps), 1))

    def last_updated_at(self, now: float) -> float:
        """The time of the most recent change of status the caller could have seen."""
        if now >= self.finishes_at:
            return self.finishes_at
        if now < self.started_at:
            return self.accepted_at
        ends = [self.step_end(i) for i in range(self.steps_that_run) if self.step_end(i) <= now]
        return max([self.started_at, *ends])

    def diff_counts(self) -> dict[str, int]:
        states = [s.diff_state for s in self.steps]
        return {
            "newItemsCount": states.count("New"),
            "differentItemsCount": states.count("Different"),
            "noDifferenceItemsCount": states.count("NoDifference"),
        }


@dataclass
class Pipeline:
    id: str
    display_name: str
    description: str
    stages: list[Stage]
    role_assignments: list[RoleAssignment]
    deployments: list[Deployment] = field(default_factory=list)

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


# What an injected fault does to each request it matches (see `TenantState.inject`).
FAULT_KINDS = ("status", "reset", "lost", "slow", "token_expired")
# The faults after which the client gets no answer at all.
UNANSWERED_FAULTS = frozenset({"reset", "lost"})
HTTP_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


@dataclass
class InjectionRule:
    """A fault for the next `remaining` requests whose method and path (without query) match."""

    path_regex: re.Pattern[str]
    remaining: int
    status: int | None  # kind "status" only
    retry_after: int | None  # kind "status" only; None = Settings.retry_after on a 429
    method: str | None  # None = any method
    kind: str = "status"
    delay_seconds: float | None = None  # kind "slow" only

    def to_json(self) -> dict[str, Any]:
        """The rule as `/_emulator/inject` takes it, with `count` the uses left."""
        return {
            "kind": self.kind,
            "path_regex": self.path_regex.pattern,
            "method": self.method,
            "count": self.remaining,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay_seconds": self.delay_seconds,
        }


@dataclass(frozen=True)
class AcceptedAssertion:
    """A client assertion the token endpoint accepted: one the app signed, or a federated one."""

    kind: str  # "certificate" or "federated"
    jti: str  # the assertion's id ("" when it has none)
    issuer: str
    subject: str
    accepted_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "jti": self.jti,
            "issuer": self.issuer,
            "subject": self.subject,
            "acceptedAt": self.accepted_at,
        }


@dataclass
class RequestRecord:
    """One request the emulator received, as `Emulator.requests` and `/_emulator/requests` show it.

    `fault` is the kind of the injected fault that met the request, if any; after "reset" or
    "lost" no answer was sent (`answered` is false). For "reset" nothing was processed and
    `status` is 0; for "lost" `status` is what the answer would have said.
    """

    method: str
    path: str
    operation: str
    status: int
    started_at: float
    finished_at: float
    request_headers: dict[str, str]
    request_body: Any
    response_headers: dict[str, str]
    response_body: Any
    fault: str | None = None

    @property
    def answered(self) -> bool:
        return self.fault not in UNANSWERED_FAULTS

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "status": self.status,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "requestHeaders": self.request_headers,
            "requestBody": self.request_body,
            "responseHeaders": self.response_headers,
            "responseBody": self.response_body,
            "fault": self.fault,
            "answered": self.answered,
        }


def performed_by() -> dict[str, Any]:
    """The emulator's only caller is its service principal."""
    return {
        "id": seed.SERVICE_PRINCIPAL_ID,
        "type": "ServicePrincipal",
        "displayName": seed.SERVICE_PRINCIPAL_NAME,
    }


class TenantState:
    """The whole emulated tenant. Create one per emulator; it starts from the seed."""

    def __init__(self, settings: Settings | None = None, clock: Clock = time.time) -> None:
        self.settings = settings or Settings()
        self.clock = clock
        self.lock = threading.RLock()
        self.workspaces: dict[str, Workspace] = {}
        self.pipelines: dict[str, Pipeline] = {}
        self.deployments: list[Deployment] = []  # accepted through the API, oldest first
        self.operations: dict[str, Deployment] = {}  # by long-running-operation id
        self.definition_operations: dict[str, DefinitionOperation] = {}  # getDefinition's, by id
        self.tokens: dict[str, float] = {}  # access token -> expiry
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> the user it was issued to
        self.assertions: list[AcceptedAssertion] = []  # oldest first
        self.injections: list[InjectionRule] = []
        self.requests: deque[RequestRecord] = deque(maxlen=MAX_LOGGED_REQUESTS)  # oldest first
        self.directory: dict[str, Principal] = {}  # by object id
        self.admin_requests: list[float] = []  # times of Power BI admin API requests in the last hour
        # The relations APIs' edges: (item id, id of the item it depends on, relation type).
        self.relations: list[tuple[str, str, str]] = []
        self._load_seed()

    # -- seed ---------------------------------------------------------------------------------------

    def _load_seed(self) -> None:
        for principal in seed.DIRECTORY:
            self.directory[principal.id] = Principal(
                principal.id, principal.principal_type, principal.display_name, principal.user_principal_name
            )
        for ws_id, name in seed.SPARE_WORKSPACES:
            self.workspaces[ws_id] = Workspace(ws_id, name)
        for sp in seed.PIPELINES:
            stages = []
            for order, ss in enumerate(sp.stages):
                if ss.workspace_id and ss.workspace_name:
                    items = [
                        Item(i.id, i.display_name, i.item_type, i.version, i.source_item_id, i.target_item_id)
                        for i in ss.items
                    ]
                    self.workspaces[ss.workspace_id] = Workspace(ss.workspace_id, ss.workspace_name, items)
                stages.append(Stage(ss.id, order, ss.display_name, ss.description, ss.is_public, ss.workspace_id))
            assignments = [RoleAssignment(r.principal_id, r.principal_type, r.role) for r in sp.role_assignments]
            self.pipelines[sp.id] = Pipeline(sp.id, sp.display_name, sp.description, stages, assignments)
        for ws_id, app_name in seed.APPS.items():
            self.workspaces[ws_id].app = App(app_name)
        for role in seed.WORKSPACE_ROLES:
            self.workspaces[role.workspace_id].roles.append(
                WorkspaceRole(role.principal_id, role.principal_type, role.role)
            )
        self.relations = [(r.item_id, r.dependent_on_item_id, r.relation_type) for r in seed.RELATIONS]
        self._load_history()

    def _load_history(self) -> None:
        """Past deployments: already applied, durations equal to the configured operation time."""
        now = self.clock()
        pipeline = self.pipelines[seed.DEMO_PIPELINE_ID]
        dev = self.workspaces[seed.DEV_WORKSPACE_ID]
        test = self.workspaces[seed.TEST_WORKSPACE_ID]
        for entry in seed.HISTORY:
            steps = []
            for index, (item_type, name) in enumerate(entry.items):
                source = next(i for i in dev.items if (i.item_type, i.display_name) == (item_type, name))
                target = test.find(source.target_item_id)
                steps.append(PlannedStep.plan(index, source, target, "Different" if target else "New"))
            accepted = now - entry.hours_ago * 3600
            deployment = Deployment(
                id=entry.id,
                lro_id=seed.stable_id("history-operation", entry.id),
                pipeline_id=pipeline.id,
                source_stage_id=seed.DEV_STAGE_ID,
                target_stage_id=seed.TEST_STAGE_ID,
                note=entry.note,
                accepted_at=accepted,
                finishes_at=accepted + self.settings.operation_seconds,
                steps=steps,
                performed_by=performed_by(),
                applied=True,
                seeded=True,
            )
            pipeline.deployments.append(deployment)
            self.operations[deployment.lro_id] = deployment
            # What the history deployed shows in the Test items' lastDeploymentTime, as it would.
            for step in steps:
                if (target := test.find(step.target_item_id)) is not None:
                    target.last_deployment_time = max(target.last_deployment_time or 0.0, deployment.finishes_at)

    # -- lookups --------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def pipeline(self, pipeline_id: str) -> Pipeline:
        pipeline = self.pipelines.get(pipeline_id.lower())
        if pipeline is None:
            raise FabricError(404, "EntityNotFound", f"The deployment pipeline '{pipeline_id}' was not found.")
        return pipeline

    def stage(self, pipeline: Pipeline, stage_id: str) -> Stage:
        stage = pipeline.stage(stage_id.lower())
        if stage is None:
            raise FabricError(
                404,
                "EntityNotFound",
                f"The stage '{stage_id}' was not found in deployment pipeline '{pipeline.display_name}'.",
            )
        return stage

    def stage_items(self, stage: Stage) -> list[Item]:
        if stage.workspace_id is None:
            return []
        return list(self.workspaces[stage.workspace_id].items)

    def deployment_of(self, pipeline: Pipeline, deployment_id: str) -> Deployment:
        """One of the pipeline's deployments (the id both APIs call the operation id)."""
        now = self.now()
        deployment = next(
            (d for d in pipeline.deployments if d.id == deployment_id.lower() and now >= d.listed_from), None
        )
        if deployment is None:
            raise FabricError(
                404,
                "EntityNotFound",
                f"The operation '{deployment_id}' was not found in deployment pipeline '{pipeline.display_name}'.",
            )
        return deployment

    def recent_deployments(self, pipeline: Pipeline) -> list[Deployment]:
        """What the operations lists show: the most recent deployments, newest first (a new one only
        once its listing delay has passed)."""
        now = self.now()
        listed = [d for d in pipeline.deployments if now >= d.listed_from]
        return sorted(listed, key=lambda d: d.accepted_at, reverse=True)[:MAX_LISTED_OPERATIONS]

    def active_deployment(self, pipeline: Pipeline) -> Deployment | None:
        now = self.now()
        return next((d for d in pipeline.deployments if d.is_active(now)), None)

    def _refuse_if_active(self, pipeline: Pipeline, what: str) -> None:
        active = self.active_deployment(pipeline)
        if active is not None:
            raise FabricError(
                409,
                "DeploymentInProgress",
                f"Cannot {what} while deployment '{active.id}' of pipeline "
                f"'{pipeline.display_name}' is in progress. Try again when it has finished.",
            )

    # -- simulation --------------------------------------------------------------------------------

    def settle(self) -> None:
        """Apply every deployment that has finished since the last look (in the order they ended)."""
        now = self.now()
        finished = [d for d in self.deployments if not d.applied and now >= d.finishes_at]
        for deployment in sorted(finished, key=lambda d: d.finishes_at):
            self._apply(deployment)

    def _apply(self, deployment: Deployment) -> None:
        deployment.applied = True
        pipeline = self.pipelines[deployment.pipeline_id]
        source_stage = pipeline.stage(deployment.source_stage_id)
        target_stage = pipeline.stage(deployment.target_stage_id)
        if source_stage is None or target_stage is None or target_stage.workspace_id is None:
            return
        source_ws = self.workspaces.get(source_stage.workspace_id or "")
        target_ws = self.workspaces[target_stage.workspace_id]
        deployed: list[tuple[Item, Item]] = []
        if deployment.update_app and deployment.final_status == "Succeeded" and target_ws.app is not None:
            target_ws.app.last_updated_by = deployment.id
            target_ws.app.last_updated_at = deployment.finishes_at
        for step in deployment.steps[: deployment.steps_that_run]:
            if step.fails:
                break
            source = source_ws.find(step.source_item_id) if source_ws else None
            target = target_ws.find(step.target_item_id)
            if target is None:
                target = Item(str(uuid.uuid4()), step.source_display_name, step.item_type, step.source_version)
                target_ws.items.append(target)
                deployment.created_targets[step.index] = (target.id, target.display_name)
            target.display_name = step.source_display_name
            target.version = step.source_version
            target.last_deployment_time = deployment.finishes_at
            # Pairing: the item in the later stage points back with sourceItemId, the earlier forward.
            if source is not None:
                if deployment.backward:
                    target.target_item_id, source.source_item_id = source.id, target.id
                else:
                    target.source_item_id, source.target_item_id = source.id, target.id
                deployed.append((source, target))
        # After every step, so that a model deployed after the report reading it is there to bind to.
        for source, target in deployed:
            self._bind(source, target, target_stage.order)

    def check_deployer(self, pipeline: Pipeline, source: Stage, target: Stage, caller: str | None) -> None:
        """403 unless `caller` may deploy from `source` to `target` (see deploy()). Checked before any
        400 or 409 about the request, which would tell a caller without the roles about the pipeline."""
        self.check_pipeline_admin(pipeline.id, caller, "deploying in")
        for stage in (source, target):
            if stage.workspace_id is not None:
                where = "from" if stage is source else "to"
                self.check_workspace_contributor(
                    self.workspaces[stage.workspace_id], caller, f"deploying {where} stage '{stage.display_name}'"
                )

    def _bind(self, source: Item, target: Item, order: int) -> None:
        """Autobinding, as Microsoft describes it for deployment pipelines: a deployed item reads what its
        source reads, but in the target stage: the counterpart of each upstream item in the stage of the
        same order, in this pipeline or (across pipelines) in the upstream item's own, where it has been
        deployed; else it stays bound to the item its source reads. The relations API serves the result."""
        bound = []
        for reader, upstream, kind in self.relations:
            if reader != source.id:
                continue
            bound.append((target.id, self._counterpart(upstream, order), kind))
        self.relations = [r for r in self.relations if r[0] != target.id] + bound

    def _counterpart(self, item_id: str, order: int) -> str:
        """The item paired with `item_id` in the stage of that order of its pipeline; else `item_id`."""
        for pipeline in self.pipelines.values():
            for home in pipeline.stages:
                workspace = self.workspaces.get(home.workspace_id or "")
                item = workspace.find(item_id) if workspace else None
                if item is None:
                    continue
                there = next((st for st in pipeline.stages if st.order == order), None)
                paired = self._pair(pipeline, home, there, item) if there is not None and there is not home else None
                return paired.id if paired else item_id
        return item_id

    def _pair(self, pipeline: Pipeline, source_stage: Stage, target_stage: Stage, source: Item) -> Item | None:
        """The item of the target stage that `source` deploys over, if any: its pair in the next stage
        (each item names it, `targetItemId` forward and `sourceItemId` back), and that item's in the
        next, up to the target stage. An item of the same name that is not paired is not overwritten:
        the service creates another beside it. Items are paired by name and type when a workspace is
        assigned (`_pair_by_name`) and by deployment (`_apply`), not at deployment time."""
        step = 1 if target_stage.order > source_stage.order else -1
        current = source
        for order in range(source_stage.order + step, target_stage.order + step, step):
            stage = next((s for s in pipeline.stages if s.order == order), None)
            workspace = self.workspaces.get(stage.workspace_id or "") if stage else None
            if workspace is None:
                return None
            forward = current.target_item_id if step > 0 else current.source_item_id
            linked = workspace.find(forward) or next(
                (i for i in workspace.items if (i.source_item_id if step > 0 else i.target_item_id) == current.id), None
            )
            if linked is None:
                return None
            current = linked
        return current

    def deploy(
        self,
        pipeline_id: str,
        source_stage_id: str,
        target_stage_id: str,
        items: list[tuple[str, str]] | None,
        note: str | None,
        new_workspace_name: str | None = None,
        *,
        api: str = "fabric",
        options: dict[str, bool] | None = None,
        item_options: dict[str, dict[str, bool]] | None = None,
        update_app: bool = False,
        caller: str | None = None,
    ) -> Deployment:
        """Accept a deployment (items are (sourceItemId, itemType); None = the whole stage).

        `caller` (None: a direct call, unchecked) must hold the pipeline's Admin role and be at least a
        Contributor of the source and target workspaces. The Fabric spec: "The caller must have an
        *admin* deployment pipelines role. The user must be at least a contributor on both source and
        target deployment workspaces."; the Power BI spec states the workspace half, and its pipelines
        have the one access right, Admin, which every other pipeline request here already asks for.

        `api="powerbi"` applies the deployment options (`options` deployment-wide, `item_options`
        by source item id) and `update_app`, as the module docstring says.
        """
        with self.lock:
            self.settle()
            pipeline = self.pipeline(pipeline_id)
            self.check_pipeline_admin(pipeline.id, caller, "deploying in")  # before a 400 about its stages
            source = self._deploy_stage(pipeline, source_stage_id, "sourceStageId")
            target = self._deploy_stage(pipeline, target_stage_id, "targetStageId")
            self.check_deployer(pipeline, source, target, caller)
            if source.id == target.id:
                raise FabricError(400, "InvalidInput", "The source and target stages must be different.")
            if note is not None and len(note) > MAX_NOTE_LENGTH:
                raise FabricError(400, "InvalidInput", f"The note cannot be longer than {MAX_NOTE_LENGTH} characters.")
            if items is not None and len(items) > MAX_ITEMS_PER_DEPLOYMENT:
                raise FabricError(
                    400,
                    "InvalidInput",
                    f"A deployment can include at most {MAX_ITEMS_PER_DEPLOYMENT} items; the request has {len(items)}.",
                )
            # One deployment per pipeline at a time, checked for deploy-many (issue 14): yes, a second
            # deploy while one runs (either API, any stages) is refused, not queued. Neither spec says so:
            # their deploy pages document no concurrency limit, and only delete, assign and unassign say
            # "will fail if there's an active deployment operation". The limit is the premise of issue 14
            # (the portal deploys one at a time per pipeline); the answer, 409 DeploymentInProgress, is
            # this emulator's assumption, unverified against the service. Deployments of different
            # pipelines run side by side, each on its own timeline.
            self._refuse_if_active(pipeline, "deploy")
            if source.workspace_id is None:
                raise FabricError(
                    400,
                    "StageWithoutWorkspace",
                    f"The source stage '{source.display_name}' has no workspace assigned.",
                )
            backward = target.order < source.order
            target_items = self.stage_items(target)
            if backward and target_items:
                raise FabricError(
                    400,
                    "BackwardDeploymentToNonEmptyStage",
                    f"Backward deployment is only possible into an empty stage; stage "
                    f"'{target.display_name}' contains {len(target_items)} items.",
                )
            if target.workspace_id is None and new_workspace_name is None:
                raise FabricError(
                    400,
                    "StageWithoutWorkspace",
                    f"The target stage '{target.display_name}' has no workspace assigned. Assign one, "
                    "or pass createdWorkspaceDetails to create it.",
                )
            selected = self._select_items(source, items)
            if not selected:
                raise FabricError(
                    400, "NoItemsToDeploy", f"The source stage '{source.display_name}' has no items to deploy."
                )
            if len(selected) > MAX_ITEMS_PER_DEPLOYMENT:  # a whole stage too (api-notes: "both APIs")
                raise FabricError(
                    400,
                    "InvalidInput",
                    f"A deployment can include at most {MAX_ITEMS_PER_DEPLOYMENT} items; this one has {len(selected)}.",
                )
            if update_app:
                target_ws = self.workspaces.get(target.workspace_id or "")
                if target_ws is None or target_ws.app is None:
                    # Opaque on purpose: the real service answers this case with a bare Bad Request.
                    raise FabricError(400, "BadRequest", "Bad Request")
            if target.workspace_id is None and new_workspace_name is not None:
                workspace = Workspace(str(uuid.uuid4()), new_workspace_name)
                workspace.roles.append(WorkspaceRole(seed.SERVICE_PRINCIPAL_ID, "ServicePrincipal", "Admin"))
                self.workspaces[workspace.id] = workspace
                target.workspace_id = workspace.id
            deployment = self._accept(
                pipeline,
                source,
                target,
                selected,
                note,
                backward,
                options=(options or {}, item_options or {}) if api == "powerbi" else None,
            )
            deployment.api = api
            deployment.update_app = update_app
            return deployment

    def _deploy_stage(self, pipeline: Pipeline, stage_id: str, field_name: str) -> Stage:
        stage = pipeline.stage(stage_id.lower())
        if stage is None:
            raise FabricError(
                400,
                "InvalidInput",
                f"{field_name} '{stage_id}' is not a stage of deployment pipeline '{pipeline.display_name}'.",
            )
        return stage

    def _select_items(self, source: Stage, requested: list[tuple[str, str]] | None) -> list[Item]:
        available = self.stage_items(source)
        if requested is None:
            return available
        selected: list[Item] = []
        for item_id, item_type in requested:
            item = next((i for i in available if i.id == item_id.lower()), None)
            if item is None or item.item_type != item_type:
                raise FabricError(
                    404,
                    "ItemNotFound",
                    f"No {item_type} with id '{item_id}' in stage '{source.display_name}'.",
                )
            if item not in selected:
                selected.append(item)
        return selected

    def _accept(
        self,
        pipeline: Pipeline,
        source: Stage,
        target: Stage,
        items: list[Item],
        note: str | None,
        backward: bool,
        *,
        options: tuple[dict[str, bool], dict[str, dict[str, bool]]] | None = None,
    ) -> Deployment:
        ordered = sorted(items, key=lambda i: _TYPE_RANK.get(i.item_type, 2))
        steps = []
        for index, item in enumerate(ordered):
            paired = self._pair(pipeline, source, target, item)
            if paired is None:
                diff = "New"
            elif paired.version == item.version:
                diff = "NoDifference"
            else:
                diff = "Different"
            step = PlannedStep.plan(index, item, paired, diff, fails=item.display_name in self.settings.fail_items)
            missing = self._missing_option(step, *options) if options is not None else None
            if missing is not None:
                step = replace(step, fails=True, error_code=OPTION_ERROR_CODES[missing])
                step = replace(step, error_message=self._option_message(step, missing))
            steps.append(step)
        # Only the first failing item fails: the run stops there.
        first_failure = next((s.index for s in steps if s.fails), None)
        if first_failure is not None:
            steps = [s if s.index == first_failure else replace(s, fails=False) for s in steps]
        accepted = self.now()
        deployment = Deployment(
            id=str(uuid.uuid4()),
            lro_id=str(uuid.uuid4()),
            pipeline_id=pipeline.id,
            source_stage_id=source.id,
            target_stage_id=target.id,
            note=note,
            accepted_at=accepted,
            finishes_at=accepted
            + max(self.settings.pipeline_operation_seconds.get(pipeline.id, self.settings.operation_seconds), 0.0),
            steps=steps,
            performed_by=performed_by(),
            backward=backward,
            listed_from=accepted + self.settings.listing_delay_seconds,
        )
        pipeline.deployments.append(deployment)
        self.deployments.append(deployment)
        self.operations[deployment.lro_id] = deployment
        return deployment

    def _missing_option(
        self, step: PlannedStep, options: dict[str, bool], item_options: dict[str, dict[str, bool]]
    ) -> str | None:
        """The first Power BI deployment option this step needs and was not given as true, if any."""
        # Option by option: the item's own value, else the deployment-wide one, else false.
        effective = {**options, **item_options.get(step.source_item_id, {})}
        needed = ["allowCreateArtifact" if step.diff_state == "New" else "allowOverwriteArtifact"]
        required = self.settings.option_requirements.get(step.source_display_name)
        if required is not None:
            needed.append(required)
        return next((name for name in needed if effective.get(name) is not True), None)

    @staticmethod
    def _option_message(step: PlannedStep, option: str) -> str:
        label = _TYPE_LABELS.get(step.item_type, step.item_type)
        return (
            f"{label} '{step.source_display_name}' can't be deployed: {_OPTION_REASONS[option]}, which needs the "
            f"deployment option {option}. Set options.{option} to true for the deployment or for this item."
        )

    # -- workspaces and roles ----------------------------------------------------------------------------

    def assign_workspace(self, pipeline_id: str, stage_id: str, workspace_id: str) -> None:
        with self.lock:
            self.settle()
            pipeline = self.pipeline(pipeline_id)
            stage = self.stage(pipeline, stage_id)
            self._refuse_if_active(pipeline, "assign a workspace")
            workspace = self.workspaces.get(workspace_id.lower())
            if workspace is None:
                raise FabricError(404, "WorkspaceNotFound", f"The workspace '{workspace_id}' was not found.")
            if stage.workspace_id == workspace.id:
                return
            if stage.workspace_id is not None:
                raise FabricError(
                    409,
                    "StageAlreadyHasWorkspace",
                    f"Stage '{stage.display_name}' already has a workspace assigned; unassign it first.",
                )
            for other in self.pipelines.values():
                for other_stage in other.stages:
                    if other_stage.workspace_id == workspace.id:
                        raise FabricError(
                            409,
                            "WorkspaceAlreadyAssignedToStage",
                            f"Workspace '{workspace.name}' is already assigned to stage "
                            f"'{other_stage.display_name}' of pipeline '{other.display_name}'.",
                        )
            stage.workspace_id = workspace.id
            self._pair_by_name(pipeline, stage, workspace)

    def _pair_by_name(self, pipeline: Pipeline, stage: Stage, workspace: Workspace) -> None:
        """A newly assigned workspace's items are paired with the neighbouring stages' items of the same
        name and type, as the service pairs them on assignment (the stage items views then link them)."""
        for neighbour in pipeline.stages:
            if abs(neighbour.order - stage.order) != 1 or neighbour.workspace_id not in self.workspaces:
                continue
            later = neighbour.order > stage.order
            for item in workspace.items:
                for other in self.workspaces[neighbour.workspace_id].items:
                    if (other.item_type, other.display_name) != (item.item_type, item.display_name):
                        continue
                    earlier_item, later_item = (item, other) if later else (other, item)
                    if earlier_item.target_item_id is None and later_item.source_item_id is None:
                        earlier_item.target_item_id, later_item.source_item_id = later_item.id, earlier_item.id

    def unassign_workspace(self, pipeline_id: str, stage_id: str, *, caller: str | None = None) -> None:
        """The Fabric spec: "The caller must have an *admin* deployment pipelines role" (and no workspace
        role); the Power BI spec states none for the same pipelines, so the same check applies there."""
        with self.lock:
            self.settle()
            pipeline = self.pipeline(pipeline_id)
            stage = self.stage(pipeline, stage_id)
            self.check_pipeline_admin(pipeline.id, caller, "unassigning a workspace from a stage of")
            self._refuse_if_active(pipeline, "unassign a workspace")
            if stage.workspace_id is None:
                raise FabricError(
                    400, "StageWithoutWorkspace", f"Stage '{stage.display_name}' has no workspace assigned."
                )
            workspace = self.workspaces.get(stage.workspace_id)
            stage.workspace_id = None
            self._forget_stage(pipeline, stage, workspace)

    def _forget_stage(self, pipeline: Pipeline, stage: Stage, workspace: Workspace | None) -> None:
        """What unassigning loses. Microsoft's assign-pipeline page says "you lose all the stage
        deployment's history and configured rules"; how that shows in the API is not documented, so
        this is the emulator's reading of it (an assumption): the deployments into or out of the stage
        leave the pipeline's history, and its items' pairings and last deployment times go, on both
        sides. Assigned again, its items pair by name and type, as a newly assigned workspace's do."""
        ids = {item.id for item in workspace.items} if workspace else set()
        for item in workspace.items if workspace else []:
            item.source_item_id = item.target_item_id = None
            item.last_deployment_time = None
        for other in pipeline.stages:
            for item in self.workspaces[other.workspace_id].items if other.workspace_id in self.workspaces else []:
                if item.source_item_id in ids:
                    item.source_item_id = None
                if item.target_item_id in ids:
                    item.target_item_id = None
        pipeline.deployments = [
            d for d in pipeline.deployments if stage.id not in (d.source_stage_id, d.target_stage_id)
        ]

    # Role changes take the `caller`, the principal the request's token was issued to (`caller()`),
    # and refuse it 403 when its own role does not allow the change; None: no check (the seed, the
    # Power BI admin APIs, which a tenant admin calls whatever its roles).

    def check_pipeline_admin(
        self, pipeline_id: str, caller: str | None, action: str = "changing the role assignments of"
    ) -> None:
        """403 unless `caller` is an Admin of the pipeline. The Fabric spec, for listing, adding and
        deleting role assignments: "The caller must have an *admin* deployment pipelines role."; the
        Power BI API documents no rule for its pipeline users, so the same one applies there.
        `action` completes the refusal: "<action> deployment pipeline 'X' needs its Admin role"."""
        with self.lock:
            pipeline = self.pipeline(pipeline_id)
            if caller is None or any(
                r.principal_id == caller.lower() and r.role == "Admin" for r in pipeline.role_assignments
            ):
                return
            raise FabricError(
                403,
                INSUFFICIENT_PRIVILEGES,
                f"The caller does not have sufficient permissions: {action} deployment "
                f"pipeline '{pipeline.display_name}' needs its Admin role.",
            )

    @staticmethod
    def has_pipeline_role(pipeline: Pipeline, caller: str | None) -> bool:
        """Whether `caller` holds a role in the pipeline (None: a direct call, which sees everything)."""
        return caller is None or any(r.principal_id == caller.lower() for r in pipeline.role_assignments)

    def check_workspace_reader(self, workspace: Workspace, caller: str | None) -> None:
        """403 unless `caller` is a Member or Admin of the workspace (the Fabric spec's List Workspace Role
        Assignments: "The caller must have *member* or higher workspace role.")."""
        held = next((r.role for r in workspace.roles if caller and r.principal_id == caller.lower()), None)
        if caller is None or held in ("Admin", "Member"):
            return
        raise FabricError(
            403,
            INSUFFICIENT_PRIVILEGES,
            f"The caller does not have sufficient workspace permissions: listing the role assignments of workspace "
            f"'{workspace.name}' needs the Member role or higher; the caller "
            f"{f'is {held}' if held else 'has no role there'}.",
        )

    def check_workspace_contributor(self, workspace: Workspace, caller: str | None, action: str) -> None:
        """403 unless `caller` is a Contributor, Member or Admin of the workspace: what both specs ask of
        reading a stage's items (Fabric: "at least a workspace contributor assigned to the specified
        stage"; Power BI: "at least be a contributor on the workspace assigned to the specified stage")
        and Fabric's getDefinition ("read and write permissions for the item"). `action` completes the
        refusal: "<action> in workspace 'X' needs the Contributor role or higher"."""
        held = next((r.role for r in workspace.roles if caller and r.principal_id == caller.lower()), None)
        if caller is None or held in ("Admin", "Member", "Contributor"):
            return
        raise FabricError(
            403,
            INSUFFICIENT_PRIVILEGES,
            f"The caller does not have sufficient workspace permissions: {action} in workspace "
            f"'{workspace.name}' needs the Contributor role or higher; the caller "
            f"{f'is {held}' if held else 'has no role there'}.",
        )

    def _check_workspace_caller(self, workspace: Workspace, caller: str | None, adding: str | None = None) -> None:
        """403 unless `caller`'s workspace role allows the change. The Fabric spec: adding needs "*member*
        or higher workspace role. Members can add members or others with lower permissions."; updating
        and deleting need "*admin* role on the workspace". `adding`: the role being added (None: a change
        or a removal). The Power BI group-user APIs say nothing, and change the same role assignments."""
        if caller is None:
            return
        held = next((r.role for r in workspace.roles if r.principal_id == caller.lower()), None)
        if held == "Admin" or (adding is not None and adding != "Admin" and held == "Member"):
            return
        if adding is not None:
            what, needs = "adding a role assignment", "Member role (for Member, Contributor or Viewer) or Admin role"
        else:
            what, needs = "changing or removing a role assignment", "Admin role"
        raise FabricError(
            403,
            INSUFFICIENT_PRIVILEGES,
            f"The caller does not have sufficient workspace permissions: {what} in workspace '{workspace.name}' "
            f"needs the {needs}; the caller {f'is {held}' if held else 'has no role there'}.",
        )

    def add_role_assignment(
        self, pipeline_id: str, principal_id: str, principal_type: str, role: str, *, caller: str | None = None
    ) -> RoleAssignment:
        with self.lock:
            pipeline = self.pipeline(pipeline_id)
            self.check_pipeline_admin(pipeline.id, caller)
            principal_id = principal_id.lower()
            if any(r.principal_id == principal_id for r in pipeline.role_assignments):
                raise FabricError(
                    409,
                    "PrincipalAlreadyHasPipelineRole",
                    f"Principal '{principal_id}' already has a role in deployment pipeline '{pipeline.display_name}'.",
                )
            assignment = RoleAssignment(principal_id, principal_type, role)
            pipeline.role_assignments.append(assignment)
            return assignment

    def delete_role_assignment(self, pipeline_id: str, principal_id: str, *, caller: str | None = None) -> None:
        with self.lock:
            pipeline = self.pipeline(pipeline_id)
            self.check_pipeline_admin(pipeline.id, caller)
            for assignment in pipeline.role_assignments:
                if assignment.principal_id == principal_id.lower():
                    pipeline.role_assignments.remove(assignment)
                    return
            raise FabricError(
                404,
                "EntityNotFound",
                f"Principal '{principal_id}' has no role in deployment pipeline '{pipeline.display_name}'.",
            )

    # -- directory and workspace roles ---------------------------------------------------------------------

    def principal_by_upn(self, user_principal_name: str) -> Principal | None:
        """The directory user with this UPN (case-insensitive), or None."""
        with self.lock:
            wanted = user_principal_name.lower()
            return next((p for p in self.directory.values() if (p.user_principal_name or "").lower() == wanted), None)

    def principal(self, principal_id: str) -> Principal | None:
        with self.lock:
            return self.directory.get(principal_id.lower())

    def workspace(self, workspace_id: str) -> Workspace:
        workspace = self.workspaces.get(workspace_id.lower())
        if workspace is None:
            raise FabricError(404, "WorkspaceNotFound", f"The workspace '{workspace_id}' was not found.")
        return workspace

    def _workspace_role(self, workspace: Workspace, principal_id: str) -> WorkspaceRole:
        for role in workspace.roles:
            if role.principal_id == principal_id.lower():
                return role
        raise FabricError(
            404,
            "EntityNotFound",
            f"Principal '{principal_id}' has no role in workspace '{workspace.name}'.",
        )

    def add_workspace_role(
        self, workspace_id: str, principal_id: str, principal_type: str, role: str, *, caller: str | None = None
    ) -> WorkspaceRole:
        """Give a principal a role; 409 PrincipalAlreadyHasWorkspaceRolePermissions if it has one already."""
        with self.lock:
            workspace = self.workspace(workspace_id)
            _check_workspace_role(role)
            self._check_workspace_caller(workspace, caller, adding=role)
            principal_id = principal_id.lower()
            if any(r.principal_id == principal_id for r in workspace.roles):
                raise FabricError(
                    409,
                    "PrincipalAlreadyHasWorkspaceRolePermissions",
                    f"Principal '{principal_id}' already has a role in workspace '{workspace.name}'; update that role.",
                )
            assignment = WorkspaceRole(principal_id, principal_type, role)
            workspace.roles.append(assignment)
            return assignment

    def workspace_role(self, workspace_id: str, principal_id: str) -> WorkspaceRole:
        with self.lock:
            return self._workspace_role(self.workspace(workspace_id), principal_id)

    def update_workspace_role(
        self, workspace_id: str, principal_id: str, role: str, *, caller: str | None = None
    ) -> WorkspaceRole:
        with self.lock:
            _check_workspace_role(role)
            workspace = self.workspace(workspace_id)
            self._check_workspace_caller(workspace, caller)
            assignment = self._workspace_role(workspace, principal_id)
            assignment.role = role
            return assignment

    def delete_workspace_role(self, workspace_id: str, principal_id: str, *, caller: str | None = None) -> None:
        """The Fabric spec: "The role assignment of the last admin can't be deleted." (Microsoft's old
        Power BI page for the group-user delete said the same: "This operation will fail when trying to
        delete the last admin"). Neither gives the status or the error code of that refusal: the 400
        and LastWorkspaceAdmin here are the emulator's. A pipeline's last Admin has no such documented
        rule (the Power BI admin API even lists pipelines without users), so none is enforced there."""
        with self.lock:
            workspace = self.workspace(workspace_id)
            self._check_workspace_caller(workspace, caller)
            assignment = self._workspace_role(workspace, principal_id)
            if assignment.role == "Admin" and not any(
                r.role == "Admin" and r is not assignment for r in workspace.roles
            ):
                raise FabricError(
                    400,
                    LAST_WORKSPACE_ADMIN,
                    f"Principal '{assignment.principal_id}' is the last Admin of workspace '{workspace.name}'; "
                    "the role assignment of the last admin can't be deleted.",
                )
            workspace.roles.remove(assignment)

    # -- the Power BI admin APIs' quota ----------------------------------------------------------------------

    def take_admin_request(self) -> int | None:
        """Count one admin API request; None when within the quota, else the seconds until a slot frees up.

        The window is a rolling hour: a refused request is not counted, and Retry-After is the time
        until the oldest counted request leaves the window.
        """
        with self.lock:
            now = self.now()
            self.admin_requests = [t for t in self.admin_requests if t > now - ADMIN_WINDOW_SECONDS]
            if len(self.admin_requests) >= self.settings.admin_requests_per_hour:
                if not self.admin_requests:
                    return ADMIN_WINDOW_SECONDS
                return max(1, math.ceil(self.admin_requests[0] + ADMIN_WINDOW_SECONDS - now))
            self.admin_requests.append(now)
            return None

    # -- pipelines ---------------------------------------------------------------------------------------

    def create_pipeline(
        self,
        display_name: str,
        description: str | None,
        stages: list[dict[str, Any]],
        *,
        caller: str = seed.SERVICE_PRINCIPAL_ID,
    ) -> Pipeline:
        """A new pipeline whose only Admin is `caller`, as when someone creates one in Fabric. Neither spec
        says that pipeline names are unique, and neither documents an error for a taken name, so a
        second pipeline of the same name is created as the first was."""
        with self.lock:
            if not 2 <= len(stages) <= 10:
                raise FabricError(400, "InvalidInput", "A deployment pipeline has between 2 and 10 stages.")
            # A judgement call (the spec states no rule): two stages of one name could not be told apart by
            # name, which is how people and fabric-ci find stages.
            names = [str(s["displayName"]).strip().lower() for s in stages]
            if len(set(names)) != len(names):
                raise FabricError(400, "InvalidInput", "The stages of a deployment pipeline need different names.")
            principal = self.directory.get(caller)
            pipeline_id = str(uuid.uuid4())
            pipeline = Pipeline(
                id=pipeline_id,
                display_name=display_name,
                description=description or "",
                stages=[
                    Stage(
                        str(uuid.uuid4()),
                        order,
                        str(s["displayName"]),
                        str(s.get("description") or ""),
                        bool(s.get("isPublic", False)),
                        None,
                    )
                    for order, s in enumerate(stages)
                ],
                role_assignments=[
                    RoleAssignment(caller, principal.principal_type if principal else "ServicePrincipal")
                ],
            )
            self.pipelines[pipeline_id] = pipeline
            return pipeline

    def delete_pipeline(self, pipeline_id: str, *, caller: str | None = None) -> None:
        """Both specs: "This operation will fail if there's an active deployment operation"; the Fabric spec:
        "The caller must have an *admin* deployment pipelines role" (the Power BI spec states no role for the
        same pipelines, so the same check applies there). Neither spec says how the refusal of an active
        deployment is answered: 409 DeploymentInProgress, as for unassigning a workspace, is an assumption.
        The pipeline goes with its stages, role assignments and operations (its operations list); the
        workspaces stay, unassigned, with their items. The deployments' generic long-running operation
        records (GET /v1/operations/{id}) are not the pipeline's and are kept."""
        with self.lock:
            self.settle()
            pipeline = self.pipeline(pipeline_id)
            self.check_pipeline_admin(pipeline.id, caller, "deleting")
            self._refuse_if_active(pipeline, "delete the pipeline")
            del self.pipelines[pipeline.id]

    def update_stage(
        self,
        pipeline_id: str,
        stage_id: str,
        display_name: str,
        description: str | None,
        is_public: bool | None,
        *,
        caller: str | None = None,
    ) -> Stage:
        """The Fabric spec: "The caller must have an *admin* deployment pipelines role". Neither the spec nor
        Microsoft's docs say whether stage names must be unique in a pipeline; the emulator refuses a name
        another stage has (400 InvalidInput, case-insensitive), an assumption on the strict side."""
        with self.lock:
            pipeline = self.pipeline(pipeline_id)
            stage = self.stage(pipeline, stage_id)
            self.check_pipeline_admin(pipeline.id, caller, "updating a stage of")
            if any(s is not stage and s.display_name.lower() == display_name.lower() for s in pipeline.stages):
                raise FabricError(
                    400,
                    "InvalidInput",
                    f"Deployment pipeline '{pipeline.display_name}' already has a stage named '{display_name}'.",
                )
            stage.display_name = display_name
            if description is not None:
                stage.description = description
            if is_public is not None:
                stage.is_public = is_public
            return stage

    # -- tokens ----------------------------------------------------------------------------------------------

    def get_definition(self, workspace_id: str, item_id: str, *, caller: str | None = None) -> DefinitionOperation:
        """Start a getDefinition operation (emulator/definitions.py). The spec: "The caller must have
        *read and write* permissions for the item", which a workspace Contributor or higher has."""
        with self.lock:
            self.settle()
            workspace = self.workspace(workspace_id)
            item = workspace.find(item_id.lower())
            if item is None:
                raise FabricError(404, "ItemNotFound", f"The requested item '{item_id}' was not found.")
            self.check_workspace_contributor(workspace, caller, "reading the definition of an item")
            if item.item_type not in DEFINITION_TYPES:
                raise FabricError(400, "OperationNotSupportedForItem", "Operation not supported for requested item.")
            # A report reads the semantic model of its name, else the stage's first: its definition names it by id.
            models = sorted(
                (i for i in workspace.items if i.item_type == "SemanticModel"), key=lambda i: i.display_name
            )
            model = next(
                (i.id for i in models if i.display_name == item.display_name), models[0].id if models else None
            )
            now = self.now()
            operation = DefinitionOperation(
                lro_id=str(uuid.uuid4()),
                accepted_at=now,
                ready_at=now + self.settings.definition_seconds,
                parts=definition_parts(item.id, item.item_type, item.display_name, item.version, workspace.id, model),
            )
            self.definition_operations[operation.lro_id] = operation
            return operation

    def upstream_relations(
        self, workspace_id: str, item_id: str, *, caller: str | None = None
    ) -> tuple[list[tuple[Item, Workspace]], list[tuple[str, str, str]]]:
        """Every item upstream of the item (what it depends on, and what those depend on) with the edges
        between them, for the Fabric relations/upstream API (beta). The spec: "The caller must have
        *read* permissions for the item", which any workspace role gives; its error codes ItemNotFound
        and InsufficientPrivileges."""
        with self.lock:
            workspace = self.workspace(workspace_id)
            item = workspace.find(item_id.lower())
            if item is None:
                raise FabricError(404, "ItemNotFound", f"The requested item '{item_id}' was not found.")
            if caller is not None and not any(r.principal_id == caller.lower() for r in workspace.roles):
                raise FabricError(
                    403,
                    INSUFFICIENT_PRIVILEGES,
                    f"The caller does not have sufficient permissions: reading the relations of an item in "
                    f"workspace '{workspace.name}' needs read permission on it; the caller has no role there.",
                )
            where = {i.id: (i, ws) for ws in self.workspaces.values() for i in ws.items}
            edges: list[tuple[str, str, str]] = []
            found: list[tuple[Item, Workspace]] = []
            queue, seen = [item.id], {item.id}
            while queue:
                current = queue.pop(0)
                for edge in (e for e in self.relations if e[0] == current):
                    edges.append(edge)
                    upstream = edge[1]
                    if upstream not in seen and upstream in where:  # an item since deleted is no relation
                        seen.add(upstream)
                        found.append(where[upstream])
                        queue.append(upstream)
            return found, [e for e in edges if e[1] in where]

    def issue_token(self, principal_id: str = seed.SERVICE_PRINCIPAL_ID) -> tuple[str, int]:
        """An access token for `principal_id` (the service principal: the emulator's usual caller),
        shaped like Entra's: a JWT whose `oid` claim names the principal, which clients read to know
        who they are. Unsigned (`alg: none`): the emulator knows its tokens by value, and the random
        `uti` claim keeps them unguessable."""
        with self.lock:
            lifetime = self.settings.token_lifetime_seconds
            now = self.now()
            claims = {
                "oid": principal_id,
                "sub": principal_id,
                "tid": seed.TENANT_ID,
                "iat": int(now),
                "exp": math.ceil(now + lifetime),
                "uti": secrets.token_urlsafe(32),
            }
            token = f"{_jwt_part({'typ': 'JWT', 'alg': 'none'})}.{_jwt_part(claims)}."
            self.tokens[token] = now + lifetime
            return token, lifetime

    def token_principal(self, token: str) -> str | None:
        """The object id an access token the emulator issued names (its `oid`); None for any other token."""
        with self.lock:
            if token not in self.tokens:
                return None
        try:
            payload = token.split(".")[1]
            oid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["oid"]
        except (IndexError, KeyError, TypeError, ValueError):
            return None
        return str(oid).lower()

    def caller(self, authorization: str | None) -> str:
        """Who sends a request, from its `Authorization: Bearer` header: the principal its token names.
        The server refuses requests without a valid token before any handler runs; a handler called
        directly without one is the service principal's."""
        scheme, _, token = (authorization or "").partition(" ")
        found = self.token_principal(token.strip()) if scheme.lower() == "bearer" else None
        return found or seed.SERVICE_PRINCIPAL_ID

    def issue_refresh_token(self, user: str) -> str:
        with self.lock:
            token = secrets.token_urlsafe(48)
            self.refresh_tokens[token] = user
            return token

    def refresh_token_user(self, token: str) -> str | None:
        """Whose refresh token this is; None when the emulator never issued it."""
        with self.lock:
            return self.refresh_tokens.get(token)

    def record_assertion(self, assertion: AcceptedAssertion) -> None:
        with self.lock:
            self.assertions.append(assertion)

    def token_status(self, token: str | None) -> str:
        """'valid', 'expired' or 'unknown'."""
        with self.lock:
            expiry = self.tokens.get(token or "")
            if expiry is None:
                return "unknown"
            return "valid" if self.now() < expiry else "expired"

    # -- failure injection and the request log ------------------------------------------------------------

    def inject(
        self,
        path_regex: str,
        count: int,
        status: int | None = None,
        retry_after: int | None = None,
        method: str | None = None,
        *,
        kind: str = "status",
        delay_seconds: float | None = None,
    ) -> InjectionRule:
        """Add a fault rule (see `checked_injection`); ValueError, and no rule, when a field is wrong."""
        rule = checked_injection(path_regex, count, status, retry_after, method, kind, delay_seconds)
        with self.lock:
            self.injections.append(rule)
        return rule

    def take_injection(self, method: str, path: str) -> InjectionRule | None:
        """The first rule matching this request, with one use consumed, or None."""
        with self.lock:
            for rule in self.injections:
                if rule.method in (None, method) and rule.path_regex.search(path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self.injections.remove(rule)
                    return rule
            return None

    def clear_injections(self) -> list[InjectionRule]:
        """Remove every pending rule; the ones removed."""
        with self.lock:
            cleared, self.injections = self.injections, []
            return cleared

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def configure(self, **changes: Any) -> None:
        """Apply every change (None leaves a setting as it is), or, when any is wrong, none.

        Raises ValueError naming each unknown setting and each bad value, and what is expected.
        """
        checked = checked_settings(changes)
        with self.lock:
            for key, value in checked.items():
                setattr(self.settings, key, value)


def checked_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` as Settings values, None ones left out; ValueError listing every problem."""
    unknown = [key for key in changes if key not in SETTING_NAMES]
    problems = []
    if unknown:
        problems.append(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"the settings are {', '.join(SETTING_NAMES)}"
        )
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None or key in unknown:
            continue
        try:
            checked[key] = _SETTING_CHECKS[key](key, value)
        except ValueError as problem:
            problems.append(str(problem))
    if problems:
        raise ValueError("; ".join(problems))
    return checked


def checked_injection(
    path_regex: Any,
    count: Any,
    status: Any,
    retry_after: Any,
    method: Any,
    kind: Any,
    delay_seconds: Any,
) -> InjectionRule:
    """A fault rule from its fields, or ValueError listing every wrong one and what is expected.

    kind "status" answers `status` (400-599; 429s with Retry-After `retry_after`); "reset" drops
    the connection before the request is processed; "lost" processes it, then drops the
    connection unanswered; "slow" waits `delay_seconds` before processing it; "token_expired"
    answers 401 TokenExpired as if the bearer token had expired.
    """
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}: the kinds are {', '.join(FAULT_KINDS)}")
    problems: list[str] = []

    def check(name: str, value: Any, valid: bool, expected: str, *, required: bool = True) -> None:
        if value is None and required:
            which = f" for kind {kind!r}" + (" (the default)" if kind == "status" else "")
            problems.append(f"{name} is required{which if name in ('status', 'delay_seconds') else ''}: {expected}")
        elif value is not None and not valid:
            problems.append(f"{name} must be {expected} (got {value!r})")

    pattern: re.Pattern[str] | None = None
    if isinstance(path_regex, str):
        try:
            pattern = re.compile(path_regex)
        except re.error as error:
            problems.append(f"path_regex {path_regex!r} is not a valid regular expression: {error}")
    else:
        check("path_regex", path_regex, False, "a regular expression (a string) searched in the request's path")
    check("count", count, _is_whole(count) and count >= 1, "a whole number of requests, at least 1")
    valid_method = isinstance(method, str) and method.upper() in HTTP_METHODS
    check("method", method, valid_method, f"one of {', '.join(HTTP_METHODS)}, or null for any", required=False)
    if kind == "status":
        check("status", status, _is_whole(status) and 400 <= status <= 599, "an HTTP error status from 400 to 599")
        valid_retry_after = _is_whole(retry_after) and retry_after >= 0
        check("retry_after", retry_after, valid_retry_after, "a whole number of seconds, at least 0", required=False)
    else:
        problems += [
            f"{name} applies to kind 'status' only, not {kind!r}"
            for name, value in (("status", status), ("retry_after", retry_after))
            if value is not None
        ]
    if kind == "slow":
        valid_delay = _is_number(delay_seconds) and delay_seconds >= 0
        check("delay_seconds", delay_seconds, valid_delay, "a number of seconds, at least 0")
    elif delay_seconds is not None:
        problems.append(f"delay_seconds applies to kind 'slow' only, not {kind!r}")
    if problems or pattern is None:
        raise ValueError("; ".join(problems))
    return InjectionRule(
        pattern,
        count,
        status,
        retry_after,
        method.upper() if method else None,
        kind,
        None if delay_seconds is None else float(delay_seconds),
    )


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(minimum: int, unit: str = "") -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if not _is_whole(value) or value < minimum:
            raise ValueError(f"{key} must be a whole number{unit}, at least {minimum} (got {value!r})")
        return int(value)

    return check


def _seconds(key: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise ValueError(f"{key} must be a number of seconds, at least 0 (got {value!r})")
    return float(value)


def _strings(key: str, value: Any) -> frozenset[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple, set, frozenset)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{key} must be a list of strings (got {value!r})")
    return frozenset(names)


def _subject(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string (got {value!r})")
    return value


def _option_requirements(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and v in OPTION_ERROR_CODES for k, v in value.items()):
        raise ValueError(f"{key} must map item names to one of {', '.join(sorted(OPTION_ERROR_CODES))} (got {value!r})")
    return dict(value)


def _pipeline_seconds(key: str, value: Any) -> dict[str, float]:
    valid = isinstance(value, dict) and all(is_guid(k) and _is_number(v) and v >= 0 for k, v in value.items())
    if not valid:
        raise ValueError(f"{key} must map pipeline ids to numbers of seconds, at least 0 (got {value!r})")
    return {k.lower(): float(v) for k, v in value.items()}


# How each setting is checked and converted; `checked_settings` reports the first problem of each.
_SETTING_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "operation_seconds": _seconds,
    "pipeline_operation_seconds": _pipeline_seconds,
    "deploy_retry_after": _whole(0, " of seconds"),
    "retry_after": _whole(0, " of seconds"),
    "page_size": _whole(1),
    "token_lifetime_seconds": _whole(0, " of seconds"),
    "fail_items": _strings,
    "assertion_lifetime_seconds": _whole(1, " of seconds"),
    "github_subject": _subject,
    "azure_devops_subject": _subject,
    "federated_subjects": _strings,
    "option_requirements": _option_requirements,
    "admin_requests_per_hour": _whole(0),
    "listing_delay_seconds": _seconds,
    "definition_seconds": _seconds,
}


def _jwt_part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def _check_workspace_role(role: str) -> None:
    if role not in WORKSPACE_ROLES:
        raise FabricError(
            400, "InvalidParameter", f"Invalid workspace role '{role}': use one of {', '.join(WORKSPACE_ROLES)}."
        )
