"""`fabric-ci emulator` (also the `fabric-ci-emulator` script): run the emulator as a process until
Ctrl+C or SIGTERM.

Prints where it listens, the inputs that point fabric-ci at it (client secret) and what the other
sign-in methods need (client certificate files, OIDC stand-ins, managed identity, user password);
`--ready-file` writes the same as JSON once the server accepts connections, for scripts and tests
to wait on: the secret sign-in's inputs at the top level, every method under "sign-in".

Every option can also come from the environment as FABRIC_CI_EMULATOR_<OPTION> (`--state-dir`:
FABRIC_CI_EMULATOR_STATE_DIR); the command line wins. The reason is GitHub Actions' service
containers: a service cannot be given a command, only `options:` (such as `--entrypoint`) and
`env:`, and `docker create --entrypoint X` clears the image's CMD, so the service runs
`--entrypoint fabric-ci-emulator` with its whole configuration in `env:`.

Bad flags and variables are refused before anything happens, and the port is taken before
anything is written to the state folder: a second emulator on a port in use exits 2 with one line,
leaving the first one's ca.pem alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from fabric_ci.emulator import seed
from fabric_ci.emulator.network import checked_hostname, is_loopback, listen_address
from fabric_ci.emulator.server import Emulator, EmulatorConfig, PortInUse, StartError
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS

ENV_PREFIX = "FABRIC_CI_EMULATOR_"
PROG = "fabric-ci emulator"
SCRIPT_PROG = "fabric-ci-emulator"
# The inputs that name files in the state folder: shown relative to the working directory when
# they are inside it (see `_shown`).
_PATH_INPUTS = ("ca-bundle", "client-certificate")

NETWORK_WARNING = (
    "{prog}: warning: listening on {address}, so it is reachable from the network, and it hands out "
    "tokens to anyone who asks: it is a test tool, for networks where every client is yours"
)
UNKNOWN_VARIABLE = "unknown environment variable {names}: the emulator reads {known}"


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any free port), got {text!r}")
    return int(text)


def _whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number, at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number, at least {minimum}, got {text!r}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, at least 0, got {text!r}")
    return value


def _host(text: str) -> str:
    try:
        return listen_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _hostname(text: str) -> str:
    try:
        return checked_hostname(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _switch(text: str) -> bool:
    """A boolean variable, as actions/toolkit's getBooleanInput takes one."""
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


@dataclass(frozen=True)
class Option:
    """One option, as a flag and as a FABRIC_CI_EMULATOR_ variable."""

    flag: str
    help: str
    default: Any = None
    parse: Callable[[str], Any] = str
    metavar: str | None = None
    repeatable: bool = False  # a flag given once per value; the variable holds several, split by `separator`
    separator: str = r"[,\s]+"
    switch: bool = False  # a flag without a value; the variable is true or false

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.dest.upper()

    def from_text(self, text: str) -> Any:
        """The variable's value, parsed as the flag's; ArgumentTypeError as the flag's."""
        if self.switch:
            return _switch(text)
        if self.repeatable:
            return [self.parse(part) for part in re.split(self.separator, text) if part.strip()]
        return self.parse(text)


OPTIONS = (
    Option(
        "--host",
        "IP address to listen on (default 127.0.0.1); 0.0.0.0 or :: for every interface, as in a container",
        "127.0.0.1",
        _host,
    ),
    Option(
        "--hostname",
        "a name clients reach the emulator by, e.g. a container's service name; repeat for several "
        "(FABRIC_CI_EMULATOR_HOSTNAME: separated by commas or spaces). Each is in the server "
        "certificate; the first names every URL the emulator hands out (default: the --host address)",
        (),
        _hostname,
        metavar="NAME",
        repeatable=True,
    ),
    Option("--port", "port to listen on, 0-65535 (default 0: any free port)", 0, _port),
    Option(
        "--state-dir",
        "folder for the emulator's CA certificate, ca.pem, and the client certificate files "
        "(default: .fabric-ci-emulator)",
        ".fabric-ci-emulator",
    ),
    Option("--operation-seconds", "how long each deployment runs (default 8)", 8.0, _seconds),
    Option(
        "--deploy-retry-after",
        "Retry-After seconds of the Fabric deploy answer, 202 (default 30, as in Microsoft's example)",
        30,
        _whole(0),
    ),
    Option(
        "--retry-after",
        "Retry-After seconds of a running operation's state, GET /v1/operations/{id}, and of injected "
        "429s that name none (default 20, as in Microsoft's example)",
        20,
        _whole(0),
    ),
    Option("--page-size", "items per page of list responses (default 2)", 2, _whole(1)),
    Option(
        "--assertion-lifetime",
        "seconds the OIDC tokens of the GitHub and Azure DevOps stand-ins live (default 600, like real ones)",
        600,
        _whole(1),
    ),
    Option(
        "--github-subject",
        f"subject of the GitHub stand-in's tokens (default {seed.GITHUB_SUBJECT})",
        seed.GITHUB_SUBJECT,
    ),
    Option(
        "--azure-devops-subject",
        f"subject of the Azure DevOps stand-in's tokens (default {seed.AZURE_DEVOPS_SUBJECT})",
        seed.AZURE_DEVOPS_SUBJECT,
    ),
    Option(
        "--federated-subject",
        "a subject the app's federated credentials trust; repeat for several "
        "(FABRIC_CI_EMULATOR_FEDERATED_SUBJECT: one a line) (default: the seeded ones)",
        (),
        metavar="SUBJECT",
        repeatable=True,
        separator=r"\n",  # subjects may hold spaces (a GitHub environment's name)
    ),
    Option("--ready-file", "write the connection details as JSON here once listening"),
    Option("--quiet", "do not print a line per request", False, switch=True),
)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a local Entra ID + Fabric deployment-pipelines emulator with a demo tenant.",
        epilog=f"Every option can also be set in the environment as {ENV_PREFIX}<OPTION>, upper case, "
        f"'-' as '_' (--state-dir: {ENV_PREFIX}STATE_DIR; --quiet: true or false); the command line wins.",
    )
    for option in OPTIONS:
        # SUPPRESS: an option not on the command line is absent, so the environment can fill it.
        if option.switch:
            parser.add_argument(option.flag, action="store_true", default=argparse.SUPPRESS, help=option.help)
        else:
            parser.add_argument(
                option.flag,
                action="append" if option.repeatable else "store",
                type=option.parse,
                default=argparse.SUPPRESS,
                metavar=option.metavar,
                help=option.help,
            )
    return parser


@dataclass(frozen=True)
class Resolved:
    """Every option's value by its dest (`state_dir`), and where each came from: its flag (also for
    a default) or its variable, for the messages about it."""

    values: dict[str, Any]
    sources: dict[str, str]


def resolve_options(
    argv: Sequence[str] | None, environ: Mapping[str, str], parser: argparse.ArgumentParser | None = None
) -> Resolved:
    """The options from the command line, else the environment, else their defaults; a bad one
    (or an unknown FABRIC_CI_EMULATOR_ variable) is the parser's error: one line, exit 2."""
    parser = parser or _parser(PROG)
    given = vars(parser.parse_args(argv))
    known = {option.variable for option in OPTIONS}
    unknown = sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)
    if unknown:
        parser.error(UNKNOWN_VARIABLE.format(names=", ".join(unknown), known=", ".join(sorted(known))))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        text = environ.get(option.variable, "").strip()  # empty is unset, as an empty input is
        if option.dest in given:
            values[option.dest], sources[option.dest] = given[option.dest], option.flag
        elif text:
            try:
                values[option.dest] = option.from_text(text)
            except argparse.ArgumentTypeError as error:
                parser.error(f"{option.variable}: {error}")
            sources[option.dest] = option.variable
        else:
            values[option.dest], sources[option.dest] = option.default, option.flag
    return Resolved(values, sources)


def _writable_folder_error(flag: str, path: Path) -> str | None:
    """Why `path` cannot be (made into) a folder we write to, or None. Nothing is created."""
    if path.exists() and not path.is_dir():
        return f"{flag} {path} is a file, not a folder: choose a folder (it is created if missing)"
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{flag} {path} is inside {existing}, which is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{flag} {path} is not writable ({existing} does not let you create files): choose another folder"
    return None


def _shown(path: str) -> str:
    """`path` relative to the working directory when it is inside it (.fabric-ci-emulator/ca.pem),
    else as it is: an absolute path of this machine names nothing inside a container action, whose
    workspace is mounted at /github/workspace, while a relative one names the same file there.
    Not relative to the root (the working directory of a container without WORKDIR): everything
    is inside it, and "github/workspace/x" would mislead more than "/github/workspace/x"."""
    try:
        cwd = Path.cwd().resolve()
        return path if cwd == Path(cwd.anchor) else str(Path(path).relative_to(cwd))
    except (ValueError, OSError):  # outside it, or no working directory (deleted)
        return path


def _shown_inputs(inputs: Mapping[str, str]) -> dict[str, str]:
    return {name: _shown(value) if name in _PATH_INPUTS else value for name, value in inputs.items()}


# The banner's profile name: not `default`, so a real tenant's profile can be the default one.
EMULATOR_PROFILE = "emulator"


def banner(emulator: Emulator) -> str:
    inputs = _shown_inputs(emulator.inputs())
    options = " ".join(f"--{name} {value}" for name, value in inputs.items())
    with_lines = "\n".join(f"    {name}: {value}" for name, value in inputs.items())
    address = emulator.listen_address
    bound = f"[{address}]:{emulator.port}" if ":" in address else f"{address}:{emulator.port}"
    where = emulator.url if emulator.url == f"https://{bound}" else f"{bound} as {emulator.url}"
    return (
        f"fabric-ci emulator listening on {where} (Fabric API: {emulator.api_base_url})\n"
        f"Power BI API: {emulator.powerbi_base_url} (same tenant: api powerbi, api-base-url this URL)\n"
        f"\nPoint fabric-ci at it with these options:\n  {options}\n"
        f"\nor, in a GitHub workflow step:\n  with:\n{with_lines}\n"
        f"\n{profile_text(emulator)}\n"
        f"\n{_other_sign_ins(emulator)}\n"
        f'\nDemo pipeline: "{seed.DEMO_PIPELINE_NAME}" (Development -> Test -> Production)\n'
        "Ctrl+C to stop."
    )


def profile_text(emulator: Emulator) -> str:
    """A profile for `fabric-ci.toml`, so that a terminal's commands need only what to deploy.

    It holds the emulator's client secret (a well-known one, but a secret input all the same), so
    it comes with the `chmod 600` that fabric-ci asks of any profile holding a secret.
    """
    table = "\n".join(f"  {name} = {json.dumps(value)}" for name, value in _shown_inputs(emulator.inputs()).items())
    return (
        "Or save this as ~/.config/fabric-ci/fabric-ci.toml (or $XDG_CONFIG_HOME/fabric-ci/), then chmod 600 it:\n"
        f"  [profiles.{EMULATOR_PROFILE}]\n{table}\n"
        f'and run: fabric-ci deploy-all --profile {EMULATOR_PROFILE} --pipeline "{seed.DEMO_PIPELINE_NAME}" '
        "--source-stage Development"
    )


def _other_sign_ins(emulator: Emulator) -> str:
    """One line per sign-in method besides the secret: what differs from the inputs above."""
    shown = _shown_inputs(emulator.inputs())
    lines = ["Other sign-in methods (inputs that differ from the ones above; environment variables in capitals):"]
    for method in (m for m in SIGN_IN_METHODS if m != "secret"):
        sign_in = emulator.sign_in(method)
        parts = [
            f"{name}: {value}" for name, value in _shown_inputs(sign_in.inputs).items() if shown.get(name) != value
        ]
        parts += [f"{name}={value}" for name, value in sign_in.environment.items()]
        lines.append(f"  {method:<18} " + "  ".join(parts))
    return "\n".join(lines)


def ready_details(emulator: Emulator) -> dict[str, Any]:
    """What --ready-file holds. Paths of the state folder's files as the banner shows them (relative
    to the working directory when inside it); `state-dir` is the folder's absolute path, for
    readers elsewhere."""
    return {
        **_shown_inputs(emulator.inputs()),
        "url": emulator.url,
        "state-dir": str(Path(emulator.ca_path).parent),
        "sign-in": {
            method: {"inputs": _shown_inputs(sign_in.inputs), "environment": sign_in.environment}
            for method in SIGN_IN_METHODS
            for sign_in in [emulator.sign_in(method)]
        },
    }


def _write_ready_file(path: Path, emulator: Emulator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary name and renamed, so a waiting reader never sees half a file.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(ready_details(emulator), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None, prog: str = PROG) -> int:
    """Run the emulator until Ctrl+C or SIGTERM; 0, or 2 when it cannot start (after one line saying why).

    `environ` (default os.environ) holds the FABRIC_CI_EMULATOR_ variables.
    """
    parser = _parser(prog)
    resolved = resolve_options(argv, os.environ if environ is None else environ, parser)
    values, sources = resolved.values, resolved.sources
    state_dir = Path(values["state_dir"]).resolve()
    problem = _writable_folder_error(sources["state_dir"], state_dir)
    if problem is None and values["ready_file"]:
        ready_file = Path(values["ready_file"]).resolve()
        if ready_file.is_dir():
            problem = f"{sources['ready_file']} {ready_file} is a folder: give the name of a file to write"
        else:
            problem = _writable_folder_error(f"{sources['ready_file']}'s folder", ready_file.parent)
    if problem is not None:
        parser.error(problem)
    try:
        emulator = Emulator(
            EmulatorConfig(
                host=values["host"],
                hostnames=tuple(values["hostname"]),
                port=values["port"],
                state_dir=state_dir,
                operation_seconds=values["operation_seconds"],
                deploy_retry_after=values["deploy_retry_after"],
                retry_after=values["retry_after"],
                page_size=values["page_size"],
                assertion_lifetime_seconds=values["assertion_lifetime"],
                github_subject=values["github_subject"],
                azure_devops_subject=values["azure_devops_subject"],
                federated_subjects=frozenset(values["federated_subject"] or seed.FEDERATED_SUBJECTS),
                log_requests=not values["quiet"],
            )
        )
    except ValueError as error:  # a setting the flags' own checks let through, such as an empty subject
        parser.error(str(error))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
    try:
        emulator.start()
    except PortInUse as error:
        print(
            f"{prog}: port {error.port} on {error.host} is in use (another emulator?); choose another "
            f"{sources['port']} or stop it",
            file=sys.stderr,
        )
        return 2
    except StartError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    try:
        if not is_loopback(emulator.listen_address):
            print(NETWORK_WARNING.format(prog=prog, address=emulator.listen_address), file=sys.stderr, flush=True)
        print(banner(emulator), flush=True)
        if values["ready_file"]:
            _write_ready_file(Path(values["ready_file"]), emulator)
        while not stop.wait(0.5):
            pass
        print(f"{prog} stopped.", flush=True)
    finally:
        emulator.stop()
    return 0


def script_main() -> int:
    """The `fabric-ci-emulator` console script: `fabric-ci emulator` under its own name."""
    return main(prog=SCRIPT_PROG)
