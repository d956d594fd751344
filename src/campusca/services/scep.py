"""SCEP server use cases (RFC 8894): challenges, enrollments by device, pending approval.

The protocol work (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL) is in `scep_enrollment`; the
challenge store in `scep_challenges`. This module is the API other services and the adapters call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.scep import ScepEnrollment
from campusca.services.scep_challenges import ChallengeView, challenge_views, create_challenge

__all__ = [
    "ChallengeView",
    "ScepEnrollmentView",
    "challenge_views",
    "create_challenge",
    "enrollment_view",
    "enrollments_for_device",
]


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
            "certificate_serial": format(self.certificate_serial, "x") if self.certificate_serial else None,
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
