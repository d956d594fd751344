"""Tests of EscrowDomainKey: generation, PKCS#8 loading and what it exposes."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from campusca.escrow import DecodeError, EscrowDomainKey, InvalidParameter
from tests.unit.escrow.helpers import pkcs8_der


def test_generate_defaults_to_rsa_3072() -> None:
    key = EscrowDomainKey.generate()
    assert key.public_key().key_size == 3072


def test_domain_key_round_trips_through_pkcs8_der(domain_key: EscrowDomainKey) -> None:
    again = EscrowDomainKey(domain_key.private_key_der)
    assert again == domain_key
    assert again.public_key_pem == domain_key.public_key_pem
    assert domain_key.private_key_der.startswith(b"\x30")


def test_public_key_pem_is_a_subject_public_key_info(domain_key: EscrowDomainKey) -> None:
    pem = domain_key.public_key_pem
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(pem)
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == domain_key.public_key().public_numbers()


def test_public_key_sha256_is_digest_of_spki(domain_key: EscrowDomainKey) -> None:
    spki = domain_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert domain_key.public_key_sha256 == hashlib.sha256(spki).digest()


def test_decrypter_opens_oaep_wrapped_to_public_key(domain_key: EscrowDomainKey) -> None:
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    wrapped = domain_key.public_key().encrypt(b"data key", oaep)
    assert domain_key.decrypter().decrypt(wrapped, oaep) == b"data key"


def test_repr_never_shows_private_key(domain_key: EscrowDomainKey) -> None:
    assert domain_key.private_key_der.hex() not in repr(domain_key)
    assert repr(domain_key) == "EscrowDomainKey()"


def test_domain_key_rejects_ec_key() -> None:
    der = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidParameter, match="must be an RSA key"):
        EscrowDomainKey(der)


def test_domain_key_rejects_rsa_1024() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(InvalidParameter, match="at least 2048 bits"):
        EscrowDomainKey(pkcs8_der(weak))


def test_domain_key_rejects_pkcs1_der(domain_key: EscrowDomainKey) -> None:
    key = serialization.load_der_private_key(domain_key.private_key_der, password=None)
    pkcs1 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    with pytest.raises(DecodeError, match="unencrypted PKCS#8 DER"):
        EscrowDomainKey(pkcs1)


@pytest.mark.parametrize(
    ("key_size", "error"),
    [
        pytest.param(1024, InvalidParameter, id="fail-small"),
        pytest.param(True, TypeError, id="fail-bool"),
        pytest.param("3072", TypeError, id="fail-str"),
    ],
)
def test_generate_rejects_bad_key_size(key_size: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        EscrowDomainKey.generate(key_size=key_size)  # type: ignore[arg-type]
