"""Client certificates: PEM text, a PEM or PFX/PKCS#12 file, or a base64 PFX, loaded before any request.

Loading checks everything Entra ID would otherwise reject later with an opaque AADSTS code: the
key decrypts, it is an RSA key (client assertions are RS256/PS256), and a certificate in the
input matches it. Nothing here ever echoes the input's value: it may be a private key.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

CERTIFICATE_INPUT = "client-certificate"
PASSWORD_INPUT = "client-certificate-password"  # noqa: S105 - an input name
_PRIVATE_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:ENCRYPTED |RSA |EC |DSA )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)
_EXPECTED = (
    "expected PEM text holding a private key and its certificate, the path of a .pem or .pfx/.p12 file, "
    "or a base64-encoded .pfx"
)


class CredentialError(ValueError):
    """A credential input that cannot be used; `input_name` is the input to fix."""

    def __init__(self, input_name: str, message: str) -> None:
        super().__init__(message)
        self.input_name = input_name


@dataclass(frozen=True, repr=False)
class ClientCertificate:
    """An RSA key and its certificate chain, ready for msal. The key lives only in memory."""

    private_key_pem: str  # unencrypted PKCS#8
    chain_pem: str  # the key's certificate first, then any others from the input
    sha1_thumbprint: str  # hex, as Entra shows it
    sha256_thumbprint: str
    subject: str
    not_after: datetime

    def __repr__(self) -> str:  # never the key
        return f"ClientCertificate(subject={self.subject!r}, sha1_thumbprint={self.sha1_thumbprint!r})"

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) > self.not_after


def load_client_certificate(value: str, password: str | None) -> ClientCertificate:
    data, source = _read(value)
    if b"-----BEGIN" in data:
        return _from_pem(data, password, source)
    return _from_pkcs12(data, password, source)


def _path(text: str) -> Path:
    """`text` as a path, with `~` expanded when there is a home directory to expand it to."""
    try:
        return Path(text).expanduser()
    except RuntimeError:  # `~someone` of no known user, or no home directory at all: a plain name
        return Path(text)


def is_existing_file(text: str) -> bool:
    """Whether a one-line value names a file (a long base64 value makes the OS refuse the name)."""
    try:
        return "\n" not in text and _path(text.strip()).is_file()
    except (OSError, ValueError):
        return False


def _read(value: str) -> tuple[bytes, str]:
    text = value.strip()
    if "-----BEGIN" in text:
        return text.encode(), "the PEM text"
    if "\n" not in text and len(text) < 4096:
        path = _path(text)
        if is_existing_file(text):
            try:
                return path.read_bytes(), f"the file {str(path)!r}"
            except OSError as error:
                raise CredentialError(
                    CERTIFICATE_INPUT, f"the file {str(path)!r} cannot be read: {error.strerror}"
                ) from None
        if path.suffix.lower() in {".pem", ".pfx", ".p12", ".crt", ".key"}:
            raise CredentialError(CERTIFICATE_INPUT, f"{_EXPECTED}; the file {text!r} does not exist")
    try:
        return base64.b64decode("".join(text.split()), validate=True), "the base64 text"
    except (binascii.Error, ValueError):
        raise CredentialError(
            CERTIFICATE_INPUT, f"{_EXPECTED}; the value is neither an existing file nor PEM or base64 text"
        ) from None


def _from_pem(data: bytes, password: str | None, source: str) -> ClientCertificate:
    blocks = [match.group(0) for match in _PRIVATE_KEY_BLOCK.finditer(data)]
    if not blocks:
        raise CredentialError(CERTIFICATE_INPUT, f"{source} has no private key: {_EXPECTED}")
    if len(blocks) > 1:
        raise CredentialError(CERTIFICATE_INPUT, f"{source} has {len(blocks)} private keys; give exactly one")
    encrypted = blocks[0].startswith(b"-----BEGIN ENCRYPTED") or b"Proc-Type: 4,ENCRYPTED" in blocks[0]
    if encrypted and not password:
        raise CredentialError(PASSWORD_INPUT, f"required: the private key in {source} is encrypted")
    try:
        key = serialization.load_pem_private_key(blocks[0], password.encode() if encrypted and password else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise CredentialError(PASSWORD_INPUT, f"does not decrypt the private key in {source}") from None
        raise CredentialError(CERTIFICATE_INPUT, f"the private key in {source} cannot be read") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CredentialError(
            CERTIFICATE_INPUT, f"{source} has no certificate beside its private key: {_EXPECTED}"
        ) from None
    return _assemble(key, certificates, source)


def _from_pkcs12(data: bytes, password: str | None, source: str) -> ClientCertificate:
    if not data.startswith(b"\x30"):  # DER: PKCS#12 is an ASN.1 SEQUENCE
        raise CredentialError(CERTIFICATE_INPUT, f"{source} is neither PEM nor a PKCS#12 (.pfx) file: {_EXPECTED}")
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # wrong password, damaged, or a legacy cipher
        if password:
            raise CredentialError(
                PASSWORD_INPUT, f"does not open the PKCS#12 (.pfx) data in {source}, or that data is damaged"
            ) from None
        raise CredentialError(
            CERTIFICATE_INPUT,
            f"{source} is not PEM, and does not open as a PKCS#12 (.pfx) file without a password; "
            f"if it is a protected .pfx, give {PASSWORD_INPUT}",
        ) from None
    if key is None:
        raise CredentialError(CERTIFICATE_INPUT, f"the PKCS#12 (.pfx) data in {source} holds no private key")
    return _assemble(key, [c for c in [certificate, *others] if c is not None], source)


def _assemble(key: object, certificates: list[x509.Certificate], source: str) -> ClientCertificate:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(
            CERTIFICATE_INPUT,
            f"the private key in {source} is not an RSA key; Entra ID client certificates must be RSA",
        )
    public = key.public_key().public_numbers()
    own = [
        c for c in certificates if isinstance(pk := c.public_key(), rsa.RSAPublicKey) and pk.public_numbers() == public
    ]
    if not own:
        raise CredentialError(CERTIFICATE_INPUT, f"no certificate in {source} matches its private key")
    leaf = own[0]
    chain = [leaf, *[c for c in certificates if c is not leaf]]
    return ClientCertificate(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        chain_pem="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
        sha1_thumbprint=leaf.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Entra's x5t is SHA-1
        sha256_thumbprint=leaf.fingerprint(hashes.SHA256()).hex().upper(),
        subject=leaf.subject.rfc4514_string(),
        not_after=leaf.not_valid_after_utc,
    )
