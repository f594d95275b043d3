"""deploy-all, selective-deploy and wait-for-deployment against the emulator, in GitHub mode."""

from __future__ import annotations

import re

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import CLIENT_SECRET, DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID

from .conftest import RunStep, items_of

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development", "target-stage": "Test"}


def deploy_requests(emulator: Emulator) -> list[object]:
    return [r for r in emulator.requests if r.operation == "DeploymentPipelines_DeployStageContent"]


def test_deploy_all_waits_and_reports_every_item(run_step: RunStep, emulator: Emulator) -> None:
    """deploy-all Development -> Test by names succeeds, with outputs, a summary table and a notice."""
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.outputs
    assert out["status"] == "Succeeded"
    assert GUID.match(out["operation-id"])
    assert out["operation-id"] == emulator.deployments[0].id
    assert (out["source-stage-id"], out["target-stage-id"]) == (DEV_STAGE_ID, TEST_STAGE_ID)
    assert out["pipeline-id"] == DEMO_PIPELINE_ID
    assert int(out["duration-seconds"]) >= 1
    assert len(items_of(run)) == 10
    items = {i["name"]: i for i in items_of(run)}
    assert items["Sales Overview"]["diffState"] == "Different"
    assert items["Sales Model"]["diffState"] == "NoDifference"
    assert items["Regional Sales"]["diffState"] == "New"
    assert {i["status"] for i in items.values()} == {"Succeeded"}
    assert "| Sales Overview |" in run.summary
    assert run.commands("notice"), run.stdout
    assert run.errors == []


def test_operation_id_is_written_once_as_soon_as_the_deployment_is_accepted(run_step: RunStep) -> None:
    """The operation-id output is in GITHUB_OUTPUT before the wait, and only once."""
    run = run_step("deploy-all", DEPLOY)
    assert run.output_file.count("operation-id<<") == 1
    assert run.output_file.index("operation-id<<") < run.output_file.index("status<<")


def test_secret_and_token_are_masked_before_anything_else_and_never_printed(
    run_step: RunStep, emulator: Emulator
) -> None:
    """The client secret is masked first; the access token is masked; neither appears unmasked anywhere."""
    run = run_step("deploy-all", DEPLOY)
    first = run.stdout.splitlines()[0]
    assert first == f"::add-mask::{CLIENT_SECRET}"
    masks = run.commands("add-mask")
    assert len(masks) == 2  # the secret, then the one token msal issued and cached
    everything = run.stdout.replace(first, "") + run.stderr + run.output_file + run.summary
    token = masks[1].removeprefix("::")
    assert CLIENT_SECRET not in everything.replace(f"::add-mask::{token}", "")
    assert token not in everything.replace(f"::add-mask::{token}", "")


def test_selective_deploy_by_type_and_name_and_bare_name(run_step: RunStep, emulator: Emulator) -> None:
    """Items given as `Type: name` and as a unique bare name deploy exactly those items."""
    run = run_step("selective-deploy", {**DEPLOY, "items": "Report: Sales Overview\nsales model\n\n# a comment"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(i["name"] for i in items_of(run)) == ["Sales Model", "Sales Overview"]
    body = deploy_requests(emulator)[0].request_body
    assert {i["itemType"] for i in body["items"]} == {"Report", "SemanticModel"}


def test_selective_deploy_with_an_ambiguous_name_sends_no_deployment(run_step: RunStep, emulator: Emulator) -> None:
    """A bare name that two item types share is an input error listing both, and nothing is deployed."""
    run = run_step("selective-deploy", {**DEPLOY, "items": "Customers"})
    assert run.returncode == 2
    assert len(run.errors) == 1
    assert "'Report: Customers'" in run.errors[0]
    assert "'SemanticModel: Customers'" in run.errors[0]
    assert "title=Invalid input 'items'" in run.errors[0]
    assert deploy_requests(emulator) == []


def test_selective_deploy_with_a_misspelt_item_suggests_close_matches(run_step: RunStep, emulator: Emulator) -> None:
    """An item line matching nothing is reported with the closest names, and nothing is deployed."""
    run = run_step("selective-deploy", {**DEPLOY, "items": "Report: Sales Overveiw\nReport: Nope Nope"})
    assert run.returncode == 2
    assert len(run.errors) == 2
    assert "Report: Sales Overview" in run.errors[0]
    assert deploy_requests(emulator) == []


def test_failed_deployment_exits_1_and_names_the_failed_item(run_step: RunStep, emulator: Emulator) -> None:
    """A deployment whose item fails exits 1, with an annotation naming the item and status Failed."""
    emulator.configure(fail_items={"Sales Model"})
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 1
    assert run.outputs["status"] == "Failed"
    assert any("title=Item failed%3A Sales Model::" in e for e in run.errors), run.errors
    failed = [i for i in items_of(run) if i["status"] == "Failed"]
    assert [i["name"] for i in failed] == ["Sales Model"]
    assert "Traceback" not in run.stderr


def test_timeout_fails_the_step_and_leaves_the_deployment_running(run_step: RunStep, emulator: Emulator) -> None:
    """On timeout the step fails with a clear message, outputs the operation id, and nothing is cancelled."""
    emulator.configure(operation_seconds=60)
    run = run_step("deploy-all", {**DEPLOY, "timeout": "3s"})
    assert run.returncode == 1
    assert run.outputs["status"] in ("NotStarted", "Running")
    assert run.outputs["operation-id"] == emulator.deployments[0].id
    assert run.outputs["duration-seconds"] == ""  # no duration until it ends
    assert any("left running" in e for e in run.errors), run.errors
    methods = {(r.method, r.operation) for r in emulator.requests}
    assert not any(m == "DELETE" or "Cancel" in op for m, op in methods)


def test_wait_for_deployment_follows_a_deployment_started_without_waiting(run_step: RunStep) -> None:
    """deploy-all with wait: false returns at once; wait-for-deployment then follows it to Succeeded."""
    started = run_step("deploy-all", {**DEPLOY, "wait": "false"})
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.outputs["status"] in ("NotStarted", "Running")
    waited = run_step(
        "wait-for-deployment", {"pipeline": DEMO_PIPELINE_ID, "operation-id": started.outputs["operation-id"]}
    )
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert waited.outputs["status"] == "Succeeded"
    assert waited.outputs["operation-id"] == started.outputs["operation-id"]
    assert len(items_of(waited)) == 10


def test_wait_for_a_failed_deployment_fails(run_step: RunStep, emulator: Emulator) -> None:
    """wait-for-deployment on a deployment that failed exits 1 naming the item."""
    emulator.configure(fail_items={"Prepare Data"})
    started = run_step("deploy-all", {**DEPLOY, "wait": "false"})
    waited = run_step(
        "wait-for-deployment", {"pipeline": "sales analytics", "operation-id": started.outputs["operation-id"]}
    )
    assert waited.returncode == 1
    assert any("Prepare Data" in e for e in waited.errors)


def test_throttling_is_absorbed(run_step: RunStep, emulator: Emulator) -> None:
    """429s with Retry-After on the lookups are waited out and the deployment still succeeds once."""
    # Retry-After: 0 keeps the test fast; honouring larger values is unit-tested in test_transport.py.
    emulator.inject(r"/v1/deploymentPipelines/[^/]+$", count=2, status=429, retry_after=0)
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 0, run.stdout + run.stderr
    statuses = [r.status for r in emulator.requests if r.operation == "DeploymentPipelines_GetDeploymentPipeline"]
    assert statuses[:3] == [429, 429, 200]
    assert len(deploy_requests(emulator)) == 1


def test_a_5xx_on_deploy_is_never_resent_nor_mistaken_for_an_earlier_deployment(
    run_step: RunStep, emulator: Emulator
) -> None:
    """After an earlier deployment, a 500 on the next deploy POST is not re-sent and the earlier
    deployment is not reported as this one: exit 1, saying the outcome is unknown and how to check."""
    first = run_step("deploy-all", DEPLOY)
    assert first.returncode == 0
    emulator.inject(r"/deploy$", count=1, status=500)
    run = run_step("deploy-all", DEPLOY)
    assert run.returncode == 1
    assert len(deploy_requests(emulator)) == 2  # the first run's and this run's single attempt
    assert len(emulator.deployments) == 1
    assert any("may still have started" in e and "[fabric-ci " in e for e in run.errors), run.errors
    assert not any("othing was deployed" in e for e in run.errors), run.errors
    assert run.outputs.get("operation-id") != first.outputs["operation-id"]


def test_throttling_near_the_deadline_is_a_timeout_not_a_hang(run_step: RunStep, emulator: Emulator) -> None:
    """429s whose Retry-After would outlast the timeout end the step at the timeout, as a timeout."""
    emulator.configure(operation_seconds=60)
    emulator.inject(r"/operations/[^/]+$", count=10, status=429, retry_after=30, method="GET")
    run = run_step("deploy-all", {**DEPLOY, "timeout": "4s"})
    assert run.returncode == 1
    assert any("left running" in e for e in run.errors), run.errors
    polls = [r for r in emulator.requests if r.operation == "DeploymentPipelines_GetDeploymentPipelineOperation"]
    assert polls, "the wait polled at least once"
    assert polls[-1].started_at - emulator.deployments[0].accepted_at < 10


def test_local_json_output_for_scripts(emulator: Emulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Outside GitHub, --output json prints one JSON document with the outputs."""
    import json
    import os
    import subprocess
    import sys

    args = [f"--{k}={v}" for k, v in {**emulator.inputs(), **DEPLOY}.items() if k != "client-secret"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env["FABRIC_CI_CLIENT_SECRET"] = CLIENT_SECRET
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_ci", "deploy-all", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["ok"] is True
    assert document["outputs"]["status"] == "Succeeded"
    assert CLIENT_SECRET not in proc.stdout + proc.stderr
