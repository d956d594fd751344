"""The CAs themselves: their certificates in the certificates table, listing them, revoking an issuing CA.

Each subordinate CA's certificate is also a row of `certificates` (profile `subordinate-ca`, issued by the
root), so the root's CRL lists a revoked issuing CA exactly as an issuing CA's CRL lists a revoked leaf.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca.db.models import CertificateAuthority, CrlState
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.pki.errors import PkiError
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import (
    SUBORDINATE_CA_PROFILE,
    SignedCertificate,
    find_certificate,
    record_certificate,
)
from campusca.services.ca.revocation import RevocationResult, revoke_certificate
from campusca.services.errors import Conflict, InvalidInput, NotFound, PolicyViolation

# RFC 5280 §5.3.1 and the BRs §7.2.2 for CA certificates: no hold, no privilegeWithdrawn, no aACompromise.
CA_REASONS = (
    RevocationReason.UNSPECIFIED,
    RevocationReason.KEY_COMPROMISE,
    RevocationReason.CA_COMPROMISE,
    RevocationReason.AFFILIATION_CHANGED,
    RevocationReason.SUPERSEDED,
    RevocationReason.CESSATION_OF_OPERATION,
)


@dataclass(frozen=True, slots=True)
class CaView:
    slug: str
    kind: str
    subject: str
    serial: int
    not_after: datetime
    active: bool
    revoked_at: datetime | None
    revocation_reason: str | None
    extended_key_usage: tuple[str, ...]
    policies: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "kind": self.kind,
            "subject": self.subject,
            "serial": openssl_serial(self.serial),
            "not_after": self.not_after.isoformat(),
            "status": "revoked" if self.revoked_at is not None else "active",
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "extended_key_usage": list(self.extended_key_usage),
            "policies": list(self.policies),
        }


def record_ca_certificate(
    authority: Authority, session: Session, ca_row: CertificateAuthority, *, actor: str
) -> None:
    """Record a subordinate CA's certificate as issued by its parent, unless it already is (idempotent)."""
    certificate = x509.load_der_x509_certificate(ca_row.certificate_der)
    if ca_row.parent_id is None or find_certificate(session, certificate.serial_number) is not None:
        return
    signed = SignedCertificate(
        certificate=certificate,
        profile=SUBORDINATE_CA_PROFILE,
        ca_id=ca_row.parent_id,
        holder=None,
        signed_at=authority.now(),
    )
    record_certificate(authority, session, signed, actor=actor, audit_details={"ca": ca_row.slug})


def record_all_ca_certificates(authority: Authority, session: Session, *, actor: str) -> None:
    """Backfill: installs made before CA certificates were recorded get their rows now."""
    for row in session.execute(select(CertificateAuthority).order_by(CertificateAuthority.id)).scalars():
        record_ca_certificate(authority, session, row, actor=actor)


def list_cas(authority: Authority) -> list[CaView]:
    """Every CA of this install, the root first, with its revocation state."""
    with authority.db.read() as session:
        rows = session.execute(select(CertificateAuthority).order_by(CertificateAuthority.id)).scalars()
        return [_view(session, row) for row in rows]


def _view(session: Session, row: CertificateAuthority) -> CaView:
    certificate = x509.load_der_x509_certificate(row.certificate_der)
    recorded = find_certificate(session, certificate.serial_number) if row.parent_id is not None else None
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        eku = tuple(u._name for u in usages)  # noqa: SLF001 - cryptography's readable OID name
    except x509.ExtensionNotFound:
        eku = ()
    try:
        found = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
        policies = tuple(p.policy_identifier.dotted_string for p in found)
    except x509.ExtensionNotFound:
        policies = ()
    return CaView(
        slug=row.slug,
        kind=row.kind,
        subject=certificate.subject.rfc4514_string(),
        serial=certificate.serial_number,
        not_after=certificate.not_valid_after_utc,
        active=row.active,
        revoked_at=recorded.revoked_at if recorded is not None else None,
        revocation_reason=recorded.revocation_reason if recorded is not None else None,
        extended_key_usage=eku,
        policies=policies,
    )


def parse_ca_reason(text: str) -> RevocationReason:
    """A revocation reason allowed for a CA certificate."""
    allowed = ", ".join(r.value for r in CA_REASONS)
    try:
        reason = RevocationReason.parse(text)
    except PkiError:
        raise InvalidInput(f"reason must be one of {allowed}; got {text!r}") from None
    if reason not in CA_REASONS:
        raise InvalidInput(f"reason {reason.value} is not allowed for a CA certificate; use one of {allowed}")
    return reason


def revoke_ca(authority: Authority, *, slug: str, reason: RevocationReason, actor: str) -> RevocationResult:
    """Revoke an issuing CA: the root's CRL lists it and the CA issues nothing more. Committed when it returns.

    The root itself is refused: a trust anchor is withdrawn by removing it from trust stores, not by a CRL.
    """
    with authority.db.write() as session:
        row = session.execute(select(CertificateAuthority).where(CertificateAuthority.slug == slug)).scalar()
        if row is None:
            raise NotFound(f"no CA named {slug!r}")
        if row.parent_id is None:
            raise PolicyViolation(
                f"CA {slug!r} is the root: a trust anchor cannot be revoked by a CRL; remove it from "
                "relying parties' trust stores and start a new CA instead"
            )
        if not row.active:
            raise Conflict(f"CA {slug!r} is already revoked")
        record_ca_certificate(authority, session, row, actor=actor)
        serial = x509.load_der_x509_certificate(row.certificate_der).serial_number
        row.active = False
        result = revoke_certificate(
            authority, session, serial=serial, reason=reason, actor=actor, audit_details={"ca": slug}, ca=True
        )
        audit.record(
            session,
            actor=actor,
            action="ca.revoked",
            target=f"ca:{slug}",
            details={"reason": reason.value, "serial": openssl_serial(serial)},
            at=authority.now(),
        )
    with authority.db.read() as session:
        state = session.get(CrlState, result.ca_id)
        return replace(result, crl_number=state.crl_number if state is not None else None)


def ca_certificate_pem(authority: Authority, slug: str) -> bytes:
    return authority.ca(slug).certificate.public_bytes(serialization.Encoding.PEM)
