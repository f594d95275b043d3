"""Stand-ins for the CI systems' OIDC token services, whose tokens Entra accepts as federated credentials.

- GitHub Actions: `GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=...` with
  `Authorization: Bearer {ACTIONS_ID_TOKEN_REQUEST_TOKEN}` answers `{"count": ..., "value": "<jwt>"}`
  (actions/toolkit core.getIDToken). Served at /_github/idtoken; issuer {url}/_github (the real one is
  https://token.actions.githubusercontent.com).
- Azure DevOps: `POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=<id>` with
  `Authorization: Bearer {System.AccessToken}` answers `{"oidcToken": "<jwt>"}` (what AzureCLI@2 and
  azure-identity's AzurePipelinesCredential send). Served at /_azure-devops/.../oidctoken; issuer
  {url}/_azure-devops/{organization id} (the real one is https://vstoken.dev.azure.com/{organization id}).

Each issuer publishes `/.well-known/openid-configuration` and its JWKS, as the real ones do (Entra
reads them to check signatures; the emulator's Entra side holds the keys directly). Refusals use
the Azure DevOps service error shape, which GitHub's token service (a VSTS service) shares. Clients
send `X-TFS-FedAuthRedirect: Suppress` so that Azure DevOps answers a bad token with 401 rather than
a redirect to its sign-in page; the stand-in always answers 401, so it does not check the header.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from fabric_ci.emulator import seed
from fabric_ci.emulator.credentials import SigningKey, new_jti
from fabric_ci.emulator.protocol import Request, Response
from fabric_ci.emulator.state import TenantState

GITHUB_PATH = "/_github"
AZURE_DEVOPS_PATH = "/_azure-devops"
# GitHub's default audience when the request names none: the URL of the repository owner.
GITHUB_DEFAULT_AUDIENCE = f"https://github.com/{seed.GITHUB_REPOSITORY.split('/')[0]}"
# The plan and job of the pretend pipeline run, for the SYSTEM_OIDCREQUESTURI the emulator hands out.
AZURE_DEVOPS_PLAN_ID = seed.stable_id("azure-devops", "plan")
AZURE_DEVOPS_JOB_ID = seed.stable_id("azure-devops", "job")

_VSS_NAMESPACE = "Microsoft.TeamFoundation.Framework.Server"
_GITHUB_SUBJECT = re.compile(r"^repo:(?P<repository>[^:/]+/[^:]+):(?P<kind>[^:]+):(?P<value>.*)$")


def vss_error(status: int, type_key: str, message: str) -> Response:
    """An error as Azure DevOps services (and GitHub's token service) write it."""
    return Response(
        status,
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": f"{_VSS_NAMESPACE}.{type_key}, {_VSS_NAMESPACE}",
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        },
    )


def _unauthorized() -> Response:
    # What the real services answer to a missing or wrong bearer token (an anonymous caller).
    return vss_error(
        401,
        "UnauthorizedRequestException",
        "TF400813: The user '' is not authorized to access this resource.",
    )


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class CiOidcApi:
    """The two CI token services and their issuers' metadata."""

    def __init__(self, state: TenantState, base_url: Callable[[], str]) -> None:
        self.state = state
        self._base_url = base_url
        self.github_key = SigningKey.for_issuer("github")
        self.azure_devops_key = SigningKey.for_issuer("azure-devops")

    # -- the issuers, as Entra's federated credentials name them -----------------------------------------

    @property
    def github_issuer(self) -> str:
        return f"{self._base_url()}{GITHUB_PATH}"

    @property
    def azure_devops_issuer(self) -> str:
        return f"{self._base_url()}{AZURE_DEVOPS_PATH}/{seed.AZURE_DEVOPS_ORGANIZATION_ID}"

    def key_for(self, issuer: str) -> SigningKey | None:
        """The signing key of a trusted issuer; None for any other issuer (compared exactly, as Entra does)."""
        return {self.github_issuer: self.github_key, self.azure_devops_issuer: self.azure_devops_key}.get(issuer)

    @property
    def github_request_url(self) -> str:
        """ACTIONS_ID_TOKEN_REQUEST_URL: already has a query string, so callers append `&audience=`."""
        return f"{self.github_issuer}/idtoken?api-version=2.0"

    @property
    def azure_devops_request_uri(self) -> str:
        """SYSTEM_OIDCREQUESTURI, shaped like the real one: {collection}/{project}/_apis/.../oidctoken."""
        return (
            f"{self._base_url()}{AZURE_DEVOPS_PATH}/{seed.AZURE_DEVOPS_ORGANIZATION}/{seed.AZURE_DEVOPS_PROJECT_ID}"
            f"/_apis/distributedtask/hubs/build/plans/{AZURE_DEVOPS_PLAN_ID}/jobs/{AZURE_DEVOPS_JOB_ID}/oidctoken"
        )

    # -- token endpoints ---------------------------------------------------------------------------------

    def github_id_token(self, request: Request, params: dict[str, str]) -> Response:
        if _bearer(request) != seed.GITHUB_REQUEST_TOKEN:
            return _unauthorized()
        audience = request.query.get("audience") or GITHUB_DEFAULT_AUDIENCE
        subject = self.state.settings.github_subject
        token = self.github_key.sign(
            {**self._times(), "jti": new_jti(), "iss": self.github_issuer, "aud": audience, "sub": subject}
            | _github_claims(subject)
        )
        # GitHub's service wraps the token in its collection envelope ("count" is the token's length
        # in answers seen from it); clients read only "value".
        return Response(200, {"count": len(token), "value": token})

    def azure_devops_oidc_token(self, request: Request, params: dict[str, str]) -> Response:
        if "api-version" not in request.query:
            return vss_error(
                400,
                "VssVersionNotSpecifiedException",
                'No api-version was supplied for the "POST" request. The version must be supplied either as '
                'part of the Accept header (e.g. "application/json; api-version=1.0") or as a query '
                "parameter (e.g. '?api-version=1.0').",
            )
        if _bearer(request) != seed.AZURE_DEVOPS_ACCESS_TOKEN:
            return _unauthorized()
        connection = request.query.get("serviceConnectionId", "")
        if connection.lower() != seed.SERVICE_CONNECTION_ID:
            # The emulator's wording: the real service's message for an unknown connection is not documented.
            return vss_error(
                404,
                "ServiceEndpointNotFoundException",
                f"Service connection '{connection}' was not found, or this pipeline is not authorized to use "
                f"it. The emulator's service connection is {seed.SERVICE_CONNECTION_ID}.",
            )
        subject = self.state.settings.azure_devops_subject
        token = self.azure_devops_key.sign(
            {
                **self._times(),
                "jti": new_jti(),
                "iss": self.azure_devops_issuer,
                "aud": seed.FEDERATED_AUDIENCE,
                "sub": subject,
            }
        )
        return Response(200, {"oidcToken": token})

    def _times(self) -> dict[str, int]:
        now = self.state.now()
        # Rounded outwards, so a token never lives shorter than the configured lifetime.
        return {
            "iat": int(now),
            "nbf": int(now),
            "exp": math.ceil(now + self.state.settings.assertion_lifetime_seconds),
        }

    # -- issuer metadata ---------------------------------------------------------------------------------

    def github_metadata(self, request: Request, params: dict[str, str]) -> Response:
        return self._metadata(self.github_issuer, self.github_key, params["document"])

    def azure_devops_metadata(self, request: Request, params: dict[str, str]) -> Response:
        if params["organization"].lower() != seed.AZURE_DEVOPS_ORGANIZATION_ID:
            return vss_error(404, "OrganizationNotFoundException", "The organization was not found.")
        return self._metadata(self.azure_devops_issuer, self.azure_devops_key, params["document"])

    @staticmethod
    def _metadata(issuer: str, key: SigningKey, document: str) -> Response:
        if document == "jwks":
            return Response(200, {"keys": [key.jwk()]})
        return Response(
            200,
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks",
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
            },
        )


def _github_claims(subject: str) -> dict[str, Any]:
    """A few of the claims GitHub adds, consistent with the subject (repository, ref, environment)."""
    match = _GITHUB_SUBJECT.match(subject)
    repository = match["repository"] if match else seed.GITHUB_REPOSITORY
    claims: dict[str, Any] = {
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "event_name": "push",
        "workflow": "Release",
        "run_id": "1",
        "run_attempt": "1",
        "actor": "octocat",
    }
    if match and match["kind"] == "ref":
        claims["ref"] = match["value"]
        claims["ref_type"] = "tag" if match["value"].startswith("refs/tags/") else "branch"
    elif match and match["kind"] == "environment":
        claims["environment"] = match["value"]
    elif match and match["kind"] == "pull_request":
        claims["event_name"] = "pull_request"
    claims["job_workflow_ref"] = f"{repository}/.github/workflows/release.yml@{claims['ref']}"
    return claims
