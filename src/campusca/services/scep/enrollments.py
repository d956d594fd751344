"""SCEP server use cases (RFC 8894): challenges, enrollments by device, pending approval.

The protocol work (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL) is in `pkioperation` and `pkcsreq`; the
challenge store in `challenges`. `list_enrollments`, `approve_pending` and `reject_pending` run in a
transaction of their own; `enrollments_for_device` joins the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.ids import get_row
from campusca.db.scep import ScepEnrollment
from campusca.pki.certificates import openssl_serial
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.errors import Conflict, NotFound, PolicyViolation
from campusca.services.scep.pkcsreq import issue_for_enrollment


@dataclass(frozen=True, slots=True)
class ScepEnrollmentView:
    """One SCEP enrollment transaction as callers see it."""

    id: int
    transaction_id: str
    username: str | None
    device_ref: str | None
    profile: str
    certificate_serial: int | None
    status: str  # pending | issued | rejected
    renewal: bool
    created_at: datetime
    decided_by: str | None
    reason: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "transaction_id": self.transaction_id,
            "username": self.username,
            "device_ref": self.device_ref,
            "profile": self.profile,
            "certificate_serial": openssl_serial(self.certificate_serial)
            if self.certificate_serial
            else None,
            "status": self.status,
            "renewal": self.renewal,
            "created_at": self.created_at.isoformat(),
            "decided_by": self.decided_by,
            "reason": self.reason,
        }


def enrollment_view(row: ScepEnrollment) -> ScepEnrollmentView:
    return ScepEnrollmentView(
        id=row.id,
        transaction_id=row.transaction_id,
        username=row.person.username if row.person is not None else None,
        device_ref=row.device_ref,
        profile=row.profile,
        certificate_serial=int(row.certificate.serial_hex, 16) if row.certificate is not None else None,
        status=row.status,
        renewal=row.renewed_certificate_id is not None,
        created_at=row.created_at,
        decided_by=row.decided_by,
        reason=row.reason,
    )


def enrollments_for_device(session: Session, device_ref: str) -> list[ScepEnrollmentView]:
    """Every SCEP enrollment of a device, newest first."""
    rows = session.execute(
        select(ScepEnrollment)
        .where(ScepEnrollment.device_ref == device_ref)
        .order_by(ScepEnrollment.id.desc())
    ).scalars()
    return [enrollment_view(row) for row in rows]


def list_enrollments(
    authority: Authority, *, status: str | None = None, device_ref: str | None = None, limit: int = 100
) -> list[ScepEnrollmentView]:
    """SCEP enrollments, newest first, optionally only those with `status` (pending, issued, rejected)
    or of one device."""
    query = select(ScepEnrollment).order_by(ScepEnrollment.id.desc()).limit(limit)
    if status is not None:
        query = query.where(ScepEnrollment.status == status)
    if device_ref is not None:
        query = query.where(ScepEnrollment.device_ref == device_ref)
    with authority.db.read() as session:
        return [enrollment_view(row) for row in session.execute(query).scalars()]


def _pending(session: Session, enrollment_id: int) -> ScepEnrollment:
    row = get_row(session, ScepEnrollment, enrollment_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no SCEP enrollment with id {enrollment_id}")
    if row.status != "pending":
        raise Conflict(f"SCEP enrollment {enrollment_id} is {row.status}, not pending")
    return row


def approve_pending(authority: Authority, enrollment_id: int, *, actor: str) -> ScepEnrollmentView:
    """Approve a pending enrollment: the certificate is issued now and handed out at the next poll.

    The certificate, the decision and their audit records are committed when this returns.
    """
    with authority.db.write() as session:
        row = _pending(session, enrollment_id)
        row.decided_by, row.decided_at = actor, authority.now()
        issue_for_enrollment(authority, session, row, actor=actor)
        audit.record(
            session,
            actor=actor,
            action="scep.enrollment.approved",
            target=f"scep-enrollment:{row.id}",
            details={"person": row.person.username if row.person else None, "device": row.device_ref},
            at=authority.now(),
        )
        return enrollment_view(row)


def reject_pending(
    authority: Authority, enrollment_id: int, *, actor: str, reason: str | None = None
) -> ScepEnrollmentView:
    """Reject a pending enrollment: the next poll (or re-sent request) gets a FAILURE."""
    with authority.db.write() as session:
        row = _pending(session, enrollment_id)
        now = authority.now()
        row.status, row.decided_by, row.decided_at, row.updated_at = "rejected", actor, now, now
        row.reason = (reason or "rejected by an administrator")[:256]
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="scep.enrollment.rejected",
            target=f"scep-enrollment:{row.id}",
            details={"person": row.person.username if row.person else None, "reason": row.reason},
            at=now,
        )
        return enrollment_view(row)


@dataclass(frozen=True, slots=True)
class ScepRa:
    """The RA: GetCACert returns its certificate, requests are encrypted to it, it signs every CertRep."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def ra_identity(authority: Authority) -> ScepRa:
    """The RA identity made at init (RSA: Apple and OpenSSL clients transport keys to RSA only)."""
    identity = authority.identity("ra")
    if not isinstance(identity.key, rsa.RSAPrivateKey):
        raise PolicyViolation("the SCEP RA key must be RSA")
    return ScepRa(certificate=identity.certificate, key=identity.key)


def ca_certificates(authority: Authority) -> list[x509.Certificate]:
    """The CA certificates GetCACert returns after the RA: issuing CA, then root."""
    return authority.chain()


def next_ca_certificates(authority: Authority) -> list[x509.Certificate]:
    """The rollover CA certificate for GetNextCACert, or [] when `scep_next_ca` names none."""
    slug = authority.settings.scep_next_ca
    if not slug or slug not in authority.ca_slugs():
        return []
    return [authority.ca(slug).certificate]
