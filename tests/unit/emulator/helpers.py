"""Helpers for tests that sign in to an `Emulator` with real msal, and msal's HttpClient over httpx.

The adapter is fabric-ci's own `MsalHttpClient` (which already sends msal's bytes assertions as
text), without retries, plus one test-only fix: msal builds the user realm discovery URL (before
username/password sign-in) from the authority's host name alone, dropping its port, so
https://127.0.0.1/common/userrealm/... would go to port 443. fabric-ci skips that lookup off
Microsoft's hosts; these tests want to exercise the emulator's endpoint, so the port is put back.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msal

from fabric_ci.api.retry import Retries, RetryPolicy
from fabric_ci.auth.token import MsalHttpClient
from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    AZURE_DEVOPS_ACCESS_TOKEN,
    CLIENT_ID,
    FEDERATED_AUDIENCE,
    GITHUB_REQUEST_TOKEN,
    SERVICE_CONNECTION_ID,
    TENANT_ID,
)


class MsalHttp(MsalHttpClient):
    def __init__(self, client: httpx.Client, emulator: Emulator) -> None:
        super().__init__(client, Retries(RetryPolicy(attempts=1)))  # tests see every answer as it comes
        self._emulator = emulator

    def _url(self, url: str) -> str:
        parts = urlsplit(url)
        emulator = urlsplit(self._emulator.url)
        if parts.hostname == emulator.hostname and parts.port is None:
            return urlunsplit(parts._replace(netloc=emulator.netloc))
        return url

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        return super().post(self._url(url), params=params, data=data, headers=headers, **kwargs)

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        return super().get(self._url(url), params=params, headers=headers, **kwargs)


def app(
    emulator: Emulator, http: MsalHttp, credential: Any, *, client_id: str = CLIENT_ID
) -> msal.ConfidentialClientApplication:
    """A confidential client of the emulator's tenant, as fabric-ci creates one."""
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{emulator.authority_host}/{TENANT_ID}",
        instance_discovery=False,
        http_client=http,
    )


def github_token(http: httpx.Client, emulator: Emulator, audience: str | None = FEDERATED_AUDIENCE) -> str:
    """An ID token from the GitHub stand-in, fetched as actions/toolkit's getIDToken does."""
    url = emulator.github_request_url + (f"&audience={quote(audience, safe='')}" if audience else "")
    response = http.get(url, headers={"Authorization": f"Bearer {GITHUB_REQUEST_TOKEN}"})
    assert response.status_code == 200, response.text
    return str(response.json()["value"])


def azure_devops_token(http: httpx.Client, emulator: Emulator) -> str:
    """An OIDC token from the Azure DevOps stand-in, requested as AzureCLI@2 requests it."""
    response = http.post(
        emulator.azure_devops_request_uri,
        params={"api-version": "7.1", "serviceConnectionId": SERVICE_CONNECTION_ID},
        headers={
            "Authorization": f"Bearer {AZURE_DEVOPS_ACCESS_TOKEN}",
            "Content-Type": "application/json",
            "X-TFS-FedAuthRedirect": "Suppress",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["oidcToken"])


def opens_fabric_api(http: httpx.Client, emulator: Emulator, token: str) -> bool:
    response = http.get(f"{emulator.api_base_url}/deploymentPipelines", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def first_line(result: dict[str, Any]) -> str:
    """The AADSTS line of an msal error result (Entra appends trace and correlation ids)."""
    return str(result["error_description"]).splitlines()[0]


def wait_for_ready_file(process: subprocess.Popen[str], ready: Path, seconds: float = 15) -> dict[str, Any]:
    """The `--ready-file` an emulator process writes once it listens, read as JSON; fails the test
    if the process exits first or the file takes longer than `seconds`."""
    deadline = time.monotonic() + seconds
    while not ready.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no ready file"
        time.sleep(0.05)
    return dict(json.loads(ready.read_text()))
