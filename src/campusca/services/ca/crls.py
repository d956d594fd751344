"""Publishing CRLs (RFC 5280 §5): full CRLs of any size, delta CRLs, and their downloads.

Entries are streamed from the partial index `ix_certificates_revoked` (plain rows in batches, the date
formatted by the database; server-side cursors on PostgreSQL) into `pki.crl_stream.write_crl`, which spools them to files and signs a digest, so no
step holds every revoked certificate. The signed DER is stored in the database, so every node serves the
same CRL: a full CRL in 1 MiB rows of `crl_chunks` (written and read a chunk at a time), a delta CRL in
`delta_crl_state.der`. Each node serves them from a file per CRL number under `<home>/cache/crl/`.

Full and delta CRLs share one number sequence (counter `crl:<slug>`, RFC 5280 §5.2.4). A delta CRL
names the full CRL it updates (deltaCRLIndicator) and lists every certificate revoked since that full
CRL was signed, with `DELTA_OVERLAP` of slack for transactions that were in flight meanwhile (an entry
listed in both is harmless). The full CRL, like every certificate the CA issues, points at
`/crl/<slug>.delta.crl` (Freshest CRL).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from campusca.db.models import Certificate, CrlChunk, CrlState, DeltaCrlState, utc_digits
from campusca.pki.crl_stream import RevokedRow, write_crl
from campusca.services import audit
from campusca.services.authority import Authority, LoadedCA
from campusca.services.errors import NotFound

# Revocations are stamped inside their transaction, which may commit up to a write wait later.
DELTA_OVERLAP = timedelta(minutes=5)
_ROWS_PER_FETCH = 10_000
_KEEP_OLD_SECONDS = 300
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class _SignedCrl:
    number: int
    path: Path  # a temporary file holding the DER, removed by `_discard`
    this_update: datetime
    next_update: datetime
    entries: int
    base: int | None = None  # the full CRL a delta CRL updates


def revoked_rows(
    session: Session, ca: LoadedCA, now: datetime, *, since: datetime | None = None
) -> Iterator[Sequence[RevokedRow]]:
    """The CA's revoked, unexpired certificates (RFC 5280 §3.3) in batches of plain rows, as stored.

    Core, not ORM, and no datetime parsing: at a million rows each per-row step shows (docs/ca-core.md).
    """
    query = select(
        Certificate.serial_hex, utc_digits(Certificate.revoked_at), Certificate.revocation_reason
    ).where(Certificate.ca_id == ca.id, Certificate.revoked_at.is_not(None), Certificate.not_after > now)
    if since is not None:
        query = query.where(Certificate.revoked_at >= since)
    result = session.connection().execute(query, execution_options={"stream_results": True})
    yield from result.tuples().partitions(_ROWS_PER_FETCH)


def _sign(
    authority: Authority, session: Session, ca: LoadedCA, number: int, *, base: CrlState | None = None
) -> _SignedCrl:
    now = authority.now()
    next_update = now + timedelta(hours=authority.settings.crl_validity_hours)
    since = None if base is None else base.this_update - DELTA_OVERLAP
    with tempfile.NamedTemporaryFile(prefix="campusca-crl-", delete=False) as out:
        count = write_crl(
            out,
            issuer_certificate=ca.certificate,
            issuer_key=ca.key,
            batches=revoked_rows(session, ca, now, since=since),
            crl_number=number,
            this_update=now,
            next_update=next_update,
            delta_base=None if base is None else base.crl_number,
            freshest_url=ca.urls.delta_crl if base is None else None,
        )
    return _SignedCrl(
        number, Path(out.name), now, next_update, count, None if base is None else base.crl_number
    )


@contextmanager
def _discarded(signed: _SignedCrl) -> Iterator[_SignedCrl]:
    try:
        yield signed
    finally:
        signed.path.unlink(missing_ok=True)


def publish_crl(authority: Authority, session: Session, ca: LoadedCA, *, actor: str) -> CrlState:
    """Sign a new full CRL for `ca` with the next CRL number and store it, all in `session` (used by init)."""
    number = audit.next_counter(session, f"crl:{ca.slug}")
    with _discarded(_sign(authority, session, ca, number)) as signed:
        return _store_full(authority, session, ca, signed, actor=actor)


def republish_crl(authority: Authority, ca: LoadedCA, *, actor: str) -> int:
    """Re-sign `ca`'s full CRL with no write lock held while signing; returns the CRL number now stored.

    The number is reserved in one short transaction, the entries are read after it, the CRL is signed,
    then stored in a second short transaction unless a higher number was stored meanwhile. A CRL with
    a higher number was therefore read after every revocation that committed before its number was
    reserved, so the stored CRL never loses an entry that an earlier one had.
    """
    with authority.db.write() as session:
        number = audit.next_counter(session, f"crl:{ca.slug}")
    with authority.db.read() as session:
        signed = _sign(authority, session, ca, number)
    with _discarded(signed), authority.db.write() as session:
        state = session.get(CrlState, ca.id)
        if state is not None and state.crl_number >= number:
            return state.crl_number
        return _store_full(authority, session, ca, signed, actor=actor).crl_number


def republish_delta(authority: Authority, ca: LoadedCA, *, actor: str) -> int | None:
    """Re-sign `ca`'s delta CRL against the stored full CRL (same rules as `republish_crl`)."""
    with authority.db.write() as session:
        number = audit.next_counter(session, f"crl:{ca.slug}")
    with authority.db.read() as session:
        base = session.get(CrlState, ca.id)
        if base is None:
            return None
        signed = _sign(authority, session, ca, number, base=base)
    with _discarded(signed), authority.db.write() as session:
        state = session.get(DeltaCrlState, ca.id)
        if state is not None and state.crl_number >= number:
            return state.crl_number
        if state is None:
            state = DeltaCrlState(ca_id=ca.id)
            session.add(state)
        state.crl_number, state.base_crl_number = signed.number, signed.base or 0
        state.der = signed.path.read_bytes()  # a delta lists the revocations of a day or so: small
        state.this_update, state.next_update = signed.this_update, signed.next_update
        session.flush()
        _audit(authority, session, ca, signed, actor=actor, action="crl.delta_published")
        return state.crl_number


def _store_full(
    authority: Authority, session: Session, ca: LoadedCA, signed: _SignedCrl, *, actor: str
) -> CrlState:
    state = session.get(CrlState, ca.id)
    if state is None:
        state = CrlState(ca_id=ca.id, crl_number=signed.number, der=b"")
        session.add(state)
    state.crl_number, state.der = signed.number, b""
    state.this_update, state.next_update = signed.this_update, signed.next_update
    session.execute(delete(CrlChunk).where(CrlChunk.ca_id == ca.id))
    with signed.path.open("rb") as der:
        for seq, chunk in enumerate(iter(lambda: der.read(CHUNK_BYTES), b"")):
            session.execute(
                insert(CrlChunk).values(ca_id=ca.id, crl_number=signed.number, seq=seq, data=chunk)
            )
    session.flush()
    _audit(authority, session, ca, signed, actor=actor, action="crl.published")
    return state


def _audit(
    authority: Authority, session: Session, ca: LoadedCA, signed: _SignedCrl, *, actor: str, action: str
) -> None:
    details: dict[str, object] = {
        "crl_number": signed.number,
        "entries": signed.entries,
        "next_update": signed.next_update.isoformat(),
    }
    if signed.base is not None:
        details["base_crl_number"] = signed.base
    audit.record(
        session, actor=actor, action=action, target=f"ca:{ca.slug}", details=details, at=authority.now()
    )


def full_crl_entries(authority: Authority, ca: LoadedCA) -> int:
    """How many certificates of `ca` are revoked (an index-only count)."""
    with authority.db.read() as session:
        query = select(func.count()).where(Certificate.ca_id == ca.id, Certificate.revoked_at.is_not(None))
        return int(session.execute(query).scalar() or 0)


@dataclass(frozen=True, slots=True)
class CrlDownload:
    """A published CRL as a file of this node's cache, with what HTTP caching needs."""

    path: Path
    number: int
    this_update: datetime
    next_update: datetime
    delta: bool

    @property
    def etag(self) -> str:
        return f'"{"delta" if self.delta else "full"}-{self.number}"'


def crl_download(authority: Authority, ca_slug: str, *, delta: bool = False) -> CrlDownload:
    """The CA's current full (or delta) CRL, re-signed first when less than half its validity is left."""
    ca = authority.ca(ca_slug)
    model = DeltaCrlState if delta else CrlState
    margin = timedelta(hours=authority.settings.crl_validity_hours) / 2
    found = _state(authority, model, ca)
    if found is None or found[2] - authority.now() <= margin:
        (republish_delta if delta else republish_crl)(authority, ca, actor="system:crl-refresh")
        found = _state(authority, model, ca)
        if found is None:
            raise NotFound(f"CA {ca_slug!r} has no {'delta ' if delta else ''}CRL yet")
    number, this_update, next_update = found
    path = _cached_file(authority, model, ca, number, "delta" if delta else "full")
    return CrlDownload(path, number, this_update, next_update, delta)


def _state(
    authority: Authority, model: type[CrlState] | type[DeltaCrlState], ca: LoadedCA
) -> tuple[int, datetime, datetime] | None:
    with authority.db.read() as session:
        row = session.execute(
            select(model.crl_number, model.this_update, model.next_update).where(model.ca_id == ca.id)
        ).first()
    return None if row is None else (row[0], row[1], row[2])


def _cached_file(
    authority: Authority, model: type[CrlState] | type[DeltaCrlState], ca: LoadedCA, number: int, kind: str
) -> Path:
    """`<home>/cache/crl/<slug>-<kind>-<number>.crl`, written atomically once, older numbers removed."""
    directory = authority.settings.home / "cache" / "crl"
    path = directory / f"{ca.slug}-{kind}-{number}.crl"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False, prefix=".tmp-") as out:
        try:
            written = _copy_der(authority, model, ca, number, out)
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    if not written:  # replaced meanwhile by a newer one
        Path(out.name).unlink(missing_ok=True)
        raise NotFound(f"CRL {number} of CA {ca.slug!r} was just replaced; fetch it again")
    os.replace(out.name, path)
    for old in directory.glob(f"{ca.slug}-{kind}-*.crl"):
        # Left a while for workers that are still sending it.
        if _number_of(old) < number and time.time() - old.stat().st_mtime > _KEEP_OLD_SECONDS:
            old.unlink(missing_ok=True)
    return path


def _copy_der(
    authority: Authority,
    model: type[CrlState] | type[DeltaCrlState],
    ca: LoadedCA,
    number: int,
    out: IO[bytes],
) -> bool:
    """Write CRL `number` of `ca` to `out` (a full CRL chunk by chunk); False when it is no longer stored."""
    with authority.db.read() as session:
        if model is DeltaCrlState:
            der = session.execute(
                select(DeltaCrlState.der).where(
                    DeltaCrlState.ca_id == ca.id, DeltaCrlState.crl_number == number
                )
            ).scalar()
            if der is not None:
                out.write(der)
            return der is not None
        chunks = session.execute(
            select(CrlChunk.data)
            .where(CrlChunk.ca_id == ca.id, CrlChunk.crl_number == number)
            .order_by(CrlChunk.seq),
            execution_options={"yield_per": 1, "stream_results": True},
        ).scalars()
        written = False
        for chunk in chunks:
            out.write(chunk)
            written = True
        return written


def _number_of(path: Path) -> int:
    try:
        return int(path.stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def current_crl(authority: Authority, ca_slug: str) -> bytes:
    """The CA's full CRL (DER), re-signed first when less than half of its validity is left."""
    return crl_download(authority, ca_slug).path.read_bytes()


def current_delta_crl(authority: Authority, ca_slug: str) -> bytes:
    return crl_download(authority, ca_slug, delta=True).path.read_bytes()


def _revoked_since(authority: Authority, ca: LoadedCA, model: type[CrlState] | type[DeltaCrlState]) -> bool:
    """A revocation committed after the stored CRL was signed (its re-signing was interrupted or deferred)."""
    found = _state(authority, model, ca)
    if found is None:
        return True
    with authority.db.read() as session:
        latest = session.execute(
            select(func.max(Certificate.revoked_at)).where(
                Certificate.ca_id == ca.id, Certificate.revoked_at.is_not(None)
            )
        ).scalar()
    return latest is not None and latest > found[1]


def refresh_crls(authority: Authority, *, force: bool, actor: str) -> list[tuple[str, int]]:
    """Re-sign every CA's full and delta CRL (all when `force`, else those due); (slug, full number) each."""
    published = []
    for slug in authority.ca_slugs():
        ca = authority.ca(slug)
        if force or _revoked_since(authority, ca, CrlState):
            republish_crl(authority, ca, actor=actor)
        number = crl_download(authority, slug).number  # re-signs one that is due
        if force or _revoked_since(authority, ca, DeltaCrlState):
            republish_delta(authority, ca, actor=actor)
        crl_download(authority, slug, delta=True)
        published.append((slug, number))
    return published
