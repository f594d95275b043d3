"""The command line's parser: boolean switches, option groups, required marks and examples."""

from __future__ import annotations

import pytest

from fabric_ci.cli import OTHER_GROUP, boolean_inputs, build_parser, option_group
from fabric_ci.commands import COMMANDS
from fabric_ci.models import descriptions


@pytest.mark.parametrize(
    ("args", "value"),
    [
        (["--wait"], "true"),
        (["--no-wait"], "false"),
        (["--wait=false"], "false"),
        (["--wait", "false"], "false"),
        (["--wait=TRUE"], "TRUE"),
        ([], None),
    ],
)
def test_boolean_forms(args: list[str], value: str | None) -> None:
    """Each form of a switch gives the text the input model then parses; absent stays unset."""
    namespace = build_parser().parse_args(["deploy-all", *args])
    assert namespace.wait == value


def test_optional_booleans_are_switches_too() -> None:
    """`Bool | None` inputs (Power BI options, public) are found from the model, not from a list."""
    assert {"wait", "plan", "backward", "update-app", "allow-purge-data"} <= boolean_inputs(
        COMMANDS["deploy-all"].inputs
    )
    assert "public" in boolean_inputs(COMMANDS["update-stage"].inputs)
    assert "timeout" not in boolean_inputs(COMMANDS["deploy-all"].inputs)


def test_groups_come_from_names_with_a_fallback() -> None:
    """Names find their group; an input no rule knows lands in the command's own group."""
    assert option_group("client-secret") == "sign-in"
    assert option_group("ca-bundle") == "connection"
    assert option_group("source-stage") == "what to deploy"
    assert option_group("timeout") == "waiting"
    assert option_group("allow-take-over") == "Power BI options"
    assert option_group("some-input-of-tomorrow") == OTHER_GROUP


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_help_has_examples_groups_and_required_marks(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--help shows the description, the sign-in group, 2-3 examples of this command, and marks required inputs."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "sign-in:" in text
    assert "connection:" in text
    examples = descriptions.EXAMPLES[name]
    assert 2 <= len(examples) <= 3
    assert "examples:" in text
    for example in examples:
        assert example.startswith(f"fabric-ci {name} ")
        assert example in text
    required = [
        field.alias or field_name
        for field_name, field in COMMANDS[name].inputs.model_fields.items()
        if field.is_required()
    ]
    for input_name in required:
        assert f"--{input_name} VALUE" in text
    assert text.count("(required)") == len(required)
