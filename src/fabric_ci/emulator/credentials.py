"""The keys and certificates behind the emulator's sign-in methods.

- The client certificate registered on the app: issued at start by the same throwaway trustme CA
  that signs the server certificate, and written next to ca.pem as PEM (plain and encrypted) and
  PKCS#12, the three forms users hold certificates in.
- RSA signing keys: one per token issuer the emulator plays (Entra's id_tokens, the GitHub Actions
  and Azure DevOps OIDC stand-ins), published as JWKS the way the real issuers publish theirs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from fabric_ci.emulator import seed

CLIENT_CERTIFICATE_FILE = "client-certificate.pem"
CLIENT_CERTIFICATE_ENCRYPTED_FILE = "client-certificate-encrypted.pem"
CLIENT_PFX_FILE = "client-certificate.pfx"


@dataclass(frozen=True)
class ClientCertificate:
    """An RSA key and the certificate the emulator's CA issued for it."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def private_key_pem(self) -> str:
        """The key, unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def sha1_thumbprint(self) -> str:
        """Hex, upper-case: how the Azure portal shows a certificate's thumbprint."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - x5t is SHA-1 by definition

    @property
    def sha256_thumbprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def common_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def encrypted_private_key_pem(self, password: str) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        ).decode()

    def pfx(self, password: str, chain: list[x509.Certificate]) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            seed.CLIENT_CERTIFICATE_SUBJECT.encode(),
            self.key,
            self.certificate,
            chain,
            serialization.BestAvailableEncryption(password.encode()),
        )


def issue_client_certificate(ca: trustme.CA, common_name: str) -> ClientCertificate:
    """A fresh RSA client certificate from `ca` (RSA: the assertion algorithms are RS256 and PS256)."""
    leaf = ca.issue_cert(common_name=common_name, key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):  # trustme honours key_type; this keeps mypy sure of it
        raise TypeError("trustme issued a non-RSA key")
    return ClientCertificate(key, x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()))


def write_client_certificate_files(
    folder: Path, certificate: ClientCertificate, ca_certificate: x509.Certificate
) -> dict[str, Path]:
    """The three files users pick from, by name: key then certificate, as most tools expect."""
    password = seed.CLIENT_CERTIFICATE_PASSWORD
    contents = {
        CLIENT_CERTIFICATE_FILE: (certificate.private_key_pem + certificate.certificate_pem).encode(),
        CLIENT_CERTIFICATE_ENCRYPTED_FILE: (
            certificate.encrypted_private_key_pem(password) + certificate.certificate_pem
        ).encode(),
        CLIENT_PFX_FILE: certificate.pfx(password, [ca_certificate]),
    }
    paths = {}
    for name, data in contents.items():
        path = folder / name
        # Private keys: readable by the owner only, even though they are throwaway demo keys.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        paths[name] = path
    return paths


def thumbprint_from_header(value: str) -> bytes | None:
    """The digest an `x5t` / `x5t#S256` header carries (base64url without padding), or None if garbled."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        return None


def certificate_from_x5c(value: Any) -> x509.Certificate | None:
    """The leaf of an `x5c` header (standard base64 DER, leaf first), or None if there is none."""
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return None
    try:
        return x509.load_der_x509_certificate(base64.b64decode(value[0]))
    except ValueError:
        return None


@functools.cache
def _rsa_key(purpose: str) -> rsa.RSAPrivateKey:
    # Generated once per process and shared by every emulator in it: tests start many emulators,
    # and these keys protect nothing (each emulator's issuer URLs differ, so tokens do not cross).
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class SigningKey:
    """An issuer's RSA key: signs its tokens, published in its JWKS under `kid`."""

    kid: str
    key: rsa.RSAPrivateKey

    @classmethod
    def for_issuer(cls, purpose: str) -> SigningKey:
        key = _rsa_key(purpose)
        # The kid is derived from the key, as issuers derive theirs, so it is stable while the key is.
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:16]).decode().rstrip("=")
        return cls(kid, key)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


def new_jti() -> str:
    return str(uuid.uuid4())
