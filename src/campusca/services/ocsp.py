"""The OCSP responder (RFC 6960, RFC 5019): status straight from the database, so revocation shows at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from campusca.db.models import Certificate
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import CertStatus, OcspAnswer, OcspQuery, build_ocsp_response
from campusca.services.authority import ISSUING_CA, Authority
from campusca.services.errors import NotAuthorized
from campusca.services.issuance import serial_to_hex


@dataclass(frozen=True, slots=True)
class OcspResult:
    der: bytes
    status: CertStatus
    this_update: datetime
    next_update: datetime


def answer_ocsp(authority: Authority, query: OcspQuery) -> OcspResult:
    """Answer one query about a certificate of the issuing CA, signed by the OCSP responder certificate.

    Raises NotAuthorized when the query names a CA this responder does not answer for
    (RFC 6960 §2.3 `unauthorized`).
    """
    ca = authority.ca(ISSUING_CA)
    if not query.names_issuer(ca.certificate):
        raise NotAuthorized("this responder answers for the issuing CA only")
    responder = authority.identity("ocsp")
    with authority.db.read() as session:
        row = session.execute(
            select(Certificate.revoked_at, Certificate.revocation_reason).where(
                Certificate.serial_hex == serial_to_hex(query.serial), Certificate.ca_id == ca.id
            )
        ).first()
    if row is None:
        answer = OcspAnswer(CertStatus.UNKNOWN)
    elif row.revoked_at is not None:
        answer = OcspAnswer(CertStatus.REVOKED, row.revoked_at, RevocationReason(row.revocation_reason))
    else:
        answer = OcspAnswer(CertStatus.GOOD)
    now = authority.now().replace(microsecond=0)
    next_update = now + timedelta(minutes=authority.settings.ocsp_validity_minutes)
    der = build_ocsp_response(
        query,
        answer,
        responder_certificate=responder.certificate,
        responder_key=responder.key,
        this_update=now,
        next_update=next_update,
    )
    return OcspResult(der=der, status=answer.status, this_update=now, next_update=next_update)
