"""Every action.yml, task.json and fabric-ci.json is what the generator writes from the command registry,
and what it writes agrees with the code: inputs, required-ness, defaults, outputs, schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from fabric_ci.commands import COMMANDS, TASK_SPELLINGS, camel_case, respell
from fabric_ci.models.inputs import SECRET_INPUTS, parse_bool, parse_duration
from fabric_ci.models.results import (
    AddUserResult,
    AssignWorkspaceResult,
    CreatePipelineResult,
    DeletePipelineResult,
    DeployManyResult,
    DeploymentPlan,
    HistoryResult,
    PipelineListResult,
    PipelineViewResult,
    RemoveUserResult,
    UnassignWorkspaceResult,
    UpdateStageResult,
)
from fabric_ci.packaging import azure_devops
from fabric_ci.packaging.__main__ import generated
from fabric_ci.runners.summary import PRESENTATIONS
from tests.support.spec_files import find_specs

from ..runners.builders import TEST, deployment

ROOT = Path(__file__).resolve().parents[3]
TASKS_SCHEMA = "azure-pipelines/tasks.schema.json"  # in the specs folder (tests/support/spec_files.py)
WRAPPER_INPUTS = ["azureSubscription", "fabricConnection", "runtime", "pythonPath"]
# What each command's result really writes, from results built straight from the models.
OUTPUTS: dict[str, list[str]] = {
    "deploy-all": list(deployment(plan=DeploymentPlan()).outputs()),
    "selective-deploy": list(deployment(plan=DeploymentPlan()).outputs()),
    "wait-for-deployment": list(deployment(command="wait-for-deployment").outputs()),
    "assign-workspace": list(
        AssignWorkspaceResult(pipeline_id="p", pipeline_name="P", stage=TEST, workspace_id="w").outputs()
    ),
    "unassign-workspace": list(
        UnassignWorkspaceResult(pipeline_id="p", pipeline_name="P", stage=TEST, workspace_id="w").outputs()
    ),
    "update-stage": list(UpdateStageResult(pipeline_id="p", pipeline_name="P", stage=TEST).outputs()),
    "delete-pipeline": list(DeletePipelineResult(pipeline_id="p", pipeline_name="P").outputs()),
    "add-user": list(AddUserResult(principal="u", principal_type="User").outputs()),
    "remove-user": list(RemoveUserResult(principal="u", principal_type="User").outputs()),
    "create-pipeline": list(
        CreatePipelineResult(pipeline_id="p", pipeline_name="P", created=True, stages=[TEST]).outputs()
    ),
    "deploy-many": list(DeployManyResult(command="deploy-many", entries=()).outputs()),
    "list-pipelines": list(PipelineListResult(command="list-pipelines", pipelines=()).outputs()),
    "show-pipeline": list(
        PipelineViewResult(command="show-pipeline", pipeline_id="p", pipeline_name="P", stages=()).outputs()
    ),
    "history": list(HistoryResult(command="history", pipeline_id="p", pipeline_name="P", deployments=()).outputs()),
    "status": list(deployment(command="status").outputs()),
}


def yaml_file(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def json_file(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def model_default(command: str, name: str) -> object:
    """The model's default for an input, or None when it is required or defaults to nothing."""
    for field_name, field in COMMANDS[command].inputs.model_fields.items():
        if (field.alias or field_name) == name:
            return None if field.is_required() else field.default
    raise KeyError(name)


def required_inputs(command: str) -> set[str]:
    return {f.alias or n for n, f in COMMANDS[command].inputs.model_fields.items() if f.is_required()}


def same_default(command: str, name: str, written: object) -> bool:
    default = model_default(command, name)
    if isinstance(default, bool):
        return parse_bool(written) == default
    if name == "timeout":
        return parse_duration(written) == default
    if isinstance(default, int):  # deploy-many's max-parallel: the runner passes "4"
        return str(written).strip() == str(default)
    return written == default


def committed_image() -> str | None:
    """The released image the tree names (a release commit: docs/releasing.md), or None on main."""
    image = str(yaml_file(ROOT / "action.yml")["runs"]["image"])
    return image if image.startswith("docker://") else None


@pytest.mark.parametrize("path", sorted(generated()))
def test_committed_file_is_what_the_generator_writes(path: str) -> None:
    """Run `make generate` after changing a command, an input model or a description."""
    on_disk = ROOT / path
    assert on_disk.is_file(), f"{path} is missing: run make generate"
    expected = generated(committed_image())[path]
    assert on_disk.read_text(encoding="utf-8") == expected, f"{path} is stale: run make generate"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_action_matches_its_model(command: str) -> None:
    """Each command's action declares the model's inputs in order, its required ones, defaults and outputs."""
    action = yaml_file(ROOT / command / "action.yml")
    spec = COMMANDS[command]
    assert list(action["inputs"]) == spec.input_names
    assert {name for name, entry in action["inputs"].items() if entry["required"]} == required_inputs(command)
    for name, entry in action["inputs"].items():
        if "default" in entry:
            assert same_default(command, name, entry["default"]), name
        else:
            assert model_default(command, name) is None, f"{name} has a model default but none in action.yml"
    assert list(action["outputs"]) == OUTPUTS[command]
    assert action["runs"] == {"using": "docker", "image": "../Dockerfile", "entrypoint": "fabric-ci", "args": [command]}


def test_root_action_is_the_union() -> None:
    """The root action takes `command` plus every command's inputs and declares every output."""
    action = yaml_file(ROOT / "action.yml")
    union = list(dict.fromkeys(name for spec in COMMANDS.values() for name in spec.input_names))
    assert list(action["inputs"]) == ["command", *union]
    assert [name for name, entry in action["inputs"].items() if entry["required"]] == ["command"]
    for command in COMMANDS:
        assert set(OUTPUTS[command]) <= set(action["outputs"])
    assert action["branding"] == {"icon": "upload-cloud", "color": "yellow"}
    assert action["runs"]["image"] == "Dockerfile"
    assert action["runs"]["args"] == ["${{ inputs.command }}"]


@pytest.mark.parametrize("path", [p for p in sorted(generated()) if p.endswith("action.yml")])
def test_descriptions_hold_no_expressions(path: str) -> None:
    """No description contains an expression: the runner evaluates them and fails to load the action."""
    action = yaml_file(ROOT / path)
    texts = [action["description"]]
    texts += [entry["description"] for entry in action["inputs"].values()]
    texts += [entry["description"] for entry in action["outputs"].values()]
    assert all("${{" not in text and text.strip() for text in texts)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_task_declares_the_commands_inputs_and_outputs(command: str) -> None:
    """A task's inputs are the command's, camelCased, with the same required-ness and defaults, plus the
    wrapper's own; its output variables are what the result writes."""
    spec = COMMANDS[command]
    task = json_file(ROOT / "azure-devops-task" / spec.task_name / "task.json")
    names = [entry["name"] for entry in task["inputs"]]
    assert sorted(names) == sorted([camel_case(n) for n in spec.input_names] + WRAPPER_INPUTS)
    by_name = {entry["name"]: entry for entry in task["inputs"]}
    for name in spec.input_names:
        entry = by_name[camel_case(name)]
        assert entry["required"] is (name in required_inputs(command)), name
        if "defaultValue" in entry:
            assert same_default(command, name, entry["defaultValue"]), name
        else:
            assert model_default(command, name) is None, name
        assert entry["helpMarkDown"].strip(), name
    assert [v["name"] for v in task["outputVariables"]] == [camel_case(n) for n in OUTPUTS[command]]
    assert task["name"] == spec.task_name == Path(task["name"]).name
    assert len(task["friendlyName"]) <= 40  # tfx's limit
    assert task["execution"] == {"Node20_1": {"target": "index.js"}, "Node24": {"target": "index.js"}}
    assert task["minimumAgentVersion"] == "4.248.0"
    assert task["version"]["Major"] == 1


@pytest.mark.parametrize("command", list(COMMANDS))
def test_task_json_is_valid_by_microsofts_schema(command: str) -> None:
    """Validated with Python's regular expressions, as check-jsonschema --regex-variant python does."""
    task = json_file(ROOT / "azure-devops-task" / COMMANDS[command].task_name / "task.json")
    jsonschema.Draft4Validator(json_file(find_specs() / TASKS_SCHEMA)).validate(task)


def test_tasks_and_actions_name_each_command_once() -> None:
    ids = [spec.task_id for spec in COMMANDS.values()]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", task_id) for task_id in ids)
    assert all(re.fullmatch(r"[A-Za-z0-9-]+", spec.task_name) for spec in COMMANDS.values())  # tfx's rule


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wrapper_file_maps_every_input_and_secret(command: str) -> None:
    spec = COMMANDS[command]
    wrapper = json_file(ROOT / "azure-devops-task" / spec.task_name / "fabric-ci.json")
    assert wrapper["command"] == command
    assert wrapper["inputs"] == {camel_case(name): name for name in spec.input_names}
    assert set(wrapper["secrets"]) == {camel_case(n) for n in spec.input_names if n in SECRET_INPUTS}
    assert set(wrapper["signIn"]) <= set(wrapper["inputs"])
    assert wrapper["outputs"] == {camel_case(name): name for name in OUTPUTS[command]}


def test_every_result_type_has_a_presentation() -> None:
    assert {spec.result for spec in COMMANDS.values()} <= set(PRESENTATIONS)


def test_camel_case_is_one_rule() -> None:
    assert camel_case("source-stage") == "sourceStage"
    assert camel_case("allow-purge-data") == "allowPurgeData"
    assert camel_case("client-certificate-send-chain") == "clientCertificateSendChain"
    assert camel_case("pipeline") == "pipeline"


def test_respell_changes_whole_names_only() -> None:
    names = ["workspace", "workspace-role", "new-workspace-name", "source-stage"]
    text = "with new-workspace-name, not workspace-role; `source-stage`; source-stages; re-source-stage"
    assert respell(text, names) == (
        "with newWorkspaceName, not workspaceRole; `sourceStage`; source-stages; re-source-stage"
    )


def test_one_word_command_names_stay_words_in_azure_devops_text() -> None:
    """`status` and `history` are commands and words: "the pipeline's history" keeps its word."""
    assert {"status", "history"} <= set(COMMANDS) - set(TASK_SPELLINGS)
    note = azure_devops.task_json(COMMANDS["deploy-all"])["inputs"]
    assert any("the pipeline's history" in entry["helpMarkDown"] for entry in note)
    assert "FabricCiHistory" not in json.dumps(note)


def test_azure_devops_texts_name_tasks_and_camel_case_inputs() -> None:
    """A task's help speaks Azure Pipelines: no GitHub input name or command name is left in it."""
    kebab = {n for spec in COMMANDS.values() for n in (*spec.input_names, *spec.outputs) if "-" in n}
    for spec in COMMANDS.values():
        task = azure_devops.task_json(spec)
        texts = [entry["helpMarkDown"] for entry in task["inputs"]] + [
            v["description"] for v in task["outputVariables"]
        ]
        for text in texts:
            for name in kebab | set(TASK_SPELLINGS):
                assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (spec.name, name, text)


def test_the_extension_ships_and_contributes_every_task() -> None:
    """vss-extension.json is written by hand; a task it does not list is left out of the vsix."""
    extension = json.loads((ROOT / "azure-devops-task" / "vss-extension.json").read_text())
    tasks = [spec.task_name for spec in COMMANDS.values()]
    assert [f["path"] for f in extension["files"] if f["path"].startswith("FabricCi")] == tasks
    contributed = [c for c in extension["contributions"] if c["type"] == "ms.vss-distributed-task.task"]
    assert [(c["id"], c["properties"]["name"]) for c in contributed] == [(t, t) for t in tasks]
