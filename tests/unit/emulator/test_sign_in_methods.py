"""Every sign-in method succeeds through real msal against the emulator, and its token opens the Fabric API."""

from __future__ import annotations

from pathlib import Path

import httpx
import jwt
import msal
import pytest

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    AZURE_DEVOPS_SUBJECT,
    CLIENT_CERTIFICATE_PASSWORD,
    CLIENT_ID,
    FABRIC_RESOURCE,
    FABRIC_SCOPE,
    GITHUB_SUBJECT,
    MANAGED_IDENTITY_CLIENT_ID,
    MANAGED_IDENTITY_OBJECT_ID,
    MANAGED_IDENTITY_RESOURCE_ID,
    POWERBI_RESOURCE,
    POWERBI_SCOPE,
    SYSTEM_MANAGED_IDENTITY_CLIENT_ID,
    TENANT_ID,
    USER_NAME,
    USER_PASSWORD,
    USER_PRINCIPAL_ID,
)
from tests.unit.emulator.helpers import MsalHttp, app, azure_devops_token, github_token, opens_fabric_api


def read(path: str) -> str:
    return Path(path).read_text()


# -- certificates ----------------------------------------------------------------------------------------


def test_certificate_with_sha1_thumbprint_signs_in_with_rs256(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp
) -> None:
    """{"private_key", "thumbprint"} makes msal send an RS256 assertion with x5t; the emulator accepts it."""
    credential = {
        "private_key": read(emulator.client_certificate_path),
        "thumbprint": emulator.client_certificate.sha1_thumbprint,
    }
    before = len(emulator.assertions)
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result
    assert opens_fabric_api(http, emulator, result["access_token"])
    accepted = emulator.assertions[before:]
    assert [(a.kind, a.issuer, a.subject) for a in accepted] == [("certificate", CLIENT_ID, CLIENT_ID)]


def test_certificate_with_public_certificate_signs_in_with_ps256(emulator: Emulator, msal_http: MsalHttp) -> None:
    """{"private_key", "public_certificate"} makes msal send PS256 with x5t#S256 and x5c; the emulator accepts it."""
    pem = read(emulator.client_certificate_path)  # key and certificate in one file: msal finds each
    result = app(emulator, msal_http, {"private_key": pem, "public_certificate": pem}).acquire_token_for_client(
        scopes=[FABRIC_SCOPE]
    )
    assert "access_token" in result, result


def test_encrypted_pem_signs_in_with_its_password(emulator: Emulator, msal_http: MsalHttp) -> None:
    """client-certificate-encrypted.pem works with CLIENT_CERTIFICATE_PASSWORD as msal's passphrase."""
    pem = read(emulator.client_certificate_encrypted_path)
    assert "ENCRYPTED PRIVATE KEY" in pem
    credential = {"private_key": pem, "public_certificate": pem, "passphrase": CLIENT_CERTIFICATE_PASSWORD}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result


def test_pfx_signs_in_with_its_password(emulator: Emulator, msal_http: MsalHttp) -> None:
    """client-certificate.pfx works as msal's private_key_pfx_path with CLIENT_CERTIFICATE_PASSWORD."""
    credential = {"private_key_pfx_path": emulator.client_pfx_path, "passphrase": CLIENT_CERTIFICATE_PASSWORD}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result


def test_renewed_certificate_signs_in_by_subject_name_and_issuer(emulator: Emulator, msal_http: MsalHttp) -> None:
    """An unregistered certificate from the emulator's CA with the trusted subject passes when sent with x5c."""
    renewed = emulator.issue_client_certificate()
    assert renewed.sha256_thumbprint != emulator.client_certificate.sha256_thumbprint
    credential = {"private_key": renewed.private_key_pem, "public_certificate": renewed.certificate_pem}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result


def test_power_bi_scope_is_served_too(emulator: Emulator, msal_http: MsalHttp) -> None:
    """The Power BI API's .default scope gets a token as the Fabric one does."""
    credential = {"private_key_pfx_path": emulator.client_pfx_path, "passphrase": CLIENT_CERTIFICATE_PASSWORD}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[POWERBI_SCOPE])
    assert "access_token" in result, result


# -- workload identity federation -----------------------------------------------------------------------


def test_github_oidc_token_signs_in_as_a_federated_credential(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp
) -> None:
    """A GitHub stand-in token, given to msal as a client_assertion callable, gets a Fabric token."""
    fetched: list[str] = []

    def assertion() -> str:
        fetched.append(github_token(http, emulator))
        return fetched[-1]

    result = app(emulator, msal_http, {"client_assertion": assertion}).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result
    assert opens_fabric_api(http, emulator, result["access_token"])
    claims = jwt.decode(fetched[0], options={"verify_signature": False})
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        emulator.github_issuer,
        GITHUB_SUBJECT,
        "api://AzureADTokenExchange",
    )
    assert claims["repository"] == "contoso/fabric-releases"
    last = emulator.assertions[-1]
    assert (last.kind, last.jti, last.subject) == ("federated", claims["jti"], GITHUB_SUBJECT)


def test_azure_devops_oidc_token_signs_in_as_a_federated_credential(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp
) -> None:
    """An Azure DevOps stand-in token, given to msal as a client_assertion callable, gets a Fabric token."""
    result = app(
        emulator, msal_http, {"client_assertion": lambda: azure_devops_token(http, emulator)}
    ).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result
    last = emulator.assertions[-1]
    assert (last.kind, last.issuer, last.subject) == ("federated", emulator.azure_devops_issuer, AZURE_DEVOPS_SUBJECT)


def test_a_fresh_assertion_per_token_request_is_recorded_once_each(
    fresh_emulator: Emulator, fresh_http: httpx.Client, fresh_msal_http: MsalHttp
) -> None:
    """Two token requests with fresh GitHub tokens record two distinct jtis; msal's cache adds none."""
    client = app(
        fresh_emulator, fresh_msal_http, {"client_assertion": lambda: github_token(fresh_http, fresh_emulator)}
    )
    client.acquire_token_for_client(scopes=[FABRIC_SCOPE])
    client.acquire_token_for_client(scopes=[FABRIC_SCOPE])  # served from msal's cache: no request
    client.remove_tokens_for_client()
    client.acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert len({a.jti for a in fresh_emulator.assertions}) == 2


# -- managed identity --------------------------------------------------------------------------------------


@pytest.fixture
def imds_at_emulator(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a VM looks like to msal: no App Service / Arc / ML variables, IMDS at the emulator."""
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator.sign_in("managed-identity").environment.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("imds_at_emulator")
@pytest.mark.parametrize(
    ("identity", "client_id"),
    [
        (msal.SystemAssignedManagedIdentity(), SYSTEM_MANAGED_IDENTITY_CLIENT_ID),
        (msal.UserAssignedManagedIdentity(client_id=MANAGED_IDENTITY_CLIENT_ID), MANAGED_IDENTITY_CLIENT_ID),
        (msal.UserAssignedManagedIdentity(object_id=MANAGED_IDENTITY_OBJECT_ID), MANAGED_IDENTITY_CLIENT_ID),
        (msal.UserAssignedManagedIdentity(resource_id=MANAGED_IDENTITY_RESOURCE_ID), MANAGED_IDENTITY_CLIENT_ID),
    ],
    ids=["system-assigned", "user-assigned-client-id", "user-assigned-object-id", "user-assigned-resource-id"],
)
def test_managed_identity_signs_in_through_imds(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp, identity: dict[str, str], client_id: str
) -> None:
    """msal's ManagedIdentityClient gets a token from the IMDS stand-in, for system- and user-assigned identities."""
    client = msal.ManagedIdentityClient(identity, http_client=msal_http)
    result = client.acquire_token_for_client(resource=FABRIC_RESOURCE)
    assert "access_token" in result, result
    assert opens_fabric_api(http, emulator, result["access_token"])
    imds = [r for r in emulator.requests if r.operation == "Imds_Token"][-1]
    assert imds.response_body["client_id"] == client_id
    assert imds.response_body["token_type"] == "Bearer"
    assert isinstance(imds.response_body["expires_in"], str)


@pytest.mark.usefixtures("imds_at_emulator")
def test_managed_identity_gets_power_bi_tokens_with_a_trailing_slash(msal_http: MsalHttp) -> None:
    """The Power BI resource is served too, with or without a trailing slash."""
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=msal_http)
    assert "access_token" in client.acquire_token_for_client(resource=POWERBI_RESOURCE + "/")


# -- username and password ---------------------------------------------------------------------------------


def public_app(emulator: Emulator, http: MsalHttp) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        CLIENT_ID, authority=f"{emulator.authority_host}/{TENANT_ID}", instance_discovery=False, http_client=http
    )


@pytest.mark.filterwarnings("ignore:This API has been deprecated:DeprecationWarning")
def test_username_and_password_sign_in_with_an_account_msal_can_refresh(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ROPC signs the demo user in (user realm: Managed); msal caches the account and later refreshes it."""
    # msal keeps the hosts whose user realm lookup it skips in a class-level set, and fabric-ci's
    # user-password sign-in adds the emulator's host to it (auth/token.py): an earlier in-process
    # run (the fuzz tests) would make msal skip the lookup this test checks.
    monkeypatch.setattr(msal.authority.Authority, "_domains_without_user_realm_discovery", set())
    client = public_app(emulator, msal_http)
    result = client.acquire_token_by_username_password(USER_NAME.upper(), USER_PASSWORD, scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result
    assert opens_fabric_api(http, emulator, result["access_token"])
    assert result["id_token_claims"]["oid"] == USER_PRINCIPAL_ID
    [account] = client.get_accounts()
    assert account["username"] == USER_NAME
    assert client.acquire_token_silent([FABRIC_SCOPE], account=account)["token_source"] == "cache"
    refreshed = client.acquire_token_silent([FABRIC_SCOPE], account=account, force_refresh=True)
    assert refreshed is not None
    assert refreshed["token_source"] == "identity_provider"
    assert opens_fabric_api(http, emulator, refreshed["access_token"])
    operations = [r.operation for r in emulator.requests]
    assert "Entra_UserRealm" in operations
