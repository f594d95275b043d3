"""The Azure DevOps tasks as the agent runs them: taken out of the built vsix, `node index.js` with the
agent's environment (service connections included), `runtime: python`, so that every run goes
through the wrapper, a real venv made by it with a real pip install (from a package index on
loopback, by hash), and the core in Azure Pipelines mode, against the emulator. Results are read
back from the `##vso[` lines, as the agent reads them."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fabric_ci.commands import COMMANDS, camel_case
from fabric_ci.emulator import Emulator, seed
from tests.support.azure_pipelines import (
    Connection,
    TaskRun,
    agent_environment,
    base_python,
    extract_tasks,
    logging_commands,
    package_index,
    run_task,
    start_task,
    system_vss_connection,
)

DEPLOY = {"pipeline": seed.DEMO_PIPELINE_NAME, "sourceStage": "Development", "targetStage": "Test"}
CANARY = "canary-Zq8xT3vR9wKp"  # a client secret that must never be seen but in ##vso[task.setsecret]
WIF = Connection(
    seed.SERVICE_CONNECTION_ID,
    "WorkloadIdentityFederation",
    {"tenantid": seed.TENANT_ID, "serviceprincipalid": seed.CLIENT_ID},
    {"environment": "AzureCloud"},
)


def arm_connection(connection_id: str, **parameters: str) -> Connection:
    """An Azure Resource Manager connection with a service principal of the emulator's tenant."""
    return Connection(
        connection_id,
        "ServicePrincipal",
        {"tenantid": seed.TENANT_ID, "serviceprincipalid": seed.CLIENT_ID, **parameters},
        {"environment": "AzureCloud"},
    )


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract_tasks(tmp_path_factory.mktemp("vsix"))


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with package_index(tmp_path_factory.mktemp("index")) as url:
        yield url


@pytest.fixture(scope="module")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One agent's tools directory for the module: the first task run creates the venv, the rest reuse it."""
    return tmp_path_factory.mktemp("tools")


class Agent:
    """Runs tasks for one test: each step gets its own temp directory, as each job does."""

    def __init__(self, emulator: Emulator, tasks: Path, tools_dir: Path, index_url: str, tmp_path: Path) -> None:
        self.emulator, self.tasks, self.tools_dir, self.index_url, self.tmp_path = (
            emulator,
            tasks,
            tools_dir,
            index_url,
            tmp_path,
        )
        self.steps = 0

    def target(self, api: str = "fabric") -> dict[str, str]:
        """The inputs that point a task at the emulator (not sign-in: that comes from the connection)."""
        given = self.emulator.inputs(api)
        names = ("api-base-url", "authority-host", "ca-bundle", "api")
        return {camel_case(name): given[name] for name in names if name in given}

    def environment(
        self,
        command: str,
        inputs: dict[str, str],
        connections: tuple[Connection, ...] = (),
        variables: dict[str, str] | None = None,
    ) -> dict[str, str]:
        self.steps += 1
        temp = self.tmp_path / f"step{self.steps}" / "_temp"
        temp.mkdir(parents=True)
        return agent_environment(
            self.tasks / COMMANDS[command].task_name,
            {"runtime": "python", "pythonPath": base_python(), **inputs},
            temp_dir=temp,
            tools_dir=self.tools_dir,
            connections=connections,
            variables=variables,
            index_url=self.index_url,
        )

    def run(
        self,
        command: str,
        inputs: dict[str, str],
        connections: tuple[Connection, ...] = (),
        variables: dict[str, str] | None = None,
    ) -> TaskRun:
        env = self.environment(command, inputs, connections, variables)
        return run_task(self.tasks / COMMANDS[command].task_name, env)

    def wif(self) -> tuple[tuple[Connection, ...], dict[str, str]]:
        """An AzureRM connection with workload identity federation, and what the job provides for it."""
        collection = self.emulator.url + "/_azure-devops/contoso/"
        connections = (WIF, system_vss_connection(seed.AZURE_DEVOPS_ACCESS_TOKEN, collection))
        return connections, {"SYSTEM_OIDCREQUESTURI": self.emulator.azure_devops_request_uri}


@pytest.fixture
def agent(emulator: Emulator, tasks: Path, tools_dir: Path, index_url: str, tmp_path: Path) -> Agent:
    return Agent(emulator, tasks, tools_dir, index_url, tmp_path)


def succeeded(run: TaskRun) -> TaskRun:
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert run.errors == []
    return run


def api_requests(emulator: Emulator) -> list[str]:
    return [r.operation for r in emulator.requests if not r.operation.startswith(("Entra_", "AzureDevOps_", "Imds_"))]


def test_deploy_all_with_workload_identity_and_outputs(agent: Agent, emulator: Emulator) -> None:
    """The main path: an AzureRM connection without a secret, a deployment waited for, the outputs as
    output variables, and the summary attached to the run."""
    connections, variables = agent.wif()
    run = succeeded(
        agent.run("deploy-all", {"azureSubscription": WIF.id, **agent.target(), **DEPLOY}, connections, variables)
    )
    outputs = run.outputs
    assert outputs["operationId"] == emulator.deployments[0].id
    assert outputs["status"] == "Succeeded"
    assert outputs["pipelineId"] == seed.DEMO_PIPELINE_ID
    assert outputs["sourceStageId"] == seed.DEV_STAGE_ID
    assert outputs["targetStageId"] == seed.TEST_STAGE_ID
    assert {item["status"] for item in json.loads(outputs["deployedItems"])} == {"Succeeded"}
    assert int(outputs["durationSeconds"]) >= 1
    # The wrapper's venv is in the tools directory, per version and Python, as the README says.
    assert list(agent.tools_dir.glob("fabric-ci/*/*/pyvenv.cfg")), sorted(agent.tools_dir.rglob("pyvenv.cfg"))
    (summary,) = run.summaries
    assert summary.is_absolute()
    assert summary.is_relative_to(run.temp_dir)
    assert "Deployed" in summary.read_text(encoding="utf-8")
    oidc = [r for r in emulator.requests if r.operation.startswith("AzureDevOps_")]
    assert oidc, "the OIDC token came from the Azure DevOps stand-in"
    # The stand-in refuses any other bearer than the job's access token (the emulator's log redacts it).
    assert all(r.status == 200 for r in oidc)
    assert all(f"serviceConnectionId={WIF.id}" in r.path for r in oidc)


@pytest.mark.parametrize("api", ["fabric", "powerbi"])
def test_every_command_through_its_task(agent: Agent, emulator: Emulator, api: str) -> None:
    """Every task, each with another sign-in source, on both APIs."""
    secret = arm_connection(
        "0c9e3d7a-4f0e-4c55-9a57-2d4b1f7a9e10", authenticationType="spnKey", serviceprincipalkey=seed.CLIENT_SECRET
    )
    pem = Path(emulator.client_certificate_path).read_text(encoding="utf-8")
    certificate = arm_connection(
        "6a0f9a52-1b9f-4c0e-8f5e-0d6c2b7e4a31", authenticationType="spnCertificate", servicePrincipalCertificate=pem
    )
    target = agent.target(api)
    planned = succeeded(
        agent.run("deploy-all", {"azureSubscription": secret.id, **target, **DEPLOY, "plan": "true"}, (secret,))
    )
    assert (planned.outputs["status"], planned.outputs["operationId"]) == ("Planned", "")
    actions = [item["action"] for item in json.loads(planned.outputs["plan"])]
    assert (int(planned.outputs["create"]), int(planned.outputs["overwrite"])) == (
        actions.count("create"),
        actions.count("overwrite"),
    )
    assert actions.count("overwrite") > 0
    started = succeeded(
        agent.run("deploy-all", {"azureSubscription": secret.id, **target, **DEPLOY, "wait": "false"}, (secret,))
    )
    operation = started.outputs["operationId"]
    assert started.outputs["status"] in ("NotStarted", "Running")
    waited = succeeded(
        agent.run(
            "wait-for-deployment",
            {"azureSubscription": certificate.id, **target, "pipeline": DEPLOY["pipeline"], "operationId": operation},
            (certificate,),
        )
    )
    assert waited.outputs["operationId"] == operation
    assert waited.outputs["status"] == "Succeeded"
    explicit = {"tenantId": seed.TENANT_ID, "clientId": seed.CLIENT_ID, "clientSecret": seed.CLIENT_SECRET}
    # The read-only tasks, their JSON outputs as a later script step reads them.
    read = {**explicit, **target, "pipeline": DEPLOY["pipeline"]}
    state = succeeded(agent.run("status", {**read, "operationId": operation}))
    assert (state.outputs["status"], state.outputs["operationId"]) == ("Succeeded", operation)
    history = json.loads(succeeded(agent.run("history", {**read, "limit": "1"})).outputs["deployments"])
    assert [d["id"] for d in history] == [operation]
    stages = json.loads(succeeded(agent.run("show-pipeline", {**read, "items": "true"})).outputs["stages"])
    assert [s["name"] for s in stages] == ["Development", "Test", "Production"]
    assert all("items" in s for s in stages)
    listed = json.loads(succeeded(agent.run("list-pipelines", {**explicit, **target})).outputs["pipelines"])
    assert DEPLOY["pipeline"] in [p["name"] for p in listed]
    chosen = succeeded(
        agent.run("selective-deploy", {**explicit, **target, **DEPLOY, "items": "Report: Sales Overview"})
    )
    assert [item["name"] for item in json.loads(chosen.outputs["deployedItems"])] == ["Sales Overview"]
    assigned = succeeded(
        agent.run(
            "assign-workspace",
            {
                **explicit,
                **target,
                "pipeline": "Operations Pipeline",
                "stage": "1",
                "workspace": seed.SPARE_WORKSPACE_IDS[0],
            },
        )
    )
    assert assigned.outputs["workspaceId"] == seed.SPARE_WORKSPACE_IDS[0]
    stage = {"pipeline": "Operations Pipeline", "stage": "1"}
    unassigned = succeeded(agent.run("unassign-workspace", {**explicit, **target, **stage}))
    assert unassigned.outputs == {
        "pipelineId": assigned.outputs["pipelineId"],
        "stageId": assigned.outputs["stageId"],
        "workspaceId": seed.SPARE_WORKSPACE_IDS[0],
        "changed": "true",
    }
    assert any("deployment history and its deployment rules will be lost" in w for w in unassigned.issues("warning"))
    again = succeeded(agent.run("unassign-workspace", {**explicit, **target, **stage}))
    assert (again.outputs["workspaceId"], again.outputs["changed"]) == ("", "false")
    first_stage = "Development" if api == "powerbi" else "Build"
    create = {
        "pipeline": "Created By The Task",
        "stages": "" if api == "powerbi" else "Build: where it starts\nRelease",
        "workspaces": f"{first_stage}: {seed.SPARE_WORKSPACE_IDS[1]}",
    }
    created = succeeded(agent.run("create-pipeline", {**explicit, **target, **create}))
    stage_ids = json.loads(created.outputs["stageIds"])
    assert list(stage_ids) == (["Development", "Test", "Production"] if api == "powerbi" else ["Build", "Release"])
    assert created.outputs["changed"] == "true"
    pipeline = emulator.state.pipeline(created.outputs["pipelineId"])
    assert pipeline.stages[0].workspace_id == seed.SPARE_WORKSPACE_IDS[1]
    again = succeeded(agent.run("create-pipeline", {**explicit, **target, **create}))
    assert again.outputs == {**created.outputs, "changed": "false"}
    principal = seed.USER_NAME if api == "powerbi" else seed.USER_PRINCIPAL_ID
    added = succeeded(
        agent.run(
            "add-user",
            {**explicit, **target, "pipeline": DEPLOY["pipeline"], "principal": principal, "principalType": "User"},
        )
    )
    assert added.outputs["changed"] == "false"  # the demo user is Admin already
    user = {**explicit, **target, "pipeline": DEPLOY["pipeline"], "principal": principal, "principalType": "User"}
    removed = succeeded(agent.run("remove-user", user))
    assert removed.outputs == {
        "pipelineId": added.outputs["pipelineId"],
        "principal": principal,
        "removedRole": "Admin",
        "workspaceId": "",
        "removedWorkspaceRole": "",
        "changed": "true",
    }
    unchanged = succeeded(agent.run("remove-user", user))
    assert (unchanged.outputs["removedRole"], unchanged.outputs["changed"]) == ("", "false")
    if api == "fabric":  # the Power BI API cannot update a stage
        renamed = succeeded(
            agent.run(
                "update-stage",
                {**explicit, **target, "pipeline": "Operations Pipeline", "stage": "UAT", "displayName": "Staging"},
            )
        )
        assert renamed.outputs == {
            "pipelineId": assigned.outputs["pipelineId"],
            "stageId": seed.stable_id("stage", "Operations Pipeline", "UAT"),
            "changed": "true",
        }
    finance = {"pipeline": "Finance Reporting" if api == "fabric" else "HR Reporting"}
    deleted = succeeded(agent.run("delete-pipeline", {**explicit, **target, **finance}))
    assert (deleted.outputs["changed"], bool(deleted.outputs["pipelineId"])) == ("true", True)
    assert any("and their content stay, unassigned" in w for w in deleted.issues("warning"))
    gone = succeeded(agent.run("delete-pipeline", {**explicit, **target, **finance}))
    assert gone.outputs == {"pipelineId": "", "changed": "false"}
    deploys = [
        op
        for op in api_requests(emulator)
        if op.endswith(("Deploy", "DeployAll", "SelectiveDeploy", "DeployStageContent"))
    ]
    assert len(deploys) == 2, api_requests(emulator)


def test_workload_identity_outlives_the_oidc_token(agent: Agent, emulator: Emulator) -> None:
    """A wait longer than the job's OIDC token (2 s here): the core asks for a fresh one at every sign-in."""
    emulator.configure(operation_seconds=8, assertion_lifetime_seconds=2, token_lifetime_seconds=3)
    connections, variables = agent.wif()
    run = succeeded(
        agent.run("deploy-all", {"azureSubscription": WIF.id, **agent.target(), **DEPLOY}, connections, variables)
    )
    assert run.outputs["status"] == "Succeeded"
    federated = [a for a in emulator.assertions if a.kind == "federated"]
    assert len({a.jti for a in federated}) == len(federated) >= 3
    assert federated[-1].accepted_at - federated[0].accepted_at > 2


def test_a_cancel_mid_wait_leaves_the_deployment_running(agent: Agent, emulator: Emulator) -> None:
    """The agent's cancel (SIGINT, then SIGTERM) reaches the core through the wrapper: the wait stops,
    the step fails naming the operation and how to follow it, and nothing is sent twice."""
    emulator.configure(operation_seconds=60)
    connections, variables = agent.wif()
    env = agent.environment(
        "deploy-all", {"azureSubscription": WIF.id, **agent.target(), **DEPLOY}, connections, variables
    )
    proc = start_task(agent.tasks / "FabricCiDeployAll", env)
    deadline = time.monotonic() + 120
    while not emulator.deployments and time.monotonic() < deadline:
        time.sleep(0.1)
    assert emulator.deployments, "the deployment never started"
    time.sleep(2)  # inside the wait
    # The agent's cancel: SIGINT, SIGTERM 7.5 s later, a kill 2.5 s after that. The step must be done
    # before the SIGTERM, or the agent cuts its report short.
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=7.5)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=2.5)
        finally:
            proc.kill()
        pytest.fail("the task was still running 7.5 s after the agent's SIGINT")
    assert proc.returncode == 0, stdout + stderr  # a result was reported: the agent adds no exit-code error
    assert "Traceback" not in stdout + stderr
    commands = logging_commands(stdout)
    operation = emulator.deployments[0].id
    outputs = {c.properties["variable"]: c.message for c in commands if c.name == "task.setvariable"}
    assert outputs["operationId"] == operation
    completes = [c for c in commands if c.name == "task.complete"]
    assert completes
    assert completes[-1].properties["result"] == "Failed"
    errors = [
        c.message for c in commands if c.name in ("task.logissue", "task.issue") and c.properties.get("type") == "error"
    ]
    assert any(operation in e and "FabricCiWaitForDeployment" in e for e in errors), stdout
    assert emulator.deployments[0].status_at(emulator.state.now()) in ("NotStarted", "Running")
    assert len(emulator.deployments) == 1


def test_fabric_connection_with_a_service_principal_or_a_user(agent: Agent, emulator: Emulator) -> None:
    """The extension's own connection type, both of its schemes, through the core."""
    principal = Connection(
        "3d1c7b5e-8a2f-4e6b-9c0d-1f2e3a4b5c6d",
        "ServicePrincipal",
        {
            "tenantId": seed.TENANT_ID,
            "servicePrincipalId": seed.CLIENT_ID,
            "servicePrincipalKey": seed.CLIENT_SECRET,
            "authenticationType": "spnKey",
        },
        {"environment": "Public"},
        url="https://api.powerbi.com",
    )
    user = Connection(
        "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "UsernamePassword",
        {
            "tenantId": seed.TENANT_ID,
            "clientId": seed.CLIENT_ID,
            "username": seed.USER_NAME,
            "password": seed.USER_PASSWORD,
        },
        {"environment": "Public"},
        url="https://api.powerbi.com",
    )
    for connection in (principal, user):
        run = succeeded(
            agent.run("deploy-all", {"fabricConnection": connection.id, **agent.target(), **DEPLOY}, (connection,))
        )
        assert run.outputs["status"] == "Succeeded"
    grants = [r.request_body for r in emulator.requests if r.operation == "Entra_Token"]
    assert [body.get("grant_type") for body in grants if isinstance(body, dict)] == ["client_credentials", "password"]


def test_no_secret_is_seen_anywhere(agent: Agent, emulator: Emulator) -> None:
    """Secrets the emulator refuses (so each sign-in fails, naming Entra's answer), from every source: an
    input's client secret, an ARM connection's key and PEM certificate, a fabric-ci connection's password,
    and the job's access token. With System.Debug on, none appears anywhere but in the lines that
    register it as a secret: not in the output, the summary, the temp or the tools directory."""
    debug = {"SYSTEM_DEBUG": "true"}
    _, variables = agent.wif()
    access_token = "job-access-token-8fK2mW9q"  # refused by the OIDC stand-in
    vss = system_vss_connection(access_token, emulator.url + "/_azure-devops/contoso/")
    target = {**agent.target(), **DEPLOY}
    runs: list[tuple[TaskRun, list[str]]] = []
    wif = agent.run("deploy-all", {"azureSubscription": WIF.id, **target}, (WIF, vss), {**variables, **debug})
    runs.append((wif, [access_token]))
    explicit = {"tenantId": seed.TENANT_ID, "clientId": seed.CLIENT_ID, "clientSecret": CANARY}
    runs.append((agent.run("deploy-all", {**explicit, **target}, variables=debug), [CANARY]))
    key = "connection-key-Vb7nQ2xL4"
    keyed = arm_connection("2e4f6a8b-0c1d-4e3f-a5b7-c9d1e3f5a7b9", authenticationType="spnKey", serviceprincipalkey=key)
    runs.append((agent.run("deploy-all", {"azureSubscription": keyed.id, **target}, (keyed,), debug), [key]))
    pem = trustme.CA().issue_cert("not-the-registered-certificate").private_key_and_cert_chain_pem.bytes().decode()
    key_lines = [line for line in pem.splitlines() if len(line) >= 16 and not line.startswith("-----")][:6]
    certified = arm_connection(
        "4a6c8e0f-1b3d-4f5a-b7c9-d1e3f5a7b9c1", authenticationType="spnCertificate", servicePrincipalCertificate=pem
    )
    runs.append(
        (agent.run("deploy-all", {"azureSubscription": certified.id, **target}, (certified,), debug), key_lines)
    )
    password = "user-password-Hq3sW8zD"
    user = Connection(
        "6c8e0a2b-3d5f-4b7c-9e1a-f3b5d7e9a1c3",
        "UsernamePassword",
        {"tenantId": seed.TENANT_ID, "clientId": seed.CLIENT_ID, "username": seed.USER_NAME, "password": password},
        {"environment": "Public"},
        url="https://api.powerbi.com",
    )
    runs.append((agent.run("deploy-all", {"fabricConnection": user.id, **target}, (user,), debug), [password]))
    for step, secrets in runs:
        assert step.returncode == 0, step.stdout + step.stderr
        assert step.result == "Failed", step.stdout
        registered = {c.message for c in logging_commands(step.stdout) if c.name == "task.setsecret"}
        lines = [line for line in step.stdout.splitlines() if not line.startswith("##vso[task.setsecret]")]
        for secret in secrets:
            assert secret in registered, (secret, step.stdout)
            assert all(secret not in line for line in lines), step.stdout
            assert secret not in step.stderr
            for folder in (step.temp_dir.parent, agent.tools_dir):
                for written in folder.rglob("*"):
                    if written.is_file() and not written.is_symlink():
                        assert secret.encode() not in written.read_bytes(), written
    assert emulator.deployments == []


def test_bad_input_names_the_task_input_and_sends_nothing(agent: Agent, emulator: Emulator) -> None:
    explicit = {"tenantId": seed.TENANT_ID, "clientId": seed.CLIENT_ID, "clientSecret": seed.CLIENT_SECRET}
    run = agent.run("deploy-all", {**explicit, **agent.target(), "pipeline": DEPLOY["pipeline"], "timeout": "soon"})
    assert run.returncode == 0, run.stdout + run.stderr  # the step reported its result itself
    assert run.result == "Failed"
    assert any("sourceStage" in e for e in run.errors), run.errors
    assert any("timeout" in e for e in run.errors), run.errors
    assert not any("source-stage" in e for e in run.errors)
    assert emulator.requests == []


def test_two_sign_in_sources_are_refused_before_anything_runs(agent: Agent, emulator: Emulator) -> None:
    connections, variables = agent.wif()
    run = agent.run(
        "deploy-all",
        {"azureSubscription": WIF.id, "clientSecret": seed.CLIENT_SECRET, **agent.target(), **DEPLOY},
        connections,
        variables,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.result == "Failed"
    assert any("azureSubscription" in e and "clientSecret" in e for e in run.errors), run.stdout
    assert emulator.requests == []
