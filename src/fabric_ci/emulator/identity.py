"""How the Entra stand-in decides who is asking: client secrets, client assertions, users' passwords.

Client assertions (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`)
come in two kinds, told apart as Entra tells them apart, by the issuer:

- iss == the client id: the app signed it with its certificate's key (RFC 7523 client
  authentication; msal with a certificate). The header names the certificate by `x5t` (SHA-1, RS256)
  or `x5t#S256` (SHA-256, PS256); a certificate that is not registered still passes when the header
  carries it in `x5c`, it was issued by the emulator's CA and its CN is the trusted subject
  (subject name/issuer auth, which lets a certificate be renewed without registering it again).
- any other iss: a federated credential, an OIDC token from a trusted issuer (the GitHub Actions and
  Azure DevOps stand-ins), matched against the app's federated identity credentials by issuer,
  audience and subject; all three compare case-sensitively, as Entra has since 2025.

Refusals raise `EntraRefusal`, which the token endpoint turns into Entra's error body. Codes and
wording follow what Entra answers in the same situations (quoted in public issue threads). Entra
tolerates a few minutes of clock skew on assertion times; the emulator tolerates none, so expiry
can be tested in a second or two.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from fabric_ci.emulator import seed
from fabric_ci.emulator.credentials import (
    ClientCertificate,
    SigningKey,
    certificate_from_x5c,
    new_jti,
    thumbprint_from_header,
)
from fabric_ci.emulator.state import AcceptedAssertion, TenantState

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CERTIFICATE_DOCS = (
    "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
)
FEDERATION_HINT = (
    "Check your federated identity credential Subject, Audience and Issuer against the presented assertion. "
    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
)
# The OpenID Connect scopes msal adds to every user sign-in; they ask for an id_token and a refresh token.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# What a user's consent covers, per resource (the delegated permissions a deployment needs).
_DELEGATED = ("Pipeline.Deploy", "Pipeline.ReadWrite.All", "Workspace.ReadWrite.All")
RESOURCE_SCOPES = {seed.FABRIC_SCOPE: seed.FABRIC_RESOURCE, seed.POWERBI_SCOPE: seed.POWERBI_RESOURCE}


class EntraRefusal(Exception):
    """A request Entra refuses: becomes {error, error_description, error_codes, ...} with this status."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description


def _entra_time(timestamp: float) -> str:
    """Times in AADSTS700024 look like 2024-05-28T02:29:01.0000000Z (seven fractional digits)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _malformed() -> EntraRefusal:
    return EntraRefusal(400, "invalid_request", 50027, "AADSTS50027: JWT token is invalid or malformed.")


def _bad_signature() -> EntraRefusal:
    return EntraRefusal(401, "invalid_client", 700027, "AADSTS700027: Client assertion failed signature validation.")


def _no_federated_record(field: str, value: str, code: int) -> EntraRefusal:
    return EntraRefusal(
        401,
        "invalid_client",
        code,
        f"AADSTS{code}: No matching federated identity record found for presented assertion {field} "
        f"'{value}'. {FEDERATION_HINT}",
    )


class ClientAuthenticator:
    """Checks the credential a token request presents for the app: a secret or a client assertion."""

    def __init__(
        self,
        state: TenantState,
        *,
        registered: Callable[[], Iterable[ClientCertificate]],
        ca_certificate: Callable[[], x509.Certificate | None],
        federated_issuer_key: Callable[[str], SigningKey | None],
    ) -> None:
        self.state = state
        self._registered = registered  # known once the emulator has started (the CA is made then)
        self._ca_certificate = ca_certificate
        self._federated_issuer_key = federated_issuer_key

    def authenticate(self, form: Mapping[str, str], token_endpoint: str, *, required: bool) -> None:
        """Raise EntraRefusal unless the request's credential is the app's. `form["client_id"]` is the app."""
        if form.get("client_assertion"):
            self._assertion(form, token_endpoint)
        elif "client_secret" in form:
            if form["client_secret"] != seed.CLIENT_SECRET:
                raise EntraRefusal(
                    401,
                    "invalid_client",
                    7000215,
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID, for a secret added to "
                    f"app '{seed.CLIENT_ID}'.",
                )
        elif required:
            raise EntraRefusal(
                401,
                "invalid_client",
                7000216,
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the "
                f"'{form.get('grant_type', '')}' grant type.",
            )

    # -- client assertions ---------------------------------------------------------------------------

    def _assertion(self, form: Mapping[str, str], token_endpoint: str) -> None:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise EntraRefusal(
                400,
                "invalid_request",
                90014,
                "AADSTS90014: The required field 'client_assertion_type' is missing from the credential, or is "
                f"not '{JWT_BEARER}'. Ensure that you have all the necessary parameters for the login request.",
            )
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _malformed() from None
        issuer = str(unverified.get("iss", ""))
        if issuer.lower() == form["client_id"].lower():
            accepted = self._certificate_assertion(assertion, header, form["client_id"], token_endpoint)
        else:
            accepted = self._federated_assertion(assertion, issuer)
        self.state.record_assertion(accepted)

    def _certificate_assertion(
        self, assertion: str, header: dict[str, Any], client_id: str, token_endpoint: str
    ) -> AcceptedAssertion:
        # msal sends x5t#S256 with PS256, or x5t with RS256 (a SHA-1 thumbprint given by hand, or ADFS).
        presented = header.get("x5t#S256") or header.get("x5t")
        digest = thumbprint_from_header(presented) if isinstance(presented, str) else None
        key = self._registered_key(digest) or self._trusted_subject_key(header.get("x5c"), digest)
        if key is None:
            shown = digest.hex().upper() if digest else ""
            raise EntraRefusal(
                401,
                "invalid_client",
                700027,
                "AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of key used by "
                f"client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph "
                f"to see configured keys for app Id '{seed.CLIENT_ID}'.]",
            )
        claims = _verified_claims(assertion, key, ["RS256", "PS256"])
        if claims.get("aud") != token_endpoint:
            # Entra's code for a certificate assertion addressed elsewhere; the hint is the emulator's.
            raise EntraRefusal(
                401,
                "invalid_client",
                700023,
                "AADSTS700023: Client assertion audience claim does not match Realm issuer. "
                f"{CERTIFICATE_DOCS} (The emulator expects aud '{token_endpoint}'.)",
            )
        if str(claims.get("sub", "")).lower() != client_id.lower():
            raise EntraRefusal(
                401,
                "invalid_client",
                700021,
                f"AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter. "
                f"{CERTIFICATE_DOCS}",
            )
        self._check_times(claims)
        return self._accepted("certificate", claims)

    def _registered_key(self, digest: bytes | None) -> rsa.RSAPublicKey | None:
        if digest is None:
            return None
        for certificate in self._registered():
            cert = certificate.certificate
            if digest in (cert.fingerprint(hashes.SHA1()), cert.fingerprint(hashes.SHA256())):  # noqa: S303
                return _rsa_public_key(cert)
        return None

    def _trusted_subject_key(self, x5c: Any, digest: bytes | None) -> rsa.RSAPublicKey | None:
        """Subject name/issuer auth: the leaf of `x5c`, if our CA issued it to the trusted subject."""
        leaf = certificate_from_x5c(x5c)
        ca = self._ca_certificate()
        if leaf is None or ca is None:
            return None
        if digest is not None and digest not in (leaf.fingerprint(hashes.SHA1()), leaf.fingerprint(hashes.SHA256())):  # noqa: S303
            return None  # the header names one certificate and carries another
        try:
            leaf.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            return None
        now = datetime.fromtimestamp(self.state.now(), UTC)
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return None
        common_names = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        if [str(name.value) for name in common_names] != [seed.CLIENT_CERTIFICATE_SUBJECT]:
            return None
        return _rsa_public_key(leaf)

    def _federated_assertion(self, assertion: str, issuer: str) -> AcceptedAssertion:
        key = self._federated_issuer_key(issuer)
        if key is None:
            raise _no_federated_record("issuer", issuer, 700211)
        claims = _verified_claims(assertion, key.key.public_key(), ["RS256"])
        self._check_times(claims)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if seed.FEDERATED_AUDIENCE not in audiences:
            raise _no_federated_record("audience", ", ".join(str(a) for a in audiences), 700212)
        subject = str(claims.get("sub", ""))
        if subject not in self.state.settings.federated_subjects:
            raise _no_federated_record("subject", subject, 700213)
        return self._accepted("federated", claims)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.state.now()
        expires = claims.get("exp")
        not_before = claims.get("nbf")
        valid_from = not_before if isinstance(not_before, (int, float)) else 0
        if not isinstance(expires, (int, float)) or expires <= now or valid_from > now:
            shown_expiry = _entra_time(expires) if isinstance(expires, (int, float)) else "(none)"
            raise EntraRefusal(
                401,
                "invalid_client",
                700024,
                f"AADSTS700024: Client assertion is not within its valid time range. Current time: "
                f"{_entra_time(now)}, assertion valid from {_entra_time(valid_from)}, expiry time of assertion "
                f"{shown_expiry}. {CERTIFICATE_DOCS}",
            )

    def _accepted(self, kind: str, claims: dict[str, Any]) -> AcceptedAssertion:
        return AcceptedAssertion(
            kind=kind,
            jti=str(claims.get("jti", "")),
            issuer=str(claims.get("iss", "")),
            subject=str(claims.get("sub", "")),
            accepted_at=self.state.now(),
        )


def _rsa_public_key(certificate: x509.Certificate) -> rsa.RSAPublicKey | None:
    key = certificate.public_key()
    return key if isinstance(key, rsa.RSAPublicKey) else None  # the assertion algorithms are RSA-only


def _verified_claims(assertion: str, key: rsa.RSAPublicKey, algorithms: list[str]) -> dict[str, Any]:
    """The claims, once the signature is good; the claims themselves are checked by the caller."""
    try:
        return jwt.decode(
            assertion,
            key,
            algorithms=algorithms,
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        raise _bad_signature() from None
    except jwt.PyJWTError:
        raise _malformed() from None


# -- users --------------------------------------------------------------------------------------------


def resource_scope(scopes: list[str]) -> str | None:
    """The one resource scope of a user sign-in (msal adds the OIDC scopes); None if there is not exactly one."""
    resources = [s for s in scopes if s not in OIDC_SCOPES]
    return resources[0] if len(resources) == 1 and resources[0] in RESOURCE_SCOPES else None


def check_user(username: str, password: str) -> None:
    """The demo user's password check (ROPC)."""
    # Real Entra may answer AADSTS50034 for an account that does not exist; one answer for both keeps
    # the emulator from telling which half was wrong.
    if username.lower() != seed.USER_NAME or password != seed.USER_PASSWORD:
        raise EntraRefusal(
            400,
            "invalid_grant",
            50126,
            "AADSTS50126: Error validating credentials due to invalid username or password.",
        )


def user_token_response(
    state: TenantState, signing_key: SigningKey, issuer: str, scopes: list[str], resource: str, *, client_info: bool
) -> dict[str, Any]:
    """What Entra answers a user sign-in: the access token, and what msal needs for its account cache.

    `scope` lists the granted permissions and echoes `.default`, as Entra does: msal files the
    access token under these scopes, so a later acquire_token_silent for `.default` finds it.
    """
    token, lifetime = state.issue_token()
    base = RESOURCE_SCOPES[resource]
    response: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join([f"{base}/{permission}" for permission in _DELEGATED] + [resource]),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }
    if "offline_access" in scopes:
        response["refresh_token"] = state.issue_refresh_token(seed.USER_NAME)
    if "openid" in scopes:
        response["id_token"] = signing_key.sign(_id_token_claims(state.now(), issuer, "profile" in scopes))
    if client_info:
        # msal builds the account's home_account_id ("<uid>.<utid>") from this.
        info = json.dumps({"uid": seed.USER_PRINCIPAL_ID, "utid": seed.TENANT_ID}).encode()
        response["client_info"] = base64.urlsafe_b64encode(info).decode().rstrip("=")
    return response


def _id_token_claims(now: float, issuer: str, profile: bool) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": seed.CLIENT_ID,
        "iss": issuer,
        "iat": int(now),
        "nbf": int(now),
        "exp": math.ceil(now) + 3600,
        "oid": seed.USER_PRINCIPAL_ID,
        # Entra's sub is pairwise: stable per user and app, different from the object id.
        "sub": seed.stable_id("sub", seed.CLIENT_ID, seed.USER_PRINCIPAL_ID),
        "tid": seed.TENANT_ID,
        "uti": new_jti(),
        "ver": "2.0",
    }
    if profile:
        claims |= {"name": seed.USER_DISPLAY_NAME, "preferred_username": seed.USER_NAME}
    return claims
