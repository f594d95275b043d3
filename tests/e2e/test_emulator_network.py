"""`fabric-ci-emulator` as a service container runs it: a real process configured by environment
alone, bound to every interface and reached by host name; fabric-ci, in the same working directory,
deploys through it with the ready file's inputs (a relative ca-bundle). Traffic goes to loopback only:
the first host name is localhost, so the URLs the emulator hands out lead back over loopback."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from fabric_ci.emulator.seed import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEMO_PIPELINE_ID,
    DEV_STAGE_ID,
    FABRIC_SCOPE,
    TENANT_ID,
    TEST_STAGE_ID,
)
from tests.support.fabric_spec import validate_response
from tests.unit.emulator.helpers import wait_for_ready_file

from .conftest import parse_output_file, step_env

SCRIPT = Path(sys.executable).parent / "fabric-ci-emulator"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - as in a container, the point of the test


@dataclass
class Service:
    process: subprocess.Popen[str]
    workspace: Path
    details: dict[str, Any]

    @property
    def port(self) -> int:
        return int(self.details["url"].rsplit(":", 1)[1])

    def client(self) -> httpx.Client:
        """A client that trusts the CA by the relative path the ready file gives, from the workspace."""
        ca = self.workspace / self.details["ca-bundle"]
        return httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10)

    def stop(self) -> tuple[str, str]:
        """Stop it as `docker stop` does (SIGTERM); its stdout and stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        stdout, stderr = self.process.communicate(timeout=10)
        return stdout, stderr


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The emulator started by its console script with its whole configuration in the environment."""
    assert SCRIPT.is_file(), f"{SCRIPT} is missing: install the project (pip install -e .) to get the script"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FABRIC_CI_")}
    environment.update(
        PYTHONUNBUFFERED="1",
        FABRIC_CI_EMULATOR_HOST=EVERY_INTERFACE,
        FABRIC_CI_EMULATOR_HOSTNAME="localhost,emulator",
        FABRIC_CI_EMULATOR_PORT="0",
        FABRIC_CI_EMULATOR_STATE_DIR=".fabric-ci-emulator",
        FABRIC_CI_EMULATOR_READY_FILE=".fabric-ci-emulator/ready.json",
        FABRIC_CI_EMULATOR_OPERATION_SECONDS="0.5",
        FABRIC_CI_EMULATOR_RETRY_AFTER="1",
        FABRIC_CI_EMULATOR_DEPLOY_RETRY_AFTER="1",
        FABRIC_CI_EMULATOR_QUIET="true",
    )
    process = subprocess.Popen(
        [str(SCRIPT)],
        cwd=workspace,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Service(process, workspace, {})
    try:
        running.details = wait_for_ready_file(process, workspace / ".fabric-ci-emulator" / "ready.json")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def test_the_service_hands_out_its_first_hostname_and_a_relative_ca_bundle(service: Service) -> None:
    """Configured by environment alone: URLs name https://localhost:<port>, ca-bundle is relative, with a warning."""
    root = f"https://localhost:{service.port}"
    details = service.details
    assert details["url"] == root
    assert (details["api-base-url"], details["authority-host"]) == (f"{root}/v1", root)
    assert details["ca-bundle"] == ".fabric-ci-emulator/ca.pem"
    assert details["state-dir"] == str((service.workspace / ".fabric-ci-emulator").resolve())
    github = details["sign-in"]["oidc-github"]["environment"]["ACTIONS_ID_TOKEN_REQUEST_URL"]
    assert github.startswith(f"{root}/_github/")
    imds = details["sign-in"]["managed-identity"]["environment"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    assert imds == root
    stdout, stderr = service.stop()
    assert service.process.returncode == 0
    assert stderr.splitlines()[0] == (
        "fabric-ci-emulator: warning: listening on 0.0.0.0, so it is reachable from the network, and it hands "
        "out tokens to anyone who asks: it is a test tool, for networks where every client is yours"
    )
    assert stdout.startswith(f"fabric-ci emulator listening on 0.0.0.0:{service.port} as {root} ")
    assert "    ca-bundle: .fabric-ci-emulator/ca.pem\n" in stdout


def test_tls_verifies_for_each_hostname_and_loopback_against_ca_pem(service: Service) -> None:
    """The certificate names localhost, emulator and 127.0.0.1 (not 0.0.0.0); each verifies against ca.pem."""
    context = ssl.create_default_context(cafile=str(service.workspace / ".fabric-ci-emulator" / "ca.pem"))
    for name in ("localhost", "emulator", "127.0.0.1"):
        with (
            socket.create_connection(("127.0.0.1", service.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "emulator"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_discovery_and_the_lro_location_lead_back_to_the_first_hostname(service: Service) -> None:
    """The token endpoint and the deploy answer's Location name https://localhost:<port>, and answer there."""
    root = f"https://localhost:{service.port}"
    with service.client() as http:
        discovery = http.get(f"{root}/{TENANT_ID}/v2.0/.well-known/openid-configuration").json()
        assert discovery["token_endpoint"] == f"{root}/{TENANT_ID}/oauth2/v2.0/token"
        token = http.post(
            discovery["token_endpoint"],
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": FABRIC_SCOPE,
            },
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        deployed = http.post(
            f"{service.details['api-base-url']}/deploymentPipelines/{DEMO_PIPELINE_ID}/deploy",
            json={"sourceStageId": DEV_STAGE_ID, "targetStageId": TEST_STAGE_ID},
            headers=bearer,
        )
        assert deployed.status_code == 202, deployed.text
        operation = deployed.headers["x-ms-operation-id"]
        assert deployed.headers["Location"] == f"{root}/operations/{operation}"
        state = http.get(f"{service.details['api-base-url']}/operations/{operation}", headers=bearer)
    validate_response("GET", f"/v1/operations/{operation}", state.status_code, state.json(), dict(state.headers))


def test_fabric_ci_deploys_through_it_with_the_ready_files_inputs(service: Service, tmp_path: Path) -> None:
    """A GitHub step in the same workspace, given the ready file's inputs as they are, deploys and waits."""
    inputs = {
        **service.details["sign-in"]["secret"]["inputs"],
        "pipeline": "Sales Analytics",
        "source-stage": "Development",
        "target-stage": "Test",
    }
    step = tmp_path / "step"
    step.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "fabric_ci", "deploy-all"],
        cwd=service.workspace,  # the relative ca-bundle resolves here, as in a container action's workspace
        env=step_env(inputs, step),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = parse_output_file((step / "github_output").read_text())
    assert outputs["status"] == "Succeeded"
    assert len(json.loads(outputs["deployed-items"])) == 10
