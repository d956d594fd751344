"""The audit trail: append-only records, each carrying the SHA-256 of the record before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from campusca.db.direct import DirectInsert, DirectStatement
from campusca.db.engine import core_connection
from campusca.db.models import AuditRecord, Counter

if TYPE_CHECKING:
    from campusca.services.authority import Authority

GENESIS_HASH = "0" * 64
_COUNTER = "audit"
# Keys whose values must never reach the audit trail, whatever a caller passes.
_SECRET_KEYS = frozenset({"password", "passphrase", "token", "secret", "challenge", "private_key", "key"})


def _canonical(seq: int, at: datetime, actor: str, action: str, target: str, details: str) -> bytes:
    body = {
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "action": action,
        "target": target,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def record_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, target: str, details: str
) -> str:
    return hashlib.sha256(
        prev_hash.encode() + _canonical(seq, at, actor, action, target, details)
    ).hexdigest()


# Built once: every write transaction runs these, and a statement built per call costs SQLAlchemy
# more to key and cache than SQLite takes to run it.
_BUMP_COUNTER = DirectStatement(
    update(Counter)
    .where(Counter.name == bindparam("counter_name"))
    .values(value=Counter.value + bindparam("by"))
    .returning(Counter.value)
)
_PREVIOUS_HASH = DirectStatement(select(AuditRecord.hash).where(AuditRecord.seq == bindparam("previous_seq")))
# Several records in one INSERT.
_INSERT_RECORDS = DirectInsert(AuditRecord.__table__, AuditRecord.__table__.c.seq)
# session.info key: (transaction, seq, hash) of the last record that transaction wrote.
_CHAIN_TAIL = "campusca.audit.tail"


def next_counter(session: Session, name: str, *, by: int = 1) -> int:
    """Increment a named counter by `by` and return its new value; the UPDATE locks the row until commit."""
    bumped = _BUMP_COUNTER.one_or_none(core_connection(session), {"counter_name": name, "by": by})
    if bumped is None:
        session.add(Counter(name=name, value=by))
        session.flush()
        return by
    return int(bumped[0])


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit record to append."""

    actor: str
    action: str
    target: str
    details: Mapping[str, Any] | None
    at: datetime


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    at: datetime,
) -> None:
    """Append one audit record in the caller's transaction (so it commits or vanishes with the change)."""
    record_all(session, [Entry(actor=actor, action=action, target=target, details=details, at=at)])


def record_all(session: Session, entries: Sequence[Entry]) -> None:
    """Append audit records in order, in the caller's transaction: one counter update and one INSERT.

    Written with SQL expressions rather than ORM objects: every write path goes through here, and the
    ORM's unit of work costs more than the statements themselves.
    """
    if not entries:
        return
    details = [_details_json(entry.details) for entry in entries]
    last_seq = next_counter(session, _COUNTER, by=len(entries))
    first_seq = last_seq - len(entries) + 1
    connection = core_connection(session)
    # A transaction writing records more than once (a group commit) knows the hash it wrote last; a
    # tail left by an earlier transaction of the same session (committed or rolled back) is never used.
    transaction = session.get_transaction()
    tail_transaction, tail_seq, tail_hash = session.info.get(_CHAIN_TAIL, (None, None, None))
    if tail_transaction is transaction and tail_seq == first_seq - 1:
        prev_hash = tail_hash
    else:
        previous = _PREVIOUS_HASH.one_or_none(connection, {"previous_seq": first_seq - 1})
        prev_hash = previous[0] if previous is not None else GENESIS_HASH
    rows = []
    for seq, entry, details_json in zip(range(first_seq, last_seq + 1), entries, details, strict=True):
        digest = record_hash(prev_hash, seq, entry.at, entry.actor, entry.action, entry.target, details_json)
        rows.append(
            {
                "seq": seq,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "target": entry.target,
                "details": details_json,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    _INSERT_RECORDS.rows(connection, rows)
    session.info[_CHAIN_TAIL] = (transaction, last_seq, prev_hash)


def _details_json(details: Mapping[str, Any] | None) -> str:
    clean = {k: v for k, v in (details or {}).items() if k.lower() not in _SECRET_KEYS}
    return json.dumps(clean, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    ok: bool
    records: int
    first_broken: int | None
    problem: str | None


def verify_chain(session: Session) -> AuditVerdict:
    """Recompute the chain; report the first record that was edited, removed or reordered."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars():
        count += 1
        if row.seq != expected_seq:
            return AuditVerdict(False, count, expected_seq, f"record {expected_seq} is missing")
        if row.prev_hash != expected_prev:
            return AuditVerdict(
                False, count, row.seq, f"record {row.seq} does not follow record {row.seq - 1}"
            )
        actual = record_hash(row.prev_hash, row.seq, row.at, row.actor, row.action, row.target, row.details)
        if actual != row.hash:
            return AuditVerdict(False, count, row.seq, f"record {row.seq} was modified")
        expected_prev = row.hash
        expected_seq += 1
    last = session.execute(select(Counter.value).where(Counter.name == _COUNTER)).scalar_one_or_none() or 0
    if last != expected_seq - 1:
        return AuditVerdict(False, count, expected_seq, f"records after {expected_seq - 1} are missing")
    return AuditVerdict(True, count, None, None)


def list_records(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
    query = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditRecord.action == action)
    return list(session.execute(query).scalars())


# --- For adapters: each call is a read transaction of its own. ----------------------------------


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: Mapping[str, Any]
    hash: str

    def to_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": dict(self.details),
            "hash": self.hash,
        }


def recent_records(authority: Authority, *, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    """The newest records first, optionally of one action only."""
    with authority.db.read() as session:
        return [
            AuditEntry(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                target=r.target,
                details=json.loads(r.details),
                hash=r.hash,
            )
            for r in list_records(session, limit=limit, action=action)
        ]


def check_chain(authority: Authority) -> AuditVerdict:
    """Recompute the whole chain (see `verify_chain`) in a read transaction of its own."""
    with authority.db.read() as session:
        return verify_chain(session)
