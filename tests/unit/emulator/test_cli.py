"""`python -m fabric_ci.emulator` as a process: banner, ready file, control API, clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fabric_ci.emulator import main
from fabric_ci.emulator.seed import CLIENT_SECRET, DEMO_PIPELINE_NAME, TENANT_ID

from .helpers import wait_for_ready_file


def test_refuses_a_host_name_as_the_address_to_listen_on(capsys: pytest.CaptureFixture[str]) -> None:
    """--host takes an IP address; a name is refused, pointing at --hostname, before anything listens."""
    with pytest.raises(SystemExit) as exited:
        main(["--host", "emulator"], environ={})
    assert exited.value.code == 2
    assert "the names clients use go in --hostname" in capsys.readouterr().err


def test_runs_writes_the_ready_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The process writes the ready file (all sign-in methods) and banner, serves the control API, stops on SIGTERM."""
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fabric_ci.emulator",
            "--state-dir",
            str(tmp_path / "state"),
            "--ready-file",
            str(ready),
            "--operation-seconds",
            "0.5",
            "--assertion-lifetime",
            "30",
            "--github-subject",
            "repo:contoso/fabric-releases:environment:Production",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        details = wait_for_ready_file(process, ready)
        assert details["tenant-id"] == TENANT_ID
        assert details["ca-bundle"] == str(tmp_path / "state" / "ca.pem")
        assert details["api-base-url"] == details["url"] + "/v1"
        assert set(details["sign-in"]) >= {"certificate", "oidc-github", "managed-identity", "user-password"}
        certificate = details["sign-in"]["certificate"]["inputs"]["client-certificate"]
        assert certificate == str(tmp_path / "state" / "client-certificate.pem")
        assert Path(certificate).is_file()
        context = ssl.create_default_context(cafile=details["ca-bundle"])
        with httpx.Client(verify=context) as http:
            configured = http.post(f"{details['url']}/_emulator/configure", json={"fail_items": ["Sales Model"]})
            assert configured.json()["fail_items"] == ["Sales Model"]
            assert configured.json()["assertion_lifetime_seconds"] == 30
            assert configured.json()["github_subject"] == "repo:contoso/fabric-releases:environment:Production"
            # The control API's own requests are not logged.
            assert http.get(f"{details['url']}/_emulator/requests").json() == {"value": []}
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "warning" not in stderr  # on loopback, nothing is reachable from the network
    assert f"--client-secret {CLIENT_SECRET}" in stdout
    assert "client-certificate.pfx" in stdout
    assert "ACTIONS_ID_TOKEN_REQUEST_URL=" in stdout
    assert f"tenant-id: {TENANT_ID}" in stdout
    assert DEMO_PIPELINE_NAME in stdout
    assert "Ctrl+C to stop" in stdout
