"""One fuzz case, run in-process through the real entry point, and the properties every run must have.

`fabric_ci.cli.main(argv)` runs as a terminal (flags in, stdout and stderr captured) or as a GitHub
Actions step (GITHUB_ACTIONS=true, INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files),
against an emulator in the same process. The emulator and fabric-ci share a virtual clock whose
sleeps last a few milliseconds, so retries, polling and timeouts cost almost nothing; a network guard
refuses every connection and name lookup that is not loopback.
"""

from __future__ import annotations

import _thread
import contextlib
import html
import io
import json
import os
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabric_ci import cli
from fabric_ci.clock import Clock
from fabric_ci.commands import COMMANDS
from fabric_ci.emulator import Emulator, RequestRecord, seed
from fabric_ci.errors import InputErrors
from fabric_ci.models.inputs import SECRET_INPUTS, input_names, parse_inputs
from fabric_ci.runners.local import secret_env_var

from .strategies import (
    EMULATOR_API,
    EMULATOR_CA,
    EMULATOR_CERTIFICATE,
    EMULATOR_HOST,
    EMULATOR_PFX,
    LATEST_OPERATION,
    NOT_PEM,
    SECRET_MARK,
    Case,
)

EXAMPLE_SECONDS = 60.0  # a run still going after this is cancelled (SIGINT) and fails its case
# Variables a case sets or a runner reads: cleared before each case, so no case sees another's.
_CASE_VARIABLES = ("INPUT_", "GITHUB_", "RUNNER_", "FABRIC_CI_", "ACTIONS_ID_TOKEN_", "SYSTEM_", "AZURE")
# Requests that sign in rather than change anything.
_SIGN_IN_OPERATIONS = ("Entra_", "GitHub_", "AzureDevOps_", "Imds_")
# What an error must name when it names no input: the service it could not use, or what failed there.
_SERVICE_WORDS = (
    "Entra",
    "API",
    "service",
    "Fabric",
    "Power BI",
    "deployment",
    "Deployment",
    "OIDC",
    "sign-in",
    "Sign-in",
    "token",
    "certificate",
    "pipeline",
    "stage",
    "workspace",
)
# Python's or pydantic's words, not fabric-ci's: an error that says them names no cause and no fix.
_INTERNAL_PHRASES = (
    "invalid literal for int()",
    "Exceeds the limit",
    "object has no attribute",
    "NoneType",
    "Input should be",
    "validation error for",
    "unexpected keyword argument",
    "not subscriptable",
    "positional argument",
)
# The emulator's own secrets: never to be seen in any output.
KNOWN_SECRETS = (
    seed.CLIENT_SECRET,
    seed.USER_PASSWORD,
    seed.CLIENT_CERTIFICATE_PASSWORD,
    seed.GITHUB_REQUEST_TOKEN,
    seed.AZURE_DEVOPS_ACCESS_TOKEN,
)


class VirtualTime:
    """Real time plus every second fabric-ci slept: a sleep lasts at most a few milliseconds for real.

    The emulator reads `wall`; during a case `time.time` is `wall` too (see `patched_wall_clock`), so
    that what msal signs (a client assertion's validity) and what the emulator checks agree.
    """

    REAL_SLEEP = 0.002

    def __init__(self) -> None:
        self._skipped = 0.0
        self._lock = threading.Lock()
        self._real_time = time.time
        self._real_monotonic = time.monotonic

    def monotonic(self) -> float:
        return self._real_monotonic() + self._skipped

    def wall(self) -> float:
        return self._real_time() + self._skipped

    def sleep(self, seconds: float) -> None:
        real = min(max(seconds, 0.0), self.REAL_SLEEP)
        time.sleep(real)
        self.skip(seconds - real)

    @contextlib.contextmanager
    def patched_wall_clock(self) -> Iterator[None]:
        time.time = self.wall
        try:
            yield
        finally:
            time.time = self._real_time

    def skip(self, seconds: float) -> None:
        with self._lock:
            self._skipped += max(seconds, 0.0)

    @property
    def clock(self) -> Clock:
        return Clock(self.monotonic, self.sleep)


class NetworkGuard:
    """Refuses every name lookup and connection to anything but loopback, and remembers the attempts."""

    LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self._getaddrinfo = socket.getaddrinfo
        self._connect = socket.socket.connect

    def _allowed(self, host: object) -> bool:
        return isinstance(host, str) and (host in self.LOOPBACK or host.startswith("127."))

    def install(self) -> None:
        guard = self

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not guard._allowed(host.decode() if isinstance(host, bytes) else host):
                guard.blocked.append(str(host))
                raise socket.gaierror(socket.EAI_NONAME, f"fuzz network guard: {host} is not loopback")
            return guard._getaddrinfo(host, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            host = address[0] if isinstance(address, tuple) else address
            if not guard._allowed(host):
                guard.blocked.append(str(host))
                raise ConnectionRefusedError(f"fuzz network guard: {host} is not loopback")
            guard._connect(sock, address)

        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = connect  # type: ignore[method-assign]

    def uninstall(self) -> None:
        socket.getaddrinfo = self._getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = self._connect  # type: ignore[method-assign]


@dataclass
class Outcome:
    status: int
    stdout: str
    stderr: str
    output_file: str = ""
    summary: str = ""
    requests: list[RequestRecord] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False


@contextlib.contextmanager
def case_environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(_CASE_VARIABLES):
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[Callable[[], bool]]:
    """Cancel the run as a CI runner would (SIGINT to the main thread) if it takes longer than `seconds`."""
    fired = threading.Event()

    def cancel() -> None:
        fired.set()
        _thread.interrupt_main()

    timer = threading.Timer(seconds, cancel)
    timer.daemon = True
    timer.start()
    try:
        yield fired.is_set
    finally:
        timer.cancel()


class Harness:
    """Runs cases against one emulator and counts them."""

    def __init__(self, emulator: Emulator, virtual_time: VirtualTime, workdir: Path) -> None:
        self.emulator = emulator
        self.time = virtual_time
        self.workdir = workdir
        self.cases = 0
        self.statuses: Counter[int] = Counter()
        self.not_pem = workdir / "not-a-certificate.pem"
        self.not_pem.write_text("not a certificate\n")

    # -- inputs -------------------------------------------------------------------------------------------

    def resolve(self, case: Case) -> tuple[dict[str, str], dict[str, str]]:
        """The case's inputs and environment with the emulator's addresses, files and ids filled in."""
        given = dict(case.inputs)
        method, api = given.pop("{sign-in}", "secret"), given.pop("{api}", "fabric")
        sign_in = self.emulator.sign_in(method, api)
        inputs = {**sign_in.inputs, **given}
        final_api = inputs.get("api", "fabric").strip().lower()
        latest = self.emulator.deployments
        fill = {
            EMULATOR_API: self.emulator.powerbi_base_url if final_api == "powerbi" else self.emulator.api_base_url,
            EMULATOR_HOST: self.emulator.url,
            EMULATOR_CA: self.emulator.ca_path,
            EMULATOR_CERTIFICATE: self.emulator.client_certificate_path,
            EMULATOR_PFX: self.emulator.client_pfx_path,
            LATEST_OPERATION: latest[-1].id if latest else "8d5c4c52-6c7e-4ab4-a6f1-000000000000",
            NOT_PEM: str(self.not_pem),
        }
        for name, value in inputs.items():
            for placeholder, actual in fill.items():
                value = value.replace(placeholder, actual)
            inputs[name] = value
        # Managed identity always goes to the emulator's IMDS, never to 169.254.169.254.
        environment = {"AZURE_POD_IDENTITY_AUTHORITY_HOST": self.emulator.url, **sign_in.environment}
        oidc = case.environment.get("{oidc}", "")
        if oidc:
            environment.update(self.emulator.sign_in(f"oidc-{oidc}", api).environment)
        return inputs, environment

    # -- running ------------------------------------------------------------------------------------------

    def _take_requests(self, started: float, ended: float) -> list[RequestRecord]:
        # The emulator logs a request after it has answered: wait until the log stops growing.
        state = self.emulator.state
        count = -1
        for _ in range(50):
            with state.lock:
                now = len(state.requests)
            if now == count:
                break
            count = now
            time.sleep(0.001)
        with state.lock:
            taken = list(state.requests)
            state.requests.clear()
        return [r for r in taken if started <= r.started_at <= ended]

    def run(self, case: Case) -> Outcome:
        """Run a case the way its runner runs: a GitHub step's INPUT_* variables, or a command line."""
        self.time.skip(120)  # two minutes between steps: earlier deployments have finished
        inputs, environment = self.resolve(case)
        argv = [case.command]
        if case.runner == "github":
            environment.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
            # What the step really gets: GitHub input ids are case-insensitive (`Pipeline` is `pipeline`).
            declared = input_names(COMMANDS[case.command].inputs)
            inputs = {n: environment[f"INPUT_{n.upper()}"] for n in declared if f"INPUT_{n.upper()}" in environment}
        else:
            for name, value in inputs.items():
                if case.secrets_from_environment and name in SECRET_INPUTS:
                    environment[secret_env_var(name)] = value
                elif name == "items" and case.repeat_items:
                    argv += [f"--items={line}" for line in value.split("\n")]
                else:
                    argv.append(f"--{name}={value}")
            if case.json_output:
                argv.append("--output=json")
        return self._execute(case.runner, argv, environment, inputs)

    def run_argv(self, case: Case, argv: list[str]) -> Outcome:
        """Run a bare command line (no inputs) in the case's runner."""
        return self._execute(case.runner, argv, {}, {})

    def _execute(self, runner: str, argv: list[str], environment: dict[str, str], inputs: dict[str, str]) -> Outcome:
        self.cases += 1
        with tempfile.TemporaryDirectory(dir=self.workdir) as folder:
            output, summary = Path(folder) / "github_output", Path(folder) / "step_summary"
            if runner == "github":
                output.touch()
                summary.touch()
                environment = {
                    **environment,
                    "GITHUB_ACTIONS": "true",
                    "CI": "true",
                    "GITHUB_OUTPUT": str(output),
                    "GITHUB_STEP_SUMMARY": str(summary),
                }
            out, err = io.StringIO(), io.StringIO()
            started = self.time.wall()
            with (
                self.time.patched_wall_clock(),
                case_environment(environment),
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
                watchdog(EXAMPLE_SECONDS) as timed_out,
            ):
                try:
                    status = cli.main(argv)
                except SystemExit as exit_:  # argparse refuses the command line
                    status = exit_.code if isinstance(exit_.code, int) else 2
            ended = self.time.wall()
            self.statuses[status] += 1
            if os.environ.get("FUZZ_LOG"):  # one line per case, to see what the generator reaches
                with open(os.environ["FUZZ_LOG"], "a", encoding="utf-8") as log:
                    first = (err.getvalue() or out.getvalue()).strip().splitlines()[-1:] or [""]
                    log.write(json.dumps([runner, argv[:1], status, first[0][:300]]) + "\n")
            return Outcome(
                status=status,
                stdout=out.getvalue(),
                stderr=err.getvalue(),
                output_file=output.read_text(encoding="utf-8") if output.exists() else "",
                summary=summary.read_text(encoding="utf-8") if summary.exists() else "",
                requests=self._take_requests(started, ended),
                argv=argv,
                inputs=inputs,
                timed_out=timed_out(),
            )


# --- reading what a run wrote ---------------------------------------------------------------------------------

_COMMAND = re.compile(r"^::(?P<name>[A-Za-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def _unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def _log_lines(stdout: str) -> Iterator[tuple[str, tuple[str, dict[str, str], str] | None]]:
    """Each line of the log, with the workflow command GitHub would act on (unescaped), if any."""
    stop_token = None
    for line in stdout.splitlines():
        match = _COMMAND.match(line.lstrip())
        if not match or (stop_token is not None and match["name"] != stop_token):
            yield line, None
            continue
        name = match["name"]
        if stop_token is not None:  # the token that turns commands back on
            stop_token = None
            yield line, None
            continue
        if name == "stop-commands":
            stop_token = match["data"]
        props = {}
        for pair in (match["props"] or "").split(","):
            if "=" in pair:
                key, value = pair.split("=", 1)
                props[key] = _unescape(value)
        yield line, (name, props, _unescape(match["data"]))


def workflow_commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands GitHub would act on: (name, properties, data), unescaped; none while stopped."""
    return [command for _, command in _log_lines(stdout) if command is not None and command[0] != "stop-commands"]


def output_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT read the way the runner reads it: heredocs (and `name=value` lines)."""
    values, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            if "=" in line:
                name, value = line.split("=", 1)
                values[name] = value
            i += 1
    return values


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def json_document(case: Case, outcome: Outcome) -> Any:
    if case.runner == "terminal" and case.json_output and outcome.stdout.strip():
        return json.loads(outcome.stdout)
    return None


def visible_texts(case: Case, outcome: Outcome) -> list[str]:
    """Everything a person or a later step can read, raw and decoded: the log without its masks, each
    workflow command unescaped, stderr, the outputs (raw and parsed), the summary (raw and as rendered),
    the JSON document's strings."""
    log = "\n".join(line for line, command in _log_lines(outcome.stdout) if not command or command[0] != "add-mask")
    texts = [log, outcome.stderr, outcome.output_file, outcome.summary]
    texts += [
        " ".join([*props.values(), data])
        for name, props, data in workflow_commands(outcome.stdout)
        if name != "add-mask"
    ]
    if outcome.output_file:
        texts += output_values(outcome.output_file).values()
    rendered = outcome.summary.replace("<br>", "\n").replace("\\|", "|").replace("\\\\", "\\")
    texts.append(html.unescape(rendered))
    document = json_document(case, outcome)
    if document is not None:
        texts += _strings(document)
    return texts


def secret_forms(secret: str) -> set[str]:
    """A secret, each of its lines, and the forms in which fabric-ci could change them before echoing."""
    forms = set()
    for part in {secret, *secret.splitlines()}:
        part = part.strip()
        if len(part) < 3:
            continue
        forms |= {part, part.lower(), part.upper(), repr(part)[1:-1], part[:12]}
    return {form for form in forms if len(form) >= 3}


def checked_secrets(inputs: dict[str, str]) -> list[str]:
    """The secrets of a run that can be looked for: distinctive ones (generated, or the emulator's), and
    the CI systems' request tokens, which are never to be printed either."""
    found = [inputs[name].strip() for name in SECRET_INPUTS if name in inputs]
    found = [value for value in found if value.startswith(SECRET_MARK) or value in KNOWN_SECRETS]
    return [*found, seed.GITHUB_REQUEST_TOKEN, seed.AZURE_DEVOPS_ACCESS_TOKEN]


# --- the properties -------------------------------------------------------------------------------------------


def inputs_alone_are_invalid(command: str, inputs: dict[str, str]) -> bool:
    """Whether validation alone (no network) refuses these inputs, as the runners hand them over."""
    model = COMMANDS[command].inputs
    names = input_names(model)
    given = {name: value.strip() for name, value in inputs.items() if name in names and value.strip()}
    try:
        parse_inputs(model, given)
    except InputErrors:
        return True
    return False


def error_reports(case: Case, outcome: Outcome) -> list[str]:
    """The errors the run wrote: ::error annotations (title and message), or `error:` lines on stderr."""
    if case.runner == "github":
        return [
            f"{props.get('title', '')}: {data}"
            for name, props, data in workflow_commands(outcome.stdout)
            if name == "error"
        ]
    lines = [line for line in outcome.stderr.splitlines() if line.startswith("error: ") or ": error: " in line]
    document = json_document(case, outcome)
    if document is not None and not document.get("ok", True):
        lines.append(f"{document['error']['title']}: {document['error']['message']}")
    return lines


def names_an_input_or_the_service(report: str, names: list[str]) -> bool:
    if re.search(r"Invalid input '([^']+)'|Input '([^']+)'", report):
        return True
    if ": error: " in report:  # argparse: "fabric-ci deploy-all: error: unrecognized arguments: --colour=..."
        return "--" in report or "argument" in report
    return any(name in report for name in names) or any(word in report for word in _SERVICE_WORDS)


def check(case: Case, outcome: Outcome) -> None:
    """Every property a run must have, whatever its inputs."""
    where = f"\nargv: {outcome.argv}\ninputs: {outcome.inputs}\nstdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    assert not outcome.timed_out, f"the run took more than {EXAMPLE_SECONDS} s and was cancelled{where}"
    assert outcome.status in (0, 1, 2), f"exit status {outcome.status}{where}"
    everything = [outcome.stdout, outcome.stderr, outcome.summary, outcome.output_file]
    assert not any("Traceback (most recent call last)" in text for text in everything), f"a traceback{where}"
    assert not any("bug in fabric-ci" in text for text in everything), f"fabric-ci reports a bug of its own{where}"
    names = input_names(COMMANDS[case.command].inputs)
    if outcome.status == 2:
        changes = [
            f"{r.method} {r.path}"
            for r in outcome.requests
            if r.method != "GET" and not r.operation.startswith(_SIGN_IN_OPERATIONS)
        ]
        assert not changes, f"exit 2 (nothing changed) after requests that change things: {changes}{where}"
        if inputs_alone_are_invalid(case.command, outcome.inputs):
            sent = [f"{r.method} {r.path}" for r in outcome.requests]
            assert not sent, f"inputs that validation refuses, yet requests were sent: {sent}{where}"
    if outcome.status != 0:
        reports = error_reports(case, outcome)
        assert reports, f"exit {outcome.status} without an error{where}"
        vague = [r for r in reports if not names_an_input_or_the_service(r, names)]
        assert not vague, f"errors that name neither an input nor the service: {vague}{where}"
        internal = [r for r in reports if any(phrase in r for phrase in _INTERNAL_PHRASES)]
        assert not internal, f"errors in Python's words rather than fabric-ci's: {internal}{where}"
    refused_by_argparse = outcome.status == 2 and "usage: fabric-ci" in outcome.stderr
    if case.runner == "terminal" and case.json_output and not refused_by_argparse:
        assert outcome.stdout.count("\n") == 1, f"--output json without exactly one document on stdout{where}"
        document = json.loads(outcome.stdout)
        assert document["ok"] is (outcome.status == 0), f"the document's ok disagrees with exit {outcome.status}{where}"
    if case.runner == "github" and outcome.status == 0:
        assert output_values(outcome.output_file), f"a step that succeeded wrote no outputs{where}"
    texts = visible_texts(case, outcome)
    for secret in checked_secrets(outcome.inputs):
        for form in secret_forms(secret):
            seen = [text for text in texts if form in text]
            assert not seen, f"the secret {secret!r} is visible as {form!r} in: {seen[0][:2000]!r}{where}"
