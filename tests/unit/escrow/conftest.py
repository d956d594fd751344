"""Fixtures for the escrow tests: RSA-2048 keys made once per session, a certificate, cheap argon2."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from campusca.escrow import ArchiveBinding, Argon2Parameters, EscrowDomainKey
from tests.unit.escrow.helpers import CHEAP_ARGON2, make_certificate, pkcs8_der


@pytest.fixture(scope="session")
def cheap_argon2() -> Argon2Parameters:
    return CHEAP_ARGON2


@pytest.fixture(scope="session")
def domain_key() -> EscrowDomainKey:
    return EscrowDomainKey.generate(key_size=2048)


@pytest.fixture(scope="session")
def other_domain_key() -> EscrowDomainKey:
    return EscrowDomainKey.generate(key_size=2048)


@pytest.fixture(scope="session")
def person_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def person_key_der(person_key: rsa.RSAPrivateKey) -> bytes:
    return pkcs8_der(person_key)


@pytest.fixture(scope="session")
def person_certificate(person_key: rsa.RSAPrivateKey) -> x509.Certificate:
    return make_certificate(person_key, serial=0x1234_5678_9ABC_DEF0, subject="bob@example.edu")


@pytest.fixture(scope="session")
def binding(person_certificate: x509.Certificate) -> ArchiveBinding:
    return ArchiveBinding.for_certificate(person_certificate, owner="bob")


@pytest.fixture(scope="session")
def other_person_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
