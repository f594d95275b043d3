"""Client certificates load from every form users keep them in, and every flaw is an input error
that names the input to fix and never echoes the value."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from fabric_ci.models.credentials import ClientCertificate, CredentialError, load_client_certificate

PASSWORD = "pfx-pass"


@pytest.fixture(scope="module")
def issued() -> trustme.LeafCert:
    return trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        common_name="fabric-ci-test", key_type=trustme.KeyType.RSA
    )


def key_and_cert(issued: trustme.LeafCert) -> tuple[object, x509.Certificate]:
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
    certificate = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    return key, certificate


def pem(issued: trustme.LeafCert) -> str:
    return issued.private_key_pem.bytes().decode() + "".join(c.bytes().decode() for c in issued.cert_chain_pems)


def encrypted_pem(issued: trustme.LeafCert) -> str:
    key, _ = key_and_cert(issued)
    encrypted = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    ).decode()
    return encrypted + issued.cert_chain_pems[0].bytes().decode()


def pfx(issued: trustme.LeafCert, password: str | None = PASSWORD) -> bytes:
    key, certificate = key_and_cert(issued)
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"client", key, certificate, None, encryption)  # type: ignore[arg-type]


def check(certificate: ClientCertificate, issued: trustme.LeafCert) -> None:
    _, expected = key_and_cert(issued)
    assert certificate.sha1_thumbprint == expected.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    assert certificate.sha256_thumbprint == expected.fingerprint(hashes.SHA256()).hex().upper()
    assert "fabric-ci-test" in certificate.subject
    assert certificate.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # decrypted, PKCS#8
    assert certificate.chain_pem.startswith(expected.public_bytes(serialization.Encoding.PEM).decode())
    assert not certificate.expired()


def test_pem_text(issued: trustme.LeafCert) -> None:
    check(load_client_certificate(pem(issued), None), issued)


def test_pem_file_and_encrypted_pem(issued: trustme.LeafCert, tmp_path: Path) -> None:
    plain = tmp_path / "client.pem"
    plain.write_text(pem(issued))
    check(load_client_certificate(str(plain), None), issued)
    check(load_client_certificate(encrypted_pem(issued), PASSWORD), issued)


def test_pfx_file_and_base64_pfx(issued: trustme.LeafCert, tmp_path: Path) -> None:
    path = tmp_path / "client.pfx"
    path.write_bytes(pfx(issued))
    check(load_client_certificate(str(path), PASSWORD), issued)
    check(load_client_certificate(base64.b64encode(pfx(issued)).decode(), PASSWORD), issued)
    check(load_client_certificate(base64.b64encode(pfx(issued, None)).decode(), None), issued)


def test_the_certificate_is_matched_to_the_key_whatever_the_order(issued: trustme.LeafCert) -> None:
    """A PEM bundle listing the CA first still picks the key's own certificate."""
    reordered = issued.private_key_pem.bytes().decode() + "".join(
        c.bytes().decode() for c in reversed(issued.cert_chain_pems)
    )
    check(load_client_certificate(reordered, None), issued)


@pytest.mark.parametrize(
    ("make", "password", "input_name", "expected"),
    [
        (lambda i, _p: encrypted_pem(i), None, "client-certificate-password", "required: the private key"),
        (lambda i, _p: encrypted_pem(i), "wrong", "client-certificate-password", "does not decrypt"),
        (lambda i, p: str(p / "client.pfx"), "wrong", "client-certificate-password", "does not open the PKCS#12"),
        (lambda i, p: str(p / "client.pfx"), None, "client-certificate", "give client-certificate-password"),
        (lambda i, _p: i.cert_chain_pems[0].bytes().decode(), None, "client-certificate", "has no private key"),
        (lambda i, _p: i.private_key_pem.bytes().decode(), None, "client-certificate", "no certificate beside"),
        (lambda _i, p: str(p / "missing.pem"), None, "client-certificate", "does not exist"),
        (lambda _i, _p: "not a certificate!", None, "client-certificate", "neither an existing file"),
    ],
)
def test_flaws_name_the_input_to_fix(
    issued: trustme.LeafCert, tmp_path: Path, make: object, password: str | None, input_name: str, expected: str
) -> None:
    (tmp_path / "client.pfx").write_bytes(pfx(issued))
    value = make(issued, tmp_path)  # type: ignore[operator]
    with pytest.raises(CredentialError) as raised:
        load_client_certificate(value, password)
    assert raised.value.input_name == input_name
    assert expected in str(raised.value)
    assert "PRIVATE KEY-----\n" not in str(raised.value)  # the value is never echoed


def test_a_key_without_its_certificate_or_not_rsa_is_refused(issued: trustme.LeafCert) -> None:
    other = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        common_name="someone-else", key_type=trustme.KeyType.RSA
    )
    mismatched = issued.private_key_pem.bytes().decode() + other.cert_chain_pems[0].bytes().decode()
    with pytest.raises(CredentialError, match="no certificate in the PEM text matches its private key"):
        load_client_certificate(mismatched, None)
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CredentialError, match="not an RSA key"):
        load_client_certificate(ec_key.decode() + issued.cert_chain_pems[0].bytes().decode(), None)


def test_repr_never_shows_the_key(issued: trustme.LeafCert) -> None:
    certificate = load_client_certificate(pem(issued), None)
    assert "PRIVATE" not in repr(certificate)
    assert certificate.sha1_thumbprint in repr(certificate)
