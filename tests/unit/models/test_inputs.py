"""Input parsing: what each input accepts, and the error that names it when it does not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fabric_ci.errors import InputErrors
from fabric_ci.models.inputs import (
    AddUserInputs,
    DeployAllInputs,
    SelectiveDeployInputs,
    StageSelector,
    parse_inputs,
)

BASE = {
    "tenant-id": "e37de926-00d4-493d-85c5-49d2d2fdc1fb",
    "client-id": "57760066-428a-4acd-b192-e392b8e2b8d3",
    "client-secret": "s3cret",
    "pipeline": "Sales Analytics",
    "source-stage": "Development",
}


def errors_of(model: type, raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(InputErrors) as raised:
        parse_inputs(model, raw)
    return {e.input_name: e.message for e in raised.value.errors}


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("600", 600), (" 2m 5s ", 125)]
)
def test_timeouts_accept_units_and_bare_seconds(text: str, seconds: int) -> None:
    """Durations take h/m/s units, combined or alone, or a bare number of seconds."""
    assert parse_inputs(DeployAllInputs, {**BASE, "timeout": text}).timeout == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "1d", "-5s", "0", "200h", "1.5h"])
def test_unparseable_or_out_of_range_timeouts_are_refused(text: str) -> None:
    """Anything else is an error naming `timeout` and the accepted forms."""
    assert "expected a duration" in errors_of(DeployAllInputs, {**BASE, "timeout": text})["timeout"]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("True", True), ("FALSE", False)])
def test_booleans_follow_the_runner_rule(text: str, value: bool) -> None:
    """Only the YAML 1.2 core spellings of true and false are booleans."""
    assert parse_inputs(DeployAllInputs, {**BASE, "wait": text}).wait is value


@pytest.mark.parametrize("text", ["yes", "1", "on", "tRue"])
def test_other_boolean_spellings_are_errors(text: str) -> None:
    """`yes`, `1`, `on` are typos worth reporting, not silently false."""
    assert "expected true or false" in errors_of(DeployAllInputs, {**BASE, "wait": text})["wait"]


@pytest.mark.parametrize(
    ("text", "selector"),
    [
        ("Test", StageSelector(name="Test")),
        ("2", StageSelector(order=2)),
        ("D2056166-041C-4A56-8D37-EA90038BC0D6", StageSelector(id="d2056166-041c-4a56-8d37-ea90038bc0d6")),
    ],
)
def test_stages_by_name_order_or_id(text: str, selector: StageSelector) -> None:
    """A stage is a display name, a 0-based order, or an id (normalised to lower case)."""
    assert parse_inputs(DeployAllInputs, {**BASE, "source-stage": text}).source_stage == selector


def test_item_lines_are_ids_typed_names_or_names() -> None:
    """Each items line is an id, `Type: name`, or a bare name; blanks and # comments are skipped."""
    raw = "d2056166-041c-4a56-8d37-ea90038bc0d6\nReport: Sales: Q1\n\n# skip me\nSales Model\n"
    items = parse_inputs(SelectiveDeployInputs, {**BASE, "items": raw}).items
    assert [(i.id, i.type, i.name) for i in items] == [
        ("d2056166-041c-4a56-8d37-ea90038bc0d6", None, None),
        (None, "Report", "Sales: Q1"),
        (None, None, "Sales Model"),
    ]


def test_more_than_300_items_is_an_input_error() -> None:
    """Both APIs refuse more than 300 items, so we refuse them first."""
    raw = "\n".join(f"Report: r{i}" for i in range(301))
    assert "at most 300 items" in errors_of(SelectiveDeployInputs, {**BASE, "items": raw})["items"]


def test_tenant_accepts_a_domain() -> None:
    """A verified domain is as good as the tenant's GUID."""
    assert parse_inputs(DeployAllInputs, {**BASE, "tenant-id": "Contoso.com"}).tenant_id == "contoso.com"


def test_principal_type_is_case_insensitive_but_closed() -> None:
    """`group` means Group; an unknown type lists the accepted ones."""
    raw = {
        **{k: v for k, v in BASE.items() if k != "source-stage"},
        "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6",
    }
    assert parse_inputs(AddUserInputs, {**raw, "principal-type": "group"}).principal_type == "Group"
    assert "one of User, Group" in errors_of(AddUserInputs, {**raw, "principal-type": "robot"})["principal-type"]


def test_missing_required_inputs_are_all_named() -> None:
    """Every missing required input is named in one go, sign-in ones included (with auth: auto and no
    credential input, the credential may still come from the CI job's OIDC token, so none is named)."""
    assert set(errors_of(DeployAllInputs, {})) == {"tenant-id", "client-id", "pipeline", "source-stage"}
    assert set(errors_of(DeployAllInputs, {"auth": "certificate"})) == {
        "tenant-id",
        "client-id",
        "client-certificate",
        "pipeline",
        "source-stage",
    }


def test_the_secret_is_not_in_the_model_repr() -> None:
    """The client secret never shows in a repr or a log of the parsed inputs."""
    parsed = parse_inputs(DeployAllInputs, BASE)
    assert "s3cret" not in repr(parsed)
    assert "s3cret" not in str(parsed.model_dump())


POWERBI = {**BASE, "api": "powerbi"}
USER_BASE = {k: v for k, v in BASE.items() if k != "source-stage"}


def test_powerbi_only_inputs_with_fabric_and_fabric_only_inputs_with_powerbi_are_refused() -> None:
    """An option the chosen API does not have is an error naming it, never silently dropped."""
    fabric = errors_of(DeployAllInputs, {**BASE, "allow-purge-data": "true", "update-app": "false"})
    assert set(fabric) == {"allow-purge-data", "update-app"}
    assert "Power BI REST API only: set api: powerbi" in fabric["allow-purge-data"]
    powerbi = errors_of(DeployAllInputs, {**POWERBI, "allow-cross-region-deployment": "true"})
    assert "Fabric REST API only" in powerbi["allow-cross-region-deployment"]
    user = {**USER_BASE, "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6", "principal-type": "User"}
    assert "Power BI REST API only" in errors_of(AddUserInputs, {**user, "admin": "true"})["admin"]


def test_powerbi_options_default_like_the_power_bi_ui() -> None:
    """Create and overwrite default to true, the other four to false; given values win."""
    options = parse_inputs(DeployAllInputs, {**POWERBI, "allow-take-over": "true"}).options
    assert (options.allow_create_artifact, options.allow_overwrite_artifact) == (True, True)
    assert (options.allow_purge_data, options.allow_take_over) == (False, True)
    assert parse_inputs(DeployAllInputs, POWERBI).update_app is None


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("3", "three stages; expected one of 0 (Development), 1 (Test), 2 (Production), got order 3"),
        ("UAT", "three stages; expected one of 0 (Development)"),
        ("db1577e0-0132-4d6d-92b9-952c359988f2", "has no stage ids"),
    ],
)
def test_powerbi_stages_are_its_three_orders_or_names(stage: str, expected: str) -> None:
    """With the Power BI API a stage is 0-2 or its name; anything else is refused before any request."""
    assert expected in errors_of(DeployAllInputs, {**POWERBI, "source-stage": stage})["source-stage"]
    backward = {**POWERBI, "source-stage": "production", "backward": "true"}
    assert parse_inputs(DeployAllInputs, backward).source_stage.name == "production"


def test_powerbi_deploys_only_to_an_adjacent_stage() -> None:
    """The Power BI API deploys to the next stage or (backward) the previous one."""
    message = errors_of(DeployAllInputs, {**POWERBI, "target-stage": "2"})["target-stage"]
    assert "from Development (0) that is Test (1)" in message
    assert parse_inputs(DeployAllInputs, {**POWERBI, "source-stage": "2", "target-stage": "Test"}).target_stage


@pytest.mark.parametrize(
    ("inputs", "name", "expected"),
    [
        ({"source-stage": "2"}, "target-stage", "Production (2) has no next stage"),
        ({"source-stage": "0", "backward": "true"}, "target-stage", "Development (0) has no previous stage"),
        ({"source-stage": "0", "target-stage": "1", "backward": "true"}, "backward", "comes after source-stage"),
    ],
)
def test_powerbi_direction_is_checked_before_any_request(inputs: dict[str, str], name: str, expected: str) -> None:
    """With fixed stages the target is known from the inputs alone, so a wrong direction is an input error."""
    assert expected in errors_of(DeployAllInputs, {**POWERBI, **inputs})[name]


def test_powerbi_item_types_are_its_five() -> None:
    """A typed item line must be a Power BI type (Dataset is accepted for SemanticModel)."""
    items = "Dataset: Sales\nReport: Sales\nNotebook: Prepare"
    message = errors_of(SelectiveDeployInputs, {**POWERBI, "items": items})["items"]
    assert "'Notebook: Prepare'" in message
    assert "Dataset is accepted" in message
    assert parse_inputs(SelectiveDeployInputs, {**BASE, "items": items}).items[2].type == "Notebook"


def test_capacity_needs_a_new_workspace_name() -> None:
    errors = errors_of(DeployAllInputs, {**BASE, "capacity-id": "d2056166-041c-4a56-8d37-ea90038bc0d6"})
    assert list(errors) == ["capacity-id"]
    assert "is given without new-workspace-name" in errors["capacity-id"]


def test_add_user_principals_per_api() -> None:
    """A UPN is a Power BI user only; App means ServicePrincipal; profiles are Fabric's."""
    upn = {**USER_BASE, "principal": "analyst@contoso.com", "principal-type": "User"}
    assert "takes object ids, not user principal names" in errors_of(AddUserInputs, upn)["principal"]
    assert parse_inputs(AddUserInputs, {**upn, "api": "powerbi"}).who.id == "analyst@contoso.com"
    by_id = {**upn, "api": "powerbi", "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6"}
    assert "names users by user principal name" in errors_of(AddUserInputs, by_id)["principal"]
    group = errors_of(AddUserInputs, {**upn, "api": "powerbi", "principal-type": "Group"})
    assert list(group) == ["principal"]
    assert "a Group is named by its object id (a GUID)" in group["principal"]
    app = {**USER_BASE, "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6", "principal-type": "app"}
    assert parse_inputs(AddUserInputs, app).principal_type == "ServicePrincipal"
    profile = errors_of(AddUserInputs, {**app, "api": "powerbi", "principal-type": "ServicePrincipalProfile"})
    assert "takes User, Group, ServicePrincipal, not ServicePrincipalProfile" in profile["principal-type"]


def test_add_user_targets_a_pipeline_a_workspace_or_both() -> None:
    """Without pipeline a workspace is needed; workspace and workspace-role come together."""
    who = {k: v for k, v in USER_BASE.items() if k != "pipeline"}
    who |= {"principal": "d2056166-041c-4a56-8d37-ea90038bc0d6", "principal-type": "Group"}
    assert "required unless workspace is given" in errors_of(AddUserInputs, who)["pipeline"]
    workspace = "0086393a-7234-43f6-8dfd-a6f7d79a41a4"
    assert "required with workspace" in errors_of(AddUserInputs, {**who, "workspace": workspace})["workspace-role"]
    parsed = parse_inputs(AddUserInputs, {**who, "workspace": workspace, "workspace-role": "contributor"})
    assert (parsed.pipeline, parsed.workspace_role) == (None, "Contributor")
    assert "one of Admin, Member" in errors_of(AddUserInputs, {**who, "workspace-role": "Owner"})["workspace-role"]


WORKSPACE_USER = {
    **{k: v for k, v in USER_BASE.items() if k != "pipeline"},
    "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6",
    "principal-type": "Group",
    "workspace": "0086393a-7234-43f6-8dfd-a6f7d79a41a4",
    "workspace-role": "Viewer",
}


def test_add_user_never_lowers_or_forces_by_default() -> None:
    """allow-downgrade and force default to false."""
    parsed = parse_inputs(AddUserInputs, WORKSPACE_USER)
    assert (parsed.allow_downgrade, parsed.force) == (False, False)
    both = parse_inputs(AddUserInputs, {**WORKSPACE_USER, "allow-downgrade": "True", "force": "TRUE"})
    assert (both.allow_downgrade, both.force) == (True, True)


@pytest.mark.parametrize("name", ["allow-downgrade", "force"])
@pytest.mark.parametrize("text", ["yes", "1", "on"])
def test_add_user_downgrade_switches_are_strict_booleans(name: str, text: str) -> None:
    """allow-downgrade and force take only true or false; the error names the input as written."""
    extra = {"allow-downgrade": "true"} if name == "force" else {}
    errors = errors_of(AddUserInputs, {**WORKSPACE_USER, **extra, name: text})
    assert list(errors) == [name]
    assert f"Input '{name}': expected true or false" in errors[name]


def test_allow_downgrade_applies_to_a_workspace_role() -> None:
    """A pipeline has one role, Admin, so allow-downgrade: true without workspace is an error."""
    pipeline_only = {**USER_BASE, "principal": "d2056166-041c-4a56-8d37-ea90038bc0d6", "principal-type": "Group"}
    errors = errors_of(AddUserInputs, {**pipeline_only, "allow-downgrade": "true"})
    assert list(errors) == ["allow-downgrade"]
    assert "workspace" in errors["allow-downgrade"]
    assert parse_inputs(AddUserInputs, {**pipeline_only, "allow-downgrade": "false"}).allow_downgrade is False


def test_force_needs_allow_downgrade() -> None:
    """force: true only lets allow-downgrade lower the signed-in principal's Admin, so alone it is an error."""
    errors = errors_of(AddUserInputs, {**WORKSPACE_USER, "force": "true"})
    assert list(errors) == ["force"]
    assert "allow-downgrade" in errors["force"]


@pytest.mark.parametrize("name", ["allow-downgrade", "force"])
def test_downgrade_switches_are_add_user_inputs_only(name: str) -> None:
    """Other commands refuse them as inputs they do not take."""
    assert "is not an input of this command" in errors_of(DeployAllInputs, {**BASE, name: "true"})[name]
