"""The Azure DevOps tasks with `runtime: docker`, for real: the tasks out of the built vsix, `node
index.js` with the agent's environment, fabric-ci.json naming the built image as a release's names
its digest-pinned one, the wrapper running it with the real docker client against a real daemon,
and the core in the container signing in to the emulator and deploying. Needs `make e2e-actions`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fabric_ci.commands import COMMANDS, camel_case
from fabric_ci.emulator import Emulator, EmulatorConfig, seed
from tests.support.azure_pipelines import agent_environment, extract_tasks, run_task

IMAGE = os.environ.get("FABRIC_CI_IMAGE", "fabric-ci:dev")


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = extract_tasks(tmp_path_factory.mktemp("vsix"))
    for config in folder.glob("FabricCi*/fabric-ci.json"):
        data = json.loads(config.read_text(encoding="utf-8"))
        config.write_text(json.dumps({**data, "image": IMAGE}), encoding="utf-8")
    return folder


def run(tasks: Path, emulator: Emulator, tmp_path: Path, command: str, inputs: dict[str, str]) -> dict[str, str]:
    given = {camel_case(name): value for name, value in emulator.inputs().items()}
    temp = tmp_path / command / "_temp"
    temp.mkdir(parents=True)
    task = tasks / COMMANDS[command].task_name
    env = agent_environment(task, {**given, "runtime": "docker", **inputs}, temp_dir=temp, tools_dir=tmp_path / "t")
    result = run_task(task, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.result == "Succeeded", result.stdout + result.stderr
    assert f"docker image {IMAGE}" in result.stdout, result.stdout
    summaries = list(temp.glob("fabric-ci *.md"))
    assert summaries, "the core in the container wrote its summary into the agent's temp folder"
    return result.outputs


def test_deploy_then_wait_through_the_tasks_in_the_image(tasks: Path, tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(operation_seconds=1, retry_after=1)) as emulator:
        deploy = {"pipeline": seed.DEMO_PIPELINE_NAME, "sourceStage": "Development", "wait": "false"}
        started = run(tasks, emulator, tmp_path, "deploy-all", deploy)
        waited = run(
            tasks, emulator, tmp_path, "wait-for-deployment",
            {"pipeline": started["pipelineId"], "operationId": started["operationId"]},
        )  # fmt: skip
    assert waited["operationId"] == started["operationId"]
    assert waited["status"] == "Succeeded"
