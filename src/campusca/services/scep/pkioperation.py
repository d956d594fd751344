"""SCEP PKIOperation use cases (RFC 8894 §3.3): PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL.

The codec has verified the message signature and opened the envelope; this module decides. A new
enrollment is authorised by a one-time challenge, a renewal by the certificate that signed it
(issued by us, unexpired, unrevoked, same subject). Each transaction is bound to the requester's
public key, so CertPoll and GetCert answer only whoever holds that key. Services never speak
failInfo: refusals are domain errors, which the adapter maps to a signed CertRep FAILURE.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import Certificate, Person
from campusca.db.scep import ScepEnrollment
from campusca.pki.certificates import common_name
from campusca.pki.csr import check_key_strength
from campusca.pki.errors import CsrInvalid
from campusca.scep import MessageType, PkiMessage
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.crls import current_crl
from campusca.services.ca.issuance import (
    Holder,
    SignedCertificate,
    find_certificate,
    record_certificate,
    sign_certificate,
)
from campusca.services.errors import ChallengeRejected, NotFound, PolicyViolation, ServiceError
from campusca.services.scep.challenges import consume_challenge, expected_name, find_challenge
from campusca.services.scep.device_records import record_scep_device
from campusca.services.scep.renewal_auth import authorise_renewal, signed_by_us

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


@dataclass(frozen=True, slots=True)
class _Grant:
    """Who an enrollment is for and under which rules, once it is authorised."""

    person: Person
    profile: str
    device_ref: str | None
    challenge_id: int | None = None
    renewed: Certificate | None = None


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


def issue_for_enrollment(
    authority: Authority,
    session: Session,
    row: ScepEnrollment,
    *,
    actor: str,
    request_details: Mapping[str, object] | None = None,
    signed: SignedCertificate | None = None,
) -> x509.Certificate:
    """Issue the certificate of a (new or approved) enrollment and link it; caller's transaction.

    `signed` is the certificate already signed outside the transaction; without it, it is signed here.
    """
    csr = x509.load_der_x509_csr(row.csr_der)
    renewed = session.get(Certificate, row.renewed_certificate_id) if row.renewed_certificate_id else None
    if signed is None:
        signed = sign_certificate(
            authority,
            profile_name=row.profile,
            public_key=csr.public_key(),
            holder=Holder.of(row.person),
            csr=csr,
            device_urn=device_urn(row.device_ref) if row.device_ref else None,
        )
    issued = record_certificate(
        authority,
        session,
        signed,
        actor=actor,
        audit_details={
            "via": "scep",
            "enrollment": row.id,
            "transaction_id": row.transaction_id,
            "device": row.device_ref,
            "renewal_of": renewed.serial_hex if renewed is not None else None,
            **(request_details or {}),
        },
    )
    row.certificate_id = issued.id
    row.status = "issued"
    row.updated_at = authority.now()
    record_scep_device(authority, session, row, actor=actor)
    session.flush()
    return issued.certificate


# --- PKCSReq and RenewalReq ---------------------------------------------------------------------


def _enrol(authority: Authority, message: PkiMessage) -> ScepAnswer:
    """PKCSReq or RenewalReq: answer a re-send as before, else authorise, then hold or issue.

    The certificate is signed between a read transaction (authorise without using the challenge)
    and a short write transaction that authorises again, uses the challenge up atomically and
    records the certificate, so SCEP never holds the write lock while signing. A certificate signed
    for a request that loses the race for its challenge is discarded: it was never recorded or sent.
    """
    csr = message.csr
    if csr is None:  # the codec sets it for both request types; this guards the type
        raise PolicyViolation("PKCSReq must carry a CSR")
    _check_algorithms(authority, message, csr)
    csr_der = csr.public_bytes(serialization.Encoding.DER)
    with authority.db.read() as session:
        earlier = _resent(session, message, csr_der)
        if earlier is not None:
            return _answer_for(authority, earlier)
        grant = _authorise(authority, session, message, csr, consume=False)
        held = grant.renewed is None and grant.profile in authority.settings.scep_approval_profiles
        terms = None if held else _terms(grant)
    signed = None if terms is None else _sign(authority, terms, csr)
    with authority.db.write() as session:
        earlier = _resent(session, message, csr_der)
        if earlier is not None:
            return _answer_for(authority, earlier)
        grant = _authorise(authority, session, message, csr)
        row = _record(authority, session, message, csr_der, grant)
        if held:
            audit.record(
                session,
                actor=SCEP_ACTOR,
                action="scep.enrollment.pending",
                target=f"scep-enrollment:{row.id}",
                details={
                    "person": grant.person.username,
                    "device": grant.device_ref,
                    "profile": grant.profile,
                },
                at=authority.now(),
            )
            return ScepAnswer(ScepAnswerKind.PENDING)
        if signed is None or _terms(grant) != terms:  # the rules changed in between: sign again
            signed = _sign(authority, _terms(grant), csr)
        certificate = issue_for_enrollment(
            authority, session, row, actor=SCEP_ACTOR, request_details=_wire_details(message), signed=signed
        )
        return ScepAnswer(ScepAnswerKind.ISSUED, issued_chain(authority, certificate))


@dataclass(frozen=True, slots=True)
class _Terms:
    """What a granted enrollment's certificate is made of, read inside a transaction."""

    holder: Holder
    profile: str
    device_ref: str | None


def _terms(grant: _Grant) -> _Terms:
    return _Terms(Holder.of(grant.person), grant.profile, grant.device_ref)


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
    authority: Authority, session: Session, message: PkiMessage, csr_der: bytes, grant: _Grant
) -> ScepEnrollment:
    """Store the authorised enrollment (status pending until a certificate is linked)."""
    row = ScepEnrollment(
        transaction_id=message.transaction_id,
        requester_key_sha256=requester_key_hash(message.signer_certificate),
        signer_fingerprint_sha256=message.signer_certificate.fingerprint(hashes.SHA256()).hex(),
        message_type=int(message.message_type),
        csr_der=csr_der,
        csr_sha256=hashlib.sha256(csr_der).hexdigest(),
        person_id=grant.person.id,
        device_ref=grant.device_ref,
        profile=grant.profile,
        challenge_id=grant.challenge_id,
        renewed_certificate_id=grant.renewed.id if grant.renewed is not None else None,
        status="pending",
        created_at=authority.now(),
        updated_at=authority.now(),
    )
    session.add(row)
    session.flush()
    return row


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


def _resent(session: Session, message: PkiMessage, csr_der: bytes) -> ScepEnrollment | None:
    """The enrollment this exact request already opened (scepclient re-sends it while PENDING)."""
    return session.execute(
        select(ScepEnrollment)
        .where(
            ScepEnrollment.transaction_id == message.transaction_id,
            ScepEnrollment.signer_fingerprint_sha256
            == message.signer_certificate.fingerprint(hashes.SHA256()).hex(),
            ScepEnrollment.message_type == int(message.message_type),
            ScepEnrollment.csr_sha256 == hashlib.sha256(csr_der).hexdigest(),
        )
        .order_by(ScepEnrollment.id.desc())
    ).scalar()


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
            return _Grant(
                grant.person, grant.certificate.profile, grant.device_ref, renewed=grant.certificate
            )
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
    challenge = find_challenge(session, message.challenge_password)
    if challenge.expected_subject is not None and not _subject_matches(
        csr.subject, expected_name(challenge.expected_subject)
    ):
        raise ChallengeRejected("CSR subject does not match the subject the challenge was issued for")
    if challenge.expected_san is not None and challenge.expected_san not in _requested_names(csr):
        raise ChallengeRejected("CSR subjectAltName does not match the name the challenge was issued for")
    if not challenge.person.active:
        raise PolicyViolation(f"person {challenge.person.username!r} is deactivated")
    if consume:
        consume_challenge(session, challenge, authority.now())
    elif challenge.expires_at <= authority.now():
        raise ChallengeRejected("challenge password has expired")
    elif challenge.consumed_at is not None:
        raise ChallengeRejected("challenge password has already been used")
    return _Grant(
        person=challenge.person,
        profile=challenge.profile,
        device_ref=challenge.device_ref,
        challenge_id=challenge.id,
    )


def _subject_matches(subject: x509.Name, expected: x509.Name) -> bool:
    """A bare expected CN compares the CN only; a full name compares every attribute, in any order."""
    if len(expected) == 1 and common_name(expected) is not None:
        return common_name(subject) == common_name(expected)

    def attributes(name: x509.Name) -> list[tuple[str, str]]:
        return sorted((a.oid.dotted_string, str(a.value)) for a in name)

    return attributes(subject) == attributes(expected)


def _requested_names(csr: x509.CertificateSigningRequest) -> set[str]:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return set()
    return {str(name.value) for name in san}


def _answer_for(authority: Authority, row: ScepEnrollment) -> ScepAnswer:
    if row.status == "pending":
        return ScepAnswer(ScepAnswerKind.PENDING)
    if row.status == "issued" and row.certificate is not None:
        certificate = x509.load_der_x509_certificate(row.certificate.der)
        return ScepAnswer(ScepAnswerKind.ISSUED, issued_chain(authority, certificate))
    raise PolicyViolation("the request was rejected by an administrator")


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
        return _answer_for(authority, row)


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
    MessageType.PKCS_REQ: _enrol,
    MessageType.RENEWAL_REQ: _enrol,
    MessageType.CERT_POLL: _poll,
    MessageType.GET_CERT: _get_cert,
    MessageType.GET_CRL: _get_crl,
}
