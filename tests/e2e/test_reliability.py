"""Waits, lost answers, retries, unreachable hosts and cancels, as a user meets them: fabric-ci as
a real GitHub-mode subprocess against the emulator, failing the way the service fails."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID

from .conftest import RunStep, parse_output_file, step_env

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}
STATUS_READS = ("DeploymentPipelines_GetDeploymentPipelineOperation", "Pipelines_GetPipelineOperation")
DEPLOY_POSTS = ("DeploymentPipelines_DeployStageContent", "Pipelines_DeployAll")


def status_reads(emulator: Emulator) -> list[float]:
    return [r.started_at for r in emulator.requests if r.operation in STATUS_READS]


def test_the_first_status_request_does_not_wait_the_deploy_answers_retry_after(
    run_step: RunStep, emulator: Emulator
) -> None:
    """With Microsoft's Retry-After: 30 on the deploy 202, a 2 s deployment is looked at in seconds, not after 30."""
    emulator.configure(operation_seconds=2)
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 0, run.stdout + run.stderr
    (answer,) = [r for r in emulator.requests if r.operation in DEPLOY_POSTS]
    assert answer.response_headers["Retry-After"] == "30"  # the emulator's default, as Microsoft's example
    accepted = emulator.deployments[0].accepted_at
    reads = status_reads(emulator)
    assert reads[0] - accepted < 5, reads
    assert reads[-1] - accepted < 10, reads


def test_the_duration_estimate_comes_from_deployments_between_the_same_stages(
    run_step: RunStep, emulator: Emulator
) -> None:
    """After a 3 s Test -> Production deployment, the next one is expected to take 3 s (not the 1.5 s of the
    seeded Development -> Test history): one status read, at about 3 s."""
    emulator.configure(operation_seconds=3)
    later = {**DEPLOY, "source-stage": "Test", "target-stage": "Production"}
    assert run_step("deploy-all", later).returncode == 0
    before = len(status_reads(emulator))
    run = run_step("deploy-all", later, env={"RUNNER_DEBUG": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "between these stages took 3s" in run.stdout
    second = emulator.deployments[1]
    reads = status_reads(emulator)[before:]
    assert len(reads) == 1, reads
    assert 3 <= reads[0] - second.accepted_at < 4.5


def test_wait_for_deployment_tolerates_an_id_not_yet_in_the_history(run_step: RunStep, emulator: Emulator) -> None:
    """A just-accepted deployment that the history answers 404 for at first is waited for, not refused as bad input."""
    started = run_step("deploy-all", {**DEPLOY, "wait": "false"})
    assert started.returncode == 0, started.stdout + started.stderr
    emulator.inject(r"/operations/[^/]+$", count=2, status=404, method="GET")
    waited = run_step(
        "wait-for-deployment", {"pipeline": DEMO_PIPELINE_ID, "operation-id": started.outputs["operation-id"]}
    )
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert waited.outputs["status"] == "Succeeded"


def test_wait_for_deployment_of_an_unknown_id_fails_after_the_grace_saying_it_was_not_found(
    run_step: RunStep, emulator: Emulator
) -> None:
    """An id the pipeline never had: exit 1 (not an input error), saying it is not in this pipeline's history."""
    unknown = "0f0f0f0f-1111-4222-8333-444455556666"
    waited = run_step("wait-for-deployment", {"pipeline": DEMO_PIPELINE_ID, "operation-id": unknown})
    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert any("is not in the history of pipeline" in e and unknown in e for e in waited.errors), waited.errors


def test_a_certificate_that_does_not_verify_fails_at_once_saying_to_set_ca_bundle(
    run_step: RunStep, emulator: Emulator, tmp_path: Path
) -> None:
    """Without the emulator's CA, the TLS failure is reported in seconds, naming ca-bundle."""
    inputs = {k: v for k, v in emulator.inputs().items() if k != "ca-bundle"}
    began = time.monotonic()
    run = run_step("deploy-all", {**inputs, **DEPLOY}, connect=False)
    elapsed = time.monotonic() - began
    assert run.returncode == 1
    assert any("`ca-bundle`" in e for e in run.errors), run.errors
    assert elapsed < 20  # figures in the closing note; this only catches minutes of retries


def test_a_refused_connection_is_reported_in_seconds_naming_the_host_and_input(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A wrong port: a few seconds of retries, then an error naming the host:port and the input that set it."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inputs = {**emulator.inputs(), "authority-host": f"https://127.0.0.1:{port}"}
    run = run_step("deploy-all", {**inputs, **DEPLOY}, connect=False)
    assert run.returncode == 1
    assert any(f"127.0.0.1:{port}" in e and "authority-host" in e for e in run.errors), run.errors


def test_retries_are_reported_through_the_runner_not_as_bare_stderr_lines(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A retried 503 shows as a debug line of the runner; nothing but fabric-ci's own lines reaches stderr."""
    emulator.inject(r"/v1/deploymentPipelines$", count=1, status=503, retry_after=0)
    run = run_step("deploy-all", DEPLOY, env={"RUNNER_DEBUG": "1"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert any("HTTP 503; retry 1" in line for line in run.commands("debug")), run.stdout
    assert "stamina" not in run.stderr
    assert run.stderr.strip() == ""


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_cancel_mid_wait_leaves_the_deployment_running_and_says_how_to_follow_it(
    emulator: Emulator, tmp_path: Path, signum: int, exit_code: int
) -> None:
    """SIGINT or SIGTERM while waiting: no traceback; outputs and summary as known; the id and the step to resume it."""
    emulator.configure(operation_seconds=60)
    env = step_env({**emulator.inputs(), **DEPLOY}, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabric_ci", "deploy-all"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output_file = Path(env["GITHUB_OUTPUT"])
    deadline = time.monotonic() + 60
    while "operation-id" not in output_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # inside the wait
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == exit_code, stdout + stderr
    assert "Traceback" not in stdout + stderr
    outputs = parse_output_file(output_file.read_text())
    operation_id = emulator.deployments[0].id
    assert outputs["operation-id"] == operation_id
    assert outputs["status"] in ("NotStarted", "Running")
    errors = [line for line in stdout.splitlines() if line.startswith("::error")]
    assert any("left running" in e and operation_id in e and "wait-for-deployment" in e for e in errors), stdout
    assert operation_id in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert emulator.deployments[0].status_at(emulator.state.now()) in ("NotStarted", "Running")
    assert len([r for r in emulator.requests if r.operation in DEPLOY_POSTS]) == 1
