"""Masking in both runners: a secret is hidden wherever it stands as a value, and the text fabric-ci writes
around values stays as written, whatever the secret is (issue #9, defect 11)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fabric_ci import cli
from fabric_ci.auth.token import AADSTS_HINTS
from fabric_ci.commands import COMMANDS
from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.errors import ApiError, AuthenticationError, ErrorDetails, InputErrors
from fabric_ci.models.inputs import DeployAllInputs, input_names, parse_inputs
from fabric_ci.models.results import DeployedItem
from fabric_ci.runners.github import GitHubRunner
from fabric_ci.runners.local import LocalRunner

from .builders import OPERATION_ID, REPORT, deployment
from .conftest import GitHubStep

# Secrets that are short, ordinary words, or parts of fabric-ci's own words (input names above all).
AWKWARD_SECRETS = ["x", "e", "wrong", "the", "client", "tenant", "id", "expected", "GUID"]
MARKER = "Zq8~marker~secret"  # occurs nowhere in fabric-ci's text: what a message says around an echo
NAMES = input_names(DeployAllInputs)
HINT = AADSTS_HINTS["AADSTS7000215"]  # "The client secret is wrong. Check `client-secret` ..."


def pasted_everywhere(secret: str) -> dict[str, str]:
    """Raw deploy-all inputs with the secret also pasted into four inputs that echo a bad value."""
    return {
        "client-secret": secret,
        "auth": secret,
        "tenant-id": secret,
        "client-id": secret,
        "timeout": secret,
        "pipeline": "Sales",
        "source-stage": "Development",
    }


def input_errors(raw: dict[str, str]) -> InputErrors:
    with pytest.raises(InputErrors) as caught:
        parse_inputs(DeployAllInputs, raw)
    return caught.value


def expected_messages(secret: str) -> list[str]:
    """What the input errors must say for `secret`: exactly what they say for a secret that cannot
    collide with any word, each echo of it replaced by ***."""
    echo = repr(MARKER)
    return [e.message.replace(echo, echo[0] + "***" + echo[-1]) for e in input_errors(pasted_everywhere(MARKER)).errors]


def local(cli_values: dict[str, str], *, json_mode: bool = False) -> tuple[LocalRunner, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    runner = LocalRunner(cli_values, output_format="json" if json_mode else "text", stdout=out, stderr=err, env={})
    return runner, out, err


def github(tokens: Callable[[], str], cli_values: dict[str, str]) -> tuple[GitHubRunner, io.StringIO]:
    out = io.StringIO()
    return GitHubRunner(cli_values, stdout=out, token_factory=tokens), out


def commands(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"::{name}")]


class TestInputErrorsStayReadable:
    def test_the_words_around_an_echo_of_x_are_kept(self) -> None:
        """With the secret `x` pasted into auth, "expected one of" stays whole and only the echo is hidden."""
        runner, _, err = local(pasted_everywhere("x"))
        runner.read_inputs(NAMES)
        runner.fail(input_errors(pasted_everywhere("x")))
        assert (
            "error: Input 'auth': expected one of auto, secret, certificate, oidc, managed-identity, "
            "user-password, got '***'\n"
        ) in err.getvalue()

    @pytest.mark.parametrize("secret", AWKWARD_SECRETS)
    def test_terminal_text(self, secret: str) -> None:
        """Each input error reads as it would for any other secret, with the echoed value as ***."""
        runner, out, err = local(pasted_everywhere(secret))
        runner.read_inputs(NAMES)
        runner.fail(input_errors(pasted_everywhere(secret)))
        assert err.getvalue() == "".join(f"error: {message}\n" for message in expected_messages(secret))
        assert out.getvalue() == ""

    @pytest.mark.parametrize("secret", AWKWARD_SECRETS)
    def test_terminal_json(self, secret: str) -> None:
        """The JSON document names each input with the same readable message, and no echo."""
        runner, out, _ = local(pasted_everywhere(secret), json_mode=True)
        runner.read_inputs(NAMES)
        runner.fail(input_errors(pasted_everywhere(secret)))
        document = json.loads(out.getvalue())
        assert [i["message"] for i in document["error"]["inputs"]] == expected_messages(secret)
        assert [i["name"] for i in document["error"]["inputs"]] == ["auth", "tenant-id", "client-id", "timeout"]

    @pytest.mark.parametrize("secret", AWKWARD_SECRETS)
    def test_github_annotations_and_summary(
        self, secret: str, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """Each ::error and each summary line is the readable message, titled with the input's name."""
        runner, out = github(tokens, pasted_everywhere(secret))
        runner.read_inputs(NAMES)
        runner.fail(input_errors(pasted_everywhere(secret)))
        names = ["auth", "tenant-id", "client-id", "timeout"]
        assert commands(out.getvalue(), "error") == [
            f"::error title=Invalid input '{name}'::{message}"
            for name, message in zip(names, expected_messages(secret), strict=True)
        ]
        summary = github_step.summary.read_text(encoding="utf-8")
        for message in expected_messages(secret):
            assert f"- {message}\n" in summary


class TestServiceTextStaysReadable:
    @pytest.mark.parametrize(
        ("secret", "remote"),
        [
            ("wrong", "AADSTS7000215: Invalid client secret provided."),
            ("the", "AADSTS7000215: Invalid client secret provided."),
            ("client", "AADSTS7000215: Invalid *** secret provided."),
            ("secret", "AADSTS7000215: Invalid client *** provided."),
        ],
    )
    def test_sign_in_hint_is_never_masked(self, secret: str, remote: str) -> None:
        """fabric-ci's hint ("The client secret is wrong. ...") stays whole; the service's words are a value."""
        runner, _, err = local({"client-secret": secret})
        runner.read_inputs(["client-secret"])
        runner.fail(AuthenticationError(f"AADSTS7000215: Invalid client secret provided. {HINT}"))
        assert err.getvalue() == f"error: {remote} {HINT}\n"

    @pytest.mark.parametrize("secret", ["x", "wrong", "e"])
    def test_an_echo_in_the_service_answer_is_hidden(
        self, secret: str, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """A service message that quotes the secret shows *** there, in the annotation and the summary."""
        error = ApiError(ErrorDetails(400, "InvalidInput", f"the value '{secret}' is not valid"))
        runner, out = github(tokens, {"client-secret": secret})
        runner.read_inputs(["client-secret"])
        runner.fail(error)
        expected = error.message.replace(f"'{secret}'", "'***'")
        assert expected != error.message
        assert commands(out.getvalue(), "error") == [f"::error title=API request failed::{expected}"]
        assert f"'{secret}'" not in github_step.summary.read_text(encoding="utf-8")


class TestResults:
    ITEM = DeployedItem(id="x-1", name="x", type="Report", diff_state="New", status="Succeeded")

    def test_ids_and_words_survive_a_one_letter_secret(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """With the secret `e`, ids (5d2c6a4e-...), statuses and item names keep every letter."""
        runner, out = github(tokens, {"client-secret": "e"})
        runner.read_inputs(["client-secret"])
        runner.publish(deployment())
        outputs = github_step.output.read_text()
        assert f"operation-id<<ghadelimiter_t1\n{OPERATION_ID}\n" in outputs
        assert "Sales report" in outputs
        assert "::notice::Deployed 2 items from Development to Test in 9s" in out.getvalue()
        assert "| Sales report | Report | New | ✅ Succeeded |" in github_step.summary.read_text(encoding="utf-8")

    def test_an_item_named_like_the_secret_is_hidden_in_every_output(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """An item named `x` with the secret `x`: *** in the outputs' JSON (still valid, keys intact) and summary."""
        runner, _ = github(tokens, {"client-secret": "x"})
        runner.read_inputs(["client-secret"])
        runner.publish(deployment(items=(self.ITEM, REPORT)))
        items = json.loads(github_step.output.read_text().split("deployed-items<<ghadelimiter_t6\n")[1].split("\n")[0])
        assert [item["name"] for item in items] == ["***", "Sales report"]
        assert list(items[0]) == ["id", "name", "type", "diffState", "status"]
        assert items[0]["id"] == "***-1"
        assert "| *** | Report | New | ✅ Succeeded |" in github_step.summary.read_text(encoding="utf-8")

    def test_terminal_report_and_document(self) -> None:
        """The terminal report and the JSON document show the item as ***, everything else as it is."""
        runner, out, err = local({"client-secret": "x"}, json_mode=True)
        runner.read_inputs(["client-secret"])
        runner.publish(deployment(items=(self.ITEM, REPORT)))
        document = json.loads(out.getvalue())
        assert [item["name"] for item in document["result"]["items"]] == ["***", "Sales report"]
        assert document["outputs"]["operation-id"] == OPERATION_ID
        assert "  ***           Report  New     Succeeded" in err.getvalue()


class TestEscapedForms:
    def test_a_secret_with_a_quote_and_a_newline_is_hidden_in_its_echo(self) -> None:
        """Input errors echo values with repr: the escaped one-line form of the secret is hidden too."""
        secret = "it's\nme"
        runner, _, err = local(pasted_everywhere(secret))
        runner.read_inputs(NAMES)
        runner.fail(input_errors(pasted_everywhere(secret)))
        assert 'got "***"' in err.getvalue()
        assert "it's" not in err.getvalue()
        assert repr(secret)[1:-1] not in err.getvalue()

    def test_a_quote_secret_cannot_break_the_json_document(self) -> None:
        """A secret `"` is hidden string by string, so the document stays valid JSON."""
        runner, out, _ = local({"client-secret": '"'}, json_mode=True)
        runner.read_inputs(["client-secret"])
        runner.fail(ApiError(ErrorDetails(400, "Bad", 'value "x" refused')))
        document = json.loads(out.getvalue())
        assert document["error"]["message"] == "400 Bad: value ***x*** refused"

    def test_the_marker_never_spells_the_secret(self) -> None:
        """With a secret `*`, values are replaced by a marker made of another character."""
        runner, _, err = local({"client-secret": "*"})
        runner.read_inputs(["client-secret"])
        runner.warning("pattern * refused")
        assert err.getvalue() == "warning: pattern ### refused\n"

    def test_a_secret_cut_to_fit_a_column_is_hidden_whole(self) -> None:
        """Cells are cut after redaction: a long secret in an item name never shows half of itself."""
        secret = "S" * 30 + "-tail-of-a-long-secret-value"
        item = DeployedItem(id="i", name="n" * 40 + secret, type="Report", status="Succeeded")
        runner, out, _ = local({"client-secret": secret})
        runner.read_inputs(["client-secret"])
        runner.publish(deployment(items=(item,)))
        assert "S" * 10 not in out.getvalue()


class TestGitHubMasks:
    def test_a_short_secret_is_masked_and_the_log_warned(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """A registered secret is never left unmasked however short; a warning says why GitHub's log shows ***."""
        runner, out = github(tokens, {"client-secret": "e"})
        runner.read_inputs(["client-secret"])
        lines = out.getvalue().splitlines()
        assert lines[0] == "::add-mask::e"
        assert lines[1].startswith("::warning::Input 'client-secret' is only 1 characters long: GitHub hides every")

    def test_the_escaped_form_is_masked_as_well(self, github_step: GitHubStep, tokens: Callable[[], str]) -> None:
        """A secret with a quote and a backslash is masked as given and as an input error would echo it."""
        secret = "a'b\"c\\d-long-enough"
        runner, out = github(tokens, {"client-secret": secret})
        runner.read_inputs(["client-secret"])
        assert commands(out.getvalue(), "add-mask")[:2] == [
            f"::add-mask::{secret}",
            f"::add-mask::{repr(secret)[1:-1]}",
        ]

    def test_a_multiline_secret_is_masked_line_by_line_and_as_one_line(
        self, github_step: GitHubStep, tokens: Callable[[], str]
    ) -> None:
        """Each line of a multi-line secret is masked, however short, and so is its one-line escaped form."""
        runner, out = github(tokens, {"client-secret": "first-line\nab"})
        runner.read_inputs(["client-secret"])
        assert commands(out.getvalue(), "add-mask") == [
            "::add-mask::first-line",
            "::add-mask::ab",
            "::add-mask::first-line\\nab",
        ]


# --- through the entry point, against an in-process emulator --------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.2)) as emu:
        yield emu


@contextlib.contextmanager
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("INPUT_", "GITHUB_", "RUNNER_", "FABRIC_CI_", "ACTIONS_", "SYSTEM_")):
            monkeypatch.delenv(name)
    yield


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("secret", AWKWARD_SECRETS)
def test_a_wrong_awkward_secret_in_a_terminal(emulator: Emulator, secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """fabric-ci deploy-all with a wrong secret `x`, `wrong`, `the`...: exit 1, Entra's fix in full, no echo."""
    with clean_environment(monkeypatch):
        inputs = {**emulator.inputs(), "client-secret": secret, "pipeline": "Sales Analytics"}
        argv = ["deploy-all", *(f"--{k}={v}" for k, v in inputs.items()), "--source-stage=Development"]
        status, out, err = run_cli(argv)
    assert status == 1
    assert HINT in err
    assert f"'{secret}'" not in out + err


@pytest.mark.parametrize("secret", AWKWARD_SECRETS)
def test_a_wrong_awkward_secret_on_github(
    emulator: Emulator, secret: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same as an action step: the ::error carries Entra's fix in full, and no file holds an echo."""
    with clean_environment(monkeypatch):
        inputs = {**emulator.inputs(), "client-secret": secret, "pipeline": "Sales Analytics"}
        inputs["source-stage"] = "Development"
        for name, value in inputs.items():
            monkeypatch.setenv(f"INPUT_{name.upper()}", value)
        (tmp_path / "output").write_text("")
        (tmp_path / "summary").write_text("")
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
        monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
        status, out, err = run_cli(["deploy-all"])
    assert status == 1
    [error] = commands(out, "error")
    assert error.startswith("::error title=Sign-in failed::")
    assert HINT in error
    shown = "\n".join(line for line in out.splitlines() if not line.startswith("::add-mask::"))
    summary = (tmp_path / "summary").read_text(encoding="utf-8")
    assert f"'{secret}'" not in shown + err + summary + (tmp_path / "output").read_text()
    assert HINT.split(" Check")[0] in summary


def test_a_mistyped_secret_option_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret given to a misspelt option (--client-secrt=...) is refused without being printed."""
    with clean_environment(monkeypatch):
        status, out, err = run_cli(["deploy-all", "--client-secrt=Zq7-secret-value", "--pipeline=Sales"])
    assert status == 2
    assert "--client-secrt" in err
    assert "Zq7-secret-value" not in out + err


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy-all", "-Q8Q~Zq7-secret-value"],
        ["deploy-all", "--client-secret=x", "-Zq7-secret-value"],
        ["deploy-all", "--output", "Zq7-secret-value"],
        ["deploy-all", "--debug=Zq7-secret-value"],
        ["Zq7-secret-value"],
        ["deploy-all", "--output=json", "--client-secrt", "Zq7-secret-value"],
    ],
)
def test_no_command_line_error_repeats_a_value(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    """Whatever argparse cannot read (a stray word, a bad choice, a value for a flag), its error never repeats it."""
    with clean_environment(monkeypatch):
        status, out, err = run_cli(argv)
    assert status == 2
    assert "Zq7-secret-value" not in out + err
    assert "command line" in out + err


def test_every_command_masks_its_secret_inputs() -> None:
    """Every command reads the four secret inputs, so both runners register them before anything else."""
    for model in (c.inputs for c in COMMANDS.values()):
        assert {"client-secret", "client-certificate", "client-certificate-password", "password"} <= set(
            input_names(model)
        )
