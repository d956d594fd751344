"""Alembic environment: runs on the connection campusca hands in (see Database.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from campusca.db import escrow as _escrow_models  # noqa: F401 - registers the escrow tables
from campusca.db import mdm as _mdm_models  # noqa: F401 - registers the MDM tables
from campusca.db import ota as _ota_models  # noqa: F401 - registers the over-the-air enrollment tables
from campusca.db import scep as _scep_models  # noqa: F401 - registers the SCEP tables
from campusca.db.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
        with engine.connect() as fresh:
            _run(fresh)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
