"""Storage: SQLAlchemy tables, engines/transactions and Alembic migrations (no policy, no crypto)."""

from campusca.db.engine import Database, after_commit

__all__ = ["Database", "after_commit"]
