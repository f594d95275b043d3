"""What fuzzing found, kept as plain examples so that each stays fixed whatever the fuzz run draws."""

from __future__ import annotations

import pytest

from fabric_ci.errors import InputErrors
from fabric_ci.models.credentials import CredentialError, load_client_certificate
from fabric_ci.models.inputs import DeployAllInputs, masked_input_values, parse_inputs

from .harness import Harness
from .strategies import Case

pytestmark = pytest.mark.fuzz

BASE = {
    "tenant-id": "contoso.com",
    "client-id": "00000000-0000-0000-0000-000000000000",
    "client-secret": "a-long-enough-secret",
    "pipeline": "Sales",
    "source-stage": "Development",
}


def message(raw: dict[str, str], name: str) -> str:
    with pytest.raises(InputErrors) as caught:
        parse_inputs(DeployAllInputs, {**BASE, **raw})
    return next(e.message for e in caught.value.errors if e.input_name == name)


@pytest.mark.parametrize("name", ["auth", "api", "cloud"])
def test_an_echo_is_the_value_as_given_not_lower_cased(name: str) -> None:
    """auth, api and cloud are read lower-cased, but echoed as given: a pasted secret's echo is masked."""
    assert message({name: "Zq7-Secret-VALUE"}, name).endswith("got 'Zq7-Secret-VALUE'")


def test_a_ca_bundle_name_the_os_refuses_is_not_a_file() -> None:
    """A ca-bundle name too long for the OS is an input error, not an unexpected OSError."""
    assert "is not a file" in message({"ca-bundle": "x" * 5000}, "ca-bundle")


def test_a_certificate_path_under_an_unknown_home_is_an_input_error() -> None:
    """`~nobody/cert.pem` names no file; it is not a RuntimeError from expanding `~`."""
    with pytest.raises(CredentialError, match="does not exist"):
        load_client_certificate("~nobody-here/cert.pem", None)


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662s", "9" * 5000, "9" * 5000 + "s"])
def test_odd_digits_are_not_a_duration(value: str) -> None:
    """Superscripts, other scripts' digits and numbers past int()'s limit are refused in fabric-ci's words."""
    text = message({"timeout": value}, "timeout")
    assert "expected a duration" in text
    assert "int()" not in text
    assert "limit" not in text


@pytest.mark.parametrize("value", ["\u00b2", "\u0661", "9" * 5000])
def test_odd_digits_are_a_stage_name(value: str) -> None:
    """A stage given as a superscript 2, an Arabic-Indic 1 or a 5000-digit number is a name, not a crash."""
    inputs = parse_inputs(DeployAllInputs, {**BASE, "source-stage": value})
    assert inputs.source_stage.name == value
    assert inputs.source_stage.order is None


def test_each_line_of_a_multiline_secret_is_masked() -> None:
    """Every line of a multi-line secret is masked, however short, and the whole value too (for its echo)."""
    assert masked_input_values("client-secret", "ab\ncd") == ["ab", "cd", "ab\ncd"]


@pytest.mark.parametrize("runner", ["terminal", "github"])
def test_a_secret_pasted_into_a_stage_is_hidden_in_the_lookup_error(harness: Harness, runner: str) -> None:
    """A password with quotes and a newline, pasted into source-stage too: signed in (with the secret), the
    stage is not found (exit 2, nothing deployed), and the error shows *** where the stage's name would be."""
    secret = "Zq7'one\"\nZq7two"
    inputs = {"{sign-in}": "secret", "{api}": "fabric", "password": secret}
    case = Case("deploy-all", {**inputs, "pipeline": "Sales Analytics", "source-stage": secret}, runner=runner)
    outcome = harness.run(case)
    assert outcome.status == 2
    assert [r.operation for r in outcome.requests if r.method != "GET"] == ["Entra_Token"]
    assert "has no stage" in outcome.stdout + outcome.stderr
    assert "Zq7" not in "\n".join(line for line in outcome.stdout.splitlines() if "add-mask" not in line)
    assert "Zq7" not in outcome.stderr + outcome.summary
