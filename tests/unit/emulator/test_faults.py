"""Injected faults seen by a real httpx client over TLS, and the Retry-After defaults of Microsoft's examples."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.seed import DEMO_PIPELINE_ID, DEV_STAGE_ID, TEST_STAGE_ID
from tests.support.emulator_client import EmulatorClient
from tests.support.fabric_spec import specs_dir

PIPELINE = f"/deploymentPipelines/{DEMO_PIPELINE_ID}"
DEPLOY = {"sourceStageId": DEV_STAGE_ID, "targetStageId": TEST_STAGE_ID}
EXAMPLES = "fabric/platform/examples"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator of the test's own, with Microsoft's defaults but short deployments."""
    with Emulator(EmulatorConfig(operation_seconds=0.5)) as emu:
        yield emu


@pytest.fixture
def api(emulator: Emulator) -> Iterator[EmulatorClient]:
    client = EmulatorClient(emulator)
    yield client
    client.close()


def last_record(emulator: Emulator, operation: str) -> dict[str, object]:
    return next(r.to_json() for r in reversed(emulator.requests) if r.operation == operation)


def example_header(example: str, status: str, header: str) -> str:
    document = json.loads((specs_dir() / EXAMPLES / example).read_text(encoding="utf-8"))
    return str(document["responses"][status]["headers"][header])


def test_reset_drops_the_connection_and_the_deploy_does_not_happen(emulator: Emulator, api: EmulatorClient) -> None:
    """A "reset" closes the connection with no answer before processing: no deployment, and a retry works."""
    emulator.inject(r"/deploy$", 1, kind="reset", method="POST")
    with pytest.raises(httpx.TransportError):
        api.call("POST", f"{PIPELINE}/deploy", DEPLOY)
    assert emulator.deployments == []
    record = last_record(emulator, "DeploymentPipelines_DeployStageContent")
    assert (record["status"], record["fault"], record["answered"]) == (0, "reset", False)
    assert api.call("POST", f"{PIPELINE}/deploy", DEPLOY).status_code == 202


def test_lost_answer_means_the_deployment_was_created_but_the_client_got_no_answer(
    emulator: Emulator, api: EmulatorClient
) -> None:
    """A "lost" deploy really starts the deployment, then the connection closes without the 202."""
    emulator.inject(r"/deploy$", 1, kind="lost", method="POST")
    with pytest.raises(httpx.TransportError):
        api.call("POST", f"{PIPELINE}/deploy", DEPLOY)
    [deployment] = emulator.deployments
    record = last_record(emulator, "DeploymentPipelines_DeployStageContent")
    assert (record["status"], record["fault"], record["answered"]) == (202, "lost", False)
    assert record["responseHeaders"]["deployment-id"] == deployment.id  # type: ignore[index]
    # What a client can do next: find its deployment among the pipeline's operations.
    listed = api.call("GET", f"{PIPELINE}/operations").json()["value"]
    assert deployment.id in [operation["id"] for operation in listed]


def test_slow_waits_the_delay_then_answers_normally(emulator: Emulator, api: EmulatorClient) -> None:
    """A "slow" rule holds the request for delay_seconds, then processes and answers it as usual."""
    emulator.inject(r"/deploy$", 1, kind="slow", delay_seconds=0.6)
    started = time.monotonic()
    response = api.call("POST", f"{PIPELINE}/deploy", DEPLOY)
    assert time.monotonic() - started >= 0.6
    assert response.status_code == 202
    assert len(emulator.deployments) == 1
    record = last_record(emulator, "DeploymentPipelines_DeployStageContent")
    assert (record["fault"], record["answered"]) == ("slow", True)


def test_token_expired_is_answered_although_the_token_is_valid(emulator: Emulator, api: EmulatorClient) -> None:
    """A "token_expired" rule answers 401 TokenExpired with WWW-Authenticate: Bearer; the same token works next."""
    emulator.inject(r"^/v1/deploymentPipelines$", 1, kind="token_expired")
    refused = api.call("GET", "/deploymentPipelines")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert refused.json()["errorCode"] == "TokenExpired"
    assert api.call("GET", "/deploymentPipelines").status_code == 200


def test_power_bi_paths_get_odata_error_bodies_for_injected_faults(emulator: Emulator) -> None:
    """Under /v1.0/myorg a token_expired or status fault answers in the OData error shape."""
    powerbi = EmulatorClient(emulator, api="powerbi")
    try:
        emulator.inject(r"^/v1\.0/myorg/pipelines$", 1, kind="token_expired")
        emulator.inject(r"^/v1\.0/myorg/pipelines$", 1, 503)
        expired = powerbi.call("GET", "/pipelines")
        unavailable = powerbi.call("GET", "/pipelines")
    finally:
        powerbi.close()
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "TokenExpired")
    assert (unavailable.status_code, unavailable.json()["error"]["code"]) == (503, "ServiceUnavailable")


def test_each_matching_request_uses_up_one_fault_and_other_methods_are_spared(
    emulator: Emulator, api: EmulatorClient
) -> None:
    """count=2 on GET breaks two GETs, not the POST in between, and the third GET is answered."""
    emulator.inject(r"^/v1/deploymentPipelines/[^/]+/stages$", 2, kind="lost", method="GET")
    with pytest.raises(httpx.TransportError):
        api.call("GET", f"{PIPELINE}/stages")
    assert api.call("POST", f"{PIPELINE}/deploy", DEPLOY).status_code == 202
    with pytest.raises(httpx.TransportError):
        api.call("GET", f"{PIPELINE}/stages")
    assert api.call("GET", f"{PIPELINE}/stages").status_code == 200
    assert emulator.injections == []


def test_retry_after_defaults_are_those_of_microsofts_examples(emulator: Emulator, api: EmulatorClient) -> None:
    """The deploy 202 says Retry-After as DeployAll.json does (30), a running operation's state as
    GetLongRunningOperationStateRunning.json does (20)."""
    emulator.configure(operation_seconds=30)
    accepted = api.call("POST", f"{PIPELINE}/deploy", DEPLOY)
    assert accepted.headers["Retry-After"] == example_header("deploymentPipelines/DeployAll.json", "202", "Retry-After")
    assert accepted.headers["Retry-After"] == "30"
    state = api.call("GET", f"/operations/{accepted.headers['x-ms-operation-id']}")
    running = example_header("platform/GetLongRunningOperationStateRunning.json", "200", "Retry-After")
    assert state.headers["Retry-After"] == running == "20"


def test_retry_after_settings_change_the_deploy_answer_and_the_operation_state_separately(
    emulator: Emulator, api: EmulatorClient
) -> None:
    """deploy_retry_after sets the deploy answer's Retry-After, retry_after the state's and injected 429s'."""
    emulator.configure(operation_seconds=30, deploy_retry_after=4, retry_after=2)
    accepted = api.call("POST", f"{PIPELINE}/deploy", DEPLOY)
    state = api.call("GET", f"/operations/{accepted.headers['x-ms-operation-id']}")
    emulator.inject(r"^/v1/deploymentPipelines$", 1, 429)
    throttled = api.call("GET", "/deploymentPipelines")
    assert (accepted.headers["Retry-After"], state.headers["Retry-After"]) == ("4", "2")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
