"""DirectStatement: a Core statement on the DBAPI cursor stores and reads values as Connection.execute does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from campusca.db import Database
from campusca.db.direct import DirectInsert, DirectStatement
from campusca.db.models import UTCDateTime

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), unique=True, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("seen_at", UTCDateTime, nullable=True),
)
ADD = DirectStatement(
    insert(things)
    .values(name=bindparam("name"), active=bindparam("active"), seen_at=bindparam("seen_at"))
    .returning(things.c.id)
)
FIND = DirectStatement(
    select(things.c.name, things.c.active, things.c.seen_at).where(things.c.name == bindparam("name"))
)
ACTIVE_NAMES = DirectStatement(select(things.c.name).where(things.c.active == True))  # noqa: E712
RENAME = DirectStatement(
    update(things).where(things.c.id == bindparam("thing_id")).values(name=bindparam("new"))
)
ADD_MANY = DirectInsert(things, things.c.id, things.c.name)
PARIS = timezone(timedelta(hours=1))


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'direct.db'}")
    with database.write() as session:
        metadata.create_all(session.connection())
    return database


def test_values_go_through_the_bind_and_result_processors_both_ways(database: Database) -> None:
    seen = datetime(2026, 12, 6, 17, 30, 5, 123456, tzinfo=PARIS)
    with database.write() as session:
        connection = session.connection()
        (direct_id,) = ADD.rows(connection, {"name": "direct", "active": True, "seen_at": seen})[0]
        connection.execute(insert(things), {"name": "core", "active": False, "seen_at": seen})
    with database.read_connection() as connection:
        # What DirectStatement wrote reads back through SQLAlchemy as it was given, and the reverse.
        core_view = connection.execute(
            select(things.c.active, things.c.seen_at).where(things.c.id == direct_id)
        ).one()
        assert core_view == (True, seen.astimezone(UTC))
        assert FIND.one_or_none(connection, {"name": "core"}) == ("core", False, seen.astimezone(UTC))
        assert FIND.one_or_none(connection, {"name": "nobody"}) is None
        # Stored alike, byte for byte (SQLite keeps the text the bind processors made).
        stored = connection.exec_driver_sql("SELECT active, seen_at FROM things ORDER BY id").all()
        assert stored[0][1] == stored[1][1] and stored[0][0] == 1 and stored[1][0] == 0


def test_a_literal_in_the_statement_is_bound_by_itself(database: Database) -> None:
    with database.write() as session:
        connection = session.connection()
        for name, active in (("on", True), ("off", False)):
            ADD.rows(connection, {"name": name, "active": active, "seen_at": None})
    with database.read_connection() as connection:
        assert ACTIVE_NAMES.rows(connection, {}) == [("on",)]


def test_it_runs_in_the_callers_transaction(database: Database) -> None:
    with database.write() as session:
        (thing_id,) = ADD.rows(session.connection(), {"name": "kept", "active": True, "seen_at": None})[0]
    with pytest.raises(RuntimeError), database.write() as session:
        RENAME.rows(session.connection(), {"thing_id": thing_id, "new": "renamed"})
        raise RuntimeError("roll back")
    with database.read_connection() as connection:
        assert FIND.one_or_none(connection, {"name": "kept"}) is not None


def test_a_dbapi_error_comes_back_as_sqlalchemys_own(database: Database) -> None:
    with database.write() as session:
        ADD.rows(session.connection(), {"name": "twice", "active": True, "seen_at": None})
    with pytest.raises(IntegrityError), database.write() as session:
        ADD.rows(session.connection(), {"name": "twice", "active": True, "seen_at": None})


def test_several_rows_go_in_one_insert_and_come_back_by_their_returned_columns(database: Database) -> None:
    seen = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    rows = [{"name": f"row-{i}", "active": i % 2 == 0, "seen_at": seen} for i in range(5)]
    statements: list[str] = []
    with database.write() as session:
        connection = session.connection()
        connection.connection.dbapi_connection.set_trace_callback(statements.append)
        returned = ADD_MANY.rows(connection, rows)
        connection.connection.dbapi_connection.set_trace_callback(None)
    assert sum(s.startswith("INSERT INTO things") for s in statements) == 1
    assert sorted(name for _, name in returned) == [f"row-{i}" for i in range(5)]
    with database.read_connection() as connection:
        stored = connection.execute(
            select(things.c.id, things.c.name, things.c.active, things.c.seen_at)
        ).all()
    assert {(i, name) for i, name, _, _ in stored} == set(returned)
    assert [(name, active, at) for _, name, active, at in sorted(stored)] == [
        (row["name"], row["active"], seen) for row in rows
    ]
