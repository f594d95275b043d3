"""Running a packaged Azure DevOps task the way the agent runs it, for end-to-end tests and the benchmark.

The task folders are taken out of the built vsix (`make vsix`), and each step is `node index.js` with
what the agent gives a task process: `INPUT_*` for the inputs, `ENDPOINT_*` for the service
connections named by the inputs and for `SystemVssConnection`, `SYSTEM_OIDCREQUESTURI`,
`AGENT_TEMPDIRECTORY`, `AGENT_TOOLSDIRECTORY` and `TF_BUILD=True`
(azure-pipelines-agent's handlers; the shared docs' runner-protocols.md). The agent reads logging
commands from the step's stdout, so the step's results are read back from the `##vso[` lines here.

`PackageIndex` serves the wheels `make` downloaded (.cache/wheelhouse) as a PEP 503 index on loopback,
so that the task's `runtime: python` really creates a venv and really pip-installs fabric-ci's
dependencies, by hash, without a test reaching PyPI.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fabric_ci import __version__
from tests.support.agent_commands import agent_parse

ROOT = Path(__file__).resolve().parents[2]
VSIX = ROOT / "dist" / f"fabric-ci-{__version__}.vsix"
WHEELHOUSE = ROOT / ".cache" / "wheelhouse"
# What an agent's task process must not inherit from the test run (a CI system's own variables).
_SHADOW = 'raise SystemExit("{module} of the pipeline\'s repository was imported by the task")\n'
_FOREIGN = ("INPUT_", "ENDPOINT_", "SECRET_", "GITHUB_", "RUNNER_", "FABRIC_CI_", "SYSTEM_", "AGENT_", "BUILD_", "PIP_")


@dataclass(frozen=True)
class LoggingCommand:
    name: str  # e.g. task.setvariable
    properties: dict[str, str]
    message: str


def logging_commands(stdout: str) -> list[LoggingCommand]:
    """Every logging command in the output, read as the agent reads it (agent_commands.py)."""
    found = []
    for line in stdout.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parsed = agent_parse(line)
        if parsed is not None:
            found.append(LoggingCommand(*parsed))
    return found


@dataclass
class TaskRun:
    returncode: int
    stdout: str
    stderr: str
    temp_dir: Path
    commands: list[LoggingCommand] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, str]:
        return {
            c.properties["variable"]: c.message
            for c in self.commands
            if c.name == "task.setvariable" and c.properties.get("isOutput") == "true"
        }

    def issues(self, kind: str) -> list[str]:
        # task-lib writes `task.issue`, fabric-ci's runner `task.logissue`: the agent takes both as the same.
        names = ("task.logissue", "task.issue")
        return [c.message for c in self.commands if c.name in names and c.properties.get("type") == kind]

    @property
    def errors(self) -> list[str]:
        return self.issues("error")

    @property
    def result(self) -> str | None:
        """The step's result as the agent records it: the last task.complete's, and Failed (with an extra
        "Exit code N returned from process" error) whenever node exits non-zero."""
        completes = [c for c in self.commands if c.name == "task.complete"]
        reported = completes[-1].properties.get("result") if completes else None
        return "Failed" if self.returncode != 0 else reported

    @property
    def summaries(self) -> list[Path]:
        return [Path(c.message) for c in self.commands if c.name == "task.uploadsummary"]


def extract_tasks(destination: Path) -> Path:
    """The vsix's task folders, unpacked as the agent unpacks a downloaded task."""
    if not VSIX.is_file():
        raise FileNotFoundError(f"{VSIX} is missing: `make vsix` builds it (make test does)")
    with zipfile.ZipFile(VSIX) as vsix:
        vsix.extractall(destination)
    return destination


@dataclass(frozen=True)
class Connection:
    """A service connection as the agent hands it to a task: id, scheme, parameters, data."""

    id: str
    scheme: str
    parameters: dict[str, str]
    data: dict[str, str] = field(default_factory=dict)
    url: str = "https://management.azure.com/"

    def environment(self) -> dict[str, str]:
        # The agent names the variables by the endpoint's Guid.ToString() (lower case), the job's own
        # connection SYSTEMVSSCONNECTION; parameter and data keys upper-cased (Handler.cs).
        key = self.id.lower() if self.id.lower() != "systemvssconnection" else "SYSTEMVSSCONNECTION"
        env = {
            f"ENDPOINT_URL_{key}": self.url,
            f"ENDPOINT_AUTH_{key}": json.dumps({"parameters": self.parameters, "scheme": self.scheme}),
            f"ENDPOINT_AUTH_SCHEME_{key}": self.scheme,
        }
        env.update({f"ENDPOINT_AUTH_PARAMETER_{key}_{k.upper()}": v for k, v in self.parameters.items()})
        env.update({f"ENDPOINT_DATA_{key}_{k.upper()}": v for k, v in self.data.items()})
        return env


def system_vss_connection(access_token: str, collection_uri: str) -> Connection:
    return Connection("SystemVssConnection", "OAuth", {"AccessToken": access_token}, url=collection_uri)


def agent_environment(
    task_dir: Path,
    inputs: Mapping[str, str],
    *,
    temp_dir: Path,
    tools_dir: Path,
    connections: tuple[Connection, ...] = (),
    variables: Mapping[str, str] | None = None,
    index_url: str | None = None,
) -> dict[str, str]:
    """The environment of a task process: the machine's, less any CI system's, plus the agent's.

    Inputs as the agent sets them (TaskRunner.cs): one INPUT_ variable for EVERY input of task.json,
    its defaultValue when the step does not give it, and a `filePath` input left empty rooted at the
    sources directory, as the agent does; a test is no gentler than the agent."""
    sources = temp_dir.parent / "s"
    sources.mkdir(parents=True, exist_ok=True)
    # The agent runs a task in the checked-out repository: a repository's own modules must never
    # replace the core's (python -m puts the working directory first on sys.path unless told not to).
    for module in ("httpx.py", "msal.py", "fabric_ci.py"):
        (sources / module).write_text(_SHADOW.format(module=module), encoding="utf-8")
    task = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
    values: dict[str, str] = {}
    for spec in task["inputs"]:
        value = inputs.get(spec["name"], str(spec.get("defaultValue", "")))
        if spec["type"] == "filePath" and not value:
            value = str(sources)
        values[spec["name"]] = value
    unknown = set(inputs) - set(values)
    assert not unknown, f"not inputs of {task['name']}: {sorted(unknown)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
    env.update({f"INPUT_{name.replace('.', '_').replace(' ', '_').upper()}": v for name, v in values.items()})
    for connection in connections:
        env.update(connection.environment())
    env.update(
        TF_BUILD="True",
        AGENT_TEMPDIRECTORY=str(temp_dir),
        AGENT_TOOLSDIRECTORY=str(tools_dir),
        AGENT_OS={"posix": "Linux", "nt": "Windows_NT"}.get(os.name, "Linux"),
        BUILD_SOURCESDIRECTORY=str(sources),
        SYSTEM_DEFAULTWORKINGDIRECTORY=str(sources),
    )
    if index_url:
        # Only this index: not the machine's pip configuration, which may name other indexes.
        env.update(PIP_INDEX_URL=index_url, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(variables or {})
    return env


def base_python() -> str:
    """The interpreter the project's venv was made from: the wheelhouse holds wheels for it (its ABI),
    so the tasks are given it as `pythonPath` rather than whatever `python3` is on PATH."""
    return os.path.realpath(sys.executable)


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is needed to run the Azure DevOps tasks"
    return node


def run_task(task_dir: Path, env: Mapping[str, str], *, timeout: float = 300) -> TaskRun:
    """The task run to its end, in the sources directory as the agent runs it."""
    proc = subprocess.run(
        [_node(), str(task_dir / "index.js")],
        env=dict(env),
        cwd=env["BUILD_SOURCESDIRECTORY"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return TaskRun(
        proc.returncode, proc.stdout, proc.stderr, Path(env["AGENT_TEMPDIRECTORY"]), logging_commands(proc.stdout)
    )


def start_task(task_dir: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [_node(), str(task_dir / "index.js")],
        env=dict(env),
        cwd=env["BUILD_SOURCESDIRECTORY"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _normalised(project: str) -> str:
    return re.sub(r"[-_.]+", "-", project).lower()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def package_index(root: Path) -> Iterator[str]:
    """A PEP 503 simple index of the wheelhouse on 127.0.0.1; yields its URL.

    http.server's directory listings are the index pages: one folder per normalised project name
    holding its wheels, which is all pip reads from a simple index."""
    files = sorted(WHEELHOUSE.glob("*.whl"))
    if not files:
        raise FileNotFoundError(f"no wheels in {WHEELHOUSE}: `make` downloads them (make test does)")
    simple = root / "simple"
    for wheel in files:
        project = simple / _normalised(wheel.name.split("-", 1)[0])
        project.mkdir(parents=True, exist_ok=True)
        (project / wheel.name).symlink_to(wheel)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/simple/"
    finally:
        server.shutdown()
        server.server_close()
