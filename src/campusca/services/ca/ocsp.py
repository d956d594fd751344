"""The OCSP responder (RFC 6960, RFC 5019): status straight from the database, so revocation shows at once.

Signing dominates the cost of an answer, so answers to nonce-less queries are kept and re-used
(RFC 5019 §2.2 "pre-produced responses") — but only while the status read from the database for this
very query is the one they state, so a revocation is visible on the next query in every process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campusca.db.models import Certificate
from campusca.pki.crl import RevocationReason
from campusca.pki.ocsp import CertStatus, OcspAnswer, OcspQuery, build_ocsp_response
from campusca.services.authority import ISSUING_CA, SMIME_CA, Authority, LoadedCA
from campusca.services.ca.issuance import serial_to_hex
from campusca.services.ca.ocsp_validity import ocsp_validity_for_profile
from campusca.services.errors import NotAuthorized

_CACHE_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class OcspResult:
    der: bytes
    status: CertStatus
    this_update: datetime
    next_update: datetime


class _SignedAnswers:
    """A bounded LRU of signed answers keyed by the query and the exact status they state."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[object, ...], OcspResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], fresh_after: datetime) -> OcspResult | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found.this_update < fresh_after:
                return None
            self._items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], result: OcspResult) -> None:
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_answers = _SignedAnswers(_CACHE_SIZE)
# (issuer hashes, algorithm) -> slug of the CA they name, or None; per process, bounded.
_issuer_checks: dict[tuple[bytes, bytes, str], str | None] = {}
# The CAs with an OCSP responder: every CA but the root (which is checked by its CRL).
ANSWERING_CAS = (ISSUING_CA, SMIME_CA)


def _named_ca(authority: Authority, query: OcspQuery) -> LoadedCA | None:
    key = (query.issuer_name_hash, query.issuer_key_hash, query.hash_algorithm.name)
    try:
        slug = _issuer_checks[key]
    except KeyError:
        slug = next(
            (
                s
                for s in ANSWERING_CAS
                if authority.has_ca(s) and query.names_issuer(authority.ca(s).certificate)
            ),
            None,
        )
        if len(_issuer_checks) < 1024:  # bounded: junk hashes must not grow it without limit
            _issuer_checks[key] = slug
    return authority.ca(slug) if slug is not None else None


def answer_ocsp(authority: Authority, query: OcspQuery) -> OcspResult:
    """Answer one query about a certificate of an issuing CA, signed by that CA's OCSP responder certificate.

    Raises NotAuthorized when the query names a CA this responder does not answer for
    (RFC 6960 §2.3 `unauthorized`), e.g. the root.
    """
    ca = _named_ca(authority, query)
    if ca is None:
        raise NotAuthorized("this responder answers for the issuing and S/MIME CAs only")
    with authority.db.read_connection() as connection:
        row = connection.execute(
            select(Certificate.revoked_at, Certificate.revocation_reason, Certificate.profile).where(
                Certificate.serial_hex == serial_to_hex(query.serial), Certificate.ca_id == ca.id
            )
        ).first()
    if row is None:
        answer = OcspAnswer(CertStatus.UNKNOWN)
    elif row.revoked_at is not None:
        answer = OcspAnswer(CertStatus.REVOKED, row.revoked_at, RevocationReason(row.revocation_reason))
    else:
        answer = OcspAnswer(CertStatus.GOOD)
    now = authority.now().replace(microsecond=0)
    validity = ocsp_validity_for_profile(authority.settings, row.profile if row is not None else None)
    key = (query.issuer_key_hash, query.hash_algorithm.name, query.serial, answer)
    if query.nonce is None:
        # Re-sign after a quarter of the validity so caches downstream always get most of it.
        cached = _answers.get(key, fresh_after=now - validity / 4)
        if cached is not None:
            return cached
    responder = authority.identity("ocsp", ca.slug)
    der = build_ocsp_response(
        query,
        answer,
        responder_certificate=responder.certificate,
        responder_key=responder.key,
        this_update=now,
        next_update=now + validity,
    )
    result = OcspResult(der=der, status=answer.status, this_update=now, next_update=now + validity)
    if query.nonce is None:
        _answers.put(key, result)
    return result
