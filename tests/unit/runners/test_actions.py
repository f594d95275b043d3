"""The action.yml files declare exactly the inputs, defaults and outputs the Python core has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fabric_ci.models.inputs import COMMANDS, input_names, parse_bool, parse_duration
from fabric_ci.models.results import AddUserResult, AssignWorkspaceResult

from .builders import TEST, deployment

yaml = pytest.importorskip("ruamel.yaml")

ROOT = Path(__file__).resolve().parents[3]
OUTPUTS: dict[str, list[str]] = {
    "deploy-all": list(deployment().outputs()),
    "selective-deploy": list(deployment().outputs()),
    "wait-for-deployment": list(deployment().outputs()),
    "assign-workspace": list(
        AssignWorkspaceResult(pipeline_id="p", pipeline_name="P", stage=TEST, workspace_id="w").outputs()
    ),
    "add-user": list(
        AddUserResult(principal="u", principal_type="User").outputs()
    ),
}  # fmt: skip


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


def model_default(command: str, name: str) -> object:
    """The model's default for an input, or None when it is required or defaults to nothing."""
    model = COMMANDS[command]
    for field_name, field in model.model_fields.items():
        if (field.alias or field_name) == name:
            return None if field.is_required() else field.default
    raise KeyError(name)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_action_matches_its_model(command: str) -> None:
    """Each command's action declares the model's inputs in order, its required ones, defaults and outputs."""
    action = load(ROOT / command / "action.yml")
    model = COMMANDS[command]
    assert list(action["inputs"]) == input_names(model)
    required = {f.alias or n for n, f in model.model_fields.items() if f.is_required()}
    assert {name for name, spec in action["inputs"].items() if spec["required"]} == required
    for name, spec in action["inputs"].items():
        if "default" not in spec:
            assert model_default(command, name) is None, f"{name} has a model default but none in action.yml"
            continue
        default = model_default(command, name)
        if isinstance(default, bool):
            assert parse_bool(spec["default"]) == default
        elif name == "timeout":
            assert parse_duration(spec["default"]) == default
        else:
            assert spec["default"] == default
    assert list(action["outputs"]) == OUTPUTS[command]
    assert action["runs"] == {
        "using": "docker",
        "image": "../Dockerfile",
        "entrypoint": "fabric-ci",
        "args": [command],
    }


def test_root_action_is_the_union() -> None:
    """The root action takes `command` plus every command's inputs and declares every output."""
    action = load(ROOT / "action.yml")
    union: list[str] = []
    for model in COMMANDS.values():
        union += [name for name in input_names(model) if name not in union]
    assert list(action["inputs"]) == ["command", *union]
    assert [name for name, spec in action["inputs"].items() if spec["required"]] == ["command"]
    for command in COMMANDS:
        assert set(OUTPUTS[command]) <= set(action["outputs"])
    assert action["branding"] == {"icon": "upload-cloud", "color": "yellow"}
    assert action["runs"]["image"] == "Dockerfile"
    assert action["runs"]["args"] == ["${{ inputs.command }}"]


@pytest.mark.parametrize("path", ["action.yml", *(f"{command}/action.yml" for command in COMMANDS)])
def test_descriptions_hold_no_expressions(path: str) -> None:
    """No description contains an expression: the runner evaluates them and fails to load the action."""
    action = load(ROOT / path)
    texts = [action["description"]]
    texts += [spec["description"] for spec in action["inputs"].values()]
    texts += [spec["description"] for spec in action["outputs"].values()]
    assert all("${{" not in text and text.strip() for text in texts)
