"""A legacy PKCS#12 file gpgsm misreads, made at test time, and exports that are handed it first."""

from __future__ import annotations

import datetime
import functools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from campusca.pki.pkcs12 import Pkcs12Contents, export_pkcs12, gpgsm_would_misread, load_pkcs12
from tests.support.ca import rsa_key

MISDERIVED_PASSWORD = b"one-time pass"
MISDERIVED_NAME = "gpgsm KDF vector"
_ITERATIONS = 2048
_ATTEMPTS = 3000  # about 2 % of fresh files qualify: 3000 misses in a row has odds of 1e-26


@functools.cache
def misderived_pkcs12() -> bytes:
    """A legacy PKCS#12 (3DES, 2048 rounds) as cryptography writes it, one of whose salts gpgsm misderives.

    Fresh serialisations of one key are made until `gpgsm_would_misread` flags one; the gpgsm interop
    test checks that gpgsm really refuses it, so the prediction is tried on a new file every run.
    """
    key = rsa_key()  # its own key: no other certificate in a gpgsm home shares it
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MISDERIVED_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(_ITERATIONS)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the legacy profile gpgsm reads
        .build(MISDERIVED_PASSWORD)
    )
    for _ in range(_ATTEMPTS):
        der = pkcs12.serialize_key_and_certificates(b"vector", key, certificate, None, encryption)
        if gpgsm_would_misread(der, MISDERIVED_PASSWORD):
            return der
    raise AssertionError("no serialisation gpgsm would misread was found")


def export_after_misderived(
    monkeypatch: pytest.MonkeyPatch, *, legacy: bool
) -> tuple[bytes, Pkcs12Contents, int]:
    """Export the vector's key and certificate while cryptography's serialiser hands out the vector first.

    Returns the exported file, the vector's contents, and how often export_pkcs12 serialised.
    """
    vector_der = misderived_pkcs12()
    vector = load_pkcs12(vector_der, MISDERIVED_PASSWORD)
    real = pkcs12.serialize_key_and_certificates
    calls: list[object] = []

    def vector_then_real(*args: object) -> bytes:
        calls.append(args)
        return vector_der if len(calls) == 1 else real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pkcs12, "serialize_key_and_certificates", vector_then_real)
    data = export_pkcs12(
        key=vector.key,
        certificate=vector.certificate,
        password=MISDERIVED_PASSWORD,
        legacy=legacy,
        iterations=_ITERATIONS,
    )
    return data, vector, len(calls)
