"""What the SCEP use cases answer, and the names shared by PKCSReq and the other PKIOperations.

Services never speak failInfo: refusals are domain errors (`AlgorithmRefused` for badAlg), which the
adapter maps to a signed CertRep FAILURE.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from campusca.db.scep import ScepEnrollment
from campusca.services.authority import Authority
from campusca.services.errors import PolicyViolation

SCEP_ACTOR = "scep"


class AlgorithmRefused(PolicyViolation):
    """A digest or cipher the settings do not allow (answered with failInfo badAlg)."""

    code = "algorithm_refused"


class ScepAnswerKind(enum.StrEnum):
    ISSUED = "issued"
    PENDING = "pending"
    CRL = "crl"


@dataclass(frozen=True, slots=True)
class ScepAnswer:
    """What to send back: certificates (the requester's first), a CRL, or PENDING."""

    kind: ScepAnswerKind
    certificates: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()


def requester_key_hash(certificate: x509.Certificate) -> str:
    """SHA-256 of a certificate's SubjectPublicKeyInfo: the key a transaction is bound to."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def device_urn(device_ref: str) -> str:
    """The SAN URI of a device: `urn:` values as given, UUIDs as urn:uuid, anything else (a UDID) as urn:udid."""
    if device_ref.lower().startswith("urn:"):
        return device_ref
    try:
        return uuid.UUID(device_ref).urn
    except ValueError:
        return f"urn:udid:{device_ref}"


def issued_chain(authority: Authority, certificate: x509.Certificate) -> tuple[x509.Certificate, ...]:
    """The degenerate reply's certificates: the issued one first (iOS and micromdm take certs[0])."""
    return (certificate, authority.issuer_of(certificate).certificate)


def answer_for(authority: Authority, row: ScepEnrollment) -> ScepAnswer:
    """The answer to a transaction already on record (a re-sent request, a CertPoll)."""
    if row.status == "pending":
        return ScepAnswer(ScepAnswerKind.PENDING)
    if row.status == "issued" and row.certificate is not None:
        certificate = x509.load_der_x509_certificate(row.certificate.der)
        return ScepAnswer(ScepAnswerKind.ISSUED, issued_chain(authority, certificate))
    raise PolicyViolation("the request was rejected by an administrator")
