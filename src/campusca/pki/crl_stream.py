"""Full and delta CRLs of any size in O(1) memory (RFC 5280 §5): the DER is streamed through files.

`cryptography`'s CRL builder keeps one Python object per entry and the whole DER in memory; at a million
entries that is gigabytes. Here the entries, as the database hands them over (`RevokedRow`), are encoded
by hand a batch at a time (each is a fixed shape) into a spool file, the TBSCertList around it is built
with asn1crypto, and the digest is signed (`Prehashed`) by the key backend, so memory stays flat whatever
the number of entries.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import IO

from asn1crypto import algos, crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from campusca.pki.crl import RevocationReason, RevokedEntry

_COPY_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 4 << 20  # entries up to this many bytes never touch the disk
_REASON_CODES = {
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
    RevocationReason.AA_COMPROMISE: 10,
}
# crlEntryExtensions holding one reasonCode (2.5.29.21) extension, by the reason's name as stored;
# `unspecified` is omitted (§5.3.1), as is a missing reason.
_REASON_EXTENSIONS: dict[str | None, bytes] = {
    None: b"",
    RevocationReason.UNSPECIFIED.value: b"",
    **{
        reason.value: bytes.fromhex("300c300a0603551d1504030a01") + bytes([code])
        for reason, code in _REASON_CODES.items()
        if reason is not RevocationReason.UNSPECIFIED
    },
}


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + der_length(len(content)) + content


def _time(moment: datetime) -> bytes:
    """UTCTime through 2049, GeneralizedTime after (RFC 5280 §5.1.2.4)."""
    return _time_of_digits(_utc_digits(moment))


def _utc_digits(moment: datetime) -> str:
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y%m%d%H%M%S")


def _time_of_digits(digits: str) -> bytes:
    """`_time` of a UTC moment written YYYYMMDDHHMMSS (four-digit year)."""
    if "1950" <= digits < "2050":
        return b"\x17\x0d" + digits[2:].encode() + b"Z"
    return b"\x18\x0f" + digits.encode() + b"Z"


# A revoked certificate as the database hands it over: serial in hex, its revocation moment in UTC written
# YYYYMMDDHHMMSS, its reason as RevocationReason spells it (None or "unspecified": no reasonCode).
RevokedRow = tuple[str, str, str | None]
_SHORT_LENGTHS = [bytes([n]) for n in range(0x80)]


def encode_revoked(rows: Iterable[RevokedRow]) -> bytes:
    """The revokedCertificates elements of `rows`, concatenated: the per-entry hot loop of a CRL.

    Each is SEQUENCE { INTEGER serial, Time revocationDate, [reasonCode extension] }. Rows come in
    revocation order, so consecutive rows often share a second and its encoded Time is reused.
    """
    parts: list[bytes] = []
    append, fromhex, lengths, reasons = parts.append, bytes.fromhex, _SHORT_LENGTHS, _REASON_EXTENSIONS
    last_digits, time = "", b""
    for serial_hex, digits, reason in rows:
        if len(serial_hex) & 1:
            serial_hex = "0" + serial_hex
        # INTEGER: minimal two's complement, so no leading zero octet unless the next has its high bit set.
        serial = fromhex(serial_hex).lstrip(b"\0")
        if not serial or serial[0] & 0x80:
            serial = b"\0" + serial
        if digits != last_digits:
            last_digits, time = digits, _time_of_digits(digits)
        size = len(serial)
        content = b"\x02" + (lengths[size] if size < 0x80 else der_length(size)) + serial + time
        content += reasons[reason]
        size = len(content)
        append(b"\x30" + (lengths[size] if size < 0x80 else der_length(size)) + content)
    return b"".join(parts)


def row_of(entry: RevokedEntry) -> RevokedRow:
    return format(entry.serial, "x"), _utc_digits(entry.revoked_at), entry.reason.value


def entry_der(entry: RevokedEntry) -> bytes:
    """One revokedCertificates element: serial, revocation date, reason unless unspecified."""
    return encode_revoked([row_of(entry)])


def _signature_algorithm(key: CertificateIssuerPrivateKeyTypes) -> tuple[str, hashes.HashAlgorithm]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size >= 384:
            return "sha384_ecdsa", hashes.SHA384()
        return "sha256_ecdsa", hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        return "sha256_rsa", hashes.SHA256()
    raise TypeError("CRLs are signed with RSA or EC keys")


def _sign_digest(
    key: CertificateIssuerPrivateKeyTypes, digest: bytes, algorithm: hashes.HashAlgorithm
) -> bytes:
    prehashed = utils.Prehashed(algorithm)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(prehashed))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(digest, padding.PKCS1v15(), prehashed)


def _extensions(
    issuer_certificate: x509.Certificate, crl_number: int, delta_base: int | None, freshest_url: str | None
) -> bytes:
    items = [crl.TBSCertListExtension({"extn_id": "crl_number", "critical": False, "extn_value": crl_number})]
    try:
        ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        items.append(
            crl.TBSCertListExtension(
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": ski.digest},
                }
            )
        )
    except x509.ExtensionNotFound:
        pass
    if delta_base is not None:  # RFC 5280 §5.2.4: critical, names the complete CRL it updates
        items.append(
            crl.TBSCertListExtension(
                {"extn_id": "delta_crl_indicator", "critical": True, "extn_value": delta_base}
            )
        )
    if freshest_url is not None:  # RFC 5280 §5.2.6: where the delta CRLs for this complete CRL are
        name = asn1_x509.GeneralName(name="uniform_resource_identifier", value=freshest_url)
        point = asn1_x509.DistributionPointName(name="full_name", value=[name])
        items.append(
            crl.TBSCertListExtension(
                {"extn_id": "freshest_crl", "critical": False, "extn_value": [{"distribution_point": point}]}
            )
        )
    return _tlv(0xA0, crl.TBSCertListExtensions(items).dump())


def write_crl(
    out: IO[bytes],
    *,
    issuer_certificate: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    batches: Iterable[Sequence[RevokedRow]],
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
    delta_base: int | None = None,
    freshest_url: str | None = None,
) -> int:
    """Write a signed v2 CRL (a delta CRL when `delta_base` is given) to `out`; returns the entry count.

    `batches` (lists of rows, as a database cursor's `fetchmany` gives them) is consumed once, as it
    comes: nothing holds them all.
    """
    algorithm_name, digest_algorithm = _signature_algorithm(issuer_key)
    signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": algorithm_name}).dump()
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as revoked:
        count = 0
        for batch in batches:
            revoked.write(encode_revoked(batch))
            count += len(batch)
        revoked_size = revoked.tell()
        head = (
            b"\x02\x01\x01"  # version v2
            + signature_algorithm
            + issuer_certificate.subject.public_bytes()
            + _time(this_update)
            + _time(next_update)
        )
        revoked_head = b"\x30" + der_length(revoked_size) if count else b""
        tail = _extensions(issuer_certificate, crl_number, delta_base, freshest_url)
        tbs_size = len(head) + len(revoked_head) + (revoked_size if count else 0) + len(tail)
        tbs_header = b"\x30" + der_length(tbs_size)
        tbs_head = tbs_header + head + revoked_head
        # The signature's length (so the outer header) is known only after hashing: the spool is read
        # twice, once for the digest and once into `out`, rather than copied into a second spool.
        digest = hashlib.new(digest_algorithm.name, tbs_head)
        revoked.seek(0)
        while chunk := revoked.read(_COPY_CHUNK):
            digest.update(chunk)
        digest.update(tail)
        signature = _tlv(0x03, b"\x00" + _sign_digest(issuer_key, digest.digest(), digest_algorithm))
        outer = len(tbs_header) + tbs_size + len(signature_algorithm) + len(signature)
        out.write(b"\x30" + der_length(outer) + tbs_head)
        revoked.seek(0)
        shutil.copyfileobj(revoked, out, _COPY_CHUNK)
        out.write(tail + signature_algorithm + signature)
    return count


def crl_bytes(*, entries: Iterable[RevokedEntry], **kwargs: object) -> bytes:
    """`write_crl` of `entries` into memory (small CRLs, tests)."""
    with tempfile.SpooledTemporaryFile() as out:
        write_crl(out, batches=[[row_of(entry) for entry in entries]], **kwargs)  # type: ignore[arg-type]
        out.seek(0)
        return out.read()
