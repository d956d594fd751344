"""Storage: SQLAlchemy tables, engines/transactions and Alembic migrations (no policy, no crypto)."""

from campusca.db.engine import Database

__all__ = ["Database"]
