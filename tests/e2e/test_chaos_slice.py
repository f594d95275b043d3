"""The real-process slice of the chaos run: the emulator fails requests the way the service fails
(over real TLS sockets), and fabric-ci runs as a GitHub-mode subprocess."""

from __future__ import annotations

import pytest

from fabric_ci.emulator import Emulator

from .conftest import RunStep

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}
DEPLOY_PATH = {"fabric": r"/deploy$", "powerbi": r"/deployAll$"}


@pytest.mark.parametrize("api", ["fabric", "powerbi"])
@pytest.mark.parametrize("wait", ["true", "false"])
def test_a_deploy_answer_lost_after_it_was_acted_on_is_found_not_resent(
    run_step: RunStep, emulator: Emulator, api: str, wait: str
) -> None:
    """The emulator starts the deployment and drops the connection: the step finds it by its marker and reports it."""
    emulator.inject(DEPLOY_PATH[api], count=1, kind="lost", method="POST")
    run = run_step("deploy-all", {**DEPLOY, **emulator.api_inputs(api), "wait": wait})
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(emulator.deployments) == 1
    assert run.outputs["operation-id"] == emulator.deployments[0].id
    assert any("looking in the pipeline's history" in w for w in run.commands("warning")), run.stdout
    if wait == "true":
        assert run.outputs["status"] == "Succeeded"


def test_a_deploy_request_dropped_before_it_was_processed_is_reported_as_unknown_not_resent(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A reset before processing: nothing starts, nothing is re-sent, and the step says the outcome is unknown."""
    emulator.inject(r"/deploy$", count=1, kind="reset", method="POST")
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 1
    assert emulator.deployments == []
    assert any("may still have started" in e for e in run.errors), run.errors


@pytest.mark.parametrize("api", ["fabric", "powerbi"])
def test_faults_on_every_other_request_are_absorbed(run_step: RunStep, emulator: Emulator, api: str) -> None:
    """503s, 429s, resets, a slow answer and TokenExpired for a valid token on reads and sign-in: one right result."""
    emulator.inject(r"/token$", count=1, status=503, retry_after=0)
    emulator.inject(r"/pipelines$|/deploymentPipelines$", count=1, kind="reset")
    emulator.inject(r"/operations$", count=1, status=429, retry_after=1)
    emulator.inject(r"/operations/[^/]+$", count=1, kind="token_expired")
    emulator.inject(r"/operations/[^/]+$", count=1, status=502, retry_after=0)
    emulator.inject(r"/stages$|/pipelines/[^/]+$|/deploymentPipelines/[^/]+$", count=1, kind="slow", delay_seconds=2)
    run = run_step("deploy-all", {**DEPLOY, **emulator.api_inputs(api)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(emulator.deployments) == 1
    assert run.outputs["status"] == "Succeeded"
    assert run.outputs["operation-id"] == emulator.deployments[0].id
    assert "Traceback" not in run.stdout + run.stderr


def test_a_lost_answer_whose_deployment_shows_only_12_s_later_is_found(run_step: RunStep, emulator: Emulator) -> None:
    """The service lists a new deployment 12 s late and the deploy answer is lost: found by its marker, not re-sent."""
    emulator.configure(listing_delay_seconds=12)
    emulator.inject(r"/deploy$", count=1, kind="lost", method="POST")
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(emulator.deployments) == 1
    assert run.outputs["operation-id"] == emulator.deployments[0].id
    assert run.outputs["status"] == "Succeeded"


def test_a_deployment_listed_late_is_waited_for_by_both_wait_paths(run_step: RunStep, emulator: Emulator) -> None:
    """With a 5 s listing lag, deploy-all's own wait and a wait-for-deployment right after wait: false both succeed."""
    emulator.configure(listing_delay_seconds=5)
    waited = run_step("deploy-all", DEPLOY)
    assert waited.returncode == 0, waited.stdout + waited.stderr
    started = run_step("deploy-all", {**DEPLOY, "wait": "false"})
    assert started.returncode == 0, started.stdout + started.stderr
    followed = run_step(
        "wait-for-deployment", {"pipeline": DEPLOY["pipeline"], "operation-id": started.outputs["operation-id"]}
    )
    assert followed.returncode == 0, followed.stdout + followed.stderr
    assert followed.outputs["status"] == "Succeeded"
    assert len(emulator.deployments) == 2
