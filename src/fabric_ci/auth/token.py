"""Access tokens from Entra ID through msal, with msal's cache.

msal talks HTTP through our httpx client (see `MsalHttpClient`) so that it uses the same TLS
context as the API calls: msal's default `requests` session lets REQUESTS_CA_BUNDLE override
an explicit CA, which breaks the `ca-bundle` input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import msal

from fabric_ci.errors import AuthenticationError

FABRIC_SCOPE = "https://api.fabric.microsoft.com/.default"

# Authority hosts msal knows; any other host (a sovereign cloud's alias, the emulator) must not
# trigger instance discovery, which would call login.microsoftonline.com first.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "login.chinacloudapi.cn",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    }
)

# AADSTS codes users hit most, with the fix. Matched as a prefix of error_description.
AADSTS_HINTS = {
    "AADSTS7000215": "The client secret is wrong. Check `client-secret` against the app registration.",
    "AADSTS7000222": "The client secret has expired. Create a new one in the app registration.",
    "AADSTS700016": "No app with this `client-id` exists in the tenant. Check `client-id` and `tenant-id`.",
    "AADSTS90002": "The tenant was not found. Check `tenant-id` (a GUID or a verified domain).",
    "AADSTS900023": "The tenant id is malformed. Check `tenant-id`.",
}


class MsalHttpClient:
    """msal's HttpClient interface (`post`, `get`), served by our httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        return self._client.post(url, params=params, data=data, headers=headers, timeout=kwargs.get("timeout"))

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        return self._client.get(url, params=params, headers=headers, timeout=kwargs.get("timeout"))

    def close(self) -> None:  # msal may call it; the client belongs to the transport
        pass


class ClientSecretTokenProvider:
    """Service principal with a client secret: tokens for one scope, cached by msal."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        authority_host: str,
        http_client: httpx.Client,
        scope: str = FABRIC_SCOPE,
        on_token: Callable[[str], None] = lambda _token: None,
    ) -> None:
        self._scope = scope
        self._on_token = on_token
        self._last_token = ""
        self._settings = {
            "client_id": client_id,
            "client_credential": client_secret,
            "authority": f"{authority_host}/{tenant_id}",
            "instance_discovery": urlsplit(authority_host).hostname in KNOWN_AUTHORITY_HOSTS,
            "http_client": MsalHttpClient(http_client),
        }
        self._tenant_id = tenant_id
        self._app: msal.ConfidentialClientApplication | None = None

    def token(self, *, refresh: bool = False) -> str:
        try:
            # msal reads the tenant's discovery document when the app is created, so creating it
            # belongs inside the same error handling as the token request.
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(**self._settings)
            if refresh:
                self._app.remove_tokens_for_client()
            result = self._app.acquire_token_for_client(scopes=[self._scope])
        except httpx.HTTPError as exc:
            raise AuthenticationError(f"Could not reach the sign-in endpoint: {exc}") from exc
        except ValueError as exc:  # msal: the authority's discovery document is missing or unusable
            raise AuthenticationError(
                f"Entra ID has no usable sign-in endpoint for tenant {self._tenant_id!r} ({exc}). "
                f"{AADSTS_HINTS['AADSTS90002']}"
            ) from exc
        if "access_token" not in result:
            raise AuthenticationError(_describe(result))
        token = str(result["access_token"])
        if token != self._last_token:  # msal serves cached tokens: announce each new one once
            self._last_token = token
            self._on_token(token)
        return token


def _describe(result: dict[str, Any]) -> str:
    description = str(result.get("error_description", "")).strip()
    first_line = description.splitlines()[0] if description else ""
    code = first_line.split(":", 1)[0]
    hint = AADSTS_HINTS.get(code, "")
    text = f"Entra ID refused the sign-in: {result.get('error', 'unknown_error')}"
    if first_line:
        text += f": {first_line}"
    return f"{text} {hint}".strip()
