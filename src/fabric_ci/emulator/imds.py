"""The Azure Instance Metadata Service's managed-identity token endpoint, as a VM sees it.

`GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=<r>[&client_id=<id>]` with the
header `Metadata: true`. msal's ManagedIdentityClient calls it at $AZURE_POD_IDENTITY_AUTHORITY_HOST
(default http://169.254.169.254) + that path, so pointing the variable at the emulator's URL makes
msal use it over HTTPS. Answers and errors copy IMDS (learn.microsoft.com, "How to use managed
identities for Azure resources on an Azure VM to acquire an access token"): every value in a
successful answer is a string, including the numbers, and errors are {error, error_description}.
"""

from __future__ import annotations

import math

from fabric_ci.emulator import seed
from fabric_ci.emulator.protocol import Request, Response
from fabric_ci.emulator.state import TenantState

IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"  # noqa: S105 - a URL path, not a secret

_RESOURCES = (seed.FABRIC_RESOURCE, seed.POWERBI_RESOURCE)
# The parameters IMDS accepts to pick a user-assigned identity, and that identity's value for each.
_USER_ASSIGNED = {
    "client_id": seed.MANAGED_IDENTITY_CLIENT_ID,
    "object_id": seed.MANAGED_IDENTITY_OBJECT_ID,
    "msi_res_id": seed.MANAGED_IDENTITY_RESOURCE_ID.lower(),
}


def _error(error: str, description: str) -> Response:
    return Response(400, {"error": error, "error_description": description})


class ImdsApi:
    def __init__(self, state: TenantState) -> None:
        self.state = state

    def token(self, request: Request, params: dict[str, str]) -> Response:
        if request.headers.get("metadata", "").lower() != "true":
            # IMDS refuses requests without the header, so that a redirected (SSRF) request cannot get a token.
            return _error("invalid_request", "Required metadata header not specified")
        if "api-version" not in request.query:
            return _error("invalid_request", "Required query variable 'api-version' is missing")
        resource = request.query.get("resource", "")
        if not resource:
            return _error("invalid_request", "Required audience parameter not specified")
        client_id = self._identity(request)
        if client_id is None:
            return _error("invalid_request", "Identity not found")
        # IMDS takes the resource as given; Entra matches it with or without a trailing slash.
        if resource.rstrip("/") not in _RESOURCES:
            return _error(
                "invalid_resource",
                f"AADSTS500011: The resource principal named {resource} was not found in the tenant named "
                f"{seed.TENANT_ID}. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You might have sent "
                "your authentication request to the wrong tenant.",
            )
        token, lifetime = self.state.issue_token()
        now = self.state.now()
        return Response(
            200,
            {
                "access_token": token,
                "client_id": client_id,
                "expires_in": str(lifetime),
                "expires_on": str(math.floor(now + lifetime)),
                "ext_expires_in": str(lifetime),
                "not_before": str(math.floor(now)),
                "resource": resource,
                "token_type": "Bearer",
            },
        )

    @staticmethod
    def _identity(request: Request) -> str | None:
        """The client id of the identity the request names; the system-assigned one if it names none."""
        named = [(name, request.query[name]) for name in _USER_ASSIGNED if request.query.get(name)]
        if not named:
            return seed.SYSTEM_MANAGED_IDENTITY_CLIENT_ID
        if len(named) == 1 and named[0][1].lower() == _USER_ASSIGNED[named[0][0]]:
            return seed.MANAGED_IDENTITY_CLIENT_ID
        return None
