"""What the emulator hands out for signing in: `sign_in()`, the certificate files, the issuers' metadata, settings."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from fabric_ci.emulator import Emulator
from fabric_ci.emulator.seed import (
    CLIENT_CERTIFICATE_PASSWORD,
    CLIENT_CERTIFICATE_SUBJECT,
    CLIENT_ID,
    CLIENT_SECRET,
    FEDERATED_AUDIENCE,
    FEDERATED_SUBJECTS,
    GITHUB_REQUEST_TOKEN,
    MANAGED_IDENTITY_CLIENT_ID,
    SERVICE_CONNECTION_ID,
    TENANT_ID,
    USER_NAME,
    USER_PASSWORD,
)
from fabric_ci.emulator.sign_in import SIGN_IN_METHODS
from tests.unit.emulator.helpers import azure_devops_token, github_token

COMMON = {"tenant-id", "api-base-url", "authority-host", "ca-bundle", "auth"}


@pytest.mark.parametrize("method", SIGN_IN_METHODS)
def test_every_sign_in_has_the_common_inputs(emulator: Emulator, method: str) -> None:
    """tenant-id, api-base-url, authority-host, ca-bundle and auth come with every method."""
    sign_in = emulator.sign_in(method)
    assert set(sign_in.inputs) >= COMMON
    assert sign_in.inputs["tenant-id"] == TENANT_ID
    assert sign_in.inputs["ca-bundle"] == emulator.ca_path


def test_sign_in_inputs_and_environment_per_method(emulator: Emulator) -> None:
    """Each method carries its own credential inputs and the environment its CI system or machine sets."""
    assert emulator.sign_in("secret").inputs["client-secret"] == CLIENT_SECRET
    certificate = emulator.sign_in("certificate").inputs
    assert (certificate["auth"], certificate["client-certificate"]) == ("certificate", emulator.client_certificate_path)
    pfx = emulator.sign_in("certificate-pfx").inputs
    assert (pfx["client-certificate"], pfx["client-certificate-password"]) == (
        emulator.client_pfx_path,
        CLIENT_CERTIFICATE_PASSWORD,
    )
    github = emulator.sign_in("oidc-github")
    assert (github.inputs["auth"], github.inputs["client-id"]) == ("oidc", CLIENT_ID)
    assert github.environment == {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{emulator.url}/_github/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN,
    }
    devops = emulator.sign_in("oidc-azure-devops").environment
    assert devops["SYSTEM_OIDCREQUESTURI"].startswith(f"{emulator.url}/_azure-devops/contoso/")
    assert devops["SYSTEM_OIDCREQUESTURI"].endswith("/oidctoken")
    assert devops["SYSTEM_ACCESSTOKEN"] == "emulator-system-access-token"
    assert devops["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"] == SERVICE_CONNECTION_ID
    identity = emulator.sign_in("managed-identity")
    assert (identity.inputs["auth"], identity.inputs["client-id"]) == ("managed-identity", MANAGED_IDENTITY_CLIENT_ID)
    assert identity.environment == {"AZURE_POD_IDENTITY_AUTHORITY_HOST": emulator.url}
    user = emulator.sign_in("user-password").inputs
    assert (user["auth"], user["username"], user["password"], user["client-id"]) == (
        "user-password",
        USER_NAME,
        USER_PASSWORD,
        CLIENT_ID,
    )


def test_unknown_sign_in_method_names_the_known_ones(emulator: Emulator) -> None:
    """A method the emulator does not know is a ValueError listing the ones it does."""
    with pytest.raises(ValueError, match="certificate-pfx"):
        emulator.sign_in("kerberos")


def test_certificate_files_hold_the_registered_certificate(emulator: Emulator) -> None:
    """The PEM, encrypted PEM and PFX all hold the registered certificate, private to their owner."""
    certificate = emulator.client_certificate
    plain = Path(emulator.client_certificate_path).read_bytes()
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert x509.load_pem_x509_certificate(plain) == certificate.certificate
    encrypted = Path(emulator.client_certificate_encrypted_path).read_bytes()
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(encrypted, password=None)
    key = serialization.load_pem_private_key(encrypted, password=CLIENT_CERTIFICATE_PASSWORD.encode())
    assert key.public_key() == certificate.certificate.public_key()
    pfx_key, pfx_cert, chain = pkcs12.load_key_and_certificates(
        Path(emulator.client_pfx_path).read_bytes(), CLIENT_CERTIFICATE_PASSWORD.encode()
    )
    assert pfx_cert == certificate.certificate
    assert pfx_key is not None
    assert [c.subject for c in chain] == [x509.load_pem_x509_certificate(Path(emulator.ca_path).read_bytes()).subject]
    assert certificate.common_name == CLIENT_CERTIFICATE_SUBJECT
    for path in (
        emulator.client_certificate_path,
        emulator.client_certificate_encrypted_path,
        emulator.client_pfx_path,
    ):
        assert Path(path).parent == Path(emulator.ca_path).parent
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("issuer_of", "fetch"), [("github_issuer", github_token), ("azure_devops_issuer", azure_devops_token)]
)
def test_issuers_publish_keys_that_verify_their_tokens(
    emulator: Emulator, http: httpx.Client, issuer_of: str, fetch: Callable[[httpx.Client, Emulator], str]
) -> None:
    """Like the real issuers, each stand-in serves openid-configuration and a JWKS that verifies its tokens."""
    issuer = getattr(emulator, issuer_of)
    configuration = http.get(f"{issuer}/.well-known/openid-configuration").json()
    assert configuration["issuer"] == issuer
    keys = http.get(configuration["jwks_uri"]).json()["keys"]
    token = fetch(http, emulator)
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"]))
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=FEDERATED_AUDIENCE, issuer=issuer)
    assert claims["sub"] in FEDERATED_SUBJECTS


def test_user_realm_discovery_says_managed_for_the_demo_domain(emulator: Emulator, http: httpx.Client) -> None:
    """msal's user realm call finds a Managed account for contoso.example, Unknown for other domains."""
    realm = http.get(f"{emulator.url}/common/userrealm/{USER_NAME}", params={"api-version": "1.0"}).json()
    assert realm["account_type"] == "Managed"
    other = http.get(f"{emulator.url}/common/userrealm/someone@example.org", params={"api-version": "1.0"}).json()
    assert other["account_type"] == "Unknown"


def test_sign_in_settings_change_through_the_control_api(fresh_emulator: Emulator, fresh_http: httpx.Client) -> None:
    """/_emulator/configure takes the sign-in settings and answers with them; bad ones are refused."""
    answer = fresh_http.post(
        f"{fresh_emulator.url}/_emulator/configure",
        json={
            "assertion_lifetime_seconds": 5,
            "github_subject": "repo:contoso/other:ref:refs/heads/main",
            "federated_subjects": ["repo:contoso/other:ref:refs/heads/main"],
        },
    ).json()
    assert answer["assertion_lifetime_seconds"] == 5
    assert answer["github_subject"] == "repo:contoso/other:ref:refs/heads/main"
    assert answer["federated_subjects"] == ["repo:contoso/other:ref:refs/heads/main"]
    claims = jwt.decode(github_token(fresh_http, fresh_emulator), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] in (5, 6)
    assert claims["repository"] == "contoso/other"
    refused = fresh_http.post(f"{fresh_emulator.url}/_emulator/configure", json={"assertion_lifetime_seconds": 0})
    assert refused.status_code == 400


def test_accepted_assertions_are_listed_by_the_control_api(fresh_emulator: Emulator, fresh_http: httpx.Client) -> None:
    """/_emulator/assertions lists each accepted assertion's kind, jti, issuer and subject."""
    token = github_token(fresh_http, fresh_emulator)
    response = fresh_http.post(
        f"{fresh_emulator.authority_host}/{TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "scope": "https://api.fabric.microsoft.com/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token,
        },
    )
    assert response.status_code == 200, response.text
    [listed] = fresh_http.get(f"{fresh_emulator.url}/_emulator/assertions").json()["value"]
    assert listed["kind"] == "federated"
    assert listed["jti"] == jwt.decode(token, options={"verify_signature": False})["jti"]
    assert listed["issuer"] == fresh_emulator.github_issuer
