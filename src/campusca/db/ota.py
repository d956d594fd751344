"""SQLAlchemy tables of over-the-air enrollment: invitations, outbox, logins, devices, renewal, leases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from campusca.db.models import Base, Organisation, Person, UTCDateTime, utcnow


class Invitation(Base):
    """A one-time enrollment link; only the SHA-256 of its 256-bit token is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    reason: Mapped[str] = mapped_column(String(16))  # admin | renewal
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship()


class OutboxMessage(Base):
    """A message waiting for (or done with) its carrier; the body is erased once it is delivered."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginThrottle(Base):
    """A failed-login counter for one (account, address) pair, one account or one address.

    `key` is the SHA-256 of what is counted (never the typed username itself: it may be a password typed
    into the wrong field). Rows are locked while an attempt is reserved, so every worker sees one count.
    """

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # pair | account | address
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A logged-in enrollment page session; cookie and CSRF token are stored as SHA-256 only."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # local | ldap
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    person: Mapped[Person] = relationship()


class Device(Base):
    """An enrolled (or enrolling) device, keyed by its UDID, with what it reported in phase 2."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    udid: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    imei: Mapped[str | None] = mapped_column(String(32), nullable=True)
    meid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    product: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    mac_address: Mapped[str | None] = mapped_column(String(32), nullable=True)
    device_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    state: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(8))  # where renewal invitations go
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()


class DeviceEvent(Base):
    """A device's history, newest last (the audit trail holds the same events, hash-chained)."""

    __tablename__ = "device_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(48))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON


class Enrollment(Base):
    """One run of the OTA flow, from login through the final profile (Apple OTA phases 1-3)."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(24))
    # The phase-1 Profile Service challenge (one-time; SHA-256 only), cleared when phase 2 uses it.
    challenge_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    challenge_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    enrollment_serial_hex: Mapped[str | None] = mapped_column(String(40), nullable=True)
    final_profile_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()
    invitation: Mapped[Invitation] = relationship()
    device: Mapped[Device | None] = relationship()


class RenewalTrigger(Base):
    """A device certificate that already caused a re-enrollment invitation (never twice)."""

    __tablename__ = "renewal_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial_hex: Mapped[str] = mapped_column(String(40), unique=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(16))  # expiring | revoked | covered
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobLease(Base):
    """Who runs a periodic job right now; taken and renewed with one conditional UPDATE."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DevicePolicy(Base):
    """An organisation's passcode policy for enrolled devices (com.apple.mobiledevice.passwordpolicy)."""

    __tablename__ = "device_policies"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    force_pin: Mapped[bool] = mapped_column(Boolean, default=True)
    min_length: Mapped[int] = mapped_column(Integer, default=6)
    require_alphanumeric: Mapped[bool] = mapped_column(Boolean, default=False)
    max_inactivity_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_failed_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_pin_age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pin_history: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


# A delivery attempt owns its outbox message this long (several workers deliver the same outbox).
OUTBOX_CLAIM_SECONDS = 120


def claim_outbox_message(
    session: Session, message_id: int, now: datetime, *, channel: str | None = None
) -> bool:
    """Take a pending, due message for one attempt (counted; retried after the claim runs out if we die).

    True when this transaction won it; a concurrent worker's claim, or a message not due, gives False.
    """
    query = update(OutboxMessage).where(
        OutboxMessage.id == message_id,
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
    )
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    claimed = session.execute(
        query.values(
            attempts=OutboxMessage.attempts + 1, next_attempt_at=now + timedelta(seconds=OUTBOX_CLAIM_SECONDS)
        ).execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]
