"""Issuing certificates: the one function every certificate in campusca goes through."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID
from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campusca import metrics
from campusca.db.direct import DirectInsert, DirectStatement
from campusca.db.engine import core_connection
from campusca.db.models import Certificate, CertificateAuthority, Department, Organisation, Person
from campusca.pki.certificates import EndEntityRequest, build_end_entity, common_name, random_serial
from campusca.pki.csr import requested_dns_names
from campusca.pki.errors import PkiError
from campusca.pki.profiles import Profile, SanSource, SubjectSource, get_profile
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.directory_publishing import queue_for_holder
from campusca.services.errors import InvalidInput, NotFound, PolicyViolation

# The profile name under which a subordinate CA's own certificate is recorded (issued by the root).
SUBORDINATE_CA_PROFILE = "subordinate-ca"
# Certificates are back-dated a little so that clients with slightly slow clocks accept them.
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    id: int
    serial: int
    certificate: x509.Certificate
    profile: str
    ca_id: int = 0  # the CA that signed it
    der: bytes = b""
    subject: str = ""
    fingerprint_sha256: str = ""

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def serial_to_hex(serial: int) -> str:
    """The stored form of a serial: 40 lowercase hex digits."""
    return format(serial, "040x")


# Statements of the issuance hot path, built once (SQLAlchemy then only looks up their compiled form).
# A `Holder`'s columns in its field order, and the joins they need from `Person` (SCEP reads them too).
HOLDER_COLUMNS = (
    Person.id,
    Person.username,
    Person.email,
    Person.name,
    Department.name,
    Organisation.name,
    Person.active,
)


def join_holder(statement: Select[Any]) -> Select[Any]:
    """`statement` (which selects `HOLDER_COLUMNS` and has `Person` in its FROM) joined to them."""
    return statement.join(Department, Person.department_id == Department.id).join(
        Organisation, Department.organisation_id == Organisation.id
    )


_FIND_HOLDER = DirectStatement(
    join_holder(select(*HOLDER_COLUMNS)).where(Person.username == bindparam("username"))
)
# One statement for both checks made under the write lock (NULL for the person when there is none).
_STILL_ACTIVE = DirectStatement(
    select(
        select(CertificateAuthority.active)
        .where(CertificateAuthority.id == bindparam("ca_id"))
        .scalar_subquery(),
        select(Person.active).where(Person.id == bindparam("person_id")).scalar_subquery(),
    )
)
# Several rows in one INSERT; RETURNING in any order, matched by serial.
_INSERT_CERTIFICATES = DirectInsert(
    Certificate.__table__, Certificate.__table__.c.id, Certificate.__table__.c.serial_hex
)


@dataclass(frozen=True, slots=True)
class Holder:
    """The person a certificate is for, as read in a transaction: enough to fill the certificate."""

    id: int
    username: str
    email: str
    name: str | None
    department: str
    organisation: str
    active: bool

    @classmethod
    def find(cls, connection: Connection, username: str) -> Holder:
        """The holder with this username, in one query (the issuance hot path needs no ORM objects)."""
        row = _FIND_HOLDER.one_or_none(connection, {"username": username.strip().lower()})
        if row is None:
            raise NotFound(f"no person with username {username!r}")
        return cls(*row)

    @classmethod
    def of(cls, person: Person) -> Holder:
        return cls(
            id=person.id,
            username=person.username,
            email=person.email,
            name=person.name,
            department=person.department.name,
            organisation=person.department.organisation.name,
            active=person.active,
        )


@dataclass(frozen=True, slots=True)
class SignedCertificate:
    """A certificate built and signed but not yet recorded: it exists nowhere until `record_certificate`."""

    certificate: x509.Certificate
    profile: str
    ca_id: int
    holder: Holder | None
    signed_at: datetime
    # What its row stores, worked out when it is signed so that the write transaction only inserts.
    der: bytes = field(init=False)
    subject: str = field(init=False)
    fingerprint_sha256: str = field(init=False)

    def __post_init__(self) -> None:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        object.__setattr__(self, "der", der)
        object.__setattr__(self, "subject", self.certificate.subject.rfc4514_string())
        object.__setattr__(self, "fingerprint_sha256", hashlib.sha256(der).hexdigest())


@dataclass(frozen=True, slots=True)
class Recording:
    """A signed certificate to record: by whom, with which further audit details."""

    signed: SignedCertificate
    actor: str
    audit_details: Mapping[str, Any] | None = None


def _subject_for(
    profile: Profile,
    holder: Holder | None,
    csr: x509.CertificateSigningRequest | None,
    subject: x509.Name | None,
) -> x509.Name:
    if subject is not None:
        return subject
    if profile.subject is SubjectSource.MAILBOX:
        if holder is None:
            raise InvalidInput(f"profile {profile.name!r} needs a person")
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, holder.email)])
    attributes: list[x509.NameAttribute] = []
    cn = common_name(csr.subject) if csr is not None else None
    if profile.subject is SubjectSource.PERSON or cn is None:
        cn = (holder.name or holder.username) if holder is not None else cn
    if not cn:
        raise InvalidInput("the certificate needs a common name: give a CSR with a CN or a person")
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]))
    if holder is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, holder.department[:64]))
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, holder.organisation[:64]))
    return x509.Name(list(reversed(attributes)))


def _alt_names_for(
    profile: Profile,
    holder: Holder | None,
    csr: x509.CertificateSigningRequest | None,
    device_urn: str | None,
) -> tuple[x509.GeneralName, ...]:
    names: list[x509.GeneralName] = []
    for source in profile.san_sources:
        if source is SanSource.PERSON_EMAIL and holder is not None:
            names.append(x509.RFC822Name(holder.email))
        elif source is SanSource.CSR_DNS and csr is not None:
            names.extend(x509.DNSName(n) for n in requested_dns_names(csr))
        elif source is SanSource.DEVICE_URN and device_urn:
            names.append(x509.UniformResourceIdentifier(device_urn))
    if profile.subject is SubjectSource.MAILBOX and not names:
        raise InvalidInput(f"profile {profile.name!r} needs the person's e-mail address")
    return tuple(names)


def sign_certificate(
    authority: Authority,
    *,
    profile_name: str,
    public_key: CertificatePublicKeyTypes,
    holder: Holder | None = None,
    csr: x509.CertificateSigningRequest | None = None,
    subject: x509.Name | None = None,
    device_urn: str | None = None,
    not_after: datetime | None = None,
    ca_slug: str | None = None,
) -> SignedCertificate:
    """Build and sign a certificate of `profile_name`; touches no database, so no lock is held.

    The serial is 159 random bits; its uniqueness is enforced when the certificate is recorded.
    The CSR (if any) must already be verified; only its subject CN and, where the profile allows,
    its DNS names are used. The profile names its CA unless `ca_slug` does (service certificates).
    """
    profile = get_profile(profile_name)
    if holder is not None and not holder.active:
        raise PolicyViolation(f"person {holder.username!r} is deactivated")
    ca = authority.ca(ca_slug) if ca_slug else authority.issuing_ca(profile.issuer_ca)
    now = authority.now()
    request = EndEntityRequest(
        public_key=public_key,
        subject=_subject_for(profile, holder, csr, subject),
        subject_alt_names=_alt_names_for(profile, holder, csr, device_urn),
        not_before=now - BACKDATE,
        serial=random_serial(),
        not_after=not_after,
    )
    try:
        certificate = build_end_entity(
            request, profile=profile, issuer_certificate=ca.certificate, issuer_key=ca.key, urls=ca.urls
        )
    except PkiError as error:
        raise PolicyViolation(str(error)) from None
    return SignedCertificate(
        certificate=certificate, profile=profile.name, ca_id=ca.id, holder=holder, signed_at=now
    )


def record_certificate(
    authority: Authority,
    session: Session,
    signed: SignedCertificate,
    *,
    actor: str,
    audit_details: Mapping[str, Any] | None = None,
) -> IssuedCertificate:
    """Store a signed certificate with its audit record in `session`'s transaction (milliseconds of work).

    A certificate that is never recorded was never issued: it is not returned to anyone.
    """
    return record_certificates(authority, session, [Recording(signed, actor, audit_details)])[0]


def record_certificates(
    authority: Authority, session: Session, recordings: Sequence[Recording]
) -> list[IssuedCertificate]:
    """Store signed certificates with their audit records in `session`'s transaction, in order.

    However many there are (a group commit brings several), this is one check per CA and person, one
    INSERT of the certificates and one of the audit records. Each statement under the write lock gives
    the GIL up and may wait up to a switch interval to get it back from a thread busy signing, while
    the other processes wait for the lock: the fewer statements, the shorter the lock is held.
    """
    connection = core_connection(session)
    # The person may have been deactivated, or the CA revoked, since signing; the write lock decides.
    checked: set[tuple[int, int | None]] = set()
    for recording in recordings:
        signed = recording.signed
        holder_id = signed.holder.id if signed.holder is not None else None
        if (signed.ca_id, holder_id) in checked:
            continue
        checked.add((signed.ca_id, holder_id))
        ((ca_active, person_active),) = _STILL_ACTIVE.rows(
            connection, {"ca_id": signed.ca_id, "person_id": holder_id}
        )
        if signed.holder is not None and not person_active:
            raise PolicyViolation(f"person {signed.holder.username!r} is deactivated")
        if not ca_active:
            # A revoked CA issues nothing more, even from a process that loaded it before the revocation.
            raise PolicyViolation("the CA that signed this certificate has been revoked; nothing was issued")
    rows = [_certificate_row(recording.signed) for recording in recordings]
    try:
        ids = dict(
            (serial_hex, certificate_id)
            for certificate_id, serial_hex in _INSERT_CERTIFICATES.rows(connection, rows)
        )
    except IntegrityError:
        # A 159-bit serial collision is astronomically unlikely; the constraint still guards it.
        raise PolicyViolation("serial number collision; retry the request") from None
    at = authority.now()
    audit.record_all(session, [_issued_entry(recording, at) for recording in recordings])
    issued = []
    for recording, row in zip(recordings, rows, strict=True):
        signed = recording.signed
        metrics.CERTIFICATES_ISSUED.labels(profile=signed.profile).inc()
        if signed.holder is not None:  # S/MIME certificates go to the organisation's LDAP, where it publishes
            queue_for_holder(authority, session, signed.profile, signed.holder.id, signed.holder.organisation)
        issued.append(
            IssuedCertificate(
                id=ids[row["serial_hex"]],
                serial=signed.certificate.serial_number,
                certificate=signed.certificate,
                profile=signed.profile,
                ca_id=signed.ca_id,
                der=signed.der,
                subject=signed.subject,
                fingerprint_sha256=signed.fingerprint_sha256,
            )
        )
    return issued


def _certificate_row(signed: SignedCertificate) -> dict[str, Any]:
    certificate = signed.certificate
    return {
        "serial_hex": serial_to_hex(certificate.serial_number),
        "ca_id": signed.ca_id,
        "profile": signed.profile,
        "subject": signed.subject,
        "person_id": signed.holder.id if signed.holder is not None else None,
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "der": signed.der,
        "fingerprint_sha256": signed.fingerprint_sha256,
        "created_at": signed.signed_at,
        "revoked_at": None,
        "revocation_reason": None,
    }


def _issued_entry(recording: Recording, at: datetime) -> audit.Entry:
    signed = recording.signed
    return audit.Entry(
        actor=recording.actor,
        action="certificate.issued",
        target=f"certificate:{format(signed.certificate.serial_number, 'x')}",
        details={
            "profile": signed.profile,
            "subject": signed.subject,
            "person": signed.holder.username if signed.holder is not None else None,
            "not_after": signed.certificate.not_valid_after_utc.isoformat(),
            **(recording.audit_details or {}),
        },
        at=at,
    )


def issue_certificate(
    authority: Authority,
    session: Session,
    *,
    profile_name: str,
    public_key: CertificatePublicKeyTypes,
    actor: str,
    person: Person | None = None,
    csr: x509.CertificateSigningRequest | None = None,
    subject: x509.Name | None = None,
    device_urn: str | None = None,
    not_after: datetime | None = None,
    ca_slug: str | None = None,
    audit_details: Mapping[str, Any] | None = None,
) -> IssuedCertificate:
    """Sign and record a certificate inside the caller's transaction (for composite use cases).

    Hot paths (REST issuance, SCEP) instead call `sign_certificate` before their write transaction
    and `record_certificate` inside it, so the write lock is never held while signing.
    """
    signed = sign_certificate(
        authority,
        profile_name=profile_name,
        public_key=public_key,
        holder=Holder.of(person) if person is not None else None,
        csr=csr,
        subject=subject,
        device_urn=device_urn,
        not_after=not_after,
        ca_slug=ca_slug,
    )
    return record_certificate(authority, session, signed, actor=actor, audit_details=audit_details)


def parse_serial(text: str) -> int:
    """A serial as openssl prints it (hex, colons allowed); decimal is accepted when it cannot be hex.

    159-bit serials have at most 40 hex digits, so an all-digit string longer than that, or one
    prefixed with 'd:', is read as decimal.
    """
    cleaned = text.strip().lower()
    try:
        if cleaned.startswith("d:"):
            return int(cleaned[2:], 10)
        cleaned = cleaned.replace(":", "")
        if cleaned.isdigit() and len(cleaned) > 40:
            return int(cleaned, 10)
        if cleaned.startswith("0x"):
            cleaned = cleaned[2:]
        return int(cleaned, 16)
    except ValueError:
        raise InvalidInput(f"serial must be hexadecimal (as openssl prints it); got {text!r}") from None


def find_certificate(session: Session, serial: int) -> Certificate | None:
    return session.execute(
        select(Certificate).where(Certificate.serial_hex == serial_to_hex(serial))
    ).scalar()
