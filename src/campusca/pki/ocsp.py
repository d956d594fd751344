"""OCSP request parsing and response building (RFC 6960, lightweight profile RFC 5019)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from asn1crypto import keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509 import ocsp

from campusca.pki.crl import RevocationReason
from campusca.pki.errors import OcspMalformedRequest

OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class CertStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OcspQuery:
    """What a relying party asked: one certificate, named by issuer hashes and serial."""

    issuer_name_hash: bytes
    issuer_key_hash: bytes
    hash_algorithm: hashes.HashAlgorithm
    serial: int
    nonce: bytes | None

    def names_issuer(self, issuer: x509.Certificate) -> bool:
        """Whether the query's CertID hashes name this CA certificate."""
        if self.hash_algorithm.name not in _HASHES:
            return False
        expected = issuer_hashes(issuer, self.hash_algorithm.name)
        return expected == (self.issuer_name_hash, self.issuer_key_hash)


def issuer_hashes(issuer: x509.Certificate, hash_name: str = "sha1") -> tuple[bytes, bytes]:
    """The CertID (issuerNameHash, issuerKeyHash) of a CA certificate (RFC 6960 §4.1.1).

    issuerKeyHash is over the BIT STRING contents of the SPKI, without the unused-bits octet.
    """
    digest = _HASHES[hash_name]
    spki = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_bits = bytes(keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])
    return digest(issuer.subject.public_bytes()).digest(), digest(key_bits).digest()


def rfc5019_request(issuer: x509.Certificate, serial: int) -> bytes:
    """The DER request an RFC 5019 client sends for one certificate: SHA-1 CertID, no nonce, no extension.

    Byte for byte what `openssl ocsp -no_nonce` and cryptography's OCSPRequestBuilder send, so an answer
    kept under it (pre-produced before anyone asked) is found by their first query.
    """
    sha1 = hashes.SHA1()  # noqa: S303 - RFC 5019 §2.1.1: clients MUST use SHA-1 in the CertID
    builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(*issuer_hashes(issuer), serial, sha1)
    return builder.build().public_bytes(serialization.Encoding.DER)


def parse_ocsp_request(data: bytes) -> OcspQuery:
    """Parse a DER OCSPRequest with one CertID; anything else is malformedRequest."""
    try:
        request = ocsp.load_der_ocsp_request(data)
        nonce: bytes | None = None
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        if request.serial_number < 0:
            # RFC 5280 §4.1.2.2: serials are positive; a negative one names no certificate and
            # cannot be echoed in a response (DER signing refuses it).
            raise OcspMalformedRequest("OCSP request serial number must not be negative")
        return OcspQuery(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            hash_algorithm=request.hash_algorithm,
            serial=request.serial_number,
            nonce=nonce,
        )
    except OcspMalformedRequest:
        raise
    except Exception:  # noqa: BLE001 - the parser raises ValueError and others for junk
        raise OcspMalformedRequest("OCSP request is not a DER OCSPRequest with exactly one CertID") from None


@dataclass(frozen=True, slots=True)
class OcspAnswer:
    """The status campusca knows for a queried certificate."""

    status: CertStatus
    revoked_at: datetime | None = None
    reason: RevocationReason | None = None


def build_ocsp_response(
    query: OcspQuery,
    answer: OcspAnswer,
    *,
    responder_certificate: x509.Certificate,
    responder_key: CertificateIssuerPrivateKeyTypes,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """A signed BasicOCSPResponse for one CertID, echoing the nonce when there was one."""
    status = {
        CertStatus.GOOD: ocsp.OCSPCertStatus.GOOD,
        CertStatus.REVOKED: ocsp.OCSPCertStatus.REVOKED,
        CertStatus.UNKNOWN: ocsp.OCSPCertStatus.UNKNOWN,
    }[answer.status]
    reason = None
    if (
        answer.status is CertStatus.REVOKED
        and answer.reason
        and answer.reason is not RevocationReason.UNSPECIFIED
    ):
        reason = answer.reason.x509_flag
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=query.issuer_name_hash,
        issuer_key_hash=query.issuer_key_hash,
        serial_number=query.serial,
        algorithm=query.hash_algorithm,
        cert_status=status,
        this_update=this_update,
        next_update=next_update,
        revocation_time=answer.revoked_at if answer.status is CertStatus.REVOKED else None,
        revocation_reason=reason,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder_certificate).certificates(
        [responder_certificate]
    )
    if query.nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(query.nonce), critical=False)
    response = builder.sign(responder_key, hashes.SHA256())  # type: ignore[arg-type]
    return response.public_bytes(serialization.Encoding.DER)


def build_ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    """An unsigned error response (malformedRequest, unauthorized, internalError, …)."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)
