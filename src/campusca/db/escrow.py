"""SQLAlchemy tables of key escrow and recovery: domains, domain keys, agents, key custody, recovery requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campusca.db.models import Base, Certificate, Department, Organisation, Person, UTCDateTime, utcnow


class EscrowDomain(Base):
    """The scope of one escrow policy: an organisation, or a department that sets its own policy."""

    __tablename__ = "escrow_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True, unique=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    department: Mapped[Department | None] = relationship()
    keys: Mapped[list[EscrowDomainKeyRow]] = relationship(
        back_populates="domain", order_by="EscrowDomainKeyRow.id"
    )
    agents: Mapped[list[EscrowAgent]] = relationship(back_populates="domain", order_by="EscrowAgent.id")

    @property
    def scope(self) -> str:
        if self.department is not None:
            return f"department:{self.department.organisation.name}/{self.department.name}"
        return f"organisation:{self.organisation.name if self.organisation else '?'}"


class EscrowDomainKeyRow(Base):
    """One generation of a domain's key pair: in the key backend (simple) or Shamir-split (quorum)."""

    __tablename__ = "escrow_domain_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("escrow_domains.id", ondelete="RESTRICT"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # simple | quorum
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    public_key_sha256: Mapped[str] = mapped_column(String(64))
    key_label: Mapped[str | None] = mapped_column(String(64), nullable=True)  # simple mode
    encrypted_domain_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # quorum mode
    threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)  # quorum mode: M
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    domain: Mapped[EscrowDomain] = relationship(back_populates="keys")


class EscrowAgent(Base):
    """A recovery agent of a domain; in quorum mode it holds a share sealed with the agent's passphrase."""

    __tablename__ = "escrow_agents"
    __table_args__ = (UniqueConstraint("domain_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("escrow_domains.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    sealed_share: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    share_key_id: Mapped[int | None] = mapped_column(ForeignKey("escrow_domain_keys.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    domain: Mapped[EscrowDomain] = relationship(back_populates="agents")
    person: Mapped[Person] = relationship()


class KeyCustody(Base):
    """What campusca holds of an S/MIME encryption certificate's private key: an archive record, or nothing."""

    __tablename__ = "key_custody"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT"), unique=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    escrowed: Mapped[bool] = mapped_column(Boolean)
    key_source: Mapped[str] = mapped_column(String(16))  # generated | csr
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("escrow_domains.id"), nullable=True)
    domain_key_id: Mapped[int | None] = mapped_column(ForeignKey("escrow_domain_keys.id"), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)  # the archive binding's owner
    archive_record: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    certificate: Mapped[Certificate] = relationship()
    person: Mapped[Person] = relationship()


class RecoveryRequest(Base):
    """A lost-key or legal recovery: approvals, then one release (and, when deferred, a case closing)."""

    __tablename__ = "recovery_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("escrow_domains.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(16))  # lost-key | legal
    case_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    requester: Mapped[str] = mapped_column(String(200))  # audit actor
    requester_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approvals_required: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))  # the domain's mode when requested
    # Quorum mode: approvals hand their shares to this per-request key, whose private half is
    # sealed under the release code shown once to the requester (never stored).
    handover_public_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    handover_sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)  # confidential legal: actions pending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    requester_person: Mapped[Person | None] = relationship(foreign_keys=[requester_person_id])
    domain: Mapped[EscrowDomain] = relationship()
    certificates: Mapped[list[RecoveryRequestCertificate]] = relationship(
        back_populates="request", order_by="RecoveryRequestCertificate.certificate_id"
    )
    approvals: Mapped[list[RecoveryApproval]] = relationship(
        back_populates="request", order_by="RecoveryApproval.id"
    )


class RecoveryRequestCertificate(Base):
    """A certificate whose archived key a recovery request covers."""

    __tablename__ = "recovery_request_certificates"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_requests.id", ondelete="CASCADE"), primary_key=True
    )
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), primary_key=True)

    request: Mapped[RecoveryRequest] = relationship(back_populates="certificates")
    certificate: Mapped[Certificate] = relationship()


class RecoveryApproval(Base):
    """One agent's approval; in quorum mode with the agent's share sealed to the request's handover key."""

    __tablename__ = "recovery_approvals"
    __table_args__ = (UniqueConstraint("request_id", "agent_person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_requests.id", ondelete="CASCADE"), index=True
    )
    agent_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    handed_over_share: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[RecoveryRequest] = relationship(back_populates="approvals")
    agent: Mapped[Person] = relationship()
