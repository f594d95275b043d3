"""`fabric-ci emulator`'s options: each also a FABRIC_CI_EMULATOR_ variable (the command line wins),
bad values refused in one line naming the flag or the variable, --host any IP address, --hostname
names a certificate can hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabric_ci.emulator import main
from fabric_ci.emulator.cli import OPTIONS, resolve_options

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - binding to it is what these tests allow


def refusal(capsys: pytest.CaptureFixture[str], argv: list[str], environ: dict[str, str]) -> str:
    """The one error line `main` exits 2 with."""
    with pytest.raises(SystemExit) as exited:
        main(argv, environ=environ)
    assert exited.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


def test_every_option_has_its_variable() -> None:
    """Each flag's variable is FABRIC_CI_EMULATOR_ and the flag in capitals, '-' as '_'."""
    assert {option.flag: option.variable for option in OPTIONS} == {
        "--host": "FABRIC_CI_EMULATOR_HOST",
        "--hostname": "FABRIC_CI_EMULATOR_HOSTNAME",
        "--port": "FABRIC_CI_EMULATOR_PORT",
        "--state-dir": "FABRIC_CI_EMULATOR_STATE_DIR",
        "--operation-seconds": "FABRIC_CI_EMULATOR_OPERATION_SECONDS",
        "--deploy-retry-after": "FABRIC_CI_EMULATOR_DEPLOY_RETRY_AFTER",
        "--retry-after": "FABRIC_CI_EMULATOR_RETRY_AFTER",
        "--page-size": "FABRIC_CI_EMULATOR_PAGE_SIZE",
        "--assertion-lifetime": "FABRIC_CI_EMULATOR_ASSERTION_LIFETIME",
        "--github-subject": "FABRIC_CI_EMULATOR_GITHUB_SUBJECT",
        "--azure-devops-subject": "FABRIC_CI_EMULATOR_AZURE_DEVOPS_SUBJECT",
        "--federated-subject": "FABRIC_CI_EMULATOR_FEDERATED_SUBJECT",
        "--ready-file": "FABRIC_CI_EMULATOR_READY_FILE",
        "--quiet": "FABRIC_CI_EMULATOR_QUIET",
    }


def test_the_environment_sets_what_the_command_line_leaves_out() -> None:
    """Every option can come from its variable, parsed as the flag's value is; sources name the variable."""
    resolved = resolve_options(
        [],
        {
            "FABRIC_CI_EMULATOR_HOST": EVERY_INTERFACE,
            "FABRIC_CI_EMULATOR_HOSTNAME": "emulator, Localhost\n fabric.test",
            "FABRIC_CI_EMULATOR_PORT": "8443",
            "FABRIC_CI_EMULATOR_STATE_DIR": "/github/workspace/.fabric-ci-emulator",
            "FABRIC_CI_EMULATOR_OPERATION_SECONDS": "1.5",
            "FABRIC_CI_EMULATOR_DEPLOY_RETRY_AFTER": "3",
            "FABRIC_CI_EMULATOR_RETRY_AFTER": "2",
            "FABRIC_CI_EMULATOR_PAGE_SIZE": "5",
            "FABRIC_CI_EMULATOR_ASSERTION_LIFETIME": "60",
            "FABRIC_CI_EMULATOR_GITHUB_SUBJECT": "repo:contoso/app:environment:Pre Production",
            "FABRIC_CI_EMULATOR_AZURE_DEVOPS_SUBJECT": "sc://contoso/app/conn",
            "FABRIC_CI_EMULATOR_FEDERATED_SUBJECT": "repo:contoso/app:environment:Pre Production\nsc://contoso/app/conn\n",
            "FABRIC_CI_EMULATOR_READY_FILE": "ready.json",
            "FABRIC_CI_EMULATOR_QUIET": "true",
        },
    )
    assert resolved.values == {
        "host": EVERY_INTERFACE,
        "hostname": ["emulator", "localhost", "fabric.test"],
        "port": 8443,
        "state_dir": "/github/workspace/.fabric-ci-emulator",
        "operation_seconds": 1.5,
        "deploy_retry_after": 3,
        "retry_after": 2,
        "page_size": 5,
        "assertion_lifetime": 60,
        "github_subject": "repo:contoso/app:environment:Pre Production",
        "azure_devops_subject": "sc://contoso/app/conn",
        "federated_subject": ["repo:contoso/app:environment:Pre Production", "sc://contoso/app/conn"],
        "ready_file": "ready.json",
        "quiet": True,
    }
    assert set(resolved.sources.values()) == {option.variable for option in OPTIONS}


def test_the_command_line_wins_over_the_environment() -> None:
    """A flag given replaces its variable entirely, repeatable flags too; the rest still come from the environment."""
    resolved = resolve_options(
        ["--port", "9000", "--hostname", "one"],
        {
            "FABRIC_CI_EMULATOR_PORT": "8443",
            "FABRIC_CI_EMULATOR_HOSTNAME": "two,three",
            "FABRIC_CI_EMULATOR_PAGE_SIZE": "7",
        },
    )
    assert (resolved.values["port"], resolved.values["hostname"], resolved.values["page_size"]) == (9000, ["one"], 7)
    assert (resolved.sources["port"], resolved.sources["page_size"]) == ("--port", "FABRIC_CI_EMULATOR_PAGE_SIZE")


def test_without_flags_or_variables_the_defaults_hold() -> None:
    """An empty variable counts as unset, as an empty input does; the defaults are those of the flags."""
    resolved = resolve_options([], {"FABRIC_CI_EMULATOR_PORT": "", "FABRIC_CI_EMULATOR_HOST": "  "})
    assert resolved.values["host"] == "127.0.0.1"
    assert resolved.values["port"] == 0
    assert resolved.values["hostname"] == ()
    assert resolved.values["state_dir"] == ".fabric-ci-emulator"
    assert resolved.values["quiet"] is False


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORT", "http", "expected a port number from 0 to 65535 (0: any free port), got 'http'"),
        ("PORT", "65536", "expected a port number from 0 to 65535 (0: any free port), got '65536'"),
        ("OPERATION_SECONDS", "inf", "expected a number of seconds, at least 0, got 'inf'"),
        ("RETRY_AFTER", "1.5", "expected a whole number, at least 0, got '1.5'"),
        ("PAGE_SIZE", "0", "expected a whole number, at least 1, got '0'"),
        ("QUIET", "yes", "expected true or false, got 'yes'"),
        (
            "HOSTNAME",
            "emulator,my_service",
            "expected a host name clients reach the emulator by, such as emulator or localhost "
            "(letters, digits, '-' and '.'; a certificate cannot name '_'), got 'my_service'",
        ),
        (
            "HOST",
            "emulator",
            "expected an IP address to listen on, such as 127.0.0.1 (the default), or 0.0.0.0 or :: for "
            "every interface (in a container), got 'emulator'; the names clients use go in --hostname",
        ),
    ],
)
def test_a_bad_variable_gets_the_flags_message_naming_the_variable(
    variable: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The variable's value is checked as the flag's, and the one-line error names the variable."""
    environ = {f"FABRIC_CI_EMULATOR_{variable}": value, "FABRIC_CI_EMULATOR_STATE_DIR": str(tmp_path / "state")}
    line = refusal(capsys, [], environ)
    assert line == f"fabric-ci emulator: error: FABRIC_CI_EMULATOR_{variable}: {message}"
    flag = f"--{variable.lower().replace('_', '-')}"
    if variable != "QUIET":  # a switch on the command line takes no value
        assert (
            refusal(capsys, [flag, value.split(",")[-1]], {})
            == f"fabric-ci emulator: error: argument {flag}: {message}"
        )
    assert not (tmp_path / "state").exists()


def test_an_unknown_variable_is_refused_listing_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt FABRIC_CI_EMULATOR_ variable is an error, not silently ignored."""
    line = refusal(capsys, [], {"FABRIC_CI_EMULATOR_HOSTNAMES": "emulator"})
    assert line.startswith(
        "fabric-ci emulator: error: unknown environment variable FABRIC_CI_EMULATOR_HOSTNAMES: the emulator reads "
        "FABRIC_CI_EMULATOR_ASSERTION_LIFETIME, "
    )
    assert "FABRIC_CI_EMULATOR_HOSTNAME," in line


def test_a_state_dir_variable_naming_a_file_is_refused_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checks made after parsing name where the value came from, here the variable."""
    file = tmp_path / "ca.pem"
    file.write_text("not a folder")
    assert refusal(capsys, [], {"FABRIC_CI_EMULATOR_STATE_DIR": str(file)}) == (
        f"fabric-ci emulator: error: FABRIC_CI_EMULATOR_STATE_DIR {file} is a file, not a folder: "
        "choose a folder (it is created if missing)"
    )


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        (EVERY_INTERFACE, EVERY_INTERFACE),
        ("::", "::"),
        ("[::1]", "::1"),
        ("10.1.2.3", "10.1.2.3"),
    ],
)
def test_host_takes_any_ip_address(given: str, address: str) -> None:
    """--host is any IP address (IPv6 with or without brackets) or localhost, no longer loopback only."""
    assert resolve_options(["--host", given], {}).values["host"] == address


def test_hostnames_are_lower_cased_without_a_trailing_dot() -> None:
    """--hostname is repeatable; names are kept as a certificate and a URL hold them."""
    assert resolve_options(["--hostname", "Emulator.", "--hostname", "10.0.0.5"], {}).values["hostname"] == [
        "emulator",
        "10.0.0.5",
    ]
