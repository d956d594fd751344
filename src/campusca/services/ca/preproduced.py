"""Pre-produced OCSP answers (RFC 5019 §2.2), served from memory and never older than the status they state.

One `PreproducedAnswers` per serve process (`serving_answers`: the web adapter makes it, the revocation
hook and the scheduler find it there). Nonce-less answers are kept, keyed by the request's DER, in a
bounded LRU (by count: memory does not grow with the number of certificates). An answer is signed
- after a revocation, by the revoking process right after the commit (`preproduce`): the revoked answer
  to the RFC 5019 request (SHA-1 CertID, the very bytes `openssl ocsp -no_nonce` sends), before anyone asks;
- by the scheduler (`refresh_due`, every `refresh_interval` in every serve process, for its own answers)
  once half its validity has passed, if it was queried since it was signed;
- on a query when nothing fresh is kept: the first query for a certificate in this process, or an answer
  with only a quarter of its validity left (the scheduler fell behind).
So relying parties get at least a quarter of `ocsp_validity_minutes` (normally half or more), and a hot
answer is signed on the request path once per process.

Revocation reaches every process and node through the database: each revocation bumps its CA's change
counter (`counters` row `status:<slug>`) in its own transaction, and this class reads the counters at
most every `ocsp_status_check_ms`. A changed counter makes it re-read the status of that CA's kept `good`
answers (one read per 500) and drop those now revoked; the others stay kept. The revoking call returns
only `ocsp_status_check_ms` after its commit (`revocation._wait_until_ocsp_sees`), so a query sent after a
revocation was acknowledged is answered `revoked` by every process. Answers `unknown` are never kept
(issuance does not bump the counter), and nonce queries are signed afresh.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from campusca import metrics
from campusca.config import Settings
from campusca.db.models import Counter
from campusca.pki.ocsp import CertStatus, OcspQuery, parse_ocsp_request, rfc5019_request
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
    revoked_among,
    sign_answer,
)
from campusca.services.errors import NotAuthorized

# A query naming an unknown issuer reloads the CA list at most this often (a CA added while serving).
_ISSUER_RELOAD_SECONDS = 5.0
_SIGNED = {when: metrics.OCSP_SIGNATURES.labels(when=when) for when in ("query", "revocation", "refresh")}


@dataclass(slots=True)
class _Kept:
    result: OcspResult
    ca: LoadedCA
    serial: int  # not the parsed query: ~250 bytes more per answer (the scheduler parses the DER again)
    refresh_at: datetime  # half the validity after thisUpdate: the scheduler re-signs it from then
    stale_at: datetime  # a quarter of the validity before nextUpdate: no longer served
    queried: bool  # since it was signed (set on the hot path); only such answers are refreshed


def _entry(result: OcspResult, ca: LoadedCA, query: OcspQuery, *, queried: bool) -> _Kept:
    validity = result.next_update - result.this_update
    return _Kept(
        result,
        ca,
        query.serial,
        refresh_at=result.this_update + validity / 2,
        stale_at=result.next_update - validity / 4,
        queried=queried,
    )


def refresh_interval(settings: Settings) -> float:
    """Seconds between the scheduler's refresh rounds: an eighth of the shortest validity (1 s to 5 min).

    Answers are due at half their validity and served until three quarters: two rounds fit between.
    """
    minutes = min([settings.ocsp_validity_minutes, *settings.ocsp_validity_minutes_by_profile.values()])
    return min(300.0, max(1.0, minutes * 60 / 8))


class PreproducedAnswers:
    """Signed answers by request DER, for one process; thread-safe. `cached` never does I/O."""

    def __init__(self, authority: Authority) -> None:
        self._authority = authority
        self._size = authority.settings.ocsp_cache_entries
        self._check_seconds = authority.settings.ocsp_status_check_ms / 1000
        self._kept: OrderedDict[bytes, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self._counter_lock = threading.Lock()  # one reader of the counters at a time
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
        if self._authority.now() >= kept.stale_at:
            return None
        kept.queried = True
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
        return self._sign_and_keep(request_der, query, self._issuer(query), when="query")

    def preproduce(self, ca: LoadedCA, serial: int) -> OcspResult:
        """Sign and keep the answer to the RFC 5019 request for `serial` now (after its revocation committed)."""
        self._read_counters_if_due(force=True)  # this revocation's counter: a kept `good` answer goes
        request_der = rfc5019_request(ca.certificate, serial)
        return self._sign_and_keep(request_der, parse_ocsp_request(request_der), ca, when="revocation")

    def refresh_due(self) -> int:
        """The scheduler's round: re-sign the kept answers due (see the module docstring); returns how many.

        Answers nobody queried since they were signed are left to go stale, and dropped once they are.
        """
        self._read_counters_if_due()
        now = self._authority.now()
        with self._lock:
            for request_der in [
                d for d, kept in self._kept.items() if now >= kept.stale_at and not kept.queried
            ]:
                del self._kept[request_der]
            due = [(d, kept) for d, kept in self._kept.items() if now >= kept.refresh_at and kept.queried]
        for request_der, kept in due:
            self._sign_and_keep(request_der, parse_ocsp_request(request_der), kept.ca, when="refresh")
        return len(due)

    def _sign_and_keep(self, request_der: bytes, query: OcspQuery, ca: LoadedCA, *, when: str) -> OcspResult:
        with self._lock:
            counter_before = self._counters.get(ca.slug, 0)
        status = read_status(self._authority, ca, query.serial)
        result = sign_answer(self._authority, query, status, self._responder(ca))
        _SIGNED[when].inc()
        if query.nonce is None and result.status is not CertStatus.UNKNOWN:
            # Pre-produced ones count as queried: the scheduler refreshes them once even if nobody asks.
            self._keep(request_der, _entry(result, ca, query, queried=when == "revocation"), counter_before)
        return result

    def _keep(self, request_der: bytes, kept: _Kept, counter_before: int) -> None:
        with self._lock:
            # A counter read that happened meanwhile may already have checked this CA's answers; the
            # status read above may predate that revocation, so this one is not kept.
            if self._counters.get(kept.ca.slug, 0) != counter_before:
                return
            self._kept[request_der] = kept
            self._kept.move_to_end(request_der)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def _read_counters_if_due(self, *, force: bool = False) -> None:
        with self._counter_lock:
            started = time.monotonic()
            if not force and started - self._checked_at < self._check_seconds:
                return
            with self._authority.db.read_connection() as connection:
                rows = connection.execute(
                    select(Counter.name, Counter.value).where(Counter.name.startswith(STATUS_COUNTER_PREFIX))
                ).all()
            fresh = {name.removeprefix(STATUS_COUNTER_PREFIX): int(value) for name, value in rows}
            with self._lock:
                known = self._counters
                changed = {slug for slug in fresh.keys() | known.keys() if fresh.get(slug) != known.get(slug)}
                suspects = {
                    d: kept
                    for d, kept in self._kept.items()
                    if kept.ca.slug in changed and kept.result.status is CertStatus.GOOD
                }
            revoked = self._revoked(suspects.values())
            with self._lock:
                for request_der, kept in list(self._kept.items()):
                    if kept.ca.slug not in changed or kept.result.status is not CertStatus.GOOD:
                        continue
                    # Kept or re-signed since `suspects` was taken: its status read may predate the commit.
                    if suspects.get(request_der) is not kept or (kept.ca.id, kept.serial) in revoked:
                        del self._kept[request_der]
                self._counters = fresh
                # Only now may `cached` trust what is kept; the interval counts from before the read.
                self._checked_at = max(self._checked_at, started)

    def _revoked(self, suspects: Iterable[_Kept]) -> set[tuple[int, int]]:
        """(CA id, serial) of the suspects' certificates the database holds as revoked, read now."""
        by_ca: dict[int, tuple[LoadedCA, set[int]]] = {}
        for kept in suspects:
            by_ca.setdefault(kept.ca.id, (kept.ca, set()))[1].add(kept.serial)
        return {
            (ca.id, serial)
            for ca, serials in by_ca.values()
            for serial in revoked_among(self._authority, ca, serials)
        }

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


def serving_answers(authority: Authority) -> PreproducedAnswers:
    """This process's kept answers (made on the first call: the web adapter's, at start-up)."""
    answers = authority.ocsp_answers
    if not isinstance(answers, PreproducedAnswers):
        answers = authority.ocsp_answers = PreproducedAnswers(authority)
    return answers


def preproduce_after_revocation(authority: Authority, ca: LoadedCA, serial: int) -> None:
    """After-commit step of a revocation: keep the revoked answer, if this process serves OCSP."""
    answers = authority.ocsp_answers
    if isinstance(answers, PreproducedAnswers) and ca.kind == "issuing":  # the root answers no OCSP
        answers.preproduce(ca, serial)
