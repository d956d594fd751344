"""Full and delta CRLs of any size in O(1) memory (RFC 5280 §5): the DER is streamed through files.

`cryptography`'s CRL builder keeps one Python object per entry and the whole DER in memory; at a million
entries that is gigabytes. Here each entry is encoded by hand (it is a fixed shape) into a spool file,
the TBSCertList around it is built with asn1crypto, hashed while it is copied, and signed as a digest
(`Prehashed`) by the key backend, so memory stays flat whatever the number of entries.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
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
# crlEntryExtensions holding one reasonCode (2.5.29.21) extension; `unspecified` is omitted (§5.3.1).
_REASON_EXTENSIONS = {
    reason: bytes.fromhex("300c300a0603551d150403 0a01".replace(" ", "")) + bytes([code])
    for reason, code in _REASON_CODES.items()
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
    if 1950 <= moment.year < 2050:
        return b"\x17\x0d" + moment.strftime("%y%m%d%H%M%SZ").encode()
    return b"\x18\x0f" + moment.strftime("%Y%m%d%H%M%SZ").encode()


def entry_der(entry: RevokedEntry) -> bytes:
    """One revokedCertificates element: serial, revocation date, reason unless unspecified."""
    serial = entry.serial.to_bytes(entry.serial.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    content = b"\x02" + der_length(len(serial)) + serial + _time(entry.revoked_at)
    if entry.reason is not RevocationReason.UNSPECIFIED:
        content += _REASON_EXTENSIONS[entry.reason]
    return b"\x30" + der_length(len(content)) + content


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
    entries: Iterable[RevokedEntry],
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
    delta_base: int | None = None,
    freshest_url: str | None = None,
) -> int:
    """Write a signed v2 CRL (a delta CRL when `delta_base` is given) to `out`; returns the entry count.

    `entries` is consumed once, as it comes (a database cursor): nothing holds them all.
    """
    algorithm_name, digest_algorithm = _signature_algorithm(issuer_key)
    signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": algorithm_name}).dump()
    with (
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as revoked,
        tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as tbs,
    ):
        count = 0
        for entry in entries:
            revoked.write(entry_der(entry))
            count += 1
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
        digest = hashlib.new(digest_algorithm.name)
        for piece in (b"\x30" + der_length(tbs_size), head, revoked_head):
            digest.update(piece)
            tbs.write(piece)
        revoked.seek(0)
        while chunk := revoked.read(_COPY_CHUNK):
            digest.update(chunk)
            tbs.write(chunk)
        digest.update(tail)
        tbs.write(tail)
        signature = _tlv(0x03, b"\x00" + _sign_digest(issuer_key, digest.digest(), digest_algorithm))
        outer = tbs.tell() + len(signature_algorithm) + len(signature)
        out.write(b"\x30" + der_length(outer))
        tbs.seek(0)
        shutil.copyfileobj(tbs, out, _COPY_CHUNK)
        out.write(signature_algorithm)
        out.write(signature)
    return count


def crl_bytes(**kwargs: object) -> bytes:
    """`write_crl` into memory (small CRLs, tests)."""
    with tempfile.SpooledTemporaryFile() as out:
        write_crl(out, **kwargs)  # type: ignore[arg-type]
        out.seek(0)
        return out.read()
