"""Federated credentials from the CI system: an OIDC token per token request, never a stored one.

A CI system's OIDC tokens live about ten minutes, while a deployment can run longer. msal is
given one of these sources as a *callable* client assertion, and calls it each time it asks
Entra ID for an access token, so every sign-in presents a fresh assertion (msal's cache keeps
the resulting access token for about an hour, so that is rarely more than once a run).

- GitHub Actions: `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, present
  only when the job has `permissions: id-token: write`.
- Azure Pipelines (workload identity federation): `SYSTEM_OIDCREQUESTURI`, the job's
  `SYSTEM_ACCESSTOKEN` and the service connection id, which the task wrapper passes in
  `AZURESUBSCRIPTION_SERVICE_CONNECTION_ID` (the name the AzureCLI@2 task and azure-identity's
  AzurePipelinesCredential use).
See runner-protocols.md for both requests, byte for byte.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from fabric_ci.api.retry import Retries
from fabric_ci.errors import AuthenticationError

GITHUB_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"  # noqa: S105 - a variable's name
AZURE_DEVOPS_REQUEST_URI = "SYSTEM_OIDCREQUESTURI"
AZURE_DEVOPS_ACCESS_TOKEN = "SYSTEM_ACCESSTOKEN"  # noqa: S105 - a variable's name
AZURE_DEVOPS_SERVICE_CONNECTION = "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"
AZURE_DEVOPS_VARIABLES = (AZURE_DEVOPS_REQUEST_URI, AZURE_DEVOPS_ACCESS_TOKEN, AZURE_DEVOPS_SERVICE_CONNECTION)
AZURE_DEVOPS_API_VERSION = "7.1"

GITHUB_PERMISSION_HINT = (
    "The job needs permission to request an OIDC token. Add to the workflow (or to the job):\n"
    "  permissions:\n"
    "    id-token: write\n"
    "    contents: read\n"
    "Workflows triggered by a pull request from a fork never get this permission; use a secret-based "
    "sign-in there, or run the deployment on push."
)


def unverified_claims(assertion: str) -> dict[str, Any]:
    """The claims of a JWT, for error messages only (issuer, subject, audience are not secret)."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass
class CiOidc:
    """Fetches a fresh OIDC token from the CI system each time it is called."""

    system: str  # "GitHub Actions" or "Azure Pipelines", for messages
    fetch: Callable[[], httpx.Response]
    field_name: str  # the JSON field holding the token
    refusal_hint: str
    audience: str = "api://AzureADTokenExchange"
    on_assertion: Callable[[str], None] = lambda _assertion: None
    last_claims: dict[str, Any] = field(default_factory=dict)
    retries: Retries = field(default_factory=Retries)

    def __call__(self) -> str:
        try:
            response = self.retries.send(f"{self.system} OIDC token request", self.fetch)
        except httpx.HTTPError as exc:
            raise AuthenticationError(f"Could not reach {self.system}'s OIDC token endpoint: {exc}") from exc
        if not response.is_success:
            raise AuthenticationError(
                f"{self.system} refused the OIDC token request (HTTP {response.status_code}"
                f"{': ' + _short(response.text) if response.text.strip() else ''}). {self.refusal_hint}"
            )
        try:
            assertion = response.json()[self.field_name]
        except (ValueError, KeyError, TypeError):
            raise AuthenticationError(
                f"{self.system}'s OIDC token endpoint answered without a token (no `{self.field_name}` field)."
            ) from None
        if not isinstance(assertion, str) or not assertion:
            raise AuthenticationError(f"{self.system}'s OIDC token endpoint answered with an empty token.")
        self.on_assertion(assertion)  # masked before msal can put it anywhere
        self.last_claims = unverified_claims(assertion)
        return assertion

    def presented(self) -> str:
        """What the CI system presented to Entra ID, for a federated credential mismatch."""
        claims = self.last_claims
        if not claims:
            return ""
        audience = claims.get("aud")
        if isinstance(audience, list):
            audience = ", ".join(map(str, audience))
        return (
            f"{self.system} presented issuer '{claims.get('iss', '?')}', subject '{claims.get('sub', '?')}' and "
            f"audience '{audience or '?'}'. The app registration needs a federated credential with exactly this "
            f"issuer and subject (and audience {self.audience})."
        )


def _short(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def github_oidc(environ: Mapping[str, str], audience: str, http: httpx.Client) -> CiOidc | None:
    url, token = environ.get(GITHUB_REQUEST_URL, ""), environ.get(GITHUB_REQUEST_TOKEN, "")
    if not url or not token:
        return None
    # The URL already carries a query (`?api-version=2.0`); httpx adds the audience, encoded.
    request_url = httpx.URL(url).copy_add_param("audience", audience)
    return CiOidc(
        system="GitHub Actions",
        fetch=lambda: http.get(
            request_url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json; api-version=2.0"}
        ),
        field_name="value",
        audience=audience,
        refusal_hint="The request token lasts as long as the job; re-run the job. " + GITHUB_PERMISSION_HINT,
    )


def azure_devops_oidc(environ: Mapping[str, str], http: httpx.Client) -> CiOidc | None:
    uri = environ.get(AZURE_DEVOPS_REQUEST_URI, "")
    token = environ.get(AZURE_DEVOPS_ACCESS_TOKEN, "")
    connection = environ.get(AZURE_DEVOPS_SERVICE_CONNECTION, "")
    if not uri or not token or not connection:
        return None
    request_url = httpx.URL(uri).copy_merge_params(
        {"api-version": AZURE_DEVOPS_API_VERSION, "serviceConnectionId": connection}
    )
    return CiOidc(
        system="Azure Pipelines",
        fetch=lambda: http.post(
            request_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "X-TFS-FedAuthRedirect": "Suppress",
            },
        ),
        field_name="oidcToken",
        refusal_hint=(
            f"Check that service connection {connection} exists, uses workload identity federation, and is "
            "authorized for this pipeline, and that the job's access token (System.AccessToken) is passed."
        ),
    )


def oidc_available(environ: Mapping[str, str]) -> bool:
    """Whether this job can request OIDC tokens from its CI system."""
    return bool(environ.get(GITHUB_REQUEST_URL) and environ.get(GITHUB_REQUEST_TOKEN)) or all(
        environ.get(name)
        for name in (AZURE_DEVOPS_REQUEST_URI, AZURE_DEVOPS_ACCESS_TOKEN, AZURE_DEVOPS_SERVICE_CONNECTION)
    )


def ci_oidc(environ: Mapping[str, str], audience: str, http: httpx.Client) -> CiOidc | None:
    """The CI system's OIDC source, if this job can get OIDC tokens."""
    return github_oidc(environ, audience, http) or azure_devops_oidc(environ, http)


def missing_oidc(environ: Mapping[str, str]) -> str:
    """Why no OIDC source was found, and what to add, for the CI system this seems to be."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return f"{GITHUB_REQUEST_URL} and {GITHUB_REQUEST_TOKEN} are not set. {GITHUB_PERMISSION_HINT}"
    if environ.get("TF_BUILD", "").lower() == "true":
        missing = [name for name in AZURE_DEVOPS_VARIABLES if not environ.get(name)]
        return (
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. Sign in through an Azure Resource "
            f"Manager service connection that uses workload identity federation, pass its id in "
            f"{AZURE_DEVOPS_SERVICE_CONNECTION}, and map the job's token: `env: SYSTEM_ACCESSTOKEN: "
            "$(System.AccessToken)`"
        )
    return (
        "no CI system's OIDC token is available here: OIDC sign-in works in GitHub Actions (with `permissions: "
        "id-token: write`) and in Azure Pipelines (workload identity federation)"
    )
