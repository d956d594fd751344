"""Pre-produced OCSP answers (RFC 5019 §2.2), served from memory and never older than the status they state.

One `PreproducedAnswers` per serve process (the web adapter makes it). A nonce-less answer is signed on
the first query for a certificate and kept, keyed by the request's DER, in a bounded LRU (by count:
memory does not grow with the number of certificates). It is re-signed once a quarter of its validity
has passed, so relying parties and caches always get at least three quarters of `ocsp_validity_minutes`.

Revocation reaches every process and node through the database: each revocation bumps its CA's change
counter (`counters` row `status:<slug>`) in its own transaction, and this class reads the counters at
most every `ocsp_status_check_ms`. A changed counter drops that CA's kept answers. The revoking call
itself returns only `ocsp_status_check_ms` after its commit (`revocation._wait_until_ocsp_sees`), so a
query sent after a revocation was acknowledged is answered `revoked` by every process: its check that
came before the commit has expired by then. Answers `unknown` are never kept (issuance does not bump the
counter), and nonce queries are signed afresh.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campusca.db.models import Counter
from campusca.pki.ocsp import CertStatus, OcspQuery, parse_ocsp_request
from campusca.services.authority import Authority, LoadedCA
from campusca.services.ca.ocsp import (
    STATUS_COUNTER_PREFIX,
    IssuerKey,
    OcspResult,
    Responder,
    issuer_key,
    issuer_table,
    read_status,
    responder_for,
    sign_answer,
)
from campusca.services.errors import NotAuthorized

# A query naming an unknown issuer reloads the CA list at most this often (a CA added while serving).
_ISSUER_RELOAD_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Kept:
    result: OcspResult
    ca_id: int
    refresh_at: datetime  # a quarter of the validity after thisUpdate


class PreproducedAnswers:
    """Signed answers by request DER, for one process; thread-safe. `cached` never does I/O."""

    def __init__(self, authority: Authority) -> None:
        self._authority = authority
        self._size = authority.settings.ocsp_cache_entries
        self._check_seconds = authority.settings.ocsp_status_check_ms / 1000
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}  # slug -> change counter as last read
        self._checked_at = float("-inf")  # time.monotonic() when the last read of the counters began
        self._issuers: dict[IssuerKey, LoadedCA] = {}
        self._issuers_loaded_at = float("-inf")
        self._responders: dict[int, Responder] = {}

    def cached(self, request_der: bytes) -> OcspResult | None:
        """The kept answer to exactly this request, if the counters were read recently and it is fresh."""
        if time.monotonic() - self._checked_at >= self._check_seconds:
            return None
        return self._lookup(request_der)

    def _lookup(self, request_der: bytes) -> OcspResult | None:
        with self._lock:
            kept = self._kept.get(request_der)
            if kept is None:
                return None
            self._kept.move_to_end(request_der)
        if self._authority.now() >= kept.refresh_at:
            return None
        return kept.result

    def answer(self, request_der: bytes) -> OcspResult:
        """Answer a DER OCSPRequest: from memory when possible, else read the status and sign.

        Raises OcspMalformedRequest for junk and NotAuthorized for a CA this responder does not serve.
        Does I/O and may sign: call it from a worker thread.
        """
        self._read_counters_if_due()
        kept = self._lookup(request_der)
        if kept is not None:
            return kept
        query = parse_ocsp_request(request_der)
        ca = self._issuer(query)
        with self._lock:
            counter_before = self._counters.get(ca.slug, 0)
        result = sign_answer(
            self._authority, query, read_status(self._authority, ca, query.serial), self._responder(ca)
        )
        if query.nonce is None and result.status is not CertStatus.UNKNOWN:
            self._keep(request_der, ca, result, counter_before)
        return result

    def _keep(self, request_der: bytes, ca: LoadedCA, result: OcspResult, counter_before: int) -> None:
        validity = result.next_update - result.this_update
        kept = _Kept(result, ca.id, refresh_at=result.this_update + validity / 4)
        with self._lock:
            # A counter read that happened meanwhile may already have dropped this CA's answers; the
            # status read above may predate that revocation, so this one is not kept either.
            if self._counters.get(ca.slug, 0) != counter_before:
                return
            self._kept[request_der] = kept
            self._kept.move_to_end(request_der)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def _read_counters_if_due(self) -> None:
        started = time.monotonic()
        if started - self._checked_at < self._check_seconds:
            return
        with self._authority.db.read_connection() as connection:
            rows = connection.execute(
                select(Counter.name, Counter.value).where(Counter.name.startswith(STATUS_COUNTER_PREFIX))
            ).all()
        fresh = {name.removeprefix(STATUS_COUNTER_PREFIX): int(value) for name, value in rows}
        with self._lock:
            known = self._counters
            changed = {slug for slug in fresh.keys() | known.keys() if fresh.get(slug) != known.get(slug)}
            if changed:
                ca_ids = {ca.id for ca in self._issuers.values() if ca.slug in changed}
                for request_der in [d for d, kept in self._kept.items() if kept.ca_id in ca_ids]:
                    del self._kept[request_der]
                self._counters = fresh
            # Only now may `cached` trust what is kept; the interval counts from before the read.
            self._checked_at = max(self._checked_at, started)

    def _issuer(self, query: OcspQuery) -> LoadedCA:
        key = issuer_key(query)
        with self._lock:
            ca = self._issuers.get(key)
            due = time.monotonic() - self._issuers_loaded_at >= _ISSUER_RELOAD_SECONDS
        if ca is None and due:
            table = issuer_table(self._authority)
            with self._lock:
                self._issuers, self._issuers_loaded_at = table, time.monotonic()
            ca = table.get(key)
        if ca is None:
            raise NotAuthorized("this responder answers for campusca's issuing CAs only")
        return ca

    def _responder(self, ca: LoadedCA) -> Responder:
        responder = self._responders.get(ca.id)
        if responder is None:
            responder = self._responders[ca.id] = responder_for(self._authority, ca)
        return responder
