"""Tests of check_key_matches_certificate: campusca checks it before archiving and releasing a key."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.escrow import DecodeError, KeyMismatch, check_key_matches_certificate
from tests.unit.escrow.helpers import pkcs8_der


def test_check_key_matches_certificate_accepts_matching_key(
    person_key_der: bytes, person_certificate: x509.Certificate
) -> None:
    assert check_key_matches_certificate(person_key_der, person_certificate) is None


def test_check_key_matches_certificate_rejects_other_key(
    other_person_key: rsa.RSAPrivateKey, person_certificate: x509.Certificate
) -> None:
    with pytest.raises(KeyMismatch, match="does not match the certificate's public key"):
        check_key_matches_certificate(pkcs8_der(other_person_key), person_certificate)


def test_check_key_matches_certificate_rejects_malformed_key(person_certificate: x509.Certificate) -> None:
    with pytest.raises(DecodeError, match="private_key_der must be an unencrypted PKCS#8 DER"):
        check_key_matches_certificate(b"\x30\x03\x02\x01\x00", person_certificate)


def test_check_key_matches_certificate_rejects_non_certificate(person_key_der: bytes) -> None:
    with pytest.raises(TypeError, match="certificate must be an x509.Certificate"):
        check_key_matches_certificate(person_key_der, b"der")  # type: ignore[arg-type]
