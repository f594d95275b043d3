"""fabric-ci as an Azure Pipelines task runs it: a real process with TF_BUILD=True, the inputs as
INPUT_<TASKINPUTNAME> variables (what the Node wrapper passes, azure-devops-task/README.md), AGENT_TEMPDIRECTORY
for the summary, against the emulator. Everything is read back from stdout as the agent reads it
(tests/support/agent_commands.py, a port of the agent's parser)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fabric_ci.commands import camel_case
from fabric_ci.emulator import Emulator, seed
from tests.support.agent_commands import agent_parse, commands, issues, variables

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}
# add-user of a principal that already is an admin: one sign-in, a few reads, no change.
ADD_EXISTING_ADMIN = {
    "pipeline": seed.DEMO_PIPELINE_NAME,
    "principal": seed.USER_PRINCIPAL_ID,
    "principal-type": "User",
}
# The variables of the job this process must not inherit from the test run's own environment.
FOREIGN = ("INPUT_", "GITHUB_", "RUNNER_", "FABRIC_CI_", "ACTIONS_", "AGENT_", "SYSTEM_", "AZURESUBSCRIPTION_", "TF_")


@dataclass
class TaskRun:
    returncode: int
    stdout: str
    stderr: str
    temp: Path

    def commands(self, name: str) -> list[tuple[dict[str, str], str]]:
        return commands(self.stdout, name)

    @property
    def outputs(self) -> dict[str, str]:
        return variables(self.stdout)

    @property
    def errors(self) -> list[str]:
        return issues(self.stdout, "error")

    @property
    def warnings(self) -> list[str]:
        return issues(self.stdout, "warning")

    @property
    def complete(self) -> tuple[str, str]:
        [(properties, message)] = self.commands("task.complete")
        return properties["result"], message

    @property
    def summary(self) -> str:
        """The one summary file the step attached (it must lie in AGENT_TEMPDIRECTORY, by absolute path)."""
        [(_, path)] = self.commands("task.uploadsummary")
        assert Path(path).is_absolute(), path
        assert Path(path).parent == self.temp, path
        return Path(path).read_text(encoding="utf-8")

    @property
    def shown(self) -> str:
        """Everything the step wrote but its secret registrations."""
        lines = [line for line in self.stdout.splitlines() if not line.startswith("##vso[task.setsecret]")]
        return "\n".join(lines) + "\n" + self.stderr


RunTask = Callable[..., TaskRun]


def task_env(inputs: dict[str, str], temp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update({f"INPUT_{camel_case(name).upper()}": value for name, value in inputs.items()})
    env.update(TF_BUILD="True", AGENT_TEMPDIRECTORY=str(temp), PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


@pytest.fixture
def run_task(emulator: Emulator, tmp_path: Path) -> RunTask:
    """Run `python -m fabric_ci <command>` as the task wrapper does, pointed at the emulator."""
    counter = iter(range(1000))

    def run(
        command: str, inputs: dict[str, str], *, connect: bool = True, env: dict[str, str] | None = None
    ) -> TaskRun:
        temp = tmp_path / f"step{next(counter)}"
        temp.mkdir()
        given = {**(emulator.inputs() if connect else {}), **inputs}
        proc = subprocess.run(
            [sys.executable, "-m", "fabric_ci", command],
            env=task_env(given, temp, env),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        return TaskRun(proc.returncode, proc.stdout, proc.stderr, temp)

    return run


def succeeded(run: TaskRun) -> TaskRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.errors == [], run.errors
    assert run.complete[0] == "Succeeded"
    return run


def test_deploy_all_on_the_fabric_api(run_task: RunTask, emulator: Emulator) -> None:
    """deploy-all: the secret registered first, camelCase output variables (operationId once, before the
    rest), the summary attached, and the step Succeeded with the headline."""
    run = succeeded(run_task("deploy-all", DEPLOY))
    assert run.stdout.splitlines()[0] == f"##vso[task.setsecret]{seed.CLIENT_SECRET}"
    out = run.outputs
    assert out["operationId"] == emulator.deployments[0].id
    assert (out["status"], out["pipelineId"]) == ("Succeeded", seed.DEMO_PIPELINE_ID)
    assert (out["sourceStageId"], out["targetStageId"]) == (seed.DEV_STAGE_ID, seed.TEST_STAGE_ID)
    names = [props["variable"] for props, _ in run.commands("task.setvariable")]
    assert names.count("operationId") == 1
    assert names[0] == "operationId"
    assert '"name":"Sales Overview"' in out["deployedItems"]
    assert "| Sales Overview |" in run.summary
    result, headline = run.complete
    assert result == "Succeeded"
    assert headline.startswith("Deployed 10 items from Development to Test in ")
    assert f"\n{headline}\n" in run.stdout  # in the log too, not only in the step's result
    assert run.stdout.count("##[group]") == run.stdout.count("##[endgroup]") >= 1
    assert run.stderr == ""


def test_wait_for_deployment_follows_a_deployment_started_without_waiting(run_task: RunTask) -> None:
    """wait: false ends at once, its summary naming FabricCiWaitForDeployment and operationId; that task,
    given the operationId output, follows the deployment to Succeeded."""
    started = succeeded(run_task("deploy-all", {**DEPLOY, "wait": "false"}))
    operation_id = started.outputs["operationId"]
    assert started.outputs["status"] in ("NotStarted", "Running")
    assert f"the `FabricCiWaitForDeployment` task with `operationId: {operation_id}`" in started.summary
    assert "wait-for-deployment" not in started.summary
    waited = succeeded(
        run_task("wait-for-deployment", {"pipeline": seed.DEMO_PIPELINE_ID, "operation-id": operation_id})
    )
    assert waited.outputs["status"] == "Succeeded"
    assert waited.outputs["operationId"] == operation_id
    assert Path(waited.commands("task.uploadsummary")[0][1]).name == "fabric-ci wait-for-deployment.md"


def test_deploy_all_on_the_power_bi_api(run_task: RunTask, emulator: Emulator) -> None:
    """With `api: powerbi` only the Power BI API is called; stages are reported by order."""
    run = succeeded(run_task("deploy-all", {**DEPLOY, **emulator.api_inputs("powerbi")}))
    assert (run.outputs["sourceStageId"], run.outputs["targetStageId"]) == ("0", "1")
    assert run.outputs["status"] == "Succeeded"
    assert not [r for r in emulator.requests if r.path.startswith("/v1/")]
    assert [r for r in emulator.requests if r.operation == "Pipelines_DeployAll"]


def test_a_failed_deployment_has_one_issue_per_failed_item(run_task: RunTask, emulator: Emulator) -> None:
    """An item fails: one error for the deployment, one per failed item naming it, status Failed, the step
    Failed with the deployment's error."""
    # The emulator's run stops at its first failing step (as the service's does): one item fails.
    emulator.configure(fail_items={"Sales Model"})
    run = run_task("deploy-all", DEPLOY)
    assert run.returncode == 1, run.stdout + run.stderr
    failed = [item for item in json.loads(run.outputs["deployedItems"]) if item["status"] == "Failed"]
    assert [item["name"] for item in failed] == ["Sales Model"]
    deployment, *per_item = run.errors
    assert deployment.startswith(f"Deployment {run.outputs['operationId']} failed: 1 of ")
    assert len(per_item) == len(failed)
    assert per_item[0].startswith("Item 'Sales Model' (SemanticModel) failed: ")
    assert run.outputs["status"] == "Failed"
    assert run.complete == ("Failed", deployment)
    assert run.summary.startswith("### ❌ Deployment failed\n")
    assert "Traceback" not in run.stderr


def test_a_bad_input_is_named_as_the_pipeline_names_it_and_nothing_is_sent(
    run_task: RunTask, emulator: Emulator
) -> None:
    """No sourceStage (GitHub's INPUT_SOURCE-STAGE does not count): exit 2, an error naming `sourceStage`,
    and the emulator sees no request at all."""
    run = run_task("deploy-all", {"pipeline": "Sales Analytics"}, env={"INPUT_SOURCE-STAGE": "Development"})
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.errors == ["Input 'sourceStage': required and not supplied"]
    assert run.complete == ("Failed", "Input 'sourceStage': required and not supplied")
    assert "- Input 'sourceStage': required and not supplied\n" in run.summary
    assert emulator.requests == []


def test_an_input_from_the_service_connection_is_named_as_such(run_task: RunTask, emulator: Emulator) -> None:
    """A tenantId the wrapper took from the service connection is reported as coming from it."""
    connection = {"FABRIC_CI_CONNECTION": "azureSubscription", "FABRIC_CI_CONNECTION_INPUTS": "tenantId,clientId"}
    run = run_task("deploy-all", {**DEPLOY, "tenant-id": "not a tenant"}, env=connection)
    assert run.returncode == 2, run.stdout + run.stderr
    [error] = run.errors
    assert error.startswith("Input tenantId (from the service connection in azureSubscription): ")
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("secret", "exit_code"), [(seed.CLIENT_SECRET, 0), ("canary-wrong-secret-7f3a;%]value", 1)], ids=["right", "wrong"]
)
def test_the_client_secret_is_only_ever_in_its_registration(
    run_task: RunTask, emulator: Emulator, secret: str, exit_code: int
) -> None:
    """With debug on, right or wrong, the client secret (and every token registered) appears only in its
    `##vso[task.setsecret]` line: not in the log, the issues, the outputs, the summary or stderr."""
    debug = {"SYSTEM_DEBUG": "true", "RUNNER_DEBUG": "1"}
    run = run_task("deploy-all", {**DEPLOY, "client-secret": secret, "wait": "false"}, env=debug)
    assert run.returncode == exit_code, run.stdout + run.stderr
    registered = [data for _, data in run.commands("task.setsecret")]
    assert registered[0] == secret
    assert run.stdout.splitlines()[0].startswith("##vso[task.setsecret]")
    for text in (run.shown, run.summary, *run.errors, *run.outputs.values()):
        for value in registered:
            assert value not in text
        assert "eyJ" not in text  # no access token
    if exit_code:
        assert any("The client secret is wrong. Check `clientSecret`" in e for e in run.errors), run.errors


def test_workload_identity_federation_through_the_service_connection(run_task: RunTask, emulator: Emulator) -> None:
    """auth: oidc as the wrapper passes it for a workload identity federation connection: the OIDC token
    comes from SYSTEM_OIDCREQUESTURI with the job's access token, Entra accepts it, the assertion is
    registered as a secret, and neither it nor the access token is shown."""
    sign_in = emulator.sign_in("oidc-azure-devops")
    env = {
        **sign_in.environment,
        "FABRIC_CI_CONNECTION": "azureSubscription",
        "FABRIC_CI_CONNECTION_INPUTS": "auth,tenantId,clientId",
    }
    run = succeeded(run_task("add-user", {**sign_in.inputs, **ADD_EXISTING_ADMIN}, connect=False, env=env))
    assert run.outputs["changed"] == "false"
    seen = [r.operation for r in emulator.requests]
    assert seen.count("AzureDevOps_OidcToken") == 1
    assert [a.kind for a in emulator.assertions] == ["federated"]
    registered = [data for _, data in run.commands("task.setsecret")]
    assert any(value.startswith("eyJ") for value in registered)  # the assertion, masked the moment it came
    for text in (run.shown, run.summary):
        assert seed.AZURE_DEVOPS_ACCESS_TOKEN not in text
        assert "eyJ" not in text


def test_a_refused_oidc_request_names_the_service_connection(run_task: RunTask, emulator: Emulator) -> None:
    """A service connection the pipeline may not use: a sign-in error saying what to check, and no token."""
    sign_in = emulator.sign_in("oidc-azure-devops")
    env = {**sign_in.environment, "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "00000000-0000-0000-0000-000000000001"}
    run = run_task("add-user", {**sign_in.inputs, **ADD_EXISTING_ADMIN}, connect=False, env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    [error] = run.errors
    assert "Azure Pipelines refused the OIDC token request (HTTP 404" in error
    assert "00000000-0000-0000-0000-000000000001" in error
    assert emulator.assertions == []


def test_a_cancel_mid_wait_is_failed_with_the_operation_id_and_how_to_follow_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SIGTERM (the agent's cancel, forwarded by the wrapper) while waiting: exit 143, operationId already
    set, and the step Failed saying to follow the deployment with FabricCiWaitForDeployment."""
    emulator.configure(operation_seconds=60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabric_ci", "deploy-all"],
        env=task_env({**emulator.inputs(), **DEPLOY}, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        parsed = agent_parse(line.rstrip("\n"))
        if not line or (parsed and parsed[1].get("variable") == "operationId"):
            break
    time.sleep(1.5)  # inside the wait
    proc.send_signal(signal.SIGTERM)
    rest, stderr = proc.communicate(timeout=30)
    stdout = "".join(seen) + rest
    assert proc.returncode == 143, stdout + stderr
    assert "Traceback" not in stdout + stderr
    operation_id = emulator.deployments[0].id
    assert variables(stdout)["operationId"] == operation_id
    [(properties, message)] = commands(stdout, "task.complete")
    assert properties == {"result": "Failed"}
    assert operation_id in message
    assert "FabricCiWaitForDeployment" in message
    assert message in issues(stdout)
    assert emulator.deployments[0].status_at(emulator.state.now()) in ("NotStarted", "Running")
