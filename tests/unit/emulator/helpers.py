"""Helpers for tests that sign in to an `Emulator` with real msal, and msal's HttpClient over httpx.

Two msal quirks (msal 1.39) need handling in an httpx adapter:
- msal passes a certificate's client assertion as *bytes*; httpx form-encodes bytes as their
  repr ("b'eyJ...'"), which Entra (and the emulator) refuse as malformed (AADSTS50027); requests,
  msal's default, encodes them properly. Decode them.
- msal builds the user realm discovery URL (before username/password sign-in) from the authority's
  host name alone, dropping its port: https://127.0.0.1/common/userrealm/... goes to port 443 with
  any HTTP client. Put the port back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msal

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    AZURE_DEVOPS_ACCESS_TOKEN,
    CLIENT_ID,
    FEDERATED_AUDIENCE,
    GITHUB_REQUEST_TOKEN,
    SERVICE_CONNECTION_ID,
    TENANT_ID,
)


class MsalHttp:
    def __init__(self, client: httpx.Client, emulator: Emulator) -> None:
        self._client = client
        self._emulator = emulator

    def _url(self, url: str) -> str:
        parts = urlsplit(url)
        emulator = urlsplit(self._emulator.url)
        if parts.hostname == emulator.hostname and parts.port is None:
            return urlunsplit(parts._replace(netloc=emulator.netloc))
        return url

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(self._url(url), params=params, data=data, headers=headers)

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        return self._client.get(self._url(url), params=params, headers=headers)

    def close(self) -> None:
        pass


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
