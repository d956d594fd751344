"""SQLAlchemy tables of the certificate-only MDM (issue 11): push certificate, check-in state, commands, renewals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campusca.db.models import Base, UTCDateTime, utcnow
from campusca.db.ota import Device


class MdmPushCertificate(Base):
    """Apple's MDM push certificate; its key lives in the software key store under `key_label`."""

    __tablename__ = "mdm_push_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(255))
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_label: Mapped[str] = mapped_column(String(64))
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MdmDevice(Base):
    """A device's MDM enrollment: the identity it checks in with and where to push it."""

    __tablename__ = "mdm_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    enrolled: Mapped[bool] = mapped_column(Boolean, default=False)  # Authenticate .. CheckOut
    identity_serial_hex: Mapped[str | None] = mapped_column(String(40), nullable=True)
    push_token_hex: Mapped[str | None] = mapped_column(String(256), nullable=True)
    push_magic: Mapped[str | None] = mapped_column(String(128), nullable=True)
    authenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    device: Mapped[Device] = relationship()


class MdmCommand(Base):
    """One queued command; `status` queued -> sent -> acknowledged | error (NotNow puts it back to queued)."""

    __tablename__ = "mdm_commands"
    __table_args__ = (Index("ix_mdm_commands_device_status", "device_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    command_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    request_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the plist; erased when answered
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_now_count: Mapped[int] = mapped_column(Integer, default=0)
    renewal_id: Mapped[int | None] = mapped_column(ForeignKey("mdm_renewals.id"), nullable=True, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MdmRenewal(Base):
    """One certificate replacement over MDM; `open_device_id` is unique, so one per device is in flight."""

    __tablename__ = "mdm_renewals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    # Equal to device_id while the renewal is open, NULL once it is done or failed (a partial unique index).
    open_device_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    reason: Mapped[str] = mapped_column(String(16))  # expiring | revoked
    old_serial_hex: Mapped[str] = mapped_column(String(40))
    new_serial_hex: Mapped[str | None] = mapped_column(String(40), nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | pushed | installed | done | failed
    push_status: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
