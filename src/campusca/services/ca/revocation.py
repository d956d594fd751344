"""Revoking certificates (RFC 5280 §5.3.1 reasons); the CRLs that list them are published by `crls`."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from campusca import metrics
from campusca.db import after_commit
from campusca.db.models import CrlState
from campusca.pki.certificates import openssl_serial
from campusca.pki.crl import RevocationReason
from campusca.pki.errors import PkiError
from campusca.services import audit
from campusca.services.authority import Authority, LoadedCA
from campusca.services.ca.crls import full_crl_entries, republish_crl, republish_delta
from campusca.services.ca.issuance import SUBORDINATE_CA_PROFILE, find_certificate
from campusca.services.ca.ocsp import status_counter
from campusca.services.ca.preproduced import preproduce_after_revocation
from campusca.services.directory_publishing import queue_for_certificate
from campusca.services.errors import Conflict, InvalidInput, NotFound, PolicyViolation


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
    ca: bool = False,
) -> RevocationResult:
    """Mark a certificate revoked and audit it in `session`'s transaction.

    A CA's own certificate is revoked only with `ca` (through `authorities.revoke_ca`, which also stops
    the CA issuing), never as if it were a leaf.

    Its CA's CRL is re-signed once the transaction has committed (`after_commit`), so the write lock
    is never held while signing. Its CA's change counter moves in the same transaction, and the
    transaction's caller returns only once every OCSP responder process has seen it.
    """
    row = find_certificate(session, serial)
    if row is None:
        raise NotFound(f"no certificate with serial {openssl_serial(serial)}")
    if row.revoked_at is not None:
        raise Conflict(f"certificate {openssl_serial(serial)} is already revoked")
    if row.profile == SUBORDINATE_CA_PROFILE and not ca:
        raise PolicyViolation(
            f"certificate {openssl_serial(serial)} is a CA's own certificate; it is revoked by revoking the CA"
        )
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
    # This process's revoked answer is signed before anyone asks (RFC 5019 §2.2 pre-production).
    after_commit(session, ("ocsp-answer", serial), lambda: preproduce_after_revocation(authority, ca, serial))
    after_commit(session, ("crl", ca.id), lambda: _republish_after_revocation(authority, ca, actor=actor))
    after_commit(session, ("ocsp", ca.id), lambda: _wait_until_ocsp_sees(authority, committed_at[0]))
    queue_for_certificate(authority, session, row)  # an S/MIME certificate leaves the LDAP address book
    metrics.CERTIFICATES_REVOKED.labels(reason=reason.value).inc()
    return RevocationResult(serial=serial, revoked_at=now, reason=reason, crl_number=None, ca_id=ca.id)


def _republish_after_revocation(authority: Authority, ca: LoadedCA, *, actor: str) -> None:
    """The full CRL at once while it is small, then the delta CRL that lists the revocation.

    Above `crl_inline_entries` the full CRL takes seconds to sign; the scheduler re-signs it (it sees a
    revocation newer than the stored CRL) and relying parties that use deltas see the revocation at once.
    """
    if full_crl_entries(authority, ca) <= authority.settings.crl_inline_entries:
        republish_crl(authority, ca, actor=actor)
    republish_delta(authority, ca, actor=actor)


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
