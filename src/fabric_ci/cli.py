"""`fabric-ci <command>`: pick the runner, validate inputs, run the operation, report the result.

This is the composition root, and the only place that reads the process environment to make
choices: GITHUB_ACTIONS selects the GitHub runner and TF_BUILD the Azure Pipelines one; RUNNER_DEBUG
(GitHub) or SYSTEM_DEBUG (Azure Pipelines' System.Debug) turns on tracebacks.
Data flows one way: runner -> validated inputs -> operation -> API -> result -> runner.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import sys
import textwrap
import threading
import traceback
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Literal, NoReturn

import httpx

from fabric_ci import __version__
from fabric_ci.api.retry import Retries, Retrying
from fabric_ci.clock import SYSTEM_CLOCK, Clock
from fabric_ci.commands import COMMANDS, Command
from fabric_ci.errors import Cancelled, FabricCiError, InputError, StepCancelled
from fabric_ci.models import descriptions
from fabric_ci.models.inputs import SECRET_INPUTS, AddUserInputs, Inputs, parse_inputs
from fabric_ci.operations.reporter import Reporter
from fabric_ci.runners.base import Runner
from fabric_ci.runners.defaults import PROFILE_FILE, defaultable, local_values
from fabric_ci.runners.local import secret_env_var

if TYPE_CHECKING:  # imported lazily in connect(), after inputs are valid
    from fabric_ci.api.client import PipelinesClient

# Inputs of one entry per line: on the command line each option may be given again, one entry each.
LINE_INPUTS = frozenset({"items", "stages", "public-stages", "workspaces"})


def option_help(command: Command, name: str) -> str:
    """An option's help: the first sentence of its description (`fabric-ci COMMAND --help` stays short),
    and for a secret, the environment variable that keeps it out of shell history."""
    text = command.input_description(name).replace("`", "")
    first = re.split(r"(?<=[.)])\s+(?=[A-Z])", text, maxsplit=1)[0]
    return f"{first} (or set {secret_env_var(name)})" if name in SECRET_INPUTS else first


class UsageError(Exception):
    """A command line argparse could not read; its message never holds a value (one may be a secret)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors become UsageError (reported by the runner, in JSON too) and never
    echo what was given: `--client-secrt=s3cret` would otherwise print the secret."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            # Only what looks like an option's name is shown; any other word may be a secret.
            words = [a.split("=", 1)[0] for a in message.split(":", 1)[1].split()]
            names = sorted({w for w in words if _OPTION_NAME.fullmatch(w)})
            message = "unknown option(s): " + (", ".join(names) if names else "a word that is no option")
        else:
            # "invalid choice: 'x'", "ignored explicit argument 'x'": the value given is not repeated.
            message = _GIVEN_VALUE.sub(r"\1", message)
        commands = f" Commands: {', '.join(COMMANDS)}." if self.prog == "fabric-ci" else ""
        raise UsageError(f"{message}. See `{self.prog} --help`.{commands}")


_OPTION_NAME = re.compile(r"--[a-z][a-z0-9]*(-[a-z0-9]+)*")
_GIVEN_VALUE = re.compile(r"(invalid choice|ignored explicit argument):? '[^']*'")


def boolean_inputs(model: type[Inputs]) -> frozenset[str]:
    """The inputs that hold true or false (`Bool` or `Bool | None` in the model), by runner-facing name:
    derived from the model, so a new command's switches get `--x`/`--no-x` without a list to keep."""
    return frozenset(field.alias or name for name, field in model.model_fields.items() if _is_bool(field.annotation))


def _is_bool(annotation: object) -> bool:
    # `Bool` is Annotated[bool, ...]; `Bool | None` a Union of it and None.
    if annotation is bool:
        return True
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_bool(args[0])
    if args and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return len(kinds) == 1 and _is_bool(kinds[0])
    return False


def add_boolean(parser: argparse._ActionsContainer, command: Command, name: str) -> None:
    """`--wait`, `--wait=false`, `--wait false` and `--no-wait`. The value stays text, so the model's
    parse_bool decides (one rule for every runner) and `--wait maybe` is an input error naming `wait`."""
    parser.add_argument(
        f"--{name}",
        dest=name,
        metavar="true|false",
        nargs="?",
        const="true",
        help=f"{option_help(command, name)} (--{name} alone is true; --no-{name} is false)",
    )
    parser.add_argument(f"--no-{name}", dest=name, action="store_const", const="false", help=argparse.SUPPRESS)


# `--help` groups, found from each input's name so that a new input lands in one without a list to
# keep; what matches none is the command's own (OTHER_GROUP).
OPTION_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (
        "sign-in",
        lambda n: (
            n in {"auth", "tenant-id", "username", "password", "oidc-audience", "authority-host", "scope"}
            or n.startswith("client-")
        ),
    ),
    ("connection", lambda n: n in {"cloud", "api", "api-base-url", "ca-bundle"}),
    (
        "what to deploy",
        lambda n: (
            n in {"pipeline", "source-stage", "target-stage", "backward", "items", "note", "operation-id"}
            or n.startswith("plan")
        ),
    ),
    ("waiting", lambda n: n in {"wait", "timeout"}),
    (
        "Power BI options",
        lambda n: n.startswith("allow-") or n in {"update-app", "capacity-id"},
    ),
)
OTHER_GROUP = "command options"


def option_group(name: str) -> str:
    return next((title for title, matches in OPTION_GROUPS if matches(name)), OTHER_GROUP)


def required_inputs(model: type[Inputs]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items() if field.is_required())


def command_epilog(command: Command) -> str | None:
    examples = descriptions.EXAMPLES.get(command.name, ())
    if not examples:
        return None
    return "examples:\n" + "\n".join(f"  {example}" for example in examples)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fabric-ci",
        allow_abbrev=False,  # `--client-s` is no shorthand: an input is named in full or not at all
        description="Run Microsoft Fabric deployment pipelines from CI. `fabric-ci emulator` starts a local "
        "stand-in for Entra ID and the Fabric API.",
    )
    parser.add_argument("--version", action="version", version=f"fabric-ci {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name,
            help=command.description.replace("`", ""),
            description=textwrap.fill(command.description, width=100),
            epilog=command_epilog(command),
            formatter_class=argparse.RawDescriptionHelpFormatter,  # the examples keep their lines
            allow_abbrev=False,
        )
        booleans = boolean_inputs(command.inputs)
        required = required_inputs(command.inputs)
        groups: dict[str, argparse._ArgumentGroup] = {}
        for title in [*(t for t, _ in OPTION_GROUPS), OTHER_GROUP]:
            if any(option_group(n) == title for n in command.input_names):
                groups[title] = sub.add_argument_group(title)
        for input_name in command.input_names:
            group = groups[option_group(input_name)]
            if input_name in booleans:
                add_boolean(group, command, input_name)
                continue
            text = option_help(command, input_name)
            group.add_argument(
                f"--{input_name}",
                dest=input_name,
                metavar="VALUE",
                # Not argparse's required=True: the value may come from FABRIC_CI_* or a profile.
                help=f"(required) {text}" if input_name in required else text,
                action="append" if input_name in LINE_INPUTS else "store",
            )
        sub.add_argument(
            "--profile",
            metavar="NAME",
            help=f"read defaults from [profiles.NAME] in ~/.config/fabric-ci/{PROFILE_FILE} (or "
            f"$XDG_CONFIG_HOME/fabric-ci/{PROFILE_FILE}); or set FABRIC_CI_PROFILE. At a terminal only",
        )
        sub.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
        sub.add_argument("--debug", action="store_true", help="show tracebacks and debug messages")
    commands.add_parser("emulator", help="start the local emulator (see `fabric-ci emulator --help`)")
    commands.add_parser("completion", help="print a shell completion script: fabric-ci completion bash|zsh|fish")
    return parser


def cli_values(namespace: argparse.Namespace, names: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = getattr(namespace, name, None)
        if value is not None:
            values[name] = "\n".join(value) if isinstance(value, list) else value
    return values


# A 429 that makes a step wait this long is worth a warning; shorter retries are debug detail.
LONG_THROTTLE_SECONDS = 10.0


def report_retries(reporter: Reporter) -> Callable[[str, Retrying], None]:
    """Each retry, told through the runner (never a logger of its own, which would print
    outside the runner's formats)."""

    warned = False

    def hear(what: str, retry: Retrying) -> None:
        nonlocal warned
        if retry.throttled and retry.wait >= LONG_THROTTLE_SECONDS and not warned:
            # Once a step: GitHub shows a step's first ten warnings, and later ones matter more.
            warned = True
            reporter.warning(
                f"The service is throttling requests: waiting {retry.wait:.0f}s, as it asked (Retry-After), "
                f"before retrying {what}. Further waits are debug lines."
            )
        else:
            reporter.debug(f"{what}: {retry.cause}; retry {retry.attempt} in {retry.wait:.1f}s")

    return hear


@contextmanager
def connect(
    inputs: Inputs,
    reporter: Reporter,
    environ: Mapping[str, str],
    clock: Clock = SYSTEM_CLOCK,
    http_transport: httpx.BaseTransport | None = None,
) -> Iterator[PipelinesClient]:
    """One HTTP client, one token provider and one API client for the whole run. The `api` input
    chooses the client here, and nowhere else.

    `environ` is where a CI job's OIDC token comes from (sign_in.py); nothing else reads it.
    `clock` is what every retry waits on; `http_transport` replaces the network (the in-process
    chaos run serves requests from the emulator without sockets, in virtual time).
    """
    from fabric_ci.api.fabric import FabricClient
    from fabric_ci.api.powerbi import PowerBiClient
    from fabric_ci.api.tls import make_ssl_context
    from fabric_ci.api.transport import Transport
    from fabric_ci.auth.sign_in import make_token_provider

    with httpx.Client(
        verify=make_ssl_context(inputs.ca_bundle),
        timeout=httpx.Timeout(60.0, connect=15.0),
        # Our threads bound the requests in flight (deploy-many: up to 32 entries, each reading up to 4
        # at once); httpx's default pool of 100 could hold a deploy request back until PoolTimeout.
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        headers={"User-Agent": f"fabric-ci/{__version__}"},
        transport=http_transport,
    ) as http:
        retries = Retries(clock=clock, on_retry=report_retries(reporter))
        tokens = make_token_provider(inputs, environ, http, reporter, retries)
        resource_host = httpx.URL(inputs.endpoints.scope).host
        transport = Transport(
            http,
            inputs.endpoints.api_base_url,
            tokens,
            retries,
            redirect_domains=(resource_host,),
            base_url_input="api-base-url" if "api-base-url" in inputs.given else "cloud",
        )
        if inputs.api == "powerbi":
            # add-user with `admin: true` reads pipelines and writes users through the admin API.
            admin = isinstance(inputs, AddUserInputs) and bool(inputs.admin)
            yield PowerBiClient(transport, admin=admin)
        else:
            yield FabricClient(transport)


class Cancellation:
    """SIGINT (Ctrl-C) and SIGTERM (a runner's cancel) raise Cancelled where the run is, once,
    while armed: the operation stops waiting and reports what it knows. Disarmed, before the
    outcome is reported, a signal is ignored, so the report is never cut short (and never ends in
    a traceback)."""

    def __init__(self) -> None:
        self.armed = True

    def disarm(self) -> None:
        self.armed = False

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.armed:
            self.armed = False
            raise Cancelled(signum)


@contextmanager
def cancellable() -> Iterator[Cancellation]:
    cancellation = Cancellation()
    if threading.current_thread() is not threading.main_thread():
        yield cancellation  # signals are only delivered to the main thread; tests may run commands elsewhere
        return
    previous = {signum: signal.signal(signum, cancellation.on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancellation
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(
    command: str,
    runner: Runner,
    *,
    debug: bool,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    http_transport: httpx.BaseTransport | None = None,
) -> int:
    """Run one command to completion and return the process exit status."""
    with cancellable() as cancellation:
        return _run(command, runner, debug, clock or SYSTEM_CLOCK, environ, http_transport, cancellation)


def _run(
    command: str,
    runner: Runner,
    debug: bool,
    clock: Clock,
    environ: Mapping[str, str] | None,
    http_transport: httpx.BaseTransport | None,
    cancellation: Cancellation,
) -> int:
    spec = COMMANDS[command]
    try:
        try:
            inputs = parse_inputs(spec.inputs, runner.read_inputs(spec.input_names))
            with connect(inputs, runner, os.environ if environ is None else environ, clock, http_transport) as client:
                result = spec.run(inputs, client, runner, clock)
                cancellation.disarm()  # the outcome is known: closing the client must not lose it
        except Cancelled as cancelled:  # operations that know more raise StepCancelled themselves
            raise StepCancelled(f"Cancelled by {cancelled.signal_name} before {command} finished.", cancelled) from None
        finally:
            cancellation.disarm()
    except FabricCiError as error:
        runner.fail(error, getattr(error, "result", None))
        if debug:
            runner.debug(traceback.format_exc())  # through the runner, which hides secrets in it
        return error.exit_code
    except Exception as unexpected:  # a bug of ours: say so plainly, without a traceback unless asked
        runner.fail(
            FabricCiError(
                f"Unexpected {type(unexpected).__name__}: {unexpected}. This is a bug in fabric-ci; re-run with "
                "debug on (RUNNER_DEBUG=1 on GitHub, System.Debug: true on Azure Pipelines, or --debug) and report "
                "the traceback."
            )
        )
        if debug:
            runner.debug(traceback.format_exc())
        return 1
    runner.publish(result)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "emulator":
        from fabric_ci.emulator import main as emulator_main

        return emulator_main(args[1:])
    if args and args[0] == "completion":
        return print_completion(args[1:])
    if not args or not args[0].strip():
        # The root action passes `${{ inputs.command }}`, which is empty when the input is missing.
        expected = "expected one of " + ", ".join(COMMANDS)
        make_runner({}, "text").fail(InputError("command", f"required and not supplied; {expected}"))
        return 2
    try:
        namespace = build_parser().parse_args(args)
    except UsageError as usage:
        as_json = "--output=json" in args or any(a == "--output" and b == "json" for a, b in itertools.pairwise(args))
        output = "json" if as_json else "text"
        command_given = args[0] if args[0] in COMMANDS else None
        make_runner({}, output, command=command_given).fail(InputError("command line", str(usage)))
        return 2
    command: str = namespace.command
    names = COMMANDS[command].input_names
    values = cli_values(namespace, names)
    debug = (
        namespace.debug or os.environ.get("RUNNER_DEBUG") == "1" or os.environ.get("SYSTEM_DEBUG", "").lower() == "true"
    )
    if in_ci(os.environ) and namespace.profile:
        # Ignoring it would run with other inputs than the person who wrote --profile meant.
        make_runner({}, namespace.output, command=command).fail(
            InputError(
                "profile",
                "is read only at a terminal; in a GitHub Actions or Azure Pipelines job the workflow's inputs are "
                "the whole truth: give the connection there (or run without GITHUB_ACTIONS/TF_BUILD set)",
            )
        )
        return 2
    if not in_ci(os.environ):
        # A terminal's defaults; a CI runner's inputs are the workflow's alone (runners/defaults.py).
        try:
            values = local_values(values, defaultable(command, names), os.environ, namespace.profile)
        except InputError as error:
            make_runner({}, namespace.output, command=command).fail(error)
            return 2
    return run(command, make_runner(values, namespace.output, command=command, debug=debug), debug=debug)


def print_completion(args: Sequence[str]) -> int:
    """`fabric-ci completion SHELL`: the script on stdout; a missing or unknown shell is exit 2."""
    from fabric_ci.completion import SHELLS, completion_script

    if len(args) != 1 or args[0] not in SHELLS:
        sys.stderr.write(f"usage: fabric-ci completion {{{','.join(SHELLS)}}}\n")
        return 2
    sys.stdout.write(completion_script(args[0], build_parser()))
    return 0


def in_ci(environ: Mapping[str, str]) -> bool:
    """GitHub Actions or Azure Pipelines: the runners make_runner picks over the terminal's."""
    return environ.get("GITHUB_ACTIONS") == "true" or environ.get("TF_BUILD", "").lower() == "true"


def make_runner(
    values: dict[str, str], output_format: str, *, command: str | None = None, debug: bool = False
) -> Runner:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from fabric_ci.runners.github import GitHubRunner

        return GitHubRunner(values)
    if os.environ.get("TF_BUILD", "").lower() == "true":  # the agent sets `True`
        from fabric_ci.runners.azure_devops import AzureDevOpsRunner

        return AzureDevOpsRunner(values, command=command)
    from fabric_ci.runners.local import LocalRunner

    fmt: Literal["text", "json"] = "json" if output_format == "json" else "text"
    return LocalRunner(values, output_format=fmt, command=command, debug=debug)
