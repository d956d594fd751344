"""Revoking certificates and publishing CRLs (RFC 5280 §5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campusca import metrics
from campusca.db import after_commit
from campusca.db.models import Certificate, CrlState
from campusca.pki.crl import RevocationReason, RevokedEntry, build_crl
from campusca.pki.errors import PkiError
from campusca.services import audit
from campusca.services.authority import Authority, LoadedCA
from campusca.services.ca.issuance import find_certificate
from campusca.services.ca.ocsp import status_counter
from campusca.services.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class RevocationResult:
    serial: int
    revoked_at: datetime
    reason: RevocationReason
    crl_number: int | None  # the CRL that lists it; None inside the transaction (signed after the commit)
    ca_id: int


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
    """Mark a certificate revoked and audit it in `session`'s transaction.

    Its CA's CRL is re-signed once the transaction has committed (`after_commit`), so the write lock
    is never held while signing. Its CA's change counter moves in the same transaction, and the
    transaction's caller returns only once every OCSP responder process has seen it.
    """
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
    ca = authority.ca_by_id(row.ca_id)
    # Every serve process drops its pre-produced OCSP answers for this CA when it sees the counter move.
    audit.next_counter(session, status_counter(ca.slug))
    committed_at: list[float] = []
    after_commit(session, ("committed", ca.id), lambda: committed_at.append(time.monotonic()))
    after_commit(session, ("crl", ca.id), lambda: republish_crl(authority, ca, actor=actor))
    after_commit(session, ("ocsp", ca.id), lambda: _wait_until_ocsp_sees(authority, committed_at[0]))
    metrics.CERTIFICATES_REVOKED.labels(reason=reason.value).inc()
    return RevocationResult(serial=serial, revoked_at=now, reason=reason, crl_number=None, ca_id=ca.id)


def _wait_until_ocsp_sees(authority: Authority, committed_at: float) -> None:
    """Return only once every serve process has re-read the change counters since the commit.

    Each process re-reads them at most `ocsp_status_check_ms` after its previous read began
    (`preproduced.PreproducedAnswers`), so from then on no pre-produced `good` answer is served.
    """
    remaining = committed_at + authority.settings.ocsp_status_check_ms / 1000 - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)  # not synchronisation of a test: the visibility promise of a revocation


def revoke_by_serial(
    authority: Authority, *, serial: int, reason: RevocationReason, actor: str
) -> RevocationResult:
    """Revoke a certificate; when this returns the revocation is committed and the CRL re-signed."""
    with authority.db.write() as session:
        result = revoke_certificate(authority, session, serial=serial, reason=reason, actor=actor)
    with authority.db.read() as session:
        state = session.get(CrlState, result.ca_id)
        number = state.crl_number if state is not None else None
    return replace(result, crl_number=number)


def publish_crl(authority: Authority, session: Session, ca: LoadedCA, *, actor: str) -> CrlState:
    """Sign a new full CRL for `ca` with the next CRL number and store it, all in `session` (used by init)."""
    number = audit.next_counter(session, f"crl:{ca.slug}")
    signed = _sign_crl(authority, session, ca, number)
    return _store_crl(authority, session, ca, signed, actor=actor)


def republish_crl(authority: Authority, ca: LoadedCA, *, actor: str) -> int:
    """Re-sign `ca`'s CRL with no write lock held while signing; returns the CRL number now stored.

    The number is reserved in one short transaction, the entries are read after it, the CRL is signed,
    then stored in a second short transaction unless a higher number was stored meanwhile. A CRL with
    a higher number was therefore read after every revocation that committed before its number was
    reserved, so the stored CRL never loses an entry that an earlier one had.
    """
    with authority.db.write() as session:
        number = audit.next_counter(session, f"crl:{ca.slug}")
    with authority.db.read() as session:
        signed = _sign_crl(authority, session, ca, number)
    with authority.db.write() as session:
        state = session.get(CrlState, ca.id)
        if state is not None and state.crl_number >= number:
            return state.crl_number
        return _store_crl(authority, session, ca, signed, actor=actor).crl_number


@dataclass(frozen=True, slots=True)
class _SignedCrl:
    number: int
    der: bytes
    this_update: datetime
    next_update: datetime
    entries: int


def _sign_crl(authority: Authority, session: Session, ca: LoadedCA, number: int) -> _SignedCrl:
    now = authority.now()
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
    return _SignedCrl(
        number, crl.public_bytes(serialization.Encoding.DER), now, next_update, entries=len(entries)
    )


def _store_crl(
    authority: Authority, session: Session, ca: LoadedCA, signed: _SignedCrl, *, actor: str
) -> CrlState:
    state = session.get(CrlState, ca.id)
    if state is None:
        state = CrlState(ca_id=ca.id, crl_number=signed.number, der=signed.der)
        session.add(state)
    state.crl_number, state.der = signed.number, signed.der
    state.this_update, state.next_update = signed.this_update, signed.next_update
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="crl.published",
        target=f"ca:{ca.slug}",
        details={
            "crl_number": signed.number,
            "entries": signed.entries,
            "next_update": signed.next_update.isoformat(),
        },
        at=authority.now(),
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
    republish_crl(authority, ca, actor="system:crl-refresh")
    with authority.db.read() as session:
        state = session.get(CrlState, ca.id)
        if state is None:
            raise NotFound(f"CA {ca_slug!r} has no CRL yet")
        return state.der


def _revoked_since_crl(authority: Authority, slug: str) -> bool:
    """A revocation committed after the stored CRL was signed (its re-signing was interrupted by a crash)."""
    ca = authority.ca(slug)
    with authority.db.read() as session:
        state = session.get(CrlState, ca.id)
        if state is None:
            return True
        latest = session.execute(
            select(func.max(Certificate.revoked_at)).where(Certificate.ca_id == ca.id)
        ).scalar()
        return latest is not None and latest > state.this_update


def refresh_crls(authority: Authority, *, force: bool, actor: str) -> list[tuple[str, int]]:
    """Re-sign every CA's CRL (all of them when `force`, else only those due)."""
    published = []
    for slug in authority.ca_slugs():
        if force or _revoked_since_crl(authority, slug):
            published.append((slug, republish_crl(authority, authority.ca(slug), actor=actor)))
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
