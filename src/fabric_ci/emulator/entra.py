"""The Entra ID stand-in: the OpenID discovery document and the client-credentials token endpoint.

Enough for msal's ConfidentialClientApplication (created with instance_discovery=False and the
emulator as authority host). Errors copy real Entra's shape and AADSTS codes, so a client's
error handling can be exercised: 400/401 with {error, error_description, error_codes, ...}.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fabric_ci.emulator import seed
from fabric_ci.emulator.protocol import Request, Response
from fabric_ci.emulator.state import TenantState


class EntraApi:
    def __init__(self, state: TenantState, base_url: Callable[[], str]) -> None:
        self.state = state
        self._base_url = base_url  # https://127.0.0.1:PORT, known once the server is bound

    def discovery(self, request: Request, params: dict[str, str]) -> Response:
        tenant = params["tenant"]
        if tenant.lower() != seed.TENANT_ID:
            return self._error(request, 400, "invalid_tenant", 90002, _unknown_tenant(tenant))
        base = f"{self._base_url()}/{tenant}"
        return Response(
            200,
            {
                "issuer": f"{self._base_url()}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
            },
        )

    def token(self, request: Request, params: dict[str, str]) -> Response:
        tenant = params["tenant"]
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if tenant.lower() != seed.TENANT_ID:
            return self._error(request, 400, "invalid_request", 90002, _unknown_tenant(tenant))
        if form.get("grant_type") != "client_credentials":
            return self._error(
                request,
                400,
                "unsupported_grant_type",
                70003,
                "AADSTS70003: The app requested an unsupported grant type "
                f"'{form.get('grant_type', '')}'. The emulator supports client_credentials only.",
            )
        client_id = form.get("client_id", "")
        if client_id.lower() != seed.CLIENT_ID:
            return self._error(
                request,
                400,
                "unauthorized_client",
                700016,
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                f"'{seed.TENANT_ID}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        if "client_secret" not in form and "client_assertion" not in form:
            return self._error(
                request,
                401,
                "invalid_client",
                7000216,
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        if form.get("client_secret") != seed.CLIENT_SECRET:
            return self._error(
                request,
                401,
                "invalid_client",
                7000215,
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                f"request is the client secret value, not the client secret ID, for a secret added to "
                f"app '{seed.CLIENT_ID}'.",
            )
        scopes = form.get("scope", "").split()
        if scopes != [seed.FABRIC_SCOPE]:
            return self._error(
                request,
                400,
                "invalid_scope",
                1002012,
                f"AADSTS1002012: The provided value for scope {form.get('scope', '')} is not valid. "
                f"Client credential flows must have a scope value with /.default suffixed to the "
                f"resource identifier; the emulator serves {seed.FABRIC_SCOPE} only.",
            )
        token, lifetime = self.state.issue_token()
        return Response(
            200,
            {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token},
        )

    @staticmethod
    def _error(request: Request, status: int, error: str, code: int, description: str) -> Response:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = request.request_id
        correlation_id = str(uuid.uuid4())
        body: dict[str, Any] = {
            "error": error,
            "error_description": (
                f"{description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {now}"
            ),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        }
        return Response(status, body, {"x-ms-request-id": trace_id})


def _unknown_tenant(tenant: str) -> str:
    return (
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
        f"and are signing into the correct cloud. The emulator's tenant is {seed.TENANT_ID}."
    )
