"""Database engines and transactions: SQLite (WAL, foreign keys, immediate write locks) or PostgreSQL."""

from __future__ import annotations

import ast
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from campusca.db.group_commit import GroupCommit, Item, Result
from campusca.errors import Busy

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger("campusca.db")

# How long a writer waits for SQLite's write lock or a pooled connection before giving up with Busy.
# Write transactions hold the lock for milliseconds (nothing is signed inside one), so a wait this long
# means the database is saturated: answering "retry later" beats holding a thread and a client.
WRITE_WAIT_SECONDS = 10
AFTER_COMMIT = "after_commit"
SQLITE_CACHE_KIB = 256


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": WRITE_WAIT_SECONDS, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=WRITE_WAIT_SECONDS,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so that BEGIN IMMEDIATE can be issued:
        # a writer then holds the write lock from its first statement and never deadlocks
        # upgrading a read lock (SQLITE_BUSY) against another process.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers wait for the write lock in `_begin_immediate`, not in SQLite's busy handler.
        busy_ms = 1 if begin == _BEGIN_IMMEDIATE else WRITE_WAIT_SECONDS * 1000
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Each pooled connection has its own page cache (default 2 MB): with 40+ connections in a worker
        # and a database of a million certificates they filled to 80+ MB. The OS caches the file anyway.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        # Deleted and overwritten content is zeroed, not left in free space (erased secrets, issue 9).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if begin == _BEGIN_IMMEDIATE:
            _begin_immediate(connection.connection.dbapi_connection)
        else:
            # On the cursor: exec_driver_sql's execution context cost ~30 µs, more than a token check.
            connection.connection.dbapi_connection.cursor().execute(begin).close()

    return engine


_BEGIN_IMMEDIATE = "BEGIN IMMEDIATE"


def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """Take SQLite's write lock, retrying at most every half millisecond until WRITE_WAIT_SECONDS have passed.

    SQLite's own busy handler sleeps 1, 2, 5, 10 … up to 100 ms between tries, so when two processes
    take turns at short transactions most of a burst is spent asleep with the lock free. Retrying at
    a fine grain hands the lock over within a millisecond for a few microseconds of CPU (a 2 ms cap
    left the CPU idle meanwhile: REST issuance went from a mean ratio of 0.39 to 0.43 in five paired
    runs of bench/issuance.py with 0.5 ms).
    """
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    pause = 0.0002
    cursor = dbapi_connection.cursor()
    try:
        while True:
            try:
                cursor.execute(_BEGIN_IMMEDIATE)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() > deadline:
                    raise Busy("the database is busy; nothing was changed, try again shortly") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.0005)
    finally:
        cursor.close()


def after_commit(session: Session, key: object, hook: Callable[[], None]) -> None:
    """Run `hook` once the transaction of `session` has committed (once per `key`; never on rollback).

    For work that must follow a commit but must not hold the write lock: re-signing a CRL after a
    revocation. A failing hook is logged; what it does must be repeatable by a scheduler.
    """
    session.info.setdefault(AFTER_COMMIT, {})[key] = hook


def core_connection(session: Session) -> Connection:
    """The connection of `session`'s transaction, for Core statements on hot write paths.

    `Session.execute` runs even a Core INSERT or UPDATE through the ORM's bulk machinery (it
    evaluates the WHERE clause against the identity map), which costs several times what SQLite
    takes to run the statement; the transaction's connection runs it directly. Pending ORM changes
    are flushed first, so statements see them exactly as `Session.execute` would have.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection()


def _is_busy(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig) or "database table is locked" in str(error.orig)


CHECKPOINT_BUSY_MS = 2000


def checkpoint_wal(bind: Engine | Connection) -> bool:
    """`PRAGMA wal_checkpoint(TRUNCATE)` on a connection of its own, outside any transaction.

    TRUNCATE waits for readers to leave the WAL and holds new writers meanwhile, so it waits at most
    CHECKPOINT_BUSY_MS rather than the usual 30 s: under load it gives up (False) instead of stalling.
    """
    if bind.dialect.name != "sqlite":
        return True
    connection = bind.engine.raw_connection()
    try:
        cursor = connection.cursor()
        (previous,) = cursor.execute("PRAGMA busy_timeout").fetchone()
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        try:
            busy, _frames, _copied = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(previous)}")  # back to the pool as it came
            cursor.close()
    finally:
        connection.close()
    return bool(busy == 0)


def migration_heads() -> set[str]:
    """The newest revision of each branch of migrations/versions, read from the scripts without Alembic.

    `Database.upgrade` compares the database with this first, so that a `serve` process whose database is
    up to date never imports Alembic; a unit test holds it equal to Alembic's own heads.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        names = _module_constants(path)
        revisions.add(str(names["revision"]))
        down = names.get("down_revision")
        parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


def _module_constants(path: Path) -> dict[str, Any]:
    """`name = literal` assignments at the top of a Python file, evaluated as literals."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return {name: ast.literal_eval(value) for name, value in found.items() if name.endswith("revision")}


class Database:
    """Owns the engines; `write()` and `read()` open one transaction each."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._write_engine = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=pool_size)
            self._read_engine = _sqlite_engine(url, begin="BEGIN", pool_size=pool_size)
        else:
            self._write_engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_timeout=WRITE_WAIT_SECONDS,
            )
            self._read_engine = self._write_engine
        # SQLite has one write lock per database, and its busy handler polls with sleeps of up to
        # 100 ms: threads of one process that race for it waste most of their time asleep. They queue
        # on this lock instead (handed over at once); only processes still meet at SQLite's lock.
        self._process_write_lock = threading.Lock() if self.is_sqlite else None
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        self._groups: dict[str, GroupCommit[Any, Any]] = {}
        self._groups_lock = threading.Lock()

    def group_commit(
        self, name: str, write_all: Callable[[Session, Sequence[Item]], list[Result]]
    ) -> GroupCommit[Item, Result]:
        """This process's group commit for writes of kind `name` (see db/group_commit.py)."""
        with self._groups_lock:
            group = self._groups.get(name)
            if group is None:
                group = self._groups[name] = GroupCommit(self.write, write_all)
            return group

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction: committed when the block ends, rolled back on any exception.

        Raises `Busy` (nothing written) when the write lock or a connection cannot be had in time.
        Hooks registered with `after_commit` run after the commit, outside the transaction.
        """
        lock = self._process_write_lock
        if lock is not None and not lock.acquire(timeout=WRITE_WAIT_SECONDS):
            raise Busy("the database is busy; nothing was changed, try again shortly")
        try:
            with self._write_sessions() as session:
                with session.begin():
                    yield session
                hooks = session.info.pop(AFTER_COMMIT, {})
        except OperationalError as error:
            if _is_busy(error):
                raise Busy("the database is busy; nothing was changed, try again shortly") from None
            raise
        except PoolTimeout:
            raise Busy("no database connection was free; nothing was changed, try again shortly") from None
        finally:
            if lock is not None:
                lock.release()
        for key, hook in hooks.items():
            try:
                hook()
            except Exception:  # the commit stands; the scheduler repeats what the hook did
                log.exception("after-commit step %s failed; it will be retried by the scheduler", key)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (never commits)."""
        with self._read_sessions() as session, session.begin():
            yield session
            session.rollback()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A bare read transaction for hot paths (OCSP) that need no ORM objects."""
        with self._read_engine.connect() as connection:
            yield connection
            connection.rollback()

    def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (nothing to do, and no Alembic, when at the heads)."""
        if self.applied_revisions() == migration_heads():
            return
        # Imported here: Alembic (with Mako and Pygments) is 11 MB that `serve` would otherwise keep.
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self._write_engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

    def applied_revisions(self) -> set[str]:
        """The revisions recorded in `alembic_version` (empty for a database never migrated)."""
        try:
            with self._read_engine.connect() as connection:
                rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
                return set(rows)
        except SQLAlchemyError:  # no such table yet
            return set()

    def dispose(self) -> None:
        self._write_engine.dispose()
        self._read_engine.dispose()
