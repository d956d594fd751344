"""Certificates a group commit brings together are recorded by one INSERT each for rows and audit records."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from campusca.db.engine import core_connection
from campusca.db.models import AuditRecord, Certificate, Person
from campusca.services import audit
from campusca.services.authority import Authority
from campusca.services.ca.issuance import Holder, Recording, record_certificates, sign_certificate
from campusca.services.errors import PolicyViolation
from tests.support.ca import reused_rsa_key


def _signed(authority: Authority, username: str, count: int) -> list[Recording]:
    with authority.db.read_connection() as connection:
        holder = Holder.find(connection, username)
    key = reused_rsa_key().public_key()
    return [
        Recording(
            sign_certificate(authority, profile_name="device", public_key=key, holder=holder), f"actor-{n}"
        )
        for n in range(count)
    ]


def test_a_batch_is_recorded_in_order_with_each_row_matched_to_its_certificate(authority: Authority) -> None:
    recordings = _signed(authority, "alice", 5)
    statements: list[str] = []  # as SQLite runs them (the hot statements bypass SQLAlchemy's events)
    with authority.db.write() as session:
        sqlite = core_connection(session).connection.dbapi_connection
        sqlite.set_trace_callback(statements.append)
        try:
            issued = record_certificates(authority, session, recordings)
        finally:
            sqlite.set_trace_callback(None)
    assert [i.serial for i in issued] == [r.signed.certificate.serial_number for r in recordings]
    assert sum(s.startswith("INSERT INTO certificates") for s in statements) == 1
    assert sum(s.startswith("INSERT INTO audit_records") for s in statements) == 1
    with authority.db.read() as session:
        for one in issued:
            row = session.get(Certificate, one.id)
            assert row is not None and int(row.serial_hex, 16) == one.serial and row.der == one.der
            assert row.fingerprint_sha256 == one.fingerprint_sha256 and row.subject == one.subject
        trail = session.execute(
            select(AuditRecord.actor, AuditRecord.target).order_by(AuditRecord.seq.desc()).limit(5)
        ).all()
        assert [actor for actor, _ in reversed(trail)] == [f"actor-{n}" for n in range(5)]
        assert [target for _, target in reversed(trail)] == [f"certificate:{i.serial:x}" for i in issued]
        assert audit.verify_chain(session).ok


def test_a_batch_with_a_person_deactivated_since_signing_records_nothing(authority: Authority) -> None:
    recordings = _signed(authority, "alice", 2) + _signed(authority, "bob", 1)
    with authority.db.write() as session:
        session.execute(update(Person).where(Person.username == "bob").values(active=False))
    with authority.db.read() as session:
        before = session.execute(select(Certificate.id)).all()
    with pytest.raises(PolicyViolation, match="deactivated"), authority.db.write() as session:
        record_certificates(authority, session, recordings)
    with authority.db.read() as session:
        assert session.execute(select(Certificate.id)).all() == before
