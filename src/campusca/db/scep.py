"""SQLAlchemy tables of the SCEP server (RFC 8894): one-time challenges and enrollment transactions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campusca.db.models import Base, Certificate, Person, UTCDateTime, utcnow


class ScepChallenge(Base):
    """A one-time challenge password: only its SHA-256 is stored (the secret carries 160 random bits)."""

    __tablename__ = "scep_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    device_ref: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    expected_subject: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    expected_san: Mapped[str | None] = mapped_column(String(512), nullable=True)
    profile: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set once, by a conditional UPDATE, when an enrollment uses the challenge.
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship()


class ScepEnrollment(Base):
    """One PKCSReq/RenewalReq transaction: pending, issued or rejected.

    `requester_key_sha256` (SHA-256 of the signer's SubjectPublicKeyInfo) binds the transaction to
    whoever holds that key: CertPoll and GetCert answer only a message signed with the same key.
    """

    __tablename__ = "scep_enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(255), index=True)
    requester_key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    signer_fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[int] = mapped_column(Integer)
    csr_der: Mapped[bytes] = mapped_column(LargeBinary)
    csr_sha256: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), nullable=True)
    device_ref: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    profile: Mapped[str] = mapped_column(String(32))
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("scep_challenges.id"), nullable=True)
    # For a renewal: the certificate whose key signed the request.
    renewed_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | issued | rejected
    reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship(foreign_keys=[certificate_id])
