"""Each way a sign-in goes wrong is refused as Entra refuses it: status, error, AADSTS code and message."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import msal
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    CLIENT_ID,
    FABRIC_SCOPE,
    GITHUB_REQUEST_TOKEN,
    MANAGED_IDENTITY_CLIENT_ID,
    TENANT_ID,
    USER_NAME,
)
from tests.unit.emulator.conftest import ShiftableClock
from tests.unit.emulator.helpers import MsalHttp, app, azure_devops_token, first_line, github_token

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_endpoint(emulator: Emulator) -> str:
    return f"{emulator.authority_host}/{TENANT_ID}/oauth2/v2.0/token"


def present(http: httpx.Client, emulator: Emulator, assertion: str) -> httpx.Response:
    """A client_credentials request with this client assertion, as msal sends it."""
    return http.post(
        token_endpoint(emulator),
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "scope": FABRIC_SCOPE,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
        },
    )


def signed_by_registered_key(emulator: Emulator, **claims: Any) -> str:
    """A certificate assertion signed with the registered certificate's key, RS256 with x5t."""
    certificate = emulator.client_certificate
    now = int(time.time())
    payload = {
        "aud": token_endpoint(emulator),
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    } | claims
    x5t = jwt.utils.base64url_encode(bytes.fromhex(certificate.sha1_thumbprint)).decode()
    return jwt.encode(payload, certificate.key, algorithm="RS256", headers={"x5t": x5t})


def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def other_key_pem() -> str:
    return (
        other_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


# -- certificates ----------------------------------------------------------------------------------------


def test_certificate_that_is_not_registered_is_refused_with_its_thumbprint(
    emulator: Emulator, msal_http: MsalHttp
) -> None:
    """A certificate from another CA: 401 invalid_client AADSTS700027 naming the thumbprint msal sent."""
    leaf = trustme.CA().issue_cert(common_name="fabric-ci-emulator-client", key_type=trustme.KeyType.RSA)
    pem = leaf.private_key_and_cert_chain_pem.bytes().decode()
    result = app(emulator, msal_http, {"private_key": pem, "public_certificate": pem}).acquire_token_for_client(
        scopes=[FABRIC_SCOPE]
    )
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]
    assert "is not registered on application" in first_line(result)
    assert emulator.client_certificate.sha256_thumbprint not in first_line(result)
    assert "Thumbprint of key used by client: '" in first_line(result)


def test_certificate_from_the_emulator_ca_with_another_subject_is_refused(
    emulator: Emulator, msal_http: MsalHttp
) -> None:
    """Subject name/issuer auth trusts one subject only: another CN from the same CA gets AADSTS700027."""
    stranger = emulator.issue_client_certificate("someone-else")
    credential = {"private_key": stranger.private_key_pem, "public_certificate": stranger.certificate_pem}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error_codes"] == [700027]
    assert stranger.sha256_thumbprint in first_line(result)


def test_assertion_signed_by_another_key_fails_signature_validation(emulator: Emulator, msal_http: MsalHttp) -> None:
    """The registered thumbprint with a signature from another key: AADSTS700027 signature validation."""
    credential = {"private_key": other_key_pem(), "thumbprint": emulator.client_certificate.sha1_thumbprint}
    result = app(emulator, msal_http, credential).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error"] == "invalid_client"
    assert first_line(result) == "AADSTS700027: Client assertion failed signature validation."


def test_tampered_assertion_fails_signature_validation(emulator: Emulator, http: httpx.Client) -> None:
    """Claims changed after signing (a longer expiry) break the signature: AADSTS700027."""
    header, _, signature = signed_by_registered_key(emulator).split(".")
    forged = signed_by_registered_key(emulator, exp=int(time.time()) + 86400).split(".")[1]
    response = present(http, emulator, f"{header}.{forged}.{signature}")
    assert response.status_code == 401
    assert response.json()["error_codes"] == [700027]


def test_assertion_for_another_audience_is_refused(emulator: Emulator, http: httpx.Client) -> None:
    """aud must be this token endpoint exactly; the public cloud's endpoint gets AADSTS700023."""
    assertion = signed_by_registered_key(
        emulator, aud=f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"
    )
    response = present(http, emulator, assertion)
    assert response.status_code == 401
    body = response.json()
    assert (body["error"], body["error_codes"]) == ("invalid_client", [700023])
    assert token_endpoint(emulator) in body["error_description"]


def test_garbage_assertion_is_malformed(emulator: Emulator, http: httpx.Client) -> None:
    """Something that is not a JWT: 400 AADSTS50027."""
    response = present(http, emulator, "not-a-jwt")
    assert response.status_code == 400
    assert response.json()["error_codes"] == [50027]


def test_expired_certificate_assertion_is_refused_with_its_time_range(
    fresh_emulator: Emulator, fresh_msal_http: MsalHttp, clock: ShiftableClock
) -> None:
    """An assertion past its exp (msal's live 10 minutes): AADSTS700024 with the current and expiry times."""
    client = app(
        fresh_emulator,
        fresh_msal_http,
        {"private_key_pfx_path": fresh_emulator.client_pfx_path, "passphrase": "emulator-pfx-password"},
    )
    clock.offset = 601
    result = client.acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700024]
    line = first_line(result)
    assert line.startswith("AADSTS700024: Client assertion is not within its valid time range. Current time: ")
    assert ", assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 20" in line


# -- federated credentials ----------------------------------------------------------------------------------


def test_expired_github_token_is_refused(
    fresh_emulator: Emulator, fresh_http: httpx.Client, fresh_msal_http: MsalHttp, clock: ShiftableClock
) -> None:
    """With 1-second CI tokens, a token presented 2 seconds later gets AADSTS700024."""
    fresh_emulator.configure(assertion_lifetime_seconds=1)
    token = github_token(fresh_http, fresh_emulator)
    clock.offset = 2
    result = app(fresh_emulator, fresh_msal_http, {"client_assertion": lambda: token}).acquire_token_for_client(
        scopes=[FABRIC_SCOPE]
    )
    assert result["error_codes"] == [700024]
    assert fresh_emulator.assertions == []


def test_subject_without_a_federated_credential_is_refused_naming_it(
    fresh_emulator: Emulator, fresh_http: httpx.Client, fresh_msal_http: MsalHttp
) -> None:
    """A workflow on another branch: AADSTS700213 with the presented subject; the stand-in issues what it is told."""
    subject = "repo:contoso/fabric-releases:ref:refs/heads/feature"
    fresh_emulator.configure(github_subject=subject)
    result = app(
        fresh_emulator, fresh_msal_http, {"client_assertion": lambda: github_token(fresh_http, fresh_emulator)}
    ).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700213]
    assert first_line(result).startswith(
        f"AADSTS700213: No matching federated identity record found for presented assertion subject '{subject}'."
    )
    fresh_emulator.configure(federated_subjects=[subject])
    result = app(
        fresh_emulator, fresh_msal_http, {"client_assertion": lambda: github_token(fresh_http, fresh_emulator)}
    ).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert "access_token" in result, result


def test_subjects_match_case_sensitively(
    fresh_emulator: Emulator, fresh_http: httpx.Client, fresh_msal_http: MsalHttp
) -> None:
    """An Azure DevOps subject that differs only by case does not match (Entra matches case-sensitively)."""
    fresh_emulator.configure(azure_devops_subject="sc://Contoso/fabric/fabric-ci")
    result = app(
        fresh_emulator, fresh_msal_http, {"client_assertion": lambda: azure_devops_token(fresh_http, fresh_emulator)}
    ).acquire_token_for_client(scopes=[FABRIC_SCOPE])
    assert result["error_codes"] == [700213]
    assert "'sc://Contoso/fabric/fabric-ci'" in first_line(result)


def test_github_token_for_the_default_audience_is_refused(
    emulator: Emulator, http: httpx.Client, msal_http: MsalHttp
) -> None:
    """Without audience=api://AzureADTokenExchange GitHub's aud is the owner URL: AADSTS700212 naming it."""
    token = github_token(http, emulator, audience=None)
    result = app(emulator, msal_http, {"client_assertion": lambda: token}).acquire_token_for_client(
        scopes=[FABRIC_SCOPE]
    )
    assert result["error_codes"] == [700212]
    assert "presented assertion audience 'https://github.com/contoso'" in first_line(result)


def test_token_from_an_unknown_issuer_is_refused(emulator: Emulator, http: httpx.Client) -> None:
    """The real GitHub issuer is not the stand-in's: AADSTS700211 naming the issuer."""
    issuer = "https://token.actions.githubusercontent.com"
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": issuer,
            "sub": "repo:contoso/fabric-releases:ref:refs/heads/main",
            "aud": "api://AzureADTokenExchange",
            "iat": now,
            "exp": now + 300,
        },
        other_key(),
        algorithm="RS256",
    )
    response = present(http, emulator, token)
    assert response.status_code == 401
    assert response.json()["error_codes"] == [700211]
    assert f"presented assertion issuer '{issuer}'" in response.json()["error_description"]


def test_token_with_the_stand_in_issuer_but_another_key_fails_signature_validation(
    emulator: Emulator, http: httpx.Client
) -> None:
    """A token claiming the GitHub stand-in as issuer, signed by someone else: AADSTS700027."""
    claims = jwt.decode(github_token(http, emulator), options={"verify_signature": False})
    forged = jwt.encode(
        claims,
        other_key(),
        algorithm="RS256",
    )
    assert present(http, emulator, forged).json()["error_codes"] == [700027]


# -- users ------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:This API has been deprecated:DeprecationWarning")
def test_wrong_password_is_refused_with_aadsts50126(emulator: Emulator, msal_http: MsalHttp) -> None:
    """ROPC with a wrong password: 400 invalid_grant AADSTS50126."""
    client = msal.PublicClientApplication(
        CLIENT_ID, authority=f"{emulator.authority_host}/{TENANT_ID}", instance_discovery=False, http_client=msal_http
    )
    result = client.acquire_token_by_username_password(USER_NAME, "wrong", scopes=[FABRIC_SCOPE])
    assert result["error"] == "invalid_grant"
    assert first_line(result) == "AADSTS50126: Error validating credentials due to invalid username or password."


def test_user_sign_in_for_another_resource_is_refused(emulator: Emulator, http: httpx.Client) -> None:
    """ROPC for a scope the emulator does not serve: invalid_scope AADSTS70011."""
    response = http.post(
        token_endpoint(emulator),
        data={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "username": USER_NAME,
            "password": "emulator-password",
            "scope": "https://graph.microsoft.com/.default openid profile offline_access",
        },
    )
    assert response.status_code == 400
    assert response.json()["error_codes"] == [70011]


def test_unknown_refresh_token_is_refused(emulator: Emulator, http: httpx.Client) -> None:
    """A refresh token the emulator never issued: invalid_grant."""
    response = http.post(
        token_endpoint(emulator),
        data={"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": "x", "scope": FABRIC_SCOPE},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# -- token services ----------------------------------------------------------------------------------------


def test_imds_refuses_a_request_without_the_metadata_header(emulator: Emulator, http: httpx.Client) -> None:
    """IMDS answers 400 invalid_request unless the request carries Metadata: true."""
    response = http.get(
        f"{emulator.url}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": "https://api.fabric.microsoft.com"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Required metadata header not specified",
    }


def test_imds_refuses_an_unknown_identity(
    emulator: Emulator, msal_http: MsalHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user-assigned client id the machine does not have: msal returns IMDS's "Identity not found"."""
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url)
    unknown = msal.UserAssignedManagedIdentity(client_id=str(uuid.uuid4()))
    result = msal.ManagedIdentityClient(unknown, http_client=msal_http).acquire_token_for_client(
        resource="https://api.fabric.microsoft.com"
    )
    assert result == {"error": "invalid_request", "error_description": "Identity not found"}
    assert MANAGED_IDENTITY_CLIENT_ID not in str(result)


def test_imds_refuses_an_unknown_resource(emulator: Emulator, http: httpx.Client) -> None:
    """A resource other than Fabric or Power BI: invalid_resource with Entra's AADSTS500011."""
    response = http.get(
        f"{emulator.url}/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": "https://management.azure.com/"},
        headers={"Metadata": "true"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_resource"
    assert response.json()["error_description"].startswith("AADSTS500011")


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {GITHUB_REQUEST_TOKEN}"])
def test_github_stand_in_requires_the_request_token(
    emulator: Emulator, http: httpx.Client, authorization: str | None
) -> None:
    """Without Authorization: Bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN the GitHub stand-in answers 401."""
    headers = {"Authorization": authorization} if authorization else {}
    response = http.get(emulator.github_request_url + "&audience=api://AzureADTokenExchange", headers=headers)
    assert response.status_code == 401
    assert "not authorized" in response.json()["message"]


def test_azure_devops_stand_in_refusals(emulator: Emulator, http: httpx.Client) -> None:
    """Wrong System.AccessToken: 401; unknown service connection: 404 naming it; no api-version: 400."""
    headers = {"Authorization": "Bearer emulator-system-access-token", "Content-Type": "application/json"}
    unknown = str(uuid.uuid4())
    url = emulator.azure_devops_request_uri
    wrong_token = http.post(
        url,
        params={"api-version": "7.1", "serviceConnectionId": unknown},
        headers={**headers, "Authorization": "Bearer wrong"},
    )
    assert wrong_token.status_code == 401
    not_found = http.post(url, params={"api-version": "7.1", "serviceConnectionId": unknown}, headers=headers)
    assert not_found.status_code == 404
    assert unknown in not_found.json()["message"]
    no_version = http.post(url, params={"serviceConnectionId": unknown}, headers=headers)
    assert no_version.status_code == 400
    assert "api-version" in no_version.json()["message"]


def test_tokens_never_reach_the_request_log(emulator: Emulator, http: httpx.Client) -> None:
    """The CI stand-ins' tokens, assertions and passwords are redacted from the log; the calls are named."""
    github = github_token(http, emulator)
    devops = azure_devops_token(http, emulator)
    assert present(http, emulator, github).status_code == 200
    http.post(
        token_endpoint(emulator),
        data={
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "username": USER_NAME,
            "password": "s3cret-guess",
            "scope": f"{FABRIC_SCOPE} openid profile offline_access",
        },
    )
    logged = repr(emulator.requests)
    assert github not in logged
    assert devops not in logged
    assert "s3cret-guess" not in logged
    assert "'client_assertion': '<redacted>'" in logged
    assert {"GitHub_IdToken", "AzureDevOps_OidcToken"} <= {r.operation for r in emulator.requests}
