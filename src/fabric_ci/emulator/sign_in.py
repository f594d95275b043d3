"""What fabric-ci needs to sign in to a running emulator, one sign-in method at a time.

`Emulator.sign_in(method)` answers with the inputs (kebab-case, as the actions take them) and the
environment a CI system or an Azure machine would provide. Methods:

    secret             client-id + client-secret
    certificate        client-id + client-certificate (client-certificate.pem: key and certificate)
    certificate-pfx    client-id + client-certificate (client-certificate.pfx) + client-certificate-password
    oidc-github        client-id; ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN
    oidc-azure-devops  client-id; SYSTEM_OIDCREQUESTURI, SYSTEM_ACCESSTOKEN, AZURESUBSCRIPTION_SERVICE_CONNECTION_ID
    managed-identity   client-id of the user-assigned identity; AZURE_POD_IDENTITY_AUTHORITY_HOST (msal's
                       override of the IMDS address)
    user-password      client-id + username + password

Every method's inputs also hold tenant-id, api-base-url, authority-host, ca-bundle and `auth`
(secret, certificate, oidc, managed-identity or user-password). With `api="powerbi"` they also
hold `api: powerbi`, and api-base-url is the Power BI base URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fabric_ci.emulator import seed

if TYPE_CHECKING:
    from fabric_ci.emulator.server import Emulator

SIGN_IN_METHODS = (
    "secret",
    "certificate",
    "certificate-pfx",
    "oidc-github",
    "oidc-azure-devops",
    "managed-identity",
    "user-password",
)


@dataclass(frozen=True)
class SignIn:
    """fabric-ci inputs, and environment variables the CI system or machine would set, for one method."""

    inputs: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)


def sign_in_for(emulator: Emulator, method: str, api: str = "fabric") -> SignIn:
    common = {
        "tenant-id": seed.TENANT_ID,
        "api-base-url": emulator.api_base_url,
        "authority-host": emulator.authority_host,
        "ca-bundle": emulator.ca_path,
        **emulator.api_inputs(api),
    }
    app = {"client-id": seed.CLIENT_ID}
    if method == "secret":
        return SignIn({**common, "auth": "secret", **app, "client-secret": seed.CLIENT_SECRET})
    if method == "certificate":
        return SignIn({**common, "auth": "certificate", **app, "client-certificate": emulator.client_certificate_path})
    if method == "certificate-pfx":
        return SignIn(
            {
                **common,
                "auth": "certificate",
                **app,
                "client-certificate": emulator.client_pfx_path,
                "client-certificate-password": seed.CLIENT_CERTIFICATE_PASSWORD,
            }
        )
    if method == "oidc-github":
        return SignIn(
            {**common, "auth": "oidc", **app},
            {
                "ACTIONS_ID_TOKEN_REQUEST_URL": emulator.github_request_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": seed.GITHUB_REQUEST_TOKEN,
            },
        )
    if method == "oidc-azure-devops":
        return SignIn(
            {**common, "auth": "oidc", **app},
            {
                "SYSTEM_OIDCREQUESTURI": emulator.azure_devops_request_uri,
                "SYSTEM_ACCESSTOKEN": seed.AZURE_DEVOPS_ACCESS_TOKEN,
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": seed.SERVICE_CONNECTION_ID,
            },
        )
    if method == "managed-identity":
        return SignIn(
            {**common, "auth": "managed-identity", "client-id": seed.MANAGED_IDENTITY_CLIENT_ID},
            {"AZURE_POD_IDENTITY_AUTHORITY_HOST": emulator.url},
        )
    if method == "user-password":
        return SignIn(
            {**common, "auth": "user-password", **app, "username": seed.USER_NAME, "password": seed.USER_PASSWORD}
        )
    raise ValueError(f"unknown sign-in method {method!r}; the emulator knows {', '.join(SIGN_IN_METHODS)}")
