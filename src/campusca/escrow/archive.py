"""Envelope-encrypted archive records of escrowed keys (DESIGN §5; AES-GCM SP 800-38D, OAEP RFC 8017).

An archived private key is encrypted with AES-256-GCM under a fresh random 32-byte data key; the
associated data binds the ciphertext to the certificate (issuer, serial, owner, fingerprint), and the
data key is wrapped with RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label) to the escrow domain's key.
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from campusca.escrow._codec import (
    BlobKind,
    decode_fields,
    decode_uint,
    encode_fields,
    encode_uint,
    require_bytes,
)
from campusca.escrow._keys import load_pkcs8_private_key
from campusca.escrow.domain import require_domain_key_size
from campusca.escrow.errors import ArchiveIntegrityError, DecodeError, InvalidParameter, KeyMismatch
from campusca.pki.signing import RsaDecrypter

ARCHIVE_RECORD_VERSION = 1
DATA_KEY_SIZE = 32
NONCE_SIZE = 12
_TAG_SIZE = 16
_SHA256_SIZE = 32
_MAX_SERIAL = 2**160  # RFC 5280 §4.1.2.2: at most 20 octets


class KeyWrapAlgorithm(enum.IntEnum):
    """How the data key is wrapped to the escrow domain key."""

    RSA_OAEP_SHA256 = 1  # RSAES-OAEP, SHA-256, MGF1-SHA-256, empty label (RFC 8017 §7.1)
    # For HSMs that only do OAEP with SHA-1 (SoftHSM2 2.6.1; research/escrow-smime.md §0.6). OAEP's
    # security does not rest on collision resistance, so SHA-1 here is acceptable, but SHA-256 is the default.
    RSA_OAEP_SHA1 = 2


_OAEP_HASHES: dict[KeyWrapAlgorithm, type[hashes.HashAlgorithm]] = {
    KeyWrapAlgorithm.RSA_OAEP_SHA256: hashes.SHA256,
    KeyWrapAlgorithm.RSA_OAEP_SHA1: hashes.SHA1,
}


def _oaep(algorithm: KeyWrapAlgorithm) -> padding.OAEP:
    digest = _OAEP_HASHES[algorithm]
    return padding.OAEP(mgf=padding.MGF1(algorithm=digest()), algorithm=digest(), label=None)


@dataclass(frozen=True, slots=True)
class ArchiveBinding:
    """What an archive record is bound to by AES-GCM associated data: one certificate of one owner."""

    issuer_name_sha256: bytes
    serial: int
    owner: str
    certificate_sha256: bytes

    def __post_init__(self) -> None:
        for name in ("issuer_name_sha256", "certificate_sha256"):
            value = require_bytes(getattr(self, name), name)
            if len(value) != _SHA256_SIZE:
                raise InvalidParameter(f"{name} must be a {_SHA256_SIZE}-byte SHA-256 digest")
        if isinstance(self.serial, bool) or not isinstance(self.serial, int):
            raise TypeError("serial must be an int")
        if not 0 < self.serial < _MAX_SERIAL:
            raise InvalidParameter("serial must be positive and below 2**160")
        if not isinstance(self.owner, str):
            raise TypeError("owner must be a str")
        if not self.owner:
            raise InvalidParameter("owner must not be empty")

    @classmethod
    def for_certificate(cls, certificate: x509.Certificate, *, owner: str) -> ArchiveBinding:
        """Bind to a certificate: SHA-256 of its DER issuer Name, its serial and its DER fingerprint."""
        if not isinstance(certificate, x509.Certificate):
            raise TypeError("certificate must be an x509.Certificate")
        return cls(
            issuer_name_sha256=hashlib.sha256(certificate.issuer.public_bytes()).digest(),
            serial=certificate.serial_number,
            owner=owner,
            certificate_sha256=certificate.fingerprint(hashes.SHA256()),
        )

    def to_aad(self, *, version: int, key_wrap_algorithm: KeyWrapAlgorithm) -> bytes:
        """Encode the binding (plus record version and wrap algorithm) canonically as associated data."""
        serial = self.serial.to_bytes((self.serial.bit_length() + 7) // 8, "big")
        fields = [
            self.issuer_name_sha256,
            serial,
            self.owner.encode("utf-8"),
            self.certificate_sha256,
            encode_uint(key_wrap_algorithm, 1),
        ]
        return encode_fields(BlobKind.ARCHIVE_AAD, version, fields)


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One escrowed private key: the wrapped data key and the AES-256-GCM nonce and ciphertext."""

    version: int
    wrapped_data_key: bytes
    nonce: bytes
    ciphertext: bytes
    key_wrap_algorithm: KeyWrapAlgorithm

    def to_bytes(self) -> bytes:
        """Encode the record for storage."""
        fields = [encode_uint(self.key_wrap_algorithm, 1), self.wrapped_data_key, self.nonce, self.ciphertext]
        return encode_fields(BlobKind.ARCHIVE_RECORD, self.version, fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> ArchiveRecord:
        """Decode a stored record; raises DecodeError if it is malformed."""
        version, (algorithm, wrapped, nonce, ciphertext) = decode_fields(
            data, BlobKind.ARCHIVE_RECORD, versions={ARCHIVE_RECORD_VERSION}, count=4, what="archive record"
        )
        try:
            key_wrap_algorithm = KeyWrapAlgorithm(decode_uint(algorithm, 1, "archive record wrap algorithm"))
        except ValueError:
            raise DecodeError("archive record wrap algorithm is unknown") from None
        if len(nonce) != NONCE_SIZE:
            raise DecodeError(f"archive record nonce must be {NONCE_SIZE} bytes long")
        if len(ciphertext) <= _TAG_SIZE:
            raise DecodeError("archive record ciphertext is too short")
        return cls(version, wrapped, nonce, ciphertext, key_wrap_algorithm)


def archive_private_key(
    private_key_der: bytes,
    *,
    domain_public_key: rsa.RSAPublicKey,
    binding: ArchiveBinding,
    key_wrap_algorithm: KeyWrapAlgorithm = KeyWrapAlgorithm.RSA_OAEP_SHA256,
) -> ArchiveRecord:
    """Encrypt a PKCS#8 private key for escrow, bound to `binding`, under the domain's public key.

    Call `check_key_matches_certificate` first: this function does not parse the key.
    """
    require_bytes(private_key_der, "private_key_der")
    if not private_key_der:
        raise InvalidParameter("private_key_der must not be empty")
    if not isinstance(domain_public_key, rsa.RSAPublicKey):
        raise TypeError("domain_public_key must be an RSA public key")
    if not isinstance(binding, ArchiveBinding):
        raise TypeError("binding must be an ArchiveBinding")
    require_domain_key_size(domain_public_key.key_size)
    try:
        algorithm = KeyWrapAlgorithm(key_wrap_algorithm)
    except ValueError:
        raise InvalidParameter("key_wrap_algorithm is unknown") from None
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_SIZE * 8)
    nonce = os.urandom(NONCE_SIZE)
    aad = binding.to_aad(version=ARCHIVE_RECORD_VERSION, key_wrap_algorithm=algorithm)
    ciphertext = AESGCM(data_key).encrypt(nonce, private_key_der, aad)
    wrapped = domain_public_key.encrypt(data_key, _oaep(algorithm))
    return ArchiveRecord(ARCHIVE_RECORD_VERSION, wrapped, nonce, ciphertext, algorithm)


def recover_private_key(
    record: ArchiveRecord, *, domain_decrypter: RsaDecrypter, binding: ArchiveBinding
) -> bytes:
    """Decrypt an archive record and return the escrowed PKCS#8 private key.

    Raises:
        ArchiveIntegrityError: the record was altered, the binding differs from the one it was archived
            with, or `domain_decrypter` is not the domain key it was wrapped to.
        DecodeError: the record has an unsupported version or wrap algorithm.
    """
    if not isinstance(record, ArchiveRecord):
        raise TypeError("record must be an ArchiveRecord")
    if not isinstance(binding, ArchiveBinding):
        raise TypeError("binding must be an ArchiveBinding")
    if record.version != ARCHIVE_RECORD_VERSION:
        raise DecodeError(f"archive record has unsupported version {record.version}")
    if record.key_wrap_algorithm not in _OAEP_HASHES:
        raise DecodeError("archive record wrap algorithm is unknown")
    algorithm = KeyWrapAlgorithm(record.key_wrap_algorithm)
    aad = binding.to_aad(version=record.version, key_wrap_algorithm=algorithm)
    try:
        data_key = domain_decrypter.decrypt(record.wrapped_data_key, _oaep(algorithm))
        if len(data_key) != DATA_KEY_SIZE:
            raise ValueError("data key has the wrong size")
        return AESGCM(data_key).decrypt(record.nonce, record.ciphertext, aad)
    except (ValueError, InvalidTag):
        # Wrong domain key (OAEP fails), a data key of the wrong size, a bad nonce length or a failed
        # GCM tag are one answer on purpose: which step failed tells an attacker nothing useful.
        raise ArchiveIntegrityError("archive record failed authentication") from None


def check_key_matches_certificate(private_key_der: bytes, certificate: x509.Certificate) -> None:
    """Raise KeyMismatch unless the PKCS#8 private key belongs to the certificate's public key."""
    if not isinstance(certificate, x509.Certificate):
        raise TypeError("certificate must be an x509.Certificate")
    key = load_pkcs8_private_key(private_key_der, "private_key_der")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    ours = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    if ours != theirs:
        raise KeyMismatch("private key does not match the certificate's public key")
