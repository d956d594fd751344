"""Tests of archive records: round trip, and every alteration or wrong key fails the same clean way."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from campusca.errors import CampusCAError
from campusca.escrow import (
    ArchiveBinding,
    ArchiveIntegrityError,
    ArchiveRecord,
    DecodeError,
    EscrowDomainKey,
    EscrowError,
    InvalidParameter,
    KeyWrapAlgorithm,
    archive_private_key,
    recover_private_key,
)


@pytest.fixture(scope="module")
def record(domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding) -> ArchiveRecord:
    return archive_private_key(person_key_der, domain_public_key=domain_key.public_key(), binding=binding)


def _flip(data: bytes, position: int = -1) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def _recover(record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding) -> bytes:
    return recover_private_key(record, domain_decrypter=domain_key.decrypter(), binding=binding)


def test_recover_private_key_returns_archived_key(
    record: ArchiveRecord, domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    assert _recover(record, domain_key, binding) == person_key_der


def test_archive_record_round_trips_through_bytes(
    record: ArchiveRecord, domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    stored = record.to_bytes()
    again = ArchiveRecord.from_bytes(stored)
    assert again == record
    assert again.key_wrap_algorithm is KeyWrapAlgorithm.RSA_OAEP_SHA256
    assert _recover(again, domain_key, binding) == person_key_der


def test_archive_record_is_compact(record: ArchiveRecord, person_key_der: bytes) -> None:
    overhead = len(record.to_bytes()) - len(person_key_der)
    # 256-byte wrapped key (RSA-2048), 12-byte nonce, 16-byte tag, 6-byte header, 4 x 4-byte lengths, 1 byte.
    assert overhead == 256 + 12 + 16 + 6 + 16 + 1


def test_recover_private_key_opens_oaep_sha1_record_for_sha1_only_hsms(
    domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    record = archive_private_key(
        person_key_der,
        domain_public_key=domain_key.public_key(),
        binding=binding,
        key_wrap_algorithm=KeyWrapAlgorithm.RSA_OAEP_SHA1,
    )
    again = ArchiveRecord.from_bytes(record.to_bytes())
    assert again.key_wrap_algorithm is KeyWrapAlgorithm.RSA_OAEP_SHA1
    assert _recover(again, domain_key, binding) == person_key_der


def test_recover_private_key_rejects_relabelled_wrap_algorithm(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    relabelled = dataclasses.replace(record, key_wrap_algorithm=KeyWrapAlgorithm.RSA_OAEP_SHA1)
    with pytest.raises(ArchiveIntegrityError, match="failed authentication"):
        _recover(relabelled, domain_key, binding)


def test_archive_private_key_rejects_unknown_wrap_algorithm(
    domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    with pytest.raises(InvalidParameter, match="key_wrap_algorithm is unknown"):
        archive_private_key(
            person_key_der, domain_public_key=domain_key.public_key(), binding=binding, key_wrap_algorithm=9
        )  # type: ignore[arg-type]


def test_archive_private_key_uses_fresh_data_key_and_nonce_each_time(
    domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    first = archive_private_key(person_key_der, domain_public_key=domain_key.public_key(), binding=binding)
    second = archive_private_key(person_key_der, domain_public_key=domain_key.public_key(), binding=binding)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext
    assert first.wrapped_data_key != second.wrapped_data_key


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_data_key"])
@pytest.mark.parametrize("position", [0, -1])
def test_recover_private_key_rejects_tampered_field(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding, field: str, position: int
) -> None:
    tampered = dataclasses.replace(record, **{field: _flip(getattr(record, field), position)})
    with pytest.raises(ArchiveIntegrityError, match="^archive record failed authentication$") as caught:
        _recover(tampered, domain_key, binding)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_recover_private_key_rejects_every_single_bit_flip_of_stored_body(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    stored = record.to_bytes()
    body_start = len(stored) - len(record.ciphertext) - len(record.nonce) - 4 - len(record.wrapped_data_key)
    for position in range(body_start, len(stored), 37):
        flipped = ArchiveRecord.from_bytes(_flip(stored, position))
        with pytest.raises(ArchiveIntegrityError):
            _recover(flipped, domain_key, binding)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"serial": 0x1234_5678_9ABC_DEF1}, id="fail-serial"),
        pytest.param({"owner": "mallory"}, id="fail-owner"),
        pytest.param({"owner": "bob "}, id="fail-owner-whitespace"),
        pytest.param({"issuer_name_sha256": hashlib.sha256(b"other CA").digest()}, id="fail-issuer"),
        pytest.param({"certificate_sha256": hashlib.sha256(b"other cert").digest()}, id="fail-certificate"),
    ],
)
def test_recover_private_key_rejects_wrong_binding(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding, change: dict[str, object]
) -> None:
    with pytest.raises(ArchiveIntegrityError, match="failed authentication"):
        _recover(record, domain_key, dataclasses.replace(binding, **change))


def test_recover_private_key_rejects_wrong_domain_key(
    record: ArchiveRecord, other_domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    with pytest.raises(ArchiveIntegrityError, match="failed authentication"):
        _recover(record, other_domain_key, binding)


def test_recover_private_key_rejects_wrapped_data_key_of_wrong_size(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    short = dataclasses.replace(record, wrapped_data_key=domain_key.public_key().encrypt(b"k" * 16, oaep))
    with pytest.raises(ArchiveIntegrityError, match="failed authentication"):
        _recover(short, domain_key, binding)


def test_recover_private_key_rejects_unknown_version_and_algorithm(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    with pytest.raises(DecodeError, match="unsupported version 2"):
        _recover(dataclasses.replace(record, version=2), domain_key, binding)
    with pytest.raises(DecodeError, match="wrap algorithm is unknown"):
        _recover(dataclasses.replace(record, key_wrap_algorithm=7), domain_key, binding)  # type: ignore[arg-type]


def test_recover_private_key_rejects_wrong_argument_types(
    record: ArchiveRecord, domain_key: EscrowDomainKey, binding: ArchiveBinding
) -> None:
    with pytest.raises(TypeError, match="record must be an ArchiveRecord"):
        _recover(record.to_bytes(), domain_key, binding)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binding must be an ArchiveBinding"):
        _recover(record, domain_key, "bob")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(
            lambda b: b[:6] + b"\x00\x00\x00\x01\x09" + b[11:], "wrap algorithm is unknown", id="fail-alg"
        ),
        pytest.param(
            lambda b: b[:6] + b"\x00\x00\x00\x02\x01\x01" + b[11:], "wrap algorithm must be 1", id="fail-len"
        ),
    ],
)
def test_archive_record_from_bytes_rejects_bad_algorithm(
    record: ArchiveRecord, mutate: object, message: str
) -> None:
    with pytest.raises(DecodeError, match=message):
        ArchiveRecord.from_bytes(mutate(record.to_bytes()))  # type: ignore[operator]


def test_archive_record_from_bytes_rejects_bad_nonce_and_short_ciphertext(record: ArchiveRecord) -> None:
    with pytest.raises(DecodeError, match="nonce must be 12 bytes long"):
        ArchiveRecord.from_bytes(dataclasses.replace(record, nonce=b"\x00" * 16).to_bytes())
    with pytest.raises(DecodeError, match="ciphertext is too short"):
        ArchiveRecord.from_bytes(dataclasses.replace(record, ciphertext=b"\x00" * 16).to_bytes())
    with pytest.raises(DecodeError, match="unsupported version 9"):
        ArchiveRecord.from_bytes(dataclasses.replace(record, version=9).to_bytes())


def test_archive_private_key_rejects_bad_arguments(
    domain_key: EscrowDomainKey, person_key_der: bytes, binding: ArchiveBinding
) -> None:
    public = domain_key.public_key()
    with pytest.raises(InvalidParameter, match="must not be empty"):
        archive_private_key(b"", domain_public_key=public, binding=binding)
    with pytest.raises(TypeError, match="private_key_der must be bytes"):
        archive_private_key(bytearray(person_key_der), domain_public_key=public, binding=binding)  # type: ignore[arg-type]
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(TypeError, match="must be an RSA public key"):
        archive_private_key(person_key_der, domain_public_key=ec_public, binding=binding)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binding must be an ArchiveBinding"):
        archive_private_key(person_key_der, domain_public_key=public, binding=None)  # type: ignore[arg-type]
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(InvalidParameter, match="at least 2048 bits"):
        archive_private_key(person_key_der, domain_public_key=weak, binding=binding)


def test_binding_for_certificate_takes_issuer_serial_and_fingerprint(
    person_certificate: x509.Certificate,
) -> None:
    binding = ArchiveBinding.for_certificate(person_certificate, owner="bob")
    assert binding.serial == person_certificate.serial_number
    assert binding.issuer_name_sha256 == hashlib.sha256(person_certificate.issuer.public_bytes()).digest()
    assert binding.certificate_sha256 == person_certificate.fingerprint(hashes.SHA256())
    assert binding.owner == "bob"
    with pytest.raises(TypeError, match="x509.Certificate"):
        ArchiveBinding.for_certificate(b"der", owner="bob")  # type: ignore[arg-type]


def test_binding_aad_is_deterministic_and_distinguishes_fields(binding: ArchiveBinding) -> None:
    aad = binding.to_aad(version=1, key_wrap_algorithm=KeyWrapAlgorithm.RSA_OAEP_SHA256)
    same = dataclasses.replace(binding)
    assert same.to_aad(version=1, key_wrap_algorithm=KeyWrapAlgorithm.RSA_OAEP_SHA256) == aad
    assert binding.to_aad(version=2, key_wrap_algorithm=KeyWrapAlgorithm.RSA_OAEP_SHA256) != aad


_DIGEST = hashlib.sha256(b"x").digest()


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        pytest.param({"issuer_name_sha256": b"short"}, InvalidParameter, "32-byte SHA-256", id="fail-issuer"),
        pytest.param({"certificate_sha256": "hex"}, TypeError, "must be bytes", id="fail-cert-type"),
        pytest.param({"serial": True}, TypeError, "serial must be an int", id="fail-serial-bool"),
        pytest.param({"serial": 0}, InvalidParameter, "positive", id="fail-serial-zero"),
        pytest.param({"serial": 2**160}, InvalidParameter, "below 2\\*\\*160", id="fail-serial-big"),
        pytest.param({"owner": b"bob"}, TypeError, "owner must be a str", id="fail-owner-type"),
        pytest.param({"owner": ""}, InvalidParameter, "owner must not be empty", id="fail-owner-empty"),
    ],
)
def test_binding_rejects_bad_field(fields: dict[str, object], error: type[Exception], message: str) -> None:
    values: dict[str, object] = {
        "issuer_name_sha256": _DIGEST,
        "serial": 1,
        "owner": "bob",
        "certificate_sha256": _DIGEST,
    }
    values.update(fields)
    with pytest.raises(error, match=message):
        ArchiveBinding(**values)  # type: ignore[arg-type]


def test_binding_accepts_largest_serial() -> None:
    binding = ArchiveBinding(_DIGEST, 2**160 - 1, "bob", _DIGEST)
    assert binding.serial == 2**160 - 1


def test_escrow_errors_are_campusca_errors() -> None:
    assert issubclass(ArchiveIntegrityError, EscrowError)
    assert issubclass(EscrowError, CampusCAError)
    assert issubclass(InvalidParameter, ValueError)
