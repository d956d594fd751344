"""Fixtures for the SCEP codec tests: a CA, its RA, a client key pair and CSRs built like clients do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tests.support.scep_client import make_transient_signer


@dataclass(frozen=True)
class Party:
    """A key and its certificate."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _usage(*, sign: bool, encipher: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    subject: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: Party | None,
    *,
    ca: bool = False,
    serial: int | None = None,
) -> x509.Certificate:
    """A certificate for `key`, signed by `issuer` (self-signed when None)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    issuer_name = issuer.certificate.subject if issuer else name
    signing_key = issuer.key if issuer else key
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(sign=True, encipher=not ca, ca=ca), critical=True)
        .sign(signing_key, hashes.SHA256())  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def ca() -> Party:
    key = _key()
    return Party(key, issue("Campus Test CA", key, None, ca=True))


@pytest.fixture(scope="session")
def ra(ca: Party) -> Party:
    key = _key()
    return Party(key, issue("Campus SCEP RA", key, ca))


@pytest.fixture(scope="session")
def stranger() -> Party:
    """An RSA certificate the server does not hold the key of."""
    key = _key()
    return Party(key, issue("Somebody Else", key, None))


@pytest.fixture(scope="session")
def device_key() -> rsa.RSAPrivateKey:
    return _key()


@pytest.fixture(scope="session")
def device(device_key: rsa.RSAPrivateKey) -> Party:
    """The iPhone's key with its transient self-signed signer certificate (CN=<UUID>)."""
    return Party(device_key, make_transient_signer(device_key))


@pytest.fixture(scope="session")
def issued(ca: Party, device_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The certificate the CA issued to the device (used by RenewalReq and the replies)."""
    return issue("device-001", device_key, ca)


def build_csr_der(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    common_name: str = "device-001",
    challenge: core.Asn1Value | None = None,
    version: int = 0,
    digest: hashes.HashAlgorithm | None = None,
) -> bytes:
    """A PKCS#10 request built field by field, so tests control the challenge's string type and version."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    attributes = []
    if challenge is not None:
        attributes.append(
            asn1_csr.CRIAttribute(
                {
                    "type": "challenge_password",
                    "values": [
                        asn1_x509.DirectoryString(name=_DIRECTORY_CHOICES[type(challenge)], value=challenge)
                    ],
                }
            )
        )
    info = asn1_csr.CertificationRequestInfo(
        {
            "version": version,
            "subject": asn1_x509.Name.build({"common_name": common_name}),
            "subject_pk_info": asn1_keys.PublicKeyInfo.load(public),
            "attributes": attributes,
        }
    )
    algorithm = digest or hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(info.dump(), padding.PKCS1v15(), algorithm)
        signature_algorithm = f"{algorithm.name}_rsa"
    else:
        signature = key.sign(info.dump(), ec.ECDSA(algorithm))
        signature_algorithm = f"{algorithm.name}_ecdsa"
    request = asn1_csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": {"algorithm": signature_algorithm},
            "signature": signature,
        }
    )
    return bytes(request.dump())


_DIRECTORY_CHOICES = {
    core.PrintableString: "printable_string",
    core.UTF8String: "utf8_string",
    core.IA5String: "ia5_string",
    core.BMPString: "bmp_string",
}


@pytest.fixture(scope="session")
def csr(device_key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    """A CSR like iOS sends: challenge as PrintableString."""
    return x509.load_der_x509_csr(build_csr_der(device_key, challenge=core.PrintableString("s3cret-123")))
