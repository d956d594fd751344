"""SCEP PKCSReq and RenewalReq (RFC 8894 §3.3.1): authorise, sign outside the write lock, record.

A new enrollment is authorised by a one-time challenge, a renewal by the certificate that signed it
(issued by us, unexpired, unrevoked, same subject). The certificate is signed between a read
transaction (authorise without using the challenge) and a short write transaction that authorises
again, uses the challenge up atomically and records the certificate with its audit record, so SCEP
never holds the write lock while signing. A certificate signed for a request that loses the race for
its challenge is discarded: it was never recorded or sent.

Every enrollment runs the statements below, so they are built once and run on the transaction's
connection: through the ORM (queries built per call, joined loads, the unit of work) the SQL of one
enrollment cost more CPU than its RSA decryption and both its signatures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from campusca.db.direct import DirectStatement
from campusca.db.engine import core_connection
from campusca.db.models import Certificate
from campusca.db.scep import ScepEnrollment
from campusca.pki.csr import check_key_strength
from campusca.pki.errors import CsrInvalid
from campusca.scep import MessageType, PkiMessage
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import Holder, SignedCertificate, record_certificate, sign_certificate
from campusca.services.errors import ChallengeRejected, PolicyViolation, ServiceError
from campusca.services.scep.answers import (
    SCEP_ACTOR,
    AlgorithmRefused,
    ScepAnswer,
    ScepAnswerKind,
    answer_for,
    device_urn,
    issued_chain,
    requester_key_hash,
)
from campusca.services.scep.challenges import check_csr_fits, find_redeemable, use_challenge
from campusca.services.scep.device_records import record_scep_device
from campusca.services.scep.renewal_auth import authorise_renewal, signed_by_us

_ENROLLMENTS = ScepEnrollment.__table__
_RESENT = DirectStatement(
    select(ScepEnrollment.id)
    .where(
        ScepEnrollment.transaction_id == bindparam("transaction_id"),
        ScepEnrollment.signer_fingerprint_sha256 == bindparam("signer_fingerprint"),
        ScepEnrollment.message_type == bindparam("message_type"),
        ScepEnrollment.csr_sha256 == bindparam("csr_sha256"),
    )
    .order_by(ScepEnrollment.id.desc())
    .limit(1)
)
_INSERT_ENROLLMENT = DirectStatement(insert(_ENROLLMENTS).returning(_ENROLLMENTS.c.id))
_LINK_CERTIFICATE = DirectStatement(
    update(_ENROLLMENTS)
    .where(_ENROLLMENTS.c.id == bindparam("enrollment_id"))
    .values(
        certificate_id=bindparam("issued_id"),
        status="issued",
        updated_at=bindparam("linked_at", type_=_ENROLLMENTS.c.updated_at.type),
    )
)


@dataclass(frozen=True, slots=True)
class _Grant:
    """Who an enrollment is for and under which rules, once it is authorised."""

    holder: Holder
    profile: str
    device_ref: str | None
    challenge_id: int | None = None
    renewed: Certificate | None = None


@dataclass(frozen=True, slots=True)
class _Request:
    """What identifies a PKCSReq or RenewalReq when it is sent again (hashed once per request)."""

    transaction_id: str
    message_type: int
    csr_der: bytes
    csr_sha256: str
    signer_fingerprint: str

    @classmethod
    def of(cls, message: PkiMessage, csr: x509.CertificateSigningRequest) -> _Request:
        csr_der = csr.public_bytes(serialization.Encoding.DER)
        return cls(
            transaction_id=message.transaction_id,
            message_type=int(message.message_type),
            csr_der=csr_der,
            csr_sha256=hashlib.sha256(csr_der).hexdigest(),
            signer_fingerprint=message.signer_certificate.fingerprint(hashes.SHA256()).hex(),
        )


@dataclass(frozen=True, slots=True)
class _Terms:
    """What a granted enrollment's certificate is made of, read inside a transaction."""

    holder: Holder
    profile: str
    device_ref: str | None


def enrol(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """PKCSReq or RenewalReq: answer a re-send as before, else authorise, then hold or issue."""
    csr = message.csr
    if csr is None:  # the codec sets it for both request types; this guards the type
        raise PolicyViolation("PKCSReq must carry a CSR")
    _check_algorithms(authority, message, csr)
    request = _Request.of(message, csr)
    with authority.db.read() as session:
        earlier = _resent(session, request)
        if earlier is not None:
            return answer_for(authority, earlier)
        grant = _authorise(authority, session, message, csr, consume=False)
        held = grant.renewed is None and grant.profile in authority.settings.scep_approval_profiles
        terms = None if held else _terms(grant)
    signed = None if terms is None else _sign(authority, terms, csr)
    with authority.db.write() as session:
        earlier = _resent(session, request)
        if earlier is not None:
            return answer_for(authority, earlier)
        grant = _authorise(authority, session, message, csr)
        enrollment_id = _record(authority, session, message, request, grant)
        if held:
            audit.record(
                session,
                actor=SCEP_ACTOR,
                action="scep.enrollment.pending",
                target=f"scep-enrollment:{enrollment_id}",
                details={
                    "person": grant.holder.username,
                    "device": grant.device_ref,
                    "profile": grant.profile,
                },
                at=authority.now(),
            )
            return ScepAnswer(ScepAnswerKind.PENDING)
        if signed is None or _terms(grant) != terms:  # the rules changed in between: sign again
            signed = _sign(authority, _terms(grant), csr)
        certificate = _issue(authority, session, enrollment_id, message, grant, signed)
        return ScepAnswer(ScepAnswerKind.ISSUED, issued_chain(authority, certificate))


def issue_for_enrollment(authority: Authority, session: Session, row: ScepEnrollment, *, actor: str) -> None:
    """Sign and record the certificate of an approved (pending) enrollment and link it; caller's transaction."""
    if row.person is None:
        raise PolicyViolation("the enrollment names no person")
    csr = x509.load_der_x509_csr(row.csr_der)
    renewed = session.get(Certificate, row.renewed_certificate_id) if row.renewed_certificate_id else None
    signed = sign_certificate(
        authority,
        profile_name=row.profile,
        public_key=csr.public_key(),
        holder=Holder.of(row.person),
        csr=csr,
        device_urn=device_urn(row.device_ref) if row.device_ref else None,
    )
    details = _issue_details(row.id, row.transaction_id, row.device_ref, renewed, {})
    issued = record_certificate(authority, session, signed, actor=actor, audit_details=details)
    row.certificate_id = issued.id
    row.status = "issued"
    row.updated_at = authority.now()
    record_scep_device(
        authority,
        session,
        enrollment_id=row.id,
        device_ref=row.device_ref,
        person_id=row.person_id,
        actor=actor,
    )
    session.flush()


def _issue(
    authority: Authority,
    session: Session,
    enrollment_id: int,
    message: PkiMessage,
    grant: _Grant,
    signed: SignedCertificate,
) -> x509.Certificate:
    """Record the certificate signed for a new enrollment and link it; caller's transaction."""
    details = _issue_details(
        enrollment_id, message.transaction_id, grant.device_ref, grant.renewed, _wire_details(message)
    )
    issued = record_certificate(authority, session, signed, actor=SCEP_ACTOR, audit_details=details)
    _LINK_CERTIFICATE.rows(
        core_connection(session),
        {"enrollment_id": enrollment_id, "issued_id": issued.id, "linked_at": authority.now()},
    )
    record_scep_device(
        authority,
        session,
        enrollment_id=enrollment_id,
        device_ref=grant.device_ref,
        person_id=grant.holder.id,
        actor=SCEP_ACTOR,
    )
    return issued.certificate


def _issue_details(
    enrollment_id: int,
    transaction_id: str,
    device_ref: str | None,
    renewed: Certificate | None,
    request_details: Mapping[str, object],
) -> dict[str, object]:
    """The audit details of a certificate SCEP issued."""
    return {
        "via": "scep",
        "enrollment": enrollment_id,
        "transaction_id": transaction_id,
        "device": device_ref,
        "renewal_of": renewed.serial_hex if renewed is not None else None,
        **request_details,
    }


def _terms(grant: _Grant) -> _Terms:
    return _Terms(grant.holder, grant.profile, grant.device_ref)


def _sign(authority: Authority, terms: _Terms, csr: x509.CertificateSigningRequest) -> SignedCertificate:
    return sign_certificate(
        authority,
        profile_name=terms.profile,
        public_key=csr.public_key(),
        holder=terms.holder,
        csr=csr,
        device_urn=device_urn(terms.device_ref) if terms.device_ref else None,
    )


def _record(
    authority: Authority, session: Session, message: PkiMessage, request: _Request, grant: _Grant
) -> int:
    """Store the authorised enrollment (status pending until a certificate is linked); its id."""
    now = authority.now()
    row = {
        "transaction_id": request.transaction_id,
        "requester_key_sha256": requester_key_hash(message.signer_certificate),
        "signer_fingerprint_sha256": request.signer_fingerprint,
        "message_type": request.message_type,
        "csr_der": request.csr_der,
        "csr_sha256": request.csr_sha256,
        "person_id": grant.holder.id,
        "device_ref": grant.device_ref,
        "profile": grant.profile,
        "challenge_id": grant.challenge_id,
        "renewed_certificate_id": grant.renewed.id if grant.renewed is not None else None,
        "certificate_id": None,
        "status": "pending",
        "reason": None,
        "decided_by": None,
        "decided_at": None,
        "created_at": now,
        "updated_at": now,
    }
    ((enrollment_id,),) = _INSERT_ENROLLMENT.rows(core_connection(session), row)
    return int(enrollment_id)


def _wire_details(message: PkiMessage) -> dict[str, object]:
    """What the client used on the wire, for the audit trail."""
    return {
        "message_type": int(message.message_type),
        "digest": message.digest_algorithm,
        "cipher": message.content_cipher.name.lower(),
        "key_transport": message.key_transport.value,
    }


def _check_algorithms(authority: Authority, message: PkiMessage, csr: x509.CertificateSigningRequest) -> None:
    if not authority.settings.scep_allow_sha1:
        if message.digest_algorithm == "sha1":
            raise AlgorithmRefused("message digest SHA-1 is not allowed (scep_allow_sha1 is off)")
        if isinstance(csr.signature_hash_algorithm, hashes.SHA1):
            raise AlgorithmRefused("CSR signature hash SHA-1 is not allowed (scep_allow_sha1 is off)")
    try:
        check_key_strength(csr.public_key())
    except CsrInvalid as error:
        raise AlgorithmRefused(str(error)) from None


def _resent(session: Session, request: _Request) -> ScepEnrollment | None:
    """The enrollment this exact request already opened (scepclient re-sends it while PENDING)."""
    found = _RESENT.one_or_none(
        core_connection(session),
        {
            "transaction_id": request.transaction_id,
            "signer_fingerprint": request.signer_fingerprint,
            "message_type": request.message_type,
            "csr_sha256": request.csr_sha256,
        },
    )
    return None if found is None else session.get(ScepEnrollment, found[0])


def _authorise(
    authority: Authority,
    session: Session,
    message: PkiMessage,
    csr: x509.CertificateSigningRequest,
    *,
    consume: bool = True,
) -> _Grant:
    """A renewal is authorised by its signer certificate, anything else by a one-time challenge.

    A PKCSReq signed by a certificate we issued is a renewal too (macOS and certmonger renew
    that way); if that certificate cannot authorise it, a challenge in the CSR still can.
    """
    renewal = message.message_type is MessageType.RENEWAL_REQ
    if renewal or signed_by_us(authority, message.signer_certificate):
        try:
            grant = authorise_renewal(authority, session, message.signer_certificate, csr)
        except ServiceError:
            if renewal or message.challenge_password is None:
                raise
        else:
            holder = Holder.of(grant.person)
            return _Grant(holder, grant.certificate.profile, grant.device_ref, renewed=grant.certificate)
    return _redeem(authority, session, message, csr, consume=consume)


def _redeem(
    authority: Authority,
    session: Session,
    message: PkiMessage,
    csr: x509.CertificateSigningRequest,
    *,
    consume: bool,
) -> _Grant:
    if not message.challenge_password:
        raise ChallengeRejected("challenge password is missing from the CSR")
    challenge = find_redeemable(session, message.challenge_password)
    check_csr_fits(challenge, csr)
    if not challenge.holder.active:
        raise PolicyViolation(f"person {challenge.holder.username!r} is deactivated")
    if consume:
        use_challenge(session, challenge, authority.now())
    elif challenge.expires_at <= authority.now():
        raise ChallengeRejected("challenge password has expired")
    elif challenge.consumed_at is not None:
        raise ChallengeRejected("challenge password has already been used")
    return _Grant(challenge.holder, challenge.profile, challenge.device_ref, challenge_id=challenge.id)
