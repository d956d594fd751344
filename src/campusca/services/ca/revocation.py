"""Revoking certificates and publishing CRLs (RFC 5280 §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from campusca import metrics
from campusca.db.models import Certificate, CrlState
from campusca.pki.crl import RevocationReason, RevokedEntry, build_crl
from campusca.pki.errors import PkiError
from campusca.services import audit
from campusca.services.authority import Authority, LoadedCA
from campusca.services.ca.issuance import find_certificate
from campusca.services.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class RevocationResult:
    serial: int
    revoked_at: datetime
    reason: RevocationReason
    crl_number: int


# RFC 5280 §5.3.1 and the CA/B Forum BRs §7.2.2: no hold (campusca cannot lift one, so it would be a
# permanent revocation under the wrong label), and the CA/AA compromise codes are for CA certificates.
END_ENTITY_REASONS = (
    RevocationReason.UNSPECIFIED,
    RevocationReason.KEY_COMPROMISE,
    RevocationReason.AFFILIATION_CHANGED,
    RevocationReason.SUPERSEDED,
    RevocationReason.CESSATION_OF_OPERATION,
    RevocationReason.PRIVILEGE_WITHDRAWN,
)


def parse_reason(text: str) -> RevocationReason:
    """A revocation reason allowed for an end-entity certificate, in any case, dashes ignored."""
    allowed = ", ".join(r.value for r in END_ENTITY_REASONS)
    try:
        reason = RevocationReason.parse(text)
    except PkiError:
        raise InvalidInput(f"reason must be one of {allowed}; got {text!r}") from None
    if reason not in END_ENTITY_REASONS:
        raise InvalidInput(
            f"reason {reason.value} is not allowed for end-entity certificates; use one of {allowed}"
        )
    return reason


def revoke_certificate(
    authority: Authority,
    session: Session,
    *,
    serial: int,
    reason: RevocationReason,
    actor: str,
    audit_details: dict[str, object] | None = None,
) -> RevocationResult:
    """Mark a certificate revoked, audit it and re-sign its CA's CRL, all in `session`'s transaction."""
    row = find_certificate(session, serial)
    if row is None:
        raise NotFound(f"no certificate with serial {serial:x}")
    if row.revoked_at is not None:
        raise Conflict(f"certificate {serial:x} is already revoked")
    now = authority.now()
    row.revoked_at = now
    row.revocation_reason = reason.value
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="certificate.revoked",
        target=f"certificate:{serial:x}",
        details={"reason": reason.value, "profile": row.profile, **(audit_details or {})},
        at=now,
    )
    state = publish_crl(authority, session, authority.ca_by_id(row.ca_id), actor=actor)
    metrics.CERTIFICATES_REVOKED.labels(reason=reason.value).inc()
    return RevocationResult(serial=serial, revoked_at=now, reason=reason, crl_number=state.crl_number)


def publish_crl(authority: Authority, session: Session, ca: LoadedCA, *, actor: str) -> CrlState:
    """Sign a new full CRL for `ca` with the next CRL number and store it."""
    now = authority.now()
    number = audit.next_counter(session, f"crl:{ca.slug}")
    rows = session.execute(
        select(Certificate.serial_hex, Certificate.revoked_at, Certificate.revocation_reason).where(
            Certificate.ca_id == ca.id,
            Certificate.revoked_at.is_not(None),
            # RFC 5280 §3.3: an entry may leave the CRL once the certificate has expired.
            Certificate.not_after > now,
        )
    ).all()
    entries = [
        RevokedEntry(serial=int(serial_hex, 16), revoked_at=revoked_at, reason=RevocationReason(reason))
        for serial_hex, revoked_at, reason in rows
    ]
    next_update = now + timedelta(hours=authority.settings.crl_validity_hours)
    crl = build_crl(
        issuer_certificate=ca.certificate,
        issuer_key=ca.key,
        entries=entries,
        crl_number=number,
        this_update=now,
        next_update=next_update,
    )
    der = crl.public_bytes(serialization.Encoding.DER)
    state = session.get(CrlState, ca.id)
    if state is None:
        state = CrlState(ca_id=ca.id, crl_number=number, this_update=now, next_update=next_update, der=der)
        session.add(state)
    else:
        state.crl_number, state.this_update, state.next_update, state.der = number, now, next_update, der
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="crl.published",
        target=f"ca:{ca.slug}",
        details={"crl_number": number, "entries": len(entries), "next_update": next_update.isoformat()},
        at=now,
    )
    return state


def current_crl(authority: Authority, ca_slug: str) -> bytes:
    """The CA's CRL, re-signed first when less than half of its validity is left."""
    ca = authority.ca(ca_slug)
    margin = timedelta(hours=authority.settings.crl_validity_hours) / 2
    with authority.db.read() as session:
        state = session.get(CrlState, ca.id)
        if state is not None and state.next_update - authority.now() > margin:
            return state.der
    with authority.db.write() as session:
        state = session.get(CrlState, ca.id)
        # Another process may have refreshed it while we waited for the write lock.
        if state is None or state.next_update - authority.now() <= margin:
            state = publish_crl(authority, session, ca, actor="system:crl-refresh")
        return state.der


def refresh_crls(authority: Authority, *, force: bool, actor: str) -> list[tuple[str, int]]:
    """Re-sign every CA's CRL (all of them when `force`, else only those due)."""
    published = []
    for slug in authority.ca_slugs():
        if force:
            with authority.db.write() as session:
                state = publish_crl(authority, session, authority.ca(slug), actor=actor)
                published.append((slug, state.crl_number))
        else:
            der = current_crl(authority, slug)
            published.append(
                (
                    slug,
                    x509.load_der_x509_crl(der)
                    .extensions.get_extension_for_class(x509.CRLNumber)
                    .value.crl_number,
                )
            )
    return published
