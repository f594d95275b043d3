"""`python -m fabric_ci emulator` as real processes: bad flags refused in one line, a second emulator on a
taken port leaving the first one alone, and a lost answer over the process's own TLS socket."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fabric_ci.emulator import main
from fabric_ci.emulator.seed import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEMO_PIPELINE_ID,
    DEV_STAGE_ID,
    FABRIC_SCOPE,
    TENANT_ID,
    TEST_STAGE_ID,
)

from .helpers import wait_for_ready_file

EMULATOR = [sys.executable, "-m", "fabric_ci", "emulator", "--quiet"]


@dataclass
class RunningEmulator:
    process: subprocess.Popen[str]
    state_dir: Path
    details: dict[str, Any]

    @property
    def port(self) -> int:
        return int(self.details["url"].rsplit(":", 1)[1])

    def client(self) -> httpx.Client:
        return httpx.Client(verify=ssl.create_default_context(cafile=self.details["ca-bundle"]), timeout=10)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulator process for the module, on a free port, with its ready file read."""
    folder = tmp_path_factory.mktemp("first")
    ready = folder / "ready.json"
    process = subprocess.Popen(
        [*EMULATOR, "--state-dir", str(folder / "state"), "--ready-file", str(ready), "--operation-seconds", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield RunningEmulator(process, folder / "state", wait_for_ready_file(process, ready))
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_a_second_emulator_on_a_taken_port_exits_2_and_leaves_the_first_alone(
    running: RunningEmulator, tmp_path: Path
) -> None:
    """The second process says the port is in use in one line and exits 2; the first's ca.pem and service live on."""
    state_files = {path.name: path.read_bytes() for path in running.state_dir.iterdir()}
    second = subprocess.run(
        [*EMULATOR, "--port", str(running.port), "--state-dir", str(running.state_dir)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert second.returncode == 2
    assert second.stderr == (
        f"fabric-ci emulator: port {running.port} on 127.0.0.1 is in use (another emulator?); "
        "choose another --port or stop it\n"
    )
    assert second.stdout == ""
    assert {path.name: path.read_bytes() for path in running.state_dir.iterdir()} == state_files
    with running.client() as http:
        assert http.get(f"{running.details['url']}/_emulator/inject").status_code == 200
    assert running.process.poll() is None


def test_a_lost_deploy_answer_over_the_process_socket_still_starts_the_deployment(running: RunningEmulator) -> None:
    """Injected through the control API, "lost" makes the process create the deployment and close unanswered."""
    url = running.details["url"]
    with running.client() as http:
        token = http.post(
            f"{url}/{TENANT_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": FABRIC_SCOPE,
            },
        ).json()["access_token"]
        rule = {"path_regex": "/deploy$", "count": 1, "kind": "lost", "method": "POST"}
        assert http.post(f"{url}/_emulator/inject", json=rule).status_code == 200
        with pytest.raises(httpx.TransportError):
            http.post(
                f"{url}/v1/deploymentPipelines/{DEMO_PIPELINE_ID}/deploy",
                json={"sourceStageId": DEV_STAGE_ID, "targetStageId": TEST_STAGE_ID},
                headers={"Authorization": f"Bearer {token}"},
            )
        [deployment] = http.get(f"{url}/_emulator/deployments").json()["value"]
        logged = http.get(f"{url}/_emulator/requests").json()["value"]
    deploy = next(r for r in logged if r["operation"] == "DeploymentPipelines_DeployStageContent")
    assert (deploy["status"], deploy["fault"], deploy["answered"]) == (202, "lost", False)
    assert deploy["responseHeaders"]["deployment-id"] == deployment["id"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "-1"], "argument --port: expected a port number from 0 to 65535 (0: any free port), got '-1'"),
        (
            ["--port", "65536"],
            "argument --port: expected a port number from 0 to 65535 (0: any free port), got '65536'",
        ),
        (["--port", "http"], "argument --port: expected a port number from 0 to 65535 (0: any free port), got 'http'"),
        (
            ["--operation-seconds", "-2"],
            "argument --operation-seconds: expected a number of seconds, at least 0, got '-2'",
        ),
        (
            ["--operation-seconds", "inf"],
            "argument --operation-seconds: expected a number of seconds, at least 0, got 'inf'",
        ),
        (
            ["--deploy-retry-after", "-1"],
            "argument --deploy-retry-after: expected a whole number, at least 0, got '-1'",
        ),
        (["--retry-after", "1.5"], "argument --retry-after: expected a whole number, at least 0, got '1.5'"),
        (["--page-size", "0"], "argument --page-size: expected a whole number, at least 1, got '0'"),
        (["--assertion-lifetime", "0"], "argument --assertion-lifetime: expected a whole number, at least 1, got '0'"),
    ],
)
def test_bad_numeric_flags_are_refused_in_one_line(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad number is an argparse error (exit 2) naming the flag and what it takes; nothing is written."""
    with pytest.raises(SystemExit) as exited:
        main([*flags, "--state-dir", str(tmp_path / "state")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"fabric-ci emulator: error: {message}"
    assert not (tmp_path / "state").exists()


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--state-dir naming a file, or a path inside one, is refused before anything starts."""
    file = tmp_path / "ca.pem"
    file.write_text("not a folder")
    for state_dir, message in [
        (file, f"--state-dir {file} is a file, not a folder: choose a folder (it is created if missing)"),
        (file / "sub", f"--state-dir {file / 'sub'} is inside {file}, which is a file, not a folder"),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(["--state-dir", str(state_dir)])
        assert exited.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"fabric-ci emulator: error: {message}"


def test_a_state_dir_that_is_not_writable_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --state-dir whose nearest existing folder denies writing is refused, naming that folder."""
    # os.access is replaced because tests may run as root, for whom permission bits do not apply.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--state-dir", str(tmp_path / "state")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"fabric-ci emulator: error: --state-dir {tmp_path / 'state'} is not writable "
        f"({tmp_path} does not let you create files): choose another folder"
    )
