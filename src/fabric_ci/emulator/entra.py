"""The Entra ID stand-in: OpenID discovery, the token endpoint, signing keys, user realm discovery.

Enough for msal's ConfidentialClientApplication (secret, certificate, federated assertion) and its
PublicClientApplication's username/password flow, created with instance_discovery=False and the
emulator as authority host. Grants: client_credentials, password (ROPC; the app allows public
client flows) and refresh_token (for the users ROPC signed in). How a credential is checked lives
in `identity.py`. Errors copy real Entra's shape and AADSTS codes, so a client's error handling can
be exercised: 400/401 with {error, error_description, error_codes, ...}.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fabric_ci.emulator import seed
from fabric_ci.emulator.credentials import SigningKey
from fabric_ci.emulator.identity import (
    RESOURCE_SCOPES,
    ClientAuthenticator,
    EntraRefusal,
    check_user,
    resource_scope,
    user_token_response,
)
from fabric_ci.emulator.protocol import Request, Response
from fabric_ci.emulator.state import TenantState

SUPPORTED_GRANTS = ("client_credentials", "password", "refresh_token")


class EntraApi:
    def __init__(self, state: TenantState, base_url: Callable[[], str], authenticator: ClientAuthenticator) -> None:
        self.state = state
        self._base_url = base_url  # https://127.0.0.1:PORT, known once the server is bound
        self._authenticator = authenticator
        self.signing_key = SigningKey.for_issuer("entra")  # signs id_tokens

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

    def keys(self, request: Request, params: dict[str, str]) -> Response:
        """The tenant's signing keys (jwks_uri): what id_tokens are signed with."""
        tenant = params["tenant"]
        if tenant.lower() != seed.TENANT_ID:
            return self._error(request, 400, "invalid_tenant", 90002, _unknown_tenant(tenant))
        return Response(200, {"keys": [self.signing_key.jwk()]})

    def user_realm(self, request: Request, params: dict[str, str]) -> Response:
        """msal's user realm discovery before ROPC: a Managed (cloud) account signs in with its password.

        msal remembers a 404 here for the rest of the process, per authority host, and then skips the
        call: so the emulator always answers, "Unknown" for domains it does not hold, as Entra does.
        """
        username = params["username"]
        domain = username.rpartition("@")[2].lower()
        body: dict[str, Any] = {
            "ver": "1.0",
            "account_type": "Unknown",
            "cloud_instance_name": "microsoftonline.com",
        }
        if domain == seed.USER_NAME.rpartition("@")[2]:
            body |= {
                "account_type": "Managed",
                "domain_name": domain,
                "cloud_audience_urn": "urn:federation:MicrosoftOnline",
            }
        return Response(200, body)

    def token(self, request: Request, params: dict[str, str]) -> Response:
        tenant = params["tenant"]
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if tenant.lower() != seed.TENANT_ID:
            return self._error(request, 400, "invalid_request", 90002, _unknown_tenant(tenant))
        grant_type = form.get("grant_type", "")
        if grant_type not in SUPPORTED_GRANTS:
            return self._error(
                request,
                400,
                "unsupported_grant_type",
                70003,
                f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'. The emulator "
                f"supports {', '.join(SUPPORTED_GRANTS)}.",
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
        # The audience a certificate assertion must name: this endpoint, as the client addressed it.
        token_endpoint = f"{self._base_url()}/{tenant}/oauth2/v2.0/token"
        try:
            if grant_type == "client_credentials":
                self._authenticator.authenticate(form, token_endpoint, required=True)
                return Response(200, self._app_token(form.get("scope", "")))
            # A public client (the app allows public client flows) sends no credential; a confidential one may.
            self._authenticator.authenticate(form, token_endpoint, required=False)
            if grant_type == "password":
                return Response(200, self._user_token(form, check=lambda: self._password(form)))
            return Response(200, self._user_token(form, check=lambda: self._refresh_token(form)))
        except EntraRefusal as refusal:
            return self._error(request, refusal.status, refusal.error, refusal.code, refusal.description)

    def _app_token(self, scope: str) -> dict[str, Any]:
        scopes = scope.split()
        if len(scopes) != 1 or scopes[0] not in RESOURCE_SCOPES:
            raise EntraRefusal(
                400,
                "invalid_scope",
                1002012,
                f"AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier; the emulator "
                f"serves {' and '.join(RESOURCE_SCOPES)}.",
            )
        token, lifetime = self.state.issue_token()
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}

    def _user_token(self, form: dict[str, str], check: Callable[[], None]) -> dict[str, Any]:
        scopes = form.get("scope", "").split()
        resource = resource_scope(scopes)
        if resource is None:
            raise EntraRefusal(
                400,
                "invalid_scope",
                70011,
                f"AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope "
                f"{form.get('scope', '')} is not valid. The emulator serves {' and '.join(RESOURCE_SCOPES)} "
                "(plus openid, profile, offline_access).",
            )
        check()
        issuer = f"{self._base_url()}/{seed.TENANT_ID}/v2.0"
        return user_token_response(
            self.state, self.signing_key, issuer, scopes, resource, client_info=form.get("client_info") == "1"
        )

    @staticmethod
    def _password(form: dict[str, str]) -> None:
        for field in ("username", "password"):
            if not form.get(field):
                raise EntraRefusal(
                    400,
                    "invalid_request",
                    900144,
                    f"AADSTS900144: The request body must contain the following parameter: '{field}'.",
                )
        check_user(form["username"], form["password"])

    def _refresh_token(self, form: dict[str, str]) -> None:
        if self.state.refresh_token_user(form.get("refresh_token", "")) is None:
            raise EntraRefusal(
                400,
                "invalid_grant",
                9002313,
                "AADSTS9002313: Invalid request. Request is malformed or invalid.",
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
