"""The administrators' dashboard: the figures that say whether anything needs attention, in one read.

Every figure is a COUNT over an indexed column, so the dashboard costs the same with a million
certificates as with ten. The audit chain is not recomputed here (that reads every record); the
dashboard shows the last verification, which `/admin/audit` runs on demand (`audit_review`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select

from campusca.db.models import Certificate, Person
from campusca.db.ota import Device, OutboxMessage
from campusca.db.scep import ScepEnrollment
from campusca.services.audit_review import VerificationView, last_verification_in
from campusca.services.authority import Authority

EXPIRING_DAYS = 30
# Device states that wait for the person to enrol again (a revoked phone, an invitation sent for renewal).
_AWAITING_REENROLLMENT = ("revoked", "renewal_invited")


@dataclass(frozen=True, slots=True)
class DashboardFigures:
    people: int
    active_people: int
    valid: int
    revoked: int
    expired: int
    expiring_soon: int  # valid, and expiring within EXPIRING_DAYS
    pending_scep: int
    failed_invitations: int
    devices_due: (
        int  # awaiting re-enrollment, or whose newest valid certificate ends within the renewal window
    )
    last_verification: VerificationView | None
    audit_records: int
    as_of: datetime


def _devices_due(session: object, now: datetime, horizon: datetime) -> int:
    valid_until = (
        select(func.max(Certificate.not_after))
        .join(ScepEnrollment, ScepEnrollment.certificate_id == Certificate.id)
        .where(
            ScepEnrollment.device_ref == Device.udid,
            Certificate.revoked_at.is_(None),
            Certificate.not_after > now,
        )
        .scalar_subquery()
    )
    has_certificate = exists().where(
        ScepEnrollment.device_ref == Device.udid, ScepEnrollment.certificate_id.is_not(None)
    )
    awaiting = Device.state.in_(_AWAITING_REENROLLMENT)
    expiring = (
        (Device.state == "enrolled") & has_certificate & ((valid_until.is_(None)) | (valid_until <= horizon))
    )
    return int(session.execute(select(func.count(Device.id)).where(awaiting | expiring)).scalar_one())  # type: ignore[attr-defined]


def dashboard_figures(authority: Authority) -> DashboardFigures:
    """Everything the dashboard shows, read in one transaction."""
    now = authority.now()
    soon = now + timedelta(days=EXPIRING_DAYS)
    renewal_horizon = now + timedelta(days=authority.settings.renewal_window_days)
    count = select(func.count(Certificate.id))
    unrevoked = Certificate.revoked_at.is_(None)
    with authority.db.read() as session:

        def scalar(query: object) -> int:
            return int(session.execute(query).scalar_one())  # type: ignore[call-overload]

        people = scalar(select(func.count(Person.id)))
        active_people = scalar(select(func.count(Person.id)).where(Person.active.is_(True)))
        revoked = scalar(count.where(Certificate.revoked_at.is_not(None)))
        valid = scalar(count.where(unrevoked, Certificate.not_after > now))
        expired = scalar(count.where(unrevoked, Certificate.not_after <= now))
        expiring = scalar(count.where(unrevoked, Certificate.not_after > now, Certificate.not_after <= soon))
        pending = scalar(select(func.count(ScepEnrollment.id)).where(ScepEnrollment.status == "pending"))
        failed = scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.status == "failed", OutboxMessage.invitation_id.is_not(None)
            )
        )
        due = _devices_due(session, now, renewal_horizon)
        verification, records = last_verification_in(session)
    return DashboardFigures(
        people=people,
        active_people=active_people,
        valid=valid,
        revoked=revoked,
        expired=expired,
        expiring_soon=expiring,
        pending_scep=pending,
        failed_invitations=failed,
        devices_due=due,
        last_verification=verification,
        audit_records=records,
        as_of=now,
    )
