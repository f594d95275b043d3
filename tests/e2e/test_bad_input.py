"""Bad input: one clear error per input, exit status 2, and no request sent."""

from __future__ import annotations

import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import CLIENT_SECRET, GROUP_PRINCIPAL_ID

from .conftest import RunStep, StepRun

DEPLOY = {"pipeline": "Sales Analytics", "source-stage": "Development"}


def assert_refused(run: StepRun, emulator: Emulator, name: str, expected: str, *, one: bool = True) -> None:
    """Exit 2 with an annotation naming input `name` and saying `expected` (the only one, if `one`), no
    warning, and no request of any kind (not even a sign-in)."""
    assert run.returncode == 2, run.stdout + run.stderr
    if one:
        assert len(run.errors) == 1, run.errors
    assert run.errors[0].startswith(f"title=Invalid input '{name}'::"), run.errors
    assert expected in run.errors[0]
    assert run.commands("warning") == []
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"client-id": "not-a-guid"}, "client-id", "expected a GUID"),
        ({"timeout": "soon"}, "timeout", "expected a duration such as 90s"),
        ({"wait": "yes"}, "wait", "expected true or false"),
        ({"pipeline": ""}, "pipeline", "required and not supplied"),
        ({"api": "graph"}, "api", "expected fabric or powerbi"),
        ({"allow-purge-data": "true"}, "allow-purge-data", "Power BI REST API only"),
        ({"note": "x" * 1001}, "note", "at most 1000 characters, got 1001"),
        ({"api-base-url": "http://plain.example"}, "api-base-url", "expected an https:// URL"),
        ({"api-base-url": "https://me:hunter2@127.0.0.1/v1"}, "api-base-url", "without a user or password"),
        ({"ca-bundle": "/nonexistent.pem"}, "ca-bundle", "is not a file"),
    ],
)
def test_malformed_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """Each malformed input gives one annotation naming it, exit 2, and the emulator sees nothing."""
    run = run_step("deploy-all", {**DEPLOY, **inputs})
    assert_refused(run, emulator, name, expected)
    assert "Traceback" not in run.stderr


def test_several_bad_inputs_are_reported_together(run_step: RunStep, emulator: Emulator) -> None:
    """Every bad input gets its own annotation in one run."""
    run = run_step("deploy-all", {"pipeline": "", "source-stage": "", "timeout": "x", "auth": "secret"}, connect=False)
    names = sorted(e.split("'")[1] for e in run.errors)
    assert names == sorted(["tenant-id", "client-id", "client-secret", "pipeline", "source-stage", "timeout"])
    assert emulator.requests == []


def test_unknown_stage_name_lists_the_stages(run_step: RunStep, emulator: Emulator) -> None:
    """A stage name the pipeline lacks is an input error listing its stages; nothing is deployed."""
    run = run_step("deploy-all", {**DEPLOY, "source-stage": "Staging"})
    assert run.returncode == 2
    assert "Development (0), Test (1), Production (2)" in run.errors[0]
    assert not [r for r in emulator.requests if r.method == "POST" and "/v1/" in r.path]


def test_last_stage_has_no_default_target(run_step: RunStep) -> None:
    """Deploying from the last stage without target-stage says there is no next stage."""
    run = run_step("deploy-all", {**DEPLOY, "source-stage": "2"})
    assert run.returncode == 2
    assert "title=Invalid input 'target-stage'" in run.errors[0]


def test_misspelt_pipeline_suggests_close_matches(run_step: RunStep) -> None:
    """A pipeline name that matches nothing lists the closest names and the permission hint."""
    run = run_step("deploy-all", {**DEPLOY, "pipeline": "Sales Analytic"})
    assert run.returncode == 2
    assert "Did you mean: 'Sales Analytics'" in run.errors[0]
    assert "Admin" in run.errors[0]


def test_ambiguous_pipeline_name_lists_the_candidates(run_step: RunStep) -> None:
    """Two pipelines whose names differ only by case are an ambiguity error listing both ids."""
    run = run_step("deploy-all", {**DEPLOY, "pipeline": "MARKETING"})
    assert run.returncode == 2
    assert "2 pipelines are named" in run.errors[0]


def test_wrong_secret_is_a_sign_in_error_that_names_the_fix(run_step: RunStep) -> None:
    """A wrong client secret exits 1 with the AADSTS code and what to check; the secret is never shown."""
    run = run_step("deploy-all", {**DEPLOY, "client-secret": "wrong-secret-value"})
    assert run.returncode == 1
    assert "AADSTS7000215" in run.errors[0]
    assert "client-secret" in run.errors[0]
    assert run.stdout.splitlines()[0] == "::add-mask::wrong-secret-value"
    assert "wrong-secret-value" not in run.stdout.replace("::add-mask::wrong-secret-value", "") + run.stderr
    assert CLIENT_SECRET not in run.stdout


def test_wrong_tenant_is_a_sign_in_error_with_the_fix(run_step: RunStep) -> None:
    """An unknown tenant is a sign-in error that says to check tenant-id, not an internal error."""
    run = run_step("deploy-all", {**DEPLOY, "tenant-id": "11111111-2222-3333-4444-555555555555"})
    assert run.returncode == 1
    assert "title=Sign-in failed" in run.errors[0]
    assert "tenant-id" in run.errors[0]
    assert "bug in fabric-ci" not in run.stdout


def test_missing_command_is_an_input_error(run_step: RunStep) -> None:
    """The root action with an empty `command` input gets a clear error, exit 2."""
    run = run_step("", {})
    assert run.returncode == 2
    assert "title=Invalid input 'command'" in run.errors[0]


def test_debug_shows_the_traceback(run_step: RunStep) -> None:
    """With RUNNER_DEBUG=1 an error also shows its traceback, as a debug line of the runner (which masks
    secrets in it); without it there is none."""
    quiet = run_step("deploy-all", {**DEPLOY, "pipeline": "Nope"})
    loud = run_step("deploy-all", {**DEPLOY, "pipeline": "Nope"}, env={"RUNNER_DEBUG": "1"})
    assert "Traceback" not in quiet.stdout + quiet.stderr
    assert any(line.startswith("::Traceback") for line in loud.commands("debug")), loud.stdout


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"stage": ""}, "stage", "required and not supplied"),
        ({"stage": "Test", "pipeline": ""}, "pipeline", "required and not supplied"),
        ({"stage": "3", "api": "powerbi"}, "stage", "has three stages"),
        ({"stage": "ea6a9148-673f-47d9-93a5-5b32281bafc2", "api": "powerbi"}, "stage", "has no stage ids"),
        ({"stage": "Test", "cloud": "mars"}, "cloud", "expected one of public"),
    ],
)
def test_unassign_workspace_bad_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """unassign-workspace validates as the other commands do: one annotation naming the input, exit 2, no
    request, and no warning about what unassigning would lose."""
    run = run_step("unassign-workspace", {"pipeline": "Sales Analytics", **inputs})
    assert_refused(run, emulator, name, expected)


def test_unassign_workspace_unknown_stage_lists_the_stages_and_changes_nothing(
    run_step: RunStep, emulator: Emulator
) -> None:
    """A stage name the pipeline lacks: exit 2, the stages listed, only reads sent."""
    run = run_step("unassign-workspace", {"pipeline": "Sales Analytics", "stage": "UAT"})
    assert run.returncode == 2
    assert "title=Invalid input 'stage'" in run.errors[0]
    assert "Development (0), Test (1), Production (2)" in run.errors[0]
    assert not [r for r in emulator.requests if r.method == "POST" and "/v1/" in r.path]


SPARE = "0086393a-7234-43f6-8dfd-a6f7d79a41a4"


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"stages": "Only"}, "stages", "has 2 to 10 stages, got 1"),
        ({"stages": "\n".join(f"Stage {n}" for n in range(11))}, "stages", "has 2 to 10 stages, got 11"),
        ({"stages": "Test\ntest"}, "stages", "stage names must differ (case-insensitively)"),
        ({"stages": "Dev:\nProd"}, "stages", "expected a stage name, or `name: description`"),
        ({"workspaces": f"UAT: {SPARE}"}, "workspaces", "'UAT' is not one of the stages"),
        ({"workspaces": "Test 0086393a"}, "workspaces", "expected `stage: workspace id` (a GUID)"),
        ({"public-stages": "Staging"}, "public-stages", "'Staging' is not one of the stages"),
        ({"public-stages": "Test", "api": "powerbi"}, "public-stages", "Fabric REST API only"),
        ({"stages": "Dev\nTest\nProd", "api": "powerbi"}, "stages", "creates its own three stages"),
        ({"pipeline": ""}, "pipeline", "required and not supplied"),
    ],
)
def test_create_pipeline_bad_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """create-pipeline validates before it sends anything: one annotation naming the input, exit 2, no request
    (not even a sign-in)."""
    run = run_step("create-pipeline", {"pipeline": "New Pipeline", **inputs})
    assert_refused(run, emulator, name, expected)


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"stage": "Test"}, "display-name", "give at least one of display-name, description and public"),
        ({"stage": "Test", "description": "x", "api": "powerbi"}, "api", "update-stage needs the Fabric API"),
        ({"stage": "Test", "display-name": "x" * 257}, "display-name", "at most 256 characters"),
        ({"stage": "Test", "description": "x" * 1025}, "description", "at most 1024 characters"),
        ({"stage": "Test", "public": "yes"}, "public", "expected true or false"),
        ({"stage": "", "public": "true"}, "stage", "required and not supplied"),
    ],
)
def test_update_stage_bad_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """update-stage validates as the other commands do: one annotation naming the input, exit 2, no request
    (with api: powerbi too: that API cannot update a stage, so nothing is asked of it)."""
    run = run_step("update-stage", {"pipeline": "Sales Analytics", **inputs})
    assert_refused(run, emulator, name, expected)


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"pipeline": ""}, "pipeline", "required and not supplied"),
        ({"pipeline": "Sales Analytics", "api": "graph"}, "api", "expected fabric or powerbi"),
        ({"pipeline": "Sales Analytics", "cloud": "mars"}, "cloud", "expected one of public"),
    ],
)
def test_delete_pipeline_bad_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """delete-pipeline: one annotation naming the input, exit 2, no request and no warning of what is lost."""
    run = run_step("delete-pipeline", inputs)
    assert_refused(run, emulator, name, expected, one=False)


REMOVE_USER = {"pipeline": "Sales Analytics", "principal": GROUP_PRINCIPAL_ID, "principal-type": "Group"}


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"principal": "not a principal"}, "principal", "expected the principal's object id (a GUID) or a user"),
        ({"principal": "analyst@contoso.example"}, "principal", "a Group is named by its object id"),
        ({"principal": "analyst@contoso.example", "principal-type": "User"}, "principal", "set api: powerbi"),
        ({"principal-type": "User", "api": "powerbi"}, "principal", "names users by user principal name"),
        ({"principal-type": "Robot"}, "principal-type", "expected one of User, Group"),
        ({"principal-type": "ServicePrincipalProfile", "api": "powerbi"}, "principal-type", "not ServicePrincipal"),
        ({"force": "yes please"}, "force", "expected true or false"),
        ({"pipeline": ""}, "pipeline", "required unless workspace is given: remove-user removes from"),
        ({"workspace": "DEV"}, "workspace", "expected a GUID"),
        ({"principal": ""}, "principal", "required and not supplied"),
    ],
)
def test_remove_user_bad_input_is_refused_before_any_request(
    run_step: RunStep, emulator: Emulator, inputs: dict[str, str], name: str, expected: str
) -> None:
    """remove-user validates as add-user does: one annotation naming the input, exit 2, no request at all."""
    run = run_step("remove-user", {**REMOVE_USER, **inputs})
    assert_refused(run, emulator, name, expected)
