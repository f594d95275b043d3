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
