"""The built image, run as GitHub's runner runs a container action: on a bridge network shared with
the emulator as a service container, reached by its service name, the workspace mounted at
/github/workspace and the file commands under /github/file_commands.

act (the other half of `make e2e-actions`) runs action containers on the host network, where a
process on 127.0.0.1 answers; GitHub's runner never does, and an emulator that binds loopback or
names only 127.0.0.1 in its certificate cannot serve a `uses:` step there. These tests keep that
from coming back. They need the image (FABRIC_CI_IMAGE) and a Docker daemon: `make e2e-actions`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fabric_ci.emulator import seed
from tests.support.github_runner import parse_output_file

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("FABRIC_CI_IMAGE", "fabric-ci:dev")
DOCKER = os.environ.get("FABRIC_CI_DOCKER") or "docker"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class Service:
    network: str
    container: str
    ready: dict[str, object]


@pytest.fixture
def network() -> Iterator[str]:
    """A user-defined bridge network, as GitHub's runner makes for a job with services."""
    name = f"fabric-ci-test-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--driver", "bridge", name)
    yield name
    docker("network", "rm", name, check=False)


def start_emulator(network: str, workspace: Path, env: dict[str, str]) -> Service:
    """The emulator as the self-test workflow declares its service: `--entrypoint fabric-ci-emulator`,
    configured by FABRIC_CI_EMULATOR_*, reachable on the network by the alias `emulator`."""
    container = f"fabric-ci-emulator-{uuid.uuid4().hex[:8]}"
    env_args = [f"--env={k}={v}" for k, v in env.items()]
    docker(
        "run", "--detach", "--name", container, "--network", network, "--network-alias", "emulator",
        "--entrypoint", "fabric-ci-emulator", *env_args, IMAGE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    state = workspace / ".fabric-ci-emulator"
    state.mkdir()
    while docker("cp", f"{container}:/state/ready.json", str(state / "ready.json"), check=False).returncode:
        if (
            time.monotonic() > deadline
            or docker("inspect", "-f", "{{.State.Running}}", container).stdout.strip() != "true"
        ):
            logs = docker("logs", container, check=False)
            raise AssertionError(f"the emulator did not become ready:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.2)
    docker("cp", f"{container}:/state/ca.pem", str(state / "ca.pem"))
    return Service(network, container, json.loads((state / "ready.json").read_text()))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


SERVICE_ENV = {
    "FABRIC_CI_EMULATOR_HOST": "0.0.0.0",  # noqa: S104 - inside its container, on the test's own network
    "FABRIC_CI_EMULATOR_PORT": "8443",
    "FABRIC_CI_EMULATOR_HOSTNAME": "emulator",
    "FABRIC_CI_EMULATOR_STATE_DIR": "/state",
    "FABRIC_CI_EMULATOR_READY_FILE": "/state/ready.json",
    "FABRIC_CI_EMULATOR_OPERATION_SECONDS": "1",
}


@pytest.fixture
def service(network: str, workspace: Path) -> Iterator[Service]:
    started = start_emulator(network, workspace, SERVICE_ENV)
    yield started
    docker("rm", "--force", started.container, check=False)


def run_action(network: str, workspace: Path, command: str, inputs: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    """One container action step, with the arguments GitHub's runner gives `docker run`."""
    commands = workspace.parent / "file_commands"
    commands.mkdir(exist_ok=True)
    output = commands / f"set_output_{uuid.uuid4()}"
    summary = commands / f"step_summary_{uuid.uuid4()}"
    output.touch()
    summary.touch()
    env = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
    env |= {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "HOME": "/github/home",
        "GITHUB_WORKSPACE": "/github/workspace",
        "GITHUB_OUTPUT": f"/github/file_commands/{output.name}",
        "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary.name}",
        "RUNNER_TEMP": "/home/runner/work/_temp",
    }
    proc = docker(
        "run", "--rm", "--network", network, "--workdir", "/github/workspace",
        *[f"--env={k}={v}" for k, v in env.items()],
        "--volume", f"{workspace}:/github/workspace", "--volume", f"{commands}:/github/file_commands",
        "--entrypoint", "fabric-ci", IMAGE, command,
        check=False, timeout=300,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr, parse_output_file(output.read_text())


# The inputs a workflow gives: the emulator by its service name, the CA relative to the workspace.
SIGN_IN = {
    "tenant-id": seed.TENANT_ID,
    "client-id": seed.CLIENT_ID,
    "client-secret": seed.CLIENT_SECRET,
    "authority-host": "https://emulator:8443",
    "api-base-url": "https://emulator:8443/v1",
    "ca-bundle": ".fabric-ci-emulator/ca.pem",
}


def test_the_ready_file_names_the_service(service: Service) -> None:
    assert service.ready["api-base-url"] == "https://emulator:8443/v1"
    assert service.ready["authority-host"] == "https://emulator:8443"
    # The service's working directory is / (the image sets none): the path stays absolute there; the
    # workflow copies the file into the workspace and gives the actions a relative path.
    assert service.ready["ca-bundle"] == "/state/ca.pem"


def test_a_container_action_reaches_the_service_by_name_and_deploys(service: Service, workspace: Path) -> None:
    code, log, outputs = run_action(
        service.network, workspace, "deploy-all",
        {**SIGN_IN, "pipeline": seed.DEMO_PIPELINE_NAME, "source-stage": "Development", "timeout": "120"},
    )  # fmt: skip
    assert code == 0, log
    assert outputs["status"] == "Succeeded", log
    assert outputs["pipeline-id"] == seed.DEMO_PIPELINE_ID
    assert json.loads(outputs["deployed-items"]), outputs


def test_deploy_without_waiting_then_wait_in_a_second_container(service: Service, workspace: Path) -> None:
    code, log, deployed = run_action(
        service.network, workspace, "deploy-all",
        {**SIGN_IN, "pipeline": seed.DEMO_PIPELINE_NAME, "source-stage": "Development", "wait": "false"},
    )  # fmt: skip
    assert code == 0, log
    code, log, waited = run_action(
        service.network, workspace, "wait-for-deployment",
        {**SIGN_IN, "pipeline": deployed["pipeline-id"], "operation-id": deployed["operation-id"]},
    )  # fmt: skip
    assert code == 0, log
    assert waited["operation-id"] == deployed["operation-id"]
    assert waited["status"] == "Succeeded"


def test_an_emulator_bound_to_loopback_cannot_serve_a_container_action(network: str, workspace: Path) -> None:
    """What the defaults do inside a container: the service answers only itself. The step fails with
    the refused connection and the host it tried (after about 10 s of retries), never a hang."""
    loopback = start_emulator(network, workspace, {**SERVICE_ENV, "FABRIC_CI_EMULATOR_HOST": "127.0.0.1"})
    try:
        code, log, _ = run_action(
            network, workspace, "assign-workspace",
            {**SIGN_IN, "pipeline": "Operations Pipeline", "stage": "Test",
             "workspace": seed.SPARE_WORKSPACE_IDS[0]},
        )  # fmt: skip
    finally:
        docker("rm", "--force", loopback.container, check=False)
    assert code != 0, log
    assert "Could not connect to https://emulator:8443/" in log, log
    assert "Connection refused" in log, log


def test_the_image_carries_only_what_runs() -> None:
    listing = docker("run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "pip --python /opt/fabric-ci/bin/python list")
    installed = {line.split()[0].lower() for line in listing.stdout.splitlines()[2:]}
    assert {"fabric-ci", "httpx", "msal", "pydantic", "actions-toolkit", "trustme", "cryptography"} <= installed
    removed = {"hatchling", "editables", "pathspec", "pluggy", "tomlkit", "trove-classifiers", "packaging"}
    removed |= {"pygithub", "pynacl", "pycparser", "pip", "setuptools"}
    assert not installed & removed, installed & removed


def test_the_labels_name_the_source_version_and_revision() -> None:
    labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", IMAGE).stdout)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    git = shutil.which("git") or "git"
    revision = subprocess.run([git, "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert labels["org.opencontainers.image.source"] == project["urls"]["Source"]
    assert labels["org.opencontainers.image.version"] == project["version"]
    assert labels["org.opencontainers.image.revision"] == revision.stdout.strip()


def test_what_a_command_imports_from_the_standard_library_is_compiled() -> None:
    """No step compiles the standard library at start-up (what made every start 0.7 s slower)."""
    check = (
        "import importlib.util, os, sys, sysconfig; import fabric_ci.cli, fabric_ci.runners.github; "
        "stdlib = sysconfig.get_paths()['stdlib'] + '/'; "
        "files = [m.__file__ for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '')"
        ".startswith(stdlib) and m.__file__.endswith('.py')]; "
        "missing = [f for f in files if not os.path.exists(importlib.util.cache_from_source(f))]; "
        "print(len(files), *missing)"
    )
    counted, *missing = docker("run", "--rm", "--entrypoint", "python", IMAGE, "-c", check).stdout.split()
    assert int(counted) > 100
    assert missing == []
