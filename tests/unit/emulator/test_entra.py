"""The Entra ID stand-in, driven by a real msal ConfidentialClientApplication over HTTPS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import msal
import pytest

from fabric_ci.emulator import Emulator, EmulatorConfig
from fabric_ci.emulator.seed import CLIENT_ID, CLIENT_SECRET, FABRIC_SCOPE
from tests.unit.emulator import helpers
from tests.unit.emulator.helpers import MsalHttp


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(operation_seconds=0.3)) as emu:
        yield emu


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_path)) as client:
        yield client


def app(
    emulator: Emulator, http: httpx.Client, *, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> msal.ConfidentialClientApplication:
    return helpers.app(emulator, MsalHttp(http, emulator), secret, client_id=client_id)


def test_msal_gets_a_token_that_the_fabric_api_accepts(emulator: Emulator, http: httpx.Client) -> None:
    """acquire_token_for_client works against the emulator and its token opens the Fabric API."""
    result = app(emulator, http).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    response = http.get(
        f"{emulator.api_base_url}/deploymentPipelines",
        headers={"Authorization": f"Bearer {result['access_token']}"},
    )
    assert response.status_code == 200


def test_wrong_secret_is_refused_like_entra(emulator: Emulator, http: httpx.Client) -> None:
    """A wrong secret comes back as msal's error dict with invalid_client and AADSTS7000215."""
    result = app(emulator, http, secret="wrong").acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215")


def test_unknown_client_is_refused_with_aadsts700016(emulator: Emulator, http: httpx.Client) -> None:
    """An unknown client id is refused with AADSTS700016."""
    result = app(emulator, http, client_id="00000000-0000-0000-0000-000000000000").acquire_token_for_client(
        scopes=[FABRIC_SCOPE]
    )
    assert result["error_codes"] == [700016]


def test_unknown_tenant_is_refused_with_aadsts90002(emulator: Emulator, http: httpx.Client) -> None:
    """The token endpoint refuses an unknown tenant with 400 and AADSTS90002."""
    response = http.post(
        f"{emulator.authority_host}/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": FABRIC_SCOPE,
        },
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


def test_wrong_scope_is_refused(emulator: Emulator, http: httpx.Client) -> None:
    """Only the Fabric and Power BI .default scopes are served; another scope is an invalid_scope error."""
    result = app(emulator, http).acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result["error"] == "invalid_scope"
    assert result["error_codes"] == [1002012]


def test_power_bi_scope_is_served(emulator: Emulator, http: httpx.Client) -> None:
    """The Power BI API's .default scope gets a token that opens the API like a Fabric one."""
    result = app(emulator, http).acquire_token_for_client(scopes=["https://analysis.windows.net/powerbi/api/.default"])
    assert "access_token" in result, result


def test_request_log_redacts_secrets_and_tokens(emulator: Emulator, http: httpx.Client) -> None:
    """The request log never holds the bearer token or the issued access token."""
    token = app(emulator, http).acquire_token_for_client(scopes=[FABRIC_SCOPE])["access_token"]
    http.get(f"{emulator.api_base_url}/deploymentPipelines", headers={"Authorization": f"Bearer {token}"})
    logged = repr(emulator.requests)
    assert token not in logged
    assert CLIENT_SECRET not in logged
    assert {r.operation for r in emulator.requests} >= {"Entra_Discovery", "Entra_Token"}
    token_request = next(r for r in emulator.requests if r.operation == "Entra_Token")
    assert token_request.request_body["client_secret"] == "<redacted>"
    assert token_request.request_body["grant_type"] == "client_credentials"
