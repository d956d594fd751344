"""SCEP PKIOperation use cases (RFC 8894 §3.3): PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL.

The codec has verified the message signature and opened the envelope; this module decides.
PKCSReq and RenewalReq are in `pkcsreq`. Each transaction is bound to the requester's public key, so
CertPoll and GetCert answer only whoever holds that key. Services never speak failInfo: refusals
are domain errors, which the adapter maps to a signed CertRep FAILURE.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from sqlalchemy import select

from campusca.db.scep import ScepEnrollment
from campusca.scep import MessageType, PkiMessage
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.crls import current_crl
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import NotFound, PolicyViolation, ServiceError
from campusca.services.scep.answers import (
    SCEP_ACTOR,
    ScepAnswer,
    ScepAnswerKind,
    answer_for,
    requester_key_hash,
)
from campusca.services.scep.pkcsreq import enrol


def answer_pki_message(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """Serve one authenticated SCEP request; refusals are audited and raised as domain errors."""
    try:
        handler = _HANDLERS.get(message.message_type)
        if handler is None:
            raise PolicyViolation("messageType is not a SCEP request type")
        return handler(authority, message)
    except ServiceError as error:
        with authority.db.write() as session:
            audit.record(
                session,
                actor=SCEP_ACTOR,
                action="scep.request.refused",
                target=f"scep:{message.transaction_id}"[:256],
                details={"message_type": int(message.message_type), "reason": str(error)},
                at=authority.now(),
            )
        raise


# --- CertPoll, GetCert, GetCRL ------------------------------------------------------------------


def _poll(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """CertPoll (GetCertInitial): the state of this requester's own transaction."""
    with authority.db.read() as session:
        row = session.execute(
            select(ScepEnrollment)
            .where(
                ScepEnrollment.transaction_id == message.transaction_id,
                ScepEnrollment.requester_key_sha256 == requester_key_hash(message.signer_certificate),
            )
            .order_by(ScepEnrollment.id.desc())
        ).scalar()
        if row is None:
            raise NotFound("no request with this transactionID was made with this key")
        return answer_for(authority, row)


def _get_cert(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """GetCert: only a certificate of the requester's key, or one it enrolled for (RFC 8894 §3.3.4)."""
    wanted = message.issuer_and_serial
    refused = NotFound("no certificate with this issuer and serial was issued to this key")
    if wanted is None:
        raise refused
    key_hash = requester_key_hash(message.signer_certificate)
    with authority.db.read() as session:
        row = find_certificate(session, wanted.serial_number)
        if row is None:
            raise refused
        certificate = x509.load_der_x509_certificate(row.der)
        enrolled = session.execute(
            select(ScepEnrollment.id).where(
                ScepEnrollment.certificate_id == row.id, ScepEnrollment.requester_key_sha256 == key_hash
            )
        ).first()
        # The same answer for "unknown" and "someone else's": a serial is no oracle.
        if certificate.issuer != wanted.issuer or (
            requester_key_hash(certificate) != key_hash and not enrolled
        ):
            raise refused
    return ScepAnswer(ScepAnswerKind.ISSUED, (certificate,))


def _get_crl(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """GetCRL: the current CRL of the CA named by the issuer (RFC 8894 §3.3.5); CRLs are public."""
    wanted = message.issuer_and_serial
    for slug in authority.ca_slugs():
        if wanted is not None and authority.ca(slug).certificate.subject == wanted.issuer:
            crl = x509.load_der_x509_crl(current_crl(authority, slug))
            return ScepAnswer(ScepAnswerKind.CRL, crls=(crl,))
    raise NotFound("no CA of this server has that issuer name")


_HANDLERS: dict[MessageType, Callable[[Authority, PkiMessage], ScepAnswer]] = {
    MessageType.PKCS_REQ: enrol,
    MessageType.RENEWAL_REQ: enrol,
    MessageType.CERT_POLL: _poll,
    MessageType.GET_CERT: _get_cert,
    MessageType.GET_CRL: _get_crl,
}
