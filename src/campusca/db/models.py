"""SQLAlchemy tables of the CA core: organisations, people, CAs, certificates, CRLs, tokens, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite hands back naive ones, which are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes stored by campusca must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UtcDigits(FunctionElement[str]):
    """A UTCDateTime as YYYYMMDDHHMMSS text, formatted by the database (a CRL's million dates, unparsed)."""

    type = String()
    inherit_cache = True
    name = "utc_digits"


@compiles(UtcDigits, "sqlite")
def _utc_digits_sqlite(element: UtcDigits, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y%m%d%H%M%S', {compiler.process(element.clauses, **kw)})"


@compiles(UtcDigits, "postgresql")
def _utc_digits_postgresql(element: UtcDigits, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')"


def utc_digits(column: ColumnElement[datetime | None]) -> UtcDigits:
    return UtcDigits(column)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str] = mapped_column(String(253))
    # Escrow policy (None on a department means: inherit the organisation's).
    escrow_enabled: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escrow_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    escrow_approvals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    departments: Mapped[list[Department]] = relationship(back_populates="organisation")


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    escrow_enabled: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escrow_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    escrow_approvals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="departments")
    people: Mapped[list[Person]] = relationship(back_populates="department")


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # Space-separated roles: admin, ra-officer, auditor, recovery-agent, legal-officer, helpdesk.
    roles: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(back_populates="people")


class CertificateAuthority(Base):
    __tablename__ = "certificate_authorities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # root | issuing
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_authorities.id"), nullable=True)
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_label: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceIdentity(Base):
    """The CA's own operational certificates: SCEP RA, OCSP responder, profile signer."""

    __tablename__ = "service_identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))  # ra | ocsp | profile-signing
    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"))
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_label: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_REVOKED = text("revoked_at IS NOT NULL")


class Certificate(Base):
    __tablename__ = "certificates"
    # CRL generation streams this partial, covering index and never touches the rows (migration 0006).
    __table_args__ = (
        Index(
            "ix_certificates_revoked",
            "ca_id",
            "revoked_at",
            "not_after",
            "serial_hex",
            "revocation_reason",
            sqlite_where=_REVOKED,
            postgresql_where=_REVOKED,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 159-bit serials exceed BIGINT: stored as 40 lowercase hex digits, unique across every CA.
    serial_hex: Mapped[str] = mapped_column(String(40), unique=True)
    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"), index=True)
    profile: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(1024))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True, index=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship()


class CrlState(Base):
    """The latest full CRL of each CA; its number only ever grows (RFC 5280 §5.2.3); DER in `crl_chunks`."""

    __tablename__ = "crl_state"

    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"), primary_key=True)
    crl_number: Mapped[int] = mapped_column(BigInteger)
    this_update: Mapped[datetime] = mapped_column(UTCDateTime)
    next_update: Mapped[datetime] = mapped_column(UTCDateTime)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class CrlChunk(Base):
    """The DER of a CA's full CRL in pieces of at most 1 MiB (`crl_state.der` stays empty since 0006)."""

    __tablename__ = "crl_chunks"

    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"), primary_key=True)
    crl_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DeltaCrlState(Base):
    """The latest delta CRL of each CA (RFC 5280 §5.2.4); numbered from the same counter as full CRLs."""

    __tablename__ = "delta_crl_state"

    ca_id: Mapped[int] = mapped_column(ForeignKey("certificate_authorities.id"), primary_key=True)
    crl_number: Mapped[int] = mapped_column(BigInteger)
    base_crl_number: Mapped[int] = mapped_column(BigInteger)  # the full CRL it updates
    this_update: Mapped[datetime] = mapped_column(UTCDateTime)
    next_update: Mapped[datetime] = mapped_column(UTCDateTime)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(Base):
    """Monotonic counters (CRL numbers, audit sequence); incremented by UPDATE so the row is locked."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRecord(Base):
    """Append-only, hash-chained: each record carries the SHA-256 of the one before it."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(256))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
