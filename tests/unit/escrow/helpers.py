"""Helpers for the escrow tests: key serialisation, a test certificate, cheap argon2 parameters."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from campusca.escrow import Argon2Parameters

# Real argon2id with the smallest cost argon2 accepts: the tests exercise the code path, not the cost.
CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost_kib=8, parallelism=1)


def pkcs8_der(key: rsa.RSAPrivateKey) -> bytes:
    """Serialise a key as unencrypted PKCS#8 DER."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_certificate(key: rsa.RSAPrivateKey, *, serial: int, subject: str) -> x509.Certificate:
    """Issue a certificate for `key` from a throwaway issuer name, signed by the key itself."""
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Campus Test CA")]))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
