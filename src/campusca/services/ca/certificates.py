"""Certificate use cases for people and administrators: issue from a CSR, list, show, status.

`issue_from_csr`, `get_certificate` and `list_certificates` each run in a transaction of their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campusca.db.models import Certificate, Person
from campusca.pki.certificates import openssl_serial
from campusca.pki.csr import load_csr
from campusca.pki.errors import CsrInvalid, ProfileError
from campusca.pki.profiles import get_profile
from campusca.services.authority import Authority
from campusca.services.ca.issuance import (
    Holder,
    IssuedCertificate,
    Recording,
    find_certificate,
    record_certificates,
    sign_certificate,
)
from campusca.services.errors import InvalidInput, NotFound
from campusca.services.people.registry import get_person

STATUSES = ("valid", "revoked", "expired")


@dataclass(frozen=True, slots=True)
class CertificateView:
    serial: int
    profile: str
    subject: str
    person: str | None
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    fingerprint_sha256: str
    der: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def to_json(self) -> dict[str, object]:
        return {
            "serial": openssl_serial(self.serial),
            "profile": self.profile,
            "subject": self.subject,
            "person": self.person,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "fingerprint_sha256": self.fingerprint_sha256,
        }


def certificate_view(row: Certificate, now: datetime) -> CertificateView:
    if row.revoked_at is not None:
        status = "revoked"
    elif row.not_after <= now:
        status = "expired"
    else:
        status = "valid"
    return CertificateView(
        serial=int(row.serial_hex, 16),
        profile=row.profile,
        subject=row.subject,
        person=row.person.username if row.person is not None else None,
        not_before=row.not_before,
        not_after=row.not_after,
        status=status,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        fingerprint_sha256=row.fingerprint_sha256,
        der=row.der,
    )


def view_of_issued(issued: IssuedCertificate, *, person: str | None) -> CertificateView:
    """The view of a certificate just issued (valid by construction), without reading it back."""
    certificate = issued.certificate
    return CertificateView(
        serial=issued.serial,
        profile=issued.profile,
        subject=issued.subject,
        person=person,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        status="valid",
        revoked_at=None,
        revocation_reason=None,
        fingerprint_sha256=issued.fingerprint_sha256,
        der=issued.der,
    )


def issue_from_csr(
    authority: Authority,
    *,
    profile_name: str,
    csr_bytes: bytes,
    username: str | None,
    actor: str,
) -> CertificateView:
    """Verify a CSR and issue a certificate of the profile for the person; committed when it returns.

    The certificate is signed between a read transaction and a short write transaction, so the
    write lock is held only to insert the row and its audit record; certificates issued at the same
    moment share that transaction (group commit).
    """
    try:
        get_profile(profile_name)
        csr = load_csr(csr_bytes)
    except (CsrInvalid, ProfileError) as error:
        raise InvalidInput(str(error)) from None
    holder = None
    if username:
        with authority.db.read_connection() as connection:
            holder = Holder.find(connection, username)
    signed = sign_certificate(
        authority, profile_name=profile_name, public_key=csr.public_key(), holder=holder, csr=csr
    )
    recorder = authority.db.group_commit("certificate.issued", _record_all)
    issued = recorder.submit((authority, Recording(signed, actor)))
    return view_of_issued(issued, person=holder.username if holder is not None else None)


def _record_all(session: Session, items: Sequence[tuple[Authority, Recording]]) -> list[IssuedCertificate]:
    """A group commit's batch, recorded together per authority (a process normally has one)."""
    issued: list[IssuedCertificate] = []
    for authority, group in itertools.groupby(items, key=lambda item: item[0]):
        issued += record_certificates(authority, session, [recording for _, recording in group])
    return issued


def get_certificate(authority: Authority, serial: int) -> CertificateView:
    """One certificate campusca issued, by serial."""
    with authority.db.read() as session:
        row = find_certificate(session, serial)
        if row is None:
            raise NotFound(f"no certificate with serial {openssl_serial(serial)}")
        return certificate_view(row, authority.now())


def list_certificates(
    authority: Authority,
    *,
    username: str | None = None,
    status: str | None = None,
    profile: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[CertificateView], int]:
    """A page of certificates, newest first, and the total number matching the filters."""
    now = authority.now()
    query = select(Certificate)
    if profile:
        query = query.where(Certificate.profile == profile)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
        if status == "revoked":
            query = query.where(Certificate.revoked_at.is_not(None))
        elif status == "expired":
            query = query.where(Certificate.revoked_at.is_(None), Certificate.not_after <= now)
        else:
            query = query.where(Certificate.revoked_at.is_(None), Certificate.not_after > now)
    with authority.db.read() as session:
        if username:
            query = query.where(Certificate.person_id == get_person(session, username).id)
        total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = session.execute(query.order_by(Certificate.id.desc()).limit(limit).offset(offset)).scalars()
        return [certificate_view(r, now) for r in rows], total


def valid_certificates_of(
    session: Session, person: Person, now: datetime, profiles: tuple[str, ...]
) -> list[x509.Certificate]:
    rows = session.execute(
        select(Certificate).where(
            Certificate.person_id == person.id,
            Certificate.profile.in_(profiles),
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
        )
    ).scalars()
    return [x509.load_der_x509_certificate(r.der) for r in rows]
