"""The command registry: every command once, with all that the command line, the runners and the
packaging need to know about it.

Adding a command means an input model (models/inputs.py), an operation (operations/), a result with
its presentation (models/results.py, runners/summary.py), its words (models/descriptions.py), and
one entry here; `make generate` then writes its GitHub action and its Azure DevOps task.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fabric_ci.clock import Clock
from fabric_ci.models import descriptions
from fabric_ci.models.inputs import (
    AddUserInputs,
    AssignWorkspaceInputs,
    CreatePipelineInputs,
    DeletePipelineInputs,
    DeployAllInputs,
    HistoryInputs,
    Inputs,
    ListPipelinesInputs,
    RemoveUserInputs,
    SelectiveDeployInputs,
    ShowPipelineInputs,
    StatusInputs,
    UnassignWorkspaceInputs,
    UpdateStageInputs,
    WaitInputs,
    input_names,
)
from fabric_ci.models.manifest import DeployManyInputs
from fabric_ci.models.results import (
    AddUserResult,
    AssignWorkspaceResult,
    CreatePipelineResult,
    DeletePipelineResult,
    DeployManyResult,
    DeploymentResult,
    DeploymentStatusResult,
    HistoryResult,
    PipelineListResult,
    PipelineViewResult,
    RemoveUserResult,
    Result,
    UnassignWorkspaceResult,
    UpdateStageResult,
)
from fabric_ci.operations.add_user import add_user
from fabric_ci.operations.assign_workspace import assign_workspace
from fabric_ci.operations.create_pipeline import create_pipeline
from fabric_ci.operations.delete_pipeline import delete_pipeline
from fabric_ci.operations.deploy import deploy
from fabric_ci.operations.deploy_many import deploy_many
from fabric_ci.operations.history import history
from fabric_ci.operations.list_pipelines import list_pipelines
from fabric_ci.operations.remove_user import remove_user
from fabric_ci.operations.reporter import Reporter
from fabric_ci.operations.show_pipeline import show_pipeline
from fabric_ci.operations.status import status
from fabric_ci.operations.unassign_workspace import unassign_workspace
from fabric_ci.operations.update_stage import update_stage
from fabric_ci.operations.wait_for_deployment import wait_for_deployment

if TYPE_CHECKING:
    from fabric_ci.api.client import PipelinesClient

Operation = Callable[[Any, "PipelinesClient", Reporter, Clock], Result]

DEPLOYMENT_OUTPUTS = (
    "operation-id",
    "status",
    "pipeline-id",
    "source-stage-id",
    "target-stage-id",
    "deployed-items",
    "duration-seconds",
)
# deploy-all and selective-deploy: what the deployment does, item by item (operations/plan.py).
PLAN_OUTPUTS = ("plan", "create", "overwrite", "unchanged", "skipped")


@dataclass(frozen=True)
class Command:
    name: str  # as typed on the command line and in the GitHub action's folder: `deploy-all`
    title: str  # what it does, for names: "deploy all"
    description: str  # one or two sentences, for the action, the task and `--help`
    inputs: type[Inputs]
    run: Operation
    result: type[Result]
    outputs: tuple[str, ...]  # GitHub (kebab-case) names, in the order they are documented
    task_id: str  # the Azure DevOps task's GUID: never changes, or agents see a new task
    instance_name: str  # the Azure DevOps step's default display name; $(input) is the input's value

    @property
    def input_names(self) -> list[str]:
        return input_names(self.inputs)

    @property
    def task_name(self) -> str:
        """The Azure DevOps task's name and folder: `FabricCiDeployAll` (`- task: FabricCiDeployAll@1`)."""
        return "FabricCi" + "".join(word.capitalize() for word in self.name.split("-"))

    def input_description(self, name: str) -> str:
        return descriptions.INPUT_OVERRIDES.get((self.name, name)) or descriptions.INPUTS[name]

    def output_description(self, name: str) -> str:
        return descriptions.OUTPUT_OVERRIDES.get((self.name, name)) or descriptions.OUTPUTS[name]


def camel_case(name: str) -> str:
    """The Azure Pipelines spelling of an input or output: `source-stage` -> `sourceStage`.
    Azure Pipelines allows only `^[A-Za-z][A-Za-z0-9]*$` there; one mechanical rule, both ways."""
    first, *rest = name.split("-")
    return first + "".join(word.capitalize() for word in rest)


def respell(text: str, names: Iterable[str], spelling: dict[str, str] | None = None) -> str:
    """`text` with each of `names` written the Azure Pipelines way (`source-stage` -> `sourceStage`), or
    as `spelling` says; only whole names are changed (`workspace-role` is not touched inside
    `new-workspace-role-x`)."""
    spelling = spelling or {}
    for name in sorted(set(names) | set(spelling), key=len, reverse=True):
        new = spelling.get(name) or camel_case(name)
        if new != name:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", new, text)
    return text


def _add_user(inputs: AddUserInputs, client: PipelinesClient, reporter: Reporter, _clock: Clock) -> Result:
    # add-user must know who is signed in, so that it never locks that principal out unasked.
    return add_user(inputs, client, reporter, client.signed_in_principal())


def _remove_user(inputs: RemoveUserInputs, client: PipelinesClient, reporter: Reporter, _clock: Clock) -> Result:
    # As add-user: it must know who is signed in, so that it never locks that principal out unasked.
    return remove_user(inputs, client, reporter, client.signed_in_principal())


def _no_wait(operation: Callable[[Any, PipelinesClient, Reporter], Result]) -> Operation:
    """An operation that never waits, in the registry's shape: the clock it is handed goes unused."""

    def run(inputs: Any, client: PipelinesClient, reporter: Reporter, _clock: Clock) -> Result:
        return operation(inputs, client, reporter)

    return run


_REGISTRY = (
    Command(
        name="deploy-all",
        title="deploy all",
        description=(
            "Deploy every item from one stage of a Microsoft Fabric deployment pipeline to the next (or to a "
            "chosen stage), wait for it, and report each item."
        ),
        inputs=DeployAllInputs,
        run=deploy,
        result=DeploymentResult,
        outputs=DEPLOYMENT_OUTPUTS + PLAN_OUTPUTS,
        task_id="42764e3a-0f1f-458d-a4f9-5e22670de263",
        instance_name="Deploy all of $(pipeline) from $(sourceStage)",
    ),
    Command(
        name="selective-deploy",
        title="selective deploy",
        description=(
            "Deploy chosen items (by id, `Type: name`, or name) from one stage of a Microsoft Fabric deployment "
            "pipeline to another, wait for it, and report each item."
        ),
        inputs=SelectiveDeployInputs,
        run=deploy,
        result=DeploymentResult,
        outputs=DEPLOYMENT_OUTPUTS + PLAN_OUTPUTS,
        task_id="fbc6511a-60e0-4b1d-9def-e7252e1fa232",
        instance_name="Deploy chosen items of $(pipeline) from $(sourceStage)",
    ),
    Command(
        name="deploy-many",
        title="deploy many",
        description=(
            "Deploy several Microsoft Fabric deployment pipelines in one step, from a manifest: at the same time "
            "where they can, in dependency order where they must, and report each."
        ),
        inputs=DeployManyInputs,
        run=deploy_many,
        result=DeployManyResult,
        outputs=("results",),
        task_id="576a309d-612c-4f75-b7a5-2025ffc04df7",
        instance_name="Deploy many pipelines",
    ),
    Command(
        name="assign-workspace",
        title="assign workspace",
        description="Assign a workspace to a stage of a Microsoft Fabric deployment pipeline.",
        inputs=AssignWorkspaceInputs,
        run=_no_wait(assign_workspace),
        result=AssignWorkspaceResult,
        outputs=("pipeline-id", "stage-id", "workspace-id"),
        task_id="1150d835-7ee0-4884-94b9-c5ce9d6b6578",
        instance_name="Assign workspace $(workspace) to stage $(stage) of $(pipeline)",
    ),
    Command(
        name="unassign-workspace",
        title="unassign workspace",
        description=(
            "Take the workspace off a stage of a Microsoft Fabric deployment pipeline (the stage's deployment "
            "history and deployment rules are lost); a stage without one is left as it is."
        ),
        inputs=UnassignWorkspaceInputs,
        run=_no_wait(unassign_workspace),
        result=UnassignWorkspaceResult,
        outputs=("pipeline-id", "stage-id", "workspace-id", "changed"),
        task_id="e88a40e8-d145-4fd9-a2dc-f834135c1ecd",
        instance_name="Unassign the workspace of stage $(stage) of $(pipeline)",
    ),
    Command(
        name="create-pipeline",
        title="create pipeline",
        description=(
            "Create a Microsoft Fabric deployment pipeline with its stages, and assign workspaces to them; a "
            "pipeline of that name with the same stages is left as it is."
        ),
        inputs=CreatePipelineInputs,
        run=_no_wait(create_pipeline),
        result=CreatePipelineResult,
        outputs=("pipeline-id", "stage-ids", "changed"),
        task_id="642c7d40-c62b-4074-8c61-e6207366f0c6",
        instance_name="Create deployment pipeline $(pipeline)",
    ),
    Command(
        name="update-stage",
        title="update stage",
        description=(
            "Rename a stage of a Microsoft Fabric deployment pipeline, or change its description or whether it is "
            "public (the Fabric API only); a stage that already has the values given is left as it is."
        ),
        inputs=UpdateStageInputs,
        run=_no_wait(update_stage),
        result=UpdateStageResult,
        outputs=("pipeline-id", "stage-id", "changed"),
        task_id="2f1e28f7-d391-4ce6-b93b-098db3e92d37",
        instance_name="Update stage $(stage) of $(pipeline)",
    ),
    Command(
        name="delete-pipeline",
        title="delete pipeline",
        description=(
            "Delete a Microsoft Fabric deployment pipeline, refused while one of its deployments runs. Its stages' "
            "deployment history, its deployment rules and the pairing of items between stages are lost; its "
            "workspaces and their content stay, unassigned. A pipeline not visible to the principal is left alone."
        ),
        inputs=DeletePipelineInputs,
        run=_no_wait(delete_pipeline),
        result=DeletePipelineResult,
        outputs=("pipeline-id", "changed"),
        task_id="3faa732c-56dd-493a-addc-9eec74f34ca3",
        instance_name="Delete deployment pipeline $(pipeline)",
    ),
    Command(
        name="add-user",
        title="add user",
        description=(
            "Give a user, group or service principal the Admin role on a Microsoft Fabric deployment pipeline."
        ),
        inputs=AddUserInputs,
        run=_add_user,
        result=AddUserResult,
        outputs=("pipeline-id", "principal", "role", "workspace-id", "workspace-role", "changed"),
        task_id="ae49b3bf-f0d8-4f29-96d8-a0c4336663bc",
        instance_name="Add user $(principal) ($(principalType))",
    ),
    Command(
        name="remove-user",
        title="remove user",
        description=(
            "Take a user's, group's or service principal's role off a Microsoft Fabric deployment pipeline, a "
            "workspace, or both; a principal without one there is left as it is."
        ),
        inputs=RemoveUserInputs,
        run=_remove_user,
        result=RemoveUserResult,
        outputs=("pipeline-id", "principal", "removed-role", "workspace-id", "removed-workspace-role", "changed"),
        task_id="9139d6f8-2d6c-416e-a12b-8fc0c2e6fcdd",
        instance_name="Remove user $(principal) ($(principalType))",
    ),
    Command(
        name="wait-for-deployment",
        title="wait for deployment",
        description=(
            "Wait for a Microsoft Fabric deployment started by an earlier step (its operation-id) to end, and "
            "report it."
        ),
        inputs=WaitInputs,
        run=wait_for_deployment,
        result=DeploymentResult,
        outputs=DEPLOYMENT_OUTPUTS,
        task_id="54ad29ac-6794-4c22-a009-29f6d4142878",
        instance_name="Wait for deployment $(operationId) of $(pipeline)",
    ),
    # Read-only: what there is and how a deployment stands, for a person at a terminal and for a
    # step that needs ids.
    Command(
        name="list-pipelines",
        title="list pipelines",
        description=(
            "List the Microsoft Fabric deployment pipelines the principal can see: name, id, number of stages, "
            "and whether it is the pipeline's Admin."
        ),
        inputs=ListPipelinesInputs,
        run=_no_wait(list_pipelines),
        result=PipelineListResult,
        outputs=("pipelines",),
        task_id="3f2446f1-86ba-4b64-aec3-989d0495839c",
        instance_name="List deployment pipelines",
    ),
    Command(
        name="show-pipeline",
        title="show pipeline",
        description=(
            "Show a Microsoft Fabric deployment pipeline's stages in order, with their ids, workspaces and item "
            "counts; with `items`, each stage's items and the item each is paired with in the next stage."
        ),
        inputs=ShowPipelineInputs,
        run=_no_wait(show_pipeline),
        result=PipelineViewResult,
        outputs=("pipeline-id", "stages"),
        task_id="48142c7e-94fa-4c24-8765-cde66c9743c3",
        instance_name="Show deployment pipeline $(pipeline)",
    ),
    Command(
        name="history",
        title="history",
        description=(
            "List a Microsoft Fabric deployment pipeline's recent deployments, newest first: id, stages, status, "
            "start, duration, who started it and its note."
        ),
        inputs=HistoryInputs,
        run=_no_wait(history),
        result=HistoryResult,
        outputs=("pipeline-id", "deployments"),
        task_id="e575bd04-d607-4181-9349-0d16036e667f",
        instance_name="Deployment history of $(pipeline)",
    ),
    Command(
        name="status",
        title="status",
        description=(
            "Read a Microsoft Fabric deployment's state and each item's result once, without waiting: the step "
            "succeeds whatever the deployment's status, which the `status` output holds."
        ),
        inputs=StatusInputs,
        run=_no_wait(status),
        result=DeploymentStatusResult,
        outputs=DEPLOYMENT_OUTPUTS,
        task_id="70335b42-ec9a-41fb-b791-81a413682634",
        instance_name="Status of deployment $(operationId) of $(pipeline)",
    ),
)

COMMANDS: dict[str, Command] = {command.name: command for command in _REGISTRY}

# The command names that text for Azure Pipelines rewrites as task names (`wait-for-deployment` ->
# `FabricCiWaitForDeployment`). A one-word name (status, history) is also a plain English word: a
# sentence's "deployment history" must not become "deployment FabricCiHistory".
TASK_SPELLINGS: dict[str, str] = {c.name: c.task_name for c in _REGISTRY if "-" in c.name}
