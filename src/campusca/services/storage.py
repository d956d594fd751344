"""The database as adapters may see it: is it reachable, bring its schema up to date, did it fail.

Adapters never import the database layer; they call these instead (the transaction rule in
docs/architecture.md).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from campusca.services.authority import Authority

# What a failing database raises, for the outermost handler of an adapter (the CLI's one-line error).
STORAGE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError,)


def ping(authority: Authority) -> None:
    """One round trip to the database in a read transaction; raises when it cannot be reached."""
    with authority.db.read() as session:
        session.execute(text("SELECT 1"))


def upgrade_database(authority: Authority) -> None:
    """Apply every migration not yet applied (at `serve` start and by `campusca db upgrade`)."""
    authority.db.upgrade()
