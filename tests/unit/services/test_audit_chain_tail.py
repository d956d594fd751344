"""Several audit records in one transaction chain onto each other; a tail from another transaction is never used."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campusca.db.models import AuditRecord
from campusca.services import audit
from campusca.services.authority import Authority


def _record(authority: Authority, session: object, target: str) -> None:
    audit.record(session, actor="test", action="test.tail", target=target, at=authority.now())  # type: ignore[arg-type]


def test_records_written_together_form_a_verified_chain(authority: Authority) -> None:
    with authority.db.write() as session:
        for n in range(5):
            _record(authority, session, f"item:{n}")
    with authority.db.read() as session:
        rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(5)).scalars().all()
        assert [row.prev_hash for row in rows[:-1]] == [row.hash for row in rows[1:]]
        assert audit.verify_chain(session).ok


def test_a_rolled_back_transaction_leaves_no_tail_for_the_next(authority: Authority) -> None:
    """The session's next transaction must chain onto what is in the database, not onto its memory."""
    with authority.db.write() as session:
        _record(authority, session, "kept:1")
    sessions = []
    with pytest.raises(RuntimeError), authority.db.write() as session:
        sessions.append(session)
        _record(authority, session, "rolled-back")
        raise RuntimeError("abandon the transaction")
    # Another writer takes the sequence number the rolled-back record had.
    with authority.db.write() as other:
        _record(authority, other, "kept:2")
    session = sessions[0]
    with session.begin():  # the same Session object, a new transaction: its old tail must be ignored
        _record(authority, session, "kept:3")
    with authority.db.read() as reader:
        assert audit.verify_chain(reader).ok


def test_records_appended_together_follow_the_chain_in_order(authority: Authority) -> None:
    with authority.db.write() as session:
        _record(authority, session, "before")
        entries = [
            audit.Entry(
                actor="test", action="test.batch", target=f"batch:{n}", details={"n": n}, at=authority.now()
            )
            for n in range(4)
        ]
        audit.record_all(session, entries)
        _record(authority, session, "after")
    with authority.db.read() as session:
        rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(6)).scalars().all()
        assert [row.target for row in reversed(rows)] == [
            "before",
            *(f"batch:{n}" for n in range(4)),
            "after",
        ]
        assert [row.seq for row in rows] == list(range(rows[0].seq, rows[0].seq - 6, -1))
        assert audit.verify_chain(session).ok
